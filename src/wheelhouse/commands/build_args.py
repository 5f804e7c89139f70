"""`wheelhouse build-args`: the arguments that build Airflow's image from the folder alone."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wheelhouse import layout
from wheelhouse.errors import EXIT_OK, InputError

NAME = "build-args"

BUILD_ARGS_HELP = """\
Print the arguments that build Apache Airflow's production image from the wheelhouse
alone: local-files install on, constraints from the folder, no pre-cache from GitHub, no
MySQL client, the base image of the constraints' Python, pip and uv as shipped, and
--no-cache. Each Airflow generation's own argument names: Docker silently ignores a name
its Dockerfile does not declare.
"""

BUILD_ARGS_EPILOG = """\
examples:
  wheelhouse build-args docker-context-files
  wheelhouse build-args --airflow-version 2.10.5 --python 3.11 --format breeze

exit codes: 0 printed; 2 the version cannot build offline (1.10.12 and older) or the
inputs are incomplete.
"""


def register(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        NAME,
        help="print the docker build / breeze arguments that build Airflow's image offline",
        description=BUILD_ARGS_HELP,
        epilog=BUILD_ARGS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("folder", nargs="?", type=Path, metavar="DIR",
                        help="a prepared wheelhouse (its manifest gives the Airflow version, "
                             "Python, pip and uv); default: docker-context-files unless "
                             "--airflow-version is given")
    parser.add_argument("--airflow-version", metavar="V", help="e.g. 2.10.5")
    parser.add_argument("--python", metavar="X.Y",
                        help="the image's Python, e.g. 3.11 (Airflow 3.1+: X.Y.Z)")
    parser.add_argument("--format", default="docker", choices=("docker", "breeze", "json",
                                                               "env"),
                        help="docker: a ready-to-run command (default); breeze: `breeze "
                             "prod-image build` flags; json and env: for CI systems")
    parser.add_argument("--tag", metavar="IMAGE", help="the image tag for docker build")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    return parser


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(_build_args(args).rstrip("\n") + "\n")
    return EXIT_OK


def _build_args(args: argparse.Namespace) -> str:
    """Settings from the folder's manifest, overridden by the flags; then rendered."""
    from wheelhouse import buildargs
    from wheelhouse.manifest import Manifest
    from wheelhouse.target import parse_python

    settings = buildargs.ImageSettings()
    folder = args.folder
    if folder is None and args.airflow_version is None:
        folder = layout.DEFAULT_DEST
    if folder is not None:
        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder.")
        manifest = Manifest.load(folder)
        if manifest is None:
            raise InputError(f"{folder} has no wheelhouse.json; run wheelhouse prepare first, "
                             "or give --airflow-version and --python.")
        settings = buildargs.settings_from_manifest(manifest)
    if args.airflow_version:
        settings.airflow_version = args.airflow_version
    if args.python:
        (major, minor), full = parse_python(args.python)
        settings.python = f"{major}.{minor}"
        settings.python_patch = full if args.python.count(".") == 2 else None
    if not settings.python:
        raise InputError("give --python: the folder serves several Pythons, or none."
                         if folder is not None else
                         "give --python with --airflow-version, e.g. --python 3.11.")
    assert settings.airflow_version is not None  # from the manifest, else the flag
    values = buildargs.build_args(
        settings.airflow_version, settings.python, pip_version=settings.pip_version,
        uv_version=settings.uv_version, constraints_mode=settings.constraints_mode,
        python_patch=settings.python_patch)
    return buildargs.render(values, args.format, tag=args.tag)

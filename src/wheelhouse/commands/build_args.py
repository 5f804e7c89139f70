"""`wheelhouse build-args`: the arguments that build Airflow's image from the folder alone."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wheelhouse import layout
from wheelhouse.commands.options import add_output_options
from wheelhouse.errors import EXIT_OK, InputError

if TYPE_CHECKING:
    from wheelhouse.buildargs import BuildArgs

FORMATS = ("docker", "breeze", "json", "env")
_EXTRA = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")  # PEP 508 names
EXIT_NOT_OFFLINE = 1

NAME = "build-args"

BUILD_ARGS_HELP = """\
Print the docker build arguments that build Apache Airflow's production image from the
wheelhouse: local-files install on, constraints from the folder, no pre-cache from GitHub, no
MySQL, MSSQL or PostgreSQL client (each adds an apt repository of its own), the folder's own
Airflow extras, the base image of the folder's Python, pip, uv and setuptools as shipped, and
--no-cache. Each release's own argument names, checked against every release's Dockerfile:
Docker silently ignores a name its Dockerfile does not declare.

After the command comes the offline verdict: what that release's stock Dockerfile still
fetches whatever the folder holds (a python.org download, `uv tool install`, a root pip
step...), each with what to do about it. Give --dockerfile to print only the names the
Dockerfile you build with declares.
"""

BUILD_ARGS_EPILOG = """\
examples:
  wheelhouse build-args docker-context-files
  wheelhouse build-args --airflow-version 2.10.5 --python 3.11 --extras celery,postgres
  wheelhouse build-args --dockerfile airflow/Dockerfile --json
  wheelhouse build-args --require-offline && docker build ...

exit codes: 0 printed; 1 --require-offline and the build is not offline (still printed);
2 bad input, or the release cannot use the folder (1.10.12 and older), or Breeze cannot
build it offline (--format breeze: Breeze swaps in its own GitHub constraints URL).
"""


def register(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        NAME,
        help="print the docker build arguments that build Airflow's image from the folder",
        description=BUILD_ARGS_HELP,
        epilog=BUILD_ARGS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("folder", nargs="?", type=Path, metavar="DIR",
                        help="a prepared wheelhouse (its manifest gives the Airflow version, "
                             "Python, extras, pip and uv); default: docker-context-files unless "
                             "--airflow-version or --dockerfile is given")
    parser.add_argument("--airflow-version", metavar="V",
                        help="e.g. 2.10.5 (default: the folder's, else the Dockerfile's)")
    parser.add_argument("--python", metavar="X.Y",
                        help="the image's Python, e.g. 3.11 (Airflow 3.1+: X.Y.Z, which it "
                             "compiles)")
    parser.add_argument("--extras", metavar="E1,E2",
                        help="Airflow extras the image installs (AIRFLOW_EXTRAS; default: the "
                             "folder's Airflow requirement's)")
    parser.add_argument("--dockerfile", type=Path, metavar="PATH",
                        help="the Dockerfile you build with: print only the names it declares, "
                             "warn about switches it lacks; serves releases newer than "
                             "wheelhouse knows (3.4 and on)")
    parser.add_argument("--format", default="docker", choices=FORMATS,
                        help="docker: a ready-to-run command and the verdict (default); json "
                             "and env: for CI systems; breeze: refused, with the reason")
    parser.add_argument("--tag", metavar="IMAGE", help="the image tag for docker build")
    parser.add_argument("--require-offline", action="store_true",
                        help="exit 1 when the build fetches anything from outside the folder")
    add_output_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from wheelhouse import buildargs

    values = _build_args(args)
    fmt = "json" if args.json else args.format
    sys.stdout.write(buildargs.render(values, fmt, tag=args.tag))
    if fmt == "docker":
        sys.stdout.write(buildargs.verdict(values))
    elif fmt == "env":
        sys.stderr.write(buildargs.verdict(values))
    if args.require_offline and not values.offline:
        return EXIT_NOT_OFFLINE
    return EXIT_OK


def _build_args(args: argparse.Namespace) -> BuildArgs:
    """Settings from the folder's manifest, overridden by the flags; then the arguments."""
    from wheelhouse import buildargs
    from wheelhouse.dockerfile import default_release, read_dockerfile
    from wheelhouse.manifest import Manifest
    from wheelhouse.target import parse_python

    declared = read_dockerfile(args.dockerfile) if args.dockerfile else None
    settings = buildargs.ImageSettings()
    folder = args.folder
    if folder is None and args.airflow_version is None and (
            declared is None or (layout.DEFAULT_DEST / layout.MANIFEST).is_file()):
        folder = layout.DEFAULT_DEST  # with --dockerfile, only a prepared one
    if folder is not None:
        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder.")
        manifest = Manifest.load(folder)
        if manifest is None:
            raise InputError(f"{folder} has no wheelhouse.json; run wheelhouse prepare first, "
                             "or give --airflow-version and --python.")
        if manifest.extend is not None:
            base = manifest.extend.base or f"apache/airflow:{manifest.extend.airflow}"
            raise InputError(f"{folder} was prepared to extend the released image ({base}), "
                             "not for Airflow's own Dockerfile (it ships no pip or uv for it): "
                             f"write its Dockerfile with wheelhouse dockerfile {folder}.")
        settings = buildargs.settings_from_manifest(manifest)
    if args.airflow_version:
        settings.airflow_version = args.airflow_version
    if args.python:
        (major, minor), full = parse_python(args.python)
        settings.python = f"{major}.{minor}"
        settings.python_patch = full if args.python.count(".") == 2 else None
    if args.extras is not None:
        settings.extras = tuple(extra.strip() for extra in args.extras.split(",")
                                if extra.strip())
        bad = [extra for extra in settings.extras if not _EXTRA.match(extra)]
        if bad:
            raise InputError(f"--extras {bad[0]!r} is not an extra's name (letters, digits, "
                             "'.', '-', '_'; several separated by commas).")
    if settings.airflow_version is None and declared is not None:
        settings.airflow_version = default_release(args.dockerfile, declared)
    if not settings.python:
        raise InputError("give --python: the folder serves several Pythons, or none."
                         if folder is not None else
                         "give --python with --airflow-version, e.g. --python 3.11.")
    assert settings.airflow_version is not None  # from the manifest, a flag or the Dockerfile
    values = buildargs.build_args(
        settings.airflow_version, settings.python, pip_version=settings.pip_version,
        uv_version=settings.uv_version, setuptools_version=settings.setuptools_version,
        constraints_mode=settings.constraints_mode,
        python_patch=settings.python_patch, extras=settings.extras or (), declared=declared)
    if settings.extras is None:
        values.warnings.append("no folder and no --extras: AIRFLOW_EXTRAS is empty, so the "
                               "image installs apache-airflow without extras")
    if folder is not None:
        values.warnings += elsewhere(folder, args.dockerfile)
    return values


def elsewhere(folder: Path, dockerfile: Path | None) -> list[str]:
    """Airflow's Dockerfile copies `docker-context-files/` of the build context: a folder by
    another name, or beside another Dockerfile, is not what the build will see."""
    context = layout.DEFAULT_DEST.name
    if dockerfile is not None:
        expected = dockerfile.parent / context
        if folder.resolve() != expected.resolve():
            return [f"{folder} is not {expected}, the folder the Dockerfile copies from its "
                    f"build context ({dockerfile.parent}): copy it there before the "
                    f"build, or prepare with --dest {expected}"]
        return []
    if folder.resolve().name != context:
        return [f"{folder} is not named {context}: Airflow's Dockerfile copies "
                f"{context}/ from the build context, so copy the folder there before the "
                f"build, or prepare with --dest CONTEXT/{context}"]
    return []


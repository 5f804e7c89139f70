"""`wheelhouse dockerfile`: the Dockerfile that extends Airflow's released image with the folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wheelhouse import report
from wheelhouse.commands.options import add_folder_argument, refuse_inside, write_output
from wheelhouse.errors import EXIT_OK, InputError

NAME = "dockerfile"

HELP = """\
Write the Dockerfile that extends Apache Airflow's released image with the wheelhouse: FROM
apache/airflow:X-pythonY (the folder's Airflow and its one target's Python), then, as the
airflow user, one RUN that bind-mounts the folder, checks its lock is the one the Dockerfile
was written for, and installs it with pip from the folder alone: --no-index, every file held
to its sha256 (--require-hashes), no cache; then pip check. What the image already holds at
the pinned version is left as it is.

This route is offline for every Airflow release, where the stock Dockerfile is not (see
`wheelhouse build-args`): only the base image is pulled, through your registry mirror.
Prepare the folder with `wheelhouse prepare --extend VERSION SPEC...`.
"""

EPILOG = """\
examples:
  wheelhouse prepare --extend 2.10.3 apache-airflow-providers-snowflake --python 3.11
  wheelhouse dockerfile -o Dockerfile && docker build --tag my-airflow:2.10.3 .
  wheelhouse dockerfile build/docker-context-files -o build/Dockerfile \\
      --base registry.example.com/apache/airflow:2.10.3-python3.11

The Dockerfile goes to standard output unless -o names a file (written whole or not at all;
not inside DIR, where verify would find a file the manifest does not list). Build it with
DIR's parent folder as the build context: the RUN mounts DIR by its name there. It needs
BuildKit (Docker 23+ by default) or buildah/podman for RUN --mount.

exit codes: 0 written; 2 it cannot be written (no such folder, no wheelhouse.json, no
Airflow in the folder, several targets, -o inside DIR, a --base that is no image reference).
"""


def register(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        NAME, help="write the Dockerfile that extends Airflow's released image with the folder",
        description=HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_folder_argument(parser)
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write the Dockerfile here (default: standard output)")
    parser.add_argument("--base", metavar="IMAGE",
                        help="the image to extend, e.g. your registry mirror's copy (default: "
                             "apache/airflow:X-pythonY of the folder's Airflow and Python)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    return parser


def run(args: argparse.Namespace) -> int:
    from wheelhouse import folderlock
    from wheelhouse.extend import plan, render
    from wheelhouse.manifest import Manifest

    folder: Path = args.folder
    refuse_inside(args.output, folder, "-o", "Dockerfile")
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder.")
    with folderlock.reading(folder):
        manifest = Manifest.load(folder)
        if manifest is None:
            raise InputError(f"{folder} has no wheelhouse.json: prepare it first with "
                             "wheelhouse prepare --extend VERSION SPEC...")
        facts = plan(folder, manifest, args.base)
    for message in facts.warnings:
        report.warn(message)
    text = render(facts)
    if args.output is None:
        sys.stdout.write(text)
        where = "standard output"
    else:
        write_output(args.output, text)
        where = str(args.output)
    report.stderr.print(f"Dockerfile extending {facts.base} with {facts.source}/ written to "
                        f"{where}; build it from the folder's parent.", highlight=False,
                        soft_wrap=True, markup=False)
    return EXIT_OK

"""`wheelhouse verify`: its options and its run (the checks are wheelhouse.verify)."""

from __future__ import annotations

import argparse
from pathlib import Path

from wheelhouse import layout, report
from wheelhouse.commands.options import add_output_options
from wheelhouse.errors import EXIT_FINDINGS, EXIT_OK, InputError

NAME = "verify"

VERIFY_HELP = """\
Check a wheelhouse without touching the network: every file against the manifest (size,
sha256, the index's digest), nothing unlisted, every wheel's zip and RECORD member by
member, METADATA against the filename, tags against the targets, the constraints' pins,
the dependency closure for each target, and the lock against the manifest.

Without a wheelhouse.json (a folder made by pip download or by hand) it checks what it
can from --requirement, --constraints and the target flags.
"""

VERIFY_EPILOG = """\
examples:
  wheelhouse verify docker-context-files
  wheelhouse verify wheels --requirement pytest==8.3.5 --python 3.10 --json

exit codes: 0 every check holds; 1 findings (each names the check, the file or project,
what was expected and what was found); 2 it cannot run (no such folder, a manifest that
is not JSON or not of a known schema).
"""


def register(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        NAME,
        help="prove offline that a wheelhouse is complete, untampered and installable",
        description=VERIFY_HELP,
        epilog=VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("folder", nargs="?", type=Path, default=layout.DEFAULT_DEST,
                        metavar="DIR", help="the wheelhouse (default: docker-context-files)")
    parser.add_argument("--requirement", action="append", default=[], metavar="SPEC",
                        help="a root of the dependency closure (default: the manifest's "
                             "requirements, else every wheel in DIR); repeatable")
    parser.add_argument("--constraints", type=Path, metavar="FILE",
                        help="a local constraints file (default: the one in DIR)")
    parser.add_argument("--python", action="append", default=[], metavar="X.Y",
                        help="a target Python (default: the manifest's targets, else this "
                             "machine); repeatable")
    parser.add_argument("--platform", action="append", default=[], metavar="TAG",
                        help="a target platform, as for prepare; repeatable")
    parser.add_argument("--allow-unverified", action="store_true",
                        help="accept files the manifest records with no index digest "
                             "(prepare --allow-unverified); they are still listed, under "
                             "'unverified'")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="processes for hashing (default: every core)")
    add_output_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from wheelhouse import folderlock
    from wheelhouse.verify import read_folder, verify

    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: give at least 1.")
    if not args.folder.is_dir():
        raise InputError(f"{args.folder} is not a folder.")
    # No prepare may write the folder while it is read (one that is writing it: exit 2).
    with folderlock.reading(args.folder):
        with report.HashProgress(args.folder) as progress:
            folder = read_folder(args.folder, args.requirement, args.constraints,
                                 args.python, args.platform, args.jobs, progress.file_done)
        folder.allow_unverified = args.allow_unverified
        result = verify(folder)
    if args.json:
        report.print_json(result.as_json())
    else:
        report.print_verify(result)
    return EXIT_OK if result.ok else EXIT_FINDINGS

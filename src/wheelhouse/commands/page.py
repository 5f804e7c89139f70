"""`wheelhouse report`: one page a reviewer reads, in HTML or Markdown."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wheelhouse.commands.options import add_folder_argument, add_review_options
from wheelhouse.errors import EXIT_OK, InputError

if TYPE_CHECKING:
    from wheelhouse.review_page import PageInput

NAME = "report"

HELP = """\
One page a reviewer reads, for a person who does not read JSON: what was asked
(requirements, constraints and their source, targets, indexes), a sortable table of the
files (project, version, kind, license, index, upload date, yanked, known vulnerabilities
when prepare --osv audited them, targets), warnings, the wheels built here and how, and the
signatures present.

The folder is checked as `wheelhouse verify` checks it first, offline, and the page says
whether every check held; a folder with findings still gets its page, marked so. The HTML
is one self-contained file: no script, style or font is fetched (its Content-Security-Policy
forbids any fetch), so it opens as it is on the air-gapped side. Every string from the
manifest is escaped.
"""

EPILOG = """\
examples:
  wheelhouse report docker-context-files --html review.html
  wheelhouse report docker-context-files --markdown > review.md

Markdown goes to standard output (the default); --html writes the file whole or not at all
(never inside DIR, where verify would find a file the manifest does not list).

exit codes: 0 written; 2 it cannot run (no such folder, no wheelhouse.json, --html inside
DIR).
"""


def register(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        NAME, help="write a review page of a wheelhouse (HTML or Markdown), offline",
        description=HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_folder_argument(parser)
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--html", type=Path, metavar="FILE",
                       help="write one self-contained HTML page here")
    shown.add_argument("--markdown", action="store_true",
                       help="print Markdown on standard output (the default)")
    add_review_options(parser)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    return parser


def run(args: argparse.Namespace) -> int:
    from wheelhouse import report
    from wheelhouse.commands.sbom import inside
    from wheelhouse.files import write_atomic
    from wheelhouse.review_page import html_page, markdown_page

    if args.html is not None and inside(args.html, args.folder):
        raise InputError(f"--html {args.html} is inside {args.folder}: verify would find a "
                         "file its manifest does not list; write the page beside the folder.")
    page = page_input(args)
    if args.html is None:
        sys.stdout.write(markdown_page(page))
        return EXIT_OK
    try:
        write_atomic(args.html, html_page(page).encode())
    except OSError as exc:
        raise InputError(f"cannot write {args.html}: {exc.strerror or exc}.") from None
    verdict = {True: "every check holds", False: "verify has findings",
               None: "not verified"}[page.verified]
    report.stderr.print(f"review page of {len(page.manifest.files)} files ({verdict}) written "
                        f"to {args.html}.", highlight=False, soft_wrap=True, markup=False)
    return EXIT_OK


def page_input(args: argparse.Namespace) -> PageInput:
    """The folder's manifest, verify's verdict on the folder, and its signature blocks."""
    from wheelhouse import folderlock, layout, report
    from wheelhouse.review_page import PageInput
    from wheelhouse.signing import read_blocks
    from wheelhouse.verify import read_folder, verify

    folder: Path = args.folder
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder.")
    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: give at least 1.")
    with folderlock.reading(folder):
        with report.HashProgress(folder) as progress:
            context = read_folder(folder, jobs=args.jobs, on_file=progress.file_done)
        if context.manifest is None:
            raise InputError(f"{folder} has no wheelhouse.json: the report describes a folder "
                             "prepare made.")
        result = verify(context)
        signatures = folder / layout.SIGNATURES
        blocks = read_blocks(signatures.read_bytes()) if signatures.is_file() else []
    assert result.manifest_sha256 is not None
    return PageInput(manifest=context.manifest, manifest_sha256=result.manifest_sha256,
                     folder=str(folder), signatures=sum(isinstance(b, bytes) for b in blocks),
                     verified=result.ok)

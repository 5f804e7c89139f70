"""`wheelhouse report`: one page a reviewer reads, in HTML or Markdown."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wheelhouse.commands.options import (
    add_folder_argument,
    add_review_options,
    refuse_inside,
    write_output,
)
from wheelhouse.errors import EXIT_OK

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
    from wheelhouse.review_page import html_page, markdown_page

    refuse_inside(args.html, args.folder, "--html", "page")
    page = page_input(args)
    if args.html is None:
        sys.stdout.write(markdown_page(page))
        return EXIT_OK
    write_output(args.html, html_page(page))
    verdict = {True: "every check holds", False: "verify has findings",
               None: "not verified"}[page.verified]
    report.stderr.print(f"review page of {len(page.manifest.files)} files ({verdict}) written "
                        f"to {args.html}.", highlight=False, soft_wrap=True, markup=False)
    return EXIT_OK


def page_input(args: argparse.Namespace) -> PageInput:
    """The folder's manifest, verify's verdict on the folder, and its signature blocks (a
    folder with findings still gets its page, marked so)."""
    from wheelhouse import layout
    from wheelhouse.review import examined
    from wheelhouse.review_page import PageInput
    from wheelhouse.signing import read_blocks

    with examined(args) as (context, result):
        signatures = context.path / layout.SIGNATURES
        blocks = read_blocks(signatures.read_bytes()) if signatures.is_file() else []
    assert context.manifest is not None and result.manifest_sha256 is not None
    return PageInput(manifest=context.manifest, manifest_sha256=result.manifest_sha256,
                     folder=str(context.path), signatures=sum(isinstance(b, bytes) for b in blocks),
                     verified=result.ok)

"""`wheelhouse diff`: what changed between two wheelhouses, for a reviewer to vet only that."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wheelhouse import report
from wheelhouse.errors import EXIT_FINDINGS, EXIT_OK, InputError

if TYPE_CHECKING:
    from wheelhouse.manifest import Manifest

NAME = "diff"

HELP = """\
Compare two wheelhouses (two folders, or two wheelhouse.json files) by their manifests:
projects added, removed, upgraded and downgraded; a file with the same name but other bytes
(re-hashed: listed first, it is the one change that should never happen); a project whose
index, license, built-here status or yanked status changed; targets added or removed; and
changes to the requirements and the constraints.

diff reads the manifests only: that each folder still holds what its manifest says is
`wheelhouse verify`'s to prove.
"""

EPILOG = """\
examples:
  wheelhouse diff approved/docker-context-files docker-context-files
  wheelhouse diff old/wheelhouse.json new/wheelhouse.json --markdown > review.md
  wheelhouse diff OLD NEW --json | jq '.counts'

--json: {"equal", "counts": {KIND: n}, "changes": [{"kind", "project", "old", "new",
  "detail"}]}; KIND is one of rehashed, added, removed, upgraded, downgraded, index,
  license, built, yanked, target-added, target-removed, requirements, constraints.

exit codes (as diff(1)): 0 no differences; 1 differences; 2 it cannot run (no such folder,
no manifest, a manifest that is not a wheelhouse manifest).
"""


def register(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        NAME, help="show what changed between two wheelhouses (for review)",
        description=HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path, metavar="OLD",
                        help="the earlier wheelhouse: a folder, or its wheelhouse.json")
    parser.add_argument("new", type=Path, metavar="NEW",
                        help="the later wheelhouse: a folder, or its wheelhouse.json")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print one JSON document")
    shown.add_argument("--markdown", action="store_true",
                       help="print Markdown, for a merge-request description")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    return parser


def run(args: argparse.Namespace) -> int:
    from wheelhouse.delta import compare

    old, new = read_manifest(args.old), read_manifest(args.new)
    delta = compare(old, new)
    if args.json:
        report.print_json(delta.to_json())
    elif args.markdown:
        sys.stdout.write(delta.markdown(str(args.old), str(args.new)))
    else:
        sys.stdout.write(delta.text())
    return EXIT_OK if delta.equal else EXIT_FINDINGS


def read_manifest(path: Path) -> Manifest:
    """The manifest of a folder, or a manifest file itself."""
    from wheelhouse.manifest import Manifest

    if path.is_dir():
        found = Manifest.load(path)
        if found is None:
            raise InputError(f"{path} has no wheelhouse.json to compare.")
        return found
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}.") from None
    return Manifest.parse(data, str(path))

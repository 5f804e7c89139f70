"""`wheelhouse licenses`: the folder's license inventory, grouped by SPDX expression."""

from __future__ import annotations

import argparse
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from wheelhouse import report
from wheelhouse.commands.options import add_folder_argument, add_output_options, add_review_options
from wheelhouse.errors import EXIT_OK

if TYPE_CHECKING:
    from wheelhouse.review import ProvenFolder

NAME = "licenses"

HELP = """\
The license of every file in a wheelhouse, offline, grouped by SPDX expression.

The folder is first checked as `wheelhouse verify` checks it; a folder with any finding is
not described. Each file's license is read from the file itself (a wheel's METADATA, an
sdist's PKG-INFO), in PEP 639's order: License-Expression, then the License field, then the
License :: classifiers. Where one of them names a license unambiguously, it is given as an
SPDX expression; where none does (a bare "BSD", a classifier with no version, nothing
declared), the license is `unknown` and the declared values are shown as they are: nothing
is guessed.
"""

EPILOG = """\
examples:
  wheelhouse licenses docker-context-files
  wheelhouse licenses docker-context-files --json | jq '.by_license | keys'

--json: {"ok", "folder", "manifest_sha256", "files", "with_spdx", "unknown",
  "by_license": {SPDX or "unknown": ["name version", ...]},
  "packages": [{"filename", "name", "version", "spdx", "source", "declared":
                {"expression", "text", "classifiers"}}]}

exit codes: 0 the inventory was written; 1 the folder does not pass verify; 2 it cannot
run (no such folder, no wheelhouse.json).
"""


def register(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        NAME, help="list the license of every file in a wheelhouse, offline",
        description=HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_folder_argument(parser)
    add_review_options(parser)
    add_output_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from wheelhouse.review import prove_for

    proven = prove_for(args)
    document = inventory(proven)
    if args.json:
        report.print_json(document)
    else:
        _print(document)
    return EXIT_OK


def inventory(proven: ProvenFolder) -> dict[str, Any]:
    """The licenses, per file and grouped by expression (a project shipped as several files,
    one per platform, is named once in its group)."""
    packages = []
    groups: dict[str, set[str]] = defaultdict(set)
    for item in proven.items:
        facts, entry = item.licenses, item.entry
        packages.append({
            "filename": entry.filename, "name": entry.name, "version": entry.version,
            "spdx": facts.spdx, "source": facts.source,
            "declared": {"expression": facts.expression, "text": facts.text,
                         "classifiers": list(facts.classifiers)},
        })
        groups[facts.spdx].add(f"{entry.name} {entry.version}")
    unknown = sum(1 for p in packages if p["spdx"] == "unknown")
    return {
        "ok": True, "folder": str(proven.path), "manifest_sha256": proven.manifest_sha256,
        "files": len(packages), "with_spdx": len(packages) - unknown, "unknown": unknown,
        "by_license": {spdx: sorted(names) for spdx, names in sorted(groups.items())},
        "packages": packages,
    }


def _print(document: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape

    from wheelhouse.licenses import declared_line

    console = Console(highlight=False, soft_wrap=True)
    by_license = document["by_license"]
    for spdx in sorted(by_license, key=lambda s: (s == "unknown", -len(by_license[s]), s)):
        names = by_license[spdx]
        console.print(f"[bold]{escape(spdx)}[/bold] ({len(names)}): {escape(', '.join(names))}")
    unknown = [p for p in document["packages"] if p["spdx"] == "unknown"]
    if unknown:
        console.print("\nunknown, as declared:")
        for package in unknown:
            said = declared_line(**package["declared"]) or "declares no license"
            console.print(f"  {escape(package['filename'])}: {escape(said)}")
    console.print(f"\n{document['files']} files in {escape(document['folder'])}: "
                  f"{document['with_spdx']} with an SPDX expression, {document['unknown']} "
                  "unknown.")

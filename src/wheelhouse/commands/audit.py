"""`wheelhouse audit`: known vulnerabilities of the folder's pins, from an OSV export, offline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from wheelhouse import report
from wheelhouse.commands.options import add_folder_argument, add_output_options, add_review_options
from wheelhouse.errors import EXIT_FINDINGS, EXIT_OK

if TYPE_CHECKING:
    from wheelhouse.osv import Audit

NAME = "audit"

HELP = """\
Check every project and version in a wheelhouse against an OSV database, fully offline.

Download the database on the connected side: osv.dev publishes the PyPI ecosystem as one zip
(https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip); carry it across with the
folder and give it as --osv (the zip, or a folder of OSV JSON records). Each record's
affected ranges (introduced, fixed, last_affected, limit) are compared as PEP 440 versions,
and its explicit version lists too; withdrawn records are ignored; a record's aliases (CVE,
GHSA, PYSEC) are reported with it. The database's own date (its newest `modified`) is
printed, so that a stale one shows.

The folder is first checked as `wheelhouse verify` checks it. A version OSV cannot compare
(not PEP 440) is listed as not checked, never counted as clean.
"""

EPILOG = """\
examples:
  wheelhouse audit docker-context-files --osv PyPI-all.zip
  wheelhouse audit docker-context-files --osv osv-records/ --json

--json: {"ok", "folder", "manifest_sha256", "database": {"source", "records", "withdrawn",
  "newest_modified", "problems"}, "checked", "unchecked": [{"project", "version",
  "reason"}], "findings": [{"id", "aliases", "project", "version", "fixed", "summary",
  "modified"}]}

exit codes: 0 nothing matches; 1 a known vulnerability matches a pin (or the folder does not
pass verify); 2 it cannot run (no such folder, no wheelhouse.json, a database that cannot be
read or holds no record).
"""


def register(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        NAME, help="check a wheelhouse against an OSV vulnerability database, offline",
        description=HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_folder_argument(parser)
    parser.add_argument("--osv", type=Path, required=True, metavar="PATH",
                        help="an OSV export: osv.dev's PyPI all.zip, or a folder of OSV JSON "
                             "records")
    add_review_options(parser)
    add_output_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from wheelhouse.osv import audit, load_database
    from wheelhouse.review import prove_for

    proven = prove_for(args)
    pairs = sorted({(item.entry.name, item.entry.version) for item in proven.items})
    database = load_database(args.osv, {name for name, _ in pairs})
    result = audit(database, pairs)
    if args.json:
        document = {"ok": not result.findings, "folder": str(proven.path),
                    "manifest_sha256": proven.manifest_sha256, **result.to_json()}
        report.print_json(document)
    else:
        print_audit(result, str(proven.path))
    return EXIT_FINDINGS if result.findings else EXIT_OK


def print_audit(result: Audit, folder: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    database = result.database
    for finding in result.findings:  # a block each: ids stay whole for grep and copy
        aliases = f" ({', '.join(finding.aliases)})" if finding.aliases else ""
        fixed = f"fixed in {', '.join(finding.fixed)}" if finding.fixed else "no fix listed"
        console.print(f"[bold]{escape(finding.project)} {escape(finding.version)}[/bold]: "
                      f"{escape(finding.id)}{escape(aliases)}, {escape(fixed)}")
        if finding.summary:
            console.print(f"    {escape(finding.summary)}")
    for item in result.unchecked:
        console.print(f"not checked: {escape(item.project)} {escape(item.version)}: "
                      f"{escape(item.reason)}")
    for problem in database.problems:
        console.print(f"[yellow]unreadable record:[/yellow] {escape(problem)}")
    dated = database.newest_modified or "no date"
    console.print(f"database: {escape(database.source)} ({database.records} records, newest "
                  f"modified {escape(dated)}; {database.withdrawn} withdrawn, ignored)")
    scope = f"{result.checked} project versions in {escape(folder)}"
    if result.findings:
        affected = len({(f.project, f.version) for f in result.findings})
        console.print(f"{scope}: {len(result.findings)} known vulnerabilities in {affected}.")
    elif result.unchecked:
        console.print(f"{scope}: no known vulnerability among those checked; "
                      f"{len(result.unchecked)} could not be checked (above).")
    else:
        console.print(f"{scope}: no known vulnerability in this database.")

"""`wheelhouse sbom`: a CycloneDX or SPDX document of the folder, offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wheelhouse import __version__, report
from wheelhouse.commands.options import (
    add_folder_argument,
    add_review_options,
    refuse_inside,
    write_output,
)
from wheelhouse.errors import EXIT_OK

if TYPE_CHECKING:
    from wheelhouse.review import ProvenFolder
    from wheelhouse.sbom import SbomInput

NAME = "sbom"
FORMATS = ("cyclonedx-json", "cyclonedx-xml", "spdx-json")  # sbom.FORMATS, without its import

HELP = """\
Write a software bill of materials of a wheelhouse, offline: CycloneDX 1.6 (JSON or XML)
or SPDX 2.3 (JSON), made with the formats' own libraries and checked against their schemas
before it is written.

The folder is first checked as `wheelhouse verify` checks it; a folder with any finding is
not described. Each file is a component: its purl (pkg:pypi/name@version, the file as the
file_name qualifier), sha256 (of the file, as hashed here), download URL, author and
supplier and license (from the file's own METADATA), whether it was built here from an
sdist, when the index received it, and the targets it serves. What needs what comes from
the manifest's required_by; wheelhouse is the tool.
"""

EPILOG = """\
examples:
  wheelhouse sbom docker-context-files -o wheelhouse.cdx.json
  wheelhouse sbom docker-context-files --format spdx-json -o wheelhouse.spdx.json
  wheelhouse sbom docker-context-files --format cyclonedx-xml > wheelhouse.cdx.xml

The document goes to standard output unless -o names a file (written whole or not at all;
not inside DIR, where verify would find a file the manifest does not list).

exit codes: 0 written; 1 the folder does not pass verify; 2 it cannot run (no such folder,
no wheelhouse.json, -o inside DIR, spdx-json on Python 3.9).
"""


def register(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        NAME, help="write a CycloneDX or SPDX SBOM of a wheelhouse, offline",
        description=HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_folder_argument(parser)
    parser.add_argument("--format", choices=FORMATS, default="cyclonedx-json",
                        help="the document's format (default: cyclonedx-json)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write the document here (default: standard output)")
    add_review_options(parser)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    return parser


def run(args: argparse.Namespace) -> int:
    from wheelhouse.review import prove_for
    from wheelhouse.sbom import render

    refuse_inside(args.output, args.folder, "-o", "SBOM")
    proven = prove_for(args)
    rendered = render(sbom_input(proven), args.format)
    checked = (f"checked against the {rendered.schema}" if rendered.validated
               else f"NOT checked against the {rendered.schema} (lxml is not installed)")
    if args.output is None:
        sys.stdout.write(rendered.text)
        where = "standard output"
    else:
        write_output(args.output, rendered.text)
        where = str(args.output)
    report.stderr.print(f"{args.format} SBOM of {len(proven.items)} files ({checked}) written "
                        f"to {where}.", highlight=False, soft_wrap=True, markup=False)
    return EXIT_OK


def sbom_input(proven: ProvenFolder) -> SbomInput:
    """The proven folder as the SBOM module takes it."""
    from wheelhouse.licenses import declared_line
    from wheelhouse.sbom import Component, SbomInput

    names = {item.entry.name for item in proven.items}
    components = []
    for item in proven.items:
        entry, metadata, facts = item.entry, item.metadata, item.licenses
        author = metadata.author if metadata else None
        components.append(Component(
            filename=entry.filename, name=entry.name, version=entry.version,
            sha256=entry.sha256, size=entry.size, url=entry.url, kind=entry.kind,
            built_here=entry.kind == "built-wheel", author=author,
            supplier=(metadata.maintainer if metadata else None) or author,
            license_spdx=facts.spdx,
            license_raw=declared_line(facts.expression, facts.text, facts.classifiers),
            required_by=parents(entry.required_by, names - {entry.name}),
            targets=entry.targets,
            upload_time=entry.upload_time, summary=metadata.summary if metadata else None,
        ))
    manifest = proven.manifest
    return SbomInput(
        tool_version=__version__, created=manifest.created,
        manifest_sha256=proven.manifest_sha256, folder_name=proven.path.resolve().name,
        targets=tuple(manifest.target_names), requirements=manifest.requirements,
        components=tuple(components))


def parents(required_by: tuple[str, ...], names: set[str]) -> tuple[str, ...]:
    """The projects of the folder that need a file, from the manifest's required_by, which
    also names extras (`zeta[extra1]`) and, for a root, the user's own spec
    (`alpha[fast]==2.0`): only other projects of the folder are parents; none: a root."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    found = []
    for text in required_by:
        try:
            name = canonicalize_name(Requirement(text).name)
        except InvalidRequirement:
            continue
        if name in names:
            found.append(name)
    return tuple(sorted(set(found)))

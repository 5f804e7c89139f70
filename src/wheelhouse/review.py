"""What the review commands (licenses, sbom, audit) stand on: a folder that verify proves.

A review describes files: their hashes, licenses, authors, known vulnerabilities. Each of
those is a claim about the folder, so the folder is first checked as `wheelhouse verify`
checks it (every file hashed against the manifest, nothing unlisted, every wheel's RECORD);
a folder with any finding is described not at all. The facts then come from the files
themselves (a wheel's METADATA, an sdist's PKG-INFO), not from what the manifest says of
them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wheelhouse.errors import EXIT_FINDINGS, InputError, WheelhouseError
from wheelhouse.licenses import LicenseFacts, declared_by
from wheelhouse.manifest import FileEntry, Manifest
from wheelhouse.wheelfile import Metadata


class Unproven(WheelhouseError):
    """The folder does not pass verify: nothing is said of it."""

    exit_code = EXIT_FINDINGS


@dataclass(frozen=True)
class Item:
    """One file of a proven folder, with what it states about itself."""

    entry: FileEntry
    metadata: Metadata | None  # a wheel's METADATA, an sdist's PKG-INFO; None if it has none
    licenses: LicenseFacts


@dataclass(frozen=True)
class ProvenFolder:
    path: Path
    manifest: Manifest
    manifest_sha256: str
    items: tuple[Item, ...]


def prove(folder: Path, jobs: int | None = None,
          on_file: Callable[[int], None] | None = None) -> ProvenFolder:
    """The folder, checked as verify checks it, with each file's own statements."""
    from wheelhouse import folderlock
    from wheelhouse.sdist import stated_metadata
    from wheelhouse.verify import read_folder, verify

    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder.")
    with folderlock.reading(folder):
        context = read_folder(folder, jobs=jobs, on_file=on_file)
        if context.manifest is None or context.manifest_bytes is None:
            raise InputError(f"{folder} has no wheelhouse.json: a review describes a folder "
                             "prepare made (wheelhouse verify checks what it can of others).")
        report = verify(context)
        if report.findings:
            first = report.findings[0]
            raise Unproven(
                f"{folder} does not pass verify ({len(report.findings)} finding(s); the "
                f"first: {first.message}); nothing is described that is not proven: run "
                f"wheelhouse verify {folder}.")
        items = []
        for entry in sorted(context.manifest.files, key=lambda e: (e.name, e.filename)):
            inspection = context.inspections.get(entry.filename)
            metadata = inspection.metadata if inspection is not None else None
            if metadata is None and entry.kind == "sdist":
                metadata = stated_metadata(folder / entry.filename)
            items.append(Item(entry, metadata, declared_by(metadata)))
    assert report.manifest_sha256 is not None  # a manifest was read
    return ProvenFolder(folder, context.manifest, report.manifest_sha256, tuple(items))


def declared_line(expression: str | None, text: str | None,
                  classifiers: Sequence[str]) -> str | None:
    """The declared license in one line, for people: the expression, else the License field's
    first line, else the classifiers."""
    if expression:
        return expression
    if text and text.strip():
        return text.strip().splitlines()[0][:200]
    return "; ".join(classifiers) or None


def prove_for(args: argparse.Namespace) -> ProvenFolder:
    """`prove`, for a review command's DIR and --jobs, with verify's progress bar."""
    from wheelhouse import report

    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: give at least 1.")
    with report.HashProgress(args.folder) as progress:
        return prove(args.folder, args.jobs, progress.file_done)


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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wheelhouse.errors import EXIT_FINDINGS, InputError, WheelhouseError
from wheelhouse.licenses import LicenseFacts, declared_by
from wheelhouse.manifest import FileEntry, Manifest
from wheelhouse.wheelfile import Metadata

if TYPE_CHECKING:
    from wheelhouse.verify import Folder, Report


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


@contextmanager
def examined(args: argparse.Namespace) -> Iterator[tuple[Folder, Report]]:
    """DIR read and checked as verify does (with its progress bar), and held against a
    prepare writing it until the caller is done reading: a review command's first step."""
    from wheelhouse import folderlock, report
    from wheelhouse.verify import read_folder, verify

    folder: Path = args.folder
    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: give at least 1.")
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder.")
    with folderlock.reading(folder):
        with report.HashProgress(folder) as progress:
            context = read_folder(folder, jobs=args.jobs, on_file=progress.file_done)
        if context.manifest is None or context.manifest_bytes is None:
            raise InputError(f"{folder} has no wheelhouse.json: a review describes a folder "
                             "prepare made (wheelhouse verify checks what it can of others).")
        yield context, verify(context)


def prove_for(args: argparse.Namespace) -> ProvenFolder:
    """DIR, checked as verify checks it, with each file's own statements; a folder with any
    finding is Unproven."""
    from wheelhouse.sdist import stated_metadata

    with examined(args) as (context, report):
        folder, manifest = context.path, context.manifest
        assert manifest is not None and report.manifest_sha256 is not None
        if report.findings:
            first = report.findings[0]
            raise Unproven(
                f"{folder} does not pass verify ({len(report.findings)} finding(s); the "
                f"first: {first.message}); nothing is described that is not proven: run "
                f"wheelhouse verify {folder}.")
        items = []
        for entry in sorted(manifest.files, key=lambda e: (e.name, e.filename)):
            inspection = context.inspections.get(entry.filename)
            metadata = inspection.metadata if inspection is not None else None
            if metadata is None and entry.kind == "sdist":
                metadata = stated_metadata(folder / entry.filename)
            items.append(Item(entry, metadata, declared_by(metadata)))
    return ProvenFolder(folder, manifest, report.manifest_sha256, tuple(items))

"""Progress and results for people (rich, on a terminal) and machines (--json)."""

from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING, Any

from resolvelib import BaseReporter
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from wheelhouse.layout import MANIFEST

if TYPE_CHECKING:
    from wheelhouse.prepare import PrepareSummary
    from wheelhouse.verify import Report

stderr = Console(stderr=True, highlight=False)


class PrepareProgress(BaseReporter):
    """A live view of resolution and downloads on a terminal; silent anywhere else."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = stderr.is_terminal if enabled is None else enabled
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        # Task ids are used only while a live view is shown (self._progress is set).
        self._resolve = self._download = TaskID(0)
        self._pinned: set[str] = set()

    def __enter__(self) -> PrepareProgress:
        if self.enabled:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeElapsedColumn(),
                console=stderr,
                transient=True,
            )
            self._progress.start()
            self._resolve = self._progress.add_task("resolving", total=None)
            self._download = self._progress.add_task("downloading", total=None)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def pinning(self, candidate) -> None:  # resolvelib hook
        if self._progress is not None and candidate.extra is None:
            self._pinned.add(candidate.name)
            self._progress.update(
                self._resolve, description=f"resolving: {len(self._pinned)} pinned, "
                f"last {candidate.name} {candidate.version}"
            )

    def bytes_done(self, count: int) -> None:
        if self._progress is not None:
            with self._lock:
                self._progress.advance(self._download, count)

    def stage(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._resolve, description=text)


def warn(message: str) -> None:
    stderr.print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


def error(message: str) -> None:
    stderr.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True, emoji=False)


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")


def print_prepare_summary(summary: PrepareSummary) -> None:
    """The people's view of a finished prepare: a line per kind, then where things are."""
    console = Console(highlight=False, soft_wrap=True)
    total = f"{summary.total_bytes / 1e6:.1f} MB"
    targets = ", ".join(summary.targets)
    if summary.up_to_date:
        console.print(
            f"Up to date: {len(summary.files)} files ({total}) for {targets} in "
            f"{summary.dest}, intact and prepared from the same inputs; nothing fetched "
            f"({summary.seconds:.1f} s; --refresh asks the index again)."
        )
        _print_approval(console, summary)
        return
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("files")
    table.add_column("count", justify="right")
    table.add_column("MB", justify="right")
    for label in ("downloaded", "reused", "built"):
        count, size = getattr(summary.counts, label), getattr(summary.sizes, label)
        table.add_row(label, str(count), f"{size / 1e6:.1f}")
    console.print(table)
    console.print(f"Prepared {len(summary.files)} files ({total}) for {targets} in "
                  f"{summary.dest} ({summary.seconds:.1f} s).")
    per_target = summary.files_per_target
    for target, lock in summary.locks.items():
        shown = f"{summary.dest / lock} ({per_target[target]} files for {target})"
        console.print(f"  lock:     {shown}")
    console.print(f"  manifest: {summary.dest / MANIFEST}")
    _print_approval(console, summary)


def _print_approval(console: Console, summary: PrepareSummary) -> None:
    """The manifest's sha256: carried apart from the folder, it is what verify checks the
    folder against on the far side."""
    console.print(f"  manifest sha256: {summary.manifest_sha256}")
    console.print(f"  check it anywhere: wheelhouse verify {summary.dest} "
                  f"--manifest-sha256 {summary.manifest_sha256}")


class HashProgress:
    """A bytes bar while verify hashes the folder, on a terminal only."""

    def __init__(self, folder, enabled: bool | None = None) -> None:
        self.enabled = stderr.is_terminal if enabled is None else enabled
        self.folder = folder
        self._progress: Progress | None = None
        self._task = TaskID(0)

    def __enter__(self) -> HashProgress:
        if self.enabled:
            try:
                total = sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())
            except OSError:
                total = None
            self._progress = Progress(
                SpinnerColumn(), TextColumn("verifying"), BarColumn(), DownloadColumn(),
                TransferSpeedColumn(), TimeElapsedColumn(), console=stderr, transient=True)
            self._progress.start()
            self._task = self._progress.add_task("verifying", total=total)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def file_done(self, size: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, size)


def print_verify(result: Report) -> None:
    """Findings as a table, then a one-line verdict."""
    console = Console(highlight=False, soft_wrap=True)
    if result.findings:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for column in ("check", "file or project", "finding"):
            table.add_column(column, overflow="fold")
        for finding in result.findings:
            where = finding.file or finding.project or ""
            table.add_row(finding.check, escape(where), escape(finding.message))
        console.print(table)
    if result.unverified:
        console.print(f"unverified (no index digest; prepared with --allow-unverified): "
                      f"{escape(', '.join(result.unverified))}")
    if result.built:
        console.print(f"built here from sdists ({len(result.built)}; no index vouches for "
                      "these bytes, only for the sdists they came from): "
                      f"{escape(', '.join(result.built))}")
    if result.asked is not None:
        console.print(f"asked the index for every file's sha256: "
                      f"{escape(', '.join(result.asked) or 'no index')}")
    if result.manifest_sha256:
        console.print(f"manifest sha256: {result.manifest_sha256}")
    good = [c for c in result.signatures if c.valid]
    if result.signatures:
        for check in good:
            console.print(f"signed by {escape(', '.join(check.principals))} "
                          f"({check.key_type} {check.key})")
    elif result.signature_blocks:
        console.print(f"{result.signature_blocks} signature(s) present, not checked: give "
                      "--allowed-signers FILE to check them.")
    checked = result.checked
    scope = (f"{checked.get('files', 0)} files ({checked.get('bytes', 0) / 1e6:.1f} MB) for "
             f"{', '.join(result.targets)}")
    if result.ok:
        console.print(f"{scope}: all checks hold.")
    else:
        console.print(f"{scope}: {len(result.findings)} findings.")

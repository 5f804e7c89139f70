"""Progress and results for people (rich, on a terminal) and machines (--json)."""

from __future__ import annotations

import contextlib
import json
import sys
import textwrap
import threading
import time
from typing import TYPE_CHECKING, Any, TextIO

from resolvelib import BaseReporter
from rich import filesize
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from wheelhouse.index import name_and_version
from wheelhouse.layout import MANIFEST
from wheelhouse.resolve import PYTHON

if TYPE_CHECKING:
    from wheelhouse.prepare import PrepareSummary
    from wheelhouse.verify import Report

stderr = Console(stderr=True, highlight=False)


HEARTBEAT = 10.0  # seconds: a log with no line for longer looks stuck


class PrepareProgress(BaseReporter):
    """What prepare is doing, for whoever watches it.

    On a terminal, a live view: the stage, the downloads, a row per build under way. Anywhere
    else (a CI log), plain lines: one per stage and per build, and a heartbeat whenever
    nothing was said for `heartbeat` seconds, so a log never looks stuck. `verbosity` -1
    says nothing (so does `enabled=False`); 1 adds a line per file. Every hook may be called
    from any thread: downloads and builds run in their own.
    """

    def __init__(
        self,
        enabled: bool | None = None,
        verbosity: int = 0,
        live: bool | None = None,
        stream: TextIO | None = None,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self.verbosity = -1 if enabled is False else verbosity
        self.enabled = self.verbosity >= 0
        self._stream = sys.stderr if stream is None else stream
        # A stream of the caller's own is drawn on as a terminal when `live` asks for it.
        console = stderr if stream is None else Console(
            file=stream, highlight=False, force_terminal=True if live else None)
        self._console = console
        self.live = self.enabled and (console.is_terminal if live is None else live)
        self._heartbeat = heartbeat
        self._lock = threading.RLock()
        self._stage, self._stage_started, self._last_pin = "", time.monotonic(), ""
        self._pinned: set[str] = set()
        self._bytes = self._expected = 0
        self._overrun = False  # more bytes came than were announced: the total is unknown
        self._building: dict[str, float] = {}  # sdist filename: when its build started
        self._last_line = time.monotonic()
        self._view: _LiveView | None = None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> PrepareProgress:
        if self.live:
            self._view = _LiveView(self._console)
        elif self.enabled:
            self._stop.clear()
            self._beat = threading.Thread(target=self._beating, name="wheelhouse-heartbeat",
                                          daemon=True)
            self._beat.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
            self._beat = None
        if self._view is not None:
            self._view.stop()
            self._view = None

    def pinning(self, candidate) -> None:  # resolvelib hook
        if not self.enabled or candidate.extra is not None or candidate.name == PYTHON:
            return  # an extra is its project again; PYTHON is the target's Python
        with self._lock:
            self._pinned.add(candidate.name)
            self._last_pin = (f"{len(self._pinned)} pinned, last {candidate.name} "
                              f"{candidate.version}")
            if self._view is not None:
                self._view.stage(f"{self._stage}: {self._last_pin}")

    def stage(self, text: str) -> None:
        """A new step of the run: one line in a log, the top row on a terminal."""
        if not self.enabled:
            return
        with self._lock:
            if text == self._stage:
                return
            self._stage, self._stage_started, self._last_pin = text, time.monotonic(), ""
            if self._view is not None:
                self._view.stage(text, restart=True)
            else:
                self._say(text)

    def expect_bytes(self, count: int) -> None:
        """A download is starting whose size the index gave: the total grows by it."""
        if not self.enabled:
            return
        with self._lock:
            self._expected += count
            self._show_bytes()

    def bytes_done(self, count: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._bytes += count
            self._show_bytes()

    def file_done(self, filename: str, status: str, size: int) -> None:
        """A file is whole and verified: "downloaded", "reused" or "built" (said with -v)."""
        if self.verbosity >= 1:
            with self._lock:
                self._say(f"{status} {filename} ({_megabytes(size)})")

    def build_started(self, filename: str) -> None:
        """A wheel is being built from the sdist `filename`; builds take seconds to minutes."""
        if not self.enabled:
            return
        with self._lock:
            self._building[filename] = time.monotonic()
            if self._view is not None:
                self._view.build_started(filename)
            else:
                self._say(f"building {filename} ...")

    def build_finished(self, filename: str, wheel: str | None, seconds: float) -> None:
        """The build of `filename` ended: with `wheel`, or failed (None)."""
        if not self.enabled:
            return
        with self._lock:
            self._building.pop(filename, None)
            if self._view is not None:
                self._view.build_finished(filename)
            if self._view is None or self.verbosity >= 1:
                self._say(f"built {wheel} in {seconds:.1f} s" if wheel is not None
                          else f"building {filename} failed after {seconds:.1f} s")

    def _show_bytes(self) -> None:
        if self._expected and self._bytes > self._expected:
            self._overrun = True  # some downloads came with no size: no total can be right
        if self._view is not None:
            total = None if self._overrun or not self._expected else self._expected
            self._view.downloads(self._bytes, total)

    def _say(self, text: str) -> None:
        """A line above the live view, or a plain line in a log (prefixed, flushed)."""
        self._last_line = time.monotonic()
        if self._view is not None:
            self._view.say(text)
            return
        with contextlib.suppress(OSError, ValueError):  # a closed stream: nobody to tell
            self._stream.write(f"wheelhouse: {text}\n")
            self._stream.flush()

    def _beating(self) -> None:
        """The heartbeat thread: a line whenever the log was quiet for `heartbeat` s."""
        while True:
            with self._lock:
                quiet = time.monotonic() - self._last_line
            if self._stop.wait(max(0.0, self._heartbeat - quiet)):
                return
            with self._lock:
                if time.monotonic() - self._last_line >= self._heartbeat:
                    self._say(self._pulse())

    def _pulse(self) -> str:
        """Where the run is: its stage and for how long, what is pinned, fetched, built."""
        now = time.monotonic()
        stage = self._stage or "starting"
        parts = [f"{len(self._pinned)} projects pinned",
                 f"{_megabytes(self._bytes)} downloaded"]
        parts += [f"building {name} ({now - since:.0f} s)"
                  for name, since in sorted(self._building.items())]
        return f"still {stage} after {now - self._stage_started:.0f} s: {', '.join(parts)}"


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


class _LiveView:
    """The terminal rows: the stage (no bar: its end is unknown), the downloads (a bar only
    once a total is known), and one row per build, gone when the build ends."""

    def __init__(self, console: Console) -> None:
        self._stages = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                TimeElapsedColumn(), console=console)
        self._downloads = Progress(SpinnerColumn(), TextColumn("downloading"), _KnownBar(),
                                   _BytesColumn(), _KnownSpeed(), TimeElapsedColumn(),
                                   console=console)
        self._builds = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                TimeElapsedColumn(), console=console)
        self._stage_task = self._stages.add_task("starting", total=None)
        self._download = self._downloads.add_task("downloading", total=None, start=False,
                                                  visible=False)
        self._download_started = False
        self._building: dict[str, TaskID] = {}
        self._live = Live(Group(self._stages, self._downloads, self._builds),
                          console=console, transient=True, refresh_per_second=8)
        self._live.start()

    def stop(self) -> None:
        self._live.stop()

    def say(self, text: str) -> None:
        self._live.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def stage(self, text: str, restart: bool = False) -> None:
        if restart:
            self._stages.reset(self._stage_task, description=escape(text))
        else:
            self._stages.update(self._stage_task, description=escape(text))

    def downloads(self, done: int, total: int | None) -> None:
        if not self._download_started:  # its clock starts with the first download
            self._downloads.start_task(self._download)
            self._download_started = True
        self._downloads.update(self._download, completed=done, total=total, visible=True)

    def build_started(self, filename: str) -> None:
        parsed = name_and_version(filename)
        shown = f"{parsed[0]} {parsed[1]}" if parsed is not None else filename
        self._building[filename] = self._builds.add_task(
            escape(f"building {shown} from its sdist"), total=None)

    def build_finished(self, filename: str) -> None:
        task = self._building.pop(filename, None)
        if task is not None:
            self._builds.remove_task(task)


class _KnownBar(ProgressColumn):
    """A bar only where it can fill: with no total, nothing rather than a bar that never
    moves."""

    def __init__(self) -> None:
        super().__init__()
        self._bar = BarColumn()

    def render(self, task: Task) -> RenderableType:
        return self._bar.render(task) if task.total is not None else Text("")


class _KnownSpeed(TransferSpeedColumn):
    """The speed once there is one, rather than a "?"."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return super().render(task) if speed is not None else Text("")


class _BytesColumn(ProgressColumn):
    """"12.3 MB", or "12.3 MB of 45.6 MB" once the total is known."""

    def render(self, task: Task) -> Text:
        done = filesize.decimal(int(task.completed))
        if task.total is None:
            return Text(done, style="progress.download")
        return Text(f"{done} of {filesize.decimal(int(task.total))}",
                    style="progress.download")


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
        _print_sources(console, summary)
        _print_approval(console, summary)
        _print_next(console, summary)
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
    _print_sources(console, summary)
    _print_approval(console, summary)
    _print_next(console, summary)


def _print_sources(console: Console, summary: PrepareSummary) -> None:
    """Where this run's files came from: each index with its origin (a flag,
    WHEELHOUSE_INDEX_URL, pip's configuration, the default), and pip's find-links."""
    indexes = ", ".join(f"{url} ({'the default' if origin == 'default' else 'from ' + origin})"
                        for url, origin in summary.index_origin.items())
    console.print(f"  index:    {indexes or 'none (only the find-links folders)'}",
                  markup=False)
    links = ", ".join(f"{folder} (from {origin})"
                      for folder, origin in summary.find_links_origin.items())
    if links:
        console.print(f"  find-links: {links}", markup=False)


def _print_next(console: Console, summary: PrepareSummary) -> None:
    for number, command in enumerate(summary.next_commands):
        console.print(f"{'next:' if number == 0 else '     '} {command}", markup=False)


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


# Below this many columns, findings are a list: a table's three columns would leave each
# message a narrow strip, its file name said twice.
WIDE = 110


def _print_findings_narrow(result: Report, console: Console) -> None:
    """Each finding as `check: message`, wrapped under itself (the message names the file)."""
    for finding in result.findings:
        where = finding.file or finding.project or ""
        message = finding.message if not where or where in finding.message else \
            f"{where}: {finding.message}"
        for line in textwrap.wrap(f"{finding.check}: {message}", width=max(console.width, 40),
                                  subsequent_indent="    ", break_on_hyphens=False):
            console.print(line, markup=False, highlight=False, soft_wrap=True)


def print_verify(result: Report) -> None:
    """Findings as a table, then a one-line verdict."""
    console = Console(highlight=False, soft_wrap=True)
    if result.findings and console.width < WIDE:
        _print_findings_narrow(result, console)
    elif result.findings:
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

"""The resolver's window on the world, and the look-ahead that keeps it from waiting.

Under constraints, most of a resolution is known before the resolver gets there: a pinned
project can only be its pinned version, so its file can be downloaded, its METADATA read
(or its sdist built) and its own dependencies looked up at once. The look-ahead walks the
dependency graph that way in worker threads, level by level as pages and files arrive,
while the resolver works through the same graph in order; when it asks, the answer is
usually already here. The look-ahead only starts work; every decision is the resolver's.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from packaging.utils import canonicalize_name
from packaging.version import Version

from wheelhouse import net
from wheelhouse.build import build_wheel, metadata_from_hook
from wheelhouse.constraints import Pin
from wheelhouse.download import Downloader, LocalFile
from wheelhouse.errors import InputError, NetworkError
from wheelhouse.index import Index, IndexFile, parse_version
from wheelhouse.manifest import BuildRecord
from wheelhouse.remote_metadata import fetch_metadata
from wheelhouse.requirement_files import Hashes
from wheelhouse.resolve import PYTHON, Requirement, expand, identifier_of
from wheelhouse.sdist import static_metadata
from wheelhouse.selection import choose_file, dependencies, exact_versions
from wheelhouse.target import Target, builds_here_fit
from wheelhouse.wheelfile import Metadata, read_metadata

# Remote METADATA reads are two small requests each, latency-bound: many at once.
READERS = 16
# Builds are `pip wheel` subprocesses that also wait on the index for their build
# requirements: a few more than there are cores, so that a late one need not queue.
BUILD_WORKERS = (os.cpu_count() or 1) + 2

T = TypeVar("T")
S = TypeVar("S")
# What became of each file of a run, for its summary.
Status = Literal["downloaded", "reused", "built"]


@dataclass
class Built:
    """A wheel built from an sdist, and the sdist it came from."""

    sdist: IndexFile
    sdist_sha256: str
    sdist_size: int
    wheel: Path
    build: BuildRecord
    metadata: Metadata


class BuildProgress(Protocol):
    """Who hears of builds (report.PrepareProgress)."""

    def build_started(self, filename: str) -> None: ...

    def build_finished(self, filename: str, wheel: str | None, seconds: float) -> None: ...


class Workshop:
    """What every target shares: each file downloaded once, read once, built once.

    A candidate's METADATA comes as cheaply as it can: for a wheel the resolver may not ship,
    from the index without the whole file (remote_metadata.py); for a wheel it will ship (a
    pinned one, or one already downloaded), from the file itself; for an sdist, from what
    the sdist states (PEP 643) or its backend's metadata hook, never from a full build. Full
    builds are for the pins of the final resolution alone (`wheel`).

    `progress`, if given, hears of every build, which can take minutes: `build_started(sdist
    filename)` and `build_finished(sdist filename, wheel filename or None if it failed,
    seconds)`, from the build's thread (report.PrepareProgress has both).
    """

    def __init__(self, downloader: Downloader, build: dict[str, Any],
                 progress: BuildProgress | None = None) -> None:
        self.downloader = downloader
        # build_wheel's keyword arguments: cache, index_urls, find_links, check_reproducible
        self.build = build
        self.progress = progress
        self.statuses: dict[str, Status] = {}
        self._metadata: dict[str, Future[Metadata]] = {}
        self._remote: dict[str, Future[Metadata | None]] = {}
        self._wheels: dict[str, Future[Built]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._builds = ThreadPoolExecutor(max_workers=BUILD_WORKERS, thread_name_prefix="build")
        self._reads = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="metadata")

    def metadata(self, file: IndexFile, whole: bool = False) -> Future[Metadata]:
        """The METADATA of `file` (a wheel, or an sdist's own), started now. `whole`: the
        file will be shipped, so download it whole and read it there."""
        with self._lock:
            future = self._metadata.get(file.filename)
            if future is not None:
                return future
            future = self._metadata[file.filename] = Future()
        if file.is_wheel and not whole and not self.downloader.at_hand(file.filename):
            try:
                remote = self._reads.submit(fetch_metadata, self.downloader.session, file)
            except RuntimeError as exc:  # the run is shutting down
                future.set_exception(exc)
                return future
            self._remote[file.filename] = remote
            _then(remote, future, lambda found: self._read_remotely(file, found, future))
            return future
        self._from_download(file, future)
        return future

    def wheel(self, file: IndexFile) -> Future[Built]:
        """The wheel built from the sdist `file` (once, whoever asks), started now."""
        with self._lock:
            future = self._wheels.get(file.filename)
            if future is not None:
                return future
            future = self._wheels[file.filename] = Future()

        def known(resolved: Metadata) -> None:  # the sdist is here by now
            self._after_download(file, future, lambda local: self._build(file, local, resolved))

        _then(self.metadata(file), future, known)
        return future

    def shipped_metadata(self, file: IndexFile, local: LocalFile) -> Metadata:
        """METADATA from the verified wheel that ships; if the resolver read it from the index
        without the file, the two must agree, or the resolution rests on what does not ship."""
        metadata = _checked(file, local.path)
        remote = self._remote.get(file.filename)
        seen = remote.result() if remote is not None and remote.done() and not \
            remote.exception() else None
        if seen is not None and _needs(seen) != _needs(metadata):
            raise NetworkError(f"{file.filename}: the METADATA the index served apart from the "
                               f"file ({net.redact(file.url)}) is not the file's own; refusing "
                               "a resolution made on it.")
        return metadata

    def close(self) -> None:
        """Stop what is under way: builds still running are killed, queued ones dropped."""
        self._stop.set()
        self._reads.shutdown(wait=True, cancel_futures=True)
        self._builds.shutdown(wait=True, cancel_futures=True)

    def _read_remotely(self, file: IndexFile, found: Metadata | None,
                       future: Future[Metadata]) -> None:
        """Parsed from the index's answer; where the index cannot serve it apart from the
        file, from the whole file after all."""
        if found is None:
            self._from_download(file, future)
            return
        _settle(future, lambda: _named(file, found))

    def _from_download(self, file: IndexFile, future: Future[Metadata]) -> None:
        if file.is_wheel:
            self._after_download(file, future, lambda local: _checked(file, local.path),
                                 in_build_pool=False)
        else:
            self._after_download(file, future, lambda local: self._sdist_metadata(file, local))

    def _after_download(self, file: IndexFile, future: Future[T],
                        work: Callable[[LocalFile], T], in_build_pool: bool = True) -> None:
        """Settle `future` with `work(local file)` once `file` is downloaded: in the build
        pool (sdists: their backends run there), or in the download's own thread."""
        try:
            download = self.downloader.fetch(file)
        except RuntimeError as exc:  # the run is shutting down
            future.set_exception(exc)
            return

        def downloaded(local: LocalFile) -> None:
            if not in_build_pool:
                _settle(future, lambda: work(local))
                return
            try:
                self._builds.submit(_settle, future, lambda: work(local))
            except RuntimeError:  # the run is shutting down
                future.cancel()

        _then(download, future, downloaded)

    def _sdist_metadata(self, file: IndexFile, local: LocalFile) -> Metadata:
        """What the sdist states for itself (PEP 643, PEP 621), else its metadata hook."""
        found = static_metadata(local.path)
        if found is None:
            found = metadata_from_hook(
                local.path, local.sha256, self.build["cache"], self.build["index_urls"],
                self.build["find_links"], stop=self._stop, cert=self.build.get("cert"))
        return _named(file, found)

    def _build(self, file: IndexFile, local: LocalFile, resolved: Metadata) -> Built:
        """Build (or take from the cache) the wheel, telling `progress` when it starts and
        ends, failed or not: a build is the longest silence of a run."""
        started, wheel_name = time.monotonic(), None
        if self.progress is not None:
            self.progress.build_started(file.filename)
        try:
            wheel, record = build_wheel(local.path, local.sha256, **self.build, stop=self._stop)
            built = _checked(file, wheel)
            if _needs(built) != _needs(resolved):
                raise InputError(
                    f"the wheel built from {file.filename} declares other dependencies or "
                    f"Requires-Python ({_shown(built)}) than its metadata said when it was "
                    f"resolved ({_shown(resolved)}); the resolution cannot stand on it.")
            wheel_name = wheel.name
            return Built(file, local.sha256, local.size, wheel, record, built)
        finally:
            if self.progress is not None:
                self.progress.build_finished(file.filename, wheel_name,
                                             time.monotonic() - started)


class WheelhouseSources:
    """One target's sources: index pages, files in the wheelhouse, and the look-ahead."""

    def __init__(
        self,
        index: Index,
        workshop: Workshop,
        target: Target,
        pins: Mapping[str, Pin],
        allow_build: bool,
        hashes: Mapping[str, Mapping[Version, Hashes]] | None = None,
    ) -> None:
        self.index = index
        self.hashes = hashes or {}
        self.workshop = workshop
        self.downloader = workshop.downloader
        self.target = target
        self.pins = pins
        self.allow_build = allow_build
        self._seen: set[tuple[str, str | None, Version | None]] = set()
        self._lock = threading.Lock()

    def files(self, name: str) -> list[IndexFile]:
        """A project's files; of a version a hashed lock pins, those its hashes allow where
        any does (pip's rule: the file chosen is then one the lock vouches for; where none
        does, the check after the download names the file and both digests)."""
        files = self.index.project_files(name)
        locked = self.hashes.get(name)
        if not locked:
            return files
        vouched = {f.version for f in files
                   if f.version in locked and f.sha256 in locked[f.version].allowed}
        return [f for f in files
                if f.version not in vouched or f.sha256 in locked[f.version].allowed]

    def metadata(self, file: IndexFile) -> Metadata:
        return self.workshop.metadata(file).result()

    def look_ahead(self, wanted: Iterable[Requirement]) -> None:
        """Requirements the resolver will ask about: start on them, and on what they need."""
        for requirement in wanted:
            if requirement.name == PYTHON:
                continue
            version = self._only_version(requirement)
            key = (requirement.name, requirement.extra, version)
            with self._lock:
                if key in self._seen:
                    continue
                self._seen.add(key)
            page = self.index.prefetch(requirement.name)
            if version is not None:
                page.add_done_callback(functools.partial(
                    _quietly, self._page_known, version=version, extra=requirement.extra))

    def read_ahead(self, files: Iterable[IndexFile]) -> None:
        """Candidates the resolver is about to walk through: start reading their wheels'
        METADATA (sdists wait to be asked: reading theirs may mean a download and a hook)."""
        for file in files:
            if file.is_wheel:
                self.workshop.metadata(file)

    def _only_version(self, requirement: Requirement) -> Version | None:
        """The one version the constraints' pin and `requirement` both allow, if one."""
        specifiers = [requirement.specifier]
        pin = self.pins.get(requirement.name)
        if pin is not None:
            specifiers.append(pin.requirement.specifier)
        only: set[Version] | None = None
        for specifier in specifiers:
            exact = exact_versions([specifier])
            if exact:
                only = exact if only is None else only & exact
        return next(iter(only)) if only is not None and len(only) == 1 else None

    def _page_known(self, page: Future[list[IndexFile]], version: Version,
                    extra: str | None) -> None:
        files = [f for f in page.result() if f.version == version]
        chosen, _ = choose_file(files, self.target, True, self.allow_build)
        if chosen is None:
            return
        if not chosen.is_wheel and builds_here_fit(self.target):
            self.workshop.wheel(chosen)  # pinned: built whatever else is decided, so start now
        self.workshop.metadata(chosen, whole=True).add_done_callback(
            lambda done: _quietly(self._metadata_known, done, chosen, extra))

    def _metadata_known(self, metadata: Future[Metadata], file: IndexFile,
                        extra: str | None) -> None:
        parent = f"{identifier_of(file.name, extra)}=={file.version}"
        specs, _ = dependencies(metadata.result(), self.target, extra)
        self.look_ahead(r for spec in specs for r in expand(spec, parent))


def _checked(file: IndexFile, wheel: Path) -> Metadata:
    """A wheel's METADATA, refused when it names another project or version than its file."""
    return _named(file, read_metadata(wheel), wheel.name)


def _named(file: IndexFile, metadata: Metadata, where: str | None = None) -> Metadata:
    if canonicalize_name(metadata.name) != file.name or parse_version(
            metadata.version) != file.version:
        raise InputError(
            f"{where or file.filename} says it is {metadata.name} {metadata.version} in its "
            f"METADATA, not {file.name} {file.version}."
        )
    return metadata


def _needs(metadata: Metadata) -> tuple[frozenset[str], str | None, frozenset[str]]:
    """What a resolution read from METADATA: dependencies, Requires-Python, extras."""
    return (frozenset(metadata.requires_dist), metadata.requires_python,
            frozenset(canonicalize_name(e) for e in metadata.provides_extra))


def _shown(metadata: Metadata) -> str:
    shown = "; ".join(sorted(metadata.requires_dist)[:4]) or "no dependencies"
    more = f" and {len(metadata.requires_dist) - 4} more" if len(metadata.requires_dist) > 4 \
        else ""
    return shown + more + (f", Python {metadata.requires_python}"
                           if metadata.requires_python else "")


def _then(source: Future[S], future: Future[T], step: Callable[[S], None]) -> None:
    """When `source` is done, `step(its result)`, which goes on to settle `future`; a source
    cancelled or failed cancels or fails `future` instead."""

    def done(finished: Future[S]) -> None:
        if finished.cancelled():
            future.cancel()
        elif (failure := finished.exception()) is not None:
            if future.set_running_or_notify_cancel():
                future.set_exception(failure)
        else:
            step(finished.result())

    source.add_done_callback(done)


def _settle(future: Future[T], work: Callable[[], T]) -> None:
    """Run `work` for a future made by hand, passing on its result or its exception."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(work())
    except BaseException as exc:  # handed to whoever waits on the future
        future.set_exception(exc)


def _quietly(step: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """A look-ahead step: its errors are the resolver's to meet and report, not ours."""
    with contextlib.suppress(Exception):
        step(*args, **kwargs)

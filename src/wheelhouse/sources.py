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
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from packaging.utils import canonicalize_name
from packaging.version import Version

from wheelhouse.build import build_wheel
from wheelhouse.constraints import Pin
from wheelhouse.download import Downloader, LocalFile
from wheelhouse.errors import InputError
from wheelhouse.index import Index, IndexFile, parse_version
from wheelhouse.manifest import BuildRecord
from wheelhouse.resolve import PYTHON, Requirement, expand, identifier_of
from wheelhouse.selection import choose_file, dependencies, exact_versions
from wheelhouse.target import Target
from wheelhouse.wheelfile import Metadata, read_metadata

# Builds are `pip wheel` subprocesses that also wait on the index for their build
# requirements: a few more than there are cores, so that a late one need not queue.
BUILD_WORKERS = (os.cpu_count() or 1) + 2

T = TypeVar("T")
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


class Workshop:
    """What every target shares: each file downloaded once, read once, built once."""

    def __init__(self, downloader: Downloader, build: dict[str, Any]) -> None:
        self.downloader = downloader
        # build_wheel's keyword arguments: cache, index_urls, find_links, check_reproducible
        self.build = build
        self.built: dict[str, Built] = {}
        self.statuses: dict[str, Status] = {}
        self._metadata: dict[str, Future[Metadata]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._builds = ThreadPoolExecutor(max_workers=BUILD_WORKERS, thread_name_prefix="build")

    def metadata(self, file: IndexFile) -> Future[Metadata]:
        """The METADATA of the wheel `file` is, or of the wheel built from it: started now."""
        with self._lock:
            future = self._metadata.get(file.filename)
            if future is not None:
                return future
            future = self._metadata[file.filename] = Future()
        try:
            download = self.downloader.fetch(file)
        except RuntimeError as exc:  # the run is shutting down
            future.set_exception(exc)
            return future
        download.add_done_callback(lambda done: self._downloaded(file, done, future))
        return future

    def close(self) -> None:
        """Stop what is under way: builds still running are killed, queued ones dropped."""
        self._stop.set()
        self._builds.shutdown(wait=True, cancel_futures=True)

    def _downloaded(self, file: IndexFile, download: Future[LocalFile],
                    future: Future[Metadata]) -> None:
        if download.cancelled():
            future.cancel()
            return
        failure = download.exception()
        if failure is not None:
            if future.set_running_or_notify_cancel():
                future.set_exception(failure)
            return
        local = download.result()
        if file.is_wheel:
            _settle(future, lambda: _checked(file, local.path))
            return
        try:
            self._builds.submit(_settle, future, lambda: self._build(file, local))
        except RuntimeError:  # the run is shutting down
            future.cancel()

    def _build(self, file: IndexFile, local: LocalFile) -> Metadata:
        wheel, record = build_wheel(local.path, local.sha256, **self.build, stop=self._stop)
        self.built[file.filename] = Built(file, local.sha256, local.size, wheel, record)
        return _checked(file, wheel)


class WheelhouseSources:
    """One target's sources: index pages, files in the wheelhouse, and the look-ahead."""

    def __init__(
        self,
        index: Index,
        workshop: Workshop,
        target: Target,
        pins: Mapping[str, Pin],
        allow_build: bool,
    ) -> None:
        self.index = index
        self.workshop = workshop
        self.downloader = workshop.downloader
        self.target = target
        self.pins = pins
        self.allow_build = allow_build
        self._seen: set[tuple[str, str | None, Version | None]] = set()
        self._lock = threading.Lock()

    def files(self, name: str) -> list[IndexFile]:
        return self.index.project_files(name)

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
        self.workshop.metadata(chosen).add_done_callback(
            lambda done: _quietly(self._metadata_known, done, chosen, extra))

    def _metadata_known(self, metadata: Future[Metadata], file: IndexFile,
                        extra: str | None) -> None:
        parent = f"{identifier_of(file.name, extra)}=={file.version}"
        specs, _ = dependencies(metadata.result(), self.target, extra)
        self.look_ahead(r for spec in specs for r in expand(spec, parent))


def _checked(file: IndexFile, wheel: Path) -> Metadata:
    """A wheel's METADATA, refused when it names another project or version than its file."""
    metadata = read_metadata(wheel)
    if canonicalize_name(metadata.name) != file.name or parse_version(
            metadata.version) != file.version:
        raise InputError(
            f"{wheel.name} says it is {metadata.name} {metadata.version} in its METADATA, "
            f"not {file.name} {file.version}."
        )
    return metadata


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

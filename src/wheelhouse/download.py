"""Parallel, verified, atomic, resumable downloads into the wheelhouse.

A file reaches its final name only after its sha256 matched the index's digest; until then
it is a hidden `.NAME.part-XXXX` beside it, removed on failure or Ctrl-C. A file already
present under its final name is hashed and reused when it matches.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from wheelhouse import ledger, net
from wheelhouse.errors import InputError, NetworkError
from wheelhouse.files import CHUNK, file_sha256, part_name
from wheelhouse.index import IndexFile
from wheelhouse.layout import path_in
from wheelhouse.wheelfile import shipping_problems

ATTEMPTS = 3


@dataclass(frozen=True)
class LocalFile:
    """A verified file in the wheelhouse."""

    path: Path
    sha256: str
    size: int
    reused: bool
    # Why verify would reject it (wheels only), checked as soon as it is here, alongside the
    # other downloads; prepare refuses to ship a file that has any.
    problems: tuple[str, ...] = ()


class Cancelled(Exception):
    """The run is stopping; the download was abandoned and its partial file removed."""


class Downloader:
    """Downloads each file once, `jobs` at a time, and remembers what this run wrote.

    For progress (each called from the download's thread): `on_bytes(count)` as bytes
    arrive; `on_expect(size)` before a download whose size the index gave, and again with
    the bytes of an attempt that broke off (they come again), so the bytes that arrive add
    up to what was expected; `on_file(filename, status, size)` once a file is whole and
    verified, status "downloaded" or "reused".
    """

    def __init__(
        self,
        session: net.Session,
        dest: Path,
        jobs: int = 8,
        on_bytes: Callable[[int], None] | None = None,
        on_file: Callable[[str, str, int], None] | None = None,
        on_expect: Callable[[int], None] | None = None,
    ) -> None:
        self.session = session
        self.dest = dest
        self.on_bytes = on_bytes or (lambda n: None)
        self.on_file = on_file or (lambda filename, status, size: None)
        self.on_expect = on_expect or (lambda n: None)
        self.written: set[str] = set()
        self._futures: dict[str, Future[LocalFile]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="download")

    def fetch(self, file: IndexFile) -> Future[LocalFile]:
        """Start (or join) the download of one file."""
        with self._lock:
            future = self._futures.get(file.filename)
            if future is None:
                future = self._pool.submit(self._fetch, file)
                self._futures[file.filename] = future
        return future

    def at_hand(self, filename: str) -> bool:
        """Whether the file is being downloaded, or was, or is already in the folder: then
        reading it whole costs nothing more."""
        with self._lock:
            if filename in self._futures:
                return True
        return path_in(self.dest, filename).is_file()

    def close(self) -> None:
        """Stop every download; partial files are removed by their workers."""
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _fetch(self, file: IndexFile) -> LocalFile:
        local = self._fetch_verified(file)
        if file.is_wheel:  # in this download's thread, overlapping the other downloads
            local = dataclasses.replace(local, problems=tuple(shipping_problems(local.path)))
        return local

    def _fetch_verified(self, file: IndexFile) -> LocalFile:
        if not file.checkable:
            raise InputError(f"{file.filename}: the index publishes no sha256 for it, and "
                             "wheelhouse ships only files it checked against the index's "
                             "digest.")
        final = path_in(self.dest, file.filename)
        if final.is_symlink():
            final.unlink()  # a link is never followed, nor trusted: the file is fetched
        if final.is_file() and file.sha256 is not None:  # unverified: always fetched anew
            digest = file_sha256(final)
            if digest == file.sha256:
                size = final.stat().st_size
                self.on_file(file.filename, "reused", size)
                return LocalFile(final, digest, size, reused=True)
        if file.size is not None:
            self.on_expect(file.size)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                local = self._download(file, final)
            except net.BrokenOff as exc:
                if attempt == ATTEMPTS:
                    raise NetworkError(f"{exc} It broke off {ATTEMPTS} times; giving up.") from exc
                continue
            with self._lock:
                self.written.add(file.filename)
            self.on_file(file.filename, "downloaded", local.size)
            return local
        raise AssertionError("unreachable")

    def _download(self, file: IndexFile, final: Path) -> LocalFile:
        part = part_name(final, uuid.uuid4().hex[:8])
        digest = hashlib.sha256()
        size = 0
        try:
            with part.open("wb") as out:
                for chunk in self._chunks(file):
                    if self._stop.is_set():
                        raise Cancelled(file.filename)
                    if file.size is not None and size + len(chunk) > file.size:
                        raise NetworkError(
                            f"{file.filename} from {net.redact(file.url)} is larger than the "
                            f"{file.size} bytes the index says it has: refusing it.")
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    self.on_bytes(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            found = digest.hexdigest()
            if file.sha256 is not None and found != file.sha256:
                raise NetworkError(
                    f"{file.filename} from {net.redact(file.url)} has sha256 {found}, but the "
                    f"index published {file.sha256}: refusing it."
                )
            ledger.record(self.dest, [file.filename])  # before the name: see ledger.py
            os.replace(part, final)
        except net.BrokenOff:
            if file.size is not None:
                self.on_expect(size)  # these bytes come again with the next attempt
            raise
        finally:
            part.unlink(missing_ok=True)
        return LocalFile(final, found, size, reused=False)

    def _chunks(self, file: IndexFile):
        parts = urlsplit(file.url)
        if parts.scheme == "file":
            with open(unquote(parts.path), "rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk
            return
        response = net.get(self.session, file.url, what=file.filename, stream=True)
        assert response is not None
        with response:
            yield from net.body(self.session, response, file.filename, file.url)


"""One writer at a time: a lock on the wheelhouse folder itself.

Two `prepare` runs into one folder would remove each other's files in the making and write
locks and manifests that describe neither run. The folder's own directory is locked
(flock on its file descriptor: no lock file to leave behind or to account for): `prepare`
takes it exclusively, `verify` shared, so a verify never reads a folder half-written. The
kernel drops the lock when the process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from wheelhouse.errors import InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: no lock there
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def writing(folder: Path, wait: bool, on_wait: Callable[[], None] | None = None
            ) -> Iterator[None]:
    """Hold `folder` for a `prepare` run; another run's hold fails at once unless `wait`."""
    with _held(folder, exclusive=True, wait=wait, on_wait=on_wait):
        yield


@contextlib.contextmanager
def reading(folder: Path) -> Iterator[None]:
    """Hold `folder` against writers while it is read; a run writing it fails this at once."""
    with _held(folder, exclusive=False, wait=False, on_wait=None):
        yield


@contextlib.contextmanager
def _held(folder: Path, exclusive: bool, wait: bool,
          on_wait: Callable[[], None] | None) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise InputError(
                    f"{folder} is being written by another wheelhouse prepare; "
                    + ("give --wait to wait for it, or run again when it has finished."
                       if exclusive else "verify it when that run has finished.")
                ) from None
            if on_wait is not None:
                on_wait()
            fcntl.flock(descriptor, mode)
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock

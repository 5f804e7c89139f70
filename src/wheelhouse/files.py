"""Local file primitives shared by every stage: streamed hashing and atomic, durable writes.

Durable: a file's bytes are flushed to disk (fsync) before it is renamed to its final name,
and the folder's entries before the manifest that lists them is written, so a power cut
leaves no final name over bytes that never reached the disk.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

CHUNK = 1 << 20
# A file in the making is hidden and marked: `.NAME.part-XXXX`, renamed only when complete.
PART_MARK = ".part-"


def file_sha256(path: Path) -> str:
    """Stream a file through sha256; memory stays flat whatever its size."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def part_name(path: Path, token: str) -> Path:
    return path.with_name(f".{path.name}{PART_MARK}{token}")


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a hidden name beside `path`, then rename: never a half-written file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{PART_MARK}")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def sync_file(path: Path) -> None:
    """Flush a file's bytes to disk before it takes its final name."""
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (renames, removals) to disk."""
    if not hasattr(os, "O_DIRECTORY"):  # Windows cannot open a folder; NTFS journals it
        return
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def remove_partials(folder: Path) -> list[Path]:
    """Clear the `.NAME.part-XXXX` files a killed run left behind."""
    removed = []
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name.startswith(".") and PART_MARK in path.name and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed

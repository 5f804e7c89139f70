"""The ledger: files the tool put in the folder that no manifest lists yet.

A name is appended *before* its file takes that name, and the ledger is removed only after
the manifest is written; so however a run ends, SIGKILL included, every file it put in the
folder is listed in one or the other, and the next run reuses or removes it rather than
leaving a stranger for `verify` to report.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from wheelhouse import layout
from wheelhouse.files import write_atomic


def record(folder: Path, names: Iterable[str]) -> None:
    """Append names, one a line: an append of one short line is atomic, so threads and a
    kill at any moment leave whole lines (a torn last line is not a name, and is skipped)."""
    text = "".join(f"{name}\n" for name in names)
    if not text:
        return
    handle = os.open(folder / layout.LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(handle, text.encode())
    finally:
        os.close(handle)


def read(folder: Path) -> set[str]:
    """The names an earlier run left listed: only those a run of this tool could write."""
    try:
        text = (folder / layout.LEDGER).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    return {name for name in text.splitlines() if layout.is_written_name(name)}


def write(folder: Path, names: Iterable[str]) -> None:
    """Replace the ledger with exactly these names."""
    write_atomic(folder / layout.LEDGER, "".join(f"{name}\n" for name in sorted(names)).encode())


def clear(folder: Path) -> None:
    (folder / layout.LEDGER).unlink(missing_ok=True)

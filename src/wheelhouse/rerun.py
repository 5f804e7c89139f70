"""A re-run with nothing new to do: recognized from the manifest, finished without the network.

prepare records in the manifest a digest of everything that decides a wheelhouse (the
requirements, the constraints' bytes, the targets, indexes, find-links folders, options and
wheelhouse's own version) and the sha256 of every file it writes beside the wheels. A later
run with the same digest, in a folder that still holds every file with its recorded sha256,
would fetch, resolve and write the same bytes: it says so instead, in about the time it
takes to hash the folder. `--refresh` asks the index again anyway, for what can change
there under the same inputs: a newer pip (the default of --pip-version), a newly yanked
file, a new release of an unpinned dependency.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from wheelhouse.files import file_sha256
from wheelhouse.manifest import Manifest

# hashlib releases the GIL on large buffers: threads hash on every core.
HASH_WORKERS = 4


def inputs_digest(inputs: Mapping[str, Any]) -> str:
    """sha256 of the inputs as canonical JSON: equal digests, equal wheelhouses."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def folder_listing(folder: Path) -> list[tuple[str, int, int]]:
    """A --find-links folder as (name, size, mtime): what tells that its files changed."""
    found = []
    for path in sorted(folder.iterdir()):
        if path.is_file():
            stat = path.stat()
            found.append((path.name, stat.st_size, stat.st_mtime_ns))
    return found


def unchanged(dest: Path, manifest: Manifest | None, digest: str) -> bool:
    """True when `manifest` was written for these inputs and every file it names is intact."""
    if manifest is None or manifest.problems or manifest.rerun is None or \
            manifest.rerun.inputs_sha256 != digest:
        return False
    expected: dict[str, tuple[str, int | None]] = {
        entry.filename: (entry.sha256, entry.size) for entry in manifest.files}
    for name, sha256 in manifest.rerun.files_sha256.items():
        expected[name] = (sha256, None)
    for name, (_, size) in expected.items():
        path = dest / name
        if not path.is_file() or (size is not None and path.stat().st_size != size):
            return False
    names = sorted(expected, key=lambda n: -(expected[n][1] or 0))  # biggest first
    with ThreadPoolExecutor(max_workers=HASH_WORKERS) as pool:
        digests = pool.map(lambda n: file_sha256(dest / n), names)
        return all(found == expected[name][0] for name, found in zip(names, digests))

"""What an sdist needs to be built: its PEP 518 build requirements, read from the archive."""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9 and 3.10 only
    import tomli as tomllib

from wheelhouse.errors import InputError

# PEP 517's fallback when pyproject.toml declares no build system.
LEGACY_REQUIRES = ["setuptools>=40.8.0"]
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"


def build_requires(path: Path) -> list[str]:
    """`build-system.requires` of the sdist at `path` (a .tar.gz or .zip)."""
    return build_system(path)[0]


def build_system(path: Path) -> tuple[list[str], str]:
    """(`build-system.requires`, `build-system.build-backend`), with PEP 517's fallbacks."""
    data = _read_pyproject(path)
    if data is None:
        return list(LEGACY_REQUIRES), LEGACY_BACKEND
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path.name}: pyproject.toml cannot be parsed ({exc}).") from None
    system = document.get("build-system", {})
    if not isinstance(system, dict):
        raise InputError(f"{path.name}: build-system is not a table.")
    requires = system.get("requires")
    backend = system.get("build-backend")
    if not isinstance(backend, str):
        backend = LEGACY_BACKEND
    if requires is None:
        return list(LEGACY_REQUIRES), backend
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise InputError(f"{path.name}: build-system.requires is not a list of strings.")
    return requires, backend


def _read_pyproject(path: Path) -> bytes | None:
    """The top-level pyproject.toml (`NAME-VERSION/pyproject.toml`), or None."""
    try:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.count("/") == 1
                         and n.endswith("/pyproject.toml")]
                return archive.read(names[0]) if names else None
        with tarfile.open(path) as archive:
            for member in archive.getmembers():
                if member.isfile() and member.name.count("/") == 1 and member.name.endswith(
                        "/pyproject.toml"):
                    handle = archive.extractfile(member)
                    return handle.read() if handle else None
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path.name} is not a readable sdist ({exc}).") from None
    return None

"""Does the image hold exactly what the folder ships? The installed-set check.

A build that succeeds proves little if pip took something from elsewhere (a cache, a
forgotten index, the base image). So `PROBE` runs inside the built image, as the airflow
user, and lists every distribution importlib.metadata finds, with the sha256 of every file
its RECORD names, hashed from the disk. `compare` then holds each distribution of the airflow
user's site-packages to the folder's manifest (same name, same version) and each file to the
RECORD inside the folder's wheel: the installed bytes are the wheel's bytes.

Files an installer writes or changes are not compared: *.pyc, RECORD, INSTALLER, REQUESTED,
direct_url.json, and the scripts under bin/ (entry points are generated, and a wheel's
scripts get their #! line rewritten).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

# Runs inside the image (its own Python, no packages beyond the standard library): prints one
# JSON document. Kept small and plain so it runs on any Python 3.
PROBE = r'''
import base64, hashlib, importlib.metadata as md, json, os, site, sys
user_site = os.path.realpath(site.getusersitepackages())
found = []
for dist in md.distributions():
    location = os.path.realpath(str(dist.locate_file("")))
    files = {}
    for entry in dist.files or ():
        path = str(entry)
        if path.endswith(".pyc"):
            continue
        try:
            with open(dist.locate_file(entry), "rb") as handle:
                digest = hashlib.sha256(handle.read()).digest()
            files[path] = "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        except OSError:
            files[path] = None
    found.append({"name": dist.metadata["Name"], "version": dist.version,
                  "location": location, "user": location == user_site, "files": files})
print(json.dumps({"user_site": user_site, "python": sys.version.split()[0],
                  "distributions": found}))
'''

_WRITTEN_BY_INSTALLERS = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def ignored(path: str) -> bool:
    """A file an installer writes or changes, so it cannot match the wheel's RECORD."""
    parts = PurePosixPath(path).parts
    if path.endswith(".pyc") or "__pycache__" in parts:
        return True
    if len(parts) >= 2 and parts[-2].endswith(".dist-info") and parts[-1] in \
            _WRITTEN_BY_INSTALLERS:
        return True
    return ".." in parts and "bin" in parts  # ../../../bin/airflow


def installed_path(wheel_path: str) -> str | None:
    """Where a wheel member lands, relative to site-packages (None: not compared).

    `X.data/purelib/P` and `platlib/P` land at P; `data/P` at the scheme's prefix, three
    levels up (lib/pythonX.Y/site-packages); scripts and headers are rewritten or elsewhere.
    """
    parts = PurePosixPath(wheel_path).parts
    if not parts[0].endswith(".data") or len(parts) < 3:
        return wheel_path
    kind, rest = parts[1], "/".join(parts[2:])
    if kind in ("purelib", "platlib"):
        return rest
    if kind == "data":
        return "../../../" + rest
    return None


def wheel_record(wheel: Path) -> dict[str, str]:
    """The wheel's own RECORD: installed path -> sha256=..., from the file in the folder."""
    with zipfile.ZipFile(wheel) as archive:
        record = next(name for name in archive.namelist()
                      if name.endswith(".dist-info/RECORD") and name.count("/") == 1)
        rows = csv.reader(io.StringIO(archive.read(record).decode("utf-8")))
        hashes: dict[str, str] = {}
        for row in rows:
            if not row or not row[0]:
                continue
            target = installed_path(row[0])
            if target is None or ignored(target):
                continue
            digest = row[1] if len(row) > 1 else ""
            if not digest.startswith("sha256="):
                raw = hashlib.sha256(archive.read(row[0])).digest()
                digest = "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
            hashes[target] = digest
    return hashes


@dataclass
class Installed:
    """The result of the installed-set check, ready for the report."""

    user_site: str = ""
    checked: int = 0  # distributions in the airflow user's site-packages
    files_compared: int = 0
    version_differs: list[dict[str, str]] = field(default_factory=list)
    not_in_folder: list[dict[str, str]] = field(default_factory=list)
    hash_differs: list[dict[str, Any]] = field(default_factory=list)
    missing_files: list[dict[str, Any]] = field(default_factory=list)
    not_installed: list[str] = field(default_factory=list)  # in the folder, not in the image
    elsewhere: list[str] = field(default_factory=list)  # outside the user site (base image)

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not (self.version_differs or self.not_in_folder
                                         or self.hash_differs or self.missing_files)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "user_site": self.user_site, "checked": self.checked,
                "files_compared": self.files_compared,
                "version_differs": self.version_differs, "not_in_folder": self.not_in_folder,
                "hash_differs": self.hash_differs, "missing_files": self.missing_files,
                "not_installed": self.not_installed, "elsewhere": self.elsewhere}


def same_version(one: str, other: str) -> bool:
    try:
        return Version(one) == Version(other)
    except InvalidVersion:
        return one == other


def wheels_by_name(files: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """The manifest's wheels, by normalized project name (a project may ship several)."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    for entry in files:
        if str(entry.get("filename", "")).endswith(".whl"):
            found.setdefault(canonicalize_name(str(entry["name"])), []).append(entry)
    return found


def compare_files(folder: Path, entry: Mapping[str, Any],
                  installed: Mapping[str, str | None]) -> tuple[int, list[str], list[str]]:
    """(files compared, files whose bytes differ, wheel files absent from the image)."""
    expected = wheel_record(folder / str(entry["filename"]))
    differs, missing = [], []
    for path, digest in sorted(expected.items()):
        if path not in installed:
            missing.append(path)
        elif installed[path] is None:
            missing.append(path)
        elif installed[path] != digest:
            differs.append(path)
    return len(expected), differs, missing


def compare(folder: Path, manifest: Mapping[str, Any], probe: Mapping[str, Any]) -> Installed:
    """Hold every distribution of the airflow user's site-packages to the folder."""
    result = Installed(user_site=str(probe.get("user_site", "")))
    shipped = wheels_by_name(manifest.get("files", []))
    seen: set[str] = set()
    for dist in probe.get("distributions", []):
        name = canonicalize_name(str(dist["name"]))
        if not dist.get("user"):
            result.elsewhere.append(f"{name} {dist['version']} ({dist['location']})")
            continue
        result.checked += 1
        seen.add(name)
        candidates = shipped.get(name)
        if not candidates:
            result.not_in_folder.append({"name": name, "version": dist["version"]})
            continue
        entry = next((e for e in candidates if same_version(e["version"], dist["version"])),
                     None)
        if entry is None:
            result.version_differs.append({"name": name, "installed": dist["version"],
                                           "folder": candidates[0]["version"]})
            continue
        files = {path: digest for path, digest in dist["files"].items() if not ignored(path)}
        compared, differs, missing = compare_files(folder, entry, files)
        result.files_compared += compared
        if differs:
            result.hash_differs.append({"name": name, "filename": entry["filename"],
                                        "files": differs})
        if missing:
            result.missing_files.append({"name": name, "filename": entry["filename"],
                                         "files": missing})
    result.not_installed = sorted(set(shipped) - seen)
    result.elsewhere.sort()
    return result

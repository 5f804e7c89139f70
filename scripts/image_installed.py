"""Does the image hold exactly what the folder ships? The installed-set check.

A build that succeeds proves little if pip took something from elsewhere (a cache, a
forgotten index, the base image). So `PROBE` runs inside the built image, as the airflow
user, and lists every distribution importlib.metadata finds, with the sha256 of every file
its RECORD names, hashed from the disk, and the tags of its WHEEL file. `compare` then holds
each distribution of the airflow user's site-packages to the folder's manifest (same name,
same version) and each file to the RECORD inside the folder's wheel: the installed bytes are
the wheel's bytes.

An extend build (`wheelhouse dockerfile`: FROM the released image, pip install of the folder)
starts from an image that already holds most of the folder. `compare_extend` takes the probe
of the base image too: each distribution the folder installs must be in the image at the
folder's version; the build installed it (its files are the folder wheel's) unless the base
image already had that version, which pip leaves as it is ("from the base image": its files
must be the base's, and the folder wheel's when the base installed the same wheel, by its
tags). Everything else in the image must be the base image's, unchanged.

Files an installer writes or changes are not compared: *.pyc, RECORD, INSTALLER, REQUESTED,
direct_url.json, and the scripts under bin/ (entry points are generated, and a wheel's
scripts get their #! line rewritten).
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from installer.records import parse_record_file
from packaging.tags import parse_tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

# Runs inside the image (its own Python 3.8+, the standard library only): prints one JSON
# document. The airflow user's site-packages is site.getusersitepackages(): ~/.local/lib/
# pythonX.Y/site-packages, which is also the site-packages of the virtualenv Airflow 2.9+
# makes of ~/.local, so both ways of installing as the airflow user are held to the folder.
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
    wheel = dist.read_text("WHEEL") or ""
    tags = sorted(line.split(":", 1)[1].strip() for line in wheel.splitlines()
                  if line.startswith("Tag:"))
    found.append({"name": dist.metadata["Name"], "version": dist.version,
                  "location": location, "user": location == user_site, "tags": tags,
                  "files": files})
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
        rows = archive.read(record).decode("utf-8").splitlines()
        hashes: dict[str, str] = {}
        for path, digest, _ in parse_record_file(row for row in rows if row):
            target = installed_path(path)
            if target is None or ignored(target):
                continue
            if not digest.startswith("sha256="):
                raw = hashlib.sha256(archive.read(path)).digest()
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
        if installed.get(path) is None:  # not in the image's RECORD, or not on disk
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
        _hold_to_wheel(result, folder, name, dist, entry)
    result.not_installed = sorted(set(shipped) - seen)
    result.elsewhere.sort()
    return result


@dataclass
class ExtendInstalled:
    """The installed-set check of an extend build, ready for the report."""

    user_site: str = ""
    shipped: int = 0  # distributions the folder installs
    files_compared: int = 0
    by_build: list[str] = field(default_factory=list)  # "name version": the build installed
    from_base: list[dict[str, str]] = field(default_factory=list)  # pip left the base's
    base_only: list[str] = field(default_factory=list)  # not in the folder: the base image's
    version_differs: list[dict[str, str]] = field(default_factory=list)
    not_installed: list[str] = field(default_factory=list)  # the folder's, not in the image
    not_in_folder: list[dict[str, str]] = field(default_factory=list)  # nor in the base
    changed_since_base: list[dict[str, Any]] = field(default_factory=list)
    hash_differs: list[dict[str, Any]] = field(default_factory=list)
    missing_files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.shipped > 0 and not (
            self.version_differs or self.not_installed or self.not_in_folder
            or self.changed_since_base or self.hash_differs or self.missing_files)

    def as_dict(self) -> dict[str, Any]:
        return {"mode": "extend", "ok": self.ok, "user_site": self.user_site,
                "shipped": self.shipped, "files_compared": self.files_compared,
                "by_build": self.by_build, "from_base": self.from_base,
                "base_only": len(self.base_only), "base_only_names": self.base_only,
                "version_differs": self.version_differs, "not_installed": self.not_installed,
                "not_in_folder": self.not_in_folder,
                "changed_since_base": self.changed_since_base,
                "hash_differs": self.hash_differs, "missing_files": self.missing_files}


def effective(probe: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Each project's distribution as imports find it: the first of its name in the probe,
    which lists them in sys.path's order (the user's site-packages before the system's)."""
    found: dict[str, Mapping[str, Any]] = {}
    for dist in probe.get("distributions", []):
        found.setdefault(canonicalize_name(str(dist["name"])), dist)
    return found


def wheel_tags(filename: str) -> list[str]:
    """The tags of a wheel, from its file name, each on its own (as a WHEEL file lists them)."""
    return sorted(str(tag) for tag in parse_wheel_filename(filename)[3])


def expanded(tags: Iterable[str]) -> list[str]:
    """The Tag lines of an installed WHEEL file, each on its own: some builders write a
    compressed set on one line (cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64)."""
    found: set[str] = set()
    for line in tags:
        try:
            found.update(str(tag) for tag in parse_tag(line))
        except ValueError:
            found.add(line)
    return sorted(found)


def changed_files(dist: Mapping[str, Any], before: Mapping[str, Any]) -> list[str]:
    """The files of an installed distribution that are not the base image's (added, removed
    or other bytes)."""
    now, then = dist.get("files", {}), before.get("files", {})
    return sorted(path for path in set(now) | set(then) if now.get(path) != then.get(path))


def compare_extend(folder: Path, manifest: Mapping[str, Any], probe: Mapping[str, Any],
                   base_probe: Mapping[str, Any]) -> ExtendInstalled:
    """Hold the extended image to the folder and to its base image (see the module's text)."""
    result = ExtendInstalled(user_site=str(probe.get("user_site", "")))
    shipped: dict[str, list[Mapping[str, Any]]] = {}
    for entry in manifest.get("files", []):
        if entry.get("role", "install") == "install":
            shipped.setdefault(canonicalize_name(str(entry["name"])), []).append(entry)
    result.shipped = len(shipped)
    image, base = effective(probe), effective(base_probe)
    held: set[int] = set()
    for name, entries in sorted(shipped.items()):
        dist = image.get(name)
        if dist is None:
            result.not_installed.append(name)
            continue
        held.add(id(dist))
        versions = [entry for entry in entries if same_version(entry["version"], dist["version"])]
        if not versions:
            result.version_differs.append({"name": name, "installed": dist["version"],
                                           "folder": entries[0]["version"]})
            continue
        wheel = next((entry for entry in versions
                      if str(entry.get("filename", "")).endswith(".whl")), None)
        before = base.get(name)
        if before is not None and same_version(before["version"], dist["version"]):
            record = _from_base(result, folder, name, dist, before, wheel)
            result.from_base.append({"name": name, "version": dist["version"],
                                     "record": record})
            continue
        result.by_build.append(f"{name} {dist['version']}")
        if wheel is not None:
            _hold_to_wheel(result, folder, name, dist, wheel)
    base_all = {(canonicalize_name(str(dist["name"])), dist["version"], dist["location"]): dist
                for dist in base_probe.get("distributions", [])}
    for dist in probe.get("distributions", []):
        if id(dist) in held:
            continue
        name = canonicalize_name(str(dist["name"]))
        before = base_all.get((name, dist["version"], dist["location"]))
        if before is None:
            result.not_in_folder.append({"name": name, "version": dist["version"],
                                         "location": dist["location"]})
            continue
        result.base_only.append(f"{name} {dist['version']}")
        changed = changed_files(dist, before)
        if changed:
            result.changed_since_base.append({"name": name, "files": changed})
    result.base_only.sort()
    return result


def _from_base(result: ExtendInstalled, folder: Path, name: str, dist: Mapping[str, Any],
               before: Mapping[str, Any], wheel: Mapping[str, Any] | None) -> str:
    """A distribution pip left as the base image had it: unchanged since the base, and the
    folder wheel's bytes when the base installed the same wheel. Returns what was compared."""
    changed = changed_files(dist, before)
    if changed:
        result.changed_since_base.append({"name": name, "files": changed})
    if wheel is None:
        return "no wheel of this version in the folder"
    folder_tags, tags = wheel_tags(str(wheel["filename"])), expanded(dist.get("tags", []))
    if tags != folder_tags:
        return (f"another file: the base installed a wheel tagged {', '.join(tags) or 'none'}, "
                f"the folder's is {wheel['filename']}")
    _hold_to_wheel(result, folder, name, dist, wheel)
    return f"compared with {wheel['filename']}"


def _hold_to_wheel(result: Installed | ExtendInstalled, folder: Path, name: str,
                   dist: Mapping[str, Any], wheel: Mapping[str, Any]) -> None:
    """An installed distribution's files against its wheel's RECORD (both checks)."""
    files = {path: digest for path, digest in dist["files"].items() if not ignored(path)}
    compared, differs, missing = compare_files(folder, wheel, files)
    result.files_compared += compared
    if differs:
        result.hash_differs.append({"name": name, "filename": wheel["filename"],
                                    "files": differs})
    if missing:
        result.missing_files.append({"name": name, "filename": wheel["filename"],
                                     "files": missing})

"""What one wheel says about itself: its metadata, and whether its RECORD holds."""

from __future__ import annotations

import hashlib
import re
import stat
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pkginfo
from installer.sources import WheelFile
from pkginfo.distribution import NewMetadataVersion, UnknownMetadataVersion

from wheelhouse.errors import InputError
from wheelhouse.files import CHUNK

# pkginfo warns about metadata versions newer than it knows; the fields we read are stable.
warnings.filterwarnings("ignore", category=NewMetadataVersion)
warnings.filterwarnings("ignore", category=UnknownMetadataVersion)


@dataclass(frozen=True)
class Metadata:
    """The core metadata fields a resolver and a security review need."""

    name: str
    version: str
    requires_dist: tuple[str, ...]
    requires_python: str | None
    provides_extra: tuple[str, ...]
    license: str | None


def read_metadata(path: Path) -> Metadata:
    """Read METADATA from a wheel; a file that is no wheel is an error naming it."""
    try:
        with zipfile.ZipFile(path) as archive:
            return metadata_from_zip(archive, path.name)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path.name} is not a readable wheel: {exc}.") from None


def _license(wheel: pkginfo.Distribution) -> str | None:
    """The SPDX expression when declared; else a short License field; else the classifier."""
    expression = getattr(wheel, "license_expression", None)
    if expression:
        return expression
    text = (wheel.license or "").strip()
    if text and "\n" not in text and len(text) <= 100 and text.upper() != "UNKNOWN":
        return text
    for classifier in wheel.classifiers or ():
        if classifier.startswith("License :: OSI Approved :: "):
            return classifier.rsplit(" :: ", 1)[-1]
    return None


@dataclass
class Inspection:
    """Everything verify needs from one file, gathered in one pass (in a worker process)."""

    filename: str
    sha256: str = ""
    size: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (check, message)
    metadata: Metadata | None = None


def inspect_file(path: Path) -> Inspection:
    """Hash a file; for a wheel also check zip, member paths, RECORD and METADATA."""
    result = Inspection(path.name)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            result.size += len(chunk)
    result.sha256 = digest.hexdigest()
    if path.name.endswith(".whl"):
        _inspect_wheel(path, result)
    return result


def _inspect_wheel(path: Path, result: Inspection) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        result.problems.append(("zip", f"{path.name} is not a valid zip file ({exc})."))
        return
    with archive:
        unsafe = [name for name in archive.namelist() if _unsafe(name)]
        for name in unsafe:
            result.problems.append(("member-path", f"{path.name} has a member {name!r} that "
                                    "would be written outside the install folder."))
        for info in archive.infolist():
            if stat.S_ISLNK(info.external_attr >> 16):
                result.problems.append(("member-path", f"{path.name} has a member "
                                        f"{info.filename!r} that is a symbolic link."))
        try:
            source = WheelFile(archive)
            source.validate_record(validate_contents=True)
        except ValueError as exc:  # installer's validation errors are ValueErrors
            issues = getattr(exc, "issues", None) or [str(exc)]
            for issue in issues:
                result.problems.append(("record", issue.replace(str(path), path.name)))
        except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
            result.problems.append(("zip", f"{path.name} cannot be read ({exc})."))
            return
        try:
            result.metadata = metadata_from_zip(archive, path.name)
        except InputError as exc:
            result.problems.append(("metadata", str(exc)))


def metadata_from_zip(archive: zipfile.ZipFile, filename: str) -> Metadata:
    """METADATA from the wheel's own .dist-info, parsed by pkginfo."""
    names = [n for n in archive.namelist()
             if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if len(names) != 1:
        raise InputError(f"{filename} has {len(names)} .dist-info/METADATA files, not one.")
    try:
        data = archive.read(names[0])
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(f"{filename}: METADATA cannot be read ({exc}).") from None
    dist = pkginfo.Distribution()
    dist.parse(data)
    if not dist.name or not dist.version:
        raise InputError(f"{filename} has no Name or Version in its METADATA.")
    return Metadata(
        name=dist.name,
        version=dist.version,
        requires_dist=tuple(dist.requires_dist or ()),
        requires_python=dist.requires_python or None,
        provides_extra=tuple(dist.provides_extras or ()),
        license=_license(dist),
    )


def _unsafe(member: str) -> bool:
    """An absolute path, a drive letter or a `..` step: a member that escapes its folder."""
    name = member.replace("\\", "/")
    return name.startswith("/") or re.match(r"^[A-Za-z]:", name) is not None or (
        ".." in name.split("/"))

"""What one wheel says about itself: its core metadata, read from the file on disk."""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pkginfo
from pkginfo.distribution import NewMetadataVersion, UnknownMetadataVersion

from wheelhouse.errors import InputError

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
        wheel = pkginfo.Wheel(str(path))
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as exc:
        raise InputError(f"{path.name} is not a readable wheel: {exc}.") from None
    if not wheel.name or not wheel.version:
        raise InputError(f"{path.name} has no Name or Version in its METADATA.")
    return Metadata(
        name=wheel.name,
        version=wheel.version,
        requires_dist=tuple(wheel.requires_dist or ()),
        requires_python=wheel.requires_python or None,
        provides_extra=tuple(wheel.provides_extras or ()),
        license=_license(wheel),
    )


def _license(wheel: pkginfo.Wheel) -> str | None:
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

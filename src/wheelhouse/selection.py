"""The rules a resolution and a check of it share: which file serves a target, and what a
distribution needs there.

The resolver, the look-ahead that runs ahead of it (sources.py) and verify's closure walk
all ask these questions; they ask them here, so their answers cannot drift apart. Markers
are evaluated only through `Target`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as Spec
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from wheelhouse.index import IndexFile, parse_version
from wheelhouse.target import Target
from wheelhouse.wheelfile import Metadata


def choose_file(
    files: Iterable[IndexFile], target: Target, pinned_exactly: bool, allow_build: bool
) -> tuple[IndexFile | None, str]:
    """The best file of one version for the target, or None and the reason in words.

    A file the index gives no sha256 for is not chosen (unless --allow-unverified): every
    download is checked against the index's digest, and one that cannot be is not shipped.
    """
    listed = list(files)
    files = [f for f in listed if f.checkable]
    if listed and not files:
        return None, ("the index publishes no sha256 for its files (md5 or none), and "
                      "wheelhouse ships only files it checked against the index's digest "
                      "(--allow-unverified ships them, recorded as unverified)")
    python = Version(target.python_full_version)
    usable = [
        f for f in files
        if (pinned_exactly or not f.yanked)
        and (f.requires_python is None or f.requires_python.contains(python, prereleases=True))
    ]
    ranked = [(rank, f.filename, f) for f in usable if f.is_wheel
              and (rank := target.rank(f.tags)) is not None]
    if ranked:
        return min(ranked, key=lambda item: item[:2])[2], ""
    sdists = sorted((f for f in usable if f.kind == "sdist"),
                    key=lambda f: f.preference)
    if sdists and allow_build:
        return sdists[0], ""
    if not usable:
        if files and all(f.yanked for f in files):
            return None, "every file of it is yanked (pin it exactly to accept that)"
        needs = sorted({str(f.requires_python) for f in files if f.requires_python})
        return None, f"it requires Python {' or '.join(needs)}, not {target.python_full_version}"
    wheels = sorted(f.filename for f in usable if f.is_wheel)
    reason = f"no wheel fits {target.name}"
    if wheels:
        shown = ", ".join(wheels[:3]) + (f" and {len(wheels) - 3} more" if len(wheels) > 3 else "")
        reason += f" (it has {shown})"
    if sdists:
        reason += "; there is only an sdist, and --no-build forbids building it"
    return None, reason


def dependencies(
    metadata: Metadata, target: Target, extra: str | None
) -> tuple[list[Spec], list[str]]:
    """The Requires-Dist that apply to the target (with `extra` requested), and invalid lines."""
    specs: list[Spec] = []
    invalid: list[str] = []
    for line in metadata.requires_dist:
        spec = _requirement(line)
        if spec is None:
            invalid.append(line)
        elif target.applies(spec.marker, extra or ""):
            specs.append(spec)
    return specs, invalid


@lru_cache(maxsize=16384)
def _requirement(line: str) -> Spec | None:
    """Parsed once: a project's lines are read for it and again for each of its extras."""
    try:
        return Spec(line)
    except InvalidRequirement:
        return None


def exact_versions(specifiers: Iterable[SpecifierSet]) -> set[Version]:
    """Versions pinned with == or === (which may admit a yanked file, PEP 592)."""
    return {version for specifier in specifiers for spec in specifier
            if spec.operator in ("==", "===") and not spec.version.endswith(".*")
            and (version := parse_version(spec.version)) is not None}

"""The standard lock (`pylock.toml`, PEP 751): one file for every target of the folder.

The requirements locks need one file per target and `--no-index --find-links DIR`. A PEP 751
lock covers every target at once: `environments` names each target's marker environment,
a project some targets pin differently gets one package entry per version, each with a
`marker` that only its own targets satisfy, and every wheel carries a `path` relative to the
lock, so `pip install -r DIR/pylock.toml` (pip 26.1+) and `uv pip install -r DIR/pylock.toml`
install from the folder with no index at all.

Markers can tell targets apart only by what a marker environment says: the OS, the machine,
the Python and its implementation. They cannot tell manylinux from musllinux, one glibc (or
macOS) version from another: two such targets would get the same expression, a package one
of them needs would be installed on the other, and the lock could not be right. `environments`
refuses them (ValueError naming both); such targets need a folder each.

The TOML is written here (its shape is fixed and small) and read back before it is returned:
the document must parse to exactly what was meant (every string is escaped; a manifest's
strings are someone else's data) and `packaging.pylock` must accept it. What the manifest
cannot give a correct lock for is a ValueError naming it; a document that fails those checks
is a bug here, a RuntimeError.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9 and 3.10 only
    import tomli as tomllib

from packaging.markers import (
    InvalidMarker,
    Marker,
    UndefinedComparison,
    UndefinedEnvironmentName,
)
from packaging.pylock import Pylock, PylockValidationError
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from wheelhouse import layout
from wheelhouse.manifest import FileEntry, Manifest, is_sha256
from wheelhouse.policy import parse_created
from wheelhouse.target import Target

PYLOCK = "pylock.toml"

# What a target's expression names, in this order: enough to tell apart any two targets a
# marker environment can tell apart (os_name and platform_system follow from sys_platform).
_KEYS = ("sys_platform", "platform_machine", "python_version", "implementation_name")
_WHEEL_KINDS = ("wheel", "built-wheel")
_HEADER = (
    "# A PEP 751 lock of this folder: every file is named by a path relative to this lock,\n"
    "# so it installs with no index (pip 26.1+: pip install -r pylock.toml; or\n"
    "# uv pip install -r pylock.toml).\n"
)
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


# -- environments -------------------------------------------------------------------------


def environments(targets: Sequence[Target]) -> list[str]:
    """One marker expression per target, in the targets' order: true in the target's own
    marker environment and in no other target's (checked, not assumed).

    Expressions name the same keys and differ in at least one value, so no environment can
    satisfy two of them: a package entry marked with some targets' expressions is never
    selected with another entry of that project. ValueError for two targets that markers
    cannot tell apart (manylinux and musllinux of one machine and Python), or a target whose
    marker environment lacks a key or holds a value no marker can quote.
    """
    found = [_expression(target) for target in targets]
    for mine, (target, expression) in enumerate(zip(targets, found)):
        marker = _marker(expression, target)
        for theirs, other in enumerate(targets):
            if _holds(marker, other) != (theirs == mine):
                raise ValueError(_cannot_tell(target, other, expression, theirs == mine))
    return found


def _expression(target: Target) -> str:
    missing = [key for key in _KEYS if key not in target.markers]
    if missing:
        raise ValueError(f"target {target.name}'s marker environment has no "
                         f"{', '.join(missing)}: it cannot be named in {PYLOCK}.")
    return " and ".join(f"{key} == {_quoted(target.markers[key], target)}" for key in _KEYS)


def _quoted(value: str, target: Target) -> str:
    """A marker string: markers have no escapes, so a value gets the quote it lacks."""
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    raise ValueError(f"target {target.name}'s marker environment holds {value!r}, which has "
                     "both quotes and cannot be written in a marker.")


def _marker(expression: str, target: Target) -> Marker:
    try:
        return Marker(expression)
    except InvalidMarker as exc:
        raise ValueError(f"target {target.name}'s marker environment gives {expression!r}, "
                         f"which is not a marker ({exc}).") from None


def _holds(marker: Marker, target: Target) -> bool:
    try:
        return marker.evaluate(target.environment())
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise ValueError(f"{marker} cannot be evaluated for {target.name} ({exc}).") from None


def _cannot_tell(target: Target, other: Target, expression: str, itself: bool) -> str:
    if itself:
        return (f"target {target.name}'s marker expression {expression!r} is not true in "
                "its own marker environment.")
    return (f"targets {target.name} and {other.name} have marker environments no marker can "
            f"tell apart ({expression!r} holds for both: markers see the OS, machine, Python "
            "and implementation, not manylinux from musllinux or one glibc or macOS version "
            f"from another), so one {PYLOCK} cannot serve both; prepare them into separate "
            "folders.")


# -- the document -------------------------------------------------------------------------


def pylock_text(manifest: Manifest, created_by: str = "wheelhouse") -> str:
    """The folder's `pylock.toml`: every installed file of every target, read back and
    validated with packaging.pylock before it is returned.

    ValueError when the manifest cannot give a correct lock (targets markers cannot tell
    apart, a file that serves no target of the manifest or is not what its entry says);
    RuntimeError when the document written does not read back as meant (a bug here).
    """
    document = _document(manifest, created_by)
    text = _HEADER + _render(document)
    _check(text, document)
    return text


def _document(manifest: Manifest, created_by: str) -> dict[str, Any]:
    """The lock as TOML data: what is rendered, and what the rendering must parse back to."""
    if not manifest.targets:
        raise ValueError(f"the manifest names no targets: {PYLOCK} has no environment to "
                         "name.")
    expressions = dict(zip(manifest.target_names, environments(manifest.targets)))
    entries = [entry for entry in manifest.files if entry.role == "install"]
    for entry in entries:
        _check_entry(entry, expressions)
    _one_version_per_target(entries)
    groups: dict[tuple[str, str], list[FileEntry]] = {}
    for entry in entries:
        groups.setdefault((entry.name, entry.version), []).append(entry)
    oldest = min(target.python_version for target in manifest.targets)
    return {
        "lock-version": "1.0",
        "environments": sorted(expressions.values()),
        "requires-python": f">={oldest[0]}.{oldest[1]}",
        "created-by": created_by,
        "packages": [_package(groups[key], expressions)
                     for key in sorted(groups, key=lambda key: (key[0], Version(key[1])))],
    }


def _check_entry(entry: FileEntry, expressions: Mapping[str, str]) -> None:
    """A file the lock names must be the file its entry says, in the folder, for a target
    of the manifest: else the lock would name something other than what was checked."""
    where = f"{entry.filename!r} (install)"
    if entry.kind not in (*_WHEEL_KINDS, "sdist"):
        raise ValueError(f"{where} is of the unknown kind {entry.kind!r}.")
    if not layout.is_plain_name(entry.filename):
        raise ValueError(f"{where} is not a file name inside the folder.")
    if not is_sha256(entry.sha256):
        raise ValueError(f"{where} has no sha256 of 64 hex digits.")
    if canonicalize_name(entry.name) != entry.name:
        raise ValueError(f"{where} names the project {entry.name!r}, which is not normalized.")
    try:
        version = Version(entry.version)
    except InvalidVersion:
        raise ValueError(f"{where} has the version {entry.version!r}, which is not a "
                         "version.") from None
    named = _named_by_filename(entry)
    if named != (entry.name, version):
        raise ValueError(f"{where} is {named[0]} {named[1]} by its name, but its entry says "
                         f"{entry.name} {entry.version}.")
    unknown = [name for name in entry.targets if name not in expressions]
    if not entry.targets or unknown:
        raise ValueError(f"{where} serves {', '.join(unknown) or 'no target'}, not a target "
                         "of the manifest.")


def _named_by_filename(entry: FileEntry) -> tuple[str, Version]:
    try:
        if entry.kind in _WHEEL_KINDS:
            name, version, _, _ = parse_wheel_filename(entry.filename)
        else:
            name, version = parse_sdist_filename(entry.filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        kind = "a wheel" if entry.kind in _WHEEL_KINDS else "an sdist"
        raise ValueError(f"{entry.filename!r} (install) is listed as {entry.kind} but is "
                         f"not the name of {kind}.") from None
    return str(name), version


def _one_version_per_target(entries: Iterable[FileEntry]) -> None:
    """Each target installs one version of a project: two would give entries whose markers
    both hold there, which PEP 751 forbids."""
    seen: dict[tuple[str, str], str] = {}
    for entry in entries:
        for target in entry.targets:
            version = seen.setdefault((target, entry.name), entry.version)
            if version != entry.version:
                raise ValueError(f"target {target} installs {entry.name} {version} and "
                                 f"{entry.version}: a lock pins one version per target.")


def _package(entries: list[FileEntry], expressions: Mapping[str, str]) -> dict[str, Any]:
    """One project at one version: a marker unless every target installs it, and every
    file of it in the folder (an installer picks the wheel its tags prefer)."""
    first = entries[0]
    package: dict[str, Any] = {"name": first.name, "version": first.version}
    served = {target for entry in entries for target in entry.targets}
    if served != set(expressions):
        mine = sorted(expressions[target] for target in served)
        package["marker"] = mine[0] if len(mine) == 1 else " or ".join(f"({e})" for e in mine)
    requires_python = _requires_python(entries)
    if requires_python is not None:
        package["requires-python"] = requires_python
    sdists = sorted(entry.filename for entry in entries if entry.kind == "sdist")
    if len(sdists) > 1:
        raise ValueError(f"{first.name} {first.version} has {len(sdists)} sdists to install "
                         f"({', '.join(map(repr, sdists))}); a lock holds one.")
    if sdists:
        package["sdist"] = _file(next(e for e in entries if e.kind == "sdist"))
    wheels = sorted((entry for entry in entries if entry.kind in _WHEEL_KINDS),
                    key=lambda entry: entry.filename)
    if wheels:
        package["wheels"] = [_file(entry) for entry in wheels]
    return package


def _requires_python(entries: Iterable[FileEntry]) -> str | None:
    """What the files say, when those that say agree: a package's requires-python is an
    error for an installer outside it, so a disputed or unreadable one is left out."""
    stated = {entry.requires_python for entry in entries if entry.requires_python}
    if len(stated) != 1:
        return None
    try:
        return str(SpecifierSet(stated.pop()))
    except InvalidSpecifier:
        return None


def _file(entry: FileEntry) -> dict[str, Any]:
    """A wheel or sdist entry. A wheel built here was never uploaded: the URL and upload time
    its manifest entry carries are its sdist's, so neither is written."""
    found: dict[str, Any] = {"name": entry.filename}
    uploaded = entry.kind != "built-wheel"
    when = _upload_time(entry.upload_time) if uploaded else None
    if when is not None:
        found["upload-time"] = when
    if uploaded and entry.url:
        found["url"] = entry.url
    found["path"] = "./" + entry.filename
    found["size"] = entry.size
    found["hashes"] = {"sha256": entry.sha256}
    return found


def _upload_time(text: str | None) -> datetime | None:
    """An RFC 3339 time as the policy's age rules read it, in UTC and to the microsecond
    (what a TOML datetime holds); None when unknown or unreadable."""
    if not text:
        return None
    try:
        return parse_created(text).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


# -- TOML ---------------------------------------------------------------------------------


def _render(document: Mapping[str, Any]) -> str:
    """The fixed shape of `_document` as TOML: top-level keys, then one `[[packages]]` table
    each, its `[packages.sdist]` and `[[packages.wheels]]`."""
    lines = _pairs(document, skip=("packages",))
    for package in document["packages"]:
        lines += ["", "[[packages]]", *_pairs(package, skip=("sdist", "wheels"))]
        if "sdist" in package:
            lines += ["", "[packages.sdist]", *_pairs(package["sdist"])]
        for wheel in package.get("wheels", ()):
            lines += ["", "[[packages.wheels]]", *_pairs(wheel)]
    return "\n".join(lines) + "\n"


def _pairs(table: Mapping[str, Any], skip: Sequence[str] = ()) -> list[str]:
    return [f"{key} = {_value(value)}" for key, value in table.items() if key not in skip]


def _value(value: object) -> str:
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list):
        return "[\n" + "".join(f"    {_value(item)},\n" for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_value(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _string(text: str) -> str:
    """A TOML string of any text, in printable ASCII: a literal string when that needs no
    escape (markers read better without \\"), else a basic string with every quote,
    backslash, control and non-ASCII character escaped, so nothing invisible or
    direction-changing reaches a reviewer's screen. A lone surrogate has no TOML form."""
    if "'" not in text and all(" " <= char <= "~" for char in text) and '"' in text:
        return f"'{text}'"
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif " " <= char <= "~":
            out.append(char)
        elif 0xD800 <= code <= 0xDFFF:
            raise ValueError(f"{text!r} holds a lone surrogate, which TOML cannot hold.")
        else:
            out.append(f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}")
    return '"' + "".join(out) + '"'


def _check(text: str, document: Mapping[str, Any]) -> None:
    """The text parses to exactly the document meant, which packaging.pylock accepts."""
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuntimeError(f"the {PYLOCK} written is not TOML ({exc}).") from exc
    if parsed != document:
        raise RuntimeError(f"the {PYLOCK} written does not read back as it was meant.")
    try:
        Pylock.from_dict(parsed).validate()
    except PylockValidationError as exc:
        raise RuntimeError(f"the {PYLOCK} written is not a valid PEP 751 lock: {exc}.") from exc


def locked_for(text: str, environment: Mapping[str, str]) -> dict[str, tuple[str, set[str]]]:
    """What a pylock.toml pins for one target's marker environment: name -> (version, every
    sha256 its wheels and sdist carry), as lock.locked_pins gives the manifest's. ValueError
    for a document that is not a valid PEP 751 lock (a folder's file is untrusted)."""
    try:
        pylock = Pylock.from_dict(tomllib.loads(text))
        pylock.validate()
    except (tomllib.TOMLDecodeError, PylockValidationError, TypeError, ValueError) as exc:
        raise ValueError(f"it is not a valid PEP 751 lock ({exc})") from None
    found: dict[str, tuple[str, set[str]]] = {}
    for package in pylock.packages:
        if package.marker is not None and not package.marker.evaluate(dict(environment)):
            continue
        digests = [w.hashes for w in package.wheels or ()]
        if package.sdist is not None:
            digests.append(package.sdist.hashes)
        hashes = {d["sha256"] for d in digests if "sha256" in d}
        found[canonicalize_name(package.name)] = (str(package.version), hashes)
    return found

"""Check a wheel folder's (project, version) pairs against an OSV database carried across the
gap: osv.dev's PyPI export (one zip of OSV JSON records), a folder of OSV JSON files, or one
JSON file (a record, or a list of records).

Matching follows the OSV schema's evaluation algorithm, for PyPI:
- only `affected` entries whose `package.ecosystem` is exactly "PyPI" count; package names
  compare after PEP 503 normalisation;
- only ECOSYSTEM ranges count: SEMVER and GIT ranges say nothing PEP 440 can compare;
- a range's events are sorted by version ("introduced": "0" lowest) and walked: a version is
  affected from an `introduced` on, up to a `fixed` (excluded) or a `last_affected`
  (included); `limit` events bound the range from above ("*": no bound);
- versions compare as PEP 440, pre-releases included (2.0.0rc1 < 2.0.0);
- a version listed in `versions` is affected whatever the ranges say;
- a withdrawn record is ignored, and counted.

Never claim a check that was not made. A pair is *checked* only when every record naming its
project could be evaluated for it; otherwise it is *unchecked*, with the reason: its version
is not PEP 440, the database was loaded for other projects only, or a record naming the
project holds evidence this module could not read (a range bound that is not PEP 440, say).
Findings are reported either way. A database holding no record at all, or no PyPI advisory
in force, is an error, not a clean bill of health.

The database is untrusted input: nothing is extracted or written, each record is read into
memory within MEMBER_LIMIT, at most MAX_RECORDS are read, a zip's directory is bounded before
zipfile holds it, symbolic links inside a folder are not followed (each is a problem line),
and a malformed record is one line in `problems` while the rest still count. A zip member
that fails its CRC or will not decompress is different: it means a damaged download, so the
whole database is refused (InputError) rather than audited in part.
"""

from __future__ import annotations

import json
import os
import re
import stat
import struct
import zipfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelhouse.errors import InputError

# One record is held whole; real ones are a few KiB, the largest a few hundred.
MEMBER_LIMIT = 16 << 20
MAX_RECORDS = 500_000
# The single-file form may hold a whole export as one JSON list (~60 MB for PyPI today).
FILE_LIMIT = 256 << 20
# zipfile holds a zip's whole directory as objects, about ten times its bytes; the PyPI
# export's is ~2 MB, and 500,000 members with real names ~40 MB.
DIRECTORY_LIMIT = 64 << 20
MAX_PROBLEMS = 100
SUMMARY_LIMIT = 300
# A longer string is no real version; packaging's regex never sees it.
VERSION_LIMIT = 200
LABEL_LIMIT = 200

NOT_PEP440 = "its version is not PEP 440, which OSV's PyPI ranges compare by"
OUT_OF_SCOPE = "the OSV database was loaded for other projects only"
KINDS = ("introduced", "fixed", "last_affected", "limit")


@dataclass(frozen=True)
class Finding:
    """One record that affects one (project, version)."""

    id: str
    aliases: tuple[str, ...]
    project: str
    version: str
    fixed: tuple[str, ...]
    summary: str
    modified: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "aliases": list(self.aliases), "project": self.project,
                "version": self.version, "fixed": list(self.fixed), "summary": self.summary,
                "modified": self.modified}


@dataclass(frozen=True)
class Unchecked:
    """A pair the audit could not fully check: never reported as clean."""

    project: str
    version: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "version": self.version, "reason": self.reason}


@dataclass(frozen=True)
class _Event:
    kind: str
    version: Version | None  # None: "introduced": "0", before every version
    text: str


@dataclass(frozen=True)
class _Range:
    events: tuple[_Event, ...]  # sorted; no limit events
    limits: tuple[Version | None, ...]  # None: "*"


@dataclass(frozen=True)
class _Advisory:
    """What one record says about one project."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    modified: str
    ranges: tuple[_Range, ...]
    versions: frozenset[str]
    unusable: tuple[str, ...]  # evidence for this project that could not be evaluated


@dataclass(frozen=True)
class Database:
    """An OSV export as read: its counts, its problems, and its PyPI advisories by project."""

    source: str
    records: int
    withdrawn: int
    newest_modified: str | None
    problems: tuple[str, ...]
    advisories: Mapping[str, tuple[_Advisory, ...]] = field(
        default_factory=dict, repr=False, compare=False)
    pypi_records: int = 0  # records in force with a PyPI advisory, whatever `projects` kept
    projects: frozenset[str] | None = None  # the canonical names it was loaded for; None: all

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "records": self.records, "withdrawn": self.withdrawn,
                "newest_modified": self.newest_modified, "problems": list(self.problems)}


@dataclass(frozen=True)
class Audit:
    database: Database
    findings: tuple[Finding, ...]
    checked: int
    unchecked: tuple[Unchecked, ...]

    def to_json(self) -> dict[str, Any]:
        return {"database": self.database.to_json(), "checked": self.checked,
                "unchecked": [item.to_json() for item in self.unchecked],
                "findings": [finding.to_json() for finding in self.findings]}


# ---- text from untrusted records ---------------------------------------------------------

def _printable(text: str, limit: int) -> str:
    """Bounded, and safe for a terminal: control characters (escape sequences) go."""
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else " " if c.isspace() else "\ufffd" for c in text)


def _label(name: str) -> str:
    return _printable(name, LABEL_LIMIT)


def _quote(value: object) -> str:
    """A value for a problem line: strings shown escaped and bounded, others by type."""
    if isinstance(value, str):
        return repr(value[:60] + ("…" if len(value) > 60 else ""))
    return f"a JSON {_json_type(value)}"


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
             float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _version(text: str) -> Version | None:
    if len(text) > VERSION_LIMIT:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


_ZERO = Version("0")


def _version_order(text: str) -> tuple[int, Version, str]:
    parsed = _version(text)
    return (0, parsed, text) if parsed is not None else (1, _ZERO, text)


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,12}))?"
                      r"([Zz]|[+-]\d\d:\d\d)\Z")


def _timestamp(text: str) -> datetime | None:
    """An RFC 3339 time, to compare `modified` across time zones and precisions."""
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        if zone in ("Z", "z"):
            tz = timezone.utc
        else:
            sign = -1 if zone[0] == "-" else 1
            tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                        int((fraction or "0")[:6].ljust(6, "0")), tzinfo=tz)
    except ValueError:
        return None


# ---- one record --------------------------------------------------------------------------

class _Problems:
    """The first MAX_PROBLEMS lines, and a count of the rest."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.more = 0

    def add(self, label: str, message: str) -> None:
        if len(self.lines) < MAX_PROBLEMS:
            self.lines.append(f"{label}: {message}")
        else:
            self.more += 1

    def freeze(self) -> tuple[str, ...]:
        if not self.more:
            return tuple(self.lines)
        return (*self.lines, f"… and {self.more} more problems, not listed")


@dataclass
class _Record:
    id: str
    modified: str
    withdrawn: bool
    pypi: bool
    advisories: dict[str, _Advisory]


def _events(value: object) -> _Range | str:
    """The range to walk, or why it cannot be evaluated."""
    if not isinstance(value, list) or not value:
        return f"events is {_quote(value)}, not a list of events"
    walk: list[_Event] = []
    limits: list[Version | None] = []
    for index, event in enumerate(value):
        if not isinstance(event, dict):
            return f"events[{index}] is {_quote(event)}, not an object"
        kinds = [kind for kind in KINDS if kind in event]
        if len(kinds) != 1:
            return f"events[{index}] holds {len(kinds)} of {'/'.join(KINDS)}, not one"
        kind = kinds[0]
        text = event[kind]
        if not isinstance(text, str):
            return f"events[{index}].{kind} is {_quote(text)}, not a string"
        if kind == "limit" and "*" in text:
            limits.append(None)
            continue
        version = None if kind == "introduced" and text == "0" else _version(text)
        if version is None and not (kind == "introduced" and text == "0"):
            return f"events[{index}].{kind} {_quote(text)} is not a PEP 440 version"
        if kind == "limit":
            limits.append(version)
        else:
            walk.append(_Event(kind, version, text))
    if not any(event.kind == "introduced" for event in walk):
        return "has no introduced event"
    walk.sort(key=lambda event: (0, _ZERO) if event.version is None else (1, event.version))
    return _Range(tuple(walk), tuple(limits))


@dataclass
class _Evidence:
    ranges: list[_Range] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)
    unusable: list[str] = field(default_factory=list)


def _affected_entry(entry: dict[str, Any], where: str, evidence: _Evidence, label: str,
                    problems: _Problems) -> None:
    """Add one PyPI `affected` entry's ranges and versions to what its project collects."""

    def unusable(message: str) -> None:
        problems.add(label, f"{where}{message}")
        evidence.unusable.append(f"{where}{message}")

    ranges = entry.get("ranges")
    if ranges is not None and not isinstance(ranges, list):
        unusable(f".ranges is {_quote(ranges)}, not a list")
        ranges = None
    for index, item in enumerate(ranges or ()):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            unusable(f".ranges[{index}] is not an object with a string type")
            continue
        if item["type"] != "ECOSYSTEM":
            continue  # SEMVER and GIT ranges do not compare PEP 440 versions
        parsed = _events(item.get("events"))
        if isinstance(parsed, str):
            unusable(f".ranges[{index}] {parsed}")
        else:
            evidence.ranges.append(parsed)
    versions = entry.get("versions")
    if versions is not None and not isinstance(versions, list):
        unusable(f".versions is {_quote(versions)}, not a list")
        versions = None
    for index, text in enumerate(versions or ()):
        if isinstance(text, str):
            evidence.versions.add(text)
        else:
            unusable(f".versions[{index}] is {_quote(text)}, not a string")


def _string_field(document: dict[str, Any], key: str, label: str,
                  problems: _Problems) -> str | None:
    value = document.get(key)
    if value is None or isinstance(value, str):
        return value
    problems.add(label, f"{key} is {_quote(value)}, not a string")
    return None


def _summary(document: dict[str, Any], label: str, problems: _Problems) -> str:
    summary = (_string_field(document, "summary", label, problems) or "").strip()
    if not summary:
        details = _string_field(document, "details", label, problems) or ""
        summary = next((line.strip() for line in details[:64 << 10].splitlines()
                        if line.strip()), "")
    return _printable(summary, SUMMARY_LIMIT)


def _aliases(document: dict[str, Any], label: str, problems: _Problems) -> tuple[str, ...]:
    value = document.get("aliases")
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.add(label, f"aliases is {_quote(value)}, not a list")
        return ()
    if not all(isinstance(alias, str) for alias in value):
        problems.add(label, "aliases holds something other than strings")
    return tuple(sorted({_printable(alias, LABEL_LIMIT) for alias in value
                         if isinstance(alias, str) and alias}))


def _record(label: str, document: object, scope: frozenset[str] | None,
            problems: _Problems) -> _Record | None:
    """One record's PyPI advisories by project; None (and a problem) when it has no id."""
    if not isinstance(document, dict):
        problems.add(label, f"is {_quote(document)}, not an OSV record (a JSON object)")
        return None
    raw_id = document.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip():
        problems.add(label, f"its id is {_quote(raw_id)}, not a non-empty string")
        return None
    record_id = _printable(raw_id.strip(), LABEL_LIMIT)
    modified = _string_field(document, "modified", label, problems) or ""
    if _timestamp(modified) is None:
        problems.add(label, f"modified is {_quote(modified)}, not an RFC 3339 time"
                     if modified else "it has no modified time")
    withdrawn = _string_field(document, "withdrawn", label, problems)
    record = _Record(record_id, modified, bool(withdrawn), False, {})
    if record.withdrawn:
        return record
    affected = document.get("affected")
    if affected is not None and not isinstance(affected, list):
        problems.add(label, f"affected is {_quote(affected)}, not a list")
        return record
    collected: dict[str, _Evidence] = {}
    for index, entry in enumerate(affected or ()):
        where = f"affected[{index}]"
        package = entry.get("package") if isinstance(entry, dict) else None
        if not isinstance(package, dict):
            problems.add(label, f"{where} has no package object")
            continue
        ecosystem = package.get("ecosystem")
        if not isinstance(ecosystem, str):
            problems.add(label, f"{where}.package.ecosystem is {_quote(ecosystem)}")
            continue
        if ecosystem != "PyPI":
            continue
        name = package.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.add(label, f"{where}.package.name is {_quote(name)}, not a name")
            continue
        record.pypi = True
        project = canonicalize_name(name.strip())
        if scope is not None and project not in scope:
            continue
        _affected_entry(entry, where, collected.setdefault(project, _Evidence()), label,
                        problems)
    if collected:
        aliases = _aliases(document, label, problems)
        summary = _summary(document, label, problems)
        record.advisories = {
            project: _Advisory(record_id, aliases, summary, _printable(modified, LABEL_LIMIT),
                               tuple(evidence.ranges), frozenset(evidence.versions),
                               tuple(evidence.unusable))
            for project, evidence in collected.items()}
    return record


class _Loader:
    """Counts and indexes records as they come, from whichever form the database has."""

    def __init__(self, scope: frozenset[str] | None) -> None:
        self.scope = scope
        self.problems = _Problems()
        self.records = 0
        self.withdrawn = 0
        self.pypi = 0
        self.newest: tuple[datetime, str] | None = None
        self.advisories: dict[str, list[_Advisory]] = {}

    def add_bytes(self, label: str, data: bytes) -> None:
        try:
            document = json.loads(data)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            self.problems.add(label, f"not valid JSON ({_printable(str(exc), 120)})")
            return
        self.add(label, document)

    def add(self, label: str, document: object) -> None:
        record = _record(label, document, self.scope, self.problems)
        if record is None:
            return
        self.records += 1
        when = _timestamp(record.modified)
        if when is not None and (self.newest is None or when > self.newest[0]):
            self.newest = (when, record.modified)
        if record.withdrawn:
            self.withdrawn += 1
            return
        self.pypi += record.pypi
        for project, advisory in record.advisories.items():
            self.advisories.setdefault(project, []).append(advisory)


# ---- the three forms ---------------------------------------------------------------------

def _unreadable(path: Path, why: str) -> InputError:
    return InputError(f"cannot read the OSV database at {path}: {why}.")


_EOCD = struct.Struct("<4s4H2LH")
_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")


def _directory_size(handle: BinaryIO) -> int:
    """The most a zip's directory can make zipfile hold, read from its end records the way
    zipfile finds them: the largest size any of them declares, within the file's size."""
    size = handle.seek(0, os.SEEK_END)
    start = max(0, size - _EOCD.size - 0xFFFF)
    handle.seek(start)
    tail = handle.read()
    at = len(tail) - _EOCD.size
    if not (at >= 0 and tail[at:at + 4] == b"PK\x05\x06" and tail[-2:] == b"\0\0"):
        at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(tail):
        return 0  # no end record: zipfile refuses the file itself
    declared = [_EOCD.unpack_from(tail, at)[5]]
    locator_at = start + at - _LOCATOR.size
    if locator_at >= 0:
        handle.seek(locator_at)
        locator = handle.read(_LOCATOR.size)
        if len(locator) == _LOCATOR.size and locator[:4] == b"PK\x06\x07":
            for offset in (locator_at - _EOCD64.size, _LOCATOR.unpack(locator)[2]):
                if 0 <= offset <= size - _EOCD64.size:
                    handle.seek(offset)
                    record = handle.read(_EOCD64.size)
                    if len(record) == _EOCD64.size and record[:4] == b"PK\x06\x06":
                        declared.append(_EOCD64.unpack(record)[8])
    return min(size, max(declared))


def _zip_documents(path: Path, problems: _Problems) -> Iterator[tuple[str, bytes]]:
    """Each JSON member's bytes, read in memory. A member that fails its CRC or will not
    decompress makes the whole database unreadable: the export is one file written by one
    server, so a damaged member means a damaged download, and every record is then suspect."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise _unreadable(path, f"it cannot be read ({exc.strerror or exc})") from None
    with handle:
        try:
            directory = _directory_size(handle)
        except OSError as exc:
            raise _unreadable(path, f"it cannot be read ({exc.strerror or exc})") from None
        if directory > DIRECTORY_LIMIT:
            raise _unreadable(path, f"its zip directory declares {directory} bytes, over the "
                                    f"{DIRECTORY_LIMIT}-byte limit")
        try:
            archive = zipfile.ZipFile(handle)
        except Exception as exc:  # hostile bytes raise a zoo of types from zipfile
            raise _unreadable(path, f"it is not a readable zip ({_printable(str(exc), 120)})"
                              ) from None
        with archive:
            read = 0
            for info in archive.infolist():
                # Not info.is_dir(): on an empty name (a damaged directory) it raises.
                if not info.filename.lower().endswith(".json"):
                    continue
                label = _label(info.filename)
                if read >= MAX_RECORDS:
                    problems.add(label, f"the zip holds more than {MAX_RECORDS} JSON members; "
                                        "this one and the rest were not read")
                    return
                read += 1
                if info.file_size > MEMBER_LIMIT:
                    problems.add(label, f"declares {info.file_size} bytes, over the "
                                        f"{MEMBER_LIMIT}-byte limit; not read")
                    continue
                try:
                    with archive.open(info) as member:
                        data = member.read(MEMBER_LIMIT + 1)
                except Exception as exc:  # CRC, zlib, lzma, encryption, unknown method, ...
                    raise _unreadable(path, f"its member {label} is damaged "
                                            f"({_printable(str(exc), 120)}); download it again"
                                      ) from None
                if len(data) > MEMBER_LIMIT:
                    problems.add(label, f"inflates past the {MEMBER_LIMIT}-byte limit; not read")
                    continue
                yield label, data


def _read_regular(path: str, limit: int, follow: bool) -> bytes | str:
    """A regular file's bytes within `limit`, or why not. Opened without blocking (a FIFO
    named x.json would wait forever) and, inside a folder, without following a link."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return "it is a symbolic link, not followed"
        except OSError as exc:
            return f"it cannot be read ({exc.strerror or exc})"
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            return "it is not a regular file"
        if info.st_size > limit:
            return f"it is {info.st_size} bytes, over the {limit}-byte limit"
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(descriptor, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            return f"it grew past the {limit}-byte limit while read"
        return b"".join(chunks)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    finally:
        os.close(descriptor)


def _folder_documents(root: Path, problems: _Problems) -> Iterator[tuple[str, bytes]]:
    """Each `*.json` file's bytes under `root`, in a stable order. Symbolic links (to files
    or folders) are not followed: a link could lead anywhere on this machine."""

    def failed(error: OSError) -> None:
        if error.filename is not None and Path(error.filename) == root:
            raise _unreadable(root, f"its folder cannot be listed ({error.strerror or error})")
        where = _label(os.path.relpath(error.filename or "?", root))
        problems.add(where, f"cannot be listed ({error.strerror or error}); "
                            "the records in it were not read")

    read = 0
    for directory, folders, files in os.walk(root, onerror=failed, followlinks=False):
        folders.sort()
        for name in sorted(files):
            if not name.lower().endswith(".json"):
                continue
            full = os.path.join(directory, name)
            label = _label(os.path.relpath(full, root))
            if read >= MAX_RECORDS:
                problems.add(label, f"the folder holds more than {MAX_RECORDS} JSON files; "
                                    "this one and the rest were not read")
                return
            read += 1
            data = _read_regular(full, MEMBER_LIMIT, follow=False)
            if isinstance(data, str):
                problems.add(label, f"{data}; not read")
            else:
                yield label, data


def _file_documents(path: Path, problems: _Problems) -> Iterator[tuple[str, object]]:
    """The one record, or each record of a list, a single JSON file holds."""
    data = _read_regular(str(path), FILE_LIMIT, follow=True)
    if isinstance(data, str):
        raise _unreadable(path, data)
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise _unreadable(path, "it is neither a zip, a folder, nor a JSON file") from None
    label = _label(path.name)
    if isinstance(document, dict):
        yield label, document
        return
    if not isinstance(document, list):
        raise _unreadable(path, "it holds JSON that is neither a record nor a list of records")
    for index, item in enumerate(document):
        if index >= MAX_RECORDS:
            problems.add(label, f"holds more than {MAX_RECORDS} records; the rest were not read")
            return
        yield f"{label}[{index}]", item


def load_database(path: Path, projects: Collection[str] | None = None) -> Database:
    """Read an OSV export. With `projects`, keep only advisories for those (names compare
    canonical), so memory stays small; an audit then refuses to call other projects checked.
    Problems in ranges of projects left out are not looked for."""
    scope = None if projects is None else frozenset(canonicalize_name(p) for p in projects)
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError) as exc:
        raise _unreadable(path, str(getattr(exc, "strerror", None) or exc).lower()) from None
    loader = _Loader(scope)
    if stat.S_ISDIR(mode):
        for label, data in _folder_documents(path, loader.problems):
            loader.add_bytes(label, data)
    elif not stat.S_ISREG(mode):
        raise _unreadable(path, "it is neither a file nor a folder")
    elif zipfile.is_zipfile(path):
        for label, data in _zip_documents(path, loader.problems):
            loader.add_bytes(label, data)
    else:
        for label, document in _file_documents(path, loader.problems):
            loader.add(label, document)
    problems = loader.problems.freeze()
    if not loader.records:
        first = f" (the first of {len(problems)} problems: {problems[0]})" if problems else ""
        raise _unreadable(path, f"it holds no OSV record{first}")
    if not loader.pypi:
        raise _unreadable(path, f"none of its {loader.records} records is a PyPI advisory in "
                                "force; is it osv.dev's PyPI export?")
    return Database(
        source=str(path), records=loader.records, withdrawn=loader.withdrawn,
        newest_modified=loader.newest[1] if loader.newest else None, problems=problems,
        advisories={project: tuple(found) for project, found in loader.advisories.items()},
        pypi_records=loader.pypi, projects=scope)


# ---- matching ----------------------------------------------------------------------------

def _in_range(version: Version, span: _Range) -> bool:
    """The OSV schema's IncludedInRanges for one range, BeforeLimits first."""
    if span.limits and not any(limit is None or version < limit for limit in span.limits):
        return False
    affected = False
    for event in span.events:
        if event.kind == "introduced":
            if event.version is None or version >= event.version:
                affected = True
        elif event.version is not None and (
                (event.kind == "fixed" and version >= event.version)
                or (event.kind == "last_affected" and version > event.version)):
            affected = False
    return affected


def _listed(advisory: _Advisory, version: str, parsed: Version | None,
            parsed_lists: dict[int, frozenset[Version]]) -> bool:
    """Whether `versions` names this version: as written, or as an equal PEP 440 version
    (1.0 == 1.0.0). Lists are parsed only for projects audited, once per audit."""
    if version in advisory.versions:
        return True
    if parsed is None or not advisory.versions:
        return False
    key = id(advisory)
    if key not in parsed_lists:
        parsed_lists[key] = frozenset(v for v in map(_version, advisory.versions) if v)
    return parsed in parsed_lists[key]


def _fixes(advisory: _Advisory, version: Version) -> tuple[bool, list[tuple[Version, str]]]:
    """Whether a range holds this version, and the fixes above it those ranges name."""
    matched = False
    fixes: list[tuple[Version, str]] = []
    for span in advisory.ranges:
        if _in_range(version, span):
            matched = True
            fixes.extend((event.version, event.text) for event in span.events
                         if event.kind == "fixed" and event.version is not None
                         and event.version > version)
    return matched, fixes


def _finding(advisory: _Advisory, project: str, version: str,
             fixes: Iterable[tuple[Version, str]]) -> Finding:
    unique: dict[Version, str] = {}
    for parsed, text in sorted(fixes, key=lambda fix: fix[0]):
        unique.setdefault(parsed, text)
    return Finding(advisory.id, advisory.aliases, project, version, tuple(unique.values()),
                   advisory.summary, advisory.modified)


def audit(database: Database, packages: Iterable[tuple[str, str]]) -> Audit:
    """Check each (name, version) against every record naming its project. A pair is counted
    as checked only when all of them could be evaluated; else it is Unchecked, with why."""
    pairs = sorted({(canonicalize_name(name), version) for name, version in packages},
                   key=lambda pair: (pair[0], _version_order(pair[1])))
    found: dict[tuple[str, str, str], tuple[_Advisory, list[tuple[Version, str]]]] = {}
    unchecked: list[Unchecked] = []
    checked = 0
    parsed_lists: dict[int, frozenset[Version]] = {}
    for project, version in pairs:
        if database.projects is not None and project not in database.projects:
            unchecked.append(Unchecked(project, version, OUT_OF_SCOPE))
            continue
        parsed = _version(version)
        unreadable: set[str] = set()
        for advisory in database.advisories.get(project, ()):
            matched, fixes = _fixes(advisory, parsed) if parsed is not None else (False, [])
            if matched or _listed(advisory, version, parsed, parsed_lists):
                key = (advisory.id, project, version)
                found.setdefault(key, (advisory, []))[1].extend(fixes)
            elif advisory.unusable:
                unreadable.add(advisory.id)
        if parsed is None:
            unchecked.append(Unchecked(project, version, NOT_PEP440))
        elif unreadable:
            named = sorted(unreadable)
            more = f" and {len(named) - 3} more" if len(named) > 3 else ""
            verb = "says" if len(named) == 1 else "say"
            unchecked.append(Unchecked(
                project, version, f"what {', '.join(named[:3])}{more} {verb} of it could not "
                                  "be evaluated (see the database's problems)"))
        else:
            checked += 1
    findings = sorted((_finding(advisory, project, version, fixes)
                       for (_, project, version), (advisory, fixes) in found.items()),
                      key=lambda f: (f.project, _version_order(f.version), f.id))
    return Audit(database, tuple(findings), checked, tuple(unchecked))


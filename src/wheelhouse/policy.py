"""A team's rules about what may enter a wheelhouse, read from a TOML file and enforced
against each file the tool would ship (`prepare --policy`, `verify --policy`).

The file (every key optional; an unknown key is an error, so a typo never silently
disables a rule)::

    deny = ["pyyaml<6", "telnetlib3"]   # PEP 508 names, optionally with version specifiers
    yanked = "forbid"                   # "forbid" | "allow" (default "allow")
    min_age_days = 7                    # cooldown: refuse files uploaded less than N days
                                        # before the reference time (0: no cooldown)
    max_age_days = 1095                 # refuse files uploaded more than N days before it

    [licenses]
    allow = ["MIT", "Apache-2.0"]       # SPDX ids or expressions
    unknown = "deny"                    # "deny" | "allow" (default "deny" when allow is given)

    [sdists]
    build = "forbid"                    # "forbid" | "allow" (default "allow")
    allow = ["python-nvd3"]             # projects that may still be built or shipped as sdists

    [indexes]
    "my-internal-lib" = "https://nexus.example/simple"   # the one index it may come from

Whatever cannot be checked is a violation, never a pass: a file without an upload time
fails the age rules, a license expression that cannot be read fails the license rule, a
version that cannot be compared fails a deny entry with a specifier, and a --find-links
file of a project pinned in [indexes] fails that rule.

The file is a user's, and subjects come from indexes and manifests anyone may edit: loading
refuses anything malformed with one InputError naming the key, and `evaluate` never raises
on any subject's strings.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Union
from urllib.parse import urlsplit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9 and 3.10 only
    import tomli as tomllib

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelhouse.errors import InputError

if TYPE_CHECKING:
    from wheelhouse.manifest import FileEntry

_FILE_LIMIT = 1 << 20  # a policy is a page of TOML; a larger file is not someone's rules
_UNKNOWN = "unknown"  # what wheelhouse.licenses records when no SPDX can be derived

_TOP_KEYS = ("deny", "yanked", "min_age_days", "max_age_days", "licenses", "sdists", "indexes")
_LICENSES_KEYS = ("allow", "unknown")
_SDISTS_KEYS = ("build", "allow")
_BUILT_KINDS = ("sdist", "built-wheel")
_PROJECT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?", re.ASCII)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_DAY_US = 86_400 * 1_000_000
_SHOWN_LIMIT = 200  # an untrusted string quoted in a message is cut here

POLICY_KEYS_HELP = """\
  deny = ["NAME", "NAME<SPEC", ...]    refuse these projects: every version, or the
                                       versions the specifier matches (pre-releases too)
  yanked = "forbid"|"allow"            refuse files yanked from their index (default:
                                       allow)
  min_age_days = N                     refuse files uploaded less than N days before the
                                       reference time (a cooldown; 0: none)
  max_age_days = N                     refuse files uploaded more than N days before it
  [licenses] allow = ["SPDX", ...]     each file's SPDX expression must be satisfied by
                                       these ids (an entry may be an expression, matched
                                       exactly; "X WITH E" is allowed by X)
  [licenses] unknown = "deny"|"allow"  files whose license is unknown (default: deny
                                       when allow is given, else allow)
  [sdists] build = "forbid"|"allow"    refuse building wheels here from sdists, and
                                       shipping sdists (default: allow)
  [sdists] allow = ["NAME", ...]       projects exempt from build = "forbid"
  [indexes] NAME = "URL"               the one index NAME may come from (a guard against
                                       dependency confusion; --find-links files fail)
The reference time is when prepare started, or the manifest's created for verify. What
cannot be checked fails: a file with no upload time breaks the age rules, a license
expression that cannot be read breaks the license rule. An unknown key is an error."""


@dataclass(frozen=True)
class Subject:
    """One file as the policy sees it."""

    filename: str
    name: str
    version: str
    kind: str  # "wheel" | "sdist" | "built-wheel"
    license_spdx: str | None  # canonical SPDX expression, "unknown", or None (not known)
    yanked: bool
    upload_time: str | None  # RFC 3339; None when the index did not say
    index: str | None  # the index URL it came from; None for --find-links files


@dataclass(frozen=True)
class Violation:
    """One broken rule, worded for the person who must decide what to do about it."""

    rule: str
    project: str
    filename: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "project": self.project, "filename": self.filename,
                "message": self.message}


class _Deny(NamedTuple):
    """A deny entry as written (for messages) and as matched."""

    text: str
    name: str
    specifier: SpecifierSet


@dataclass(frozen=True)
class Policy:
    """The rules in force; every rule field's default leaves that rule out."""

    source: str
    sha256: str
    deny: tuple[_Deny, ...] = ()
    yanked: str = "allow"
    min_age_days: int | None = None
    max_age_days: int | None = None
    license_allow: tuple[str, ...] | None = None  # canonical SPDX, as packaging writes it
    license_unknown: str | None = None  # None: "deny" when license_allow is given
    sdist_build: str = "allow"
    sdist_allow: frozenset[str] = frozenset()
    indexes: tuple[tuple[str, str], ...] = ()  # (canonical project, index URL), sorted

    def evaluate(self, subjects: Iterable[Subject], now: datetime) -> list[Violation]:
        """Every violation, sorted by rule, project and file, so reports are stable."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the policy's reference time must be timezone-aware")
        allowed = _allowed_forms(self.license_allow)
        found: list[Violation] = []
        for subject in subjects:
            found.extend(self._check(subject, now, allowed))
        return sorted(found, key=lambda v: (v.rule, v.project, v.filename, v.message))

    def _check(self, subject: Subject, now: datetime,
               allowed: _Allowed | None) -> Iterator[Violation]:
        project = canonicalize_name(subject.name)
        for rule, message in (
                ("deny", _deny_message(self.deny, subject, project)),
                ("licenses", _license_message(allowed, self._unknown(), subject)),
                ("sdists", _sdist_message(self.sdist_build, self.sdist_allow, subject,
                                          project)),
                ("yanked", _yanked_message(self.yanked, subject)),
                ("min_age_days", _min_age_message(self.min_age_days, subject, now)),
                ("max_age_days", _max_age_message(self.max_age_days, subject, now)),
                ("indexes", _index_message(self.indexes, subject, project))):
            if message is not None:
                yield Violation(rule=rule, project=project, filename=subject.filename,
                                message=message)

    def _unknown(self) -> str:
        if self.license_unknown is not None:
            return self.license_unknown
        return "deny" if self.license_allow is not None else "allow"

    def describe(self) -> list[str]:
        """One line per rule in force, in evaluation order, for reports and summaries."""
        lines = []
        if self.deny:
            lines.append("deny: " + ", ".join(entry.text for entry in self.deny))
        if self.license_allow is not None:
            allowed = ", ".join(self.license_allow) or "(nothing)"
            unknown = "denied" if self._unknown() == "deny" else "allowed"
            lines.append(f"licenses: allow {allowed}; unknown licenses {unknown}")
        elif self._unknown() == "deny":
            lines.append("licenses: any known license; unknown licenses denied")
        if self.sdist_build == "forbid":
            exempt = ", ".join(sorted(self.sdist_allow))
            lines.append("sdists: building wheels from sdists and shipping sdists forbidden"
                         + (f", except for {exempt}" if exempt else ""))
        if self.yanked == "forbid":
            lines.append("yanked: yanked files forbidden")
        if self.min_age_days:
            lines.append(f"min_age_days: files uploaded less than {self.min_age_days} days "
                         "before the reference time refused")
        if self.max_age_days is not None:
            lines.append(f"max_age_days: files uploaded more than {self.max_age_days} days "
                         "before the reference time refused")
        if self.indexes:
            lines.append("indexes: " + ", ".join(f"{name} only from {_redacted(url)}"
                                                 for name, url in self.indexes))
        return lines


def load_policy(path: Path) -> Policy:
    """The policy in `path`, or an InputError naming the file and the key at fault."""
    source = str(path)
    try:
        with path.open("rb") as stream:
            data = stream.read(_FILE_LIMIT + 1)
    except OSError as exc:
        raise InputError(f"Policy file {source} cannot be read ({exc.strerror or exc}).") \
            from None
    if len(data) > _FILE_LIMIT:
        raise InputError(f"Policy file {source} is larger than {_FILE_LIMIT >> 20} MiB, "
                         "which no set of rules needs.")
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"Policy file {source} is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"Policy file {source} is not valid TOML ({exc}).") from None
    except RecursionError:
        raise InputError(f"Policy file {source} nests too deeply to be read.") from None
    return _parse(document, source, hashlib.sha256(data).hexdigest())


def _parse(document: dict[str, Any], source: str, sha256: str) -> Policy:
    _no_unknown_keys(document, _TOP_KEYS, source, "")
    licenses = _table(document, "licenses", source)
    sdists = _table(document, "sdists", source)
    _no_unknown_keys(licenses, _LICENSES_KEYS, source, "licenses.")
    _no_unknown_keys(sdists, _SDISTS_KEYS, source, "sdists.")
    min_age = _days(document, "min_age_days", source)
    max_age = _days(document, "max_age_days", source)
    if min_age is not None and max_age is not None and min_age > max_age:
        raise InputError(f"Policy file {source}: min_age_days ({min_age}) is more than "
                         f"max_age_days ({max_age}), so no file could ever pass.")
    allow = licenses.get("allow")
    return Policy(
        source=source, sha256=sha256,
        deny=tuple(_deny_entry(text, source) for text in _strings(document, "deny", source)),
        yanked=_choice(document, "yanked", ("forbid", "allow"), source) or "allow",
        min_age_days=min_age, max_age_days=max_age,
        license_allow=None if allow is None else tuple(
            _license_entry(text, source) for text in _strings(licenses, "allow", source,
                                                              "licenses.")),
        license_unknown=_choice(licenses, "unknown", ("deny", "allow"), source, "licenses."),
        sdist_build=_choice(sdists, "build", ("forbid", "allow"), source, "sdists.")
        or "allow",
        sdist_allow=frozenset(_project(text, source, "sdists.allow")
                              for text in _strings(sdists, "allow", source, "sdists.")),
        indexes=_indexes(_table(document, "indexes", source), source),
    )


def _no_unknown_keys(table: dict[str, Any], known: tuple[str, ...], source: str,
                     prefix: str) -> None:
    unknown = sorted(key for key in table if key not in known)
    if unknown:
        names = ", ".join(_plain(prefix + key) for key in unknown)
        raise InputError(f"Policy file {source}: unknown key{'s' if len(unknown) > 1 else ''}"
                         f" {names} (known: {', '.join(prefix + key for key in known)}).")


def _table(document: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise InputError(f"Policy file {source}: {key} must be a table ([{key}]).")
    return value


def _strings(table: dict[str, Any], key: str, source: str, prefix: str = "") -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(f"Policy file {source}: {prefix}{key} must be a list of strings.")
    return value


def _choice(table: dict[str, Any], key: str, choices: tuple[str, ...], source: str,
            prefix: str = "") -> str | None:
    value = table.get(key)
    if value is None or (isinstance(value, str) and value in choices):
        return value
    options = " or ".join(f'"{choice}"' for choice in choices)
    raise InputError(f"Policy file {source}: {prefix}{key} must be {options}, "
                     f"not {_shown(value)}.")


def _days(table: dict[str, Any], key: str, source: str) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"Policy file {source}: {key} must be a whole number of days, "
                         f"0 or more, not {_shown(value)}.")
    return value


def _deny_entry(text: str, source: str) -> _Deny:
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        raise InputError(f"Policy file {source}: deny entry {_shown(text)} is not a project "
                         "name with an optional version specifier.") from None
    if requirement.marker is not None or requirement.extras or requirement.url:
        raise InputError(f"Policy file {source}: deny entry {_shown(text)} may only name a "
                         "project and versions, without markers, extras or URLs.")
    return _Deny(text=text, name=canonicalize_name(requirement.name),
                     specifier=requirement.specifier)


def _license_entry(text: str, source: str) -> str:
    try:
        canonical = str(canonicalize_license_expression(text))
        _parse_spdx(canonical)
    except (InvalidLicenseExpression, _Unreadable, ValueError, RecursionError):
        raise InputError(f"Policy file {source}: licenses.allow entry {_shown(text)} is not "
                         "a valid SPDX license expression.") from None
    return canonical


def _project(text: str, source: str, key: str) -> str:
    if not _PROJECT_NAME.fullmatch(text):
        raise InputError(f"Policy file {source}: {key} names {_shown(text)}, which is not "
                         "a valid project name.")
    return canonicalize_name(text)


def _indexes(table: dict[str, Any], source: str) -> tuple[tuple[str, str], ...]:
    pinned: dict[str, str] = {}
    for name, url in table.items():
        project = _project(name, source, "[indexes]")
        if project in pinned:
            raise InputError(f"Policy file {source}: [indexes] names {project} twice.")
        if not isinstance(url, str) or _index_key(url) is None \
                or urlsplit(url).scheme.lower() not in _DEFAULT_PORTS:
            raise InputError(f"Policy file {source}: indexes.{name} must be an http(s) "
                             f"index URL, not {_shown(url)}.")
        pinned[project] = url.rstrip("/")
    return tuple(sorted(pinned.items()))


# --- the rules: each returns its message for one subject, or None ------------------------


def _deny_message(deny: tuple[_Deny, ...], subject: Subject,
                  project: str) -> str | None:
    matched = [entry for entry in deny if entry.name == project]
    if not matched:
        return None
    version = _version(subject.version)
    hits = [entry.text for entry in matched
            if not entry.specifier
            or (version is not None and entry.specifier.contains(version, prereleases=True))]
    if hits:
        entries = ", ".join(_shown(text) for text in hits)
        return (f"{subject.filename}: {project} {_plain(subject.version)} is denied by the "
                f"policy's deny entry {entries}.")
    if version is None:
        entries = ", ".join(_shown(entry.text) for entry in matched)
        return (f"{subject.filename}: version {_shown(subject.version)} of {project} cannot "
                f"be compared with the policy's deny entry {entries}, so it is not cleared.")
    return None


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _license_message(allowed: _Allowed | None, unknown: str,
                     subject: Subject) -> str | None:
    spdx = subject.license_spdx
    if allowed is None and unknown == "allow":
        return None
    if spdx is None or spdx == _UNKNOWN:
        if unknown == "allow":
            return None
        return (f"{subject.filename}: its license is unknown, and the policy's "
                'licenses.unknown is "deny".')
    try:
        tree = _parse_spdx(spdx)
    except _Unreadable:
        return (f"{subject.filename}: its license expression {_shown(spdx)} cannot be read, "
                "so the policy's licenses rule cannot clear it.")
    if allowed is None or _is_allowed(tree, allowed):
        return None
    return (f"{subject.filename}: its license {_shown(spdx)} is not allowed by the policy's "
            "licenses.allow.")


def _sdist_message(build: str, exempt: frozenset[str], subject: Subject,
                   project: str) -> str | None:
    if build != "forbid" or subject.kind not in _BUILT_KINDS or project in exempt:
        return None
    what = "is an sdist" if subject.kind == "sdist" else "was built here from an sdist"
    return (f'{subject.filename} {what}, and the policy\'s sdists.build is "forbid" '
            f"({project} is not in sdists.allow).")


def _yanked_message(yanked: str, subject: Subject) -> str | None:
    if yanked != "forbid" or not subject.yanked:
        return None
    return (f"{subject.filename} is yanked from its index, and the policy's yanked is "
            '"forbid".')


def _min_age_message(days: int | None, subject: Subject, now: datetime) -> str | None:
    if not days:  # 0: no cooldown, nothing to check
        return None
    age = _age(subject, now, f"the {days}-day cooldown (min_age_days)")
    if isinstance(age, str):
        return age
    if age >= days * _DAY_US:
        return None
    return (f"{subject.filename} was uploaded {_shown(subject.upload_time)}, "
            f"{_span(age)} the reference time {_iso(now)}, less than the policy's "
            f"min_age_days of {days}.")


def _max_age_message(days: int | None, subject: Subject, now: datetime) -> str | None:
    if days is None:
        return None
    age = _age(subject, now, f"the {days}-day maximum age (max_age_days)")
    if isinstance(age, str):
        return age
    if age <= days * _DAY_US:
        return None
    return (f"{subject.filename} was uploaded {_shown(subject.upload_time)}, "
            f"{_span(age)} the reference time {_iso(now)}, more than the policy's "
            f"max_age_days of {days}.")


def _age(subject: Subject, now: datetime, rule: str) -> int | str:
    """The subject's age in microseconds, exactly, or the message saying why it is unknown."""
    if subject.upload_time is None:
        return (f"{subject.filename} has no upload time from its index, so {rule} cannot "
                "be checked.")
    uploaded = _parse_rfc3339(subject.upload_time)
    if uploaded is not None:
        try:
            delta = now - uploaded
        except OverflowError:
            pass
        else:
            return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return (f"{subject.filename} has upload time {_shown(subject.upload_time)}, which is not "
            f"an RFC 3339 time, so {rule} cannot be checked.")


def _span(micros: int) -> str:
    hours = abs(micros) // 3_600_000_000
    days, hours = divmod(hours, 24)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    if hours or not days:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}" if hours
                     else "less than an hour")
    return " ".join(parts) + (" before" if micros >= 0 else " after")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _index_message(pinned: tuple[tuple[str, str], ...], subject: Subject,
                   project: str) -> str | None:
    wanted = dict(pinned).get(project)
    if wanted is None:
        return None
    if subject.index is None:
        return (f"{subject.filename} came from a --find-links folder, not an index, but the "
                f"policy says {project} comes only from {_redacted(wanted)}.")
    key = _index_key(subject.index)
    if key is not None and key == _index_key(wanted):
        return None
    return (f"{subject.filename} came from {_plain(_redacted(subject.index))}, but the policy "
            f"says {project} comes only from {_redacted(wanted)}: a public package with an "
            "internal name.")


def _index_key(url: str) -> tuple[str, str, int | None, str, str] | None:
    """What makes two index URLs the same index: scheme and host in any case, default ports
    implied, the path exact but for trailing slashes; credentials and fragments aside."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not scheme or not host:
        return None
    if port == _DEFAULT_PORTS.get(scheme):
        port = None
    return scheme, host.lower(), port, parts.path.rstrip("/"), parts.query


def _redacted(url: str) -> str:
    """The URL without user:password@, so a report never carries an index's credentials."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@", r"\1", url)


def _shown(value: object) -> str:
    """An untrusted value quoted for one line of a message: escaped, and cut if long."""
    text = str(value)
    if len(text) > _SHOWN_LIMIT:
        text = text[:_SHOWN_LIMIT] + "…"
    return '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


def _plain(value: str) -> str:
    """A URL or version as it is when it is one plain word, else quoted by _shown."""
    if _PLAIN.fullmatch(value) and len(value) <= _SHOWN_LIMIT:
        return value
    return _shown(value)


_PLAIN = re.compile(r"[A-Za-z0-9][!-~]*", re.ASCII)  # printable ASCII, no space or quote first


# --- RFC 3339 ------------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))")


def _parse_rfc3339(text: str) -> datetime | None:
    """The aware time `text` states, or None. Any number of fractional digits (PyPI sends
    three, others six or none), which Python 3.9's fromisoformat would refuse; a time with
    no offset is refused, since its moment is unknown."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(group) for group in match.groups()[:6])
    fraction, zulu, sign, offset_hours, offset_minutes = match.groups()[6:]
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        if zulu:
            zone = timezone.utc
        else:
            if int(offset_hours) > 23 or int(offset_minutes) > 59:
                return None
            offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
            zone = timezone(-offset if sign == "-" else offset)
        return datetime(year, month, day, hour, minute, second, micros, tzinfo=zone)
    except (ValueError, OverflowError):
        return None


# --- SPDX expressions ----------------------------------------------------------------------

_EXPRESSION_LIMIT = 4000  # real expressions are far shorter; beyond, don't parse at all
_DEPTH_LIMIT = 50
_TOKEN = re.compile(r"\s*(?:([()])|([^\s()]+))", re.ASCII)
_LICENSE_ID = re.compile(r"(?:DocumentRef-[A-Za-z0-9.-]+:)?[A-Za-z0-9.-]+\+?", re.ASCII)
_EXCEPTION_ID = re.compile(r"(?:DocumentRef-[A-Za-z0-9.-]+:)?[A-Za-z0-9.-]+", re.ASCII)
_OPERATORS = ("and", "or", "with")


class _Unreadable(ValueError):
    """An expression that is not SPDX: it can never be allowed."""


class _Leaf(NamedTuple):
    license: str  # lower-cased: SPDX ids match case-insensitively
    exception: str | None


class _Node(NamedTuple):
    operator: str  # "and" | "or"
    operands: tuple[_Tree, ...]


_Tree = Union[_Leaf, _Node]


def _parse_spdx(expression: str) -> _Tree:
    """A small recursive descent over SPDX's grammar: OR binds loosest, then AND, then
    WITH; operators in any case, as packaging accepts them."""
    if len(expression) > _EXPRESSION_LIMIT:
        raise _Unreadable(expression)
    tokens = _tokens(expression)
    tree, position = _parse_or(tokens, 0, 0)
    if position != len(tokens):
        raise _Unreadable(expression)
    return tree


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    stripped = expression.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None:  # pragma: no cover - every non-space character starts a token
            raise _Unreadable(expression)
        tokens.append(match.group(1) or match.group(2))
        position = match.end()
    return tokens


def _parse_or(tokens: list[str], position: int, depth: int) -> tuple[_Tree, int]:
    return _parse_operator(tokens, position, depth, "or")


def _parse_operator(tokens: list[str], position: int, depth: int,
                    operator: str) -> tuple[_Tree, int]:
    parse_operand = _parse_and if operator == "or" else _parse_with
    operand, position = parse_operand(tokens, position, depth)
    operands = [operand]
    while position < len(tokens) and tokens[position].lower() == operator:
        operand, position = parse_operand(tokens, position + 1, depth)
        operands.append(operand)
    return (operands[0] if len(operands) == 1 else _node(operator, operands)), position


def _parse_and(tokens: list[str], position: int, depth: int) -> tuple[_Tree, int]:
    return _parse_operator(tokens, position, depth, "and")


def _parse_with(tokens: list[str], position: int, depth: int) -> tuple[_Tree, int]:
    if position >= len(tokens):
        raise _Unreadable("expression ends too early")
    token = tokens[position]
    if token == "(":
        if depth >= _DEPTH_LIMIT:
            raise _Unreadable("nested too deeply")
        tree, position = _parse_or(tokens, position + 1, depth + 1)
        if position >= len(tokens) or tokens[position] != ")":
            raise _Unreadable("unbalanced parentheses")
        return tree, position + 1
    if token.lower() in _OPERATORS or not _LICENSE_ID.fullmatch(token):
        raise _Unreadable(token)
    position += 1
    if position < len(tokens) and tokens[position].lower() == "with":
        if position + 1 >= len(tokens):
            raise _Unreadable("WITH without an exception")
        exception = tokens[position + 1]
        if exception.lower() in _OPERATORS or not _EXCEPTION_ID.fullmatch(exception):
            raise _Unreadable(exception)
        return _Leaf(token.lower(), exception.lower()), position + 2
    return _Leaf(token.lower(), None), position


def _node(operator: str, operands: list[_Tree]) -> _Node:
    """AND and OR are associative and commutative: flattened and sorted, `A OR B` and
    `B OR (A)` are one expression, so an allow entry matches however it is written."""
    flat: list[_Tree] = []
    for operand in operands:
        if isinstance(operand, _Node) and operand.operator == operator:
            flat.extend(operand.operands)
        else:
            flat.append(operand)
    unique = {_form(operand): operand for operand in flat}
    return _Node(operator, tuple(unique[form] for form in sorted(unique)))


def _form(tree: _Tree) -> str:
    """The normal form an allow entry is matched against."""
    if isinstance(tree, _Leaf):
        return tree.license if tree.exception is None \
            else f"{tree.license} with {tree.exception}"
    return f" {tree.operator} ".join(
        _form(operand) if isinstance(operand, _Leaf) else f"({_form(operand)})"
        for operand in tree.operands)


class _Allowed(NamedTuple):
    """licenses.allow, ready to match: each entry's normal form, and each AND or OR entry's
    operands, so an entry also matches inside a larger AND or OR."""

    forms: frozenset[str]
    groups: tuple[tuple[str, frozenset[str]], ...]


def _allowed_forms(allow: tuple[str, ...] | None) -> _Allowed | None:
    if allow is None:
        return None
    forms, groups = set(), []
    for entry in allow:
        try:
            tree = _parse_spdx(entry)
        except _Unreadable:  # a Policy built by hand with a bad entry: it allows nothing
            continue
        forms.add(_form(tree))
        if isinstance(tree, _Node):
            groups.append((tree.operator, frozenset(_form(part) for part in tree.operands)))
    return _Allowed(frozenset(forms), tuple(groups))


def _is_allowed(tree: _Tree, allowed: _Allowed) -> bool:
    """True when the licenses allowed satisfy the expression: an exact allow entry, either
    side of an OR, both sides of an AND, and `X WITH E` by itself or by X. An AND entry
    covers its operands within a larger AND (`A AND B` allows `A AND B AND C` when C is
    allowed); an OR entry allows any OR that offers all of its choices."""
    if _form(tree) in allowed.forms:
        return True
    if isinstance(tree, _Leaf):
        return tree.exception is not None and tree.license in allowed.forms
    parts = {_form(operand): operand for operand in tree.operands}
    covered: set[str] = set()
    for operator, group in allowed.groups:
        if operator == tree.operator and group <= set(parts):
            covered |= group
    if tree.operator == "or":
        return bool(covered) or any(_is_allowed(part, allowed) for part in parts.values())
    return all(form in covered or _is_allowed(part, allowed) for form, part in parts.items())


def subjects_of(entries: Iterable[FileEntry]) -> list[Subject]:
    """A manifest's files as the policy sees them (prepare's, before it writes them; verify's,
    as recorded)."""
    return [Subject(filename=e.filename, name=e.name, version=e.version, kind=e.kind,
                    license_spdx=None if e.license_facts is None else e.license_facts.spdx,
                    yanked=e.yanked, upload_time=e.upload_time, index=e.index)
            for e in entries]


def parse_created(text: str) -> datetime:
    """The time a manifest's `created` names, the reference for the age rules; ValueError
    for anything else."""
    when = _parse_rfc3339(text)
    if when is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    return when

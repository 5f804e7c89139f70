"""`prepare -r FILE`: specs one a line, the hashed locks pip-compile and uv write, and
`pylock.toml` (PEP 751).

A lock given as input is a promise about bytes: each pin carries the sha256 digests of the
files it was locked with. Those pins become exact requirements, and every file the folder
ships for them must carry one of those digests (`Hashes`), as pip's hash-checking mode
demands. Includes (`-r`, `-c`) are read relative to the file that names them, as pip does;
any other pip option in a file is refused with its line, since wheelhouse would otherwise
ignore what it says.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import sys
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9 and 3.10 only
    import tomli as tomllib

from packaging.markers import Marker
from packaging.pylock import Pylock, PylockValidationError, is_valid_pylock_path
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelhouse.errors import InputError
from wheelhouse.manifest import FileEntry
from wheelhouse.target import MarkerError, Target

# pip's comment rule: a '#' at the start of a line or after whitespace.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Where files come from: a lock records them, but wheelhouse takes them from its own flags.
_SOURCE_OPTIONS = frozenset({"-i", "--index-url", "--extra-index-url", "-f", "--find-links",
                             "--trusted-host", "--no-index"})
# More includes than this is a loop no stack check caught, or a hostile file.
_MAX_FILES = 1000


@dataclass(frozen=True)
class Hashes:
    """The sha256 digests a lock allows for one project version, and where it says so."""

    allowed: frozenset[str]
    where: str  # "locks/app.txt, line 12"


@dataclass(frozen=True)
class LockScope:
    """What a pylock.toml says it is for: checked against every target before any work."""

    path: Path
    environments: tuple[Marker, ...]
    requires_python: SpecifierSet | None

    def refuse_unfit(self, target: Target) -> None:
        python = Version(target.python_full_version)
        if self.requires_python is not None and not self.requires_python.contains(
                python, prereleases=True):
            raise InputError(f"{self.path} locks for Python {self.requires_python}, but "
                             f"{target.name} is Python {target.python_full_version}.")
        try:
            fits = not self.environments or any(target.judge(m) for m in self.environments)
        except MarkerError as exc:
            raise InputError(f"{self.path}: an environment marker {exc}.") from None
        if not fits:
            shown = "; ".join(str(m) for m in self.environments)
            raise InputError(f"{self.path} is not locked for {target.name}: none of its "
                             f"environments holds there ({shown}).")


@dataclass
class RequirementFiles:
    """Everything the -r files say: specs, the hashes of their pins, and the constraints
    they include."""

    specs: list[tuple[str, str]] = field(default_factory=list)  # (spec, "-r FILE")
    hashes: dict[tuple[str, Version], Hashes] = field(default_factory=dict)
    constraints: list[str] = field(default_factory=list)  # sources named by -c lines
    scopes: list[LockScope] = field(default_factory=list)
    read: dict[str, str] = field(default_factory=dict)  # every file read -> its sha256

    def by_project(self) -> dict[str, dict[Version, Hashes]]:
        """The hashes, per project then version: what the sources filter files with."""
        found: dict[str, dict[Version, Hashes]] = {}
        for (name, version), hashes in self.hashes.items():
            found.setdefault(name, {})[version] = hashes
        return found

    def _allow(self, name: str, version: Version, hashes: Hashes) -> None:
        """Two files hashing one pin: only a digest both allow is allowed."""
        key = (canonicalize_name(name), version)
        seen = self.hashes.get(key)
        if seen is not None:
            common = seen.allowed & hashes.allowed
            if not common:
                raise InputError(f"{seen.where} and {hashes.where} allow no common sha256 for "
                                 f"{key[0]} {version}.")
            hashes = Hashes(common, seen.where)
        self.hashes[key] = hashes


def read_requirement_files(paths: list[Path]) -> RequirementFiles:
    """Every -r file, and every file it includes, read in order."""
    found = RequirementFiles()
    for path in paths:
        _read(path, found, ())
    return found


def _read(path: Path, found: RequirementFiles, including: tuple[Path, ...]) -> None:
    resolved = path.resolve()
    if resolved in including:
        raise InputError(f"{path} includes itself (through {' -> '.join(map(str, including))}).")
    if len(found.read) >= _MAX_FILES:
        raise InputError(f"{path}: more than {_MAX_FILES} requirement files are included.")
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError(f"requirements file {path} is a folder.") from None
    except OSError as exc:
        raise InputError(f"cannot read requirements file {path}: {exc.strerror}.") from None
    found.read[str(path)] = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"requirements file {path} is not UTF-8 text (byte {exc.start}).") \
            from None
    if is_valid_pylock_path(path) or path.suffix == ".toml":
        _read_pylock(path, text, found)
        return
    for number, line in _logical_lines(text):
        _read_line(path, number, line, found, (*including, resolved))


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines joined where one ends in a backslash, comments removed, blanks dropped; each
    with the number of its first line (pip's rules, so that a lock reads as pip reads it)."""
    found: list[tuple[int, str]] = []
    parts: list[str] = []
    first = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            first = number
        if raw.endswith("\\") and not _COMMENT.match(raw):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        line = _COMMENT.sub("", " ".join(parts)).strip()
        parts = []
        if line:
            found.append((first, line))
    if parts and (line := _COMMENT.sub("", " ".join(parts)).strip()):
        found.append((first, line))
    return found


def _read_line(path: Path, number: int, line: str, found: RequirementFiles,
               including: tuple[Path, ...]) -> None:
    where = f"{path}, line {number}"
    if line.startswith("-"):
        _read_option(path, where, line, found, including)
        return
    tokens = line.split(" ")
    split = next((i for i, token in enumerate(tokens) if token.startswith("-")), len(tokens))
    spec = " ".join(tokens[:split]).strip()
    digests = _hash_options(where, " ".join(tokens[split:]))
    found.specs.append((spec, f"-r {path}"))
    if digests is None:
        return
    try:
        requirement = Requirement(spec)
    except InvalidRequirement as exc:
        raise InputError(f"{where}: {spec!r} is not a valid requirement "
                         f"({str(exc).splitlines()[0]}).") from None
    version = _exact_version(requirement)
    if version is None:
        raise InputError(f"{where}: {spec!r} has --hash but does not pin one version: a hashed "
                         "requirement must be name==version, as in pip's hash-checking mode.")
    found._allow(requirement.name, version, Hashes(digests, where))


def _read_option(path: Path, where: str, line: str, found: RequirementFiles,
                 including: tuple[Path, ...]) -> None:
    """-r and -c, with their value after a space, an '=' or nothing; any other option is
    refused, naming it."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise InputError(f"{where}: {line!r} cannot be read ({exc}).") from None
    option, value = words[0], " ".join(words[1:])
    for short, long in (("-r", "--requirement"), ("-c", "--constraint")):
        if option == long or option.startswith(long + "="):
            value = option[len(long) + 1:] or value
        elif option.startswith(short):
            value = option[len(short):].lstrip("=") or value
        else:
            continue
        if not value:
            raise InputError(f"{where}: {option} names no file.")
        _include(path, where, short, value, found, including)
        return
    name = option.split("=")[0]
    hint = ""
    if name in _SOURCE_OPTIONS:
        hint = (" (pip-compile copies it from pip's configuration; its --no-emit-index-url, "
                "--no-emit-find-links and --no-emit-trusted-host leave it out)")
    raise InputError(f"{where}: the pip option {name!r} is not supported in a requirements "
                     "file (only -r, -c and --hash are): give wheelhouse's own option on the "
                     f"command line (-i, --extra-index-url, -f), or remove the line{hint}.")


def _include(path: Path, where: str, flag: str, value: str, found: RequirementFiles,
             including: tuple[Path, ...]) -> None:
    remote = urlsplit(value).scheme in ("http", "https")
    if flag == "-c":
        found.constraints.append(value if remote else str(path.parent / value))
        return
    if remote:
        raise InputError(f"{where}: -r {value}: a requirements file must be local (download "
                         "it and name the file).")
    _read(path.parent / value, found, including)


def _hash_options(where: str, text: str) -> frozenset[str] | None:
    """The sha256 digests of a requirement's --hash options; None when it has none."""
    if not text.strip():
        return None
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InputError(f"{where}: {text!r} cannot be read ({exc}).") from None
    digests: set[str] = set()
    others: set[str] = set()
    pending = False
    for word in words:
        if pending:
            value, pending = word, False
        elif word == "--hash":
            pending = True
            continue
        elif word.startswith("--hash="):
            value = word[len("--hash="):]
        else:
            raise InputError(f"{where}: the option {word.split('=')[0]!r} is not supported on "
                             "a requirement (only --hash is).")
        algorithm, _, digest = value.partition(":")
        if algorithm != "sha256":
            others.add(algorithm)
        elif _SHA256.fullmatch(digest):
            digests.add(digest)
        else:
            raise InputError(f"{where}: --hash={value} is not a sha256 digest (64 lowercase "
                             "hex digits).")
    if pending:
        raise InputError(f"{where}: --hash names no digest.")
    if not digests:
        raise InputError(f"{where}: only {', '.join(sorted(others))} digests are given; the "
                         "index publishes sha256, and wheelhouse checks files against it: give "
                         "--hash=sha256:... lines.")
    return frozenset(digests)


def _exact_version(requirement: Requirement) -> Version | None:
    specs = list(requirement.specifier)
    if len(specs) != 1 or specs[0].operator not in ("==", "===") \
            or specs[0].version.endswith(".*"):
        return None
    try:
        return Version(specs[0].version)
    except InvalidVersion:
        return None


def _read_pylock(path: Path, text: str, found: RequirementFiles) -> None:
    """A PEP 751 lock: each package from an index becomes name==version (with its marker),
    and its wheels' and sdist's sha256 the hashes its file must match."""
    try:
        pylock = Pylock.from_dict(tomllib.loads(text))
        pylock.validate()
    except (tomllib.TOMLDecodeError, PylockValidationError, TypeError, ValueError) as exc:
        raise InputError(f"{path} is not a valid PEP 751 lock ({exc}).") from None
    found.scopes.append(LockScope(path, tuple(pylock.environments or ()),
                                  pylock.requires_python))
    for number, package in enumerate(pylock.packages, start=1):
        where = f"{path}, package {number} ({package.name})"
        source = ("vcs" if package.vcs else "directory" if package.directory
                  else "archive" if package.archive else None)
        if source is not None or package.version is None:
            raise InputError(f"{where} comes from a {source or 'source with no version'}; "
                             "wheelhouse takes packages from an index: lock it from one.")
        spec = f"{package.name}=={package.version}"
        if package.marker is not None:
            spec += f" ; {package.marker}"
        found.specs.append((spec, f"-r {path}"))
        digests = [wheel.hashes for wheel in package.wheels or ()]
        if package.sdist is not None:
            digests.append(package.sdist.hashes)
        allowed = frozenset(d["sha256"] for d in digests if "sha256" in d)
        if not allowed:
            raise InputError(f"{where} gives no sha256 for its files; wheelhouse checks files "
                             "against sha256 digests.")
        key = (canonicalize_name(package.name), package.version)
        seen = found.hashes.get(key)  # one version under two markers: either file serves
        found.hashes[key] = Hashes(allowed | (seen.allowed if seen else frozenset()), where)


def hashes_for(hashes: Mapping[tuple[str, Version], Hashes], name: str,
               version: str) -> Hashes | None:
    """The hashes a lock gives for one pin, if any."""
    try:
        return hashes.get((canonicalize_name(name), Version(version)))
    except InvalidVersion:
        return None


def refuse_unhashed(entries: Iterable[FileEntry], files: RequirementFiles,
                    tools: Collection[str] = ()) -> None:
    """Hash-checking, as pip does it: every shipped file (a built wheel: its sdist) carries a
    digest the lock allows for its pin, and every pin is hashed. Exempt are the build
    requirements of shipped sdists and the `tools` prepare adds for the image itself, which a
    lock of the user's requirements does not list. Every fault is named at once."""
    wrong: list[str] = []
    unhashed: set[str] = set()
    for entry in entries:
        hashes = hashes_for(files.hashes, entry.name, entry.version)
        if hashes is None:
            if entry.role != "build" and canonicalize_name(entry.name) not in tools:
                unhashed.add(f"{entry.name} {entry.version}")
            continue
        filename, sha256 = ((entry.sdist.filename, entry.sdist.sha256) if entry.sdist
                            else (entry.filename, entry.sha256))
        if sha256 not in hashes.allowed:
            wrong.append(f"{filename} has sha256 {sha256}, but {hashes.where} allows only "
                         f"{', '.join(sorted(hashes.allowed))}")
    if wrong:
        raise InputError(f"{len(wrong)} file(s) do not match the hashes of the lock: "
                         + "; ".join(wrong) + ". No file the index serves for the target "
                         "carries a hash the lock allows: a lock made for another platform lists "
                         "other files (lock for this target), and a file whose bytes changed "
                         "since it was locked is a reason to stop and find out why.")
    if unhashed:
        raise InputError(f"{len(unhashed)} pinned project(s) have no hash in "
                         f"{', '.join(files.read)}: {', '.join(sorted(unhashed))}. With hashes, "
                         "every pin must be hashed (pip's hash-checking mode): lock them too, "
                         "for this target, or give the requirements without --hash.")

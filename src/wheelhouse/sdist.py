"""What an sdist needs to be built and what it says about itself, read from the archive
without running any of its code: its PEP 518 build requirements, the metadata it states
reliably (PEP 643, PEP 621), and whether its wheel would be platform-specific.

The archive is someone else's: only its listing and a few small top-level files are read,
each within a limit, and a damaged or hostile one gives an InputError, nothing else.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import re
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9 and 3.10 only
    import tomli as tomllib

import pkginfo
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelhouse.errors import InputError
from wheelhouse.index import name_and_version
from wheelhouse.wheelfile import Metadata, _license, metadata_of

# PEP 517's fallback when pyproject.toml declares no build system.
LEGACY_REQUIRES = ["setuptools>=40.8.0"]
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"

# PKG-INFO, pyproject.toml and setup.py are kilobytes; a larger one is not held whole.
MEMBER_LIMIT = 1 << 20
# numpy's sdist has about 3,000 members: an archive is not listed past this many...
MEMBERS_LIMIT = 200_000
# ...nor past this much of its inflated tar stream (numpy's: about 100 MiB), so a small
# compressed bomb costs seconds, not minutes.
STREAM_LIMIT = 4 << 30
# tarfile reads a pax or GNU long-name header whole, and a hostile one can claim gigabytes.
READ_LIMIT = 16 << 20
# What a damaged or hostile archive raises while it is listed or read (tarfile and zipfile
# pass on their decompressors' errors, and zipfile refuses encrypted or unknown members).
_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, zlib.error,
                   lzma.LZMAError, NotImplementedError, RuntimeError, ValueError)
# What a parser may raise on someone else's bytes (UnicodeDecodeError, TOMLDecodeError,
# InvalidRequirement and InvalidVersion are ValueErrors; tomllib recurses on nesting).
_PARSE_ERRORS = (ValueError, RecursionError)
# PEP 643: the fields a resolver needs; any of them in Dynamic means only the backend knows.
_NEEDED_PKG_INFO = {"requires-dist", "requires-python", "provides-extra"}
_NEEDED_PROJECT = {"name", "version", "dependencies", "optional-dependencies",
                   "requires-python"}
_EXTRA = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # a PEP 685 normalized extra name


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
    except RecursionError:
        raise InputError(f"{path.name}: pyproject.toml nests too deeply to be read.") from None
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
    data = _top_files(path, {"pyproject.toml"}).get("pyproject.toml")
    if data is not None and len(data) > MEMBER_LIMIT:
        raise InputError(f"{path.name}: its pyproject.toml is larger than "
                         f"{MEMBER_LIMIT >> 20} MiB.")
    return data


def static_metadata(path: Path) -> Metadata | None:
    """The metadata the sdist at `path` states reliably, without running its backend: its
    PKG-INFO where PEP 643 says the fields a resolver needs are not dynamic, else its
    pyproject.toml's [project] table where they are static (as uv reads them); else None,
    and only the backend's metadata hook can say. Metadata of another project or version
    than the filename's is None too: the hook decides. An unreadable archive is an
    InputError."""
    found = _top_files(path, {"PKG-INFO", "pyproject.toml"})
    expected = name_and_version(path.name)
    if expected is None:
        return None
    for read, member in ((_from_pkg_info, "PKG-INFO"), (_from_project, "pyproject.toml")):
        data = found.get(member)
        if data is None or len(data) > MEMBER_LIMIT:
            continue
        try:
            metadata = read(data)
        except _PARSE_ERRORS:
            metadata = None
        if metadata is not None:
            return metadata if _is_of(metadata, expected[0], expected[1]) else None
    return None


def stated_metadata(path: Path) -> Metadata | None:
    """What the sdist's PKG-INFO says, whatever its Metadata-Version or dynamic fields: for a
    review (licenses, authors), not for resolving. None when it has no readable PKG-INFO of
    the project and version its filename names. An unreadable archive is an InputError."""
    expected = name_and_version(path.name)
    data = _top_files(path, {"PKG-INFO"}).get("PKG-INFO")
    if expected is None or data is None or len(data) > MEMBER_LIMIT:
        return None
    dist = pkginfo.Distribution()
    try:
        dist.parse(data)
    except _PARSE_ERRORS:
        return None
    if not dist.name or not dist.version:
        return None
    metadata = metadata_of(dist)
    return metadata if _is_of(metadata, expected[0], expected[1]) else None


def _is_of(metadata: Metadata, name: str, version: Version) -> bool:
    """Whether the metadata is of the project and version its filename says."""
    try:
        return canonicalize_name(metadata.name) == name and Version(metadata.version) == version
    except InvalidVersion:
        return False


def _from_pkg_info(data: bytes) -> Metadata | None:
    """PKG-INFO's fields, if it is Metadata-Version 2.2 or later and none we need is
    dynamic (before 2.2, PKG-INFO need not match what the backend builds)."""
    dist = pkginfo.Distribution()
    dist.parse(data)
    dynamic = getattr(dist, "dynamic", None)  # a pkginfo that predates PEP 643 cannot tell
    if dynamic is None or not dist.name or not dist.version:
        return None
    if Version(dist.metadata_version or "0") < Version("2.2"):
        return None
    if {str(field).strip().lower() for field in dynamic} & _NEEDED_PKG_INFO:
        return None
    return metadata_of(dist)


def _from_project(data: bytes) -> Metadata | None:
    """PEP 621's [project] table, if its name, version and every field a resolver needs are
    static; its optional dependencies written as METADATA holds them."""
    document = tomllib.loads(data.decode("utf-8"))
    project = document.get("project")
    if not isinstance(project, dict):
        return None
    dynamic = project.get("dynamic", [])
    if not isinstance(dynamic, list) or _NEEDED_PROJECT & {
            item for item in dynamic if isinstance(item, str)}:
        return None
    name, version, python = project.get("name"), project.get("version"), project.get(
        "requires-python")
    if not isinstance(name, str) or not isinstance(version, str) or not isinstance(
            python, (str, type(None))):
        return None
    tool = document.get("tool")
    if "dependencies" not in project and isinstance(tool, dict) and "poetry" in tool:
        return None  # Poetry 1 ignores [project]: its dependencies are in [tool.poetry]
    requires = _requirements(project.get("dependencies", []))
    groups = project.get("optional-dependencies", {})
    if requires is None or not isinstance(groups, dict):
        return None
    extras = []
    for group, needs in groups.items():
        extra, parsed = canonicalize_name(group), _requirements(needs)
        if parsed is None or not _EXTRA.fullmatch(extra):
            return None
        extras.append(extra)
        requires += [_with_extra(item, extra) for item in parsed]
    return Metadata(
        name=name,
        version=version,
        requires_dist=tuple(str(item) for item in requires),
        requires_python=python or None,
        provides_extra=tuple(extras),
        license=_project_license(project),
    )


def _requirements(items: object) -> list[Requirement] | None:
    """A list of PEP 508 strings, parsed; None if it is not one."""
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        return None
    try:
        return [Requirement(item) for item in items]
    except InvalidRequirement:
        return None


def _with_extra(requirement: Requirement, extra: str) -> Requirement:
    """`req; extra == "x"`, or `req; (marker) and extra == "x"`: as METADATA says it."""
    marker = f'extra == "{extra}"'
    if requirement.marker is not None:
        marker = f"({requirement.marker}) and {marker}"
    bare = Requirement(str(requirement))
    bare.marker = None
    return Requirement(f"{bare}; {marker}")


def _project_license(project: dict[str, Any]) -> str | None:
    """[project]'s license as wheelfile._license reads it from METADATA: a string is an SPDX
    expression (PEP 639), a table's `text` the License field; else a license classifier."""
    value, classifiers = project.get("license"), project.get("classifiers")
    text = value.get("text") if isinstance(value, dict) else None
    fields = pkginfo.Distribution()
    fields.license_expression = value if isinstance(value, str) else None
    fields.license = text if isinstance(text, str) else None
    fields.classifiers = [item for item in classifiers if isinstance(item, str)] if (
        isinstance(classifiers, list) and "classifiers" not in project.get("dynamic", [])
    ) else []
    return _license(fields)


# Backends whose business is compiling extensions (by the module's first part).
_NATIVE_BACKENDS = {"mesonpy", "maturin", "scikit_build_core", "py_build_cmake"}
# What a compiler or a native toolchain builds, by kind (headers alone compile nothing).
_SOURCES = {
    ".c": "C/C++", ".cc": "C/C++", ".cpp": "C/C++", ".cxx": "C/C++", ".pyx": "Cython",
    ".rs": "Rust", ".f": "Fortran", ".f90": "Fortran", ".go": "Go", ".cu": "CUDA",
}
_BUILD_FILES = {"Cargo.toml", "meson.build", "CMakeLists.txt"}
# Folders whose files are test data, examples or documentation, not built (pygments' sdist
# holds example sources of every language, and its wheel is pure).
_NOT_BUILT = {"test", "tests", "testing", "testdata", "example", "examples", "doc", "docs",
              "benchmarks", "fixtures"}
# What a setup.py says when it builds extensions, with how the message names it.
_SETUP_WORDS = (("ext_modules", "ext_modules"), ("rust_extensions", "rust_extensions"),
                ("cffi_modules", "cffi_modules"), ("Extension(", "an Extension"))


def native_evidence(path: Path) -> str | None:
    """Why the sdist at `path` would build a platform-specific wheel, in a few words for an
    error message ("its build backend is mesonpy"); None if nothing in it says so. Only its
    listing and its top-level pyproject.toml and setup.py are read (nothing is extracted);
    an unreadable archive is an InputError."""
    found = _top_files(path, {"pyproject.toml", "setup.py"})
    document = _toml(found.get("pyproject.toml"))
    system = document.get("build-system")
    system = system if isinstance(system, dict) else {}
    backend = system.get("build-backend")
    if isinstance(backend, str) and (re.split(r"[.:]", backend)[0] in _NATIVE_BACKENDS
                                     or "cmake" in backend.lower()):
        return f"its build backend is {backend}"
    requires = system.get("requires")
    if isinstance(requires, list) and "setuptools-rust" in {
            _requirement_name(text) for text in requires}:
        return "its build requirements name setuptools-rust"
    tool = document.get("tool")
    setuptools = tool.get("setuptools") if isinstance(tool, dict) else None
    if isinstance(setuptools, dict) and setuptools.get("ext-modules"):
        return "its pyproject.toml declares tool.setuptools.ext-modules"
    evidence = _native_members(path)
    if evidence is not None:
        return evidence
    setup = found.get("setup.py")
    if setup is not None:
        text = setup[:MEMBER_LIMIT].decode("utf-8", "replace")
        for word, said in _SETUP_WORDS:
            if word in text:
                return f"its setup.py declares {said}"
    return None


def _toml(data: bytes | None) -> dict[str, Any]:
    """A TOML document; an empty one if there is none or it cannot be read."""
    if data is None or len(data) > MEMBER_LIMIT:
        return {}
    try:
        return tomllib.loads(data.decode("utf-8"))
    except _PARSE_ERRORS:
        return {}


def _requirement_name(text: object) -> str | None:
    try:
        return canonicalize_name(Requirement(text).name) if isinstance(text, str) else None
    except InvalidRequirement:
        return None


def _native_members(path: Path) -> str | None:
    """Native sources, or a native build's own file, anywhere outside test and doc folders."""
    sources: dict[str, list[str]] = {}
    build_files: list[str] = []
    for name in _member_names(path):
        parts = PurePosixPath(name).parts[1:]  # inside NAME-VERSION/
        if not parts or _NOT_BUILT & {part.lower() for part in parts[:-1]}:
            continue
        kind = _SOURCES.get(PurePosixPath(parts[-1]).suffix.lower())
        if kind is not None:
            sources.setdefault(kind, []).append("/".join(parts))
        elif parts[-1] in _BUILD_FILES:
            build_files.append("/".join(parts))
    if sources:
        every = [name for names in sources.values() for name in names]
        more = f" and {len(every) - 1} more" if len(every) > 1 else ""
        kinds = list(sources)
        said = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
        return f"it holds {said} sources ({every[0]}{more})"
    if build_files:
        return f"it holds {build_files[0]}"
    return None


def _member_names(path: Path) -> list[str]:
    """The names of the archive's files (no folders, no links), at most MEMBERS_LIMIT."""
    try:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                return [info.filename for info in archive.infolist()[:MEMBERS_LIMIT]
                        if not info.is_dir()]
        with _open_tar(path) as archive:
            return [member.name for member in _tar_members(archive) if member.isfile()]
    except _ARCHIVE_ERRORS as exc:
        raise InputError(f"{path.name} is not a readable sdist ({exc}).") from None


def _top_files(path: Path, wanted: set[str]) -> dict[str, bytes]:
    """The first top-level file (`NAME-VERSION/FILE`) of each wanted name, each read to at
    most MEMBER_LIMIT + 1 bytes (so a caller can tell a larger one); absent ones left out."""
    found: dict[str, bytes] = {}
    try:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist()[:MEMBERS_LIMIT]:
                    base = _top_level(info.filename)
                    if base in wanted and base not in found and not info.is_dir():
                        with archive.open(info) as handle:
                            found[base] = handle.read(MEMBER_LIMIT + 1)
            return found
        with _open_tar(path) as archive:
            for member in _tar_members(archive):
                base = _top_level(member.name)
                if base in wanted and base not in found and member.isfile():
                    content = archive.extractfile(member)
                    found[base] = content.read(MEMBER_LIMIT + 1) if content else b""
                    if found.keys() == wanted:
                        break
    except _ARCHIVE_ERRORS as exc:
        raise InputError(f"{path.name} is not a readable sdist ({exc}).") from None
    return found


def _top_level(name: str) -> str | None:
    """`FILE` of a member `NAME-VERSION/FILE`, else None."""
    return name.split("/", 1)[1] if name.count("/") == 1 else None


@contextlib.contextmanager
def _open_tar(path: Path) -> Iterator[tarfile.TarFile]:
    """The tar archive (plain, gzip, bzip2 or xz), read through a stream that refuses any
    one read over READ_LIMIT."""
    with path.open("rb") as raw:
        magic = raw.read(6)
        raw.seek(0)
        inflate = _DECOMPRESSORS.get(magic[:3], _DECOMPRESSORS.get(magic[:6]))
        with contextlib.ExitStack() as stack:
            stream = stack.enter_context(inflate(raw)) if inflate else raw
            yield stack.enter_context(tarfile.TarFile(fileobj=_Capped(stream)))


_DECOMPRESSORS: dict[bytes, Callable[[IO[bytes]], Any]] = {
    b"\x1f\x8b\x08": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    b"BZh": bz2.BZ2File,
    b"\xfd7zXZ\x00": lzma.LZMAFile,
}


class _Capped(io.RawIOBase):
    """A file object for tarfile that passes on reads of at most READ_LIMIT."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self.stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > READ_LIMIT:
            raise tarfile.ReadError(f"a header or read of over {READ_LIMIT >> 20} MiB")
        return self.stream.read(size)

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()


def _tar_members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The archive's members one by one, at most MEMBERS_LIMIT and no further than
    STREAM_LIMIT into it; none is kept (tarfile would keep a listing of millions)."""
    for _ in range(MEMBERS_LIMIT):
        member = archive.next()
        if member is None or member.offset_data + member.size > STREAM_LIMIT:
            return
        archive.members = []  # type: ignore[attr-defined]
        yield member

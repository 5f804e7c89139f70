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
from installer.utils import parse_wheel_filename
from packaging.utils import canonicalize_name
from pkginfo.distribution import NewMetadataVersion, UnknownMetadataVersion

from wheelhouse.errors import InputError
from wheelhouse.files import CHUNK

# pkginfo warns about metadata versions newer than it knows; the fields we read are stable.
warnings.filterwarnings("ignore", category=NewMetadataVersion)
warnings.filterwarnings("ignore", category=UnknownMetadataVersion)


# A reader holds these whole; real ones are kilobytes (a large RECORD: a few MiB).
METADATA_LIMIT = 16 << 20
RECORD_LIMIT = 64 << 20
# What a wheel's members may inflate to, in all, by its zip directory (zipfile never reads
# past a member's declared size). Checking RECORD inflates every member, so this bounds the
# time a zip bomb costs (about 1 s a GiB); the largest real wheels inflate to a few GiB.
INFLATED_LIMIT = 16 << 30


@dataclass(frozen=True)
class Metadata:
    """The core metadata fields a resolver and a security review need."""

    name: str
    version: str
    requires_dist: tuple[str, ...]
    requires_python: str | None
    provides_extra: tuple[str, ...]
    license: str | None
    # What a review reads (licenses, the SBOM): as declared, filled from a file's METADATA.
    license_expression: str | None = None
    license_text: str | None = None
    classifiers: tuple[str, ...] = ()  # the License :: ones
    author: str | None = None
    maintainer: str | None = None
    summary: str | None = None


def read_metadata(path: Path) -> Metadata:
    """Read METADATA from a wheel prepare is to ship; a file that is no wheel, or one verify
    would reject for its structure, is an error naming it."""
    try:
        with zipfile.ZipFile(path) as archive:
            problems = structural_problems(archive, path.name)
            if problems:
                raise InputError(f"{path.name} cannot be shipped: "
                                 + " ".join(message for _, message in problems[:3]))
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
        problems, metadata_readable = _checked(archive, path.name)
        result.problems += problems
        if not metadata_readable:
            return  # already reported: not read
        try:
            result.metadata = metadata_from_zip(archive, path.name)
        except InputError as exc:
            result.problems.append(("metadata", str(exc)))


def shipping_problems(path: Path) -> list[str]:
    """Why verify would reject this wheel (structure, limits, RECORD), for prepare to refuse
    it before it ships; none for a sound wheel."""
    try:
        with zipfile.ZipFile(path) as archive:
            problems, _ = _checked(archive, path.name)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"{path.name} is not a valid zip file ({exc})."]
    return [message for _, message in problems]


def _checked(archive: zipfile.ZipFile, filename: str) -> tuple[list[tuple[str, str]], bool]:
    """Verify's wheel checks, in one order for prepare and verify: the structure, then RECORD
    unless a limit forbids reading it. Also says whether METADATA may then be read."""
    problems = structural_problems(archive, filename)
    over = over_limits(archive, filename)
    if over.keys() & {"record", "inflated"}:
        return problems, False  # nothing more is read from this wheel
    record = record_problems(archive, filename)
    readable = "metadata" not in over and not any(check == "zip" for check, _ in record)
    return problems + record, readable


def record_problems(archive: zipfile.ZipFile, filename: str) -> list[tuple[str, str]]:
    """Every member's hash and size against RECORD (installer's check, which streams each
    member: memory stays flat, time is bounded by INFLATED_LIMIT)."""
    dist_info, problem = _dist_info(archive, filename)
    if problem:
        return [("record", problem)]
    try:
        WheelFile(archive).validate_record(validate_contents=True)
    except ValueError as exc:  # installer's validation errors are ValueErrors
        if exc.__cause__ is not None:  # RECORD itself could not be read: say why in words
            return [("record", _unreadable_record(filename, dist_info, exc.__cause__))]
        issues = getattr(exc, "issues", None) or [str(exc)]
        return [("record", issue.replace(str(archive.filename), filename)) for issue in issues]
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
        return [("zip", f"{filename} cannot be read ({exc}).")]
    return []


def _dist_info(archive: zipfile.ZipFile, filename: str) -> tuple[str, str | None]:
    """The wheel's .dist-info folder, and what is wrong with it (None when nothing is), as
    installer judges it: one folder at the top, named for the project the file name says,
    holding a RECORD."""
    try:
        wheel_name = parse_wheel_filename(filename)
    except ValueError:
        return "", None  # installer names the file name it cannot read
    expected = f"{wheel_name.distribution}-{wheel_name.version}.dist-info"
    found = sorted({name.split("/", 1)[0] for name in archive.namelist()
                    if name.split("/", 1)[0].endswith(".dist-info")})
    if not found:
        return "", (f"{filename} has no .dist-info folder (a wheel keeps its METADATA and "
                    f"RECORD in {expected}/), so its files cannot be checked.")
    if len(found) > 1:
        return "", (f"{filename} has {len(found)} .dist-info folders ({', '.join(found)}), "
                    f"not one ({expected}/), so installers refuse it.")
    (dist_info,) = found
    named = dist_info.rsplit("-", 2)[0]
    if canonicalize_name(named) != canonicalize_name(wheel_name.distribution):
        return dist_info, (f"{filename}: its .dist-info folder {dist_info}/ is named for "
                           f"{named}, not for {wheel_name.distribution} as the file name says "
                           f"({expected}/), so installers refuse it.")
    if f"{dist_info}/RECORD" not in archive.NameToInfo:
        return dist_info, (f"{filename} has no {dist_info}/RECORD (the list of its files and "
                           "their hashes), so its files cannot be checked.")
    return dist_info, None


def _unreadable_record(filename: str, dist_info: str, cause: BaseException) -> str:
    """Why installer could not read RECORD, in words (it quotes the exception's repr)."""
    record = f"{dist_info}/RECORD" if dist_info else "its RECORD"
    if isinstance(cause, UnicodeDecodeError):
        return f"{filename}: {record} is not UTF-8 text (byte {cause.start})."
    issues = getattr(cause, "issues", None)
    if isinstance(issues, list) and issues:
        said = [re.sub(r"^Row Index (\d+): expected 3 elements, got (\d+)$",
                       lambda m: f"line {int(m[1]) + 1} has {m[2]} fields, not 3", str(issue))
                for issue in issues]
        return f"{filename}: {record} cannot be read ({'; '.join(said)})."
    if isinstance(cause, (zipfile.BadZipFile, OSError, EOFError, KeyError)):
        return f"{filename}: {record} cannot be inflated from the zip ({_words(cause)})."
    return f"{filename}: {record} cannot be read ({_words(cause)})."


def _words(exc: BaseException) -> str:
    """An exception's message, or what it is when its message is empty or a repr."""
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    text = text.strip().rstrip(".")
    if not text or re.search(r"[A-Z]\w+(Error|Exception)\(|<\w|object at 0x|\b_\w+\(", text):
        return "it is damaged"
    return text


def structural_problems(archive: zipfile.ZipFile, filename: str) -> list[tuple[str, str]]:
    """What makes a wheel unsafe to install or to read, from its directory alone (cheap:
    prepare checks it for every wheel it ships, verify for every wheel in the folder):
    members that escape the install folder, links, duplicate names, more to inflate than a
    reader should hold or spend time on."""
    problems = []
    seen: set[str] = set()
    for info in archive.infolist():
        name = info.filename
        if _unsafe(name):
            problems.append(("member-path", f"{filename} has a member {name!r} that would be "
                             "written outside the install folder."))
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(("member-path", f"{filename} has a member {name!r} that is a "
                             "symbolic link."))
        if name in seen:
            problems.append(("zip", f"{filename} has the member {name!r} twice."))
        seen.add(name)
    for limit, message in over_limits(archive, filename).items():
        problems.append(("zip" if limit == "inflated" else limit, message))
    return problems


def over_limits(archive: zipfile.ZipFile, filename: str) -> dict[str, str]:
    """Which limits the wheel's zip directory says it exceeds ("metadata", "record",
    "inflated"), each with its message."""
    over = {}
    total = 0
    for info in archive.infolist():
        total += info.file_size
        name = info.filename
        if name.count("/") == 1 and name.endswith((".dist-info/METADATA", ".dist-info/RECORD")):
            kind = "metadata" if name.endswith("METADATA") else "record"
            limit = METADATA_LIMIT if kind == "metadata" else RECORD_LIMIT
            if info.file_size > limit:
                over[kind] = (f"{filename}: {name} inflates to {info.file_size} bytes, more "
                              f"than the {limit >> 20} MiB a reader holds.")
    if total > INFLATED_LIMIT:
        over["inflated"] = (f"{filename}: its members inflate to {total} bytes, more than "
                            f"the {INFLATED_LIMIT >> 30} GiB a wheel may (a zip bomb?); it is "
                            "not inflated.")
    return over


def metadata_from_zip(archive: zipfile.ZipFile, filename: str) -> Metadata:
    """METADATA from the wheel's own .dist-info, parsed by pkginfo."""
    info = metadata_member(archive, filename)
    if info.file_size > METADATA_LIMIT:
        raise InputError(f"{filename}: its METADATA is larger than {METADATA_LIMIT >> 20} MiB.")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        # zipfile inflates bzip2 and lzma with no bound on each step; wheels use neither.
        raise InputError(f"{filename}: its METADATA is compressed with zip method "
                         f"{info.compress_type}, not stored or deflated as wheels are.")
    try:
        # Asked for its declared size: zipfile then inflates no more than that (a read of
        # "everything" inflates up to 1 GiB a step before cutting it to the declared size).
        with archive.open(info) as member:
            data = member.read(info.file_size)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(f"{filename}: METADATA cannot be read ({exc}).") from None
    return metadata_from_bytes(data, filename)


def metadata_member(archive: zipfile.ZipFile, filename: str) -> zipfile.ZipInfo:
    """The wheel's one .dist-info/METADATA member (a wheel with none, or several, is an
    error naming it)."""
    names = [n for n in archive.namelist()
             if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if len(names) != 1:
        raise InputError(f"{filename} has {len(names)} .dist-info/METADATA files, not one.")
    return archive.getinfo(names[0])


def metadata_from_bytes(data: bytes, filename: str) -> Metadata:
    """A METADATA file's fields, parsed by pkginfo: from a wheel, or as an index serves it
    beside the wheel (PEP 658)."""
    dist = pkginfo.Distribution()
    dist.parse(data)
    if not dist.name or not dist.version:
        raise InputError(f"{filename} has no Name or Version in its METADATA.")
    return metadata_of(dist)


def metadata_of(dist: pkginfo.Distribution) -> Metadata:
    """The fields wheelhouse uses, from metadata pkginfo parsed (a wheel's or an sdist's);
    the caller has checked it has a name and a version."""
    return Metadata(
        name=dist.name or "",
        version=dist.version or "",
        requires_dist=tuple(dist.requires_dist or ()),
        requires_python=dist.requires_python or None,
        provides_extra=tuple(dist.provides_extras or ()),
        license=_license(dist),
        license_expression=_field(getattr(dist, "license_expression", None)),
        license_text=_field(dist.license),
        classifiers=tuple(c for c in dist.classifiers or () if c.startswith("License ::")),
        author=_person(dist.author, dist.author_email),
        maintainer=_person(dist.maintainer, dist.maintainer_email),
        summary=_field(dist.summary),
    )


def _field(value: object) -> str | None:
    """A METADATA field's text, or None for an empty one or pkginfo's "UNKNOWN"."""
    if not isinstance(value, str) or not value.strip() or value.strip() == "UNKNOWN":
        return None
    return value


def _person(name: object, email: object) -> str | None:
    """Author and Author-email as one display string: "name <email>" (or either alone);
    Author-email may already carry both ("Jane <jane@example.org>")."""
    name, email = _field(name), _field(email)
    if name and email and name not in email:
        return f"{name.strip()} <{email.strip()}>"
    return (email or name or "").strip() or None


def _unsafe(member: str) -> bool:
    """An absolute path, a drive letter or a `..` step: a member that escapes its folder."""
    name = member.replace("\\", "/")
    return name.startswith("/") or re.match(r"^[A-Za-z]:", name) is not None or (
        ".." in name.split("/"))

"""The manifest (`wheelhouse.json`): what a security team reads, diffs and signs.

`Manifest` is the one model of that file: prepare builds one and `write`s it; every reader
(verify, build-args, re-runs, scripts) gets one from `Manifest.load`, which validates the
document once. A manifest travels with the folder and may have been edited by anyone, so
`load` checks every key a reader relies on, and checks that every name it gives is a plain
file name inside the folder. What it cannot use it reports as `problems` (verify's
`manifest` check); what makes the document unusable (not JSON, an unknown schema, no list
of files, an unreadable target) is an InputError naming the file.

Written with sorted keys and a stable order, so two runs on the same inputs differ only in
`created`, and `load` followed by `write` gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

from wheelhouse import layout
from wheelhouse.errors import InputError
from wheelhouse.files import write_atomic
from wheelhouse.index import parse_filename
from wheelhouse.licenses import LicenseFacts
from wheelhouse.target import Target, target_from_description

SCHEMA = 1
Kind = Literal["wheel", "sdist", "built-wheel"]
# install: in the lock; image: an sdist the Airflow image builds; build: its build needs
Role = Literal["install", "image", "build"]
KINDS: tuple[Kind, ...] = get_args(Kind)
ROLES: tuple[Role, ...] = get_args(Role)
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class SdistOrigin:
    """The sdist a wheel was built from here, as the index published it."""

    filename: str
    sha256: str
    index_sha256: str | None
    size: int
    url: str

    def to_json(self) -> dict[str, Any]:
        return {"filename": self.filename, "sha256": self.sha256,
                "index_sha256": self.index_sha256, "size": self.size, "url": self.url}


@dataclass(frozen=True)
class BuildInput:
    """One distribution installed into a build's isolated environment."""

    name: str
    version: str
    filename: str
    sha256: str | None
    url: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "filename": self.filename,
                "sha256": self.sha256, "url": self.url}


@dataclass(frozen=True)
class BuildRecord:
    """How a wheel was built here: what a reviewer needs to rebuild it and compare."""

    python: str  # the interpreter that built it: "cpython 3.11.9"
    frontend: str  # "pip 25.3"
    backend: str  # build-system.build-backend
    requires: tuple[BuildInput, ...]  # every distribution in the build environment
    source_date_epoch: str
    # Two builds gave the same bytes (True) or not (False); None: built once (prepare
    # --check-reproducible builds twice).
    reproducible: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {"python": self.python, "frontend": self.frontend, "backend": self.backend,
                "requires": [item.to_json() for item in self.requires],
                "source_date_epoch": self.source_date_epoch,
                "reproducible": self.reproducible}

    @classmethod
    def from_json(cls, raw: object) -> BuildRecord | None:
        """A record read back (from a manifest or the build cache), or None if unusable."""
        if not isinstance(raw, dict) or not isinstance(raw.get("requires"), list):
            return None
        requires = []
        for item in raw["requires"]:
            if not isinstance(item, dict):
                return None
            requires.append(BuildInput(
                name=_text(item.get("name")) or "", version=_text(item.get("version")) or "",
                filename=_text(item.get("filename")) or "", sha256=_text(item.get("sha256")),
                url=_text(item.get("url")) or ""))
        reproducible = raw.get("reproducible")
        return cls(python=_text(raw.get("python")) or "",
                   frontend=_text(raw.get("frontend")) or "",
                   backend=_text(raw.get("backend")) or "", requires=tuple(requires),
                   source_date_epoch=_text(raw.get("source_date_epoch")) or "",
                   reproducible=reproducible if isinstance(reproducible, bool) else None)


@dataclass(frozen=True)
class FileEntry:
    """One file of the wheelhouse as the manifest lists it."""

    filename: str
    name: str
    version: str
    sha256: str
    size: int
    url: str
    index_sha256: str | None
    kind: Kind
    tags: tuple[str, ...]
    requires_python: str | None
    license: str | None
    required_by: tuple[str, ...]
    extras: tuple[str, ...] = ()
    index: str | None = None
    yanked: bool = False
    sdist: SdistOrigin | None = None
    targets: tuple[str, ...] = ()
    role: Role = "install"
    build: BuildRecord | None = None  # a built-wheel: how it was built
    upload_time: str | None = None  # when the index received it (PEP 700), if it says
    # The license the file declares (PEP 639's order), and an SPDX expression or "unknown".
    license_facts: LicenseFacts | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "filename": self.filename,
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "size": self.size,
            "url": self.url,
            "index": self.index,
            "index_sha256": self.index_sha256,
            "kind": self.kind,
            "tags": list(self.tags),
            "requires_python": self.requires_python,
            "license": self.license,
            "required_by": list(self.required_by),
            "extras": list(self.extras),
            "yanked": self.yanked,
            "targets": list(self.targets),
            "role": self.role,
            "upload_time": self.upload_time,
            "license_spdx": None if self.license_facts is None else self.license_facts.spdx,
            "license_declared": None if self.license_facts is None else {
                key: value for key, value in self.license_facts.to_json().items()
                if key != "spdx"},
        }
        if self.sdist is not None:
            data["sdist"] = self.sdist.to_json()
        if self.build is not None:
            data["build"] = self.build.to_json()
        return data


@dataclass(frozen=True)
class ConstraintsRecord:
    """Where a constraints file came from, and the name of its verbatim copy in the folder."""

    source: str
    url: str | None
    path: str | None
    sha256: str
    size: int
    etag: str | None
    last_modified: str | None
    pins: int
    filename: str
    generated: bool = False  # written by prepare from its resolution: none were given
    # Several -c sources merged into this file: each one's own record.
    merged_from: tuple[ConstraintsRecord, ...] = ()

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"source": self.source, "url": self.url, "path": self.path,
                                    "sha256": self.sha256, "size": self.size,
                                    "etag": self.etag, "last_modified": self.last_modified,
                                    "pins": self.pins, "filename": self.filename,
                                    "generated": self.generated}
        if self.merged_from:
            document["merged_from"] = [item.to_json() for item in self.merged_from]
        return document


@dataclass(frozen=True)
class AirflowRecord:
    """What the folder holds for Airflow's image: its version, tools, pip.conf, constraints."""

    version: str
    pip_conf: str
    image_tools: dict[str, str | None]
    constraints_mode: str | None
    constraints_files: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "pip_conf": self.pip_conf,
                "image_tools": dict(self.image_tools),
                "constraints_mode": self.constraints_mode,
                "constraints_files": list(self.constraints_files)}


@dataclass(frozen=True)
class ExtendRecord:
    """prepare --extend: the folder extends Airflow's released image (wheelhouse dockerfile)."""

    airflow: str  # the release the image holds, pinned in the lock
    base: str | None  # apache/airflow:X-pythonY; None when the folder serves several Pythons

    def to_json(self) -> dict[str, Any]:
        return {"airflow": self.airflow, "base": self.base}


@dataclass(frozen=True)
class RerunRecord:
    """What recognizes a re-run with nothing to do (rerun.py)."""

    inputs_sha256: str
    files_sha256: dict[str, str]
    warnings: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"inputs_sha256": self.inputs_sha256,
                "files_sha256": dict(sorted(self.files_sha256.items())),
                "warnings": list(self.warnings)}


@dataclass(frozen=True)
class Problem:
    """A part of the manifest that cannot be used: a finding of verify's `manifest` check."""

    message: str
    key: str
    file: str = layout.MANIFEST
    expected: str | None = None
    found: str | None = None


@dataclass(frozen=True)
class Manifest:
    """`wheelhouse.json`, typed."""

    tool_version: str
    created: str
    requirements: tuple[str, ...]
    constraints: ConstraintsRecord | None
    targets: tuple[Target, ...]
    index_urls: tuple[str, ...]
    find_links: tuple[str, ...]
    files: tuple[FileEntry, ...]
    lock: str | None = layout.LOCK
    locks: dict[str, str] = field(default_factory=dict)
    constraints_by_python: dict[str, ConstraintsRecord] | None = None
    airflow: AirflowRecord | None = None
    rerun: RerunRecord | None = None
    # prepare --osv: the audit of the pins against an OSV export (osv.Audit.to_json()).
    audit: dict[str, Any] | None = field(default=None, compare=False)
    # prepare --policy: the policy file the folder was held to ({"source", "sha256"}).
    policy: dict[str, Any] | None = field(default=None, compare=False)
    # prepare -r LOCK with hashes: the files read ({path: sha256}) and the files held to them.
    hashed_input: dict[str, Any] | None = field(default=None, compare=False)
    # Where each index came from ({url, password hidden: "--index-url", "PIP_INDEX_URL",
    # "/etc/pip.conf [global]", "WHEELHOUSE_INDEX_URL", "default"}).
    index_origin: dict[str, str] | None = field(default=None, compare=False)
    # prepare --extend: the released image the folder extends.
    extend: ExtendRecord | None = None
    tool_name: str = "wheelhouse"
    # What load could not use; never written.
    problems: tuple[Problem, ...] = field(default=(), compare=False)

    # -- reading --------------------------------------------------------------------------

    @classmethod
    def load(cls, folder: Path) -> Manifest | None:
        """The manifest in `folder`, or None when there is none."""
        found = cls.read(folder)
        return found[0] if found else None

    @classmethod
    def read(cls, folder: Path) -> tuple[Manifest, bytes] | None:
        """The manifest in `folder` and the bytes it was parsed from (read once: what is
        hashed and what signatures are checked against is what was checked), or None."""
        path = folder / layout.MANIFEST
        if not path.exists() and not path.is_symlink():
            return None
        if not path.is_file():
            raise InputError(f"{path} is not a file.")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}.") from None
        return cls.parse(data, str(path)), data

    @classmethod
    def parse(cls, data: bytes, path: str = layout.MANIFEST) -> Manifest:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path} is not UTF-8 text.") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
        return cls.from_json(document, str(path))

    @classmethod
    def from_json(cls, document: object, where: str = layout.MANIFEST) -> Manifest:
        if not isinstance(document, dict) or document.get("schema") != SCHEMA:
            found = document.get("schema") if isinstance(document, dict) else \
                type(document).__name__
            raise InputError(f"{where} is not a wheelhouse manifest of a known schema "
                             f"(schema {found!r}; this wheelhouse reads schema {SCHEMA}).")
        if not isinstance(document.get("files"), list):
            raise InputError(f"{where} has no list of files.")
        reader = _Reader()
        tool = reader.get(document, "tool", dict, {})
        targets = reader.get(document, "targets", list, [])
        try:
            parsed_targets = tuple(target_from_description(t) for t in targets)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        files = tuple(entry for number, raw in enumerate(document["files"])
                      if (entry := reader.file_entry(raw, number)) is not None)
        by_python = reader.get(document, "constraints_by_python", dict, None)
        return cls(
            tool_name=str(tool.get("name", "wheelhouse")),
            tool_version=str(tool.get("version", "")),
            created=reader.get(document, "created", str, ""),
            requirements=tuple(reader.strings(document, "requirements")),
            constraints=reader.constraints(document.get("constraints"), "constraints"),
            targets=parsed_targets,
            index_urls=tuple(reader.strings(document, "index_urls")),
            find_links=tuple(reader.strings(document, "find_links", required=False)),
            files=files,
            lock=reader.name(document.get("lock"), "lock", optional=True),
            locks=reader.locks(document.get("locks")),
            constraints_by_python=None if by_python is None else {
                str(python): record for python, raw in by_python.items()
                if (record := reader.constraints(raw, f"constraints_by_python.{python}"))
            },
            airflow=reader.airflow(document.get("airflow")),
            rerun=reader.rerun(document.get("rerun")),
            audit=reader.get(document, "audit", dict, None),
            policy=reader.get(document, "policy", dict, None),
            hashed_input=reader.get(document, "hashed_input", dict, None),
            index_origin=reader.get(document, "index_origin", dict, None),
            extend=reader.extend(document.get("extend")),
            problems=tuple(reader.problems),
        )

    # -- writing --------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "schema": SCHEMA,
            "tool": {"name": self.tool_name, "version": self.tool_version},
            "created": self.created,
            "requirements": list(self.requirements),
            "constraints": None if self.constraints is None else self.constraints.to_json(),
            "targets": [target.describe() for target in self.targets],
            "index_urls": list(self.index_urls),
            "find_links": list(self.find_links),
            "lock": self.lock,
            "locks": dict(sorted(self.locks.items())),
            "files": [f.to_json() for f in sorted(self.files, key=lambda f: f.filename)],
        }
        if self.airflow is not None:
            document["airflow"] = self.airflow.to_json()
        if self.constraints_by_python is not None:
            document["constraints_by_python"] = {
                python: record.to_json() for python, record in self.constraints_by_python.items()
            }
        if self.rerun is not None:
            document["rerun"] = self.rerun.to_json()
        if self.audit is not None:
            document["audit"] = self.audit
        if self.policy is not None:
            document["policy"] = self.policy
        if self.hashed_input is not None:
            document["hashed_input"] = self.hashed_input
        if self.index_origin is not None:
            document["index_origin"] = self.index_origin
        if self.extend is not None:
            document["extend"] = self.extend.to_json()
        return document

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def write(self, folder: Path) -> None:
        """Atomically: a reader sees the old manifest or the new one, never half of one."""
        write_atomic(folder / layout.MANIFEST, self.dumps().encode())

    # -- what the folder holds ------------------------------------------------------------

    @property
    def target_names(self) -> list[str]:
        return [target.name for target in self.targets]

    def entries_for(self, target_name: str) -> list[FileEntry]:
        return [entry for entry in self.files if target_name in entry.targets]

    def lock_names(self) -> dict[str, str]:
        """Each target's lock (a manifest of one target may name only `lock`)."""
        if self.locks:
            return dict(self.locks)
        if self.lock and len(self.targets) <= 1:
            return {name: self.lock for name in self.target_names} or {"": self.lock}
        return {}

    def constraints_files(self) -> dict[str, str]:
        """The verbatim constraints copy for each target Python."""
        found = {python: record.filename
                 for python, record in (self.constraints_by_python or {}).items()}
        if self.constraints is not None and not found:
            for target in self.targets:
                found[target.python] = self.constraints.filename
        return found

    def written(self) -> set[str]:
        """The files prepare wrote beside the distributions (names relative to the folder)."""
        names = {layout.MANIFEST, *self.lock_names().values(), *self.constraints_files().values()}
        if self.constraints is not None:
            names.add(self.constraints.filename)
        if self.airflow is not None:
            names |= {self.airflow.pip_conf, *self.airflow.constraints_files}
        if self.rerun is not None:
            names |= set(self.rerun.files_sha256)
        return names

    def owned(self) -> set[str]:
        """Everything this tool put in the folder: ours to reuse, replace or remove."""
        return {entry.filename for entry in self.files} | self.written()

    def accounted(self) -> set[str]:
        """What may be in the folder: what it owns, the sdists its built wheels came from
        (kept for the index-digest check), the manifest's signatures, and files whose entries
        could not be read (their problem is reported instead)."""
        sdists = {entry.sdist.filename for entry in self.files if entry.sdist is not None}
        unreadable = {p.file for p in self.problems if p.file != layout.MANIFEST}
        return self.owned() | sdists | unreadable | {layout.SIGNATURES}


class _Reader:
    """Pulls typed values out of untrusted JSON, noting each one it cannot use."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, message: str, key: str, file: str = layout.MANIFEST,
                expected: str | None = None, found: object = None) -> None:
        shown = None if found is None else (found if isinstance(found, str) else
                                            type(found).__name__)
        self.problems.append(Problem(message, key, file, expected, shown))

    def get(self, data: Mapping[str, Any], key: str, kind: type, default: Any,
            label: str = "the manifest's", file: str = layout.MANIFEST) -> Any:
        value = data.get(key)
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        if default is None and value is None:
            return None
        self.problem(f"{label} {key!r} is missing or not a {kind.__name__}.", key, file,
                     kind.__name__, type(value).__name__)
        return default

    def strings(self, data: Mapping[str, Any], key: str, required: bool = True) -> list[str]:
        value = data.get(key)
        if value is None and not required:
            return []
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        self.problem(f"the manifest's {key!r} is missing or not a list of strings.", key,
                     expected="list", found=type(value).__name__)
        return []

    def name(self, value: object, key: str, optional: bool = False,
             check=layout.is_plain_name) -> str | None:
        if value is None and optional:
            return None
        if check(value):
            return cast(str, value)
        self.problem(f"the manifest's {key} {value!r} is not a file name inside the folder.",
                     key, expected="a file name", found=str(value))
        return None

    def file_entry(self, raw: object, number: int) -> FileEntry | None:
        key = f"files[{number}]"
        if not isinstance(raw, dict):
            self.problem(f"{key} is not an object.", key)
            return None
        filename = raw.get("filename")
        if isinstance(filename, str) and not layout.is_plain_name(filename):
            self.problem(f"{key}: the filename {filename!r} is not a file name inside the "
                         "folder.", f"{key}.filename", expected="a file name", found=filename)
            return None
        label = filename if isinstance(filename, str) else key
        before = len(self.problems)
        get = lambda name, kind, default: self.get(  # noqa: E731
            raw, name, kind, default, label=f"{label}:", file=label)
        entry_name = get("name", str, "")
        version = get("version", str, "")
        get("filename", str, "")
        sha256 = get("sha256", str, "")
        size = get("size", int, 0)
        kind = get("kind", str, "")
        if isinstance(raw.get("sha256"), str) and not is_sha256(sha256):
            self.problem(f"{label}: sha256 is not 64 hex digits.", f"{key}.sha256", label,
                         "64 hex digits", sha256)
        if isinstance(raw.get("kind"), str) and kind not in KINDS:
            self.problem(f"{label}: unknown kind {kind!r}.", f"{key}.kind", label,
                         "|".join(KINDS), kind)
        role = raw.get("role", "install")
        if role not in ROLES:
            self.problem(f"{label}: unknown role {role!r}.", f"{key}.role", label,
                         "|".join(ROLES), str(role))
        if isinstance(filename, str) and parse_filename(filename) is None:
            self.problem(f"{label} is not the name of a wheel or an sdist.",
                         f"{key}.filename", label, "a wheel or sdist file name", filename)
        sdist = self.sdist_origin(raw.get("sdist"), label, key)
        if len(self.problems) != before:
            return None
        return FileEntry(
            filename=cast(str, filename), name=entry_name, version=version, sha256=sha256,
            size=size, url=_text(raw.get("url")) or "", index_sha256=_text(raw.get("index_sha256")),
            kind=cast(Kind, kind), tags=tuple(_texts(raw.get("tags"))),
            requires_python=_text(raw.get("requires_python")), license=_text(raw.get("license")),
            required_by=tuple(_texts(raw.get("required_by"))),
            extras=tuple(_texts(raw.get("extras"))), index=_text(raw.get("index")),
            yanked=raw.get("yanked") is True, sdist=sdist,
            targets=tuple(_texts(raw.get("targets"))), role=cast(Role, role),
            build=BuildRecord.from_json(raw.get("build")),
            upload_time=_text(raw.get("upload_time")),
            license_facts=_license_facts(raw),
        )

    def sdist_origin(self, raw: object, label: str, key: str) -> SdistOrigin | None:
        if raw is None:
            return None
        if not isinstance(raw, dict) or not layout.is_plain_name(raw.get("filename")) or \
                not isinstance(raw.get("sha256"), str):
            self.problem(f"{label}: its sdist is not an object with a filename inside the "
                         "folder and a sha256.", f"{key}.sdist", label)
            return None
        size = raw.get("size")
        return SdistOrigin(filename=raw["filename"], sha256=raw["sha256"],
                           index_sha256=_text(raw.get("index_sha256")),
                           size=size if isinstance(size, int) else 0,
                           url=_text(raw.get("url")) or "")

    def constraints(self, raw: object, key: str) -> ConstraintsRecord | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.problem(f"the manifest's {key} is not an object.", key, expected="dict",
                         found=type(raw).__name__)
            return None
        filename = self.name(raw.get("filename"), f"{key}.filename")
        if filename is None:
            return None
        size, pins = raw.get("size"), raw.get("pins")
        merged = self.get(raw, "merged_from", list, []) if "merged_from" in raw else []
        return ConstraintsRecord(
            source=_text(raw.get("source")) or "", url=_text(raw.get("url")),
            path=_text(raw.get("path")), sha256=_text(raw.get("sha256")) or "",
            size=size if isinstance(size, int) else 0, etag=_text(raw.get("etag")),
            last_modified=_text(raw.get("last_modified")),
            pins=pins if isinstance(pins, int) else 0, filename=filename,
            generated=raw.get("generated") is True,
            merged_from=tuple(
                record for number, item in enumerate(merged)
                if (record := self.constraints(item, f"{key}.merged_from[{number}]")) is not None
            ),
        )

    def locks(self, raw: object) -> dict[str, str]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem("the manifest's 'locks' is not an object.", "locks", expected="dict",
                         found=type(raw).__name__)
            return {}
        return {str(target): name for target, value in raw.items()
                if (name := self.name(value, f"locks.{target}")) is not None}

    def airflow(self, raw: object) -> AirflowRecord | None:
        if raw is None:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("version"), str):
            self.problem("the manifest's 'airflow' is not an object with a version.",
                         "airflow")
            return None
        files = [name for number, value in enumerate(_texts(raw.get("constraints_files")))
                 if (name := self.name(value, f"airflow.constraints_files[{number}]",
                                       check=layout.is_written_name)) is not None]
        tools = raw.get("image_tools")
        return AirflowRecord(
            version=raw["version"],
            pip_conf=self.name(raw.get("pip_conf", layout.PIP_CONF), "airflow.pip_conf")
            or layout.PIP_CONF,
            image_tools={str(k): _text(v) for k, v in tools.items()}
            if isinstance(tools, dict) else {},
            constraints_mode=_text(raw.get("constraints_mode")),
            constraints_files=tuple(files),
        )

    def extend(self, raw: object) -> ExtendRecord | None:
        if raw is None:
            return None
        base = raw.get("base") if isinstance(raw, dict) else None
        if not isinstance(raw, dict) or not isinstance(raw.get("airflow"), str) or \
                not (base is None or isinstance(base, str)):
            self.problem("the manifest's 'extend' is not an object with an airflow version "
                         "and a base image.", "extend")
            return None
        return ExtendRecord(airflow=raw["airflow"], base=base)

    def rerun(self, raw: object) -> RerunRecord | None:
        if raw is None:
            return None
        files = raw.get("files_sha256") if isinstance(raw, dict) else None
        if not isinstance(raw, dict) or not isinstance(raw.get("inputs_sha256"), str) or \
                not isinstance(files, dict):
            self.problem("the manifest's 'rerun' is not an object with inputs_sha256 and "
                         "files_sha256.", "rerun")
            return None
        return RerunRecord(
            inputs_sha256=raw["inputs_sha256"],
            files_sha256={name: str(sha) for name, sha in files.items()
                          if self.name(name, "rerun.files_sha256",
                                       check=layout.is_written_name) is not None},
            warnings=tuple(_texts(raw.get("warnings"))),
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def is_sha256(text: str) -> bool:
    """64 lowercase hex digits: a sha256 as manifests and indexes write it."""
    return len(text) == 64 and set(text) <= _HEX


def _license_facts(raw: Mapping[str, Any]) -> LicenseFacts | None:
    """A file entry's license_spdx and license_declared, read back (None if unusable)."""
    declared = raw.get("license_declared")
    if not isinstance(declared, dict):
        return None
    return LicenseFacts.from_json({**declared, "spdx": raw.get("license_spdx")})

"""`wheelhouse verify`: offline proof that a folder is complete, untampered and installable.

It trusts nothing in the folder it can check: every file is hashed, every wheel's RECORD is
re-verified member by member, METADATA is read from the wheel itself, and the dependency
closure is walked again for each target. It never opens a network connection.

The checks are a list (`CHECKS`), each named as the README names it and each a function
of one `Folder`: what was read from the folder once. A finding names the check, the file or
project, what was expected and what was found.
"""

from __future__ import annotations

import configparser
import copy
import dataclasses
import datetime as dt
import hashlib
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from wheelhouse import airflow, layout, ledger, signing
from wheelhouse.constraints import Constraints, parse_constraints
from wheelhouse.errors import InputError
from wheelhouse.files import file_sha256
from wheelhouse.index import parse_filename, parse_version
from wheelhouse.lock import locked_pins, parse_lock
from wheelhouse.manifest import FileEntry, Manifest
from wheelhouse.selection import dependencies
from wheelhouse.signing import AllowedSigner, SignatureCheck
from wheelhouse.target import Target, make_target, make_targets
from wheelhouse.wheelfile import Inspection, Metadata, inspect_file

if TYPE_CHECKING:
    from wheelhouse.policy import Policy


@dataclass(frozen=True)
class Finding:
    """One thing that does not hold."""

    check: str
    message: str
    file: str | None = None
    project: str | None = None
    expected: str | None = None
    found: str | None = None
    target: str | None = None


@dataclass
class Dist:
    """A distribution file in the folder, as it describes itself."""

    filename: str
    name: str
    version: Version
    kind: str
    metadata: Metadata | None = None
    tags: frozenset[Tag] = frozenset()


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    targets: list[str] = field(default_factory=list)
    # Files the manifest records with no index digest (prepare --allow-unverified): their
    # bytes are checked against the manifest, but nobody checked them against an index.
    unverified: list[str] = field(default_factory=list)
    # Wheels built here from an sdist: no index vouches for their bytes (only the sdist's).
    built: list[str] = field(default_factory=list)
    manifest_sha256: str | None = None
    # Each block of wheelhouse.json.sig, when --allowed-signers asked for them to be checked.
    signatures: list[SignatureCheck] = field(default_factory=list)
    signature_blocks: int = 0
    asked: list[str] | None = None  # --against-index: the indexes asked

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": dict(sorted(self.checked.items())),
            "targets": self.targets,
            "unverified": self.unverified,
            "built": self.built,
            "manifest_sha256": self.manifest_sha256,
            "signature_blocks": self.signature_blocks,
            "against_index": self.asked,
            "signatures": [
                {"number": c.number, "key": c.key, "key_type": c.key_type,
                 "principals": list(c.principals), "valid": c.valid, "reason": c.reason}
                for c in self.signatures
            ],
            "findings": [
                {k: v for k, v in asdict(f).items() if v is not None or k in (
                    "file", "project", "expected", "found")}
                for f in self.findings
            ],
        }


@dataclass
class Folder:
    """Everything the checks read, read once: the manifest, the targets, every file."""

    path: Path
    manifest: Manifest | None
    targets: list[Target]
    specs: list[str]
    present: list[Path]
    inspections: dict[str, Inspection]
    constraints_file: Path | None = None
    allow_unverified: bool = False  # --allow-unverified: no index-digest finding for them
    manifest_bytes: bytes | None = None  # exactly what `manifest` was parsed from
    expected_manifest_sha256: str | None = None  # --manifest-sha256
    signers: list[AllowedSigner] | None = None  # --allowed-signers
    min_signatures: int = 1
    policy: Policy | None = None  # --policy
    _constraints: dict[str, Constraints | None] = field(default_factory=dict, repr=False)

    @cached_property
    def entries(self) -> dict[str, FileEntry]:
        return {e.filename: e for e in self.manifest.files} if self.manifest else {}

    @cached_property
    def dists(self) -> list[Dist]:
        found = []
        for filename, inspection in sorted(self.inspections.items()):
            parsed = parse_filename(filename)
            assert parsed is not None  # only distribution files are inspected
            name, version, kind, tags = parsed
            found.append(Dist(filename, name, version, kind, inspection.metadata, tags))
        return found

    @cached_property
    def by_name(self) -> dict[str, list[Dist]]:
        return _by_name(self.dists)

    @cached_property
    def manifest_sha256(self) -> str | None:
        return None if self.manifest_bytes is None else \
            hashlib.sha256(self.manifest_bytes).hexdigest()

    @cached_property
    def signature_checks(self) -> list[SignatureCheck]:
        """Each block of the signature file, checked against the manifest's bytes."""
        if self.signers is None or self.manifest_bytes is None:
            return []
        data = _signature_file(self.path)
        if data is None:
            return []
        return signing.check_signatures(self.manifest_bytes, data, self.signers,
                                        dt.datetime.now(dt.timezone.utc))

    @property
    def unfinished(self) -> bool:
        """A prepare stopped here before it wrote its manifest (its ledger is still here)."""
        return (self.path / layout.LEDGER).is_file()

    @property
    def for_airflow(self) -> bool:
        return bool(self.manifest and self.manifest.airflow) or airflow.is_airflow(self.specs)

    def constraints(self, target: Target) -> Constraints | None:
        """--constraints, else the folder's copy for the target's Python (read once)."""
        if target.python not in self._constraints:
            self._constraints[target.python] = self._read_constraints(target)
        return self._constraints[target.python]

    def _read_constraints(self, target: Target) -> Constraints | None:
        if self.constraints_file is not None:
            path = self.constraints_file
        else:
            names = self.manifest.constraints_files() if self.manifest else {}
            name = names.get(target.python) or layout.constraints_name(target.python)
            path = self.path / name
            if path.is_symlink() or not path.is_file():
                return None  # a link is the `link` check's finding, and is not read
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read constraints file {path}: {exc.strerror}.") from None
        return Constraints(str(path), content, path=str(path),
                           pins=parse_constraints(content, path.name))


@dataclass(frozen=True)
class Check:
    """One of verify's checks: the names its findings carry, and when it runs."""

    names: tuple[str, ...]
    run: Callable[[Folder], list[Finding]]
    needs_manifest: bool = False
    applies: Callable[[Folder], bool] = lambda folder: True


def verify(context: Folder) -> Report:
    """Run every check that the folder (and the flags) make possible."""
    report = Report(targets=[t.name for t in context.targets],
                    manifest_sha256=context.manifest_sha256)
    if context.unfinished and context.manifest is None:
        # Nothing here was finished, so nothing else can be said of it (checked against the
        # host, 63 findings would hide the one that matters).
        report.findings = check_unfinished(context)
        return report
    for check in CHECKS:
        if (context.manifest is None and check.needs_manifest) or not check.applies(context):
            continue
        report.findings += check.run(context)
    report.findings = list(dict.fromkeys(report.findings))
    report.checked["files"] = len(context.inspections)
    report.checked["bytes"] = sum(i.size for i in context.inspections.values())
    report.checked["wheels"] = sum(1 for name in context.inspections if name.endswith(".whl"))
    report.checked["targets"] = len(context.targets)
    report.checked["projects"] = len(context.by_name)
    for target in context.targets:
        constraints = context.constraints(target)
        if constraints is not None:
            report.checked["constraints_pins"] += len(constraints.pins)
    if context.for_airflow:
        report.checked["airflow"] = 1
    report.unverified = sorted(origin.filename for entry in context.entries.values()
                               if (origin := entry.sdist or entry).index_sha256 is None)
    report.built = sorted(entry.filename for entry in context.entries.values()
                          if entry.kind == "built-wheel")
    if context.signers is not None:
        report.signatures = context.signature_checks
        report.signature_blocks = len(context.signature_checks)
    else:
        report.signature_blocks = count_blocks(context.path)
    return report


def read_folder(
    folder: Path,
    requirements: list[str] | None = None,
    constraints_file: Path | None = None,
    pythons: list[str] | None = None,
    platforms: list[str] | None = None,
    jobs: int | None = None,
    on_file: Callable[[int], None] | None = None,
) -> Folder:
    """Read the folder once: the manifest (validated), the targets, every file inspected."""
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder.")
    found = Manifest.read(folder)
    manifest, manifest_bytes = found if found else (None, None)
    if pythons or platforms:
        targets = make_targets(pythons or [], platforms or [])
    elif manifest is not None and manifest.targets:
        targets = list(manifest.targets)
    else:
        targets = [make_target()]
    specs = list(requirements or []) or (list(manifest.requirements) if manifest else [])
    present = sorted(folder.iterdir())
    # A link is reported (check `link`), never followed: it may lead out of the folder.
    dist_paths = [p for p in present if not p.is_symlink() and p.is_file()
                  and parse_filename(p.name) is not None]
    inspections = {i.filename: i for i in inspect_all(dist_paths, jobs, on_file)}
    return Folder(folder, manifest, targets, specs, present, inspections, constraints_file,
                  manifest_bytes=manifest_bytes)


def inspect_all(
    paths: list[Path], jobs: int | None = None, on_file: Callable[[int], None] | None = None
) -> Iterator[Inspection]:
    """Inspect files on every core: hashing and RECORD checks are CPU work."""
    workers = jobs or os.cpu_count() or 1
    if workers == 1 or len(paths) < 4:
        for path in paths:
            result = inspect_file(path)
            if on_file:
                on_file(result.size)
            yield result
        return
    # Largest first, so one big wheel does not finish alone at the end.
    ordered = sorted(paths, key=lambda p: p.stat().st_size, reverse=True)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(inspect_file, ordered, chunksize=1):
            if on_file:
                on_file(result.size)
            yield result


# -- the checks, in the README's order ----------------------------------------------------


def check_links(folder: Folder) -> list[Finding]:
    """`link`: nothing in the folder is a symbolic link (it could lead anywhere, and an
    offline install would follow it)."""
    return [Finding("link", f"{path.name} is a symbolic link (to {os.readlink(path)}); "
                    "verify does not follow it.", file=path.name, project=_project(path.name),
                    expected="a file", found="a link")
            for path in folder.present if path.is_symlink()]


def check_unfinished(folder: Folder) -> list[Finding]:
    """`unfinished`: a prepare stopped before it finished (its ledger is still here)."""
    if not folder.unfinished:
        return []
    count = len(ledger.read(folder.path))
    if folder.manifest is None:
        message = (f"a wheelhouse prepare did not finish in this folder: it left "
                   f"{layout.LEDGER} ({count} files it fetched) and no {layout.MANIFEST}, so "
                   "nothing here is vouched for. Run the same prepare again to finish it.")
    else:
        message = (f"a later wheelhouse prepare did not finish in this folder: it left "
                   f"{layout.LEDGER} ({count} files it fetched or owned), and files beside "
                   f"the ones {layout.MANIFEST} lists may have changed. Run prepare again to "
                   "finish it.")
    return [Finding("unfinished", message, file=layout.LEDGER, expected="no ledger",
                    found=f"{count} files listed")]


def check_empty(folder: Folder) -> list[Finding]:
    """`empty`: a folder vouches for something only if it holds something to install."""
    findings = []
    if folder.manifest is not None and not folder.manifest.files and \
            not folder.manifest.problems:
        findings.append(Finding("empty", f"{layout.MANIFEST} lists no file: it vouches for "
                                "nothing.", file=layout.MANIFEST, expected="at least one file",
                                found="none"))
    if not folder.inspections:  # wheels, or sdists shipped to be built (--keep-sdists)
        findings.append(Finding("empty", f"{folder.path} holds no wheel or sdist: there is "
                                "nothing to install.", expected="at least one distribution",
                                found="none"))
    return findings


def check_manifest_sha256(folder: Folder) -> list[Finding]:
    """`manifest-sha256`: the manifest is the very one that was approved (its sha256, as
    prepare printed it, carried across the gap apart from the folder)."""
    expected, found = folder.expected_manifest_sha256, folder.manifest_sha256
    if expected is None or expected == found:
        return []
    return [Finding("manifest-sha256", f"{layout.MANIFEST} is not the approved manifest: "
                    "its sha256 differs." if found else f"there is no {layout.MANIFEST} to "
                    "compare with the approved sha256.", file=layout.MANIFEST,
                    expected=expected, found=found or "absent")]


def check_signers(folder: Folder) -> list[Finding]:
    """`signature`: enough of the allowed signers signed exactly this manifest."""
    assert folder.signers is not None
    if folder.manifest_bytes is None:
        return [Finding("signature", f"there is no {layout.MANIFEST} to check signatures of.",
                        file=layout.MANIFEST, expected="a signed manifest", found="absent")]
    findings = []
    data = _signature_file(folder.path)
    if data is None:
        findings.append(Finding("signature", f"{layout.MANIFEST} is not signed: there is no "
                                f"{layout.SIGNATURES} (wheelhouse sign writes it).",
                                file=layout.SIGNATURES, expected="present", found="absent"))
    for check in folder.signature_checks:
        if not check.valid:
            who = f" ({check.key_type} {check.key})" if check.key else ""
            findings.append(Finding("signature", f"signature {check.number}{who} does not "
                                    f"count: {check.reason}", file=layout.SIGNATURES,
                                    expected="a valid signature by an allowed signer",
                                    found=check.reason))
    signed: dict[str, tuple[str, ...]] = {}
    for check in folder.signature_checks:
        if check.valid and check.key:
            signed[check.key] = check.principals
    if len(signed) < folder.min_signatures:
        names = sorted({name for principals in signed.values() for name in principals})
        missing = sorted({name for signer in folder.signers if signer.key not in signed
                          for name in signer.principals})
        findings.append(Finding(
            "signature", f"{layout.MANIFEST} is signed by {len(signed)} of the allowed signers "
            f"({', '.join(names) or 'none'}); {folder.min_signatures} are required. Not signed "
            f"by: {', '.join(missing) or 'nobody else is allowed'}.", file=layout.SIGNATURES,
            expected=f"{folder.min_signatures} signers", found=f"{len(signed)} signers"))
    return findings


def _signature_file(folder: Path) -> bytes | None:
    """The signature file's bytes, bounded (a hostile file cannot exhaust memory); None when
    there is none (a link is the `link` check's finding, and is not read)."""
    path = folder / layout.SIGNATURES
    if path.is_symlink() or not path.is_file():
        return None
    with path.open("rb") as handle:
        return handle.read(signing.MAX_FILE + 1)


def count_blocks(folder: Path) -> int:
    """How many signature blocks the folder carries (counted, not checked)."""
    data = _signature_file(folder)
    return 0 if data is None else sum(isinstance(b, bytes) for b in signing.read_blocks(data))


def check_written(folder: Folder) -> list[Finding]:
    """`missing`, `sha256` for the locks, constraints and pip.conf: the manifest holds their
    sha256 too, so that it covers every file prepare wrote (and a signature of it, the
    folder)."""
    manifest = folder.manifest
    assert manifest is not None
    if manifest.rerun is None:
        return [Finding("manifest", "the manifest records no sha256 for the files written "
                        "beside the distributions (locks, constraints, pip.conf): they cannot "
                        "be checked.", file=layout.MANIFEST, expected="rerun.files_sha256",
                        found="absent")]
    hashes = manifest.rerun.files_sha256
    findings = []
    for name in sorted((manifest.written() - {layout.MANIFEST}) | set(hashes)):
        try:
            path = layout.path_in(folder.path, name)
        except layout.OutsideFolder:
            continue  # under a link: the `link` check reports it
        if path.is_symlink():
            continue
        if name not in hashes:
            findings.append(Finding("sha256", f"{name} has no sha256 in the manifest.",
                                    file=name, expected="a sha256", found="none"))
        elif not path.is_file():
            findings.append(Finding("missing", f"{name} is named in the manifest but is not "
                                    "in the folder.", file=name, expected="present",
                                    found="absent"))
        elif (seen := file_sha256(path)) != hashes[name]:
            findings.append(Finding("sha256", f"{name} does not have the sha256 the manifest "
                                    "lists: it was changed.", file=name,
                                    expected=hashes[name], found=seen))
    return findings


def check_manifest(folder: Folder) -> list[Finding]:
    """`manifest`: every key a reader relies on is there, with the right type."""
    assert folder.manifest is not None
    return [Finding("manifest", p.message, file=p.file, expected=p.expected, found=p.found)
            for p in folder.manifest.problems]


def check_listed_files(folder: Folder) -> list[Finding]:
    """`missing`, `size`, `sha256`, `index-digest`: every listed file is there, intact, and
    what the index published."""
    findings = []
    for filename, entry in sorted(folder.entries.items()):
        project = entry.name
        seen = folder.inspections.get(filename)
        if seen is None:
            findings.append(Finding("missing", f"{filename} is listed in the manifest but is "
                                    "not in the folder.", file=filename, project=project,
                                    expected="present", found="absent"))
            continue
        if entry.size != seen.size:
            findings.append(Finding("size", f"{filename} is {seen.size} bytes; the manifest "
                                    f"says {entry.size}.", file=filename, project=project,
                                    expected=str(entry.size), found=str(seen.size)))
        if entry.sha256 != seen.sha256:
            findings.append(Finding("sha256", f"{filename} does not have the sha256 the "
                                    "manifest lists: it was changed.", file=filename,
                                    project=project, expected=entry.sha256,
                                    found=seen.sha256))
        findings += _index_digest(entry, seen, folder.inspections, folder.allow_unverified)
    return findings


def _index_digest(entry: FileEntry, seen: Inspection, inspections: dict[str, Inspection],
                  allow_unverified: bool) -> list[Finding]:
    filename, project, index_sha = entry.filename, entry.name, entry.index_sha256
    if entry.kind == "built-wheel":
        sdist = entry.sdist
        sdist_seen = inspections.get(sdist.filename) if sdist else None
        if sdist and sdist_seen is not None and index_sha and sdist_seen.sha256 != index_sha:
            return [Finding("index-digest", f"{sdist.filename} (the sdist {filename} was "
                            "built from) differs from the index's digest.", file=sdist.filename,
                            project=project, expected=index_sha, found=sdist_seen.sha256)]
        return []
    if index_sha is None:
        return [] if allow_unverified else [Finding(
            "index-digest", f"{filename} has no index-published digest to check against "
            "(prepared with --allow-unverified; verify --allow-unverified accepts that).",
            file=filename, project=project, expected="an index sha256", found="none")]
    if index_sha != seen.sha256:
        return [Finding("index-digest", f"{filename} differs from the digest the index "
                        "published.", file=filename, project=project, expected=index_sha,
                        found=seen.sha256)]
    return []


def check_unlisted(folder: Folder) -> list[Finding]:
    """`unlisted`: nothing is in the folder that the manifest does not account for."""
    assert folder.manifest is not None
    return [Finding("unlisted", f"{name} is in the folder but not in the manifest.",
                    file=name, project=_project(name), expected="absent", found="present")
            for name in layout.unexpected(folder.path, folder.manifest.accounted())
            if name != layout.LEDGER]  # the `unfinished` check names it


def check_wheels(folder: Folder) -> list[Finding]:
    """`zip`, `record`, `member-path`, and a METADATA that cannot be read."""
    return [Finding(check, message, file=inspection.filename,
                    project=_project(inspection.filename))
            for inspection in folder.inspections.values()
            for check, message in inspection.problems]


def check_metadata(folder: Folder) -> list[Finding]:
    """`metadata`: a wheel is what its name says it is."""
    findings = []
    for dist in folder.dists:
        meta = dist.metadata
        if meta is None:
            continue
        if canonicalize_name(meta.name) != dist.name:
            findings.append(Finding("metadata", f"{dist.filename} says it is {meta.name} in "
                                    "its METADATA.", file=dist.filename, project=dist.name,
                                    expected=dist.name, found=meta.name))
        if parse_version(meta.version) != dist.version:
            findings.append(Finding("metadata", f"{dist.filename} says it is version "
                                    f"{meta.version} in its METADATA.", file=dist.filename,
                                    project=dist.name, expected=str(dist.version),
                                    found=meta.version))
    return findings


def check_tags(folder: Folder) -> list[Finding]:
    """`tags`: every wheel fits at least one target (the ones the manifest says it serves)."""
    findings = []
    for dist in folder.dists:
        if dist.kind == "sdist":
            continue
        entry = folder.entries.get(dist.filename)
        wanted = set(entry.targets) if entry else set()
        scope = [t for t in folder.targets if t.name in wanted] or folder.targets
        if not any(t.rank(dist.tags) is not None for t in scope):
            findings.append(Finding("tags", f"{dist.filename} fits none of the targets "
                                    f"({', '.join(t.name for t in scope)}).",
                                    file=dist.filename, project=dist.name,
                                    expected=" or ".join(t.name for t in scope),
                                    found=".".join(sorted(str(tag) for tag in dist.tags))))
    return findings


def check_constraints(folder: Folder) -> list[Finding]:
    """`constraints`: a project the constraints pin is present only at the pinned version
    (among the files the manifest says serve the target, when there is a manifest)."""
    findings = []
    for target in folder.targets:
        constraints = folder.constraints(target)
        if constraints is None:
            continue
        for name, pin in sorted(constraints.pins_for(target).items()):
            for dist in folder.by_name.get(name, []):
                entry = folder.entries.get(dist.filename)
                if entry is not None and entry.targets and target.name not in entry.targets:
                    continue  # another target's file: its Python's constraints pin it
                if dist.version != parse_version(pin.version):
                    findings.append(Finding(
                        "constraints", f"{dist.filename} is {name} {dist.version}, but the "
                        f"constraints pin {name}=={pin.version} (line {pin.line}).",
                        file=dist.filename, project=name, expected=f"=={pin.version}",
                        found=str(dist.version), target=target.name))
    return findings


def check_closure(folder: Folder) -> list[Finding]:
    """`closure`, `requires-python`: for each target, every requirement reached from the
    roots is served by a file in the folder."""
    return [finding for target in folder.targets
            for finding in closure_findings(folder.dists, folder.specs, target)]


def closure_findings(dists: list[Dist], specs: list[str], target: Target) -> list[Finding]:
    """The closure walk for one target, with the resolver's rule for what a dist needs."""
    findings: list[Finding] = []
    usable: dict[str, list[Dist]] = defaultdict(list)
    for dist in dists:
        if dist.kind == "sdist" or target.rank(dist.tags) is not None:
            usable[dist.name].append(dist)
    present = _by_name(dists)
    roots = [(text, "the folder's requirement") for text in specs] or [
        (f"{d.name}=={d.version}", "the folder") for d in dists if d.kind != "sdist"]
    queue: list[tuple[Requirement, str]] = []
    for text, who in roots:
        try:
            queue.append((Requirement(text), who))
        except InvalidRequirement:
            findings.append(Finding("closure", f"{text!r} is not a valid requirement.",
                                    expected="a requirement", found=text, target=target.name))
    seen: set[tuple[str, str]] = set()
    while queue:
        requirement, who = queue.pop()
        if requirement.marker is not None and not target.holds(requirement.marker):
            continue
        name = canonicalize_name(requirement.name)
        fits = [d for d in usable.get(name, []) if requirement.specifier.contains(
            d.version, prereleases=True)]
        if not fits:
            findings.append(_missing(requirement, who, name, present, usable, target))
            continue
        dist = max(fits, key=lambda d: (d.version, d.metadata is not None))
        meta = dist.metadata
        if meta is None:
            continue  # an sdist: what it needs is known only once it is built
        for extra in ("", *sorted(canonicalize_name(e) for e in requirement.extras)):
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            if extra == "" and meta.requires_python:
                findings += _requires_python(dist, meta.requires_python, target)
            parent = f"{name}[{extra}] {dist.version}" if extra else f"{name} {dist.version}"
            needs, _ = dependencies(meta, target, extra or None)
            queue += [(_unmarked(need), parent) for need in needs]
    return findings


def _unmarked(requirement: Requirement) -> Requirement:
    """A requirement whose marker was judged already (with its extra): a copy without it."""
    found = copy.copy(requirement)
    found.marker = None
    return found


def _missing(requirement: Requirement, who: str, name: str, present: dict[str, list[Dist]],
             usable: dict[str, list[Dist]], target: Target) -> Finding:
    found = present.get(name, [])
    if not found:
        message = (f"{name} is missing for {target.name}: {who} requires {requirement}, and "
                   "no file of it is in the folder.")
        return Finding("closure", message, project=name, expected=str(requirement),
                       found="absent", target=target.name)
    if not usable.get(name):
        message = (f"{name} has no file for {target.name} ({who} requires {requirement}); "
                   f"the folder has {', '.join(d.filename for d in found)}.")
        return Finding("closure", message, file=found[0].filename, project=name,
                       expected=f"a file for {target.name}", found=found[0].filename,
                       target=target.name)
    versions = ", ".join(sorted(str(d.version) for d in usable[name]))
    message = (f"{name} {versions} does not satisfy {requirement} (required by {who}) for "
               f"{target.name}.")
    return Finding("closure", message, file=usable[name][0].filename, project=name,
                   expected=str(requirement.specifier), found=versions, target=target.name)


def _requires_python(dist: Dist, text: str, target: Target) -> list[Finding]:
    try:
        if SpecifierSet(text).contains(Version(target.python_full_version), prereleases=True):
            return []
    except InvalidSpecifier:
        return []
    return [Finding("requires-python", f"{dist.filename} requires Python {text}; "
                    f"{target.name} is {target.python_full_version}.", file=dist.filename,
                    project=dist.name, expected=text, found=target.python_full_version,
                    target=target.name)]


def check_locks(folder: Folder) -> list[Finding]:
    """`lock`: every lock the manifest names pins exactly its target's files, same hashes."""
    manifest = folder.manifest
    assert manifest is not None
    locks = manifest.lock_names()
    if not locks:
        return [Finding("lock", "the manifest names no lock.", file=layout.MANIFEST,
                        expected="a lock", found="none")]
    findings = []
    for target_name, lock in sorted(locks.items()):
        mine = manifest.entries_for(target_name) if target_name else list(manifest.files)
        findings += [dataclasses.replace(f, target=target_name or None)
                     for f in lock_findings(folder.path, lock, mine)]
    return findings + pylock_findings(folder)


def pylock_findings(folder: Folder) -> list[Finding]:
    """`lock`: pylock.toml, where prepare wrote one, selects for each target exactly the pins
    and hashes the manifest lists for it (its bytes are the `sha256` check's)."""
    from wheelhouse.standard_lock import PYLOCK, locked_for

    manifest = folder.manifest
    assert manifest is not None
    path = folder.path / PYLOCK
    if manifest.rerun is None or PYLOCK not in manifest.rerun.files_sha256 or \
            path.is_symlink() or not path.is_file():
        return []  # not written by prepare, or `missing`/`link` already says so
    text = path.read_text(encoding="utf-8", errors="replace")
    # A pylock names every file of a version, whichever targets each serves.
    every: dict[tuple[str, str], set[str]] = defaultdict(set)
    for entry in manifest.files:
        if entry.role == "install":
            every[entry.name, entry.version].add(entry.sha256)
    findings = []
    for target in folder.targets:
        try:
            locked = locked_for(text, target.markers)
        except ValueError as exc:
            return [Finding("lock", f"{PYLOCK}: {exc}.", file=PYLOCK)]
        listed = {name: (version, every[name, version])
                  for name, (version, _) in locked_pins(manifest.entries_for(target.name)).items()}
        findings += [dataclasses.replace(f, target=target.name)
                     for f in compare_pins(PYLOCK, locked, listed)]
    return findings


def lock_findings(folder: Path, lock: str, entries: Iterable[FileEntry]) -> list[Finding]:
    """One lock against the manifest entries it should pin."""
    path = folder / lock
    if path.is_symlink():
        return []  # the `link` check reports it; it is not read
    if not path.is_file():
        return [Finding("lock", f"{lock} is missing.", file=lock, expected="present",
                        found="absent")]
    locked = parse_lock(path.read_text(encoding="utf-8", errors="replace"))
    return compare_pins(lock, locked, locked_pins(entries))


def compare_pins(lock: str, locked: dict[str, tuple[str, set[str]]],
                 listed: dict[str, tuple[str, set[str]]]) -> list[Finding]:
    """A lock's pins (version, hashes) against the manifest's, project by project."""
    findings = []
    for name in sorted(set(locked) | set(listed)):
        want, have = listed.get(name), locked.get(name)
        if have is None:
            assert want is not None
            findings.append(Finding("lock", f"{name} is in the manifest but not in {lock}.",
                                    file=lock, project=name, expected=f"{name}=={want[0]}",
                                    found="absent"))
        elif want is None:
            findings.append(Finding("lock", f"{lock} pins {name}=={have[0]}, which the "
                                    "manifest does not list.", file=lock, project=name,
                                    expected="absent", found=f"{name}=={have[0]}"))
        elif parse_version(want[0]) != parse_version(have[0]) or want[1] != have[1]:
            findings.append(Finding("lock", f"{lock} pins {name} differently from the "
                                    "manifest.", file=lock, project=name,
                                    expected=f"{want[0]} {sorted(want[1])}",
                                    found=f"{have[0]} {sorted(have[1])}"))
    return findings


def check_policy(folder: Folder) -> list[Finding]:
    """--policy: each file the manifest lists that breaks a rule, ages counted from when
    prepare ran (the manifest's `created`)."""
    from wheelhouse.policy import parse_created, subjects_of

    assert folder.manifest is not None and folder.policy is not None
    try:
        when = parse_created(folder.manifest.created)
    except ValueError:
        return [Finding("policy", f"the manifest's created {folder.manifest.created!r} is not "
                        "a time, so the policy's ages cannot be checked.", layout.MANIFEST)]
    return [Finding("policy", violation.message, violation.filename, violation.project)
            for violation in folder.policy.evaluate(subjects_of(folder.manifest.files), when)]


def check_airflow(folder: Folder) -> list[Finding]:
    """`airflow`: what Airflow's image needs to build with no index at all."""
    findings = []
    present = set(folder.by_name)
    # A folder that extends the released image (prepare --extend) uses the image's own tools.
    extends = folder.manifest is not None and folder.manifest.extend is not None
    image = folder.manifest.airflow if folder.manifest else None
    tools = () if extends else airflow.required_tools(image.version if image else None)
    for name in (airflow.AIRFLOW, *tools):
        if name not in present:
            findings.append(Finding("airflow", f"{name} is not in the folder, and the Airflow "
                                    "image installs it during the build.", project=name,
                                    expected="present", found="absent"))
    record = folder.manifest.constraints if folder.manifest else None
    source = (record.url or record.path or record.source) if record else None
    for target in folder.targets:
        python = airflow.constraints_python(source) if source else None
        if python is not None and python != target.python:
            findings.append(Finding("airflow", f"the constraints are for Python {python}, the "
                                    f"target is {target.python}.", file=source,
                                    expected=target.python, found=python, target=target.name))
        name = layout.constraints_name(target.python)
        if not (folder.path / name).exists():
            findings.append(Finding("airflow", f"{name}, which the build arguments name, is "
                                    "not in the folder.", file=name, expected="present",
                                    found="absent", target=target.name))
    findings += _check_pip_conf(folder.path / layout.PIP_CONF)
    return findings


def _config_error(exc: configparser.Error | UnicodeDecodeError) -> str:
    """What configparser found wrong, in words (its messages quote reprs over lines)."""
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not UTF-8 text (byte {exc.start})"
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno} comes before any [section]"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"line {exc.lineno} opens [{exc.section}] a second time"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"line {exc.lineno} sets {exc.option} in [{exc.section}] a second time"
    if isinstance(exc, configparser.ParsingError):
        numbers = [str(number) for number, _ in exc.errors[:5]]
        if len(numbers) == 1:
            return f"line {numbers[0]} is not `key = value`"
        return f"lines {', '.join(numbers)} are not `key = value`"
    return exc.message.splitlines()[0].rstrip(".") if exc.message else "it is not an INI file"


def _check_pip_conf(path: Path) -> list[Finding]:
    """The image's pip must never reach for an index: no-index, find-links to the folder."""
    if path.is_symlink():
        return []  # the `link` check reports it; it is not read
    if not path.exists():
        return [Finding("airflow", "pip.conf is missing: the image's pip would use the index.",
                        file="pip.conf", expected="present", found="absent")]
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source="pip.conf")
    except (configparser.Error, UnicodeDecodeError) as exc:
        return [Finding("airflow", f"pip.conf cannot be parsed: {_config_error(exc)}.",
                        file="pip.conf")]
    section = dict(parser["global"]) if parser.has_section("global") else {}
    findings = []
    no_index = str(section.get("no-index", "")).strip().lower()
    if no_index not in ("true", "yes", "1", "on"):
        findings.append(Finding("airflow", "pip.conf does not set no-index = true.",
                                file="pip.conf", expected="no-index = true",
                                found=f"no-index = {no_index or '(unset)'}"))
    links = str(section.get("find-links", "")).split()
    if airflow.CONTEXT_DIR not in [link.rstrip("/") for link in links]:
        findings.append(Finding("airflow", f"pip.conf does not find links in "
                                f"{airflow.CONTEXT_DIR}.", file="pip.conf",
                                expected=f"find-links = {airflow.CONTEXT_DIR}",
                                found=" ".join(links) or "(unset)"))
    return findings


CHECKS: tuple[Check, ...] = (
    Check(("unfinished",), check_unfinished),
    Check(("manifest-sha256",), check_manifest_sha256),
    Check(("signature",), check_signers, applies=lambda folder: folder.signers is not None),
    Check(("empty",), check_empty),
    Check(("link",), check_links),
    Check(("manifest",), check_manifest, needs_manifest=True),
    Check(("missing", "size", "sha256", "index-digest"), check_listed_files,
          needs_manifest=True),
    Check(("missing", "sha256"), check_written, needs_manifest=True),
    Check(("unlisted",), check_unlisted, needs_manifest=True),
    Check(("policy",), check_policy, needs_manifest=True,
          applies=lambda folder: folder.policy is not None),
    Check(("zip", "record", "member-path"), check_wheels),
    Check(("metadata",), check_metadata),
    Check(("tags",), check_tags),
    Check(("constraints",), check_constraints),
    Check(("closure", "requires-python"), check_closure),
    Check(("lock",), check_locks, needs_manifest=True),
    Check(("airflow",), check_airflow, applies=lambda folder: folder.for_airflow),
)


def _by_name(dists: Iterable[Dist]) -> dict[str, list[Dist]]:
    found: dict[str, list[Dist]] = defaultdict(list)
    for dist in dists:
        found[dist.name].append(dist)
    return found


def _project(filename: str) -> str | None:
    parsed = parse_filename(filename)
    return parsed[0] if parsed is not None else None

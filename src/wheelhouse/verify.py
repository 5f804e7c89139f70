"""`wheelhouse verify`: offline proof that a folder is complete, untampered and installable.

It trusts nothing in the folder it can check: every file is hashed, every wheel's RECORD is
re-verified member by member, METADATA is read from the wheel itself, and the dependency
closure is walked again for each target. It never opens a network connection.

Each check returns findings; a finding names the check, the file or project, what was
expected and what was found.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from wheelhouse import airflow
from wheelhouse.constraints import Constraints, parse_constraints
from wheelhouse.errors import InputError
from wheelhouse.index import parse_filename, parse_version
from wheelhouse.manifest import KINDS, LOCK, MANIFEST, load_manifest, parse_lock
from wheelhouse.target import Target, make_target, target_from_description
from wheelhouse.wheelfile import Inspection, Metadata, inspect_file

ALLOWED_NAMES = {MANIFEST, LOCK, "pip.conf"}
_HEX = set("0123456789abcdef")


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
    tags: frozenset = frozenset()


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    targets: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": dict(sorted(self.checked.items())),
            "targets": self.targets,
            "findings": [
                {k: v for k, v in asdict(f).items() if v is not None or k in (
                    "file", "project", "expected", "found")}
                for f in self.findings
            ],
        }


def verify(
    folder: Path,
    requirements: list[str] | None = None,
    constraints_file: Path | None = None,
    pythons: list[str] | None = None,
    platforms: list[str] | None = None,
    jobs: int | None = None,
    on_file: Callable[[int], None] | None = None,
) -> Report:
    """Run every check that the folder (and the flags) make possible."""
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder.")
    report = Report()
    manifest = load_manifest(folder)
    targets = _targets(manifest, pythons, platforms)
    report.targets = [t.name for t in targets]
    specs = list(requirements or []) or (list(manifest.get("requirements", [])) if manifest else [])

    entries: dict[str, dict[str, Any]] = {}
    if manifest is not None:
        report.findings += check_manifest_schema(manifest)
        entries = {e["filename"]: e for e in manifest["files"]
                   if isinstance(e, dict) and isinstance(e.get("filename"), str)}

    present = sorted(folder.iterdir())
    dist_paths = [p for p in present if p.is_file() and parse_filename(p.name) is not None]
    inspections = {i.filename: i for i in inspect_all(dist_paths, jobs, on_file)}
    report.checked["files"] = len(inspections)
    report.checked["bytes"] = sum(i.size for i in inspections.values())
    report.checked["wheels"] = sum(1 for name in inspections if name.endswith(".whl"))

    constraints_name = _constraints_name(manifest)
    if manifest is not None:
        report.findings += check_listed_files(folder, entries, inspections)
        known = {constraints_name, *(manifest.get("locks") or {}).values()} - {None}
        report.findings += check_unlisted(present, entries, known)
    for inspection in inspections.values():
        for check, message in inspection.problems:
            report.findings.append(Finding(check, message, file=inspection.filename,
                                           project=_project(inspection.filename)))
    dists = _dists(inspections)
    report.findings += check_metadata_matches_filename(dists)
    report.findings += check_tags(dists, targets, entries)
    report.checked["targets"] = len(targets)

    for target in targets:
        constraints = _constraints(folder, constraints_file, constraints_name, target)
        if constraints is not None:
            report.findings += check_constraints(dists, constraints, target)
            report.checked["constraints_pins"] += len(constraints.pins)
        report.findings += check_closure(dists, specs, target)
    if manifest is not None:
        report.findings += check_locks(folder, manifest, entries, targets)
    if (manifest is not None and manifest.get("airflow")) or airflow.is_airflow(specs):
        report.findings += check_airflow(folder, manifest, dists, targets)
        report.checked["airflow"] = 1
    report.checked["projects"] = len({d.name for d in dists})
    report.findings = _unique(report.findings)
    return report


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


def check_manifest_schema(manifest: dict[str, Any]) -> list[Finding]:
    """Check 1: every key a reader relies on is there, with the right type."""
    findings = []
    for key, kind in (("tool", dict), ("created", str), ("requirements", list),
                      ("targets", list), ("index_urls", list)):
        if not isinstance(manifest.get(key), kind):
            findings.append(Finding("manifest", f"the manifest's {key!r} is missing or not a "
                                    f"{kind.__name__}.", file=MANIFEST, expected=kind.__name__,
                                    found=type(manifest.get(key)).__name__))
    for number, entry in enumerate(manifest["files"]):
        if not isinstance(entry, dict):
            findings.append(Finding("manifest", f"files[{number}] is not an object.",
                                    file=MANIFEST))
            continue
        label = entry.get("filename") if isinstance(entry.get("filename"), str) else \
            f"files[{number}]"
        for key, kind in (("filename", str), ("name", str), ("version", str), ("sha256", str),
                          ("size", int), ("kind", str)):
            if not isinstance(entry.get(key), kind):
                findings.append(Finding("manifest", f"{label}: {key!r} is missing or not a "
                                        f"{kind.__name__}.", file=label,
                                        expected=kind.__name__,
                                        found=type(entry.get(key)).__name__))
        sha = entry.get("sha256")
        if isinstance(sha, str) and (len(sha) != 64 or not set(sha) <= _HEX):
            findings.append(Finding("manifest", f"{label}: sha256 is not 64 hex digits.",
                                    file=label, found=sha))
        if isinstance(entry.get("kind"), str) and entry["kind"] not in KINDS:
            findings.append(Finding("manifest", f"{label}: unknown kind {entry['kind']!r}.",
                                    file=label, expected="|".join(KINDS), found=entry["kind"]))
    return findings


def check_listed_files(
    folder: Path, entries: dict[str, dict[str, Any]], inspections: dict[str, Inspection]
) -> list[Finding]:
    """Check 2: every listed file is there, with its size and sha256, and the index agrees."""
    findings = []
    for filename, entry in sorted(entries.items()):
        project = entry.get("name")
        seen = inspections.get(filename)
        if seen is None:
            findings.append(Finding("missing", f"{filename} is listed in the manifest but is "
                                    "not in the folder.", file=filename, project=project,
                                    expected="present", found="absent"))
            continue
        if entry.get("size") != seen.size:
            findings.append(Finding("size", f"{filename} is {seen.size} bytes; the manifest "
                                    f"says {entry.get('size')}.", file=filename, project=project,
                                    expected=str(entry.get("size")), found=str(seen.size)))
        if entry.get("sha256") != seen.sha256:
            findings.append(Finding("sha256", f"{filename} does not have the sha256 the "
                                    "manifest lists: it was changed.", file=filename,
                                    project=project, expected=entry.get("sha256"),
                                    found=seen.sha256))
        index_sha = entry.get("index_sha256")
        if entry.get("kind") == "built-wheel":
            sdist = entry.get("sdist") or {}
            sdist_seen = inspections.get(sdist.get("filename", ""))
            if sdist_seen is not None and index_sha and sdist_seen.sha256 != index_sha:
                findings.append(Finding("index-digest", f"{sdist['filename']} (the sdist "
                                        f"{filename} was built from) differs from the index's "
                                        "digest.", file=sdist["filename"], project=project,
                                        expected=index_sha, found=sdist_seen.sha256))
        elif index_sha is None:
            findings.append(Finding("index-digest", f"{filename} has no index-published "
                                    "digest to check against.", file=filename,
                                    project=project, expected="an index sha256", found="none"))
        elif index_sha != seen.sha256:
            findings.append(Finding("index-digest", f"{filename} differs from the digest the "
                                    "index published.", file=filename, project=project,
                                    expected=index_sha, found=seen.sha256))
    return findings


def check_unlisted(
    present: list[Path], entries: dict[str, dict[str, Any]], known: set[str]
) -> list[Finding]:
    """Check 2b: nothing is in the folder that the manifest does not account for."""
    findings = []
    sdists = {(e.get("sdist") or {}).get("filename") for e in entries.values()}
    for path in present:
        name = path.name
        if name in entries or name in sdists or name in known or _allowed(path):
            continue
        findings.append(Finding("unlisted", f"{name} is in the folder but not in the "
                                "manifest.", file=name, project=_project(name),
                                expected="absent", found="present"))
    return findings


def _allowed(path: Path) -> bool:
    """The manifest, lock, pip.conf, READMEs and constraints (files, or Airflow's folders)."""
    name, lower = path.name, path.name.lower()
    if path.is_dir():
        return lower.startswith("constraints-") and all(
            child.is_file() and child.suffix == ".txt" for child in path.iterdir())
    return (name in ALLOWED_NAMES or lower.startswith("readme")
            or (lower.startswith("constraints") and lower.endswith(".txt")))


def check_metadata_matches_filename(dists: list[Dist]) -> list[Finding]:
    """Check 4: a wheel is what its name says it is."""
    findings = []
    for dist in dists:
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


def check_tags(
    dists: list[Dist], targets: list[Target], entries: dict[str, dict[str, Any]]
) -> list[Finding]:
    """Check 5: every wheel fits at least one target (the ones the manifest says it serves)."""
    findings = []
    for dist in dists:
        if dist.kind == "sdist":
            continue
        wanted = set(entries.get(dist.filename, {}).get("targets") or ())
        scope = [t for t in targets if t.name in wanted] or targets
        if not any(t.rank(dist.tags) is not None for t in scope):
            findings.append(Finding("tags", f"{dist.filename} fits none of the targets "
                                    f"({', '.join(t.name for t in scope)}).",
                                    file=dist.filename, project=dist.name,
                                    expected=" or ".join(t.name for t in scope),
                                    found=".".join(sorted(str(tag) for tag in dist.tags))))
    return findings


def check_constraints(dists: list[Dist], constraints: Constraints, target: Target) -> list[Finding]:
    """Check 6: a project the constraints pin is present only at the pinned version."""
    findings = []
    by_name = _by_name(dists)
    for name, pin in sorted(constraints.pins_for(target).items()):
        for dist in by_name.get(name, []):
            if dist.version != parse_version(pin.version):
                findings.append(Finding("constraints", f"{dist.filename} is {name} "
                                        f"{dist.version}, but the constraints pin "
                                        f"{name}=={pin.version} (line {pin.line}).",
                                        file=dist.filename, project=name,
                                        expected=f"=={pin.version}", found=str(dist.version),
                                        target=target.name))
    return findings


def check_closure(dists: list[Dist], specs: list[str], target: Target) -> list[Finding]:
    """Check 7: every requirement reached from the roots is served by a file for the target."""
    findings: list[Finding] = []
    usable = defaultdict(list)
    for dist in dists:
        if dist.kind == "sdist" or target.rank(dist.tags) is not None:
            usable[dist.name].append(dist)
    present = _by_name(dists)
    roots = [(text, "the requirements") for text in specs] or [
        (f"{d.name}=={d.version}", "the folder") for d in dists if d.kind != "sdist"]
    queue: list[tuple[Requirement, str]] = []
    for text, who in roots:
        try:
            queue.append((Requirement(text), who))
        except InvalidRequirement:
            findings.append(Finding("closure", f"{text!r} is not a valid requirement.",
                                    expected="a requirement", found=text, target=target.name))
    seen: set[tuple[str, str]] = set()
    python = Version(target.python_full_version)
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
        extras = ("",) + tuple(sorted(canonicalize_name(e) for e in requirement.extras))
        for extra in extras:
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            if extra == "" and meta.requires_python:
                findings += _requires_python(dist, meta.requires_python, python, target)
            parent = f"{name}[{extra}] {dist.version}" if extra else f"{name} {dist.version}"
            for line in meta.requires_dist:
                try:
                    needed = Requirement(line)
                except InvalidRequirement:
                    continue
                if not target.applies(needed.marker, extra):
                    continue
                needed.marker = None
                queue.append((needed, parent))
    return findings


def _missing(requirement, who, name, present, usable, target) -> Finding:
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


def _requires_python(dist: Dist, text: str, python: Version, target: Target) -> list[Finding]:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        if SpecifierSet(text).contains(python, prereleases=True):
            return []
    except InvalidSpecifier:
        return []
    return [Finding("requires-python", f"{dist.filename} requires Python {text}; "
                    f"{target.name} is {target.python_full_version}.", file=dist.filename,
                    project=dist.name, expected=text, found=target.python_full_version,
                    target=target.name)]


def check_locks(
    folder: Path, manifest: dict[str, Any], entries: dict[str, dict[str, Any]],
    targets: list[Target],
) -> list[Finding]:
    """Check 8 for every lock the manifest names (one per target, or the one lock)."""
    locks = manifest.get("locks") or {}
    if not isinstance(locks, dict) or not locks:
        return check_lock(folder, LOCK, entries.values())
    findings = []
    for target_name, lock in sorted(locks.items()):
        mine = [e for e in entries.values() if target_name in (e.get("targets") or ())]
        findings += [dataclasses.replace(f, target=target_name)
                     for f in check_lock(folder, str(lock), mine)]
    return findings


def check_lock(folder: Path, lock: str, entries: Iterable[dict[str, Any]]) -> list[Finding]:
    """Check 8: a lock pins exactly the manifest's files, with the same hashes."""
    path = folder / lock
    if not path.exists():
        return [Finding("lock", f"{lock} is missing.", file=lock, expected="present",
                        found="absent")]
    locked = parse_lock(path.read_text(encoding="utf-8", errors="replace"))
    listed: dict[str, tuple[str, set[str]]] = {}
    for entry in entries:
        if isinstance(entry.get("name"), str) and entry.get("role", "install") == "install":
            version, hashes = listed.get(entry["name"], (entry.get("version"), set()))
            hashes.add(entry.get("sha256"))
            listed[entry["name"]] = (version, hashes)
    findings = []
    for name in sorted(set(locked) | set(listed)):
        want, have = listed.get(name), locked.get(name)
        if have is None:
            findings.append(Finding("lock", f"{name} is in the manifest but not in {lock}.",
                                    file=lock, project=name, expected=f"{name}=={want[0]}",
                                    found="absent"))
        elif want is None:
            findings.append(Finding("lock", f"{lock} pins {name}=={have[0]}, which the "
                                    "manifest does not list.", file=lock, project=name,
                                    expected="absent", found=f"{name}=={have[0]}"))
        elif parse_version(str(want[0])) != parse_version(have[0]) or want[1] != have[1]:
            findings.append(Finding("lock", f"{lock} pins {name} differently from the "
                                    "manifest.", file=lock, project=name,
                                    expected=f"{want[0]} {sorted(want[1])}",
                                    found=f"{have[0]} {sorted(have[1])}"))
    return findings


def check_airflow(
    folder: Path, manifest: dict[str, Any] | None, dists: list[Dist], targets: list[Target]
) -> list[Finding]:
    """Check 9: what Airflow's image needs to build with no index at all."""
    findings = []
    present = {d.name for d in dists}
    for name in (airflow.AIRFLOW, *airflow.IMAGE_TOOLS):
        if name not in present:
            findings.append(Finding("airflow", f"{name} is not in the folder, and the Airflow "
                                    "image installs it during the build.", project=name,
                                    expected="present", found="absent"))
    source = None
    if manifest is not None and isinstance(manifest.get("constraints"), dict):
        info = manifest["constraints"]
        source = info.get("url") or info.get("path") or info.get("source")
    for target in targets:
        python = airflow.constraints_python(str(source)) if source else None
        if python is not None and python != target.python:
            findings.append(Finding("airflow", f"the constraints are for Python {python}, the "
                                    f"target is {target.python}.", file=str(source),
                                    expected=target.python, found=python, target=target.name))
        if not (folder / f"constraints-{target.python}.txt").exists():
            findings.append(Finding("airflow", f"constraints-{target.python}.txt, which the "
                                    "build arguments name, is not in the folder.",
                                    file=f"constraints-{target.python}.txt", expected="present",
                                    found="absent", target=target.name))
    findings += _check_pip_conf(folder / "pip.conf")
    return findings


def _check_pip_conf(path: Path) -> list[Finding]:
    """The image's pip must never reach for an index: no-index, find-links to the folder."""
    if not path.exists():
        return [Finding("airflow", "pip.conf is missing: the image's pip would use the index.",
                        file="pip.conf", expected="present", found="absent")]
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text(encoding="utf-8"))
    except (configparser.Error, UnicodeDecodeError) as exc:
        return [Finding("airflow", f"pip.conf cannot be parsed ({exc}).", file="pip.conf")]
    section = parser["global"] if parser.has_section("global") else {}
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


def _targets(manifest, pythons, platforms) -> list[Target]:
    if pythons or platforms:
        return [make_target(python, platform)
                for python in (pythons or [None]) for platform in (platforms or [None])]
    if manifest is not None and manifest.get("targets"):
        return [target_from_description(t) for t in manifest["targets"]]
    return [make_target()]


def _constraints_name(manifest) -> str | None:
    if manifest is None or not isinstance(manifest.get("constraints"), dict):
        return None
    return manifest["constraints"].get("filename")


def _constraints(folder, constraints_file, constraints_name, target) -> Constraints | None:
    """--constraints, else the folder's constraints-<PY>.txt for the target, else the manifest's."""
    if constraints_file is not None:
        path = constraints_file
    elif (folder / f"constraints-{target.python}.txt").exists():
        path = folder / f"constraints-{target.python}.txt"
    elif constraints_name:
        path = folder / constraints_name
    else:
        return None
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read constraints file {path}: {exc.strerror}.") from None
    return Constraints(str(path), content, path=str(path), pins=parse_constraints(content,
                                                                                  path.name))


def _dists(inspections: dict[str, Inspection]) -> list[Dist]:
    dists = []
    for filename, inspection in sorted(inspections.items()):
        name, version, kind, tags = parse_filename(filename)
        dists.append(Dist(filename, name, version, kind, inspection.metadata, tags))
    return dists


def _by_name(dists: Iterable[Dist]) -> dict[str, list[Dist]]:
    found = defaultdict(list)
    for dist in dists:
        found[dist.name].append(dist)
    return found


def _project(filename: str) -> str | None:
    parsed = parse_filename(filename)
    return parsed[0] if parsed is not None else None


def _unique(findings: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))

"""`wheelhouse prepare`: constraints -> resolution -> verified downloads -> lock and manifest.

The pipeline overlaps its stages: the look-ahead (`sources.py`) fetches pages, downloads
pinned files, reads their METADATA and builds sdists ahead of the resolver, which reads
each wheel's METADATA from the file it will ship, so nothing is fetched twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from wheelhouse import __version__, airflow, net, rerun
from wheelhouse.build import cache_root
from wheelhouse.constraints import Constraints, Pin, load_constraints
from wheelhouse.download import Downloader
from wheelhouse.errors import InputError
from wheelhouse.files import file_sha256, part_name, remove_partials, write_atomic
from wheelhouse.index import PAGE_WORKERS, PYPI, Index, parse_version
from wheelhouse.manifest import LOCK, MANIFEST, FileEntry, dumps, lock_text, manifest_document
from wheelhouse.manifest import read_manifest as read_previous
from wheelhouse.report import PrepareProgress
from wheelhouse.resolve import Resolution, ResolvedPin, resolve
from wheelhouse.sdist import build_requires
from wheelhouse.sources import WheelhouseSources, Workshop
from wheelhouse.target import Target, make_targets


@dataclass
class PrepareOptions:
    """Everything `prepare` was asked, in the user's words."""

    specs: list[str]
    requirement_files: list[Path] = field(default_factory=list)
    constraints: str | None = None
    pythons: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    implementation: str = "cp"
    abis: tuple[str, ...] = ()
    dest: Path = Path("docker-context-files")
    index_url: str = PYPI
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[Path] = field(default_factory=list)
    jobs: int = 8
    allow_build: bool = True
    cache_dir: Path | None = None
    pip_version: str | None = None
    uv_version: str | None = None
    keep_sdists: bool = False
    refresh: bool = False


def read_requirement_files(paths: list[Path]) -> list[str]:
    """Requirement lines from -r files: one spec a line, comments and blanks allowed."""
    specs: list[str] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read requirements file {path}: {exc.strerror}.") from None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-"):
                raise InputError(f"{path}, line {number}: pip options such as "
                                 f"{line.split()[0]!r} are not supported; give specs only.")
            specs.append(line)
    return specs


def prepare(options: PrepareOptions, progress: PrepareProgress) -> dict[str, Any]:
    """Run the whole pipeline for every target; return the summary the CLI prints."""
    started = time.monotonic()
    created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")
    specs = list(options.specs) + read_requirement_files(options.requirement_files)
    if not specs:
        raise InputError("nothing to prepare: give at least one requirement, e.g. "
                         "wheelhouse prepare 'requests==2.32.3'.")
    if options.jobs < 1:
        raise InputError(f"--jobs {options.jobs}: give at least 1.")
    for folder in options.find_links:
        if not folder.is_dir():
            raise InputError(f"--find-links {folder} is not a folder.")
    targets = make_targets(options.pythons, options.platforms, options.implementation,
                           options.abis)
    dest = options.dest
    if dest.exists() and not dest.is_dir():
        raise InputError(f"--dest {dest} exists and is not a folder.")
    index_urls = [options.index_url, *options.extra_index_urls]
    session = net.make_session(pool_size=PAGE_WORKERS + options.jobs)

    progress.stage("fetching constraints")
    constraints = _load_constraints(options.constraints, targets, session)
    for_airflow = airflow.is_airflow(specs)

    dest.mkdir(parents=True, exist_ok=True)
    remove_partials(dest)
    previous = read_previous(dest)
    progress.stage("checking what is already in the folder")
    digest = rerun.inputs_digest(_inputs(options, specs, constraints, targets, index_urls))
    if not options.refresh and not (dest / LEDGER).exists() and rerun.unchanged(
            dest, previous, digest):
        return _unchanged_summary(previous, dest, targets, constraints, started)
    ours = _listed(previous) | _read_ledger(dest)
    index = Index(session, index_urls, options.find_links, _pinned_versions(constraints, targets))
    downloader = Downloader(session, dest, jobs=options.jobs, on_bytes=progress.bytes_done)
    workshop = Workshop(downloader, build={
        "cache": cache_root(options.cache_dir),
        "index_urls": index_urls,
        "find_links": options.find_links,
    })
    plans: list[TargetPlan] = []
    try:
        for target in targets:
            pins = constraints[target.python].pins_for(target) if constraints else {}
            roots = list(specs)
            if for_airflow:
                roots += airflow.image_requirements(set(pins), options.pip_version,
                                                    options.uv_version)
            sources = WheelhouseSources(index, workshop, target, pins, options.allow_build)
            progress.stage(f"resolving for {target.name}")
            resolution = resolve(roots, pins, target, sources, options.allow_build, progress)
            progress.stage(f"downloading for {target.name}")
            run = Run(sources, dest, target, pins, options.allow_build)
            entries = _collect(resolution.pins, run)
            airflow_version = next((str(p.version) for p in resolution.pins
                                    if p.name == airflow.AIRFLOW), None)
            if airflow_version and airflow.builds_from_sdists(airflow_version):
                progress.stage("adding the sdists Airflow 3.1+ builds")
                entries += _image_sdists(resolution.pins, run)
            if options.keep_sdists:
                entries = _keep_sdists(entries, resolution.pins, run)
            plans.append(TargetPlan(target, resolution, entries))
        _refuse_misfits(plans)
    except BaseException:
        # Whole, verified files stay for the next run to reuse; the ledger lets it also
        # remove those it does not need.
        _write_ledger(dest, ours | downloader.written)
        raise
    finally:
        index.close()
        downloader.close()
        workshop.close()
    entries = _merge([entry for plan in plans for entry in plan.entries])

    keep = {entry.filename for entry in entries}
    for filename in (downloader.written | ours) - keep:
        (dest / filename).unlink(missing_ok=True)
    (dest / LEDGER).unlink(missing_ok=True)

    warnings = [w for plan in plans for w in plan.resolution.warnings]
    if for_airflow and not constraints:
        warnings.append("Airflow's image reads its constraints from the folder "
                        f"(constraints-{targets[0].python}.txt), and none were given: add "
                        "--constraints, e.g. airflow:VERSION.")

    # The old manifest goes first: a run stopped from here on leaves none rather than a lie.
    (dest / MANIFEST).unlink(missing_ok=True)
    written: dict[str, str] = {}  # every file written beside the wheels, with its sha256
    constraints_names = _constraints_names(constraints)
    for name, item in zip(constraints_names, (constraints or {}).values()):
        _write(dest, name, item.content, written)
    airflow_info = None
    if for_airflow:
        airflow_info = _write_airflow_files(dest, constraints, plans, written)
    header = "wheelhouse prepare " + " ".join(specs)
    locks = {}
    for plan in plans:
        name = LOCK if len(plans) == 1 else f"requirements.{plan.target.name}.lock.txt"
        mine = [e for e in entries if plan.target.name in e.targets]
        _write(dest, name, lock_text(mine, plan.target.name, header).encode(), written)
        locks[plan.target.name] = name
    constraints_info = None
    if constraints:
        first = targets[0].python
        constraints_info = constraints[first].describe() | {"filename": f"constraints-{first}.txt"}
    document = manifest_document(
        tool_version=__version__,
        created=created,
        requirements=specs,
        constraints=constraints_info,
        targets=[target.describe() for target in targets],
        index_urls=[net.redact(url) for url in index_urls],
        find_links=[str(folder) for folder in options.find_links],
        files=entries,
        lock=LOCK if len(plans) == 1 else None,
        locks=locks,
        constraints_by_python={
            python: item.describe() | {"filename": f"constraints-{python}.txt"}
            for python, item in constraints.items()
        } if constraints and len(constraints) > 1 else None,
        airflow=airflow_info,
        rerun=rerun.record(digest, written, warnings),
    )
    write_atomic(dest / MANIFEST, dumps(document).encode())
    return _summary(
        dest, [(e.filename, e.size, e.targets) for e in entries], targets, locks,
        constraints_names, workshop.statuses, warnings, started, up_to_date=False,
    )


def _inputs(
    options: PrepareOptions,
    specs: list[str],
    constraints: Mapping[str, Constraints],
    targets: list[Target],
    index_urls: list[str],
) -> dict[str, Any]:
    """Everything that decides the wheelhouse, for the re-run digest (rerun.py)."""
    return {
        "wheelhouse": __version__,
        "requirements": specs,
        "constraints": {python: [item.source, item.sha256]
                        for python, item in (constraints or {}).items()},
        "targets": [target.describe() for target in targets],
        "index_urls": [net.redact(url) for url in index_urls],
        "find_links": [[str(folder), rerun.folder_listing(folder)]
                       for folder in options.find_links],
        "allow_build": options.allow_build,
        "keep_sdists": options.keep_sdists,
        "pip_version": options.pip_version,
        "uv_version": options.uv_version,
    }


def _unchanged_summary(
    manifest: dict[str, Any], dest: Path, targets: list[Target],
    constraints: Mapping[str, Constraints], started: float,
) -> dict[str, Any]:
    """The summary of a re-run that found the folder as the same inputs left it."""
    files = [(f["filename"], f["size"], tuple(f.get("targets") or ())) for f in manifest["files"]]
    return _summary(
        dest, files, targets, manifest.get("locks") or {}, _constraints_names(constraints), {},
        list(manifest["rerun"].get("warnings") or []), started, up_to_date=True,
    )


def _summary(
    dest: Path,
    files: list[tuple[str, int, tuple[str, ...]]],
    targets: list[Target],
    locks: dict[str, str],
    constraints_names: list[str],
    statuses: dict[str, str],
    warnings: list[str],
    started: float,
    up_to_date: bool,
) -> dict[str, Any]:
    """What the CLI prints (and --json gives) for a finished run."""
    keep = {filename for filename, _, _ in files}
    unknown = sorted(
        p.name for p in dest.iterdir()
        if p.is_file() and p.name not in keep and not _ours(p.name, constraints_names, locks)
    )
    warnings = list(warnings)
    if unknown:
        warnings.append(
            f"{dest} holds {len(unknown)} file(s) this run did not put there "
            f"({', '.join(unknown[:3])}{'...' if len(unknown) > 3 else ''}); verify will "
            "report them."
        )
    counts = {"downloaded": [0, 0], "reused": [0, 0], "built": [0, 0]}
    for filename, size, _ in files:
        bucket = counts[statuses.get(filename, "reused")]
        bucket[0] += 1
        bucket[1] += size
    return {
        "ok": True,
        "up_to_date": up_to_date,
        "dest": str(dest),
        "files": len(files),
        "targets": [target.name for target in targets],
        "files_per_target": {target.name: sum(target.name in t for _, _, t in files)
                             for target in targets},
        "counts": {key: value[0] for key, value in counts.items()},
        "bytes": {key: value[1] for key, value in counts.items()}
        | {"total": sum(size for _, size, _ in files)},
        "lock": str(dest / LOCK) if len(targets) == 1 else None,
        "locks": {name: str(dest / lock) for name, lock in locks.items()},
        "manifest": str(dest / MANIFEST),
        "constraints": [str(dest / name) for name in constraints_names],
        "seconds": round(time.monotonic() - started, 2),
        "warnings": list(dict.fromkeys(warnings)),
    }


def _constraints_names(constraints: Mapping[str, Constraints] | None) -> list[str]:
    return [f"constraints-{python}.txt" for python in (constraints or {})]


def _write(dest: Path, name: str, data: bytes, written: dict[str, str]) -> None:
    write_atomic(dest / name, data)
    written[name] = hashlib.sha256(data).hexdigest()


@dataclass
class TargetPlan:
    """One target's resolution and the files it needs."""

    target: Target
    resolution: Resolution
    entries: list[FileEntry]


def _load_constraints(
    source: str | None, targets: list[Target], session
) -> dict[str, Constraints]:
    """Constraints per target Python: one file for all, or Airflow's file for each Python."""
    if not source:
        return {}
    found: dict[str, Constraints] = {}
    for target in targets:
        if target.python in found:
            continue
        if not source.startswith("airflow:") and found:
            found[target.python] = next(iter(found.values()))
            continue
        found[target.python] = load_constraints(source, target, session)
    return found


def _pinned_versions(
    constraints: Mapping[str, Constraints], targets: list[Target]
) -> dict[str, set[Version]]:
    """Per project, every version some target's constraints pin it to."""
    found: dict[str, set[Version]] = defaultdict(set)
    unparsable: set[str] = set()
    for target in targets:
        if target.python not in constraints:
            continue
        for name, pin in constraints[target.python].pins_for(target).items():
            version = parse_version(pin.version)
            if version is None:
                unparsable.add(name)
            else:
                found[name].add(version)
    return {name: versions for name, versions in found.items() if name not in unparsable}


def _merge(entries: list[FileEntry]) -> list[FileEntry]:
    """One entry per file, serving the union of the targets (and parents) that need it."""
    merged: dict[str, FileEntry] = {}
    for entry in entries:
        seen = merged.get(entry.filename)
        if seen is None:
            merged[entry.filename] = entry
            continue
        merged[entry.filename] = dataclasses.replace(
            seen,
            targets=tuple(sorted(set(seen.targets) | set(entry.targets))),
            required_by=tuple(sorted(set(seen.required_by) | set(entry.required_by))),
            extras=tuple(sorted(set(seen.extras) | set(entry.extras))),
        )
    return sorted(merged.values(), key=lambda e: e.filename)


def _refuse_misfits(plans: list[TargetPlan]) -> None:
    """A wheel built here that does not fit a target: name every package and target at once."""
    misfits = [
        f"{entry.sdist['filename']} built {entry.filename}, which does not fit "
        f"{plan.target.name}"
        for plan in plans for entry in plan.entries
        if entry.kind == "built-wheel" and plan.target.rank(_parsed_tags(entry.filename)) is None
    ]
    if misfits:
        raise InputError(
            f"{len(misfits)} package(s) cannot be served: " + "; ".join(misfits)
            + " (only a pure wheel built here serves another target; --keep-sdists ships the "
            "sdists for the image to build instead)."
        )


def _write_airflow_files(
    dest: Path, constraints: Mapping[str, Constraints], plans: list[TargetPlan],
    written: dict[str, str],
) -> dict[str, Any]:
    """pip.conf that keeps the image's pip offline, and the constraints where the image looks."""
    _write(dest, "pip.conf", airflow.PIP_CONF.encode(), written)
    versions = {pin.name: str(pin.version) for pin in plans[0].resolution.pins}
    info: dict[str, Any] = {
        "version": versions[airflow.AIRFLOW],
        "pip_conf": "pip.conf",
        "image_tools": {name: versions.get(name) for name in airflow.IMAGE_TOOLS},
        "constraints_mode": None,
        "constraints_files": [],
    }
    for python, item in constraints.items():
        mode = airflow.constraints_file_mode(item.url or item.source, item.airflow_mode)
        folder = dest / f"constraints-{python}"
        folder.mkdir(exist_ok=True)
        name = f"{folder.name}/{mode}-{python}.txt"
        _write(dest, name, item.content, written)
        info["constraints_mode"] = mode
        info["constraints_files"] += [f"constraints-{python}.txt", name]
    return info


@dataclass
class Run:
    """One target's part of the run: where files go and what decides them."""

    sources: WheelhouseSources
    dest: Path
    target: Target
    pins: Mapping[str, Pin]
    allow_build: bool


def _image_sdists(main: list[ResolvedPin], run: Run) -> list[FileEntry]:
    """Airflow 3.1+ builds lxml and xmlsec from sdists (--no-binary): ship those too."""
    wanted = [pin for pin in main if pin.name in airflow.NO_BINARY]
    why = f"--no-binary {','.join(airflow.NO_BINARY)} (Airflow 3.1+)"
    return _ship_sdists(wanted, main, run, "image", why)


def _keep_sdists(entries: list[FileEntry], main: list[ResolvedPin], run: Run) -> list[FileEntry]:
    """--keep-sdists: where a wheel built here does not fit the target, ship its sdist."""
    misfits = {e.name for e in entries if e.kind == "built-wheel"
               and run.target.rank(_parsed_tags(e.filename)) is None}
    if not misfits:
        return entries
    wanted = [pin for pin in main if pin.name in misfits]
    kept = [e for e in entries if e.name not in misfits]
    return kept + _ship_sdists(wanted, main, run, "install", None)


def _ship_sdists(
    wanted: list[ResolvedPin], main: list[ResolvedPin], run: Run, role: str, why: str | None
) -> list[FileEntry]:
    """The sdists of `wanted`, and wheels of their build requirements for the target.

    They are built from the folder alone (pip.conf, or --no-index --find-links), so their
    build requirements must be wheels in the folder too, at the versions the folder already
    holds where it holds them.
    """
    shipped = {pin.name for pin in main}
    chosen = []
    for pin in wanted:
        sdists = sorted((f for f in run.sources.files(pin.name)
                         if f.version == pin.version and f.kind == "sdist"),
                        key=lambda f: f.preference)
        if not sdists:
            raise InputError(f"{pin.name} {pin.version} has no sdist on the index to ship "
                             f"for {run.target.name}.")
        local = run.sources.downloader.fetch(sdists[0]).result()
        status = "reused" if local.reused else "downloaded"
        run.sources.workshop.statuses[sdists[0].filename] = status
        chosen.append((pin, sdists[0], local))
    entries = [
        FileEntry(
            filename=sdist.filename, name=pin.name, version=str(pin.version),
            sha256=local.sha256, size=local.size, url=net.redact(sdist.url),
            index_sha256=sdist.sha256, kind="sdist", tags=(), requires_python=None,
            license=None, required_by=(why,) if why else pin.required_by, extras=pin.extras,
            index=sdist.index, targets=(run.target.name,), role=role,
        )
        for pin, sdist, local in chosen
    ]
    names = {pin.name for pin in wanted}
    needs = sorted({
        text for _, _, local in chosen for text in build_requires(local.path)
        if canonicalize_name(Requirement(text).name) not in names
    })
    if not needs:
        return entries
    same = {
        pin.name: Pin(pin.name, str(pin.version), Requirement(f"{pin.name}=={pin.version}"), 0)
        for pin in main
    }
    build = resolve(needs, {**run.pins, **same}, run.target, run.sources, run.allow_build)
    fresh = [pin for pin in build.pins if pin.name not in shipped]
    wheels = _collect(fresh, run)
    return entries + [dataclasses.replace(w, role="build") for w in wheels]


def _collect(pins: list[ResolvedPin], run: Run) -> list[FileEntry]:
    """Wait for every pinned file, place built wheels, and describe each for the manifest."""
    sources, dest, target = run.sources, run.dest, run.target
    futures = {pin.name: sources.downloader.fetch(pin.file) for pin in pins}
    statuses = sources.workshop.statuses
    entries = []
    for pin in pins:
        local = futures[pin.name].result()
        metadata = sources.metadata(pin.file)
        common = {
            "name": pin.name,
            "version": str(pin.version),
            "requires_python": metadata.requires_python,
            "license": metadata.license,
            "required_by": pin.required_by,
            "extras": pin.extras,
            "index": pin.file.index,
            "yanked": pin.file.yanked,
            "targets": (target.name,),
        }
        if pin.file.is_wheel:
            entries.append(FileEntry(
                filename=pin.file.filename, sha256=local.sha256, size=local.size,
                url=net.redact(pin.file.url), index_sha256=pin.file.sha256, kind="wheel",
                tags=_tags(pin.file.filename), **common,
            ))
            statuses.setdefault(pin.file.filename, "reused" if local.reused else "downloaded")
        else:
            built = sources.workshop.built[pin.file.filename]
            wheel, sha256, size = _place(built.wheel, dest)
            entries.append(FileEntry(
                filename=wheel.name, sha256=sha256, size=size, url=net.redact(pin.file.url),
                index_sha256=pin.file.sha256, kind="built-wheel", tags=_tags(wheel.name),
                sdist={
                    "filename": pin.file.filename,
                    "sha256": built.sdist_sha256,
                    "index_sha256": pin.file.sha256,
                    "size": built.sdist_size,
                    "url": net.redact(pin.file.url),
                },
                **common,
            ))
            statuses[wheel.name] = "built"
    return entries


def _place(wheel: Path, dest: Path) -> tuple[Path, str, int]:
    """Copy a built wheel from the cache into the wheelhouse, atomically."""
    final = dest / wheel.name
    sha256 = file_sha256(wheel)
    if final.is_file() and file_sha256(final) == sha256:
        return final, sha256, final.stat().st_size
    part = part_name(final, uuid.uuid4().hex[:8])
    try:
        shutil.copyfile(wheel, part)
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)
    return final, sha256, final.stat().st_size


def _tags(filename: str) -> tuple[str, ...]:
    return tuple(sorted(str(tag) for tag in _parsed_tags(filename)))


def _parsed_tags(filename: str) -> frozenset[Tag]:
    return parse_wheel_filename(filename)[3]


LEDGER = ".wheelhouse-fetched.json"


def _read_ledger(dest: Path) -> set[str]:
    """Files an earlier, failed run fetched: ours to reuse or remove."""
    try:
        names = json.loads((dest / LEDGER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {n for n in names if isinstance(n, str) and "/" not in n} if isinstance(
        names, list) else set()


def _write_ledger(dest: Path, names: set[str]) -> None:
    if not names:
        return
    with contextlib.suppress(OSError):
        write_atomic(dest / LEDGER, json.dumps(sorted(names)).encode())


def _listed(manifest: dict[str, Any] | None) -> set[str]:
    if not manifest:
        return set()
    return {f.get("filename") for f in manifest.get("files", []) if isinstance(f, dict)} - {None}


def _ours(filename: str, constraints_names: list[str], locks: dict[str, str]) -> bool:
    known = {MANIFEST, LOCK, "pip.conf", *constraints_names, *locks.values()}
    return filename in known or filename.lower().startswith("readme")

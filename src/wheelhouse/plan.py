"""One target's part of a run: resolve, wait for its files, and describe each for the manifest.

Wheels built here are placed in the folder from the build cache; where a built wheel cannot
serve a target, `--keep-sdists` (and Airflow 3.1+'s image, always for lxml and xmlsec) ships
the sdist and the wheels of its build requirements instead.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename

from wheelhouse import airflow, ledger, net
from wheelhouse.constraints import Pin
from wheelhouse.download import LocalFile
from wheelhouse.errors import InputError
from wheelhouse.files import file_sha256, part_name, sync_file
from wheelhouse.layout import path_in
from wheelhouse.manifest import FileEntry, Role, SdistOrigin
from wheelhouse.report import PrepareProgress
from wheelhouse.resolve import Resolution, ResolvedPin, resolve
from wheelhouse.sdist import build_requires
from wheelhouse.sources import Status, WheelhouseSources
from wheelhouse.target import Target
from wheelhouse.wheelfile import shipping_problems


def plan_target(
    roots: list[str], run: Run, keep_sdists: bool, progress: PrepareProgress
) -> TargetPlan:
    """Resolve for one target and wait for every file it needs."""
    target = run.target
    progress.stage(f"resolving for {target.name}")
    resolution = resolve(roots, run.pins, target, run.sources, run.allow_build, progress,
                         pre=run.pre)
    resolution.warnings.extend(yanked_warnings(resolution.pins))
    progress.stage(f"downloading for {target.name}")
    entries = _collect(resolution.pins, run)
    airflow_version = next((str(p.version) for p in resolution.pins
                            if p.name == airflow.AIRFLOW), None)
    if airflow_version and airflow.builds_from_sdists(airflow_version):
        progress.stage("adding the sdists Airflow 3.1+ builds")
        entries += _image_sdists(resolution.pins, run)
    if keep_sdists:
        entries = _keep_sdists(entries, resolution.pins, run)
    return TargetPlan(target, resolution, entries)


def yanked_warnings(pins: Sequence[ResolvedPin]) -> list[str]:
    """A pin on a yanked file is allowed (it was asked for exactly), never silent: pip warns
    with the index's reason too."""
    return [f"{pin.name} {pin.version} is yanked on the index"
            + (f": {pin.file.yanked_reason}" if pin.file.yanked_reason else " (no reason given)")
            + "; it is shipped because it was pinned exactly."
            for pin in pins if pin.file.yanked]


@dataclass
class TargetPlan:
    """One target's resolution and the files it needs."""

    target: Target
    resolution: Resolution
    entries: list[FileEntry]


@dataclass
class Run:
    """One target's part of the run: where files go and what decides them."""

    sources: WheelhouseSources
    dest: Path
    target: Target
    pins: Mapping[str, Pin]
    allow_build: bool
    pre: bool = False  # --pre: pre-releases are candidates like any release


def refuse_misfits(plans: list[TargetPlan]) -> None:
    """A wheel built here that does not fit a target: name every package and target at once."""
    misfits = [
        f"{entry.sdist.filename} built {entry.filename}, which does not fit "
        f"{plan.target.name}"
        for plan in plans for entry in plan.entries
        if entry.sdist is not None and plan.target.rank(_parsed_tags(entry.filename)) is None
    ]
    if misfits:
        raise InputError(
            f"{len(misfits)} package(s) cannot be served: " + "; ".join(misfits)
            + " (only a pure wheel built here serves another target; --keep-sdists ships the "
            "sdists for the image to build instead)."
        )


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
    wanted: list[ResolvedPin], main: list[ResolvedPin], run: Run, role: Role, why: str | None
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
        run.sources.workshop.statuses[sdists[0].filename] = _status(local)
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
    build = resolve(needs, {**run.pins, **same}, run.target, run.sources, run.allow_build,
                    pre=run.pre)
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
        described = FileEntry(
            filename=pin.file.filename, name=pin.name, version=str(pin.version),
            sha256=local.sha256, size=local.size, url=net.redact(pin.file.url),
            index_sha256=pin.file.sha256, kind="wheel", tags=(),
            requires_python=metadata.requires_python, license=metadata.license,
            required_by=pin.required_by, extras=pin.extras, index=pin.file.index,
            yanked=pin.file.yanked, targets=(target.name,),
        )
        if pin.file.is_wheel:
            _refuse_unsound(pin.file.filename, local.problems)
            entries.append(dataclasses.replace(described, tags=_tags(pin.file.filename)))
            statuses.setdefault(pin.file.filename, _status(local))
            continue
        built = sources.workshop.built[pin.file.filename]
        wheel, sha256, size = _place(built.wheel, dest)
        _refuse_unsound(wheel.name, shipping_problems(wheel))
        entries.append(dataclasses.replace(
            described, filename=wheel.name, sha256=sha256, size=size, kind="built-wheel",
            tags=_tags(wheel.name),
            sdist=SdistOrigin(filename=pin.file.filename, sha256=built.sdist_sha256,
                              index_sha256=pin.file.sha256, size=built.sdist_size,
                              url=net.redact(pin.file.url)),
            build=built.build,
        ))
        statuses[wheel.name] = "built"
    return entries


def _refuse_unsound(filename: str, problems: Sequence[str]) -> None:
    """A wheel verify would reject is an error naming it, not a success."""
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InputError(f"{filename} cannot be shipped: {' '.join(problems[:3])}{more}")


def _status(local: LocalFile) -> Status:
    return "reused" if local.reused else "downloaded"


def _place(wheel: Path, dest: Path) -> tuple[Path, str, int]:
    """Copy a built wheel from the cache into the wheelhouse, atomically."""
    final = path_in(dest, wheel.name)
    sha256 = file_sha256(wheel)
    if final.is_symlink():
        final.unlink()
    if final.is_file() and file_sha256(final) == sha256:
        return final, sha256, final.stat().st_size
    part = part_name(final, uuid.uuid4().hex[:8])
    try:
        shutil.copyfile(wheel, part)
        sync_file(part)
        ledger.record(dest, [final.name])  # before the name: see ledger.py
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)
    return final, sha256, final.stat().st_size


def _tags(filename: str) -> tuple[str, ...]:
    return tuple(sorted(str(tag) for tag in _parsed_tags(filename)))


def _parsed_tags(filename: str) -> frozenset[Tag]:
    return parse_wheel_filename(filename)[3]



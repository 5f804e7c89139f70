"""One target's part of a run: resolve, wait for its files, and describe each for the manifest.

The resolution reads METADATA only; sdists of the final pins are built after it. For a
target whose Python or platform this machine is not, an sdist that would build a non-pure
wheel is known from its contents before it is built: the run stops naming every such
package, or `--keep-sdists` ships the sdist and the wheels of its build requirements instead
(as Airflow 3.1+'s image always needs for lxml and xmlsec). A built wheel that still does
not fit is never placed in the folder.
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
from wheelhouse.licenses import declared_by
from wheelhouse.manifest import FileEntry, Role, SdistOrigin
from wheelhouse.report import PrepareProgress
from wheelhouse.resolve import Resolution, ResolvedPin, resolve
from wheelhouse.sdist import build_requires, native_evidence, stated_metadata
from wheelhouse.sources import Status, WheelhouseSources
from wheelhouse.target import Target, builds_here_fit, native_build_name
from wheelhouse.wheelfile import shipping_problems


def resolve_target(roots: list[str], run: Run, progress: PrepareProgress) -> Resolution:
    """The target's pins, from METADATA alone: nothing is built yet."""
    progress.stage(f"resolving for {run.target.name}")
    resolution = resolve(roots, run.pins, run.target, run.sources, run.allow_build, progress,
                         pre=run.pre)
    resolution.warnings.extend(yanked_warnings(resolution.pins))
    return resolution


def plan_target(
    resolution: Resolution, run: Run, keep_sdists: bool, progress: PrepareProgress,
    cannot_build: Sequence[Misfit] = (),
) -> TargetPlan:
    """Wait for every file the target's pins need: downloads, and builds of sdists (but for
    those `cannot_build`, whose sdists ship instead: --keep-sdists)."""
    target = run.target
    progress.stage(f"downloading for {target.name}")
    unbuildable = {misfit.pin.name for misfit in cannot_build}
    pins = [pin for pin in resolution.pins if pin.name not in unbuildable]
    entries, misfits = _collect(pins, run)
    airflow_version = next((str(p.version) for p in resolution.pins
                            if p.name == airflow.AIRFLOW), None)
    if airflow_version and airflow.builds_from_sdists(airflow_version):
        progress.stage("adding the sdists Airflow 3.1+ builds")
        entries += _image_sdists(resolution.pins, run)
    shipped_as_sdists = unbuildable | ({m.pin.name for m in misfits} if keep_sdists else set())
    if shipped_as_sdists:
        wanted = [pin for pin in resolution.pins if pin.name in shipped_as_sdists]
        entries += _ship_sdists(wanted, resolution.pins, run, "install", None)
    return TargetPlan(target, resolution, entries, [] if keep_sdists else misfits)


@dataclass(frozen=True)
class Misfit:
    """A pin whose sdist cannot give the target a wheel here, and why."""

    pin: ResolvedPin
    why: str


def cannot_build_here(pins: Sequence[ResolvedPin], run: Run) -> list[Misfit]:
    """Pins whose sdist would build a non-pure wheel, for a target whose Python or platform
    this machine is not: known from the sdist before minutes are spent compiling it."""
    if builds_here_fit(run.target):
        return []
    found = []
    for pin in pins:
        if pin.file.kind != "sdist":
            continue
        local = run.sources.downloader.fetch(pin.file).result()  # here: its metadata was read
        evidence = native_evidence(local.path)
        if evidence is not None:
            found.append(Misfit(pin, f"{pin.name} {pin.version} has only an sdist, and {evidence}"))
    return found


def refuse_unbuildable(found: Sequence[tuple[Target, list[Misfit]]]) -> None:
    """Every package that would need a non-pure build for a target this machine is not,
    named at once, before anything is built."""
    named = [f"{misfit.why} ({target.name})" for target, misfits in found for misfit in misfits]
    if named:
        raise InputError(
            f"{len(named)} package(s) would need a compiled build for a target this machine "
            f"({native_build_name()}) cannot build for: " + "; ".join(named) + ". Give "
            "--keep-sdists to ship the sdists (and their build requirements) for the target "
            "or the image to build, or prepare on a machine of the target."
        )


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
    misfits: list[Misfit] = dataclasses.field(default_factory=list)  # built; fit no target


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
    """A wheel built here that does not fit a target: name every package and target at once.
    The wheel never reached the folder."""
    misfits = [misfit.why for plan in plans for misfit in plan.misfits]  # each names its target
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
            upload_time=sdist.upload_time, license_facts=declared_by(stated_metadata(local.path)),
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
    wheels, misfits = _collect(fresh, run)
    if misfits:
        raise InputError(f"a build requirement of {', '.join(sorted(names))} cannot be "
                         f"served for {run.target.name}: "
                         + "; ".join(m.why for m in misfits) + ".")
    return entries + [dataclasses.replace(w, role="build") for w in wheels]


def _collect(pins: list[ResolvedPin], run: Run) -> tuple[list[FileEntry], list[Misfit]]:
    """Wait for every pinned file and build, place the built wheels that fit the target, and
    describe each for the manifest; a built wheel that does not fit is a misfit, not placed."""
    sources, dest, target = run.sources, run.dest, run.target
    futures = {pin.name: sources.downloader.fetch(pin.file) for pin in pins}
    builds = {pin.name: sources.workshop.wheel(pin.file) for pin in pins if not pin.file.is_wheel}
    statuses = sources.workshop.statuses
    entries: list[FileEntry] = []
    misfits: list[Misfit] = []
    for pin in pins:
        local = futures[pin.name].result()
        if pin.file.is_wheel:
            _refuse_unsound(pin.file.filename, local.problems)
            metadata = sources.workshop.shipped_metadata(pin.file, local)
        else:
            built = builds[pin.name].result()
            metadata = built.metadata
        described = FileEntry(
            filename=pin.file.filename, name=pin.name, version=str(pin.version),
            sha256=local.sha256, size=local.size, url=net.redact(pin.file.url),
            index_sha256=pin.file.sha256, kind="wheel", tags=(),
            requires_python=metadata.requires_python, license=metadata.license,
            required_by=pin.required_by, extras=pin.extras, index=pin.file.index,
            yanked=pin.file.yanked, targets=(target.name,), upload_time=pin.file.upload_time,
            license_facts=declared_by(metadata),
        )
        if pin.file.is_wheel:
            entries.append(dataclasses.replace(described, tags=_tags(pin.file.filename)))
            statuses.setdefault(pin.file.filename, _status(local))
            continue
        if target.rank(_parsed_tags(built.wheel.name)) is None:
            misfits.append(Misfit(pin, f"{pin.file.filename} built {built.wheel.name}, which "
                                  f"does not fit {target.name}"))
            continue
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
    return entries, misfits


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



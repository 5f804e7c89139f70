"""`wheelhouse prepare`: constraints -> resolution -> verified downloads -> lock and manifest.

The pipeline overlaps its stages: as soon as the resolver learns a dependency's name, its
index page is fetched, and when the constraints pin it, its file starts downloading. The
resolver then reads each wheel's METADATA from the file it will ship, so nothing is fetched
twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from wheelhouse import __version__, airflow, net
from wheelhouse.build import build_wheel, cache_root
from wheelhouse.constraints import Constraints, Pin, load_constraints
from wheelhouse.download import Downloader
from wheelhouse.errors import InputError
from wheelhouse.files import file_sha256, part_name, remove_partials, write_atomic
from wheelhouse.index import PYPI, Index, IndexFile
from wheelhouse.manifest import LOCK, MANIFEST, FileEntry, dumps, lock_text, manifest_document
from wheelhouse.manifest import read_manifest as read_previous
from wheelhouse.report import PrepareProgress
from wheelhouse.resolve import ResolvedPin, choose_file, resolve
from wheelhouse.sdist import build_requires
from wheelhouse.target import Target, make_target
from wheelhouse.wheelfile import Metadata, read_metadata


@dataclass
class PrepareOptions:
    """Everything `prepare` was asked, in the user's words."""

    specs: list[str]
    requirement_files: list[Path] = field(default_factory=list)
    constraints: str | None = None
    python: str | None = None
    platform: str | None = None
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


@dataclass
class Built:
    """A wheel built from an sdist, and the sdist it came from."""

    sdist: IndexFile
    sdist_sha256: str
    sdist_size: int
    wheel: Path


class WheelhouseSources:
    """The resolver's window on the world: index pages, downloads into the wheelhouse, builds."""

    def __init__(
        self,
        index: Index,
        downloader: Downloader,
        target: Target,
        pins: Mapping[str, Pin],
        build: dict[str, Any],
    ) -> None:
        self.index = index
        self.downloader = downloader
        self.target = target
        self.pins = pins
        self.build_settings = build
        self.built: dict[str, Built] = {}
        self._metadata: dict[str, Metadata] = {}
        self._prefetched: set[str] = set()

    def files(self, name: str) -> list[IndexFile]:
        return self.index.project_files(name)

    def metadata(self, file: IndexFile) -> Metadata:
        cached = self._metadata.get(file.filename)
        if cached is not None:
            return cached
        local = self.downloader.fetch(file).result()
        if file.is_wheel:
            path = local.path
        else:
            wheel = build_wheel(local.path, local.sha256, **self.build_settings)
            self.built[file.filename] = Built(file, local.sha256, local.size, wheel)
            path = wheel
        metadata = read_metadata(path)
        if canonicalize_name(metadata.name) != file.name or _version(metadata.version) != (
                file.version):
            raise InputError(
                f"{path.name} says it is {metadata.name} {metadata.version} in its METADATA, "
                f"not {file.name} {file.version}."
            )
        self._metadata[file.filename] = metadata
        return metadata

    def prefetch(self, names: Iterable[str]) -> None:
        for name in names:
            if name in self._prefetched:
                continue
            self._prefetched.add(name)
            future = self.index.prefetch(name)
            pin = self.pins.get(name)
            if pin is not None:
                future.add_done_callback(lambda f, pin=pin: self._start_pinned(f, pin))

    def _start_pinned(self, future, pin: Pin) -> None:
        """The constraints already decided this file: start downloading it now."""
        if future.cancelled() or future.exception() is not None:
            return  # the resolver meets the same error when it asks, and reports it
        files = [f for f in future.result() if pin.requirement.specifier.contains(
            f.version, prereleases=True)]
        chosen, _ = choose_file(files, self.target, True, False)
        if chosen is not None:
            with contextlib.suppress(RuntimeError):  # the run is already shutting down
                self.downloader.fetch(chosen)


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
    """Run the whole pipeline; return the summary the CLI prints."""
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
    target = make_target(options.python, options.platform, options.implementation, options.abis)
    dest = options.dest
    if dest.exists() and not dest.is_dir():
        raise InputError(f"--dest {dest} exists and is not a folder.")
    index_urls = [options.index_url, *options.extra_index_urls]
    session = net.make_session(pool_size=max(16, options.jobs * 2))

    progress.stage("fetching constraints")
    constraints: Constraints | None = None
    pins: dict[str, Pin] = {}
    if options.constraints:
        constraints = load_constraints(options.constraints, target, session)
        pins = constraints.pins_for(target)

    for_airflow = airflow.is_airflow(specs)
    roots = list(specs)
    if for_airflow:
        roots += airflow.image_requirements(set(pins), options.pip_version, options.uv_version)

    dest.mkdir(parents=True, exist_ok=True)
    remove_partials(dest)
    previous = read_previous(dest)
    index = Index(session, index_urls, options.find_links, jobs=options.jobs)
    downloader = Downloader(session, dest, jobs=options.jobs, on_bytes=progress.bytes_done)
    build_settings = {
        "cache": cache_root(options.cache_dir),
        "index_urls": index_urls,
        "find_links": options.find_links,
    }
    sources = WheelhouseSources(index, downloader, target, pins, build_settings)
    try:
        progress.stage("resolving")
        resolution = resolve(roots, pins, target, sources, options.allow_build, progress)
        progress.stage("downloading")
        entries, counts = _collect(resolution.pins, sources, dest, target)
        airflow_version = next((str(p.version) for p in resolution.pins
                                if p.name == airflow.AIRFLOW), None)
        if airflow_version and airflow.builds_from_sdists(airflow_version):
            progress.stage("adding the sdists Airflow 3.1+ builds")
            extra, extra_counts = _image_sdists(resolution.pins, sources, dest, target, pins,
                                                options.allow_build)
            entries += extra
            _add_counts(counts, extra_counts)
    finally:
        index.close()
        downloader.close()

    keep = {entry.filename for entry in entries}
    leftovers = (downloader.written | _listed(previous)) - keep
    for filename in leftovers:
        (dest / filename).unlink(missing_ok=True)

    # The old manifest goes first: a run stopped from here on leaves none rather than a lie.
    (dest / MANIFEST).unlink(missing_ok=True)
    constraints_name = None
    if constraints is not None:
        constraints_name = f"constraints-{target.python}.txt"
        write_atomic(dest / constraints_name, constraints.content)
    airflow_info = None
    if for_airflow:
        airflow_info = _write_airflow_files(dest, target, constraints, resolution.pins)
    header = "wheelhouse prepare " + " ".join(specs)
    write_atomic(dest / LOCK, lock_text(entries, target.name, header).encode())
    constraints_info = None
    if constraints is not None:
        constraints_info = constraints.describe() | {"filename": constraints_name}
    document = manifest_document(
        tool_version=__version__,
        created=created,
        requirements=specs,
        constraints=constraints_info,
        targets=[target.describe()],
        index_urls=[net.redact(url) for url in index_urls],
        find_links=[str(folder) for folder in options.find_links],
        files=entries,
        airflow=airflow_info,
    )
    write_atomic(dest / MANIFEST, dumps(document).encode())

    unknown = sorted(
        p.name for p in dest.iterdir()
        if p.is_file() and p.name not in keep and not _ours(p.name, constraints_name)
    )
    warnings = list(resolution.warnings)
    if for_airflow and constraints is None:
        warnings.append("Airflow's image reads its constraints from the folder "
                        f"(constraints-{target.python}.txt), and none were given: add "
                        "--constraints, e.g. airflow:VERSION.")
    if unknown:
        warnings.append(
            f"{dest} holds {len(unknown)} file(s) this run did not put there "
            f"({', '.join(unknown[:3])}{'...' if len(unknown) > 3 else ''}); verify will "
            "report them."
        )
    return {
        "ok": True,
        "dest": str(dest),
        "files": len(entries),
        "targets": [target.name],
        "counts": {key: value[0] for key, value in counts.items()},
        "bytes": {key: value[1] for key, value in counts.items()}
        | {"total": sum(e.size for e in entries)},
        "lock": str(dest / LOCK),
        "manifest": str(dest / MANIFEST),
        "constraints": str(dest / constraints_name) if constraints_name else None,
        "seconds": round(time.monotonic() - started, 2),
        "warnings": warnings,
    }


def _write_airflow_files(
    dest: Path, target: Target, constraints: Constraints | None, pins: list[ResolvedPin]
) -> dict[str, Any]:
    """pip.conf that keeps the image's pip offline, and the constraints where the image looks."""
    write_atomic(dest / "pip.conf", airflow.PIP_CONF.encode())
    versions = {pin.name: str(pin.version) for pin in pins}
    info: dict[str, Any] = {
        "version": versions[airflow.AIRFLOW],
        "pip_conf": "pip.conf",
        "image_tools": {name: versions.get(name) for name in airflow.IMAGE_TOOLS},
        "constraints_mode": None,
        "constraints_files": [],
    }
    if constraints is not None:
        mode = airflow.constraints_file_mode(constraints.url or constraints.source,
                                             constraints.airflow_mode)
        folder = dest / f"constraints-{target.python}"
        folder.mkdir(exist_ok=True)
        name = f"{folder.name}/{mode}-{target.python}.txt"
        write_atomic(dest / name, constraints.content)
        info["constraints_mode"] = mode
        info["constraints_files"] = [f"constraints-{target.python}.txt", name]
    return info


def _image_sdists(
    main: list[ResolvedPin],
    sources: WheelhouseSources,
    dest: Path,
    target: Target,
    pins: Mapping[str, Pin],
    allow_build: bool,
) -> tuple[list[FileEntry], dict[str, list[int]]]:
    """The lxml/xmlsec sdists of the pinned versions, and wheels of their build needs.

    The image builds these with pip's build isolation from the folder (pip.conf), so their
    build requirements must be wheels in the folder too, resolved for the target, at the
    versions the folder already holds where it holds them.
    """
    shipped = {pin.name: pin for pin in main}
    chosen = []
    for name in airflow.NO_BINARY:
        pin = shipped.get(name)
        if pin is None:
            continue
        sdists = sorted((f for f in sources.files(name)
                         if f.version == pin.version and f.kind == "sdist"),
                        key=lambda f: (not f.filename.endswith(".tar.gz"), f.filename))
        if not sdists:
            raise InputError(f"{name} {pin.version} has no sdist on the index, and Airflow 3.1+ "
                             f"builds it from one (--no-binary {','.join(airflow.NO_BINARY)}).")
        chosen.append((pin, sdists[0], sources.downloader.fetch(sdists[0]).result()))
    why = f"--no-binary {','.join(airflow.NO_BINARY)} (Airflow 3.1+)"
    entries = [
        FileEntry(
            filename=sdist.filename, name=pin.name, version=str(pin.version),
            sha256=local.sha256, size=local.size, url=net.redact(sdist.url),
            index_sha256=sdist.sha256, kind="sdist", tags=(), requires_python=None,
            license=None, required_by=(why,), index=sdist.index, targets=(target.name,),
            role="image",
        )
        for pin, sdist, local in chosen
    ]
    counts: dict[str, list[int]] = {}
    for _, _, local in chosen:
        _add_counts(counts, {"reused" if local.reused else "downloaded": [1, local.size]})
    needs = sorted({
        text for _, _, local in chosen for text in build_requires(local.path)
        if canonicalize_name(Requirement(text).name) not in airflow.NO_BINARY
    })
    if not needs:
        return entries, counts
    same = {
        pin.name: Pin(pin.name, str(pin.version), Requirement(f"{pin.name}=={pin.version}"), 0)
        for pin in main
    }
    build = resolve(needs, {**pins, **same}, target, sources, allow_build)
    fresh = [pin for pin in build.pins if pin.name not in shipped]
    wheels, wheel_counts = _collect(fresh, sources, dest, target)
    _add_counts(counts, wheel_counts)
    return entries + [dataclasses.replace(w, role="build") for w in wheels], counts


def _add_counts(into: dict[str, list[int]], more: dict[str, list[int]]) -> None:
    for key, (count, size) in more.items():
        total = into.setdefault(key, [0, 0])
        total[0] += count
        total[1] += size


def _collect(
    pins: list[ResolvedPin], sources: WheelhouseSources, dest: Path, target: Target
) -> tuple[list[FileEntry], dict[str, list[int]]]:
    """Wait for every pinned file, place built wheels, and describe each for the manifest."""
    futures = {pin.name: sources.downloader.fetch(pin.file) for pin in pins}
    counts = {"downloaded": [0, 0], "reused": [0, 0], "built": [0, 0]}
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
            kind, size = ("reused" if local.reused else "downloaded"), local.size
        else:
            built = sources.built[pin.file.filename]
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
            kind = "built"
        counts[kind][0] += 1
        counts[kind][1] += size
    misfits = [
        f"{entry.sdist['filename']} built {entry.filename}" for entry in entries
        if entry.kind == "built-wheel" and target.rank(_parsed_tags(entry.filename)) is None
    ]
    if misfits:
        raise InputError(
            f"{len(misfits)} package(s) cannot be served for {target.name}: "
            + "; ".join(misfits) + f", which does not fit {target.name} (only a pure wheel "
            "built here serves another target)."
        )
    return entries, counts


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


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _listed(manifest: dict[str, Any] | None) -> set[str]:
    if not manifest:
        return set()
    return {f.get("filename") for f in manifest.get("files", []) if isinstance(f, dict)} - {None}


def _ours(filename: str, constraints_name: str | None) -> bool:
    known = (MANIFEST, LOCK, constraints_name, "pip.conf")
    return filename in known or filename.lower().startswith("readme")

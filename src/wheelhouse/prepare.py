"""`wheelhouse prepare`: constraints -> resolution -> verified downloads -> locks and manifest.

`prepare` reads as its phases: check the inputs, fetch the constraints, recognize a
re-run with nothing to do, open the sources, plan each target, then write the folder and
summarize. The sources overlap their work: the look-ahead (`sources.py`) fetches pages,
downloads pinned files, reads their METADATA and builds sdists ahead of the resolver.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import hashlib
import math
import os
import shlex
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from wheelhouse import __version__, airflow, folderlock, layout, ledger, net, rerun
from wheelhouse.build import cache_root
from wheelhouse.constraints import (
    PYTHON_PLACEHOLDER,
    Constraints,
    generated_constraints,
    load_constraints,
    merge,
    python_named,
)
from wheelhouse.download import Downloader
from wheelhouse.errors import InputError, PolicyViolation
from wheelhouse.files import file_sha256, remove_partials, sync_folder, write_atomic
from wheelhouse.index import PAGE_WORKERS, Index, parse_version
from wheelhouse.lock import lock_text
from wheelhouse.manifest import (
    AirflowRecord,
    ExtendRecord,
    FileEntry,
    Manifest,
    RerunRecord,
)
from wheelhouse.pip_settings import (
    WHEELHOUSE_INDEX_URL,
    Sources,
    read_pip_settings,
    resolve_sources,
)
from wheelhouse.plan import (
    Run,
    TargetPlan,
    cannot_build_here,
    plan_target,
    refuse_misfits,
    refuse_unbuildable,
    resolve_target,
)
from wheelhouse.report import PrepareProgress, warn
from wheelhouse.requirement_files import (
    RequirementFiles,
    hashes_for,
    read_requirement_files,
    refuse_unhashed,
)
from wheelhouse.resolve import parse_specs
from wheelhouse.sources import Status, WheelhouseSources, Workshop
from wheelhouse.standard_lock import PYLOCK, pylock_text
from wheelhouse.target import Target, make_targets

if TYPE_CHECKING:
    from wheelhouse.osv import Audit
    from wheelhouse.policy import Policy

# What a full disk, a quota, a file-size limit (ulimit -f) or a read-only mount raise.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


@dataclass
class PrepareOptions:
    """Everything `prepare` was asked, in the user's words."""

    specs: list[str]
    requirement_files: list[Path] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)  # -c, repeatable: merged
    pythons: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    implementation: str = "cp"
    abis: tuple[str, ...] = ()
    dest: Path = layout.DEFAULT_DEST
    # None: WHEELHOUSE_INDEX_URL, else pip's configuration, else PyPI (pip_settings.py); the
    # options check_inputs returns carry what was decided.
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)  # none: pip's, if any
    find_links: list[Path] = field(default_factory=list)  # none: pip's folders, if any
    cert: Path | None = None  # a CA bundle; None: pip's, else REQUESTS_CA_BUNDLE, else the OS
    isolated: bool = False  # pip's configuration (files and PIP_*) is not read
    jobs: int = 8
    allow_build: bool = True
    cache_dir: Path | None = None
    pip_version: str | None = None
    uv_version: str | None = None
    keep_sdists: bool = False
    refresh: bool = False
    wait: bool = False
    timeout: float = net.DEFAULT_TIMEOUT
    allow_unverified: bool = False
    check_reproducible: bool = False
    pre: bool = False
    osv: Path | None = None  # an OSV export: the pins are audited against it at the end
    policy: Path | None = None  # a policy file: what was resolved must keep its rules
    # An Airflow release: the folder extends its released image (extend.py), pinning
    # apache-airflow to it and shipping none of the image's own tools.
    extend: str | None = None


@dataclass(frozen=True)
class Inputs:
    """The options checked and expanded: what the phases work from."""

    options: PrepareOptions
    specs: list[str]
    targets: list[Target]
    index_urls: list[str]
    # Where each spec came from, as a lock's `# via` says it: `-r FILE` or the command line.
    origins: dict[str, str] = field(default_factory=dict)
    policy: Policy | None = None
    # What the -r files say beyond specs: their pins' hashes, and the -c files they name.
    files: RequirementFiles = field(default_factory=RequirementFiles)
    # Where the indexes, find-links and CA bundle came from (flags, WHEELHOUSE_INDEX_URL,
    # pip's configuration, the default), and what of pip's settings is not used.
    sources: Sources | None = None

    @property
    def index_origin(self) -> dict[str, str]:
        """Each index URL (password hidden) -> where it came from."""
        if self.sources is not None:
            return self.sources.index_origin()
        return {net.redact(url): "--index-url" for url in self.index_urls}

    @property
    def constraints(self) -> list[str]:
        """Every constraints source: the -c options, then those the -r files name."""
        return [*self.options.constraints, *self.files.constraints]

    @property
    def dest(self) -> Path:
        return self.options.dest

    @property
    def command(self) -> str:
        """The run in a line, for the headers of the files it writes."""
        if self.extend is None:
            return "wheelhouse prepare " + " ".join(self.specs)
        given = [spec for spec in self.specs if self.origins.get(spec) != _EXTEND_ORIGIN]
        return " ".join(["wheelhouse prepare --extend", self.extend, *given])

    @property
    def extend(self) -> str | None:
        """prepare --extend VERSION: the Airflow release whose image the folder extends."""
        return self.options.extend

    @property
    def for_airflow(self) -> bool:
        return airflow.is_airflow(self.specs)

    @property
    def source_warnings(self) -> list[str]:
        """What of pip's settings is not used, and why."""
        return [] if self.sources is None else list(self.sources.warnings)


@dataclass(frozen=True)
class FileCounts:
    """How many files (and bytes) a run downloaded, reused and built."""

    downloaded: int = 0
    reused: int = 0
    built: int = 0


@dataclass(frozen=True)
class PrepareSummary:
    """What a finished run tells people (report.py) and machines (--json)."""

    up_to_date: bool
    dest: Path
    targets: list[str]
    files: list[FileEntry]
    locks: dict[str, str]
    constraints: list[str]
    counts: FileCounts
    sizes: FileCounts
    seconds: float
    warnings: list[str]
    manifest_sha256: str
    # Where files came from this run, each with its origin (pip_settings.py).
    index_origin: dict[str, str] = field(default_factory=dict)
    find_links_origin: dict[str, str] = field(default_factory=dict)
    # What of pip's settings is not used: said when the run starts, in --json's warnings too.
    source_warnings: list[str] = field(default_factory=list)
    for_airflow: bool = False
    extend: bool = False  # prepare --extend: the image is built with `wheelhouse dockerfile`

    @property
    def index_urls(self) -> list[str]:
        return list(self.index_origin)

    @property
    def next_commands(self) -> list[str]:
        """What to run next on the folder."""
        dest = shlex.quote(str(self.dest))
        if self.extend:
            return [f"wheelhouse verify {dest}", f"wheelhouse dockerfile {dest} -o Dockerfile"]
        return [f"wheelhouse verify {dest}"] + (
            [f"wheelhouse build-args {dest}"] if self.for_airflow else [])

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.files)

    @property
    def files_per_target(self) -> dict[str, int]:
        return {name: sum(name in entry.targets for entry in self.files)
                for name in self.targets}

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "up_to_date": self.up_to_date,
            "dest": str(self.dest),
            "files": len(self.files),
            "targets": self.targets,
            "files_per_target": self.files_per_target,
            "counts": dataclasses.asdict(self.counts),
            "bytes": dataclasses.asdict(self.sizes) | {"total": self.total_bytes},
            "lock": str(self.dest / layout.LOCK) if len(self.targets) == 1 else None,
            "locks": {name: str(self.dest / lock) for name, lock in self.locks.items()},
            "manifest": str(self.dest / layout.MANIFEST),
            "manifest_sha256": self.manifest_sha256,
            "constraints": [str(self.dest / name) for name in self.constraints],
            "seconds": self.seconds,
            "warnings": [*self.source_warnings, *self.warnings],
            "index_urls": self.index_urls,
            "index_origin": self.index_origin,
            "find_links_origin": self.find_links_origin,
            "next": self.next_commands,
        }


def prepare(options: PrepareOptions, progress: PrepareProgress) -> PrepareSummary:
    """Run the whole pipeline for every target."""
    started = time.monotonic()
    created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")
    inputs = check_inputs(options)
    dest = inputs.dest
    for message in inputs.source_warnings:  # said now: they may explain a failure below
        warn(message)
    cert = inputs.options.cert
    session = net.make_session(pool_size=PAGE_WORKERS + options.jobs, timeout=options.timeout,
                               cert=None if cert is None else str(cert))
    progress.stage("fetching constraints")
    constraints = _load_constraints(inputs.constraints, inputs.targets, session)
    _make_dest(dest)
    with folderlock.writing(dest, options.wait, on_wait=partial(_waiting, progress, dest)):
        try:
            summary = _prepare_held(inputs, constraints, session, progress, created, started)
            if os.environ.get(SELF_CHECK):
                self_check(dest, options.allow_unverified)
            return summary
        except OSError as exc:
            if exc.errno not in DISK_FULL:
                raise
            raise InputError(f"writing to disk failed: {exc.strerror}. Whole, verified files "
                             f"stay in {dest} and nothing is left half-written under its "
                             "name: make room and run again.") from exc


# The test suite sets this: every folder a prepare leaves with exit 0 must pass verify.
SELF_CHECK = "WHEELHOUSE_SELF_CHECK"


def self_check(dest: Path, allow_unverified: bool) -> None:
    """Verify the folder just prepared, still holding it; a finding is a bug in prepare, but
    for the files it did not put there and warned of (it never removes someone's file)."""
    from wheelhouse.verify import read_folder, verify

    folder = read_folder(dest, jobs=1)  # no worker process may outlive a killed run's lock
    folder.allow_unverified = allow_unverified
    assert folder.manifest is not None
    strangers = set(layout.unexpected(dest, folder.manifest.accounted()))
    faults = [f for f in verify(folder).findings
              if not (f.check in ("unlisted", "link") and f.file in strangers)]
    if faults:
        raise AssertionError(f"{SELF_CHECK}: verify finds fault with the folder prepare left: "
                             + " ".join(f"[{f.check}] {f.message}" for f in faults))


def _waiting(progress: PrepareProgress, dest: Path) -> None:
    progress.stage(f"waiting for another run to finish with {dest}")
    warn(f"{dest} is being written by another wheelhouse prepare; waiting for it (--wait).")


def _prepare_held(
    inputs: Inputs, constraints: Mapping[str, Constraints], session: net.Session,
    progress: PrepareProgress, created: str, started: float,
) -> PrepareSummary:
    """The run, once the folder is ours alone."""
    options, dest = inputs.options, inputs.dest
    remove_partials(dest)
    previous = _previous_manifest(dest)
    progress.stage("checking what is already in the folder")
    digest = rerun.inputs_digest(_rerun_inputs(inputs, constraints))
    if not options.refresh and not (dest / layout.LEDGER).exists() and rerun.unchanged(
            dest, previous, digest):
        assert previous is not None
        return _summarize(previous, inputs, {}, True, time.monotonic() - started)
    ours = (previous.owned() if previous else set()) | ledger.read(dest)
    approved = previous is not None and not (dest / layout.LEDGER).exists()

    with open_sources(inputs, constraints, session, progress, ours, approved) as opened:
        runs = [_run(inputs, target, constraints, opened) for target in inputs.targets]
        resolved = [(run, resolve_target(roots, run, progress)) for run, roots in runs]
        cannot_build = [(run.target, cannot_build_here(resolution.pins, run))
                        for run, resolution in resolved]
        if not options.keep_sdists:
            refuse_unbuildable(cannot_build)  # before a single build is started
        plans = [plan_target(resolution, run, options.keep_sdists, progress, misfits)
                 for (run, resolution), (_, misfits) in zip(resolved, cannot_build)]
        refuse_misfits(plans)
        if inputs.files.hashes:  # a hashed lock was the input: every file must match it
            refuse_unhashed([e for plan in plans for e in plan.entries], inputs.files,
                            _tools(inputs))
        if inputs.policy is not None:  # an InputError: a finished folder is left as it was
            refuse_violations(inputs.policy, plans, created)

    if inputs.for_airflow and not constraints:  # the image installs with the folder's file
        constraints = _generated_constraints(inputs, plans)
    audited = _audit(options.osv, plans) if options.osv is not None else None
    manifest, contents = _outputs(inputs, constraints, plans, created, digest, audited)
    signed = (dest / layout.SIGNATURES).is_file()
    write_folder(dest, manifest, contents, ours | opened.downloader.written)
    summary = _summarize(manifest, inputs, opened.workshop.statuses, False,
                         time.monotonic() - started)
    if signed:
        summary.warnings.append(f"the signatures of the previous manifest ({layout.SIGNATURES}) "
                                "were removed with it: this folder must be signed again.")
    return summary


def write_folder(
    dest: Path, manifest: Manifest, contents: Mapping[str, bytes], ours: set[str]
) -> None:
    """What an earlier run put here and this one does not need goes, then the old manifest
    and its signatures (a run stopped from here on leaves no manifest rather than a lie, and
    no signature of one); then the locks, constraints and pip.conf, then the new manifest,
    and last the ledger."""
    ledger.write(dest, ours | manifest.owned())  # whatever happens next, nothing is a stranger
    layout.remove(dest, ours - manifest.owned())
    (dest / layout.MANIFEST).unlink(missing_ok=True)
    (dest / layout.SIGNATURES).unlink(missing_ok=True)  # they sign the manifest just removed
    for name, data in contents.items():
        layout.prepare_parent(dest, name)
        write_atomic(layout.path_in(dest, name), data)
    sync_folder(dest)  # every wheel's rename on disk before the manifest that lists it
    manifest.write(dest)
    ledger.clear(dest)


def _make_dest(dest: Path) -> None:
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--dest {dest} cannot be written: {exc.strerror or exc}.") from None
    if not os.access(dest, os.W_OK | os.X_OK):
        raise InputError(f"--dest {dest} cannot be written: permission denied.")


def check_inputs(options: PrepareOptions) -> Inputs:
    """Every option checked before anything is fetched or written."""
    files = read_requirement_files(options.requirement_files)
    specs = list(options.specs) + [spec for spec, _ in files.specs]
    if not specs:
        raise InputError("nothing to prepare: give at least one requirement, e.g. "
                         "wheelhouse prepare 'requests==2.32.3'.")
    added = None
    if options.extend is not None:
        options, added = _extend_options(options, specs, files)
        if added not in specs:
            specs.append(added)
    if options.jobs < 1:
        raise InputError(f"--jobs {options.jobs}: give at least 1.")
    if not 0 < options.timeout < math.inf:
        raise InputError(f"--timeout {options.timeout:g}: give a number of seconds above 0.")
    sources = _sources(options)
    options = dataclasses.replace(
        options, index_url=sources.settings.index_url,
        extra_index_urls=list(sources.settings.extra_index_urls),
        find_links=list(sources.find_links),
        cert=None if sources.cert is None else Path(sources.cert))
    targets = make_targets(options.pythons, options.platforms, options.implementation,
                           options.abis)
    if options.extend is not None:
        from wheelhouse.extend import check_target

        for target in targets:
            check_target(options.extend, target)
    for target in targets:  # a typo in a spec stops the run before --dest is touched
        parse_specs(specs, target)
        for scope in files.scopes:
            scope.refuse_unfit(target)
    for flag, version in (("--pip-version", options.pip_version),
                          ("--uv-version", options.uv_version)):
        if version is not None and parse_version(version) is None:
            raise InputError(f"{flag} {version!r} is not a version, e.g. 24.3.1.")
    if options.osv is not None and not (options.osv.is_file() or options.osv.is_dir()):
        raise InputError(f"--osv {options.osv}: no such file or folder (give osv.dev's PyPI "
                         "all.zip, or a folder of its records).")
    if options.dest.exists() and not options.dest.is_dir():
        raise InputError(f"--dest {options.dest} exists and is not a folder.")
    origins = {spec: origin for spec, origin in reversed(files.specs)}
    origins.update({spec: f"{spec} (command line)" for spec in options.specs})
    if added is not None:
        origins.setdefault(added, _EXTEND_ORIGIN)
    policy = None
    if options.policy is not None:
        from wheelhouse.policy import load_policy

        policy = load_policy(options.policy)
    return Inputs(options, specs, targets, sources.index_urls, origins, policy, files, sources)


# How a lock's `# via` names the apache-airflow pin --extend adds.
_EXTEND_ORIGIN = "--extend (the Airflow the base image holds)"


def _extend_options(
    options: PrepareOptions, specs: list[str], files: RequirementFiles
) -> tuple[PrepareOptions, str]:
    """prepare --extend VERSION: the options for a folder that extends the released image,
    and the apache-airflow pin to add. The constraints default to that release's
    (airflow:VERSION), the platform to the image's; the image keeps its own pip and uv."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from wheelhouse.extend import default_platform, release_version

    version = release_version(options.extend or "")
    for flag, given in (("--pip-version", options.pip_version),
                        ("--uv-version", options.uv_version)):
        if given is not None:
            raise InputError(f"{flag} is for Airflow's stock build: with --extend the image "
                             f"keeps its own pip and uv and the folder ships neither; leave "
                             f"{flag} out.")
    for spec in specs:
        try:
            requirement = Requirement(spec)
        except InvalidRequirement:
            continue  # check_inputs names it
        if canonicalize_name(requirement.name) == airflow.AIRFLOW and \
                not requirement.specifier.contains(version, prereleases=True):
            raise InputError(f"--extend {version} and the requirement {spec!r} disagree: the "
                             f"image holds apache-airflow {version}.")
    changes: dict[str, Any] = {}
    if not options.constraints and not files.constraints:
        changes["constraints"] = [f"airflow:{version}"]
    if not options.platforms:
        changes["platforms"] = [default_platform(version)]
    return dataclasses.replace(options, **changes), f"{airflow.AIRFLOW}=={version}"


def _sources(options: PrepareOptions) -> Sources:
    """The indexes, find-links folders and CA bundle of the run: the flags, then
    WHEELHOUSE_INDEX_URL, then pip's configuration (unless --isolated), then PyPI."""
    sources = resolve_sources(
        index_url=options.index_url, extra_index_urls=options.extra_index_urls,
        find_links=options.find_links, cert=options.cert,
        wheelhouse_index_url=os.environ.get(WHEELHOUSE_INDEX_URL),
        pip=read_pip_settings(options.isolated), isolated=options.isolated,
        is_folder=Path.is_dir)
    if sources.cert is not None and not os.path.exists(sources.cert):
        origin = sources.settings.origins.get("cert", "--cert")
        shown = "--cert" if origin == "--cert" else f"the CA bundle (from {origin})"
        raise InputError(f"{shown} {sources.cert}: no such file or folder.")
    return sources


def _load_constraints(
    sources: list[str], targets: list[Target], session: net.Session
) -> dict[str, Constraints]:
    """Constraints per target Python: every source fetched for it and merged (constraints.merge:
    the same project pinned apart in two files is an error naming both lines)."""
    loaded: dict[str, list[Constraints]] = {}
    for source in sources:
        for python, item in _load_source(source, targets, session).items():
            loaded.setdefault(python, []).append(item)
    return {python: merge(python, items, [t for t in targets if t.python == python])
            for python, items in loaded.items()}


def _load_source(
    source: str, targets: list[Target], session: net.Session
) -> dict[str, Constraints]:
    """One source for each target Python: one file for all, or a file for each Python
    (Airflow's, or a source naming `{python}`). A file whose name says it is for another
    Python than a target's is refused before it is fetched: written as that target's
    constraints-X.Y.txt, it would pin what was tested for another Python."""
    found: dict[str, Constraints] = {}
    each = source.startswith("airflow:") or PYTHON_PLACEHOLDER in source
    for target in targets:
        if target.python in found:
            continue
        location = source.replace(PYTHON_PLACEHOLDER, target.python)
        named = python_named(location)
        if named is not None and named != target.python:
            raise InputError(
                f"--constraints {net.redact(location)} is for Python {named} (its name says so), "
                f"but a target is Python {target.python}: give that Python's file, or a source "
                f"with {PYTHON_PLACEHOLDER} for each target's own (e.g. "
                f"constraints-{PYTHON_PLACEHOLDER}.txt).")
        if not each and found:
            found[target.python] = next(iter(found.values()))
            continue
        found[target.python] = load_constraints(location, target, session)
    return found


def _previous_manifest(dest: Path) -> Manifest | None:
    """The manifest an earlier run left, when it can be read: prepare rewrites it anyway."""
    with suppress(InputError):
        return Manifest.load(dest)
    return None


def _rerun_inputs(inputs: Inputs, constraints: Mapping[str, Constraints]) -> dict[str, Any]:
    """Everything that decides the wheelhouse, for the re-run digest (rerun.py)."""
    options = inputs.options
    return {
        "wheelhouse": __version__,
        "requirements": inputs.specs,
        "constraints": {python: [item.source, item.sha256]
                        for python, item in constraints.items()},
        "targets": [target.describe() for target in inputs.targets],
        "index_urls": [net.redact(url) for url in inputs.index_urls],
        "find_links": [[str(folder), rerun.folder_listing(folder)]
                       for folder in options.find_links],
        "allow_build": options.allow_build,
        "keep_sdists": options.keep_sdists,
        "allow_unverified": options.allow_unverified,
        "check_reproducible": options.check_reproducible,
        "pre": options.pre,
        "pip_version": options.pip_version,
        "uv_version": options.uv_version,
        "osv": None if options.osv is None else _osv_identity(options.osv),
        "policy": None if inputs.policy is None else inputs.policy.sha256,
        "hashes": sorted([name, str(version), sorted(hashes.allowed)]
                         for (name, version), hashes in inputs.files.hashes.items()),
    } | ({"extend": options.extend} if options.extend is not None else {})


def _osv_identity(path: Path) -> list[Any]:
    """What tells that the OSV database changed, so that a re-run audits again: a file's
    sha256, a folder's listing."""
    if path.is_dir():
        return [str(path), [list(item) for item in rerun.folder_listing(path)]]
    return [str(path), file_sha256(path)]


# -- sources ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenSources:
    """The index, the downloads and the builds, shared by every target."""

    index: Index
    downloader: Downloader
    workshop: Workshop

    def close(self) -> None:
        self.index.close()
        self.workshop.close()
        self.downloader.close()


@contextmanager
def open_sources(
    inputs: Inputs, constraints: Mapping[str, Constraints], session: net.Session,
    progress: PrepareProgress, ours: set[str], approved: bool = False,
) -> Iterator[OpenSources]:
    """Open the index, the downloads and the builds for a run.

    On the way out every download and build is stopped and waited for *before* a failed run
    writes its ledger, so a file that finished meanwhile is listed, not left as a stranger.
    A run that fails on bad input in a finished folder (`approved`: a manifest and no ledger)
    removes what it fetched instead, so the folder is left exactly as it was approved.
    """
    options = inputs.options
    index = Index(session, inputs.index_urls, options.find_links,
                  _pinned_versions(constraints, inputs.targets), options.allow_unverified)
    downloader = Downloader(session, inputs.dest, jobs=options.jobs,
                            on_bytes=progress.bytes_done, on_file=progress.file_done,
                            on_expect=progress.expect_bytes)
    workshop = Workshop(downloader, build={
        "cache": cache_root(options.cache_dir),
        "index_urls": inputs.index_urls,
        "find_links": options.find_links,
        "check_reproducible": options.check_reproducible,
        "cert": None if options.cert is None else str(options.cert),
    }, progress=progress)
    opened = OpenSources(index, downloader, workshop)
    try:
        yield opened
    except BaseException as exc:
        opened.close()
        # What this run put here: downloads, and built wheels placed from the cache (each
        # listed in the ledger before it took its name).
        fetched = (downloader.written | ledger.read(inputs.dest)) - ours
        if approved and isinstance(exc, InputError):
            layout.remove(inputs.dest, fetched)
            ledger.clear(inputs.dest)  # the downloads listed their files there as they went
        elif fetched:
            # Whole, verified files stay for the next run to reuse; the ledger lets it also
            # remove those it does not need (a file is listed before it takes its name; this
            # adds what an earlier manifest owned, as that manifest may be gone next time).
            with suppress(OSError):
                ledger.record(inputs.dest, ours | downloader.written)
        raise
    opened.close()


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


def _run(
    inputs: Inputs, target: Target, constraints: Mapping[str, Constraints], opened: OpenSources,
) -> tuple[Run, list[str]]:
    """One target's pins and sources, and its roots (the image's own tools too, for Airflow)."""
    options = inputs.options
    pins = constraints[target.python].pins_for(target) if constraints else {}
    roots = list(inputs.specs)
    if inputs.for_airflow and inputs.extend is None:  # the extended image keeps its own
        roots += airflow.image_requirements(set(pins), options.pip_version, options.uv_version)
    sources = WheelhouseSources(opened.index, opened.workshop, target, pins,
                                options.allow_build, inputs.files.by_project())
    return Run(sources, inputs.dest, target, pins, options.allow_build, options.pre), roots


# -- outputs ------------------------------------------------------------------------------


def refuse_violations(policy: Policy, plans: list[TargetPlan], created: str) -> None:
    """prepare --policy: one error naming every violation of what was resolved, before a
    manifest could vouch for it."""
    from wheelhouse.policy import parse_created, subjects_of

    entries = _merge([entry for plan in plans for entry in plan.entries])
    violations = policy.evaluate(subjects_of(entries), parse_created(created))
    if violations:
        raise PolicyViolation(
            f"{len(violations)} violation(s) of the policy {policy.source} "
            f"(sha256 {policy.sha256[:12]}…): " + " ".join(v.message for v in violations))


def _audit(database: Path, plans: list[TargetPlan]) -> Audit:
    """prepare --osv: every project version of the folder against the OSV export."""
    from wheelhouse.osv import audit, load_database

    pairs = sorted({(e.name, e.version) for plan in plans for e in plan.entries})
    return audit(load_database(database, {name for name, _ in pairs}), pairs)


def audit_warnings(audited: Audit) -> list[str]:
    """What prepare --osv says of an audit: each finding, each project it could not check."""
    said = []
    for finding in audited.findings:
        aliases = f" ({', '.join(finding.aliases)})" if finding.aliases else ""
        fixed = f"; fixed in {', '.join(finding.fixed)}" if finding.fixed else "; no fix listed"
        said.append(f"{finding.project} {finding.version} is affected by {finding.id}"
                    f"{aliases}: {finding.summary or 'no summary'}{fixed}.")
    for item in audited.unchecked:
        said.append(f"{item.project} {item.version} was not checked against the OSV database: "
                    f"{item.reason}.")
    if audited.database.problems:
        said.append(f"{len(audited.database.problems)} record(s) of the OSV database could not "
                    f"be read (wheelhouse audit lists them).")
    return said


def _outputs(
    inputs: Inputs, constraints: Mapping[str, Constraints], plans: list[TargetPlan],
    created: str, digest: str, audited: Audit | None = None,
) -> tuple[Manifest, dict[str, bytes]]:
    """The manifest, and every file written beside the distributions (name -> bytes)."""
    entries = _merge([entry for plan in plans for entry in plan.entries])
    contents: dict[str, bytes] = {}
    for python, item in constraints.items():
        contents[layout.constraints_name(python)] = item.content
    airflow_record = None
    if inputs.for_airflow:
        airflow_record = _airflow_files(constraints, plans, contents,
                                        () if inputs.extend else airflow.IMAGE_TOOLS)
    header = inputs.command
    several = len(plans) > 1
    locks = {}
    for plan in plans:
        name = layout.lock_name(plan.target.name, several)
        mine = [e for e in entries if plan.target.name in e.targets]
        contents[name] = lock_text(mine, plan.target.name, header, name,
                                   _via(inputs)).encode()
        locks[plan.target.name] = name
    warnings = [w for plan in plans for w in plan.resolution.warnings]
    unverified = sorted(origin.filename for origin in (e.sdist or e for e in entries)
                        if origin.index_sha256 is None)
    if unverified:
        warnings.append(f"{len(unverified)} file(s) shipped unverified (--allow-unverified: "
                        f"the index publishes no sha256 for them): {', '.join(unverified)}.")
    made = sorted(layout.constraints_name(python) for python, item in constraints.items()
                  if item.generated)
    if made:
        warnings.append(f"no --constraints were given, and Airflow's image installs with the "
                        f"folder's constraints file: {', '.join(made)} holds the pins resolved "
                        "here (generated, not Airflow's tested constraints; for those, add "
                        "--constraints airflow:VERSION).")
    if audited is not None:
        warnings += audit_warnings(audited)
    first = inputs.targets[0].python
    manifest = Manifest(
        tool_version=__version__,
        created=created,
        requirements=tuple(inputs.specs),
        constraints=constraints[first].record(layout.constraints_name(first))
        if constraints else None,
        targets=tuple(inputs.targets),
        index_urls=tuple(net.redact(url) for url in inputs.index_urls),
        index_origin=inputs.index_origin,
        find_links=tuple(str(folder) for folder in inputs.options.find_links),
        files=tuple(entries),
        lock=None if several else layout.LOCK,
        locks=locks,
        constraints_by_python={
            python: item.record(layout.constraints_name(python))
            for python, item in constraints.items()
        } if len(constraints) > 1 else None,
        airflow=airflow_record,
        audit=None if audited is None else audited.to_json(),
        policy=None if inputs.policy is None else {"source": inputs.policy.source,
                                                   "sha256": inputs.policy.sha256},
        hashed_input=_hashed_input(inputs.files, entries),
        extend=_extend_record(inputs),
    )
    try:  # one PEP 751 lock for every target, beside the requirements locks
        contents[PYLOCK] = pylock_text(manifest, f"wheelhouse {__version__}").encode()
    except ValueError as exc:  # e.g. two targets its markers cannot tell apart
        warnings.append(f"no {PYLOCK} was written ({exc}); the requirements locks serve each "
                        "target.")
    return dataclasses.replace(manifest, rerun=RerunRecord(
        inputs_sha256=digest,
        files_sha256={name: hashlib.sha256(data).hexdigest() for name, data in contents.items()},
        warnings=tuple(warnings),
    )), contents


def _extend_record(inputs: Inputs) -> ExtendRecord | None:
    """prepare --extend: the release and, for one Python, the image the folder extends."""
    if inputs.extend is None:
        return None
    from wheelhouse.extend import base_image

    pythons = sorted({target.python for target in inputs.targets})
    return ExtendRecord(airflow=inputs.extend, base=base_image(inputs.extend, pythons[0])
                        if len(pythons) == 1 else None)


def _hashed_input(files: RequirementFiles, entries: list[FileEntry]) -> dict[str, Any] | None:
    """The manifest's account of a hashed lock given as input: the files read (with their
    sha256) and which shipped files were held to its hashes (refuse_unhashed)."""
    if not files.hashes:
        return None
    held = sorted(e.filename for e in entries if hashes_for(files.hashes, e.name, e.version))
    return {"files": dict(files.read), "held": held}


def _generated_constraints(inputs: Inputs, plans: list[TargetPlan]) -> dict[str, Constraints]:
    """Per target Python, the resolved pins as a constraints file (constraints.py)."""
    by_python: dict[str, list[tuple[Target, dict[str, str]]]] = defaultdict(list)
    for plan in plans:
        by_python[plan.target.python].append(
            (plan.target, {pin.name: str(pin.version) for pin in plan.resolution.pins}))
    return {python: generated_constraints(python, resolved, inputs.command)
            for python, resolved in by_python.items()}


def _tools(inputs: Inputs) -> frozenset[str]:
    """The projects prepare adds for Airflow's image itself (pip, uv): a lock of the user's
    requirements need not hash them."""
    return frozenset(airflow.IMAGE_TOOLS) if inputs.for_airflow and inputs.extend is None \
        else frozenset()


def _via(inputs: Inputs) -> dict[str, str]:
    """What a lock's `# via` says for each root: `-r FILE`, the command line, or the image."""
    found = dict(inputs.origins)
    if inputs.for_airflow and inputs.extend is None:
        options = inputs.options
        for spec in airflow.image_requirements(set(), options.pip_version, options.uv_version) \
                + airflow.image_requirements({"uv"}, None, None):
            found.setdefault(spec, f"{spec} (a tool Airflow's image installs for itself)")
    return found


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


def _airflow_files(
    constraints: Mapping[str, Constraints], plans: list[TargetPlan], contents: dict[str, bytes],
    tools: tuple[str, ...] = airflow.IMAGE_TOOLS,
) -> AirflowRecord:
    """pip.conf that keeps the image's pip offline, and the constraints where the image looks."""
    contents[layout.PIP_CONF] = airflow.PIP_CONF.encode()
    versions = {pin.name: str(pin.version) for pin in plans[0].resolution.pins}
    mode = None
    files: list[str] = []
    for python, item in constraints.items():
        mode = airflow.constraints_file_mode(item.url or item.source, item.airflow_mode)
        name = layout.image_constraints_name(python, mode)
        contents[name] = item.content
        files += [layout.constraints_name(python), name]
    return AirflowRecord(
        version=versions[airflow.AIRFLOW],
        pip_conf=layout.PIP_CONF,
        image_tools={name: versions.get(name) for name in tools},
        constraints_mode=mode,
        constraints_files=tuple(files),
    )


# -- summary ------------------------------------------------------------------------------


def _summarize(
    manifest: Manifest, inputs: Inputs, statuses: Mapping[str, Status], up_to_date: bool,
    seconds: float,
) -> PrepareSummary:
    """What a run tells: its files, how each came, and the strangers in the folder (an
    up-to-date re-run summarizes the manifest it found, with nothing downloaded or built)."""
    warnings = list(manifest.rerun.warnings) if manifest.rerun else []
    strangers = layout.unexpected(inputs.dest, manifest.accounted())
    if strangers:
        shown = ", ".join(strangers[:3]) + ("..." if len(strangers) > 3 else "")
        warnings.append(f"{inputs.dest} holds {len(strangers)} file(s) this run did not put "
                        f"there ({shown}); verify will report them.")
    counts: dict[Status, list[int]] = {"downloaded": [0, 0], "reused": [0, 0], "built": [0, 0]}
    for entry in manifest.files:
        bucket = counts[statuses.get(entry.filename, "reused")]
        bucket[0] += 1
        bucket[1] += entry.size
    return PrepareSummary(
        up_to_date=up_to_date,
        dest=inputs.dest,
        targets=[target.name for target in inputs.targets],
        files=list(manifest.files),
        locks=dict(manifest.locks),
        constraints=list(dict.fromkeys(manifest.constraints_files().values())),
        counts=FileCounts(**{key: value[0] for key, value in counts.items()}),
        sizes=FileCounts(**{key: value[1] for key, value in counts.items()}),
        seconds=round(seconds, 2),
        warnings=list(dict.fromkeys(warnings)),
        manifest_sha256=file_sha256(inputs.dest / layout.MANIFEST),
        index_origin=inputs.index_origin,
        find_links_origin={} if inputs.sources is None else inputs.sources.find_links_origin(),
        source_warnings=inputs.source_warnings,
        for_airflow=inputs.for_airflow,
        extend=inputs.extend is not None,
    )

"""Build a wheel from an sdist when the index has no wheel for the target.

The build is pip's isolated PEP 517 build: build requirements come from the same indexes the
run uses, never from the user's pip configuration. Built wheels are cached by the sdist's
sha256, with a record of how they were built (the interpreter, pip, the backend, every
distribution in the build environment with its sha256); SOURCE_DATE_EPOCH is fixed so a
rebuild gives the same bytes where the backend allows, and --check-reproducible finds out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pkginfo
from packaging.utils import canonicalize_name

from wheelhouse import net
from wheelhouse.errors import InputError
from wheelhouse.files import file_sha256, write_atomic
from wheelhouse.index import name_and_version, parse_version
from wheelhouse.manifest import BuildInput, BuildRecord
from wheelhouse.sdist import build_system
from wheelhouse.wheelfile import Metadata, _license

REPRODUCIBLE_EPOCH = "315532800"  # 1980-01-01, the oldest time a zip file can hold
BUILD_RECORD = "build.json"  # beside the wheel in its cache slot
REPORT_LIMIT = 16 << 20  # a pip report of a build environment is a few KiB


def cache_root(cache_dir: Path | None) -> Path:
    """--cache-dir, else $XDG_CACHE_HOME/wheelhouse, else ~/.cache/wheelhouse."""
    if cache_dir is not None:
        return cache_dir
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wheelhouse"


def build_wheel(
    sdist: Path,
    sdist_sha256: str,
    cache: Path,
    index_urls: list[str],
    find_links: list[Path],
    stop: threading.Event | None = None,
    check_reproducible: bool = False,
    cert: str | None = None,
) -> tuple[Path, BuildRecord]:
    """The wheel built from `sdist` (cached by its sha256), as a path inside the cache, and
    how it was built.

    `check_reproducible` builds it a second time and records whether the bytes are the same.
    Setting `stop` ends the build early (its process is killed): a failed run does not wait
    for a build it no longer needs.
    """
    slot = cache / "built" / sdist_sha256
    found = _cached(slot)
    if found is not None and not (check_reproducible and found[1].reproducible is None):
        return found
    slot.parent.mkdir(parents=True, exist_ok=True)
    build = _Build(sdist, index_urls, find_links, stop, cache / "logs", cert)
    with tempfile.TemporaryDirectory(dir=slot.parent, prefix=".build-") as work:
        if found is not None:  # built before, once: build again and compare
            again, _ = build.once(Path(work) / "again")
            record = dataclasses.replace(
                found[1], reproducible=file_sha256(again) == file_sha256(found[0]))
            write_atomic(slot / BUILD_RECORD, _record_bytes(record))
            return found[0], record
        wheel, record = build.once(Path(work) / "out")
        if check_reproducible:
            again, _ = build.once(Path(work) / "again")
            record = dataclasses.replace(
                record, reproducible=file_sha256(again) == file_sha256(wheel))
        staged = Path(work) / "slot"
        staged.mkdir()
        shutil.move(str(wheel), staged / wheel.name)
        (staged / BUILD_RECORD).write_bytes(_record_bytes(record))
        if slot.is_dir() and _cached(slot) is None:  # an older cache's slot, with no record
            shutil.rmtree(slot, ignore_errors=True)
        with contextlib.suppress(OSError):  # another run filled the slot first: use theirs
            os.replace(staged, slot)
    cached = _cached(slot)
    assert cached is not None
    return cached


def _cached(slot: Path) -> tuple[Path, BuildRecord] | None:
    """A slot's wheel and its record; a slot without a readable record is not used."""
    wheels = sorted(slot.glob("*.whl")) if slot.is_dir() else []
    if len(wheels) != 1:
        return None
    try:
        record = BuildRecord.from_json(json.loads((slot / BUILD_RECORD).read_bytes()))
    except (OSError, ValueError):
        return None
    return (wheels[0], record) if record is not None else None


def _record_bytes(record: BuildRecord) -> bytes:
    return json.dumps(record.to_json(), indent=2, sort_keys=True).encode()


def metadata_from_hook(
    sdist: Path,
    sdist_sha256: str,
    cache: Path,
    index_urls: list[str],
    find_links: list[Path],
    stop: threading.Event | None = None,
    cert: str | None = None,
) -> Metadata:
    """The sdist's metadata from its backend's PEP 517 metadata hook, in pip's isolated build
    environment (the sources and environment of a build), cached by the sdist's sha256: for
    an sdist that does not state its dependencies, far cheaper than building it.

    Metadata of another project or version than the filename says is an InputError.
    """
    slot = cache / "metadata" / f"{sdist_sha256}.json"
    metadata = _cached_metadata(slot)
    if metadata is None:
        slot.parent.mkdir(parents=True, exist_ok=True)
        build = _Build(sdist, index_urls, find_links, stop, cache / "logs", cert)
        with tempfile.TemporaryDirectory(dir=slot.parent, prefix=".hook-") as work:
            reported = build.metadata(Path(work) / "report.json")
        metadata = _metadata_from_json(reported)
        if metadata is None:
            raise InputError(f"pip reported no name or version in the metadata of "
                             f"{sdist.name}.")
        write_atomic(slot, json.dumps(dataclasses.asdict(metadata), indent=2,
                                      sort_keys=True).encode())
    expected = name_and_version(sdist.name)
    if expected is None or (canonicalize_name(metadata.name), parse_version(
            metadata.version)) != expected[:2]:
        named = f"{expected[0]} {expected[1]}" if expected else "no project and version"
        raise InputError(f"the metadata prepared from {sdist.name} names "
                         f"{metadata.name} {metadata.version}, but its filename names {named}.")
    return metadata


def _cached_metadata(slot: Path) -> Metadata | None:
    """A hook's metadata cached before; a file that cannot be read or parsed is not used."""
    try:
        document = json.loads(slot.read_bytes())
        lists = {key: document[key] for key in ("requires_dist", "provides_extra",
                                                "classifiers") if key in document}
        if not all(isinstance(value, list) for value in lists.values()):
            return None
        metadata = Metadata(**{**document, **{k: tuple(v) for k, v in lists.items()}})
    except (OSError, ValueError, TypeError, LookupError):
        return None
    texts = (metadata.name, metadata.version, *metadata.requires_dist, *metadata.provides_extra,
             *metadata.classifiers)
    optional = (metadata.requires_python, metadata.license, metadata.license_expression,
                metadata.license_text, metadata.author, metadata.maintainer, metadata.summary)
    if all(isinstance(t, str) and t for t in texts) and all(
            o is None or isinstance(o, str) for o in optional):
        return metadata
    return None


def _report_metadata(path: Path) -> dict[str, Any] | None:
    """The metadata of the one distribution a `pip install --report` lists (bounded)."""
    try:
        with path.open("rb") as handle:
            document = json.loads(handle.read(REPORT_LIMIT))
        metadata = document["install"][0]["metadata"]
    except (OSError, ValueError, LookupError, TypeError):
        return None
    return metadata if isinstance(metadata, dict) else None


def _metadata_from_json(document: dict[str, Any]) -> Metadata | None:
    """PEP 566's JSON form of METADATA, as pip reports it, with wheelfile's license rule."""
    def text(key: str) -> str | None:
        value = document.get(key)
        return value if isinstance(value, str) and value else None

    def texts(key: str) -> tuple[str, ...]:
        value = document.get(key)
        return tuple(i for i in value if isinstance(i, str)) if isinstance(value, list) else ()

    name, version = text("name"), text("version")
    if name is None or version is None:
        return None
    fields = pkginfo.Distribution()
    fields.license_expression = text("license_expression")
    fields.license = text("license")
    fields.classifiers = list(texts("classifier"))
    return Metadata(name=name, version=version, requires_dist=texts("requires_dist"),
                    requires_python=text("requires_python"),
                    provides_extra=texts("provides_extra"), license=_license(fields))


class _Build:
    """One sdist's `pip wheel`, isolated, its build environment recorded; or the metadata
    its backend prepares, in the same isolated environment.

    pip writes an installation report (PIP_REPORT) for each install into the isolated build
    environment: build-system.requires, then whatever the backend asks for on top
    (get_requires_for_build_wheel). The report of the last install is what is left; when
    the backend asked for more, the first set is recovered with a dry run of the same
    install.
    """

    def __init__(self, sdist: Path, index_urls: list[str], find_links: list[Path],
                 stop: threading.Event | None, logs: Path, cert: str | None = None) -> None:
        self.sdist, self.find_links, self.stop, self.logs = sdist, find_links, stop, logs
        self.sources: list[str] = []
        if index_urls:
            self.sources += ["--index-url", index_urls[0]]
            for url in index_urls[1:]:
                self.sources += ["--extra-index-url", url]
        else:
            self.sources.append("--no-index")
        for folder in find_links:
            self.sources += ["--find-links", str(folder)]
        # the run's CA bundle (--cert, pip's cert), else the one requests would use
        cert = cert or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
        if cert:
            self.sources += ["--cert", cert]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        self.env["PIP_CONFIG_FILE"] = os.devnull
        self.env["SOURCE_DATE_EPOCH"] = REPRODUCIBLE_EPOCH

    def once(self, work: Path) -> tuple[Path, BuildRecord]:
        out, report = work / "out", work / "build-env.json"
        work.mkdir(parents=True)
        command = [*_PIP, "wheel", "--progress-bar", "off", "--no-deps", "--wheel-dir",
                   str(out), *self.sources, str(self.sdist)]
        result = _run(command, {**self.env, "PIP_REPORT": str(report)}, self.stop)
        built = sorted(out.glob("*.whl")) if out.is_dir() else []
        if result.returncode != 0 or len(built) != 1:
            raise InputError(self._failure(result))
        requires, backend = build_system(self.sdist)
        installed = _read_report(report)
        if "Installing backend dependencies" in result.stdout + result.stderr and requires:
            installed = self._dry_run(requires, work / "build-system.json") + installed
        return built[0], BuildRecord(
            python=f"{sys.implementation.name} {platform.python_version()}",
            frontend=f"pip {importlib.metadata.version('pip')}",
            backend=backend,
            requires=tuple(self._hashed(item) for item in _unique(installed)),
            source_date_epoch=REPRODUCIBLE_EPOCH,
        )

    def _failure(self, result: subprocess.CompletedProcess[str], doing: str = "building a "
                 "wheel from", log_name: str = "{}.log", log_kind: str = "build log") -> str:
        """One sentence with the backend's own last error lines, and the whole log kept."""
        said = " / ".join(backend_says(result.stdout + "\n" + result.stderr)) or "no output"
        where = f"{doing} {self.sdist.name} on this machine " \
                f"({sys.implementation.name} {platform.python_version()}) failed: {said}"
        try:
            self.logs.mkdir(parents=True, exist_ok=True)
            log = self.logs / log_name.format(self.sdist.name)
            write_atomic(log, ("$ " + " ".join(result.args) + "\n\n" + result.stdout + "\n"
                               + result.stderr).encode("utf-8", "replace"))
        except OSError:
            return where + "."
        return f"{where}. The whole {log_kind}: {log}."

    def metadata(self, report: Path) -> dict[str, Any]:
        """The sdist's metadata as pip reports it (PEP 566's JSON form), from the backend's
        prepare_metadata_for_build_wheel hook: pip builds the wheel only for a backend
        without one (PEP 517's fallback)."""
        command = [*_PIP, "install", "--dry-run", "--no-deps", "--ignore-installed",
                   "--ignore-requires-python", "--report", str(report), "--progress-bar",
                   "off", *self.sources, str(self.sdist)]
        result = _run(command, self.env, self.stop)
        found = _report_metadata(report) if result.returncode == 0 else None
        if found is None:
            raise InputError(self._failure(result, "preparing the metadata of",
                                           "{}.metadata.log", "log"))
        return found

    def _dry_run(self, requires: list[str], report: Path) -> list[BuildInput]:
        command = [*_PIP, "install", "--progress-bar", "off", "--dry-run",
                   "--ignore-installed", "--quiet", "--report", str(report), *self.sources,
                   "--", *requires]
        result = _run(command, self.env, self.stop)
        if result.returncode != 0:
            raise InputError(f"the build requirements of {self.sdist.name} could not be "
                             "listed again: " + " ".join(result.stderr.strip().splitlines()[-2:]))
        return _read_report(report)

    def _hashed(self, item: BuildInput) -> BuildInput:
        """A build requirement from a --find-links folder, hashed here if pip did not."""
        if item.sha256 is not None or not item.url.startswith("file:"):
            return item
        path = Path(urllib.request.url2pathname(urllib.parse.urlparse(item.url).path))
        if any(path.parent == folder.resolve() for folder in self.find_links) and path.is_file():
            return dataclasses.replace(item, sha256=file_sha256(path))
        return item


_PIP = [sys.executable, "-m", "pip", "--isolated", "--no-cache-dir",
        "--disable-pip-version-check"]


def _read_report(path: Path) -> list[BuildInput]:
    """The distributions a pip installation report lists (pip's own output, bounded)."""
    try:
        with path.open("rb") as handle:
            document = json.loads(handle.read(REPORT_LIMIT))
    except (OSError, ValueError):
        return []
    found = []
    for item in document.get("install", []) if isinstance(document, dict) else []:
        metadata, download = item.get("metadata", {}), item.get("download_info", {})
        url = str(download.get("url", ""))
        hashes = (download.get("archive_info") or {}).get("hashes") or {}
        found.append(BuildInput(
            name=canonicalize_name(str(metadata.get("name", ""))),
            version=str(metadata.get("version", "")),
            filename=urllib.parse.unquote(url.rsplit("/", 1)[-1].split("#")[0]),
            sha256=hashes.get("sha256"),
            url=net.redact(url)))
    return found


_OUTPUT_START = re.compile(r"\[\d+ lines? of output\]$")
# What pip adds around every failed build, which says nothing about this one.
_BOILERPLATE = ("note:", "hint:", "error: subprocess-exited-with-error", "error: metadata-",
                "ERROR: Failed", "×", "│", "╰─>", "[end of output]")


def backend_says(output: str, most: int = 3) -> list[str]:
    """The backend's own last lines from pip's output of a failed build (pip frames them as
    `[N lines of output]` ... `[end of output]`), its error lines first; failing that, pip's
    last lines that are not its boilerplate."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for raw in output.splitlines():
        line = raw.strip()
        if _OUTPUT_START.search(line):
            current = []
        elif line == "[end of output]" and current is not None:
            blocks.append(current)
            current = None
        elif current is not None and line:
            current.append(line)
    said = blocks[-1] if blocks else [
        line.strip() for line in output.splitlines()
        if line.strip() and not line.strip().startswith(_BOILERPLATE)]
    errors = [line for line in said if "error" in line.lower()]
    return (errors or said)[-most:]


def _unique(items: list[BuildInput]) -> list[BuildInput]:
    return sorted({(i.name, i.filename): i for i in items}.values(),
                  key=lambda i: (i.name, i.filename))


class BuildStopped(Exception):
    """The run stopped while a build was under way; its process was killed."""


def _run(command: list[str], env: dict[str, str],
         stop: threading.Event | None) -> subprocess.CompletedProcess[str]:
    """subprocess.run that `stop` can end: pip and the backend it started are killed."""
    group = hasattr(os, "killpg")  # a session of its own, so its children can be killed too
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env, start_new_session=group) as process:
        while True:
            try:
                out, err = process.communicate(timeout=0.2)
            except subprocess.TimeoutExpired:
                if stop is None or not stop.is_set():
                    continue
                _kill(process, group)
                raise BuildStopped(command[-1]) from None
            return subprocess.CompletedProcess(command, process.returncode, out, err)


def _kill(process: subprocess.Popen[str], group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    process.communicate()

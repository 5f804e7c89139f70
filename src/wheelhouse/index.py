"""The Simple API client: what files each index offers for a project, with their digests.

Pages are fetched concurrently and once per run (`prefetch` starts one early), from every
index URL (PEP 503 HTML or PEP 691 JSON, read by `simple.py`) and every --find-links
folder. Only the Simple API is used: it is what mirrors and pypiserver serve, and it
carries the `#sha256=` digest every download is checked against.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from wheelhouse import net
from wheelhouse.files import file_sha256
from wheelhouse.layout import is_plain_name
from wheelhouse.simple import ACCEPT, Link, page_links

PYPI = "https://pypi.org/simple"
PAGE_WORKERS = 24
log = logging.getLogger(__name__)


class ProjectNotFound(Exception):
    """No index and no find-links folder knows the project."""


@dataclass(frozen=True)
class IndexFile:
    """One downloadable file as an index lists it."""

    filename: str
    url: str
    name: str
    version: Version
    kind: str  # "wheel" or "sdist"
    sha256: str | None
    requires_python_text: str | None
    yanked: bool
    yanked_reason: str | None
    index: str
    size: int | None = None
    # prepare --allow-unverified: a file with no index sha256 may still be shipped, and is
    # recorded as unverified (the manifest's index_sha256 is null).
    unverified_ok: bool = False
    # The sha256 of its METADATA, served at URL + ".metadata" (PEP 658), when the index page
    # names one; None for find-links files (read whole, locally) and for pages that do not.
    metadata_sha256: str | None = None
    upload_time: str | None = None  # when the index received it (PEP 700 JSON pages)

    @property
    def checkable(self) -> bool:
        """Whether wheelhouse may ship it: its digest can be checked, or the user accepted
        that it cannot."""
        return self.sha256 is not None or self.unverified_ok

    @property
    def is_wheel(self) -> bool:
        return self.kind == "wheel"

    @property
    def preference(self) -> tuple[bool, str]:
        """Sort key among one version's sdists: .tar.gz (the standard form) before .zip."""
        return (not self.filename.endswith(".tar.gz"), self.filename)

    @cached_property
    def tags(self) -> frozenset[Tag]:
        """Parsed only for the files a resolution looks at, not for every file listed."""
        return parse_wheel_filename(self.filename)[3] if self.is_wheel else frozenset()

    @cached_property
    def requires_python(self) -> SpecifierSet | None:
        return _specifier(self.requires_python_text)


class Index:
    """Every configured source of files, queried together; results cached per project."""

    def __init__(
        self,
        session: net.Session,
        index_urls: list[str],
        find_links: list[Path],
        pinned: Mapping[str, set[Version]] | None = None,
        allow_unverified: bool = False,
    ) -> None:
        self.session = session
        self.allow_unverified = allow_unverified
        self.index_urls = [url.rstrip("/") for url in index_urls]
        self.find_links = find_links
        # Constraints pin most projects to one version, and a resolution under them can take
        # no other: keep only that version's files (botocore lists 5,000) in memory.
        self.pinned = dict(pinned or {})
        self._pages: dict[str, Future[list[IndexFile]]] = {}
        self._lock = threading.Lock()
        # Pages are small and latency-bound: many in flight keep the resolver from waiting.
        self._pool = ThreadPoolExecutor(max_workers=PAGE_WORKERS, thread_name_prefix="index")
        self._local = {path: sorted(path.iterdir()) for path in find_links}
        # Per index URL: the pages asked of it and those it answered 404, for `hint`.
        self._asked = dict.fromkeys(self.index_urls, 0)
        self._missing = dict.fromkeys(self.index_urls, 0)
        self._not_found = False  # a project no index and no folder knows

    def prefetch(self, name: str) -> Future[list[IndexFile]]:
        """Start fetching a project's pages now; the resolver will ask for them soon."""
        key = canonicalize_name(name)
        with self._lock:
            future = self._pages.get(key)
            if future is None:
                future = self._pool.submit(self._fetch, key)
                self._pages[key] = future
        return future

    def project_files(self, name: str) -> list[IndexFile]:
        """All files of the project, every index merged; raises ProjectNotFound."""
        return self.prefetch(name).result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def hint(self) -> str:
        """What to add to an error about a project no index knows, when an index answered 404
        to every page asked of it this run and its URL does not end in "simple": it is most
        likely not the root of a Simple API (https://pypi.org/ rather than .../simple/).

        "" otherwise; else sentences that each start with a space, to append to the error.
        An index whose URL ends in "simple" that knows none of the projects is taken to be
        the right one asked for misspelled names."""
        with self._lock:
            if not self._not_found:
                return ""
            silent = [url for url in self.index_urls if self._asked[url]
                      and self._missing[url] == self._asked[url]
                      and not url.lower().endswith("simple")]
            asked = dict(self._asked)
        sentences = []
        for url in silent:
            option = "--index-url" if url == self.index_urls[0] else "--extra-index-url"
            pages = "" if asked[url] == 1 else f" for all {asked[url]} pages asked"
            sentences.append(f" {net.redact(url)} answered 404{pages}: is {option} the root of "
                             "a Simple API (it ends in /simple/)?")
        return "".join(sentences)

    def _fetch(self, name: str) -> list[IndexFile]:
        found: dict[str, IndexFile] = {}
        known = False
        for index_url in self.index_urls:
            page_url = f"{index_url}/{name}/"
            response = net.get(
                self.session,
                page_url,
                what=f"the index page of {name}",
                headers={"Accept": ACCEPT},
                missing_ok=True,
                limit=net.PAGE_LIMIT,
            )
            with self._lock:
                self._asked[index_url] += 1
                self._missing[index_url] += response is None
            if response is None:
                continue
            known = True
            index = net.redact(index_url)
            only = self.pinned.get(name)
            keep = None if only is None else _of_versions(name, only)
            for link in page_links(response, name, keep):
                item = _from_link(link, name, index)
                if item is not None:
                    if item.sha256 is None and self.allow_unverified:
                        item = dataclasses.replace(item, unverified_ok=True)
                    found.setdefault(item.filename, item)
        for folder, entries in self._local.items():
            for path in entries:
                item = _from_local(path, name, str(folder))
                if item is not None:
                    known = True
                    found.setdefault(item.filename, item)
        if not known:
            with self._lock:
                self._not_found = True
            raise ProjectNotFound(name)
        return list(found.values())


def not_found_hint(sources: object) -> str:
    """Index.hint of the Index behind a resolver's sources ("" for sources with none)."""
    index = getattr(sources, "index", None)
    return index.hint() if isinstance(index, Index) else ""


def parse_filename(filename: str) -> tuple[str, Version, str, frozenset[Tag]] | None:
    """(name, version, kind, tags) of a wheel or sdist filename, or None for anything else."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, wheel_tags = parse_wheel_filename(filename)
            return name, version, "wheel", wheel_tags
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return name, version, "sdist", frozenset()
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return None
    return None


def name_and_version(filename: str) -> tuple[str, Version, str] | None:
    """(name, version, kind) without parsing tags: the cheap part, done for every file."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        if len(parts) not in (5, 6):
            return None
        name, version_text, kind = parts[0], parts[1], "wheel"
    elif filename.endswith((".tar.gz", ".zip")):
        stem = filename[:-7] if filename.endswith(".tar.gz") else filename[:-4]
        name, _, version_text = stem.rpartition("-")
        kind = "sdist"
    else:
        return None
    version = parse_version(version_text)
    if not name or version is None:
        return None
    return _canonical(name), version, kind


def _of_versions(name: str, versions: set[Version]) -> Callable[[str], bool]:
    """A filename test: is this a file of `name` at one of `versions`?"""

    def keep(filename: str) -> bool:
        parsed = name_and_version(filename)
        return parsed is not None and parsed[0] == name and parsed[1] in versions

    return keep


@lru_cache(maxsize=65536)
def _canonical(name: str) -> str:
    return canonicalize_name(name)


@lru_cache(maxsize=65536)
def parse_version(text: str) -> Version | None:
    """A Version, or None for text that is not one; cached, as pages repeat versions."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _from_link(link: Link, name: str, index: str) -> IndexFile | None:
    """A link of an index page, or None for one the run must not use: a filename that is not
    a plain file name (`%2F` smuggles a separator in), or a URL that is not http(s) (a page
    served over HTTP may not point at this machine's own files)."""
    if not is_plain_name(link.filename) or not link.url.startswith(("https://", "http://")):
        return None
    parsed = name_and_version(link.filename)
    if parsed is None or parsed[0] != name:
        return None
    _, version, kind = parsed
    if kind == "wheel" and not _valid_wheel_name(link.filename):
        return None
    return IndexFile(
        filename=link.filename,
        url=link.url,
        name=name,
        version=version,
        kind=kind,
        sha256=link.sha256,
        requires_python_text=link.requires_python,
        yanked=link.yanked,
        yanked_reason=link.yanked_reason,
        index=index,
        size=link.size,
        metadata_sha256=link.metadata_sha256,
        upload_time=link.upload_time,
    )


def _valid_wheel_name(filename: str) -> bool:
    """Whether packaging can read the wheel's tags: an index may list a file whose name it
    cannot (PyPI lists `pydantic-0.18.2-py36+-none-any.whl`); pip skips such a file, and so
    does wheelhouse, rather than fail on it later."""
    try:
        parse_wheel_filename(filename)
    except (InvalidWheelFilename, ValueError) as exc:
        log.debug("skipping %s: its name is not a valid wheel filename (%s)", filename, exc)
        return False
    return True


def _from_local(path: Path, name: str, folder: str) -> IndexFile | None:
    parsed = name_and_version(path.name)
    if parsed is None or parsed[0] != name or not path.is_file():
        return None
    if parsed[2] == "wheel" and not _valid_wheel_name(path.name):
        return None
    _, version, kind = parsed
    return IndexFile(
        filename=path.name,
        url=path.resolve().as_uri(),
        name=name,
        version=version,
        kind=kind,
        sha256=file_sha256(path),
        requires_python_text=None,
        yanked=False,
        yanked_reason=None,
        index=folder,
        size=path.stat().st_size,
    )


@lru_cache(maxsize=4096)
def _specifier(text: str | None) -> SpecifierSet | None:
    if not text:
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None  # pip ignores a malformed data-requires-python too


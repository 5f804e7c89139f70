"""`verify --against-index`: each file's digest asked of its index again, on the connected side.

The offline checks prove that a folder agrees with its manifest, and a manifest rewritten to
match a forged wheel agrees too. The index is the one witness outside the folder: asked now,
it must publish, for every file, the sha256 that file has. Built wheels have no such witness;
their sdist is checked instead. This is verify's one networked mode, never its default.

The index a file names in the manifest is the manifest's word: whoever rewrote the manifest
could name their own server. So the indexes asked are reported, and `--index-url` makes
verify ask only the ones the user names.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from wheelhouse import net
from wheelhouse.errors import InputError
from wheelhouse.index import PAGE_WORKERS, Index, IndexFile, ProjectNotFound, parse_version
from wheelhouse.manifest import FileEntry
from wheelhouse.verify import Finding, Folder


@dataclass(frozen=True)
class Witness:
    """A file to ask an index about: a downloaded file, or the sdist a wheel was built from."""

    filename: str
    name: str
    version: str
    sha256: str  # what the folder holds now (or, for a sdist not kept, what the manifest says)
    recorded: str | None  # the digest the manifest says the index published
    index: str | None
    built: str | None = None  # the wheel built from it


def witnesses(folder: Folder) -> list[Witness]:
    """What to ask about: every listed file, a built wheel through its sdist."""
    found: dict[str, Witness] = {}
    for entry in folder.entries.values():
        origin = _origin(entry, folder)
        if origin is not None:
            found.setdefault(origin.filename, origin)
    return sorted(found.values(), key=lambda w: w.filename)


def _origin(entry: FileEntry, folder: Folder) -> Witness | None:
    if entry.kind == "built-wheel":
        sdist = entry.sdist
        if sdist is None:
            return None  # the `manifest` check reports a built wheel with no sdist
        seen = folder.inspections.get(sdist.filename)
        return Witness(sdist.filename, entry.name, entry.version,
                       seen.sha256 if seen else sdist.sha256, sdist.index_sha256,
                       _index_of(sdist.url, entry.index), entry.filename)
    seen = folder.inspections.get(entry.filename)
    if seen is None:
        return None  # the `missing` check reports it
    return Witness(entry.filename, entry.name, entry.version, seen.sha256, entry.index_sha256,
                   entry.index)


def _index_of(url: str, index: str | None) -> str | None:
    return index if url.startswith(("https://", "http://")) else None


def check_against_index(
    folder: Folder, session: net.Session, index_urls: list[str] | None = None,
    allow_unverified: bool = False,
) -> tuple[list[Finding], list[str]]:
    """(findings, the index URLs asked). With `index_urls`, only those are asked, whatever
    the manifest names; otherwise each file's own index."""
    asked = [url.rstrip("/") for url in index_urls] if index_urls else []
    by_index: dict[tuple[str, ...], list[Witness]] = defaultdict(list)
    findings: list[Finding] = []
    for witness in witnesses(folder):
        if asked:
            by_index[tuple(asked)].append(witness)
        elif witness.index and witness.index.startswith(("https://", "http://")):
            by_index[(witness.index.rstrip("/"),)].append(witness)
        elif not allow_unverified:
            findings.append(Finding(
                "against-index", f"{witness.filename} came from {witness.index or 'no index'}"
                ", not an index: nothing outside the folder vouches for it (give --index-url "
                "to ask one, or --allow-unverified to accept it).", file=witness.filename,
                project=witness.name, expected="a file from an index",
                found=witness.index or "none"))
    for urls, group in sorted(by_index.items()):
        findings += _ask(session, list(urls), group, allow_unverified)
    return findings, sorted({url for urls in by_index for url in urls})


def _ask(session: net.Session, urls: list[str], group: list[Witness],
         allow_unverified: bool) -> list[Finding]:
    versions: dict[str, set] = defaultdict(set)
    for witness in group:
        version = parse_version(witness.version)
        if version is not None:
            versions[witness.name].add(version)
    index = Index(session, urls, [], versions)
    try:
        for name in versions:
            index.prefetch(name)
        return [finding for witness in group
                if (finding := _compare(witness, _listed(index, witness), urls,
                                        allow_unverified)) is not None]
    finally:
        index.close()


def _listed(index: Index, witness: Witness) -> IndexFile | None:
    try:
        files = index.project_files(witness.name)
    except ProjectNotFound:
        return None
    return next((f for f in files if f.filename == witness.filename), None)


def _compare(witness: Witness, listed: IndexFile | None, urls: list[str],
             allow_unverified: bool) -> Finding | None:
    where = " or ".join(net.redact(url) for url in urls)
    about = f" (the sdist {witness.built} was built from)" if witness.built else ""
    common = {"file": witness.filename, "project": witness.name}
    if listed is None:
        return Finding("against-index", f"{witness.filename}{about} is not listed by {where}.",
                       expected="listed", found="absent", **common)
    if listed.sha256 is None:
        if allow_unverified:
            return None
        return Finding("against-index", f"{where} publishes no sha256 for "
                       f"{witness.filename}{about}.", expected="a sha256", found="none",
                       **common)
    if listed.sha256 != witness.sha256:
        return Finding("against-index", f"{witness.filename}{about} is not the file {where} "
                       "publishes: its sha256 differs from the index's.",
                       expected=listed.sha256, found=witness.sha256, **common)
    if witness.recorded is not None and witness.recorded != listed.sha256:
        return Finding("against-index", f"the manifest records another index digest for "
                       f"{witness.filename}{about} than {where} publishes.",
                       expected=listed.sha256, found=witness.recorded, **common)
    return None


def open_session(timeout: float) -> net.Session:
    if not timeout > 0:
        raise InputError(f"--timeout {timeout:g}: give a number of seconds above 0.")
    return net.make_session(pool_size=PAGE_WORKERS, timeout=timeout)

"""Two manifests compared: what a reviewer must vet when a wheelhouse is prepared again.

A folder approved once should not need a second full review when a constraint moves: only
what changed does. `compare` reads two `Manifest`s (never the folders: that each folder still
holds what its manifest says is verify's to prove) and lists the changes, the one that should
never happen first: a file name that now means other bytes ("rehashed").

Choices the comparison makes:

- Projects are keyed by canonical name over every file (every role). A project's versions
  are compared as sets, since several targets may pin it differently. One version on each
  side: "upgraded" or "downgraded" by PEP 440. When PEP 440 cannot order the two (either
  does not parse, or both are the same version spelled differently) they are compared as
  text and called "upgraded" because they differ; the detail says so (such a pair is then
  "upgraded" in both directions). Any other change of the set is reported version by
  version: each version only in the old folder is "removed", each only in the new one is
  "added" (so a project that appears or disappears with two versions counts twice).
- "index" and "license" compare the set of values over all of a project's files, whatever
  their versions: a project that moves to another index while it is upgraded is the case a
  reviewer most needs to see (dependency confusion). An index the manifest does not record
  and a license it does not know are values too.
- "built" and the versions of a project concern projects in both folders; an added
  project's detail says where it comes from, whether it is built here and whether it is
  yanked. "yanked" is reported per file for a file name in both folders, else once per
  project whose folder went from holding no yanked file to holding some, or back.
- Requirements and targets are compared as sets: reordering them is no change.

Both manifests travel with their folders, so every string in them is untrusted. A `Change`
keeps values as they were read (JSON escaping carries them safely); the two renderers drop
control and format characters (terminal escapes, bidirectional overrides), turn line breaks
into spaces, bound every value, and the Markdown escapes its metacharacters, pipes included.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelhouse.manifest import ConstraintsRecord, FileEntry, Manifest

KINDS = ("rehashed", "added", "removed", "upgraded", "downgraded", "index", "license", "built",
         "yanked", "target-added", "target-removed", "requirements", "constraints")
_ORDER = {kind: number for number, kind in enumerate(KINDS)}
# (one, several): for "2 upgraded, 1 target added"
_COUNTED = {
    "rehashed": ("re-hashed", "re-hashed"),
    "added": ("added", "added"),
    "removed": ("removed", "removed"),
    "upgraded": ("upgraded", "upgraded"),
    "downgraded": ("downgraded", "downgraded"),
    "index": ("index change", "index changes"),
    "license": ("license change", "license changes"),
    "built": ("built-here change", "built-here changes"),
    "yanked": ("yanked change", "yanked changes"),
    "target-added": ("target added", "targets added"),
    "target-removed": ("target removed", "targets removed"),
    "requirements": ("requirement change", "requirement changes"),
    "constraints": ("constraints change", "constraints changes"),
}
_HEADINGS = {
    "rehashed": "re-hashed: same file name, other bytes (this should never happen)",
    "added": "added",
    "removed": "removed",
    "upgraded": "upgraded",
    "downgraded": "downgraded",
    "index": "index changed",
    "license": "license changed",
    "built": "built here, or no longer",
    "yanked": "yanked, or no longer",
    "target-added": "targets added",
    "target-removed": "targets removed",
    "requirements": "requirements",
    "constraints": "constraints",
}
_NO_INDEX = "(index not recorded)"
_NO_LICENSE = "unknown"
_BUILT, _NOT_BUILT = "built here", "not built here"
_YANKED, _NOT_YANKED = "yanked", "not yanked"
_CELL_LIMIT = 300  # characters shown of one value
_DETAIL_LIMIT = 1000  # of one sentence
_DROPPED = frozenset({"Cc", "Cf", "Cs"})  # controls, format (bidi overrides), surrogates
_BREAKS = frozenset({"Zl", "Zp"})
# What could open markup, a link, HTML, a GitLab inline diff or math, or end a table cell.
# Parentheses and ">" mean something only after "]" or where a line starts: every untrusted
# value follows fixed text on its line, and "[" is escaped.
_MARKDOWN = frozenset("\\`*_{}[]<#!|~&@$")


@dataclass(frozen=True)
class Change:
    """One difference between two manifests, in words a reviewer reads and values a script
    compares."""

    kind: str
    project: str  # canonical name; "" for a change of the folder (targets, requirements ...)
    old: str | None
    new: str | None
    detail: str

    def __post_init__(self) -> None:
        if self.kind not in _ORDER:
            raise ValueError(f"unknown kind of change {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "project": self.project, "old": self.old, "new": self.new,
                "detail": self.detail}


@dataclass(frozen=True)
class Delta:
    """Every change from one manifest to another, in review order."""

    changes: tuple[Change, ...]

    @property
    def equal(self) -> bool:
        return not self.changes

    def to_json(self) -> dict[str, Any]:
        return {"equal": self.equal, "counts": _counts(self.changes),
                "changes": [change.to_json() for change in self.changes]}

    def markdown(self, old_label: str, new_label: str) -> str:
        """For a merge-request description: a table to scan, details folded below it."""
        lines = [f"### wheelhouse diff: {_md(old_label)} -> {_md(new_label)}", ""]
        if self.equal:
            return "\n".join([*lines, "No differences.", ""])
        lines += [f"**{_summary(self.changes)}** ({_total(self.changes)})", ""]
        for change in self.changes:
            if change.kind == "rehashed":
                lines += ["> ⚠️ **Re-hashed** (same file name, other bytes): "
                          + _md(change.detail, _DETAIL_LIMIT), ""]
        lines += ["| change | project | old | new |", "|---|---|---|---|"]
        lines += [f"| {change.kind} | {_md_cell(change.project)} | {_md_cell(change.old)} | "
                  f"{_md_cell(change.new)} |" for change in self.changes]
        lines += ["", "<details><summary>Details</summary>", ""]
        # Each item opens with fixed text: nothing untrusted can start a block (a list, a
        # heading) where the line begins.
        lines += [f"- **{change.kind}**: {_md(change.detail, _DETAIL_LIMIT)}"
                  for change in self.changes]
        return "\n".join([*lines, "", "</details>", ""])

    def text(self) -> str:
        """For a terminal: a heading per kind, then one line per change."""
        if self.equal:
            return "No differences.\n"
        lines = [f"{_summary(self.changes)} ({_total(self.changes)})"]
        for kind in KINDS:
            group = [change for change in self.changes if change.kind == kind]
            if group:
                lines.append(f"{_HEADINGS[kind]}:")
                lines += [f"  {_clean(change.detail, _DETAIL_LIMIT)}" for change in group]
        return "\n".join(lines) + "\n"


def compare(old: Manifest, new: Manifest) -> Delta:
    """What changed from `old` to `new`, the re-hashed files first."""
    before, after = _by_project(old.files), _by_project(new.files)
    changes = [
        *_rehashed(old.files, new.files),
        *_projects(before, after),
        *_yanked(old.files, new.files, before, after),
        *_targets(old.target_names, new.target_names),
        *_requirements(old.requirements, new.requirements),
        *_constraints(old, new),
    ]
    # Stable: within a kind and a project, the order each step gave (versions ascending).
    return Delta(tuple(sorted(changes, key=lambda change: (_ORDER[change.kind],
                                                           change.project))))


# -- files and projects ------------------------------------------------------------------------


def _by_project(files: Iterable[FileEntry]) -> dict[str, list[FileEntry]]:
    found: dict[str, list[FileEntry]] = {}
    for entry in files:
        found.setdefault(_project(entry), []).append(entry)
    return found


def _project(entry: FileEntry) -> str:
    """The key of a project: a manifest anyone may have edited may not spell it canonically."""
    return str(canonicalize_name(entry.name))


def _by_filename(files: Iterable[FileEntry]) -> dict[str, list[FileEntry]]:
    found: dict[str, list[FileEntry]] = {}
    for entry in files:
        found.setdefault(entry.filename, []).append(entry)
    return found


def _rehashed(old: Iterable[FileEntry], new: Iterable[FileEntry]) -> Iterator[Change]:
    """A name the reviewer approved now names other bytes: a mirror or an index served
    something else under it, or the folder was tampered with."""
    before, after = _by_filename(old), _by_filename(new)
    for filename in sorted(before.keys() & after.keys()):
        was = sorted({entry.sha256 for entry in before[filename]})
        now = sorted({entry.sha256 for entry in after[filename]})
        if was != now:
            yield Change(
                "rehashed", _project(after[filename][0]), ", ".join(was),
                ", ".join(now),
                f"{filename} has other bytes under the same file name (sha256 "
                f"{_short(was)} -> {_short(now)}): a file name should always mean the same "
                "bytes; find out why before trusting either folder")


def _projects(before: dict[str, list[FileEntry]],
              after: dict[str, list[FileEntry]]) -> Iterator[Change]:
    for project in sorted(before.keys() | after.keys()):
        was, now = before.get(project, []), after.get(project, [])
        yield from _versions(project, was, now)
        if was and now:
            yield from _indexes(project, was, now)
            yield from _licenses(project, was, now)
            yield from _built(project, was, now)


def _versions(project: str, was: list[FileEntry], now: list[FileEntry]) -> Iterator[Change]:
    before, after = {entry.version for entry in was}, {entry.version for entry in now}
    if before == after:
        return
    if len(before) == 1 and len(after) == 1:
        (old,), (new,) = before, after
        kind, note = _direction(old, new)
        yield Change(kind, project, old, new, f"{project} {old} -> {new}{note}")
        return
    for version in _sorted_versions(before - after):
        where = (f"the new folder holds {_listed(project, after)}" if after
                 else "no longer in the folder")
        yield Change("removed", project, version, None, f"{project} {version} removed ({where})")
    for version in _sorted_versions(after - before):
        notes = [f"the old folder held {_listed(project, before)}" if before
                 else "new to the folder"]
        notes += _origin([entry for entry in now if entry.version == version])
        yield Change("added", project, None, version,
                     f"{project} {version} added ({'; '.join(notes)})")


def _direction(old: str, new: str) -> tuple[str, str]:
    """upgraded or downgraded, and a note when PEP 440 could not tell which."""
    try:
        was, now = Version(old), Version(new)
    except InvalidVersion:
        return "upgraded", (" (not both PEP 440 versions: compared as text, and called an "
                            "upgrade only because they differ)")
    if now > was:
        return "upgraded", ""
    if now < was:
        return "downgraded", ""
    return "upgraded", (" (the same version by PEP 440, spelled differently: called an "
                        "upgrade only because the text differs)")


def _origin(entries: list[FileEntry]) -> list[str]:
    """What a reviewer of an added version asks first: where from, built here, yanked."""
    notes = [f"from {', '.join(_index_set(entries))}"]
    if any(entry.kind == "built-wheel" for entry in entries):
        notes.append("built here from its sdist")
    if any(entry.yanked for entry in entries):
        notes.append("yanked on its index")
    return notes


def _indexes(project: str, was: list[FileEntry], now: list[FileEntry]) -> Iterator[Change]:
    before, after = _index_set(was), _index_set(now)
    if before != after:
        old, new = ", ".join(before), ", ".join(after)
        yield Change("index", project, old, new, f"{project}: index {old} -> {new}")


def _index_set(entries: Iterable[FileEntry]) -> list[str]:
    return sorted({entry.index or _NO_INDEX for entry in entries})


def _licenses(project: str, was: list[FileEntry], now: list[FileEntry]) -> Iterator[Change]:
    before, after = _license_set(was), _license_set(now)
    if before != after:
        old, new = "; ".join(before), "; ".join(after)
        yield Change("license", project, old, new, f"{project}: license {old} -> {new}")


def _license_set(entries: Iterable[FileEntry]) -> list[str]:
    return sorted({_license(entry) for entry in entries})


def _license(entry: FileEntry) -> str:
    if entry.license_facts is not None:
        return entry.license_facts.spdx
    return entry.license or _NO_LICENSE


def _built(project: str, was: list[FileEntry], now: list[FileEntry]) -> Iterator[Change]:
    """A wheel built here is code the reviewer's own build ran: a different trust."""
    before = any(entry.kind == "built-wheel" for entry in was)
    after = any(entry.kind == "built-wheel" for entry in now)
    if before != after:
        detail = (f"{project}: now built here from its sdist (the old folder downloaded it)"
                  if after else f"{project}: no longer built here (the old folder built it)")
        yield Change("built", project, _BUILT if before else _NOT_BUILT,
                     _BUILT if after else _NOT_BUILT, detail)


def _yanked(old: Iterable[FileEntry], new: Iterable[FileEntry],
            before: dict[str, list[FileEntry]],
            after: dict[str, list[FileEntry]]) -> Iterator[Change]:
    """Per file where a file name is in both; else per project that went from no yanked
    file to some (an upgrade to a yanked release), or back."""
    was_files, now_files = _by_filename(old), _by_filename(new)
    covered: set[str] = set()
    for filename in sorted(was_files.keys() & now_files.keys()):
        was = any(entry.yanked for entry in was_files[filename])
        now = any(entry.yanked for entry in now_files[filename])
        if was != now:
            project = _project(now_files[filename][0])
            covered.add(project)
            state = "now yanked on its index" if now else "no longer yanked on its index"
            yield Change("yanked", project, _YANKED if was else _NOT_YANKED,
                         _YANKED if now else _NOT_YANKED, f"{filename}: {state}")
    for project in sorted((before.keys() | after.keys()) - covered):
        was_yanked = sorted({e.filename for e in before.get(project, []) if e.yanked})
        now_yanked = sorted({e.filename for e in after.get(project, []) if e.yanked})
        if bool(was_yanked) != bool(now_yanked):
            detail = (f"{project}: the folder now holds yanked files ({', '.join(now_yanked)})"
                      if now_yanked else f"{project}: the folder no longer holds yanked "
                      f"files (it held {', '.join(was_yanked)})")
            yield Change("yanked", project, _YANKED if was_yanked else _NOT_YANKED,
                         _YANKED if now_yanked else _NOT_YANKED, detail)


# -- the folder --------------------------------------------------------------------------------


def _targets(old: Iterable[str], new: Iterable[str]) -> Iterator[Change]:
    before, after = set(old), set(new)
    for name in sorted(after - before):
        yield Change("target-added", "", None, name, f"target {name} added")
    for name in sorted(before - after):
        yield Change("target-removed", "", name, None, f"target {name} removed")


def _requirements(old: Iterable[str], new: Iterable[str]) -> Iterator[Change]:
    before, after = set(old), set(new)
    for line in sorted(after - before):
        yield Change("requirements", "", None, line, f"requirement added: {line}")
    for line in sorted(before - after):
        yield Change("requirements", "", line, None, f"requirement removed: {line}")


def _constraints(old: Manifest, new: Manifest) -> Iterator[Change]:
    """Per target Python when either manifest records constraints that way, else once."""
    if old.constraints_by_python is None and new.constraints_by_python is None:
        pairs = {"": (old.constraints, new.constraints)}
    else:
        before, after = _constraints_by_python(old), _constraints_by_python(new)
        pairs = {python: (before.get(python), after.get(python))
                 for python in _sorted_versions(before.keys() | after.keys())}
    for python, (was, now) in pairs.items():
        if _fingerprint(was) != _fingerprint(now):
            yield Change("constraints", "", _describe(was), _describe(now),
                         _constraints_detail(python, was, now))


def _constraints_by_python(manifest: Manifest) -> dict[str, ConstraintsRecord]:
    if manifest.constraints_by_python is not None:
        return dict(manifest.constraints_by_python)
    if manifest.constraints is None:
        return {}
    return {python: manifest.constraints
            for python in {target.python for target in manifest.targets} or {""}}


def _fingerprint(record: ConstraintsRecord | None) -> tuple[str, str] | None:
    return None if record is None else (record.source, record.sha256)


def _describe(record: ConstraintsRecord | None) -> str | None:
    return None if record is None else f"{record.source} sha256:{record.sha256}".strip()


def _constraints_detail(python: str, was: ConstraintsRecord | None,
                        now: ConstraintsRecord | None) -> str:
    where = f"constraints for Python {python}" if python else "constraints"
    if now is None:
        return "" if was is None else (
            f"{where} removed (was {was.source}, sha256 {_short([was.sha256])})")
    if was is None:
        return f"{where} added: {now.source} (sha256 {_short([now.sha256])})"
    sha256 = f"sha256 {_short([was.sha256])} -> {_short([now.sha256])}"
    if was.source == now.source:
        return f"{where}: {now.source} now has other content ({sha256})"
    same = " (same content)" if was.sha256 == now.sha256 else f" ({sha256})"
    return f"{where}: {was.source} -> {now.source}{same}"


# -- words -------------------------------------------------------------------------------------


def _version_key(text: str) -> tuple[bool, Version, str]:
    try:
        return False, Version(text), text
    except InvalidVersion:
        return True, Version("0"), text


def _sorted_versions(versions: Iterable[str]) -> list[str]:
    return sorted(versions, key=_version_key)


def _listed(project: str, versions: Iterable[str]) -> str:
    return f"{project} {', '.join(_sorted_versions(versions))}"


def _short(hashes: list[str]) -> str:
    return ", ".join(value[:12] + "…" if len(value) > 12 else value for value in hashes)


def _counts(changes: Iterable[Change]) -> dict[str, int]:
    counts = dict.fromkeys(KINDS, 0)
    for change in changes:
        counts[change.kind] += 1
    return counts


def _summary(changes: Iterable[Change]) -> str:
    return ", ".join(f"{count} {_COUNTED[kind][count > 1]}"
                     for kind, count in _counts(changes).items() if count)


def _total(changes: tuple[Change, ...]) -> str:
    return f"{len(changes)} change" + ("" if len(changes) == 1 else "s")


# -- untrusted text, made safe to show ---------------------------------------------------------


def _clean(text: str, limit: int = _CELL_LIMIT) -> str:
    """Safe on a terminal and in one line: no escape sequence, no bidirectional override
    (text that reads other than it is), no line break; bounded."""
    cut = len(text) > limit
    kept = []
    for char in text[:limit]:
        category = unicodedata.category(char)
        if char in "\t\n\r\v\f\x1c\x1d\x1e\x85" or category in _BREAKS:
            kept.append(" ")
        elif category not in _DROPPED:
            kept.append(char)
    return "".join(kept) + ("…" if cut else "")


def _md(text: str, limit: int = _CELL_LIMIT) -> str:
    """Text that renders as itself: every character that could open markup, a link, HTML
    or a table cell is escaped (CommonMark lets any ASCII punctuation be)."""
    return "".join("\\" + char if char in _MARKDOWN else char for char in _clean(text, limit))


def _md_cell(value: str | None) -> str:
    return _md(value) if value else "—"

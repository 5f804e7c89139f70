"""The review page (`wheelhouse report`): one page, HTML or Markdown, for a security reviewer
who does not read JSON.

The page is opened on the air-gapped side, from a folder anyone may have touched, so every
string in the manifest is someone else's data:

- each is bounded in length, and characters a reader cannot see or that reorder what is
  shown (controls, bidi overrides, zero widths, lone surrogates) are named as [U+XXXX]
  instead of obeyed, so what the reviewer reads is what the file says;
- each is escaped where it lands: `html.escape(quote=True)` in HTML, backslash escapes in
  Markdown (no raw HTML, link or image can come from data);
- URLs (indexes, constraints, downloads) are shown as text, never as links;
- the HTML is one file that fetches nothing: its one style and one script are allowed by
  their sha256 in a Content-Security-Policy that refuses everything else, so even markup
  that slipped past escaping could neither run nor load a URL;
- the sort script moves the rows that are there, reading text and data attributes; it
  never builds markup.

The page states what the manifest claims; whether the folder holds it is verify's answer,
which the caller passes in and the page shows first. Both renderings come from one view, so
they say the same things; the same input gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Union

from packaging.utils import canonicalize_name

from wheelhouse.layout import MANIFEST, SIGNATURES
from wheelhouse.licenses import UNKNOWN, declared_line
from wheelhouse.manifest import BuildRecord, ConstraintsRecord, FileEntry, Manifest
from wheelhouse.osv import Finding, Unchecked

CELL_LIMIT = 500  # a longer value is cut, and says so
TEXT_LIMIT = 2000  # warnings and problems: sentences
# Unicode categories shown as [U+XXXX]: controls, format (bidi, zero width), surrogates,
# line/paragraph separators, private use, unassigned.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class PageInput:
    manifest: Manifest
    manifest_sha256: str
    folder: str  # display name/path
    signatures: int  # how many signature blocks wheelhouse.json.sig holds (0 if none)
    verified: bool | None  # verify's verdict: True (all checks hold), False, None (not run)


# -- the view: what both renderings say ----------------------------------------------------


@dataclass(frozen=True)
class _Cell:
    text: str  # already made visible and bounded
    key: str | None = None  # what the sort script compares, when the text does not sort well
    status: str = ""  # good | bad | warn | info | muted


@dataclass(frozen=True)
class _Fact:
    label: str
    values: tuple[_Cell, ...]
    listed: bool = False  # several values: a list, even with one or none


@dataclass(frozen=True)
class _Facts:
    facts: tuple[_Fact, ...]


@dataclass(frozen=True)
class _Column:
    title: str
    sort: str = "text"  # how the script compares: "text" (digits as numbers) | "number"
    fit: str = ""  # "nowrap": short values; "long": may break anywhere; "hash": monospace


def _columns(*specs: str) -> tuple[_Column, ...]:
    """'Title' or 'Title:fit' or 'Title:fit:number'."""
    found = []
    for spec in specs:
        title, fit, sort = (spec.split(":") + ["", ""])[:3]
        found.append(_Column(title, sort or "text", fit))
    return tuple(found)


@dataclass(frozen=True)
class _Table:
    anchor: str
    title: str
    columns: tuple[_Column, ...]
    rows: tuple[tuple[_Cell, ...], ...]


@dataclass(frozen=True)
class _Items:
    items: tuple[_Cell, ...]


@dataclass(frozen=True)
class _Para:
    cell: _Cell
    hint: bool = False  # how to use the HTML page: not printed, not in Markdown


_Block = Union[_Facts, _Table, _Items, _Para]


@dataclass(frozen=True)
class _Section:
    anchor: str
    title: str
    blocks: tuple[_Block, ...]


def _visible(text: str, limit: int = CELL_LIMIT) -> str:
    """Untrusted text as it should be read: invisible and reordering characters are named,
    not obeyed, and a value too long for a page is cut with a note."""
    cut = text[:limit]
    if not cut.isprintable():
        cut = "".join(f"[U+{ord(char):04X}]" if unicodedata.category(char) in _HIDDEN
                      else char for char in cut)
    if len(text) > limit:
        cut += f"… [{len(text) - limit} more characters]"
    return cut


def _cell(text: str, status: str = "", key: str | None = None,
          limit: int = CELL_LIMIT) -> _Cell:
    return _Cell(_visible(text, limit), key, status)


def _absent(text: str = "not recorded") -> _Cell:
    """A value the manifest does not give: said in words, sorted last."""
    return _Cell(text, "", "muted")


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _strs(value: object) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) \
        if isinstance(value, list) else ()


def _count(value: object) -> _Cell:
    """A count from the audit (untrusted JSON): shown only if it is one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _Cell(str(value), str(value))
    return _Cell("unreadable", "", "warn")


def _n(count: int, word: str, words: str = "") -> str:
    return f"{count} {word}" if count == 1 else f"{count} {words or word + 's'}"


def _project_key(name: str) -> str:
    return canonicalize_name(name[:CELL_LIMIT])


# -- the audit, read from untrusted JSON ---------------------------------------------------


def _advisories(audit: Mapping[str, Any]) -> list[Finding]:
    found = []
    listed = audit.get("findings")
    for raw in listed if isinstance(listed, list) else ():
        if isinstance(raw, dict) and _str(raw.get("id")):
            found.append(Finding(
                id=_str(raw.get("id")), aliases=_strs(raw.get("aliases")),
                project=_str(raw.get("project")), version=_str(raw.get("version")),
                fixed=_strs(raw.get("fixed")), summary=_str(raw.get("summary")),
                modified=_str(raw.get("modified"))))
    unique = dict.fromkeys(found)
    return sorted(unique, key=lambda a: (_project_key(a.project), a.version, a.id, a.project,
                                         a.aliases, a.fixed, a.summary))


def _unchecked(audit: Mapping[str, Any]) -> list[Unchecked]:
    raw = audit.get("unchecked")
    found = dict.fromkeys(
        Unchecked(_str(item.get("project")), _str(item.get("version")),
                   _str(item.get("reason")))
        for item in (raw if isinstance(raw, list) else ()) if isinstance(item, dict))
    return sorted(found, key=lambda u: (_project_key(u.project), u.version, u.reason,
                                        u.project))


@dataclass(frozen=True)
class _Audit:
    """What the vulnerabilities column needs, by (normalized project, version)."""

    audited: bool
    advisories: dict[tuple[str, str], list[Finding]]
    unchecked: set[tuple[str, str]]

    @classmethod
    def of(cls, manifest: Manifest) -> _Audit:
        audit = manifest.audit
        if not isinstance(audit, dict):
            return cls(False, {}, set())
        by_pair: dict[tuple[str, str], list[Finding]] = {}
        for advisory in _advisories(audit):
            pair = (_project_key(advisory.project), advisory.version)
            by_pair.setdefault(pair, []).append(advisory)
        unchecked = {(_project_key(u.project), u.version) for u in _unchecked(audit)}
        return cls(True, by_pair, unchecked)

    def of_entry(self, entry: FileEntry) -> tuple[list[Finding], bool]:
        """The advisories that affect the file's project version, and whether the audit
        could not check it."""
        pair = (_project_key(entry.name), entry.version)
        return self.advisories.get(pair, []), pair in self.unchecked

    def cell(self, entry: FileEntry) -> _Cell:
        """Advisory ids; never "none" for a pair the audit did not check, or without one.
        Sorted by how many, an unchecked pair above a clean one, unaudited last."""
        if not self.audited:
            return _Cell("not audited", "", "muted")
        found, unchecked = self.of_entry(entry)
        said = [_named(advisory) for advisory in found] + (["not checked"] if unchecked else [])
        if found:
            return _Cell("; ".join(said), str(len(found)), "bad")
        if unchecked:
            return _Cell("not checked", "0.5", "warn")
        return _Cell("none", "0", "good")


def _named(advisory: Finding) -> str:
    aliases = f" ({', '.join(advisory.aliases)})" if advisory.aliases else ""
    return _visible(advisory.id + aliases)


# -- the sections ----------------------------------------------------------------------------


def _view(page: PageInput) -> tuple[tuple[_Fact, ...], tuple[_Section, ...]]:
    audit = _Audit.of(page.manifest)
    return _header(page), (
        _glance(page.manifest, audit),
        _asked(page.manifest),
        _files(page.manifest, audit),
        _warnings(page.manifest),
        _built(page.manifest),
        _audit_section(page.manifest),
    )


def _header(page: PageInput) -> tuple[_Fact, ...]:
    return (
        _Fact("Folder", (_cell(page.folder),)),
        _Fact(f"{MANIFEST} sha256", (_cell(page.manifest_sha256),)),
        _Fact("Verify", (_verdict(page.verified),)),
        _Fact("Signatures", (_signatures(page.signatures),)),
    )


def _verdict(verified: bool | None) -> _Cell:
    if verified is True:
        return _Cell("passed: every check holds for the folder as it is.", None, "good")
    if verified is False:
        return _Cell("FAILED: the folder does not hold what its manifest says (wheelhouse "
                     "verify lists why). Read everything below as claims.", None, "bad")
    return _Cell("not run: everything below is what the manifest claims; wheelhouse verify "
                 "checks it against the files.", None, "warn")


def _signatures(count: int) -> _Cell:
    if count <= 0:
        return _Cell(f"none: {SIGNATURES} is absent or holds no signature block.", None,
                     "warn")
    blocks = "block" if count == 1 else "blocks"
    return _Cell(f"{count} signature {blocks} in {SIGNATURES}, not checked by this report: "
                 "wheelhouse verify --allowed-signers FILE checks them.", None, "info")


def _glance(manifest: Manifest, audit: _Audit) -> _Section:
    files = manifest.files
    kinds = {kind: sum(1 for e in files if e.kind == kind)
             for kind in ("wheel", "sdist", "built-wheel")}
    yanked = sum(1 for e in files if e.yanked)
    unknown = sum(1 for e in files if _spdx(e) == UNKNOWN)
    states = [audit.of_entry(e) for e in files]
    vulnerable = sum(1 for found, _ in states if found)
    unchecked = sum(1 for _, not_checked in states if not_checked)
    items = [
        _Cell(f"{_n(len(files), 'file')}: {_n(kinds['wheel'], 'wheel')} from the index, "
              f"{_n(kinds['built-wheel'], 'wheel')} built here, {_n(kinds['sdist'], 'sdist')}."),
        _Cell(f"{yanked} yanked.", None, "bad" if yanked else "good"),
        _Cell(f"{unknown} with no known license (SPDX).", None, "warn" if unknown else "good"),
    ]
    if not audit.audited:
        items.append(_Cell("Not audited for vulnerabilities (prepare was run without --osv).",
                           None, "warn"))
    else:
        items.append(_Cell(f"{vulnerable} with known vulnerabilities.", None,
                           "bad" if vulnerable else "good"))
        if unchecked:
            items.append(_Cell(f"{unchecked} not checked against the vulnerability database.",
                               None, "warn"))
    warnings = len(manifest.rerun.warnings) if manifest.rerun else 0
    items.append(_Cell(f"{_n(warnings, 'warning')} from prepare.", None,
                       "warn" if warnings else ""))
    if manifest.problems:
        items.append(_Cell(f"{_n(len(manifest.problems), 'problem')} reading the manifest: what "
                           "could not be read is not shown below.", None, "bad"))
    return _Section("glance", "At a glance", (_Items(tuple(items)),))


def _asked(manifest: Manifest) -> _Section:
    facts = [
        _Fact("Requirements", tuple(_cell(r) for r in manifest.requirements), listed=True),
        _Fact("Targets", tuple(_cell(f"{t.name} (Python {t.requested or t.python_full_version})")
                               for t in manifest.targets), listed=True),
        _Fact("Index URLs", tuple(_cell(url) for url in manifest.index_urls), listed=True),
    ]
    if manifest.find_links:
        facts.append(_Fact("Find links", tuple(_cell(url) for url in manifest.find_links),
                           listed=True))
    if manifest.airflow is not None:
        facts.append(_Fact("Airflow", (_cell(manifest.airflow.version),)))
    facts += [
        _Fact("Created", (_cell(manifest.created) if manifest.created else _absent(),)),
        _Fact("Made by", (_cell(f"{manifest.tool_name} {manifest.tool_version}"),)),
    ]
    return _Section("asked", "What was asked", (_Facts(tuple(facts)), _constraints(manifest)))


def _constraints(manifest: Manifest) -> _Block:
    records: list[tuple[str, ConstraintsRecord]] = sorted(
        (manifest.constraints_by_python or {}).items())
    if not records and manifest.constraints is not None:
        records = [("all targets", manifest.constraints)]
    if not records:
        return _Para(_Cell("Constraints: none were given or written.", None, "warn"))
    columns = _columns("Python:nowrap", "Source:long", "sha256:hash", "Size:nowrap:number",
                       "Pins:nowrap:number", "Generated")
    rows = tuple((
        _cell(python), _cell(record.url or record.path or record.source),
        _cell(record.sha256), _Cell(str(record.size)), _Cell(str(record.pins)),
        _Cell("yes: written by prepare from its resolution (none were given)", None, "warn")
        if record.generated else _Cell("no: as given"),
    ) for python, record in records)
    return _Table("constraints", "Constraints", columns, rows)


_FILE_COLUMNS = _columns("Project", "Version:nowrap", "Kind", "License", "Index:long",
                         "Uploaded:nowrap", "Yanked:nowrap", "Vulnerabilities::number",
                         "Targets", "File:long")


def _files(manifest: Manifest, audit: _Audit) -> _Section:
    entries = sorted(manifest.files, key=lambda e: (_project_key(e.name), e.version,
                                                    e.filename, e.name, e.sha256))
    rows = tuple(_file_row(entry, audit) for entry in entries)
    table = _Table("files", "", _FILE_COLUMNS, rows)
    note = _Para(_Cell("Click a column's header to sort by it; click again to reverse."),
                 hint=True)
    return _Section("files-section", f"Files ({len(rows)})", (note, table))


def _file_row(entry: FileEntry, audit: _Audit) -> tuple[_Cell, ...]:
    return (
        _cell(entry.name), _cell(entry.version), _kind(entry), _license(entry),
        _cell(entry.index) if entry.index else _absent(), _uploaded(entry.upload_time),
        _Cell("yes", None, "bad") if entry.yanked else _Cell("no"), audit.cell(entry),
        _cell(", ".join(entry.targets)), _cell(entry.filename),
    )


def _kind(entry: FileEntry) -> _Cell:
    if entry.kind == "built-wheel":
        return _Cell("built-wheel (built here)", None, "info")
    return _cell(entry.kind)


def _spdx(entry: FileEntry) -> str:
    return entry.license_facts.spdx if entry.license_facts is not None else UNKNOWN


def _license(entry: FileEntry) -> _Cell:
    """The SPDX expression; when there is none, what the package declares, briefly."""
    spdx = _spdx(entry)
    if spdx != UNKNOWN:
        return _cell(spdx)
    facts = entry.license_facts
    declared = declared_line(facts.expression, facts.text, ()) if facts is not None else None
    declared = (declared or entry.license or "").strip()
    if not declared:
        return _Cell(UNKNOWN, None, "warn")
    first = _visible(declared.splitlines()[0], 80)
    return _Cell(f"{UNKNOWN} (declares: {first})", None, "warn")


def _uploaded(upload_time: str | None) -> _Cell:
    if not upload_time:
        return _absent()
    if _DATE.match(upload_time):
        return _Cell(upload_time[:10])
    return _cell(upload_time, "warn", key="", limit=40)


def _warnings(manifest: Manifest) -> _Section:
    warnings = manifest.rerun.warnings if manifest.rerun else ()
    blocks: list[_Block] = [
        _Items(tuple(_cell(w, limit=TEXT_LIMIT) for w in warnings)) if warnings
        else _Para(_Cell("None.", None, "muted"))]
    if manifest.problems:
        blocks.append(_Para(_Cell("What the manifest holds that could not be read (not shown "
                                  "above):", None, "bad")))
        blocks.append(_Items(tuple(_cell(p.message, limit=TEXT_LIMIT)
                                   for p in manifest.problems)))
    return _Section("warnings", f"Warnings ({len(warnings)})", tuple(blocks))


_BUILT_COLUMNS = _columns("Wheel:long", "From sdist:long", "Sdist sha256:hash",
                          "Index's sha256", "Backend", "Frontend", "Python",
                          "Build environment", "Reproducible")


def _built(manifest: Manifest) -> _Section:
    built = sorted((e for e in manifest.files if e.kind == "built-wheel"),
                   key=lambda e: e.filename)
    title = f"Built here ({len(built)})"
    if not built:
        return _Section("built", title, (_Para(_Cell("No wheel was built here.", None,
                                                     "muted")),))
    table = _Table("built-table", "", _BUILT_COLUMNS, tuple(_built_row(e) for e in built))
    return _Section("built", title, (table,))


def _built_row(entry: FileEntry) -> tuple[_Cell, ...]:
    sdist, build = entry.sdist, entry.build
    origin: tuple[_Cell, ...] = (_absent(), _absent(), _absent())
    if sdist is not None:
        origin = (_cell(sdist.filename), _cell(sdist.sha256), _index_digest(sdist.sha256,
                                                                            sdist.index_sha256))
    how: tuple[_Cell, ...] = (_absent(),) * 5
    if build is not None:
        how = (_cell(build.backend), _cell(build.frontend), _cell(build.python),
               _cell(", ".join(f"{i.name} {i.version}" for i in build.requires)),
               _reproducible(build))
    return (_cell(entry.filename), *origin, *how)


def _index_digest(sha256: str, published: str | None) -> _Cell:
    if not published:
        return _Cell("not published", "", "muted")
    if published == sha256:
        return _Cell("same", None, "good")
    return _Cell(f"DIFFERS: {_visible(published)}", None, "bad")


def _reproducible(build: BuildRecord) -> _Cell:
    if build.reproducible is True:
        return _Cell("yes: two builds gave the same bytes", None, "good")
    if build.reproducible is False:
        return _Cell("no: two builds differed", None, "bad")
    return _Cell("not checked (built once)", "", "muted")


def _audit_section(manifest: Manifest) -> _Section:
    audit = manifest.audit
    title = "Vulnerability audit"
    if not isinstance(audit, dict):
        return _Section("audit", title, (_Para(_Cell(
            "Not audited: prepare was run without --osv, so no file was checked against a "
            "vulnerability database.", None, "warn")),))
    database = audit.get("database")
    database = database if isinstance(database, dict) else {}
    advisories, unchecked = _advisories(audit), _unchecked(audit)
    problems = database.get("problems")
    facts = _Facts((
        _Fact("Database", (_cell(_str(database.get("source"))) if database.get("source")
                           else _absent(),)),
        _Fact("Newest record", (_newest(_str(database.get("newest_modified")),
                                        manifest.created),)),
        _Fact("Records", (_count(database.get("records")),)),
        _Fact("Withdrawn records (ignored)", (_count(database.get("withdrawn")),)),
        _Fact("Unreadable records", (_count(len(problems)) if isinstance(problems, list)
                                     else _count(None),)),
        _Fact("Project versions checked", (_count(audit.get("checked")),)),
        _Fact("Project versions not checked", (_Cell(str(len(unchecked)), None,
                                                     "warn" if unchecked else ""),)),
        _Fact("Findings", (_findings_count(advisories),)),
    ))
    blocks: list[_Block] = [facts]
    if advisories:
        blocks.append(_Table("findings", "Findings", _columns(
            "Project", "Version:nowrap", "Advisory:nowrap", "Aliases", "Fixed in",
            "Summary"),
            tuple(_finding_row(a) for a in advisories)))
    if unchecked:
        blocks.append(_Table("unchecked", "Not checked", _columns(
            "Project", "Version:nowrap", "Why"),
            tuple((_cell(u.project), _cell(u.version), _cell(u.reason)) for u in unchecked)))
    return _Section("audit", title, tuple(blocks))


def _findings_count(advisories: list[Finding]) -> _Cell:
    if not advisories:
        return _Cell("none", None, "good")
    ids = len({a.id for a in advisories})
    pairs = len({(_project_key(a.project), a.version) for a in advisories})
    return _Cell(f"{_n(ids, 'advisory', 'advisories')} affecting "
                 f"{_n(pairs, 'project version')}", None, "bad")


def _finding_row(advisory: Finding) -> tuple[_Cell, ...]:
    return (_cell(advisory.project), _cell(advisory.version),
            _cell(advisory.id, "bad"), _cell(", ".join(advisory.aliases)),
            _cell(", ".join(advisory.fixed)) if advisory.fixed else _absent("no fix listed"),
            _cell(advisory.summary) if advisory.summary else _absent("no summary"))


def _newest(modified: str, created: str) -> _Cell:
    """The database's date, and how much older it is than the folder: a stale export finds
    nothing new."""
    if not modified:
        return _absent()
    when, made = _instant(modified), _instant(created)
    if when is None or made is None:
        return _cell(modified)
    days = (made - when).days
    age = f"{days} days before the folder was made" if days >= 0 else "after the folder was made"
    return _Cell(f"{_visible(modified)} ({age})", None, "warn" if days > 30 else "")


def _instant(text: str) -> datetime | None:
    try:
        found = datetime.fromisoformat(text[:40].replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)


# -- HTML ----------------------------------------------------------------------------------

_STYLE = """
:root { --ink: #1d2330; --line: #d5d9e0; --head: #eef1f5; --bad: #a3001b;
  --bad-bg: #fde8eb; --warn: #7a4d00; --warn-bg: #fff3d4; --good: #1a6b2c;
  --good-bg: #e5f4e9; --info: #1f4f8f; --info-bg: #e8f0fb; --muted: #687080; }
* { box-sizing: border-box; }
body { margin: 24px; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px;
  border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
dl.facts ul, ul.items, ol.items { margin: 0; padding-left: 20px; }
table { border-collapse: separate; border-spacing: 0; width: 100%; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; overflow-wrap: break-word; }
td.nowrap { white-space: nowrap; }
td.long { overflow-wrap: anywhere; min-width: 13em; }
td.hash { overflow-wrap: anywhere; min-width: 12em;
  font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
thead th { position: sticky; top: 0; z-index: 1; background: var(--head);
  box-shadow: inset 0 -2px 0 var(--line); white-space: nowrap; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th button:focus-visible { outline: 2px solid var(--info); }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
tbody tr:nth-child(even) td { background: #f8f9fb; }
tbody tr:hover td { background: #eef3fb; }
.bad { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); }
.good { color: var(--good); }
.info { color: var(--info); }
.muted { color: var(--muted); font-style: italic; }
td.bad { background: var(--bad-bg) !important; }
td.warn { background: var(--warn-bg) !important; }
p.verdict { margin: 0; }
span.bad, span.warn, span.good, span.info { padding: 1px 6px; border-radius: 3px; }
span.bad { background: var(--bad-bg); }
span.warn { background: var(--warn-bg); }
span.good { background: var(--good-bg); }
span.info { background: var(--info-bg); }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@media print {
  body { margin: 0; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  thead th { position: static; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  h2 { break-after: avoid; }
  p.hint { display: none; }
}
"""

# Sorts a table by moving its existing rows; reads textContent and data-sort, writes only
# aria-sort. Empty keys go last either way; ties keep the page's order.
_SCRIPT = """
(function () {
  "use strict";
  function key(row, column) {
    var cell = row.cells[column];
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
  }
  function chunks(text) {
    return text.toLowerCase().match(/[0-9]+|[^0-9]+/g) || [];
  }
  function natural(a, b) {
    var x = chunks(a), y = chunks(b), n = Math.min(x.length, y.length);
    for (var i = 0; i < n; i++) {
      var p = x[i], q = y[i];
      if (/^[0-9]/.test(p) && /^[0-9]/.test(q)) {
        p = p.replace(/^0+(?=[0-9])/, "");
        q = q.replace(/^0+(?=[0-9])/, "");
        if (p.length !== q.length) { return p.length < q.length ? -1 : 1; }
      }
      if (p !== q) { return p < q ? -1 : 1; }
    }
    return x.length - y.length;
  }
  function compare(type, a, b) {
    if (type === "number") {
      var x = parseFloat(a), y = parseFloat(b);
      if (!isNaN(x) && !isNaN(y) && x !== y) { return x < y ? -1 : 1; }
    }
    return natural(a, b);
  }
  function sortBy(table, headers, header) {
    var column = header.cellIndex, type = header.getAttribute("data-type");
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r, s) {
      var a = key(r, column), b = key(s, column);
      if ((a === "") !== (b === "")) { return a === "" ? 1 : -1; }
      var order = compare(type, a, b);
      if (!ascending) { order = -order; }
      return order || Number(r.getAttribute("data-order")) - Number(s.getAttribute("data-order"));
    });
    rows.forEach(function (row) { body.appendChild(row); });
    headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    headers.forEach(function (header) {
      header.querySelector("button").addEventListener("click", function () {
        sortBy(table, headers, header);
      });
    });
  });
}());
"""


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


# Nothing may load or run but the page's own style and script, named by their hashes.
CSP = (f"default-src 'none'; style-src 'sha256-{_digest(_STYLE)}'; "
       f"script-src 'sha256-{_digest(_SCRIPT)}'; img-src data:; base-uri 'none'; "
       "form-action 'none'")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_cell(cell: _Cell) -> str:
    return f'<span class="{cell.status}">{_e(cell.text)}</span>' if cell.status \
        else _e(cell.text)


def _html_facts(facts: Iterable[_Fact]) -> list[str]:
    out = ['<dl class="facts">']
    for fact in facts:
        out.append(f"<dt>{_e(fact.label)}</dt>")
        if fact.listed:
            items = "".join(f"<li>{_html_cell(v)}</li>" for v in fact.values)
            out.append(f"<dd><ul>{items}</ul></dd>" if items else
                       '<dd><span class="muted">none</span></dd>')
        else:
            out.append(f"<dd>{''.join(_html_cell(v) for v in fact.values)}</dd>")
    out.append("</dl>")
    return out


def _html_table(table: _Table) -> list[str]:
    out = [f"<h3>{_e(table.title)}</h3>"] if table.title else []
    out.append(f'<table class="sortable" id="{_e(table.anchor)}">')
    out.append("<thead><tr>" + "".join(
        f'<th scope="col" data-type="{_e(c.sort)}"><button type="button">{_e(c.title)}'
        "</button></th>" for c in table.columns) + "</tr></thead>")
    out.append("<tbody>")
    for number, row in enumerate(table.rows):
        out.append(f'<tr data-order="{number}">' + "".join(
            _html_td(cell, column) for cell, column in zip(row, table.columns)) + "</tr>")
    out.append("</tbody></table>")
    return out


def _html_td(cell: _Cell, column: _Column) -> str:
    classes = " ".join(name for name in (column.fit, cell.status) if name)
    attributes = f' class="{classes}"' if classes else ""
    if cell.key is not None:
        attributes += f' data-sort="{_e(cell.key)}"'
    return f"<td{attributes}>{_e(cell.text)}</td>"


def _html_block(block: _Block) -> list[str]:
    if isinstance(block, _Facts):
        return _html_facts(block.facts)
    if isinstance(block, _Table):
        return _html_table(block)
    if isinstance(block, _Items):
        return ['<ul class="items">'] + [f"<li>{_html_cell(c)}</li>" for c in block.items] + \
            ["</ul>"]
    return [f'<p class="hint">{_html_cell(block.cell)}</p>' if block.hint
            else f"<p>{_html_cell(block.cell)}</p>"]


def html_page(page: PageInput) -> str:
    """The page as one self-contained HTML file that fetches nothing and runs nothing but
    its own sort script, whatever the manifest holds."""
    header, sections = _view(page)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Wheelhouse review: {_e(_visible(page.folder, 120))}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>Wheelhouse review</h1>",
        *_html_facts(header),
        "</header>",
    ]
    for section in sections:
        out.append(f'<section id="{_e(section.anchor)}">')
        out.append(f"<h2>{_e(section.title)}</h2>")
        for block in section.blocks:
            out += _html_block(block)
        out.append("</section>")
    out += [
        f"<footer>{_e(_FOOTER)}</footer>",
        f"<script>{_SCRIPT}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(out) + "\n"


_FOOTER = ("Written by wheelhouse report from the folder's manifest. Every value above is "
           "what the manifest says; only wheelhouse verify proves the files match it.")


# -- Markdown ------------------------------------------------------------------------------

# Everything that could start markup inside a line: code, emphasis, links and images, raw
# HTML and autolinks, entities, table cells. An underscore inside a word emphasizes nothing
# (CommonMark), so names like manylinux_2_28 stay as they are.
_MD_SPECIAL = re.compile(r"[\\`*~\[\]<>|&]|(?<![^\W_])_|_(?![^\W_])")
_MD_LEADING = re.compile(r"[#+\-=>]")  # a heading, list, rule or quote at a line's start
_MD_NUMBERED = re.compile(r"(\d{1,9})([.)])(?=\s|$)")  # an ordered list's "1." or "1)"


def _md(text: str) -> str:
    escaped = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    numbered = _MD_NUMBERED.match(escaped)
    if numbered:
        return f"{numbered.group(1)}\\{escaped[numbered.end(1):]}"
    if _MD_LEADING.match(escaped):
        return "\\" + escaped
    return escaped


def _md_cell(cell: _Cell) -> str:
    text = _md(cell.text)
    return f"**{text}**" if cell.status == "bad" and text else text


def _md_facts(facts: Iterable[_Fact]) -> list[str]:
    out = []
    for fact in facts:
        if fact.listed:
            out.append(f"- **{_md(fact.label)}:**" + ("" if fact.values else " none"))
            out += [f"  - {_md_cell(v)}" for v in fact.values]
        else:
            out.append(f"- **{_md(fact.label)}:** " + " ".join(_md_cell(v) for v in fact.values))
    return out + [""]


def _md_table(table: _Table) -> list[str]:
    out = [f"### {_md(table.title)}", ""] if table.title else []
    out.append("| " + " | ".join(_md(c.title) for c in table.columns) + " |")
    out.append("|" + "|".join(" ---: " if c.sort == "number" else " --- "
                              for c in table.columns) + "|")
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
    return out + [""]


def _md_block(block: _Block) -> list[str]:
    if isinstance(block, _Facts):
        return _md_facts(block.facts)
    if isinstance(block, _Table):
        return _md_table(block)
    if isinstance(block, _Items):
        return [f"- {_md_cell(c)}" for c in block.items] + [""]
    return [_md_cell(block.cell), ""]


def markdown_page(page: PageInput) -> str:
    """The same page as Markdown tables and lists, for a merge request or a text editor:
    no raw HTML, link or image can come from the manifest."""
    header, sections = _view(page)
    out = ["# Wheelhouse review", "", *_md_facts(header)]
    for section in sections:
        out += [f"## {_md(section.title)}", ""]
        for block in section.blocks:
            if not (isinstance(block, _Para) and block.hint):
                out += _md_block(block)
    out.append(_md(_FOOTER))
    return "\n".join(out) + "\n"


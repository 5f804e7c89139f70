"""The review page: what it shows matches the manifest, and nothing in the manifest can run,
load a URL, or hide itself on it."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from typing import Any

import pytest

from wheelhouse.licenses import LicenseFacts
from wheelhouse.manifest import (
    BuildInput,
    BuildRecord,
    ConstraintsRecord,
    FileEntry,
    Manifest,
    Problem,
    RerunRecord,
    SdistOrigin,
)
from wheelhouse.review_page import PageInput, html_page, markdown_page
from wheelhouse.target import make_target

TARGET = make_target("3.12", "linux/amd64")
SHA = "b" * 64
PYPI = "https://pypi.org/simple"
FILE_HEADERS = ["Project", "Version", "Kind", "License", "Index", "Uploaded", "Yanked",
                "Vulnerabilities", "Targets", "File"]


# -- building manifests in memory ----------------------------------------------------------


def facts(spdx: str, text: str | None = None) -> LicenseFacts:
    return LicenseFacts(expression=None, text=text, classifiers=(), spdx=spdx,
                        source="none" if spdx == "unknown" else "License")


def entry(name: str, version: str, **changes: Any) -> FileEntry:
    filename = changes.pop("filename", f"{name.replace('-', '_')}-{version}-py3-none-any.whl")
    base = FileEntry(
        filename=filename, name=name, version=version, sha256="a" * 64, size=10,
        url=f"https://files.example/{filename}", index_sha256=None, kind="wheel",
        tags=("py3-none-any",), requires_python=None, license="MIT", required_by=(),
        index=PYPI, targets=(TARGET.name,), upload_time="2024-05-29T17:25:11.123Z",
        license_facts=facts("MIT", "MIT"))
    return dataclasses.replace(base, **changes)


BUILD = BuildRecord(
    python="cpython 3.12.7", frontend="pip 24.3", backend="setuptools.build_meta",
    requires=(BuildInput("setuptools", "75.3.0", "setuptools-75.3.0-py3-none-any.whl", SHA,
                         "https://files.example/s.whl"),),
    source_date_epoch="315532800", reproducible=True)
SDIST = SdistOrigin(filename="nvd3-0.16.0.tar.gz", sha256="c" * 64, index_sha256="c" * 64,
                    size=5, url="https://files.example/nvd3-0.16.0.tar.gz")

FILES = (
    entry("requests", "2.32.3"),
    entry("jinja2", "3.1.4", license_facts=facts("BSD-3-Clause"), upload_time=None),
    entry("nvd3", "0.16.0", kind="built-wheel", sdist=SDIST, build=BUILD, index=None),
    entry("oldlib", "1.9.0", yanked=True, license="BSD", license_facts=facts("unknown", "BSD")),
    entry("odd", "0.1", upload_time="yesterday", license_facts=None, license=None),
)

AUDIT: dict[str, Any] = {
    "database": {"source": "/media/osv/all.zip", "records": 7, "withdrawn": 1,
                 "newest_modified": "2025-06-09T00:00:00Z", "problems": ["one"]},
    "checked": 3,
    "unchecked": [{"project": "odd", "version": "0.1", "reason": "its version is odd"}],
    "findings": [
        {"id": "GHSA-cpwx-vrp4-4pq7", "aliases": ["CVE-2025-27516"], "project": "jinja2",
         "version": "3.1.4", "fixed": ["3.1.6"], "summary": "sandbox breakout",
         "modified": "2025-03-06T00:00:00Z"},
        {"id": "GHSA-q2x7-8rv6-6q7h", "aliases": [], "project": "Jinja2",
         "version": "3.1.4", "fixed": [], "summary": "", "modified": "2025-01-08T00:00:00Z"},
        {"id": "GHSA-9hjg-9r4m-mvj7", "aliases": ["CVE-2024-47081"], "project": "requests",
         "version": "2.32.0", "fixed": ["2.32.4"], "summary": "another version",
         "modified": "2025-06-09T00:00:00Z"},
    ],
}

CONSTRAINTS = ConstraintsRecord(
    source="https://example.org/constraints-3.12.txt",
    url="https://example.org/constraints-3.12.txt", path=None, sha256="d" * 64, size=1234,
    etag=None, last_modified=None, pins=701, filename="constraints-3.12.txt")


def manifest(**changes: Any) -> Manifest:
    base = Manifest(
        tool_version="0.1.0", created="2025-07-09T10:00:00Z",
        requirements=("apache-airflow[celery]==2.10.3", "requests"),
        constraints=CONSTRAINTS, targets=(TARGET,), index_urls=(PYPI,), find_links=(),
        files=FILES, rerun=RerunRecord("x" * 64, {}, ("first warning", "second warning")),
        audit=AUDIT)
    return dataclasses.replace(base, **changes)


def page(verified: bool | None = None, signatures: int = 0, **changes: Any) -> PageInput:
    return PageInput(manifest=manifest(**changes), manifest_sha256="e" * 64,
                     folder="/media/usb/wh", signatures=signatures, verified=verified)


# -- reading the page back ------------------------------------------------------------------


class Parsed(HTMLParser):
    """Tags, attributes, tables by id, text, and the raw script and style of a page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.tables: dict[str, dict[str, list]] = {}
        self.text: list[str] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._table: dict[str, list] | None = None
        self._row: list[dict[str, Any]] = []
        self._cell: dict[str, Any] | None = None
        self._raw: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        named = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(named.get("id") or "", {"head": [], "rows": []})
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = {"text": "", "attrs": named, "tag": tag}
        elif tag in ("script", "style"):
            self._raw = tag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._table is not None:
            part = "head" if all(c["tag"] == "th" for c in self._row) else "rows"
            self._table[part].append(self._row)
        elif tag == "table":
            self._table = None
        elif tag in ("script", "style"):
            self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self.raw[self._raw].append(data)
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell["text"] += data

    def rows(self, table: str) -> list[list[str]]:
        return [[cell["text"] for cell in row] for row in self.tables[table]["rows"]]

    def headers(self, table: str) -> list[str]:
        return [cell["text"] for cell in self.tables[table]["head"][0]]

    def column(self, table: str, title: str) -> list[dict[str, Any]]:
        index = self.headers(table).index(title)
        return [row[index] for row in self.tables[table]["rows"]]


def markdown_table(text: str, heading: str) -> list[list[str]]:
    """The cells of the first table after `heading`, unescaped: what a renderer shows."""
    lines = text.split("\n")
    start = lines.index(heading)
    found = []
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not line.startswith("| ---") and "| ---" not in line:
            found.append([cell.strip() for cell in split_cells(line)])
    return found


def split_cells(line: str) -> list[str]:
    cells, current, escaped = [], "", False
    for char in line[1:]:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            escaped = True
        elif char == "|":
            cells.append(current.replace("**", ""))
            current = ""
        else:
            current += char
    return cells


# -- the files table ------------------------------------------------------------------------


def test_one_row_per_file_with_the_manifests_values() -> None:
    parsed = Parsed(html_page(page()))
    assert parsed.headers("files") == FILE_HEADERS
    target = TARGET.name
    assert parsed.rows("files") == [
        ["jinja2", "3.1.4", "wheel", "BSD-3-Clause", PYPI, "not recorded", "no",
         "GHSA-cpwx-vrp4-4pq7 (CVE-2025-27516); GHSA-q2x7-8rv6-6q7h", target,
         "jinja2-3.1.4-py3-none-any.whl"],
        ["nvd3", "0.16.0", "built-wheel (built here)", "MIT", "not recorded", "2024-05-29", "no",
         "none", target, "nvd3-0.16.0-py3-none-any.whl"],
        ["odd", "0.1", "wheel", "unknown", PYPI, "yesterday", "no", "not checked", target,
         "odd-0.1-py3-none-any.whl"],
        ["oldlib", "1.9.0", "wheel", "unknown (declares: BSD)", PYPI, "2024-05-29", "yes",
         "none", target, "oldlib-1.9.0-py3-none-any.whl"],
        ["requests", "2.32.3", "wheel", "MIT", PYPI, "2024-05-29", "no", "none", target,
         "requests-2.32.3-py3-none-any.whl"],
    ]
    assert len(parsed.rows("files")) == len(manifest().files)


def test_statuses_and_sort_keys_mark_what_needs_a_look() -> None:
    parsed = Parsed(html_page(page()))
    vulnerabilities = parsed.column("files", "Vulnerabilities")
    assert [c["attrs"].get("data-sort") for c in vulnerabilities] == ["2", "0", "0.5", "0", "0"]
    assert "bad" in vulnerabilities[0]["attrs"]["class"].split()
    assert "warn" in vulnerabilities[2]["attrs"]["class"].split()
    yanked = parsed.column("files", "Yanked")
    assert ["bad" in (c["attrs"].get("class") or "").split() for c in yanked] == \
        [False, False, False, True, False]
    licenses = parsed.column("files", "License")
    assert ["warn" in (c["attrs"].get("class") or "").split() for c in licenses] == \
        [False, False, True, True, False]
    uploaded = parsed.column("files", "Uploaded")
    assert uploaded[0]["attrs"].get("data-sort") == ""  # missing: sorted last


def test_without_an_audit_every_file_is_not_audited() -> None:
    text = html_page(page(audit=None))
    parsed = Parsed(text)
    assert {c["text"] for c in parsed.column("files", "Vulnerabilities")} == {"not audited"}
    assert "findings" not in parsed.tables
    assert "Not audited: prepare was run without --osv" in text
    assert "GHSA" not in text
    markdown = markdown_page(page(audit=None))
    assert {row[7] for row in markdown_table(markdown, "## Files (5)")[1:]} == {"not audited"}


def test_a_project_version_the_audit_did_not_check_is_never_clean() -> None:
    audit = {**AUDIT, "findings": [], "unchecked": [
        {"project": "Requests", "version": "2.32.3", "reason": "unreadable record"}]}
    cells = Parsed(html_page(page(audit=audit))).column("files", "Vulnerabilities")
    assert [c["text"] for c in cells] == ["none", "none", "none", "none", "not checked"]


# -- untrusted strings ----------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '" onmouseover="alert(1)'
LINK = "javascript:alert(1)"
STYLE_END = "</style><script>alert(2)</script>"
PAYLOAD = f"{SCRIPT}{ATTRIBUTE} {LINK} {STYLE_END} [x]({LINK}) ![i](https://evil.example/i) | `c`"
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3",
                "dl", "dt", "dd", "ul", "ol", "li", "section", "p", "span", "table", "thead",
                "tbody", "tr", "th", "td", "button", "footer", "script"}
ALLOWED_ATTRIBUTES = {"lang", "charset", "http-equiv", "content", "name", "class", "id",
                      "scope", "data-type", "data-sort", "data-order", "type"}


def hostile() -> PageInput:
    files = (
        entry(PAYLOAD, "1.0", license=PAYLOAD, license_facts=facts("unknown", PAYLOAD),
              index=PAYLOAD, filename="evil-1.0-py3-none-any.whl", kind="built-wheel",
              sdist=dataclasses.replace(SDIST, filename=PAYLOAD, url=LINK),
              build=dataclasses.replace(BUILD, backend=PAYLOAD)),
        entry("fine", "1.0", license_facts=facts(PAYLOAD), targets=(PAYLOAD,)),
    )
    audit = {**AUDIT, "database": {**AUDIT["database"], "source": PAYLOAD},
             "findings": [{"id": PAYLOAD, "aliases": [PAYLOAD], "project": PAYLOAD,
                           "version": "1.0", "fixed": [PAYLOAD], "summary": PAYLOAD}]}
    constraints = dataclasses.replace(CONSTRAINTS, url=f"{LINK} {PAYLOAD}")
    return PageInput(
        manifest=manifest(requirements=(PAYLOAD,), index_urls=(PAYLOAD,), files=files,
                          rerun=RerunRecord("x", {}, (PAYLOAD,)), audit=audit,
                          created=PAYLOAD, constraints=constraints, tool_version=PAYLOAD),
        manifest_sha256=PAYLOAD, folder=PAYLOAD, signatures=1, verified=None)


def test_no_manifest_string_becomes_markup() -> None:
    text = html_page(hostile())
    for raw in (SCRIPT, '" onmouseover=', "</style><script>", "<script>alert"):
        assert raw not in text
    assert text.count("<script") == 1 and text.count("</script>") == 1
    assert text.count("<style") == 1 and text.count("</style>") == 1
    parsed = Parsed(text)
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    names = {name for _, attrs in parsed.tags for name, _ in attrs}
    assert names <= ALLOWED_ATTRIBUTES
    values = [value or "" for _, attrs in parsed.tags for _, value in attrs]
    assert not [v for v in values if "javascript:" in v or "://" in v or "<" in v]
    # shown, verbatim, as text: the reviewer sees what the manifest holds
    shown = "".join(parsed.text)
    assert shown.count(PAYLOAD) >= 10
    assert html.escape(SCRIPT, quote=True) in text


def test_no_href_or_src_points_anywhere_and_nothing_is_fetched() -> None:
    text = html_page(hostile())
    parsed = Parsed(text)
    for tag, attrs in parsed.tags:
        for name, _ in attrs:
            assert name not in {"href", "src", "srcset", "action", "formaction", "poster",
                                "background", "xlink:href", "ping", "data"}, tag
    own = "".join(parsed.raw["style"] + parsed.raw["script"])
    for fetching in ("url(", "@import", "http", "//", "fetch(", "XMLHttpRequest", "import("):
        assert fetching not in own


def test_the_policy_allows_only_the_pages_own_style_and_script() -> None:
    text = html_page(page())
    parsed = Parsed(text)
    policies = [dict(attrs)["content"] or "" for tag, attrs in parsed.tags
                if tag == "meta" and dict(attrs).get("http-equiv") == "Content-Security-Policy"]
    assert len(policies) == 1
    policy = {part.split()[0]: part.split()[1:] for part in policies[0].split("; ")}
    assert policy["default-src"] == ["'none'"]
    assert policy["img-src"] == ["data:"]
    (style,), (script,) = parsed.raw["style"], parsed.raw["script"]
    assert policy["style-src"] == [f"'sha256-{digest(style)}'"]
    assert policy["script-src"] == [f"'sha256-{digest(script)}'"]
    # before anything else the page holds: nothing is loaded ahead of it
    assert text.index("Content-Security-Policy") < text.index("<title>") < text.index("<style>")


def digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_invisible_and_reordering_characters_are_named() -> None:
    name = "safe\u202eexe.txt\u200b\x1b[31m\ud800"
    text = html_page(page(files=(entry(name, "1.0"),)))
    text.encode("utf-8")  # a lone surrogate would not encode
    assert "\u202e" not in text and "\u200b" not in text and "\x1b" not in text
    row = Parsed(text).rows("files")[0]
    assert row[0] == "safe[U+202E]exe.txt[U+200B][U+001B][31m[U+D800]"
    markdown = markdown_page(page(files=(entry(name, "1.0"),)))
    assert "\u202e" not in markdown and "\\[U+202E\\]" in markdown


def test_a_long_value_is_cut_and_says_so() -> None:
    text = html_page(page(requirements=("x" * 100_000,)))
    assert "x" * 501 not in text
    assert "… [99500 more characters]" in text


def test_an_audit_of_the_wrong_shape_is_shown_as_unreadable_not_trusted() -> None:
    audit = {"database": "nope", "checked": "3", "findings": {"id": "x"}, "unchecked": 5}
    text = html_page(page(audit=audit))
    parsed = Parsed(text)
    assert {c["text"] for c in parsed.column("files", "Vulnerabilities")} == {"none"}
    assert text.count("unreadable") == 4  # records, withdrawn, unreadable records, checked


# -- the sort script ------------------------------------------------------------------------


def test_every_header_sorts_and_the_script_builds_no_markup() -> None:
    parsed = Parsed(html_page(page()))
    (script,) = parsed.raw["script"]
    for builds in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                   "Function(", "createElement", "setTimeout"):
        assert builds not in script
    assert "appendChild(row)" in script and 'addEventListener("click"' in script
    types = [dict(attrs).get("data-type") for tag, attrs in parsed.tags if tag == "th"]
    assert "number" in types and None not in types
    files = parsed.tables["files"]["head"][0]
    assert [c["attrs"]["data-type"] for c in files] == [
        "text", "text", "text", "text", "text", "text", "text", "number", "text", "text"]
    assert all(dict(attrs).get("class") == "sortable"
               for tag, attrs in parsed.tags if tag == "table")


SORT_HARNESS = """
const spec = JSON.parse(require("fs").readFileSync(0, "utf8"));
const listeners = [];
const headers = spec.types.map((type, index) => {
  const attributes = {"data-type": type};
  return {cellIndex: index,
          getAttribute: (n) => (n in attributes ? attributes[n] : null),
          setAttribute: (n, v) => { attributes[n] = v; },
          removeAttribute: (n) => { delete attributes[n]; },
          querySelector: () => ({addEventListener: (e, f) => { listeners[index] = f; }})};
});
const rows = spec.rows.map((cells, order) => ({
  cells: cells.map((c) => ({textContent: c.text,
                            hasAttribute: (n) => n === "data-sort" && c.sort !== null,
                            getAttribute: (n) => (n === "data-sort" ? c.sort : null)})),
  getAttribute: (n) => (n === "data-order" ? String(order) : null)}));
const body = {rows: rows.slice(), appendChild(row) {
  this.rows.splice(this.rows.indexOf(row), 1); this.rows.push(row); }};
globalThis.document = {querySelectorAll: () => [{tHead: {rows: [{cells: headers}]},
                                                 tBodies: [body]}]};
(0, eval)(spec.script);
const seen = [];
for (const column of spec.clicks) {
  listeners[column]();
  seen.push(body.rows.map((row) => row.cells[column].textContent));
}
console.log(JSON.stringify(seen));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the page's script")
def test_the_sort_script_orders_versions_numbers_and_dates_sensibly() -> None:
    files = (
        entry("alpha", "1.10.0", upload_time="2024-01-02T00:00:00Z"),
        entry("beta", "1.9.0", upload_time=None),
        entry("gamma", "1.2.0", upload_time="2023-12-31T00:00:00Z"),
        entry("delta", "10.0", upload_time="2024-11-05T00:00:00Z"),
    )
    audit = {**AUDIT, "unchecked": [], "findings": [
        {"id": f"GHSA-{n}", "project": project, "version": version}
        for n, (project, version) in enumerate([("beta", "1.9.0"), ("delta", "10.0"),
                                                ("delta", "10.0")])]}
    parsed = Parsed(html_page(page(files=files, audit=audit)))
    table = parsed.tables["files"]
    spec = {"script": parsed.raw["script"][0],
            "types": [c["attrs"]["data-type"] for c in table["head"][0]],
            "rows": [[{"text": c["text"], "sort": c["attrs"].get("data-sort")} for c in row]
                     for row in table["rows"]],
            "clicks": [1, 1, 5, 5, 7, 7]}
    result = subprocess.run(["node", "-e", SORT_HARNESS], input=json.dumps(spec),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    versions_up, versions_down, dates_up, dates_down, vulns_up, vulns_down = \
        json.loads(result.stdout)
    assert versions_up == ["1.2.0", "1.9.0", "1.10.0", "10.0"]
    assert versions_down == ["10.0", "1.10.0", "1.9.0", "1.2.0"]
    assert dates_up == ["2023-12-31", "2024-01-02", "2024-11-05", "not recorded"]
    assert dates_down == ["2024-11-05", "2024-01-02", "2023-12-31", "not recorded"]
    assert vulns_up[:2] == ["none", "none"] and vulns_up[2] == "GHSA-0"
    assert vulns_down[0] == "GHSA-1; GHSA-2" and vulns_down[1] == "GHSA-0"


# -- the rest of the page -------------------------------------------------------------------


@pytest.mark.parametrize("verified, said", [
    (True, "passed: every check holds"), (False, "FAILED: the folder does not hold"),
    (None, "not run: everything below is what the manifest claims")])
def test_the_verdict_and_signatures_come_first(verified: bool | None, said: str) -> None:
    for text in (html_page(page(verified, signatures=2)),
                 markdown_page(page(verified, signatures=2))):
        assert said in text
        assert text.index(said) < text.index("At a glance")
        assert "2 signature blocks in wheelhouse.json.sig, not checked by this report" in text
        assert "wheelhouse verify --allowed-signers" in text
        assert "e" * 64 in text
    assert "none: wheelhouse.json.sig is absent" in html_page(page(signatures=0))


def test_what_was_asked() -> None:
    text = html_page(page())
    shown = "".join(Parsed(text).text)
    for value in ("apache-airflow[celery]==2.10.3", "requests", TARGET.name, PYPI,
                  "2025-07-09T10:00:00Z", "wheelhouse 0.1.0", "/media/usb/wh"):
        assert value in shown
    assert Parsed(text).rows("constraints") == [
        ["all targets", CONSTRAINTS.url, "d" * 64, "1234", "701", "no: as given"]]
    generated = dataclasses.replace(CONSTRAINTS, generated=True, url=None, path="/c.txt")
    rows = Parsed(html_page(page(constraints=generated))).rows("constraints")
    assert rows[0][1] == "/c.txt" and rows[0][5].startswith("yes: written by prepare")
    by_python = {"3.11": CONSTRAINTS, "3.12": generated}
    rows = Parsed(html_page(page(constraints_by_python=by_python))).rows("constraints")
    assert [row[0] for row in rows] == ["3.11", "3.12"]


def test_warnings_and_unreadable_entries_are_listed() -> None:
    problem = Problem("files[3]: sha256 is not 64 hex digits.", "files[3].sha256")
    text = html_page(page(problems=(problem,)))
    assert "<h2>Warnings (2)</h2>" in text
    assert "<li>first warning</li>" in text and "<li>second warning</li>" in text
    assert "files[3]: sha256 is not 64 hex digits." in text
    assert "1 problem reading the manifest" in text
    assert "None." in html_page(page(rerun=None))


def test_built_wheels_say_how_they_were_built() -> None:
    parsed = Parsed(html_page(page()))
    assert parsed.rows("built-table") == [[
        "nvd3-0.16.0-py3-none-any.whl", SDIST.filename, SDIST.sha256, "same",
        "setuptools.build_meta", "pip 24.3", "cpython 3.12.7", "setuptools 75.3.0",
        "yes: two builds gave the same bytes"]]
    other = dataclasses.replace(SDIST, index_sha256="f" * 64)
    files = (entry("nvd3", "0.16.0", kind="built-wheel", sdist=other,
                   build=dataclasses.replace(BUILD, reproducible=None)),)
    row = Parsed(html_page(page(files=files))).rows("built-table")[0]
    assert row[3] == f"DIFFERS: {'f' * 64}" and row[8] == "not checked (built once)"
    assert "No wheel was built here." in html_page(page(files=FILES[:2]))


def test_the_audit_summary() -> None:
    text = html_page(page())
    parsed = Parsed(text)
    shown = "".join(parsed.text)
    assert "/media/osv/all.zip" in shown
    assert "2025-06-09T00:00:00Z (30 days before the folder was made)" in shown
    assert "3 advisories affecting 2 project versions" in shown
    assert parsed.rows("findings") == [
        ["jinja2", "3.1.4", "GHSA-cpwx-vrp4-4pq7", "CVE-2025-27516", "3.1.6",
         "sandbox breakout"],
        ["Jinja2", "3.1.4", "GHSA-q2x7-8rv6-6q7h", "", "no fix listed", "no summary"],
        ["requests", "2.32.0", "GHSA-9hjg-9r4m-mvj7", "CVE-2024-47081", "2.32.4",
         "another version"],
    ]
    assert parsed.rows("unchecked") == [["odd", "0.1", "its version is odd"]]
    facts = dict(zip(re.findall(r"<dt>(.*?)</dt>", text), re.findall(r"<dd>(.*?)</dd>", text)))
    assert facts["Records"] == "7" and facts["Withdrawn records (ignored)"] == "1"
    assert facts["Unreadable records"] == "1" and facts["Project versions checked"] == "3"


# -- Markdown -------------------------------------------------------------------------------


def test_markdown_rows_are_the_html_rows() -> None:
    markdown = markdown_page(page())
    rows = markdown_table(markdown, "## Files (5)")
    assert rows[0] == FILE_HEADERS
    assert rows[1:] == Parsed(html_page(page())).rows("files")
    assert "| --- | --- | --- | --- | --- | --- | --- | ---: | --- | --- |" in markdown


def test_markdown_escapes_what_would_become_markup() -> None:
    markdown = markdown_page(hostile())
    assert "<" not in markdown.replace("\\<", "")
    assert "`" not in markdown.replace("\\`", "")
    assert "](" not in markdown.replace("\\](", "")
    rows = markdown_table(markdown, "## Files (2)")
    assert {len(row) for row in rows} == {len(FILE_HEADERS)}
    assert rows[1][0] == PAYLOAD and rows[1][4] == PAYLOAD
    assert f"- {PAYLOAD}" not in markdown  # the requirement is there, escaped
    lines = markdown.split("\n")
    assert "  - \\<script\\>alert(1)\\</script\\>" + '" onmouseover="alert(1) ' \
        "javascript:alert(1) \\</style\\>\\<script\\>alert(2)\\</script\\> \\[x\\]" \
        "(javascript:alert(1)) !\\[i\\](https://evil.example/i) \\| \\`c\\`" in lines


def test_markdown_keeps_plain_values_readable() -> None:
    markdown = markdown_page(page(requirements=("1. x", "# y", "a_b_c", "_d_", "2.4.3")))
    assert "  - 1\\. x" in markdown and "  - \\# y" in markdown
    assert "  - a_b_c" in markdown and "  - \\_d\\_" in markdown and "  - 2.4.3" in markdown


# -- determinism ----------------------------------------------------------------------------


def test_the_same_manifest_gives_the_same_bytes() -> None:
    first, second = page(), page(files=tuple(reversed(FILES)))
    assert first.manifest is not second.manifest
    assert html_page(first) == html_page(second) == html_page(page())
    assert markdown_page(first) == markdown_page(second)
    assert html_page(page(verified=True)) != html_page(first)


def test_a_manifest_read_from_disk_renders(tmp_path) -> None:
    (tmp_path / "wheelhouse.json").write_text(manifest().dumps())
    loaded = Manifest.load(tmp_path)
    assert loaded is not None
    again = PageInput(loaded, "e" * 64, "/media/usb/wh", 0, None)
    assert Parsed(html_page(again)).rows("files") == Parsed(html_page(page())).rows("files")


"""wheelhouse.delta: two manifests compared, kind by kind, and rendered safely for review."""

from __future__ import annotations

import json
import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from wheelhouse.delta import KINDS, Change, Delta, compare
from wheelhouse.licenses import LicenseFacts
from wheelhouse.manifest import KINDS as KIND_NAMES
from wheelhouse.manifest import ROLES, ConstraintsRecord, FileEntry, Kind, Manifest, Role
from wheelhouse.target import make_target

PYPI = "https://pypi.org/simple"
MIRROR = "https://mirror.example/simple"
T311 = make_target("3.11", "manylinux_2_28_x86_64")
T312 = make_target("3.12", "manylinux_2_28_x86_64")


def entry(name: str = "alpha", version: str = "1.0", *, filename: str | None = None,
          sha256: str = "a" * 64, kind: Kind = "wheel", index: str | None = PYPI,
          license: str | None = "MIT", facts: LicenseFacts | None = None,
          yanked: bool = False, role: Role = "install") -> FileEntry:
    if filename is None:
        filename = (f"{name}-{version}.tar.gz" if kind == "sdist"
                    else f"{name}-{version}-py3-none-any.whl")
    return FileEntry(filename=filename, name=name, version=version, sha256=sha256, size=1,
                     url=f"https://files.example/{filename}", index_sha256=None,
                     kind=kind, tags=("py3-none-any",), requires_python=None, license=license,
                     required_by=(), index=index, yanked=yanked,
                     role=role, targets=(T311.name,), license_facts=facts)


def constraints(source: str = "https://example.org/c.txt", sha256: str = "c" * 64,
                filename: str = "constraints.txt") -> ConstraintsRecord:
    return ConstraintsRecord(source=source, url=source, path=None, sha256=sha256, size=10,
                             etag=None, last_modified=None, pins=3, filename=filename)


def manifest(*files: FileEntry, requirements: tuple[str, ...] = ("alpha",),
             targets: tuple = (T311,), record: ConstraintsRecord | None = None,
             by_python: dict[str, ConstraintsRecord] | None = None) -> Manifest:
    return Manifest(tool_version="0.1.0", created="2024-01-01T00:00:00Z",
                    requirements=requirements, constraints=record, targets=targets,
                    index_urls=(PYPI,), find_links=(), files=files,
                    constraints_by_python=by_python)


def only(delta: Delta, kind: str) -> Change:
    """The delta holds exactly one change, of `kind`."""
    assert [change.kind for change in delta.changes] == [kind], delta.changes
    return delta.changes[0]


def unescaped(line: str, char: str) -> int:
    """How many times `char` appears in `line` not escaped by a backslash."""
    return sum(token == char for token in re.findall(r"\\.|.", line))


def no_control_characters(text: str) -> bool:
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in text if c != "\n")


BASE = manifest(entry(), entry("beta", "2.0"))


# -- one test per kind -------------------------------------------------------------------------


def test_equal_manifests_have_no_changes():
    delta = compare(BASE, manifest(entry(), entry("beta", "2.0")))
    assert delta.equal and delta.changes == ()
    assert delta.text() == "No differences.\n"
    assert "No differences." in delta.markdown("old", "new")
    assert delta.to_json() == {"equal": True, "counts": dict.fromkeys(KINDS, 0), "changes": []}


def test_rehashed_same_file_name_other_bytes():
    change = only(compare(BASE, manifest(entry(sha256="b" * 64), entry("beta", "2.0"))),
                  "rehashed")
    assert (change.project, change.old, change.new) == ("alpha", "a" * 64, "b" * 64)
    assert "alpha-1.0-py3-none-any.whl" in change.detail
    assert "should always mean the same bytes" in change.detail


def test_added_project():
    change = only(compare(BASE, manifest(entry(), entry("beta", "2.0"),
                                         entry("Gamma_Pkg", "3.0", kind="built-wheel"))),
                  "added")
    assert (change.project, change.old, change.new) == ("gamma-pkg", None, "3.0")
    assert "new to the folder" in change.detail and "built here" in change.detail
    assert PYPI in change.detail


def test_removed_project():
    change = only(compare(BASE, manifest(entry())), "removed")
    assert (change.project, change.old, change.new) == ("beta", "2.0", None)
    assert "no longer in the folder" in change.detail


def test_upgraded_by_pep_440_not_by_text():
    # as text "10.0" < "9.0"; as versions it is an upgrade
    change = only(compare(manifest(entry(version="9.0")), manifest(entry(version="10.0"))),
                  "upgraded")
    assert (change.project, change.old, change.new) == ("alpha", "9.0", "10.0")
    assert change.detail == "alpha 9.0 -> 10.0"


def test_downgraded():
    change = only(compare(manifest(entry(version="2.0rc1")), manifest(entry(version="2.0a1"))),
                  "downgraded")
    assert (change.old, change.new) == ("2.0rc1", "2.0a1")


def test_a_version_that_does_not_parse_is_an_upgrade_either_way_and_says_so():
    old, new = manifest(entry(version="weird-b")), manifest(entry(version="weird-a"))
    for delta in (compare(old, new), compare(new, old)):
        change = only(delta, "upgraded")
        assert "compared as text" in change.detail


def test_the_same_version_spelled_differently_is_called_so():
    change = only(compare(manifest(entry(version="1.0")), manifest(entry(version="1.0.0"))),
                  "upgraded")
    assert "spelled differently" in change.detail


def test_several_versions_are_compared_as_sets():
    old = manifest(entry(version="1.0"), entry(version="2.0", filename="alpha-2.0-cp311.whl"))
    new = manifest(entry(version="2.0", filename="alpha-2.0-cp311.whl"), entry(version="3.0"))
    delta = compare(old, new)
    assert [(c.kind, c.old, c.new) for c in delta.changes] == [
        ("added", None, "3.0"), ("removed", "1.0", None)]
    assert "the old folder held alpha 1.0, 2.0" in delta.changes[0].detail
    # the same set in another order, and the same set spread over other files: no change
    assert compare(old, manifest(*reversed(old.files))).equal


def test_index_changed_for_the_same_version():
    change = only(compare(BASE, manifest(entry(index=MIRROR), entry("beta", "2.0"))), "index")
    assert (change.project, change.old, change.new) == ("alpha", PYPI, MIRROR)


def test_index_changed_with_an_upgrade_is_reported_too():
    delta = compare(BASE, manifest(entry(version="1.1", index=MIRROR), entry("beta", "2.0")))
    assert [c.kind for c in delta.changes] == ["upgraded", "index"]


def test_license_changed_reading_spdx_before_the_license_field():
    apache = LicenseFacts(expression="Apache-2.0", text=None, classifiers=(),
                          spdx="Apache-2.0", source="License-Expression")
    change = only(compare(BASE, manifest(entry(facts=apache), entry("beta", "2.0"))),
                  "license")
    assert (change.project, change.old, change.new) == ("alpha", "MIT", "Apache-2.0")
    mit = LicenseFacts(expression="MIT", text=None, classifiers=(), spdx="MIT",
                       source="License-Expression")
    # the facts say MIT as the field did: the same license
    assert compare(BASE, manifest(entry(facts=mit, license="whatever"),
                                  entry("beta", "2.0"))).equal


def test_built_here_now_and_no_longer():
    built = manifest(entry(filename="alpha-1.0-cp311-cp311-linux_x86_64.whl",
                           kind="built-wheel"), entry("beta", "2.0"))
    change = only(compare(BASE, built), "built")
    assert (change.project, change.old, change.new) == ("alpha", "not built here", "built here")
    back = only(compare(built, BASE), "built")
    assert (back.old, back.new) == ("built here", "not built here")


def test_yanked_file_with_the_same_name():
    change = only(compare(BASE, manifest(entry(yanked=True), entry("beta", "2.0"))), "yanked")
    assert (change.project, change.old, change.new) == ("alpha", "not yanked", "yanked")
    assert change.detail == "alpha-1.0-py3-none-any.whl: now yanked on its index"


def test_yanked_project_after_an_upgrade_to_a_yanked_release():
    delta = compare(BASE, manifest(entry(version="1.1", yanked=True), entry("beta", "2.0")))
    assert [c.kind for c in delta.changes] == ["upgraded", "yanked"]
    assert "alpha-1.1-py3-none-any.whl" in delta.changes[1].detail


def test_target_added_and_removed():
    change = only(compare(BASE, manifest(*BASE.files, targets=(T311, T312))), "target-added")
    assert (change.project, change.old, change.new) == ("", None, T312.name)
    change = only(compare(manifest(*BASE.files, targets=(T311, T312)), BASE),
                  "target-removed")
    assert (change.project, change.old, change.new) == ("", T312.name, None)


def test_requirements_lines_added_and_removed_but_not_reordered():
    old = manifest(*BASE.files, requirements=("alpha", "beta>=2"))
    new = manifest(*BASE.files, requirements=("beta>=2.1", "alpha"))
    delta = compare(old, new)
    assert [(c.kind, c.old, c.new) for c in delta.changes] == [
        ("requirements", None, "beta>=2.1"), ("requirements", "beta>=2", None)]
    assert compare(old, manifest(*BASE.files, requirements=("beta>=2", "alpha"))).equal


def test_constraints_once_without_per_python_records():
    old = manifest(*BASE.files, record=constraints())
    change = only(compare(old, manifest(*BASE.files, record=constraints(sha256="d" * 64))),
                  "constraints")
    assert change.project == ""
    assert change.old == f"https://example.org/c.txt sha256:{'c' * 64}"
    assert change.new == f"https://example.org/c.txt sha256:{'d' * 64}"
    assert "now has other content" in change.detail
    # another copy name with the same source and bytes is no change
    assert compare(old, manifest(*BASE.files, record=constraints(filename="c2.txt"))).equal


def test_constraints_per_target_python():
    old = manifest(*BASE.files, targets=(T311, T312), by_python={
        "3.11": constraints(), "3.12": constraints(filename="c-3.12.txt")})
    new = manifest(*BASE.files, targets=(T311, T312), by_python={
        "3.11": constraints(), "3.12": constraints(source="other.txt")})
    change = only(compare(old, new), "constraints")
    assert "Python 3.12" in change.detail and "other.txt" in change.detail
    assert change.new == f"other.txt sha256:{'c' * 64}"
    # a folder that gains a Python gains its constraints
    gained = compare(manifest(*BASE.files, by_python={"3.11": constraints()}), old)
    assert [(c.kind, c.old) for c in gained.changes] == [
        ("target-added", None), ("constraints", None)]


def test_every_role_counts():
    delta = compare(BASE, manifest(*BASE.files, entry("hatchling", "1.25", role="build")))
    assert only(delta, "added").project == "hatchling"


# -- order, shapes, rendering ------------------------------------------------------------------


def test_rehashed_comes_first_then_kinds_order_then_project():
    old = manifest(entry("zeta"), entry("beta", "2.0"), entry("alpha"), requirements=("a",))
    new = manifest(entry("zeta", sha256="f" * 64), entry("beta", "2.1"), entry("alpha", "0.9"),
                   entry("aardvark"), entry("delta"), requirements=("b",),
                   targets=(T311, T312))
    delta = compare(old, new)
    assert [(c.kind, c.project) for c in delta.changes] == [
        ("rehashed", "zeta"), ("added", "aardvark"), ("added", "delta"),
        ("upgraded", "beta"), ("downgraded", "alpha"), ("target-added", ""),
        ("requirements", ""), ("requirements", "")]
    text = delta.text().splitlines()
    assert text[0] == ("1 re-hashed, 2 added, 1 upgraded, 1 downgraded, 1 target added, "
                       "2 requirement changes (8 changes)")
    assert text[1].startswith("re-hashed: same file name, other bytes")
    assert len(text) == 1 + 6 + 8  # the summary, a heading per kind, a line per change
    markdown = delta.markdown("old", "new")
    assert markdown.index("⚠️ **Re-hashed**") < markdown.index("| change | project |")


def test_to_json_shape():
    delta = compare(BASE, manifest(entry(version="1.1"), entry("new")))
    document = json.loads(json.dumps(delta.to_json()))
    assert set(document) == {"equal", "counts", "changes"}
    assert document["equal"] is False
    assert list(document["counts"]) == list(KINDS)
    assert sum(document["counts"].values()) == len(document["changes"]) == 3
    assert document["counts"]["upgraded"] == 1 and document["counts"]["added"] == 1
    assert document["changes"][0] == {"kind": "added", "project": "new", "old": None,
                                      "new": "1.0", "detail": document["changes"][0]["detail"]}
    assert all(set(c) == {"kind", "project", "old", "new", "detail"}
               for c in document["changes"])


def test_a_change_of_an_unknown_kind_is_refused():
    try:
        Change("moved", "", None, None, "")
    except ValueError as exc:
        assert "moved" in str(exc)
    else:
        raise AssertionError("Change accepted an unknown kind")


HOSTILE = "evil|`x`<script>alert(1)</script>\n| fake | row | here | x |\x1b[31m\u202e*b*"


def test_markdown_escapes_hostile_names_and_requirements():
    old = manifest(entry(), requirements=("alpha",))
    new = manifest(entry(), entry(HOSTILE, "1.0", filename="evil-1.0-py3-none-any.whl"),
                   requirements=("alpha", HOSTILE))
    delta = compare(old, new)
    assert {c.kind for c in delta.changes} == {"added", "requirements"}
    markdown = delta.markdown("old|<b>", "new`\n# heading")
    lines = markdown.splitlines()
    assert no_control_characters(markdown)
    own = {"<details><summary>Details</summary>", "</details>"}
    assert all(unescaped(line, "<") == 0 for line in lines if line not in own)
    assert "\\<script>alert(1)\\</script>" in markdown
    assert not any(line.startswith(("| fake", "# heading")) for line in lines)
    rows = [line for line in lines if line.startswith("|")]
    assert len(rows) == 2 + len(delta.changes)  # header, delimiter, one row per change
    assert all(unescaped(row, "|") == 5 for row in rows)
    assert all(unescaped(line, "`") == 0 for line in lines)
    assert all(unescaped(line, "*") == 0 for line in lines if line.startswith("|"))
    assert lines[0] == "### wheelhouse diff: old\\|\\<b> -> new\\` \\# heading"


def test_text_strips_control_characters_and_line_breaks():
    delta = compare(manifest(entry()), manifest(entry(), requirements=("alpha", HOSTILE)))
    text = delta.text()
    assert no_control_characters(text)
    assert "\x1b" not in text and "\u202e" not in text
    assert len(text.splitlines()) == 3  # the summary, the heading, the one change
    assert "requirement added: evil|`x`<script>" in text


def test_long_values_are_bounded():
    delta = compare(manifest(entry()), manifest(entry(), requirements=("alpha", "x" * 50_000)))
    assert len(delta.text()) < 1200 and len(delta.markdown("a", "b")) < 2000
    assert delta.changes[0].new == "x" * 50_000  # the JSON keeps the value as it was


# -- properties --------------------------------------------------------------------------------

NAMES = st.sampled_from(["alpha", "Beta_Pkg", "beta-pkg", "gamma"]) | st.text(max_size=12)
VERSIONS = st.sampled_from(["1.0", "1.1", "2.0", "10.0", "2.0rc1"])
HASHES = st.sampled_from(["a" * 64, "b" * 64])


@st.composite
def entries(draw: st.DrawFn, names: st.SearchStrategy[str] = NAMES) -> FileEntry:
    name, version = draw(names), draw(VERSIONS)
    kind = draw(st.sampled_from(KIND_NAMES))
    tag = draw(st.sampled_from(["py3-none-any", "cp311-cp311-linux_x86_64"]))
    return entry(name, version, filename=f"{name}-{version}-{tag}.{kind}", kind=kind,
                 sha256=draw(HASHES), index=draw(st.sampled_from([PYPI, MIRROR, None])),
                 license=draw(st.sampled_from(["MIT", None, "BSD | <x>"])),
                 yanked=draw(st.booleans()),
                 role=draw(st.sampled_from(ROLES)))


@st.composite
def manifests(draw: st.DrawFn, names: st.SearchStrategy[str] = NAMES) -> Manifest:
    files = draw(st.lists(entries(names), max_size=8))
    pythons = draw(st.sampled_from([None, ("3.11",), ("3.11", "3.12")]))
    record = draw(st.sampled_from([None, constraints(), constraints(sha256="d" * 64)]))
    return manifest(*files,
                    requirements=tuple(draw(st.lists(st.sampled_from(["a", "b", "c|`"]) | NAMES,
                                                     max_size=3))),
                    targets=tuple(draw(st.lists(st.sampled_from([T311, T312]), max_size=2,
                                                unique_by=lambda t: t.name))),
                    record=record, by_python=None if pythons is None or record is None
                    else {python: record for python in pythons})


@settings(max_examples=150, deadline=None)
@given(manifests())
def test_a_manifest_equals_itself(m):
    delta = compare(m, m)
    assert delta.equal and delta.changes == ()
    shuffled = manifest(*reversed(m.files), requirements=tuple(reversed(m.requirements)),
                        targets=m.targets, record=m.constraints, by_python=m.constraints_by_python)
    assert compare(m, shuffled).equal


@settings(max_examples=150, deadline=None)
@given(manifests(), manifests())
def test_compare_is_mirrored(a, b):
    forward, backward = compare(a, b).to_json()["counts"], compare(b, a).to_json()["counts"]
    assert forward["added"] == backward["removed"]
    assert forward["removed"] == backward["added"]
    assert forward["upgraded"] == backward["downgraded"]
    assert forward["downgraded"] == backward["upgraded"]
    assert forward["target-added"] == backward["target-removed"]
    assert sum(forward.values()) == sum(backward.values())


@settings(max_examples=150, deadline=None)
@given(manifests(st.text(max_size=20)), manifests(st.text(max_size=20)))
def test_renderings_of_any_names_are_safe(a, b):
    delta = compare(a, b)
    text, markdown = delta.text(), delta.markdown("a", "b")
    assert no_control_characters(text) and no_control_characters(markdown)
    assert len(text.splitlines()) == (
        1 + len({c.kind for c in delta.changes}) + len(delta.changes) if delta.changes else 1)
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(rows) == (2 + len(delta.changes) if delta.changes else 0)
    assert all(unescaped(row, "|") == 5 for row in rows)

"""The OSV database reader and matcher: real advisories' facts, the schema's range rules, and
hostile exports (bad JSON, oversized members, damaged zips, links, FIFOs) that must come out
as problems or one InputError, never as a traceback or a pair called checked when it was not.

Records are written by the tests. GHSA-9wx4-h78v-vm56 and PYSEC-2023-74 carry the real
advisories' ids, aliases, packages and ranges (their `modified` times are illustrative);
ids starting TEST- are made up to exercise one rule each.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from wheelhouse import osv
from wheelhouse.errors import InputError
from wheelhouse.osv import Audit, Database, Finding, Unchecked, audit, load_database

# Requests `Session` keeps verify=False for later requests to the same origin; fixed in 2.32.0.
SESSION_VERIFY = {
    "schema_version": "1.4.0",
    "id": "GHSA-9wx4-h78v-vm56",
    "modified": "2024-06-10T18:33:53Z",
    "published": "2024-05-20T20:15:00Z",
    "aliases": ["CVE-2024-35195"],
    "summary": "Requests `Session` object does not verify requests after making first "
               "request with verify=False",
    "details": "When making requests through a Requests `Session`, if the first request is "
               "made with `verify=False` to disable cert verification, all subsequent "
               "requests to the same origin will continue to ignore cert verification.",
    "affected": [{
        "package": {"ecosystem": "PyPI", "name": "requests", "purl": "pkg:pypi/requests"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}],
    }],
}

# Proxy-Authorization leaked on redirects to HTTPS, since 2.3.0; fixed in 2.31.0. PYSEC records
# carry a GIT range (ignored for PyPI), an ECOSYSTEM range and the affected versions listed.
PROXY_AUTH = {
    "id": "PYSEC-2023-74",
    "modified": "2023-06-05T01:13:00.123456Z",
    "published": "2023-05-26T18:15:00Z",
    "aliases": ["GHSA-j8r2-6x86-q33q", "CVE-2023-32681"],
    "details": "Requests is a HTTP library. Since Requests 2.3.0, Requests has been leaking "
               "Proxy-Authorization headers to destination servers when redirected to an "
               "HTTPS endpoint.\nThis is a product of how we use `rebuild_proxies`.",
    "affected": [{
        "package": {"ecosystem": "PyPI", "name": "requests", "purl": "pkg:pypi/requests"},
        "ranges": [
            {"type": "GIT", "repo": "https://github.com/psf/requests",
             "events": [{"introduced": "0"},
                        {"fixed": "74ea7cf7a6a27a4eeb2ae24e162bcc942a6706d5"}]},
            {"type": "ECOSYSTEM", "events": [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}]},
        ],
        "versions": ["2.3.0", "2.4.0", "2.25.1", "2.28.2", "2.30.0"],
    }],
}


def advisory(record_id: str, name: str, *events: dict[str, str], ecosystem: str = "PyPI",
             range_type: str = "ECOSYSTEM", versions: list[str] | None = None,
             modified: str = "2024-01-01T00:00:00Z", **fields: Any) -> dict[str, Any]:
    """A TEST- record with one affected package and (when events are given) one range."""
    entry: dict[str, Any] = {"package": {"ecosystem": ecosystem, "name": name}}
    if events:
        entry["ranges"] = [{"type": range_type, "events": list(events)}]
    if versions is not None:
        entry["versions"] = versions
    return {"id": record_id, "modified": modified, "affected": [entry], **fields}


def write_folder(folder: Path, records: list[Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, record in enumerate(records):
        named = isinstance(record, dict) and isinstance(record.get("id"), str)
        name = record["id"] if named else f"record-{index}"
        (folder / f"{index:04d}-{name}.json").write_text(json.dumps(record))
    return folder


def write_zip(path: Path, records: list[Any]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, record in enumerate(records):
            archive.writestr(f"{index:04d}-{record['id']}.json", json.dumps(record))
    return path


def check(tmp_path: Path, records: list[Any], pairs: list[tuple[str, str]]) -> Audit:
    return audit(load_database(write_folder(tmp_path / "db", records)), pairs)


def hits(result: Audit) -> set[tuple[str, str, str]]:
    return {(f.id, f.project, f.version) for f in result.findings}


# ---- matching ----------------------------------------------------------------------------

def test_requests_session_verify_is_found_below_2_32_0_only(tmp_path: Path) -> None:
    result = check(tmp_path, [SESSION_VERIFY],
                   [("requests", "2.31.0"), ("requests", "2.32.0"), ("requests", "2.32.3")])
    assert result.findings == (Finding(
        id="GHSA-9wx4-h78v-vm56", aliases=("CVE-2024-35195",), project="requests",
        version="2.31.0", fixed=("2.32.0",), summary=SESSION_VERIFY["summary"],
        modified="2024-06-10T18:33:53Z"),)
    assert result.checked == 3 and result.unchecked == ()


def test_pysec_record_uses_its_ecosystem_range_and_details_not_its_git_range(
        tmp_path: Path) -> None:
    result = check(tmp_path, [PROXY_AUTH],
                   [("requests", "2.25.1"), ("requests", "2.29.0"), ("requests", "2.2.1"),
                    ("requests", "2.31.0")])
    # 2.2.1 is inside the GIT range (introduced 0) but not the ECOSYSTEM one: not affected.
    assert hits(result) == {("PYSEC-2023-74", "requests", "2.25.1"),
                            ("PYSEC-2023-74", "requests", "2.29.0")}
    finding = result.findings[0]
    assert finding.aliases == ("CVE-2023-32681", "GHSA-j8r2-6x86-q33q")
    assert finding.fixed == ("2.31.0",)
    assert finding.summary == ("Requests is a HTTP library. Since Requests 2.3.0, Requests has "
                               "been leaking Proxy-Authorization headers to destination "
                               "servers when redirected to an HTTPS endpoint.")


def test_last_affected_includes_that_version_and_no_later(tmp_path: Path) -> None:
    record = advisory("TEST-LAST", "pkg", {"introduced": "1.0"}, {"last_affected": "1.4.2"})
    result = check(tmp_path, [record], [("pkg", v) for v in ("0.9", "1.0", "1.4.2", "1.4.3")])
    assert hits(result) == {("TEST-LAST", "pkg", "1.0"), ("TEST-LAST", "pkg", "1.4.2")}
    assert all(f.fixed == () for f in result.findings)


def test_limit_bounds_a_range_from_above_and_star_is_no_bound(tmp_path: Path) -> None:
    limited = advisory("TEST-LIMIT", "pkg", {"introduced": "0"}, {"fixed": "3.0"},
                       {"limit": "2.0"})
    open_ended = advisory("TEST-STAR", "other", {"introduced": "1.0"}, {"limit": "*"})
    result = check(tmp_path, [limited, open_ended],
                   [("pkg", "1.9"), ("pkg", "2.0"), ("pkg", "2.5"),
                    ("other", "0.9"), ("other", "9.0")])
    assert hits(result) == {("TEST-LIMIT", "pkg", "1.9"), ("TEST-STAR", "other", "9.0")}


def test_versions_list_is_affected_whatever_the_ranges(tmp_path: Path) -> None:
    record = advisory("TEST-LIST", "pkg", {"introduced": "5.0"}, {"fixed": "5.1"},
                      versions=["0.9.1", "1.0"])
    result = check(tmp_path, [record], [("pkg", v) for v in ("0.9.1", "0.9.2", "1.0.0", "5.0")])
    # 1.0.0 is the PEP 440 version 1.0 lists; 5.0 is in the range; 0.9.2 is in neither.
    assert hits(result) == {("TEST-LIST", "pkg", "0.9.1"), ("TEST-LIST", "pkg", "1.0.0"),
                            ("TEST-LIST", "pkg", "5.0")}
    assert [f.fixed for f in result.findings] == [(), (), ("5.1",)]


def test_pre_release_bounds_compare_as_pep_440(tmp_path: Path) -> None:
    record = advisory("TEST-RC", "pkg", {"introduced": "2.0.0rc1"}, {"fixed": "2.0.1"})
    versions = ("1.9", "2.0.0b1", "2.0.0rc1", "2.0.0rc2", "2.0.0", "2.0.1")
    result = check(tmp_path, [record], [("pkg", v) for v in versions])
    assert [f.version for f in result.findings] == ["2.0.0rc1", "2.0.0rc2", "2.0.0"]


def test_introduced_zero_is_before_every_version(tmp_path: Path) -> None:
    record = advisory("TEST-ZERO", "pkg", {"introduced": "0"}, {"fixed": "0.2"})
    result = check(tmp_path, [record], [("pkg", "0.dev0"), ("pkg", "0.0.1a1"), ("pkg", "0.2")])
    assert [f.version for f in result.findings] == ["0.dev0", "0.0.1a1"]


def test_events_out_of_order_and_several_ranges(tmp_path: Path) -> None:
    record = advisory("TEST-RANGES", "pkg")
    record["affected"][0]["ranges"] = [
        {"type": "ECOSYSTEM", "events": [{"fixed": "1.2.0"}, {"introduced": "2.0.0"},
                                         {"fixed": "2.3.0"}, {"introduced": "1.0.0"}]},
        {"type": "ECOSYSTEM", "events": [{"introduced": "3.0"}, {"fixed": "3.1"}]},
    ]
    versions = ("0.5", "1.1", "1.5", "2.1", "2.3.0", "3.0.5", "3.1")
    result = check(tmp_path, [record], [("pkg", v) for v in versions])
    assert {f.version: f.fixed for f in result.findings} == {
        "1.1": ("1.2.0", "2.3.0"), "2.1": ("2.3.0",), "3.0.5": ("3.1",)}


def test_one_finding_per_record_project_and_version(tmp_path: Path) -> None:
    record = advisory("TEST-TWICE", "Foo_Bar", {"introduced": "0"}, {"fixed": "2.0"})
    record["affected"].append({"package": {"ecosystem": "PyPI", "name": "foo.bar"},
                               "ranges": [{"type": "ECOSYSTEM", "events": [
                                   {"introduced": "1.0"}, {"fixed": "2.0.0"}]}],
                               "versions": ["1.5"]})
    result = check(tmp_path, [record],
                   [("foo-bar", "1.5"), ("FOO_BAR", "1.5"), ("foo-bar", "2.0")])
    assert result.findings == (Finding("TEST-TWICE", (), "foo-bar", "1.5", ("2.0",), "",
                                       "2024-01-01T00:00:00Z"),)
    assert result.checked == 2  # the two spellings of foo-bar 1.5 are one pair


def test_other_ecosystems_and_semver_ranges_give_no_finding(tmp_path: Path) -> None:
    npm = advisory("TEST-NPM", "requests", {"introduced": "0"}, {"fixed": "9.0"},
                   ecosystem="npm")
    root = advisory("TEST-ROOT", "requests", {"introduced": "0"}, {"fixed": "9.0"},
                    ecosystem="Root:PyPI")
    semver = advisory("TEST-SEMVER", "requests", {"introduced": "0"}, {"fixed": "9.0.0"},
                      range_type="SEMVER")
    result = check(tmp_path, [npm, root, semver, SESSION_VERIFY], [("requests", "2.32.3")])
    assert result.findings == ()
    assert result.checked == 1 and result.database.problems == ()


def test_a_withdrawn_record_is_ignored_and_counted(tmp_path: Path) -> None:
    withdrawn = advisory("TEST-WITHDRAWN", "requests", {"introduced": "0"},
                         withdrawn="2024-02-01T00:00:00Z", modified="2024-02-01T00:00:00Z")
    result = check(tmp_path, [withdrawn, SESSION_VERIFY], [("requests", "2.32.3")])
    assert result.findings == ()
    assert (result.database.records, result.database.withdrawn) == (2, 1)


def test_malformed_records_are_problems_and_the_rest_still_works(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "db", [
        SESSION_VERIFY,
        {"id": "TEST-AFFECTED-STRING", "modified": "2024-01-01T00:00:00Z",
         "affected": "requests"},
        advisory("TEST-BAD-EVENT", "pkg", {"introduced": "0"}, {"fixed": "1.0-custom build"}),
        {"modified": "2024-01-01T00:00:00Z", "affected": []},
        ["not", "a", "record"],
    ])
    (folder / "truncated.json").write_text('{"id": "TEST-TRUNCATED", "affected": [')
    database = load_database(folder)
    joined = "\n".join(database.problems)
    assert "truncated.json: not valid JSON" in joined
    assert "TEST-AFFECTED-STRING.json: affected is 'requests', not a list" in joined
    assert ("TEST-BAD-EVENT.json: affected[0].ranges[0] events[1].fixed '1.0-custom build' "
            "is not a PEP 440 version") in joined
    assert "0003-record-3.json: its id is a JSON null" in joined
    assert "0004-record-4.json: is a JSON array, not an OSV record" in joined
    assert database.records == 3  # the three with an id
    result = audit(database, [("requests", "2.31.0"), ("pkg", "0.5")])
    assert hits(result) == {("GHSA-9wx4-h78v-vm56", "requests", "2.31.0")}
    # pkg has a record whose only range could not be read: pkg 0.5 was not checked.
    assert result.checked == 1
    assert result.unchecked == (Unchecked("pkg", "0.5", "what TEST-BAD-EVENT says of it could "
                                          "not be evaluated (see the database's problems)"),)


def test_an_unusable_range_does_not_hide_a_match_from_the_same_record(tmp_path: Path) -> None:
    record = advisory("TEST-HALF", "pkg", {"introduced": "0"}, {"fixed": "not/pep440"},
                      versions=["0.5"])
    result = check(tmp_path, [record], [("pkg", "0.5"), ("pkg", "0.6")])
    assert hits(result) == {("TEST-HALF", "pkg", "0.5")}
    assert [(u.project, u.version) for u in result.unchecked] == [("pkg", "0.6")]
    assert result.checked == 1


def test_a_version_that_is_not_pep_440_is_unchecked_never_passed(tmp_path: Path) -> None:
    listed = advisory("TEST-LISTED", "odd", versions=["1.0-custom build"])
    result = check(tmp_path, [SESSION_VERIFY, listed],
                   [("requests", "1.0-custom build"), ("odd", "1.0-custom build")])
    assert result.checked == 0
    assert set(result.unchecked) == {Unchecked("requests", "1.0-custom build", osv.NOT_PEP440),
                                     Unchecked("odd", "1.0-custom build", osv.NOT_PEP440)}
    # Listed verbatim, it is still reported: a finding is never dropped.
    assert hits(result) == {("TEST-LISTED", "odd", "1.0-custom build")}


def test_newest_modified_is_the_latest_time_not_the_largest_string(tmp_path: Path) -> None:
    records = [advisory("TEST-A", "a", {"introduced": "0"}, modified="2023-01-01T00:00:00Z"),
               advisory("TEST-B", "b", {"introduced": "0"},
                        modified="2024-06-10T18:33:53.123456Z"),
               # 17:00 UTC: earlier, though it sorts later as text.
               advisory("TEST-C", "c", {"introduced": "0"}, modified="2024-06-10T19:00:00+02:00")]
    database = load_database(write_folder(tmp_path / "db", records))
    assert database.newest_modified == "2024-06-10T18:33:53.123456Z"


def test_summary_falls_back_bounded_and_printable(tmp_path: Path) -> None:
    record = advisory("TEST-LONG", "pkg", {"introduced": "0"},
                      details="\n\n  " + "\x1b[31mred " * 200 + "\nsecond line")
    [finding] = check(tmp_path, [record], [("pkg", "1.0")]).findings
    assert len(finding.summary) == osv.SUMMARY_LIMIT
    assert "\x1b" not in finding.summary and finding.summary.startswith("\ufffd[31mred")


def test_findings_sort_by_project_pep_440_version_then_id(tmp_path: Path) -> None:
    records = [advisory("TEST-Z", "zeta", {"introduced": "0"}),
               advisory("TEST-B", "alpha", {"introduced": "0"}),
               advisory("TEST-A", "alpha", {"introduced": "0"})]
    result = check(tmp_path, records, [("zeta", "1"), ("alpha", "2.10"), ("alpha", "2.9")])
    assert [(f.project, f.version, f.id) for f in result.findings] == [
        ("alpha", "2.9", "TEST-A"), ("alpha", "2.9", "TEST-B"), ("alpha", "2.10", "TEST-A"),
        ("alpha", "2.10", "TEST-B"), ("zeta", "1", "TEST-Z")]


def test_loading_for_some_projects_leaves_the_others_unchecked(tmp_path: Path) -> None:
    flask = advisory("TEST-FLASK", "flask", {"introduced": "0"}, {"fixed": "3.0"})
    database = load_database(write_folder(tmp_path / "db", [SESSION_VERIFY, flask]),
                             projects=["Requests"])
    assert set(database.advisories) == {"requests"}
    assert database.pypi_records == 2
    result = audit(database, [("requests", "2.31.0"), ("flask", "2.0")])
    assert hits(result) == {("GHSA-9wx4-h78v-vm56", "requests", "2.31.0")}
    assert result.unchecked == (Unchecked("flask", "2.0", osv.OUT_OF_SCOPE),)
    assert result.checked == 1


def test_to_json(tmp_path: Path) -> None:
    result = check(tmp_path, [SESSION_VERIFY], [("requests", "2.31.0"), ("requests", "x y")])
    document = json.loads(json.dumps(result.to_json()))
    assert document == {
        "database": {"source": str(tmp_path / "db"), "records": 1, "withdrawn": 0,
                     "newest_modified": "2024-06-10T18:33:53Z", "problems": []},
        "checked": 1,
        "unchecked": [{"project": "requests", "version": "x y", "reason": osv.NOT_PEP440}],
        "findings": [{"id": "GHSA-9wx4-h78v-vm56", "aliases": ["CVE-2024-35195"],
                      "project": "requests", "version": "2.31.0", "fixed": ["2.32.0"],
                      "summary": SESSION_VERIFY["summary"],
                      "modified": "2024-06-10T18:33:53Z"}],
    }


# ---- the three forms, and hostile ones -----------------------------------------------------

RECORDS = [SESSION_VERIFY, PROXY_AUTH,
           advisory("TEST-LAST", "pkg", {"introduced": "1.0"}, {"last_affected": "1.4.2"})]
PAIRS = [("requests", "2.25.1"), ("requests", "2.31.0"), ("requests", "2.32.0"),
         ("pkg", "1.4.2"), ("pkg", "1.4.3")]


def test_zip_folder_and_single_file_agree(tmp_path: Path) -> None:
    single = tmp_path / "all.json"
    single.write_text(json.dumps(RECORDS))
    one = tmp_path / "one.JSON"
    one.write_text(json.dumps(SESSION_VERIFY))
    results = [audit(load_database(path), PAIRS) for path in (
        write_zip(tmp_path / "all.zip", RECORDS), write_folder(tmp_path / "db", RECORDS),
        single)]
    expected = {("PYSEC-2023-74", "requests", "2.25.1"),
                ("GHSA-9wx4-h78v-vm56", "requests", "2.25.1"),
                ("GHSA-9wx4-h78v-vm56", "requests", "2.31.0"), ("TEST-LAST", "pkg", "1.4.2")}
    for result in results:
        assert hits(result) == expected
        assert result.database.records == 3 and result.database.problems == ()
    assert results[0].findings == results[1].findings == results[2].findings
    assert hits(audit(load_database(one), PAIRS)) == {
        ("GHSA-9wx4-h78v-vm56", "requests", "2.25.1"),
        ("GHSA-9wx4-h78v-vm56", "requests", "2.31.0")}


def test_a_zip_member_over_the_limit_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "all.zip", [SESSION_VERIFY])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("huge.json", bytes(osv.MEMBER_LIMIT + 1))  # ~16 KiB compressed
        archive.writestr("notes/", b"")
        archive.writestr("README.md", b"not a record")
    database = load_database(path)
    assert database.problems == (f"huge.json: declares {osv.MEMBER_LIMIT + 1} bytes, over the "
                                 f"{osv.MEMBER_LIMIT}-byte limit; not read",)
    assert database.records == 1
    assert hits(audit(database, [("requests", "2.31.0")])) == {
        ("GHSA-9wx4-h78v-vm56", "requests", "2.31.0")}


def test_a_zip_member_that_fails_its_crc_makes_the_database_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "all.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("GHSA-9wx4-h78v-vm56.json", json.dumps(SESSION_VERIFY))
    data = bytearray(path.read_bytes())
    at = data.index(b"CVE-2024-35195")
    data[at] = ord("X")  # same length, so only the CRC can tell
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"GHSA-9wx4-h78v-vm56\.json is damaged .*CRC"):
        load_database(path)


def test_a_zip_directory_over_its_limit_is_refused_before_zipfile_holds_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_zip(tmp_path / "all.zip", RECORDS)
    monkeypatch.setattr(osv, "DIRECTORY_LIMIT", 100)
    with pytest.raises(InputError, match="zip directory declares .* over the 100-byte limit"):
        load_database(path)


def test_only_max_records_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(osv, "MAX_RECORDS", 2)
    for path in (write_zip(tmp_path / "all.zip", RECORDS),
                 write_folder(tmp_path / "db", RECORDS)):
        database = load_database(path)
        assert database.records == 2
        assert len(database.problems) == 1
        assert "more than 2 JSON" in database.problems[0]


def test_problems_keep_the_first_hundred_and_count_the_rest(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "db", [SESSION_VERIFY])
    for index in range(150):
        (folder / f"bad-{index:03d}.json").write_text("{")
    problems = load_database(folder).problems
    assert len(problems) == 101
    assert problems[0].startswith("bad-000.json: not valid JSON")
    assert problems[-1] == "… and 50 more problems, not listed"


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32",
                    reason="symbolic links")
def test_a_folder_does_not_follow_symbolic_links(tmp_path: Path) -> None:
    outside = write_folder(tmp_path / "outside", [PROXY_AUTH])
    folder = write_folder(tmp_path / "db", [SESSION_VERIFY])
    (folder / "linked.json").symlink_to(next(outside.iterdir()))
    (folder / "linked-folder").symlink_to(outside, target_is_directory=True)
    database = load_database(folder)
    assert database.records == 1
    assert database.problems == ("linked.json: it is a symbolic link, not followed; not read",)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_a_fifo_named_json_is_not_waited_on(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "db", [SESSION_VERIFY])
    os.mkfifo(folder / "pipe.json")
    database = load_database(folder)
    assert database.problems == ("pipe.json: it is not a regular file; not read",)


@pytest.mark.parametrize("content, message", [
    (b"\x00\x01garbage that is no zip and no JSON", "is neither a zip, a folder, nor a JSON file"),
    (b'"a string"', "holds JSON that is neither a record nor a list of records"),
    (b"[]", "holds no OSV record"),
    (b'{"affected": []}', "holds no OSV record .*its id is a JSON null"),
    (b'PK\x05\x06' + bytes(18), "holds no OSV record"),  # an empty zip
])
def test_a_file_that_holds_no_database_is_an_input_error(
        tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "osv.json"
    path.write_bytes(content)
    with pytest.raises(InputError,
                       match=f"cannot read the OSV database at .*osv.json: it {message}"):
        load_database(path)


def test_missing_empty_or_non_pypi_databases_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the OSV database at .*nowhere: no such"):
        load_database(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no OSV record"):
        load_database(tmp_path / "empty")
    npm = advisory("TEST-NPM", "requests", {"introduced": "0"}, ecosystem="npm")
    with pytest.raises(InputError, match="none of its 1 records is a PyPI advisory"):
        load_database(write_zip(tmp_path / "npm.zip", [npm]))


def test_a_truncated_zip_is_an_input_error(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "all.zip", RECORDS)
    data = path.read_bytes()
    path.write_bytes(data[:40] + data[-22:])  # keeps the end record, loses the members
    with pytest.raises(InputError, match="cannot read the OSV database at .*all.zip: it is "
                                         "not a readable zip"):
        load_database(path)


def test_a_pypi_sized_export_loads_in_seconds(tmp_path: Path) -> None:
    """20,000 records (the PyPI export's count), smaller than real ones to keep the test fast;
    a full-size export (~70 MB inflated) measured about 2 s."""
    path = tmp_path / "all.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for index in range(20_000):
            archive.writestr(f"PYSEC-2099-{index}.json", json.dumps(advisory(
                f"PYSEC-2099-{index}", f"project-{index % 5000}", {"introduced": "0"},
                {"fixed": f"{index % 7}.9.9"}, versions=[f"{index % 7}.{m}" for m in range(20)],
                aliases=[f"CVE-2099-{index}"], details="A synthetic advisory. " * 10)))
    started = time.perf_counter()
    database = load_database(path)
    elapsed = time.perf_counter() - started
    assert (database.records, len(database.advisories), database.problems) == (20_000, 5000, ())
    assert elapsed < 5, f"loading 20,000 records took {elapsed:.1f} s"
    result = audit(database, [("project-1", "1.3")])
    # Records 1, 5001 and 10001 (fixed in 1.9.9, 3.9.9, 5.9.9); 15001 was fixed in 0.9.9.
    assert [f.id for f in result.findings] == ["PYSEC-2099-1", "PYSEC-2099-10001",
                                               "PYSEC-2099-5001"]


# ---- whatever the bytes ------------------------------------------------------------------

EXAMPLES = int(os.environ.get("WHEELHOUSE_FUZZ_EXAMPLES", "200"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
versions = st.sampled_from(["0", "1.0", "2.0rc1", "2.32.0", "*", "1.0-custom build", ""]) \
    | json_values
events = st.dictionaries(st.sampled_from(osv.KINDS), versions, max_size=2) | json_values
ranges = st.fixed_dictionaries(
    {}, optional={"type": st.sampled_from(["ECOSYSTEM", "SEMVER", "GIT"]) | json_values,
                  "events": st.lists(events, max_size=4) | json_values})
packages = st.fixed_dictionaries(
    {}, optional={"ecosystem": st.sampled_from(["PyPI", "npm", "PyPI:x"]) | json_values,
                  "name": st.sampled_from(["requests", "Requests", "pkg", ""]) | json_values})
affected = st.fixed_dictionaries(
    {}, optional={"package": packages | json_values,
                  "ranges": st.lists(ranges | json_values, max_size=3) | json_values,
                  "versions": st.lists(versions, max_size=3) | json_values})
records = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(["TEST-FUZZ", ""]) | json_values,
    "modified": st.sampled_from(["2024-01-01T00:00:00Z", "2024-13-40T99:99:99+99:99"])
    | json_values,
    "withdrawn": st.sampled_from(["2024-01-01T00:00:00Z", ""]) | json_values,
    "aliases": st.lists(st.text(max_size=8), max_size=3) | json_values,
    "summary": json_values, "details": json_values,
    "affected": st.lists(affected | json_values, max_size=3) | json_values,
}) | json_values
documents = st.lists(records.map(lambda r: json.dumps(r).encode()) | st.binary(max_size=40),
                     max_size=6)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.lists(st.tuples(st.sampled_from(["requests", "pkg", "x"]),
                                     versions.filter(lambda v: isinstance(v, str))),
                           max_size=4))
def test_any_records_give_a_database_or_one_input_error(
        contents: list[bytes], pairs: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        folder = write_folder(Path(temporary) / "db", [SESSION_VERIFY])
        for index, content in enumerate(contents):
            (folder / f"fuzz-{index}.json").write_bytes(content)
        database = load_database(folder)  # SESSION_VERIFY keeps it a PyPI database
        assert isinstance(database, Database)
        assert database.records >= 1 and len(database.problems) <= osv.MAX_PROBLEMS + 1
        result = audit(database, [("requests", "2.31.0"), *pairs])
        json.dumps(result.to_json())
        assert ("GHSA-9wx4-h78v-vm56", "requests", "2.31.0") in hits(result)
        distinct = {(name.lower(), version) for name, version in [("requests", "2.31.0"),
                                                                   *pairs]}
        assert result.checked + len(result.unchecked) == len(distinct)
        # The single-file form of the same records: a database, or one InputError.
        single = Path(temporary) / "one.json"
        for content in contents:
            single.write_bytes(content)
            with contextlib.suppress(InputError):
                audit(load_database(single), pairs)


VALID_ZIP = bytearray()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1,
                max_size=8),
       st.integers(min_value=0))
@example(damage=[(1330, 0)], cut=0)  # a directory entry left with an empty name, as found
def test_any_damage_to_a_zip_gives_a_database_or_one_input_error(
        damage: list[tuple[int, int]], cut: int) -> None:
    """Bytes changed anywhere (headers, directory, compressed data), or the file cut short."""
    with tempfile.TemporaryDirectory() as temporary:
        if not VALID_ZIP:
            VALID_ZIP.extend(write_zip(Path(temporary) / "valid.zip", RECORDS).read_bytes())
        data = bytearray(VALID_ZIP)
        for at, value in damage:
            data[at % len(data)] = value
        path = Path(temporary) / "all.zip"
        path.write_bytes(bytes(data[:len(data) - cut % 64]))
        try:
            result = audit(load_database(path), PAIRS)
        except InputError as exc:
            assert str(exc).startswith(f"cannot read the OSV database at {path}: ")
        else:
            assert result.checked + len(result.unchecked) == len(PAIRS)


"""The review kit end to end: `licenses`, `sbom` and `audit` on a folder prepare made from a
real pypiserver, run offline, and `prepare --osv`."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from builders import make_wheel, sha256
from conftest import offline_env

from wheelhouse.manifest import Manifest

PY = ("--python", "3.11", "--platform", "manylinux_2_28_x86_64")
# GHSA-9wx4-h78v-vm56: requests < 2.32.0 (the folder's `requests` is a stand-in wheel).
REQUESTS_ADVISORY = {
    "id": "GHSA-9wx4-h78v-vm56", "modified": "2024-06-10T18:30:00Z",
    "aliases": ["CVE-2024-35195"],
    "summary": "Requests Session object does not verify requests after making first request "
               "with verify=False",
    "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                  "ranges": [{"type": "ECOSYSTEM",
                              "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}]}],
}
OLDER = {"id": "PYSEC-2023-74", "modified": "2023-06-01T00:00:00Z", "aliases": ["CVE-2023-32681"],
         "summary": "Proxy-Authorization header leak",
         "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                       "ranges": [{"type": "ECOSYSTEM", "events": [
                           {"introduced": "2.3.0"}, {"fixed": "2.31.0"}]}]}]}


def stand_ins(folder: Path) -> Path:
    """Wheels with the license and author fields real projects write."""
    folder.mkdir()
    make_wheel(folder, "lic-expr", "1.0", requires=("lic-classifier",), about=(
        "License-Expression: MIT OR Apache-2.0", "Author-email: Ann <ann@example.org>",
        "Summary: declares an SPDX expression"), metadata_version="2.4")
    make_wheel(folder, "lic-classifier", "1.0", requires=("lic-bsd",), about=(
        "Classifier: License :: OSI Approved :: Apache Software License",
        "Maintainer: Example Org"))
    make_wheel(folder, "lic-bsd", "1.0", about=(
        "License: BSD", "Classifier: License :: OSI Approved :: BSD License"))
    make_wheel(folder, "requests", "2.31.0", about=("License: Apache 2.0",))
    return folder


@pytest.fixture(scope="module")
def reviewed(pypiserver, tmp_path_factory) -> Path:
    """A folder prepare made: four projects, one of them a vulnerable requests."""
    root = tmp_path_factory.mktemp("review")
    dest = root / "wh"
    done = subprocess.run(
        [sys.executable, "-m", "wheelhouse", "prepare", "lic-expr", "requests==2.31.0",
         "--python", "cp311", "--platform", "manylinux_2_28_x86_64",  # pip's spellings:
         "-i", pypiserver.url, "-f", str(stand_ins(root / "links")),  # cp311, -i, -f
         "--dest", str(dest)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads((dest / "wheelhouse.json").read_text())["targets"][0]["python"] == "3.11"
    return dest


def run_offline(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A review command as a user runs it across the gap: no socket can be opened."""
    return subprocess.run([sys.executable, "-m", "wheelhouse", *args], capture_output=True,
                          text=True, env=offline_env(tmp_path / "guard"), timeout=300)


def osv_folder(path: Path, *records: object) -> Path:
    path.mkdir()
    for number, record in enumerate(records):
        name = record["id"] if isinstance(record, dict) else f"broken-{number}"
        (path / f"{name}.json").write_text(
            json.dumps(record) if isinstance(record, dict) else str(record))
    return path


def test_licenses_are_read_from_the_files_in_pep_639_order(reviewed, tmp_path):
    done = run_offline(tmp_path, "licenses", str(reviewed), "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    found = {p["name"]: (p["spdx"], p["source"]) for p in document["packages"]}
    assert found == {
        "lic-expr": ("MIT OR Apache-2.0", "License-Expression"),
        "lic-classifier": ("Apache-2.0", "classifiers"),
        "lic-bsd": ("unknown", "none"),  # "BSD", said twice, still names no one license
        "requests": ("Apache-2.0", "License"),
    }
    bsd = next(p for p in document["packages"] if p["name"] == "lic-bsd")
    assert bsd["declared"]["text"] == "BSD"  # kept as declared, for a person to read
    assert document["by_license"]["Apache-2.0"] == ["lic-classifier 1.0", "requests 2.31.0"]
    assert (document["files"], document["with_spdx"], document["unknown"]) == (4, 3, 1)
    manifest = json.loads((reviewed / "wheelhouse.json").read_text())
    recorded = {f["name"]: (f["license_spdx"], f["license_declared"]["source"])
                for f in manifest["files"]}
    assert recorded == found  # prepare recorded what the files declare
    assert Manifest.load(reviewed).dumps() == (reviewed / "wheelhouse.json").read_text()
    table = run_offline(tmp_path, "licenses", str(reviewed))
    assert table.returncode == 0
    assert "lic_bsd-1.0-py3-none-any.whl: BSD" in table.stdout
    assert "4 files in" in table.stdout and "3 with an SPDX expression, 1 unknown" in table.stdout


@pytest.mark.parametrize("fmt", ["cyclonedx-json", "cyclonedx-xml", "spdx-json"])
def test_an_sbom_of_every_file_checked_against_its_schema(reviewed, tmp_path, fmt):
    out = tmp_path / f"sbom.{fmt}"
    done = run_offline(tmp_path, "sbom", str(reviewed), "--format", fmt, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "checked against the" in done.stderr and "NOT" not in done.stderr
    wheels = {p.name: sha256(p) for p in reviewed.glob("*.whl")}
    text = out.read_text()
    if fmt == "cyclonedx-json":
        document = json.loads(text)
        components = {c["bom-ref"]: c for c in document["components"]}
        assert {ref: c["hashes"][0]["content"] for ref, c in components.items()} == wheels
        expr = components["lic_expr-1.0-py3-none-any.whl"]
        assert expr["purl"] == "pkg:pypi/lic-expr@1.0?file_name=lic_expr-1.0-py3-none-any.whl"
        edges = {d["ref"]: set(d.get("dependsOn", [])) for d in document["dependencies"]}
        assert edges["lic_expr-1.0-py3-none-any.whl"] == {"lic_classifier-1.0-py3-none-any.whl"}
        assert edges["lic_classifier-1.0-py3-none-any.whl"] == {"lic_bsd-1.0-py3-none-any.whl"}
    elif fmt == "cyclonedx-xml":
        for filename, digest in wheels.items():
            assert text.count(f'bom-ref="{filename}"') == 1 and digest in text
    else:
        document = json.loads(text)
        assert document["spdxVersion"] == "SPDX-2.3"
        packages = {p["packageFileName"]: p for p in document["packages"]}
        assert {name: p["checksums"][0]["checksumValue"] for name, p in packages.items()} \
            == wheels
        assert packages["lic_expr-1.0-py3-none-any.whl"]["licenseDeclared"] == \
            "MIT OR Apache-2.0"


def test_an_sbom_is_refused_inside_the_folder_and_for_a_folder_verify_rejects(
        reviewed, tmp_path):
    inside = run_offline(tmp_path, "sbom", str(reviewed), "-o", str(reviewed / "sbom.json"))
    assert inside.returncode == 2 and "inside" in inside.stderr
    assert not (reviewed / "sbom.json").exists()
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in reviewed.iterdir():
        if path.is_file():
            (copy / path.name).write_bytes(path.read_bytes())
    victim = next(copy.glob("requests-*.whl"))
    with zipfile.ZipFile(victim, "a") as archive:
        archive.writestr("requests/extra.py", b"print('added after approval')\n")
    for command in ("licenses", "sbom"):
        refused = run_offline(tmp_path, command, str(copy))
        assert refused.returncode == 1, refused.stderr
        assert "does not pass verify" in refused.stderr and refused.stdout == ""
    (copy / "wheelhouse.json").unlink()
    assert run_offline(tmp_path, "licenses", str(copy)).returncode == 2


def test_audit_names_the_advisory_its_aliases_and_the_fix(reviewed, tmp_path):
    database = osv_folder(tmp_path / "osv", REQUESTS_ADVISORY, OLDER, "{ not json")
    done = run_offline(tmp_path, "audit", str(reviewed), "--osv", str(database), "--json")
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert [(f["id"], f["aliases"], f["project"], f["version"], f["fixed"])
            for f in document["findings"]] == [
        ("GHSA-9wx4-h78v-vm56", ["CVE-2024-35195"], "requests", "2.31.0", ["2.32.0"])]
    assert document["checked"] == 4 and document["unchecked"] == []
    assert document["database"]["newest_modified"] == "2024-06-10T18:30:00Z"
    assert len(document["database"]["problems"]) == 1  # the broken record, reported
    table = run_offline(tmp_path, "audit", str(reviewed), "--osv", str(database))
    assert table.returncode == 1
    assert "GHSA-9wx4-h78v-vm56" in table.stdout and "2024-06-10T18:30:00Z" in table.stdout


def test_audit_with_nothing_matching_says_what_it_checked_against(reviewed, tmp_path):
    database = tmp_path / "osv.zip"
    with zipfile.ZipFile(database, "w") as archive:
        archive.writestr("PYSEC-2023-74.json", json.dumps(OLDER))
    done = run_offline(tmp_path, "audit", str(reviewed), "--osv", str(database))
    assert done.returncode == 0, done.stderr
    assert "4 project versions" in done.stdout and "no known vulnerability" in done.stdout
    assert "2023-06-01T00:00:00Z" in done.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run_offline(tmp_path, "audit", str(reviewed), "--osv", str(empty))
    assert nothing.returncode == 2 and "holds no OSV record" in nothing.stderr


def test_prepare_osv_warns_and_records_the_audit(pypiserver, run_cli, tmp_path):
    database = osv_folder(tmp_path / "osv", REQUESTS_ADVISORY)
    dest = tmp_path / "wh"
    args = ("prepare", "requests==2.31.0", *PY, "--index-url", pypiserver.url,
            "--find-links", str(stand_ins(tmp_path / "links")), "--dest", str(dest))
    missing = run_cli(*args, "--osv", str(tmp_path / "nowhere.zip"))
    assert missing.returncode == 2 and "--osv" in missing.stderr and not dest.exists()
    done = run_cli(*args, "--osv", str(database))
    assert done.returncode == 0, done.stderr
    assert "requests 2.31.0 is affected by GHSA-9wx4-h78v-vm56 (CVE-2024-35195)" in done.stderr
    assert "fixed in 2.32.0" in done.stderr
    audit = json.loads((dest / "wheelhouse.json").read_text())["audit"]
    assert [f["id"] for f in audit["findings"]] == ["GHSA-9wx4-h78v-vm56"]
    assert audit["database"]["newest_modified"] == "2024-06-10T18:30:00Z"
    # the database changed: a re-run audits again rather than calling the folder up to date
    (database / "GHSA-9wx4-h78v-vm56.json").unlink()
    (database / "PYSEC-2023-74.json").write_text(json.dumps(OLDER))
    again = run_cli(*args, "--osv", str(database))
    assert again.returncode == 0, again.stderr
    assert "affected by" not in again.stderr
    assert json.loads((dest / "wheelhouse.json").read_text())["audit"]["findings"] == []


def test_the_report_page_of_a_folder_offline(reviewed, tmp_path):
    """One self-contained page, after verify: every file a row, with its license, and the
    verdict; Markdown by default; never written inside the folder."""
    page = tmp_path / "review.html"
    done = run_offline(tmp_path, "report", str(reviewed), "--html", str(page))
    assert done.returncode == 0, done.stderr
    assert "(every check holds)" in done.stderr
    text = page.read_text()
    assert "content-security-policy" in text.lower()
    assert "://" not in text.split("<body")[0] and " src=" not in text and " href=" not in text
    for path in reviewed.glob("*.whl"):
        assert text.count(f">{path.name}<") == 1  # one row per file
    assert "MIT OR Apache-2.0" in text
    markdown = run_offline(tmp_path, "report", str(reviewed))
    assert markdown.returncode == 0 and "| lic-expr |" in markdown.stdout
    inside = run_offline(tmp_path, "report", str(reviewed), "--html",
                         str(reviewed / "review.html"))
    assert inside.returncode == 2 and not (reviewed / "review.html").exists()


@pytest.mark.skipif(sys.version_info < (3, 10), reason="spdx-json needs 3.10+ in any case")
def test_spdx_without_its_extra_is_one_sentence_naming_the_extra(reviewed, tmp_path):
    """spdx-tools is the `spdx` extra: where it is not installed, spdx-json says how to get it
    (and what works without it), and nothing is written."""
    out = tmp_path / "sbom.spdx.json"
    script = ("import sys; sys.modules['spdx_tools'] = None; from wheelhouse.cli import main; "
              "sys.argv = ['wheelhouse'] + sys.argv[1:]; sys.exit(main())")
    done = subprocess.run([sys.executable, "-c", script, "sbom", str(reviewed), "--format",
                           "spdx-json", "-o", str(out)], capture_output=True, text=True,
                          env=offline_env(tmp_path / "guard"), timeout=300)
    assert done.returncode == 2, done.stderr
    assert "pip install 'wheelhouse-airgap[spdx]'" in done.stderr and "Traceback" not in \
        done.stderr
    assert not out.exists()

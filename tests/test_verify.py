"""`wheelhouse verify` on real prepared folders, tampered with one way at a time."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from builders import make_wheel, sha256
from conftest import offline_env

from wheelhouse.cli import main


@pytest.fixture(scope="module")
def prepared(pypiserver, tmp_path_factory) -> Path:
    """One clean folder from prepare: extras, a platform wheel, a built wheel, constraints."""
    root = tmp_path_factory.mktemp("prepared")
    constraints = root / "c.txt"
    constraints.write_text("beta==1.0\n")
    dest = root / "wh"
    result = subprocess.run(
        [sys.executable, "-m", "wheelhouse", "prepare", "alpha[fast]==2.0", "plat==1.0",
         "sdistonly", "--constraints", str(constraints), "--python", "3.11", "--platform",
         "manylinux_2_28_x86_64", "--index-url", pypiserver.url, "--dest", str(dest)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    return dest


@pytest.fixture
def folder(prepared, tmp_path) -> Path:
    copy = tmp_path / "wh"
    shutil.copytree(prepared, copy)
    return copy


def verify(folder: Path, *args: str) -> tuple[int, dict, str]:
    """`wheelhouse verify DIR --json ...`, run in-process: the checks need no process of their
    own (the tests that do, for the people's output and the socket guard, use one)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["verify", str(folder), "--json", *args])
    assert "Traceback" not in err.getvalue(), err.getvalue()
    return code, json.loads(out.getvalue()), err.getvalue()


def checks(report: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for finding in report["findings"]:
        found.setdefault(finding["check"], []).append(finding)
    return found


def manifest(folder: Path) -> dict:
    return json.loads((folder / "wheelhouse.json").read_text())


def save_manifest(folder: Path, document: dict) -> None:
    (folder / "wheelhouse.json").write_text(json.dumps(document, indent=2, sort_keys=True))


def entry(document: dict, name: str) -> dict:
    return next(f for f in document["files"] if f["name"] == name)


def rewrite_wheel(path: Path, change, fix_record: bool = True) -> None:
    """Rebuild a wheel with `change(members)` applied; optionally make RECORD agree again."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    change(members)
    if fix_record:
        record_name = next(n for n in members if n.endswith(".dist-info/RECORD"))
        lines = []
        for name, data in members.items():
            if name == record_name:
                continue
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            lines.append(f"{name},sha256={digest.decode()},{len(data)}")
        members[record_name] = ("\n".join(lines + [f"{record_name},,"]) + "\n").encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def relist(folder: Path, name: str) -> None:
    """What a careful attacker does: update the manifest's sha256 and size to match."""
    document = manifest(folder)
    item = entry(document, name)
    path = folder / item["filename"]
    item["sha256"], item["size"] = sha256(path), path.stat().st_size
    save_manifest(folder, document)


def test_module_fixtures_build_into_the_tests_cache_not_home(prepared, isolated_session):
    built = entry(manifest(prepared), "sdistonly")
    slot = Path("wheelhouse", "built", built["sdist"]["sha256"])  # a new sdist every run
    assert (isolated_session / slot).is_dir()
    assert not (Path.home() / ".cache" / slot).exists()


def test_a_clean_folder_passes(folder):
    code, report, _ = verify(folder)
    assert code == 0, report["findings"]
    assert report["ok"] is True and report["findings"] == []
    assert report["checked"]["files"] == 7
    assert report["checked"]["wheels"] == 7
    assert report["targets"] == ["cp311-manylinux_2_28_x86_64"]


def test_people_get_a_table_and_a_verdict(folder):
    result = subprocess.run([sys.executable, "-m", "wheelhouse", "verify", str(folder)],
                            capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.strip().splitlines()[-1].endswith("all checks hold.")
    (folder / "stray.whl").write_bytes(b"x")
    result = subprocess.run([sys.executable, "-m", "wheelhouse", "verify", str(folder)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "stray.whl" in result.stdout
    assert result.stdout.strip().splitlines()[-1].endswith("findings.")


def test_flipped_byte_in_a_member(folder):
    wheel = folder / entry(manifest(folder), "beta")["filename"]
    data = bytearray(wheel.read_bytes())
    data[60] ^= 0xFF  # inside the first member's compressed bytes
    wheel.write_bytes(bytes(data))
    code, report, _ = verify(folder)
    assert code == 1
    found = checks(report)
    assert found["sha256"][0]["file"] == wheel.name
    assert {"zip", "record"} & set(found)


def test_wheel_replaced_by_another(folder):
    wheel = folder / entry(manifest(folder), "beta")["filename"]
    other = make_wheel(folder.parent, "beta", "1.1")
    shutil.copyfile(other, wheel)
    code, report, _ = verify(folder)
    assert code == 1
    found = checks(report)
    assert found["sha256"][0]["file"] == wheel.name
    assert found["metadata"][0]["expected"] == "1.0" and found["metadata"][0]["found"] == "1.1"


def test_extra_file(folder):
    make_wheel(folder, "intruder", "1.0")
    code, report, _ = verify(folder)
    assert code == 1
    assert checks(report)["unlisted"][0]["file"] == "intruder-1.0-py3-none-any.whl"


def test_missing_file(folder):
    (folder / entry(manifest(folder), "eta")["filename"]).unlink()
    code, report, _ = verify(folder)
    assert code == 1
    found = checks(report)
    assert found["missing"][0]["project"] == "eta"
    assert found["closure"][0]["project"] == "eta"


def test_dependency_removed_from_folder_manifest_and_lock(folder):
    document = manifest(folder)
    gone = entry(document, "zeta")
    (folder / gone["filename"]).unlink()
    document["files"].remove(gone)
    save_manifest(folder, document)
    lock = folder / "requirements.lock.txt"
    lines = lock.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("zeta=="))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("    ")),
               len(lines))
    lock.write_text("\n".join(lines[:start] + lines[end:]) + "\n")
    document["rerun"]["files_sha256"][lock.name] = sha256(lock)  # the lock's hash as well
    (folder / "pylock.toml").unlink()  # and no pylock, as folders made before it had none
    del document["rerun"]["files_sha256"]["pylock.toml"]
    save_manifest(folder, document)
    code, report, _ = verify(folder)
    assert code == 1
    closure = checks(report)["closure"]
    assert closure[0]["project"] == "zeta"
    assert "epsilon 1.0 requires zeta[extra1]" in closure[0]["message"]
    assert set(checks(report)) == {"closure"}


def test_member_changed_with_record_and_manifest_updated(folder):
    name = "epsilon"
    wheel = folder / entry(manifest(folder), name)["filename"]
    rewrite_wheel(wheel, lambda m: m.__setitem__("epsilon/__init__.py", b"import os\n"))
    relist(folder, name)
    code, report, _ = verify(folder)
    assert code == 1
    found = checks(report)
    assert "record" not in found and "sha256" not in found  # the attacker was careful...
    assert found["index-digest"][0]["file"] == wheel.name  # ...but the index disagrees
    assert found["lock"][0]["project"] == name


def test_member_path_escaping_the_folder(folder):
    wheel = folder / entry(manifest(folder), "eta")["filename"]
    rewrite_wheel(wheel, lambda m: m.__setitem__("../../evil.py", b"boom"))
    relist(folder, "eta")
    code, report, _ = verify(folder)
    assert code == 1
    paths = checks(report)["member-path"]
    assert paths[0]["file"] == wheel.name and "../../evil.py" in paths[0]["message"]


def test_record_removed(folder):
    wheel = folder / entry(manifest(folder), "alpha")["filename"]
    rewrite_wheel(wheel, lambda m: m.pop("alpha-2.0.dist-info/RECORD"), fix_record=False)
    code, report, _ = verify(folder)
    assert code == 1
    assert checks(report)["record"][0]["file"] == wheel.name


def test_metadata_name_changed(folder):
    wheel = folder / entry(manifest(folder), "beta")["filename"]

    def rename(members):
        key = "beta-1.0.dist-info/METADATA"
        members[key] = members[key].replace(b"Name: beta", b"Name: betamax")

    rewrite_wheel(wheel, rename)
    relist(folder, "beta")
    code, report, _ = verify(folder)
    assert code == 1
    metadata = checks(report)["metadata"][0]
    assert metadata["file"] == wheel.name and metadata["found"] == "betamax"


def test_truncated_wheel(folder):
    wheel = folder / entry(manifest(folder), "alpha")["filename"]
    wheel.write_bytes(wheel.read_bytes()[:200])
    code, report, _ = verify(folder)
    assert code == 1
    found = checks(report)
    assert found["zip"][0]["file"] == wheel.name
    assert found["size"][0]["file"] == wheel.name


def test_constraint_pin_changed(folder):
    (folder / "constraints-3.11.txt").write_text("beta==1.1\n")
    code, report, _ = verify(folder)
    assert code == 1
    pin = checks(report)["constraints"][0]
    assert pin["project"] == "beta" and pin["expected"] == "==1.1" and pin["found"] == "1.0"


def test_wheel_swapped_for_another_platforms(folder, pypiserver):
    document = manifest(folder)
    item = entry(document, "plat")
    (folder / item["filename"]).unlink()
    windows = pypiserver.folder / "plat-1.0-cp311-cp311-win_amd64.whl"
    shutil.copyfile(windows, folder / windows.name)
    item["filename"] = windows.name
    item["sha256"] = item["index_sha256"] = sha256(windows)
    item["size"] = windows.stat().st_size
    save_manifest(folder, document)
    code, report, _ = verify(folder)
    assert code == 1
    tags = checks(report)["tags"][0]
    assert tags["file"] == windows.name and tags["expected"] == "cp311-manylinux_2_28_x86_64"
    assert any(f["project"] == "plat" for f in checks(report)["closure"])


def test_broken_manifest_entry_is_a_finding(folder):
    document = manifest(folder)
    del entry(document, "beta")["sha256"]
    save_manifest(folder, document)
    code, report, _ = verify(folder)
    assert code == 1
    assert checks(report)["manifest"][0]["file"] == entry(document, "beta")["filename"]


@pytest.mark.parametrize("content, words", [
    ('{"schema": 1, "files": [', "not valid JSON"),
    ('{"schema": 99, "files": []}', "known schema"),
    ("[]", "known schema"),
])
def test_unreadable_manifest_cannot_run(folder, content, words):
    (folder / "wheelhouse.json").write_text(content)
    result = subprocess.run([sys.executable, "-m", "wheelhouse", "verify", str(folder)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert words in result.stderr and "wheelhouse.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_such_folder(tmp_path):
    result = subprocess.run([sys.executable, "-m", "wheelhouse", "verify",
                             str(tmp_path / "nope")], capture_output=True, text=True)
    assert result.returncode == 2 and "nope is not a folder" in result.stderr


def test_folder_without_manifest_is_vetted_from_the_flags(pypiserver, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("alpha-2.0-py3-none-any.whl", "beta-1.1-py3-none-any.whl"):
        shutil.copyfile(pypiserver.folder / name, bare / name)
    code, report, _ = verify(bare, "--requirement", "alpha==2.0", "--python", "3.11")
    assert code == 0, report["findings"]
    code, report, _ = verify(bare, "--requirement", "alpha==2.0", "--python", "3.10")
    assert code == 1
    closure = checks(report)["closure"]
    assert closure[0]["project"] == "gamma"  # alpha needs it where python_version < "3.11"
    assert closure[0]["target"].startswith("cp310-")


def test_verify_opens_no_socket(folder, tmp_path):
    env = offline_env(tmp_path / "guard")
    result = subprocess.run([sys.executable, "-m", "wheelhouse", "verify", str(folder)],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "all checks hold" in result.stdout


def test_findings_stay_readable_in_80_columns(pypiserver, run_cli, tmp_path):
    """A narrow terminal gets each finding as `check: message` wrapped under itself; a wide
    one the table."""
    import os

    dest = tmp_path / "wh"
    made = run_cli("prepare", "alpha==1.0", "--python", "3.11", "-i", pypiserver.url,
                   "--dest", str(dest))
    assert made.returncode == 0, made.stderr
    (dest / "beta-1.1-py3-none-any.whl").unlink()
    (dest / "stray.txt").write_text("x")
    narrow = run_cli("verify", str(dest), env={**os.environ, "COLUMNS": "80"})
    assert narrow.returncode == 1
    lines = narrow.stdout.split("manifest sha256:")[0].splitlines()  # then one long digest
    assert len(lines) >= 4 and all(len(line) <= 80 for line in lines), lines
    assert "missing: beta-1.1-py3-none-any.whl is listed in the manifest" in narrow.stdout
    assert "unlisted: stray.txt is in the folder" in narrow.stdout
    wide = run_cli("verify", str(dest), env={**os.environ, "COLUMNS": "160"})
    assert wide.stdout.splitlines()[0].split() == ["check", "file", "or", "project", "finding"]

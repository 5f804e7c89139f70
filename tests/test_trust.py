"""What verify vouches for, and what it cannot: the consistent forgery, the approved manifest's
sha256, the index asked again, empty and unfinished folders, and prepare's bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from builders import sha256
from test_verify import checks, entry, manifest, rewrite_wheel, save_manifest, verify


@pytest.fixture(scope="module")
def prepared(pypiserver, tmp_path_factory) -> tuple[Path, str]:
    """A folder from prepare, with a built wheel, and the manifest sha256 prepare printed."""
    root = tmp_path_factory.mktemp("trusted")
    dest = root / "wh"
    result = subprocess.run(
        [sys.executable, "-m", "wheelhouse", "prepare", "alpha[fast]==2.0", "sdistonly",
         "--python", "3.11", "--platform", "manylinux_2_28_x86_64", "--index-url",
         pypiserver.url, "--dest", str(dest), "--json"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)["manifest_sha256"]
    return dest, printed


@pytest.fixture
def folder(prepared, tmp_path) -> Path:
    copy = tmp_path / "wh"
    shutil.copytree(prepared[0], copy)
    return copy


def listing(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*"))
            if p.is_file()}


def forge(folder: Path, name: str) -> str:
    """The consistent forgery: a member rewritten with a valid RECORD, then the manifest's
    sha256, size and index digest and both locks' hashes (and the locks' own sha256) made to
    match. Returns the forged wheel's name."""
    document = manifest(folder)
    item = entry(document, name)
    wheel = folder / item["filename"]
    old = item["sha256"]
    rewrite_wheel(wheel, lambda m: m.__setitem__(f"{name}/__init__.py", b"import os\n"))
    new = sha256(wheel)
    item["sha256"], item["size"], item["index_sha256"] = new, wheel.stat().st_size, new
    for name_of_lock in (document["lock"], "pylock.toml"):
        lock = folder / name_of_lock
        lock.write_text(lock.read_text().replace(old, new))
        document["rerun"]["files_sha256"][name_of_lock] = sha256(lock)
    save_manifest(folder, document)
    return wheel.name


def test_prepare_prints_the_manifest_sha256(prepared):
    dest, printed = prepared
    assert printed == hashlib.sha256((dest / "wheelhouse.json").read_bytes()).hexdigest()


def test_prepare_tells_people_the_sha256_and_how_to_check_it(pypiserver, tmp_path, run_cli):
    result = run_cli("prepare", "beta==1.0", "--index-url", pypiserver.url, "--dest", "wh")
    assert result.returncode == 0, result.stderr
    digest = sha256(tmp_path / "wh" / "wheelhouse.json")
    assert f"manifest sha256: {digest}" in result.stdout
    assert f"--manifest-sha256 {digest}" in result.stdout
    again = run_cli("prepare", "beta==1.0", "--index-url", pypiserver.url, "--dest", "wh")
    assert "Up to date" in again.stdout and f"manifest sha256: {digest}" in again.stdout


def test_the_consistent_forgery_passes_verify_alone(folder):
    forged = forge(folder, "epsilon")
    code, report, _ = verify(folder)
    # What verify alone proves is that the folder agrees with itself, and it does.
    assert code == 0, report["findings"]
    assert report["manifest_sha256"] == sha256(folder / "wheelhouse.json")
    assert forged in {f for f in listing(folder)}


def test_the_consistent_forgery_fails_against_the_approved_sha256(folder, prepared):
    forge(folder, "epsilon")
    code, report, _ = verify(folder, "--manifest-sha256", prepared[1].upper())
    assert code == 1
    (finding,) = checks(report)["manifest-sha256"]
    assert finding["expected"] == prepared[1]
    assert finding["found"] == sha256(folder / "wheelhouse.json")


def test_the_approved_sha256_passes_an_untouched_folder(folder, prepared):
    code, report, _ = verify(folder, "--manifest-sha256", prepared[1])
    assert code == 0, report["findings"]


def test_the_consistent_forgery_fails_against_the_index(folder, pypiserver):
    forged = forge(folder, "epsilon")
    code, report, _ = verify(folder, "--against-index")
    assert code == 1
    (finding,) = checks(report)["against-index"]
    assert finding["file"] == forged
    assert finding["found"] == sha256(folder / forged)
    assert finding["expected"] == sha256(pypiserver.folder / forged)
    assert report["against_index"] == [pypiserver.url]


def test_an_untouched_folder_agrees_with_the_index_built_wheels_through_their_sdist(folder):
    before = listing(folder)
    code, report, _ = verify(folder, "--against-index")
    assert code == 0, report["findings"]
    assert [name for name in report["built"]] == [entry(manifest(folder), "sdistonly")[
        "filename"]]
    assert listing(folder) == before  # verify never changes the folder


def test_a_changed_sdist_of_a_built_wheel_is_caught_against_the_index(folder):
    document = manifest(folder)
    sdist = entry(document, "sdistonly")["sdist"]
    # The attacker rewrites the manifest's record of the sdist (it is no longer in the
    # folder to hash): the index still publishes the real one.
    sdist["sha256"] = sdist["index_sha256"] = "0" * 64
    save_manifest(folder, document)
    code, report, _ = verify(folder, "--against-index")
    assert code == 1
    (finding,) = checks(report)["against-index"]
    assert finding["file"] == sdist["filename"] and "built from" in finding["message"]


def test_against_an_index_that_does_not_list_the_files(folder, web):
    web.file("/simple/alpha/", b"<html><body></body></html>", {"Content-Type": "text/html"})
    code, report, _ = verify(folder, "--against-index", "--index-url", f"{web.url}/simple")
    assert code == 1
    found = checks(report)["against-index"]
    assert {f["project"] for f in found} >= {"alpha", "beta", "epsilon"}
    assert all(f["found"] == "absent" for f in found)
    assert report["against_index"] == [f"{web.url}/simple"]


def test_against_an_unreachable_index_is_exit_3(folder, tmp_path):
    from conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/simple"
    code = subprocess.run([sys.executable, "-m", "wheelhouse", "verify", str(folder),
                           "--against-index", "--index-url", url, "--timeout", "5"],
                          capture_output=True, text=True)
    assert code.returncode == 3, code.stderr
    assert "Traceback" not in code.stderr and code.stderr.count("\n") == 1


def test_files_written_beside_the_wheels_are_hashed_too(folder):
    lock = folder / "requirements.lock.txt"
    lock.write_text(lock.read_text() + "# a harmless-looking comment\n")
    code, report, _ = verify(folder)
    assert code == 1
    (finding,) = checks(report)["sha256"]
    assert finding["file"] == "requirements.lock.txt"


def test_a_constraints_file_changed_in_the_folder_is_caught(pypiserver, tmp_path, run_cli):
    constraints = tmp_path / "c.txt"
    constraints.write_text("beta==1.0\n")
    result = run_cli("prepare", "beta", "--constraints", str(constraints), "--index-url",
                     pypiserver.url, "--dest", "wh")
    assert result.returncode == 0, result.stderr
    copy = next((tmp_path / "wh").glob("constraints-*.txt"))
    copy.write_text("beta==1.0\n# edited\n")
    code, report, _ = verify(tmp_path / "wh")
    assert code == 1
    assert [f["file"] for f in checks(report)["sha256"]] == [copy.name]


def test_an_empty_folder_is_not_vouched_for(tmp_path):
    code, report, _ = verify(tmp_path)
    assert code == 1
    (finding,) = checks(report)["empty"]
    assert "no wheel" in finding["message"]


def test_a_manifest_that_lists_no_file(folder):
    document = manifest(folder)
    for item in document["files"]:
        (folder / item["filename"]).unlink()
    document["files"] = []
    save_manifest(folder, document)
    code, report, _ = verify(folder)
    assert code == 1
    messages = [f["message"] for f in checks(report)["empty"]]
    assert any("lists no file" in m for m in messages)
    assert any("no wheel" in m for m in messages)


def test_an_unfinished_prepare_is_named_as_such_and_nothing_else(folder):
    (folder / "wheelhouse.json").unlink()
    names = [p.name for p in folder.iterdir()]
    (folder / ".wheelhouse-fetched").write_text("".join(f"{n}\n" for n in names))
    code, report, _ = verify(folder)
    assert code == 1
    assert [f["check"] for f in report["findings"]] == ["unfinished"]
    assert "did not finish" in report["findings"][0]["message"]


def test_an_unfinished_later_prepare_beside_a_manifest(folder):
    (folder / ".wheelhouse-fetched").write_text("alpha-2.0-py3-none-any.whl\n")
    code, report, _ = verify(folder)
    assert code == 1
    assert set(checks(report)) == {"unfinished"}  # not also `unlisted` for the ledger


@pytest.mark.parametrize("argument", ["alpha[fast]==", "alpha ((", "alpha; python_version >"])
def test_a_bad_spec_never_touches_dest(folder, tmp_path, run_cli, pypiserver, argument):
    before = listing(folder)
    fresh = tmp_path / "fresh"
    for dest in (folder, fresh):
        result = run_cli("prepare", argument, "--index-url", pypiserver.url, "--dest", str(dest))
        assert result.returncode == 2, result.stderr
        assert "not a valid requirement" in result.stderr or "marker" in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
    assert not fresh.exists()
    assert listing(folder) == before
    assert verify(folder)[0] == 0


def test_bad_flags_never_touch_dest(tmp_path, run_cli, pypiserver):
    result = run_cli("prepare", "beta", "--pip-version", "latest", "--index-url",
                     pypiserver.url, "--dest", "fresh")
    assert result.returncode == 2 and "--pip-version 'latest' is not a version" in result.stderr
    assert not (tmp_path / "fresh").exists()


def test_a_failed_prepare_on_a_package_the_index_lacks_leaves_the_folder_intact(
        folder, run_cli, pypiserver):
    before = listing(folder)
    # gamma and delta are new to this folder and downloaded before the typo is found.
    result = run_cli("prepare", "alpha[fast]==2.0", "gamma", "delta", "no-such-projekt",
                     "--python", "3.11", "--platform", "manylinux_2_28_x86_64",
                     "--index-url", pypiserver.url, "--dest", str(folder))
    assert result.returncode == 2, result.stderr
    assert "no-such-projekt" in result.stderr
    assert listing(folder) == before
    code, report, _ = verify(folder)
    assert code == 0, report["findings"]


def test_verify_rejects_a_malformed_sha256(folder):
    result = subprocess.run([sys.executable, "-m", "wheelhouse", "verify", str(folder),
                             "--manifest-sha256", "abc"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "not a sha256" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def signers(tmp_path_factory) -> tuple[dict[str, Path], Path]:
    """alice (ed25519) and bob (rsa) in an allowed_signers file; their keys."""
    folder = tmp_path_factory.mktemp("signers")
    keys, lines = {}, []
    for name, kind in (("alice", ["-t", "ed25519"]), ("bob", ["-t", "rsa", "-b", "3072"])):
        key = folder / name
        subprocess.run(["ssh-keygen", "-q", *kind, "-N", "", "-C", name, "-f", str(key)],
                       check=True, capture_output=True, timeout=60)
        keys[name] = key
        public = " ".join(Path(f"{key}.pub").read_text().split()[:2])
        lines.append(f'{name}@example.org namespaces="wheelhouse" {public}\n')
    allowed = folder / "allowed_signers"
    allowed.write_text("".join(lines))
    return keys, allowed


def sign(folder: Path, key: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "wheelhouse", "sign", str(folder), "--key",
                             str(key)], capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    assert result.returncode == 0, result.stderr


def test_the_consistent_forgery_fails_the_signatures_of_the_approved_manifest(folder, signers):
    keys, allowed = signers
    sign(folder, keys["alice"])
    assert verify(folder, "--allowed-signers", str(allowed))[0] == 0
    forge(folder, "epsilon")
    code, report, _ = verify(folder, "--allowed-signers", str(allowed))
    assert code == 1
    found = checks(report)["signature"]
    assert "not made over these manifest bytes" in found[0]["message"]
    assert "signed by 0 of the allowed signers" in found[1]["message"]
    assert set(checks(report)) == {"signature"}  # the folder still agrees with itself


def test_two_person_review(folder, signers):
    keys, allowed = signers
    sign(folder, keys["alice"])
    code, report, _ = verify(folder, "--allowed-signers", str(allowed), "--min-signatures", "2")
    assert code == 1
    (finding,) = checks(report)["signature"]
    assert "signed by 1 of the allowed signers (alice@example.org); 2 are required" in \
        finding["message"]
    assert "Not signed by: bob@example.org" in finding["message"]
    sign(folder, keys["alice"])  # the same signer twice is still one signer
    assert verify(folder, "--allowed-signers", str(allowed), "--min-signatures", "2")[0] == 1
    sign(folder, keys["bob"])
    code, report, _ = verify(folder, "--allowed-signers", str(allowed), "--min-signatures", "2")
    assert code == 0, report["findings"]
    assert [s["principals"] for s in report["signatures"]] == [["alice@example.org"],
                                                                ["bob@example.org"]]
    assert all(s["valid"] for s in report["signatures"])


def test_an_unsigned_folder_with_allowed_signers(folder, signers):
    code, report, _ = verify(folder, "--allowed-signers", str(signers[1]))
    assert code == 1
    messages = [f["message"] for f in checks(report)["signature"]]
    assert any("is not signed" in m for m in messages)


def test_verify_reads_signatures_without_changing_the_folder(folder, signers):
    sign(folder, signers[0]["bob"])
    before = listing(folder)
    code, report, _ = verify(folder)
    assert code == 0 and report["signature_blocks"] == 1
    verify(folder, "--allowed-signers", str(signers[1]), "--min-signatures", "2")
    assert listing(folder) == before


def test_a_new_prepare_removes_the_old_manifests_signatures(prepared, signers, tmp_path,
                                                            run_cli, pypiserver):
    dest = tmp_path / "wh"
    shutil.copytree(prepared[0], dest)
    sign(dest, signers[0]["alice"])
    result = run_cli("prepare", "alpha[fast]==2.0", "sdistonly", "gamma", "--python", "3.11",
                     "--platform", "manylinux_2_28_x86_64", "--index-url", pypiserver.url,
                     "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    assert "must be signed again" in result.stderr
    assert not (dest / "wheelhouse.json.sig").exists()
    assert verify(dest)[0] == 0


@pytest.mark.parametrize("content, words", [
    ("alice ssh-ed25519\n", "line 1"),
    ("", "lists no signer"),
])
def test_a_bad_allowed_signers_file_is_exit_2(folder, tmp_path, content, words):
    path = tmp_path / "allowed"
    path.write_text(content)
    result = subprocess.run([sys.executable, "-m", "wheelhouse", "verify", str(folder),
                             "--allowed-signers", str(path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert words in result.stderr and "Traceback" not in result.stderr


def test_a_built_wheel_that_fits_no_target_leaves_an_approved_folder_intact(
        folder, run_cli, pypiserver):
    before = listing(folder)
    # `native` builds a wheel for this machine; the target is Windows: it cannot ship.
    result = run_cli("prepare", "alpha[fast]==2.0", "sdistonly", "native", "--python", "3.11",
                     "--platform", "win_amd64", "--index-url", pypiserver.url, "--dest",
                     str(folder))
    assert result.returncode == 2, result.stderr
    assert "native" in result.stderr
    assert listing(folder) == before
    assert verify(folder)[0] == 0

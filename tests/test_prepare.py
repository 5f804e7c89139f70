"""`wheelhouse prepare` end to end against a real pypiserver on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from builders import make_wheel, sha256
from conftest import offline_env, pip_install_offline, venv_python

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PY = f"{sys.version_info[0]}.{sys.version_info[1]}"


def manifest(dest: Path) -> dict:
    return json.loads((dest / "wheelhouse.json").read_text())


def files_by_name(dest: Path) -> dict[str, dict]:
    return {f["name"]: f for f in manifest(dest)["files"]}


def test_extras_transitive_extras_and_constraints(pypiserver, web, run_cli, tmp_path):
    constraints = b"# pins\nbeta==1.0\neta==1.0  # inline comment\nunused==9.9\n"
    url = web.file("/c.txt", constraints, {"ETag": '"abc"', "Last-Modified": "Tue, 05 Nov 2024"})
    dest = tmp_path / "wh"
    result = run_cli("prepare", "alpha[fast]==2.0", "--constraints", url, "--python", "3.11",
                     "--platform", "manylinux_2_28_x86_64", "--index-url", pypiserver.url,
                     "--dest", str(dest), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] is True and summary["files"] == 5
    found = files_by_name(dest)
    assert {n: f["version"] for n, f in found.items()} == {
        "alpha": "2.0", "beta": "1.0", "epsilon": "1.0", "zeta": "1.0", "eta": "1.0"
    }
    # gamma (python_version < 3.11) and delta (win32) are not for this target
    assert found["epsilon"]["required_by"] == ["alpha[fast]"]
    assert found["eta"]["required_by"] == ["zeta[extra1]"]
    assert found["alpha"]["required_by"] == ["alpha[fast]==2.0"]
    assert found["alpha"]["extras"] == ["fast"]
    for entry in found.values():
        path = dest / entry["filename"]
        assert entry["sha256"] == sha256(path) == entry["index_sha256"]
        assert entry["size"] == path.stat().st_size
        assert entry["kind"] == "wheel"
        assert entry["url"].startswith(pypiserver.url.rsplit("/", 1)[0])
    document = manifest(dest)
    assert document["schema"] == 1
    assert document["tool"]["name"] == "wheelhouse"
    assert document["requirements"] == ["alpha[fast]==2.0"]
    assert document["constraints"]["source"] == url
    assert document["constraints"]["sha256"] == hashlib.sha256(constraints).hexdigest()
    assert document["constraints"]["etag"] == '"abc"'
    assert document["constraints"]["last_modified"] == "Tue, 05 Nov 2024"
    assert document["targets"][0]["python"] == "3.11"
    assert document["targets"][0]["platforms"][0] == "manylinux_2_28_x86_64"
    assert document["index_urls"] == [pypiserver.url]
    # the constraints exactly as downloaded, under the name the Airflow image looks for
    assert (dest / "constraints-3.11.txt").read_bytes() == constraints
    lock = (dest / "requirements.lock.txt").read_text()
    for entry in found.values():
        pin = f"{entry['name']}=={entry['version']}"
        assert f"{pin} \\\n    --hash=sha256:{entry['sha256']}" in lock


def test_markers_are_the_targets_not_the_hosts(pypiserver, run_cli, tmp_path):
    old = tmp_path / "py310"
    assert run_cli("prepare", "alpha==2.0", "--python", "3.10", "--index-url", pypiserver.url,
                   "--dest", str(old)).returncode == 0
    assert "gamma" in files_by_name(old)  # python_version < "3.11", though the host may be 3.11
    windows = tmp_path / "win"
    result = run_cli("prepare", "alpha==2.0", "--python", "3.12", "--platform", "win_amd64",
                     "--index-url", pypiserver.url, "--dest", str(windows))
    assert result.returncode == 0, result.stderr
    names = files_by_name(windows)
    assert "delta" in names and "gamma" not in names


def test_requires_python_from_metadata_backtracks(pypiserver, run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "modern", "--python", "3.11", "--index-url", pypiserver.url,
                     "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    assert files_by_name(dest)["modern"]["version"] == "1.0"
    assert sorted(p.name for p in dest.glob("*.whl")) == ["modern-1.0-py3-none-any.whl"]
    newer = tmp_path / "wh312"
    assert run_cli("prepare", "modern", "--python", "3.12", "--index-url", pypiserver.url,
                   "--dest", str(newer)).returncode == 0
    assert files_by_name(newer)["modern"]["version"] == "2.0"


def test_platform_wheel_accepts_older_manylinux_tags(pypiserver, run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "plat==1.0", "--python", "3.12", "--platform",
                     "manylinux_2_28_x86_64", "--index-url", pypiserver.url, "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    entry = files_by_name(dest)["plat"]
    assert entry["filename"] == (
        "plat-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    assert "cp312-cp312-manylinux2014_x86_64" in entry["tags"]
    arm = tmp_path / "arm"
    assert run_cli("prepare", "plat==1.0", "--python", "3.11", "--platform", "linux/arm64",
                   "--index-url", pypiserver.url, "--dest", str(arm)).returncode == 0
    assert files_by_name(arm)["plat"]["filename"].endswith("manylinux_2_31_aarch64.whl")


def test_every_unservable_package_is_named_in_one_error(pypiserver, run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "plat==1.0", "winonly", "maconly", "alpha", "--python", "3.13",
                     "--platform", "manylinux_2_28_x86_64", "--index-url", pypiserver.url,
                     "--dest", str(dest))
    assert result.returncode == 2
    message = result.stderr
    assert "3 package(s) cannot be served for cp313-manylinux_2_28_x86_64" in message
    for name in ("plat==1.0", "winonly==1.0", "maconly==1.0"):
        assert name in message
    assert "Traceback" not in message
    assert not (dest / "wheelhouse.json").exists()
    # what was fetched stays for the next run, but only whole and verified, never partial
    assert not [p for p in dest.iterdir() if ".part-" in p.name]
    for wheel in dest.glob("*.whl"):
        assert sha256(wheel) == sha256(pypiserver.folder / wheel.name)


def test_sdist_only_package_is_built_and_recorded(pypiserver, run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "sdistonly==1.0", "needsbackend", "--python", "3.12",
                     "--index-url", pypiserver.url, "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    found = files_by_name(dest)
    built = found["sdistonly"]
    assert built["kind"] == "built-wheel"
    assert built["filename"] == "sdistonly-1.0-py3-none-any.whl"
    assert built["sha256"] == sha256(dest / built["filename"])
    sdist = pypiserver.folder / "sdistonly-1.0.tar.gz"
    assert built["index_sha256"] == built["sdist"]["sha256"] == sha256(sdist)
    assert built["sdist"]["filename"] == "sdistonly-1.0.tar.gz"
    assert "beta" in found  # the built wheel's own dependencies were followed
    # its build requirement came from the same index (pypiserver has no PyPI fallback)
    assert found["needsbackend"]["kind"] == "built-wheel"
    assert not list(dest.glob("*.tar.gz")), "sdists are build inputs, not shipped by default"


def test_no_build_refuses_sdists(pypiserver, run_cli, tmp_path):
    result = run_cli("prepare", "sdistonly==1.0", "--no-build", "--index-url", pypiserver.url,
                     "--dest", str(tmp_path / "wh"))
    assert result.returncode == 2
    assert "sdistonly==1.0" in result.stderr and "--no-build" in result.stderr


def test_yanked_files_are_skipped_unless_pinned(pypiserver, web, run_cli, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    old = make_wheel(folder, "oldie", "1.0")
    new = make_wheel(folder, "oldie", "2.0")
    extra_index = web.simple_page("oldie", [(old, {}), (new, {"data-yanked": "broken"})])
    loose = tmp_path / "loose"
    result = run_cli("prepare", "oldie", "--index-url", pypiserver.url, "--extra-index-url",
                     extra_index, "--dest", str(loose))
    assert result.returncode == 0, result.stderr
    assert files_by_name(loose)["oldie"]["version"] == "1.0"
    pinned = tmp_path / "pinned"
    result = run_cli("prepare", "oldie==2.0", "--index-url", pypiserver.url, "--extra-index-url",
                     extra_index, "--dest", str(pinned))
    assert result.returncode == 0, result.stderr
    entry = files_by_name(pinned)["oldie"]
    assert entry["version"] == "2.0" and entry["yanked"] is True
    # never silent: the index's reason, as pip gives it, in the output and the manifest
    warning = "oldie 2.0 is yanked on the index: broken"
    assert warning in result.stderr
    assert any(warning in w for w in manifest(pinned)["rerun"]["warnings"])
    assert "yanked" not in run_cli("prepare", "oldie", "--index-url", pypiserver.url,
                                   "--extra-index-url", extra_index, "--dest",
                                   str(loose)).stderr


def test_pre_takes_a_pre_release_where_a_final_release_satisfies(pypiserver, run_cli,
                                                                  tmp_path):
    for flags, version in (((), "1.1"), (("--pre",), "2.0rc1")):
        dest = tmp_path / f"wh{len(flags)}"
        result = run_cli("prepare", "beta", *flags, "--index-url", pypiserver.url, "--dest",
                         str(dest))
        assert result.returncode == 0, result.stderr
        assert files_by_name(dest)["beta"]["version"] == version
        assert run_cli("verify", str(dest)).returncode == 0


def test_the_lock_says_where_each_root_came_from_as_pip_tools_does(pypiserver, run_cli,
                                                                    tmp_path):
    (tmp_path / "reqs.in").write_text("epsilon\n")
    result = run_cli("prepare", "alpha==1.0", "-r", "reqs.in", "--index-url", pypiserver.url,
                     "--dest", "wh")
    assert result.returncode == 0, result.stderr
    lock = (tmp_path / "wh" / "requirements.lock.txt").read_text()
    def via(name: str) -> list[str]:
        block = lock.split(f"\n{name}==", 1)[1].split("\n")[1:]
        return [line.strip() for line in block[:next(
            (i for i, line in enumerate(block) if not line.startswith("    ")), len(block))]
            if "#" in line]
    assert via("alpha") == ["# via alpha==1.0 (command line)"]
    assert via("epsilon") == ["# via -r reqs.in"]
    assert via("beta") == ["# via alpha"]  # a dependency names its parent
    assert via("zeta") == ["# via epsilon"]
    assert run_cli("verify", "wh").returncode == 0


def test_a_file_whose_name_packaging_cannot_read_is_skipped(pypiserver, web, run_cli,
                                                            tmp_path):
    # PyPI lists pydantic-0.18.2-py36+-none-any.whl; an index is untrusted input.
    folder = tmp_path / "files"
    folder.mkdir()
    good = make_wheel(folder, "oddity", "1.0")
    odd = folder / "oddity-0.9-py36+-none-any.whl"
    odd.write_bytes(good.read_bytes())
    index = web.simple_page("oddity", [(odd, {}), (good, {})])
    result = run_cli("prepare", "oddity", "--index-url", index, "--dest", "wh", "--debug")
    assert result.returncode == 0, result.stderr
    assert "skipping oddity-0.9-py36+-none-any.whl" in result.stderr
    assert files_by_name(tmp_path / "wh")["oddity"]["version"] == "1.0"
    result = run_cli("prepare", "oddity<1", "--index-url", index, "--dest", "wh2")
    assert result.returncode == 2, result.stderr  # no usable file: bad input, not a crash
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_rerun_reuses_verified_files_and_is_stable(pypiserver, web, run_cli, tmp_path):
    url = web.file("/c.txt", b"beta==1.1\n")
    dest = tmp_path / "wh"
    args = ("prepare", "alpha[fast]==2.0", "--constraints", url, "--python", "3.11",
            "--index-url", pypiserver.url, "--dest", str(dest), "--json")
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    stamps = {p.name: p.stat().st_mtime_ns for p in dest.glob("*.whl")}
    before = manifest(dest)
    second = run_cli(*args, "--refresh")  # resolve again, as if inputs had changed
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["up_to_date"] is False
    assert summary["counts"]["downloaded"] == 0
    assert summary["counts"]["reused"] == summary["files"] == 5
    assert {p.name: p.stat().st_mtime_ns for p in dest.glob("*.whl")} == stamps
    after = manifest(dest)
    before.pop("created")
    after.pop("created")
    assert before == after
    # a file that no longer matches the index is replaced, not trusted
    beta = dest / "beta-1.1-py3-none-any.whl"
    beta.write_bytes(b"tampered")
    third = run_cli(*args)
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["counts"]["downloaded"] == 1
    assert sha256(beta) == sha256(pypiserver.folder / beta.name)


def test_unchanged_rerun_is_up_to_date_without_the_network(pypiserver, run_cli, tmp_path):
    constraints = tmp_path / "c.txt"
    constraints.write_text("beta==1.1\n")
    dest = tmp_path / "wh"
    args = ("prepare", "alpha[fast]==2.0", "--constraints", str(constraints), "--python",
            "3.11", "--index-url", pypiserver.url, "--dest", str(dest), "--json")
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["up_to_date"] is False
    written = {p.name: p.read_bytes() for p in dest.iterdir() if p.is_file()}

    again = run_cli(*args, env=offline_env(tmp_path / "guard"))
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["up_to_date"] is True
    assert summary["counts"]["reused"] == summary["files"] == 5
    assert {p.name: p.read_bytes() for p in dest.iterdir() if p.is_file()} == written

    # Any change to the inputs, or to a file the run wrote, means a real run.
    (dest / "requirements.lock.txt").write_text("edited\n")
    repaired = run_cli(*args)
    assert json.loads(repaired.stdout)["up_to_date"] is False
    assert (dest / "requirements.lock.txt").read_bytes() == written["requirements.lock.txt"]
    constraints.write_text("beta==1.0\n")
    changed = run_cli(*args)
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["up_to_date"] is False
    assert files_by_name(dest)["beta"]["version"] == "1.0"
    offline = run_cli("prepare", "alpha[fast]==2.0", "--constraints", str(constraints),
                      "--python", "3.11", "--index-url", pypiserver.url, "--dest", str(dest),
                      "--refresh", env=offline_env(tmp_path / "guard"))
    assert offline.returncode != 0  # --refresh asks the index, which the guard forbids
    assert "tried to use the network" in offline.stderr


def test_prepared_folder_installs_offline_with_hashes(pypiserver, web, run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "alpha[fast]==2.0", "sdistonly", "--python", PY,
                     "--index-url", pypiserver.url, "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    python = venv_python(tmp_path / "venv")
    install = pip_install_offline(python, dest)
    assert install.returncode == 0, install.stderr
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True)
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"alpha", "beta", "epsilon", "zeta", "eta", "sdistonly"} <= installed


@pytest.mark.parametrize("spec", ["alpha[fast", "alpha===", "--oops"])
def test_bad_spec_is_one_sentence_and_exit_2(pypiserver, run_cli, tmp_path, spec):
    result = run_cli("prepare", "--index-url", pypiserver.url, "--dest", str(tmp_path / "wh"),
                     "--", spec)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert spec in result.stderr


def test_requirement_files_and_find_links(pypiserver, run_cli, tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    wheel = make_wheel(local, "localonly", "3.0", requires=("beta==1.0",))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# ours\nlocalonly  # from the folder\n\nalpha==1.0\n")
    dest = tmp_path / "wh"
    result = run_cli("prepare", "-r", str(requirements), "--find-links", str(local),
                     "--index-url", pypiserver.url, "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    found = files_by_name(dest)
    assert found["localonly"]["sha256"] == sha256(wheel)
    assert found["localonly"]["url"] == wheel.resolve().as_uri()
    assert found["beta"]["version"] == "1.0"
    assert manifest(dest)["requirements"] == ["localonly", "alpha==1.0"]


def test_netrc_credentials_reach_a_protected_constraints_url(pypiserver, web, run_cli,
                                                             tmp_path):
    import base64

    def protected(handler):
        expected = "Basic " + base64.b64encode(b"carol:s3cret").decode()
        ok = handler.headers.get("Authorization") == expected
        body = b"beta==1.0\n" if ok else b""
        handler.send_response(200 if ok else 401)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    web.routes["/private/c.txt"] = protected
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login carol password s3cret\n")
    netrc.chmod(0o600)
    dest = tmp_path / "wh"
    args = ("prepare", "alpha==2.0", "--python", "3.11", "--constraints",
            f"{web.url}/private/c.txt", "--index-url", pypiserver.url, "--dest", str(dest))
    denied = run_cli(*args)
    assert denied.returncode == 3 and "401" in denied.stderr
    allowed = run_cli(*args, env={**os.environ, "NETRC": str(netrc)})
    assert allowed.returncode == 0, allowed.stderr
    assert files_by_name(dest)["beta"]["version"] == "1.0"


def test_rerun_with_other_inputs_removes_what_it_no_longer_needs(pypiserver, run_cli, tmp_path):
    dest = tmp_path / "wh"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    assert run_cli("prepare", "alpha[fast]==2.0", "--python", "3.11", "--index-url",
                   pypiserver.url, "--dest", str(dest)).returncode == 0
    result = run_cli("prepare", "alpha==1.0", "--python", "3.11", "--index-url",
                     pypiserver.url, "--dest", str(dest), "--json")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in dest.glob("*.whl")) == [
        "alpha-1.0-py3-none-any.whl", "beta-1.1-py3-none-any.whl"]
    assert (dest / "notes.txt").read_text() == "mine"  # not ours: kept, and reported
    assert any("notes.txt" in w for w in json.loads(result.stdout)["warnings"])


def test_a_platform_wheel_built_here_does_not_serve_another_target(pypiserver, run_cli,
                                                                   tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "native==1.0", "sdistonly", "--python", "3.9", "--platform",
                     "manylinux_2_28_x86_64", "--index-url", pypiserver.url, "--dest", str(dest))
    assert result.returncode == 2
    assert "native-1.0.tar.gz built native-1.0-cp" in result.stderr
    assert "cp39-manylinux_2_28_x86_64" in result.stderr
    assert not (dest / "wheelhouse.json").exists()
    assert not list(dest.glob("native-*.whl"))  # the misfit never reached the folder


def test_several_targets_share_one_folder(pypiserver, run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "alpha==2.0", "plat==1.0", "--python", "3.11", "--python",
                     "3.12", "--platform", "linux/amd64", "--platform", "linux/arm64",
                     "--index-url", pypiserver.url, "--dest", str(dest), "--json")
    assert result.returncode == 2  # plat has no cp312 wheel for arm64
    assert "plat==1.0" in result.stderr and "cp312-manylinux_2_36_aarch64" in result.stderr
    result = run_cli("prepare", "alpha==2.0", "plat==1.0", "--python", "3.10", "--python",
                     "3.11", "--platform", "linux/amd64", "--platform", "win_amd64",
                     "--index-url", pypiserver.url, "--dest", str(dest), "--json")
    assert result.returncode == 2  # plat: no cp310 wheels at all
    result = run_cli("prepare", "alpha==2.0", "--python", "3.10", "--python", "3.11",
                     "--platform", "linux/amd64", "--platform", "win_amd64",
                     "--index-url", pypiserver.url, "--dest", str(dest), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    names = ["cp310-manylinux_2_36_x86_64", "cp310-win_amd64", "cp311-manylinux_2_36_x86_64",
             "cp311-win_amd64"]
    assert summary["targets"] == names
    found = files_by_name(dest)
    assert found["gamma"]["targets"] == names[:2]  # python_version < "3.11"
    assert found["delta"]["targets"] == [names[1], names[3]]  # sys_platform == "win32"
    assert found["alpha"]["targets"] == names
    assert summary["files_per_target"] == dict(zip(names, [3, 4, 2, 3]))
    document = manifest(dest)
    assert document["lock"] is None
    for name in names:
        lock = (dest / document["locks"][name]).read_text()
        assert ("gamma==" in lock) == name.startswith("cp310")
        assert ("delta==" in lock) == name.endswith("win_amd64")
    verified = run_cli("verify", str(dest), "--json")
    assert verified.returncode == 0, verified.stdout
    assert json.loads(verified.stdout)["targets"] == names
    # one pylock.toml for every target: each target's environment selects its own lock's pins
    from packaging.pylock import Pylock

    pylock = Pylock.from_dict(tomllib.loads((dest / "pylock.toml").read_text()))
    pylock.validate()
    assert len(pylock.environments or ()) == 4
    for name, target in zip(names, document["targets"]):
        chosen = {f"{p.name}=={p.version}" for p, _ in pylock.select(
            environment=target["markers"])}
        lock = (dest / document["locks"][name]).read_text()
        assert chosen == set(re.findall(r"^([a-z0-9-]+==[^ ]+) \\$", lock, re.M)), name
    # one target's lock no longer agrees: verify says which target
    lock = dest / document["locks"][names[0]]
    lock.write_text(lock.read_text().replace("gamma==1.0", "gamma==0.9"))
    verified = run_cli("verify", str(dest), "--json")
    findings = json.loads(verified.stdout)["findings"]
    assert verified.returncode == 1
    assert [(f["check"], f["file"], f["project"], f.get("target")) for f in findings] == [
        ("sha256", lock.name, None, None), ("lock", lock.name, "gamma", names[0])]


def test_keep_sdists_ships_what_cannot_be_built_here_for_the_target(pypiserver, run_cli,
                                                                    tmp_path):
    dest = tmp_path / "wh"
    host = f"{sys.version_info[0]}.{sys.version_info[1]}"
    result = run_cli("prepare", "native==1.0", "needsbackend", "--python", host, "--python",
                     "3.9", "--platform", "linux/amd64", "--keep-sdists", "--index-url",
                     pypiserver.url, "--dest", str(dest), "--json")
    assert result.returncode == 0, result.stderr
    files = {f["filename"]: f for f in manifest(dest)["files"]}
    here = f"cp{host.replace('.', '')}-manylinux_2_36_x86_64"
    built = next(f for f in files.values() if f["name"] == "native" and f["kind"] == "built-wheel")
    assert built["targets"] == [here]
    sdist = files["native-1.0.tar.gz"]
    assert sdist["kind"] == "sdist" and sdist["role"] == "install"
    assert sdist["targets"] == ["cp39-manylinux_2_36_x86_64"]
    assert sdist["sha256"] == sha256(pypiserver.folder / "native-1.0.tar.gz")
    # needsbackend builds a pure wheel: one built wheel serves both targets
    assert files["needsbackend-1.0-py3-none-any.whl"]["targets"] == sorted(
        ["cp39-manylinux_2_36_x86_64", here])
    lock = (dest / manifest(dest)["locks"]["cp39-manylinux_2_36_x86_64"]).read_text()
    assert f"native==1.0 \\\n    --hash=sha256:{sdist['sha256']}" in lock
    verified = run_cli("verify", str(dest), "--json")
    assert verified.returncode == 0, verified.stdout


def test_rerun_with_fewer_targets_removes_their_locks_and_constraints(pypiserver, run_cli,
                                                                      tmp_path):
    constraints = tmp_path / "c.txt"
    constraints.write_text("beta==1.0\n")
    dest = tmp_path / "wh"
    args = ("prepare", "alpha==2.0", "--constraints", str(constraints), "--platform",
            "linux/amd64", "--index-url", pypiserver.url, "--dest", str(dest), "--json")
    first = run_cli(*args, "--python", "3.10", "--python", "3.11")
    assert first.returncode == 0, first.stderr
    assert {"constraints-3.10.txt", "requirements.cp310-manylinux_2_36_x86_64.lock.txt",
            "requirements.cp311-manylinux_2_36_x86_64.lock.txt"} <= {
        p.name for p in dest.iterdir()}
    second = run_cli(*args, "--python", "3.11")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["warnings"] == []
    assert sorted(p.name for p in dest.iterdir()) == sorted([
        "alpha-2.0-py3-none-any.whl", "beta-1.0-py3-none-any.whl", "constraints-3.11.txt",
        "pylock.toml", "requirements.lock.txt", "wheelhouse.json"])  # gamma went with 3.10
    verified = run_cli("verify", str(dest), "--json")
    assert verified.returncode == 0, verified.stdout


def test_prepare_warns_of_exactly_the_files_verify_reports(pypiserver, run_cli, tmp_path):
    dest = tmp_path / "wh"
    args = ("prepare", "alpha==2.0", "--python", "3.11", "--index-url", pypiserver.url,
            "--dest", str(dest), "--json")
    assert run_cli(*args).returncode == 0
    (dest / "notes.txt").write_text("mine")
    (dest / "constraints-old.txt").write_text("beta==0.1\n")  # not the manifest's constraints
    (dest / "pip.conf").write_text("[global]\nindex-url = https://elsewhere.invalid\n")
    (dest / "README.md").write_text("READMEs are always allowed")
    result = run_cli(*args, "--refresh")
    assert result.returncode == 0, result.stderr
    warning = next(w for w in json.loads(result.stdout)["warnings"] if "did not put" in w)
    verified = run_cli("verify", str(dest), "--json")
    unlisted = sorted(f["file"] for f in json.loads(verified.stdout)["findings"]
                      if f["check"] == "unlisted")
    assert unlisted == ["constraints-old.txt", "notes.txt", "pip.conf"]
    assert f"holds {len(unlisted)} file(s)" in warning
    assert all(name in warning for name in unlisted)


def test_the_self_check_every_test_runs_fails_on_what_verify_would(pypiserver, run_cli, tmp_path):
    # conftest sets WHEELHOUSE_SELF_CHECK: a prepare that exits 0 has passed verify. Here the
    # check itself is shown to fail on a changed wheel, and to spare a stranger's file.
    from wheelhouse.prepare import self_check

    dest = tmp_path / "wh"
    assert os.environ["WHEELHOUSE_SELF_CHECK"] == "1"
    assert run_cli("prepare", "alpha==2.0", "--python", "3.11", "--index-url", pypiserver.url,
                   "--dest", str(dest)).returncode == 0
    (dest / "notes.txt").write_text("mine")
    self_check(dest, allow_unverified=False)
    wheel = dest / "beta-1.1-py3-none-any.whl"
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    with pytest.raises(AssertionError, match=r"\[sha256\] .*beta-1.1-py3-none-any.whl"):
        self_check(dest, allow_unverified=False)


def test_verify_holds_the_pylock_to_the_manifest(pypiserver, run_cli, tmp_path):
    dest = tmp_path / "wh"
    done = run_cli("prepare", "alpha==2.0", "--python", "3.11", "--platform", "linux/amd64",
                   "--index-url", pypiserver.url, "--dest", str(dest))
    assert done.returncode == 0, done.stderr
    pylock = dest / "pylock.toml"
    text = pylock.read_text()
    beta = files_by_name(dest)["beta"]["sha256"]
    assert text.count(beta) == 1
    pylock.write_text(text.replace(beta, "0" * 64))  # still a valid lock, of other bytes
    verified = run_cli("verify", str(dest), "--json")
    assert verified.returncode == 1
    findings = json.loads(verified.stdout)["findings"]
    assert {(f["check"], f["file"], f["project"]) for f in findings} == {
        ("sha256", "pylock.toml", None), ("lock", "pylock.toml", "beta")}
    pylock.write_text("lock-version = 1\n")
    verified = run_cli("verify", str(dest), "--json")
    messages = [f["message"] for f in json.loads(verified.stdout)["findings"]
                if f["check"] == "lock"]
    assert len(messages) == 1 and "not a valid PEP 751 lock" in messages[0]

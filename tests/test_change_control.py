"""Change control end to end: `wheelhouse diff` between prepared folders, and `--policy` for
prepare (exit 4, nothing vouched for) and verify (`policy` findings), against real servers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from builders import make_sdist, make_wheel, sha256

PY = ("--python", "3.11", "--platform", "manylinux_2_28_x86_64")
JSON_PAGE = {"Content-Type": "application/vnd.pypi.simple.v1+json"}


def manifest(dest: Path) -> dict:
    return json.loads((dest / "wheelhouse.json").read_text())


def serve_json(web, folder: Path, project: str, uploaded: dict[str, str]) -> str:
    """A PEP 691/700 index for `project` on the loopback server: each file with its upload
    time (filename -> RFC 3339), as PyPI's JSON pages give it."""
    files = []
    for path in sorted(folder.glob(f"{project.replace('-', '_')}-*")):
        web.file(f"/files/{path.name}", path.read_bytes())
        files.append({"filename": path.name, "url": f"/files/{path.name}",
                      "hashes": {"sha256": sha256(path)}, "size": path.stat().st_size,
                      "upload-time": uploaded[path.name]})
    page = {"meta": {"api-version": "1.1"}, "name": project, "files": files}
    web.file(f"/simple/{project}/", json.dumps(page).encode(), JSON_PAGE)
    return f"{web.url}/simple"


def policy_file(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_license_outside_the_allow_list_stops_prepare_with_exit_4(
        pypiserver, run_cli, tmp_path):
    links = tmp_path / "links"
    links.mkdir()
    make_wheel(links, "copyleft", "1.0", about=(
        "License: GPLv3+", "Classifier: License :: OSI Approved :: GNU General Public "
        "License v3 or later (GPLv3+)"))
    make_wheel(links, "permissive", "1.0", requires=("copyleft",), about=("License: MIT",))
    allow = policy_file(tmp_path, '[licenses]\nallow = ["MIT", "Apache-2.0", "BSD-3-Clause"]\n')
    dest = tmp_path / "wh"
    args = ("prepare", "permissive", *PY, "--index-url", pypiserver.url, "--find-links",
            str(links), "--dest", str(dest))
    refused = run_cli(*args, "--policy", str(allow))
    assert refused.returncode == 4, refused.stderr
    assert "copyleft" in refused.stderr and "GPL-3.0-or-later" in refused.stderr
    assert "permissive" not in refused.stderr.split("violation(s)")[1].split("copyleft")[0]
    assert not (dest / "wheelhouse.json").exists()  # nothing vouched for
    wider = policy_file(tmp_path, '[licenses]\nallow = ["MIT", "GPL-3.0-or-later"]\n', "w.toml")
    done = run_cli(*args, "--policy", str(wider))
    assert done.returncode == 0, done.stderr
    recorded = manifest(dest)["policy"]
    assert recorded["sha256"] == sha256(wider) and recorded["source"] == str(wider)
    # the folder checked later against the stricter policy: each file that breaks it
    checked = run_cli("verify", str(dest), "--policy", str(allow), "--json")
    assert checked.returncode == 1
    findings = [f for f in json.loads(checked.stdout)["findings"] if f["check"] == "policy"]
    assert [f["project"] for f in findings] == ["copyleft"]
    assert run_cli("verify", str(dest), "--policy", str(wider)).returncode == 0


def test_deny_yanked_and_sdists_rules(pypiserver, run_cli, tmp_path):
    rules = policy_file(tmp_path, 'deny = ["beta<1.1"]\n\n[sdists]\nbuild = "forbid"\n')
    dest = tmp_path / "wh"
    refused = run_cli("prepare", "alpha==1.0", "sdistonly", "--constraints",
                      str(policy_file(tmp_path, "beta==1.0\n", "c.txt")), *PY,
                      "--index-url", pypiserver.url, "--dest", str(dest), "--policy",
                      str(rules))
    assert refused.returncode == 4, refused.stderr
    said = refused.stderr
    assert "2 violation(s)" in said and "beta" in said and "sdistonly" in said
    allowed = policy_file(tmp_path, 'deny = ["beta<1.0"]\n\n[sdists]\nbuild = "forbid"\n'
                          'allow = ["sdistonly"]\n', "ok.toml")
    done = run_cli("prepare", "alpha==1.0", "sdistonly", *PY, "--index-url", pypiserver.url,
                   "--dest", str(dest), "--policy", str(allowed))
    assert done.returncode == 0, done.stderr


def test_a_cooldown_refuses_what_the_index_received_too_recently(web, run_cli, tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    make_wheel(files, "fresh", "1.0")
    make_wheel(files, "fresh", "2.0")
    now = dt.datetime.now(dt.timezone.utc)
    stamp = lambda days: (now - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    index = serve_json(web, files, "fresh", {"fresh-1.0-py3-none-any.whl": stamp(30),
                                             "fresh-2.0-py3-none-any.whl": stamp(1)})
    cooldown = policy_file(tmp_path, "min_age_days = 7\n")
    dest = tmp_path / "wh"
    refused = run_cli("prepare", "fresh", *PY, "--index-url", index, "--dest", str(dest),
                      "--policy", str(cooldown))
    assert refused.returncode == 4, refused.stderr
    assert "fresh-2.0-py3-none-any.whl" in refused.stderr and "7" in refused.stderr
    done = run_cli("prepare", "fresh==1.0", *PY, "--index-url", index, "--dest", str(dest),
                   "--policy", str(cooldown))
    assert done.returncode == 0, done.stderr
    assert manifest(dest)["files"][0]["upload_time"] == stamp(30)  # PEP 700, recorded


def test_an_internal_name_from_another_index_is_refused(pypiserver, web, run_cli, tmp_path):
    """Dependency confusion: the team's `gamma` must come from its own index; the public one
    (here pypiserver, listed first) also has a `gamma`."""
    files = tmp_path / "files"
    files.mkdir()
    make_wheel(files, "gamma", "1.0")
    internal = serve_json(web, files, "gamma", {"gamma-1.0-py3-none-any.whl":
                                                "2024-01-01T00:00:00Z"})
    guard = policy_file(tmp_path, f'[indexes]\ngamma = "{internal}"\n')
    dest = tmp_path / "wh"
    refused = run_cli("prepare", "gamma==1.0", *PY, "--index-url", pypiserver.url,
                      "--dest", str(dest), "--policy", str(guard))
    assert refused.returncode == 4, refused.stderr
    assert "gamma" in refused.stderr and internal in refused.stderr
    done = run_cli("prepare", "gamma==1.0", *PY, "--index-url", internal, "--dest", str(dest),
                   "--policy", str(guard))
    assert done.returncode == 0, done.stderr


def test_a_policy_file_that_cannot_be_used_is_exit_2_before_anything(run_cli, tmp_path):
    typo = policy_file(tmp_path, "min_age_dayz = 7\n")
    dest = tmp_path / "wh"
    done = run_cli("prepare", "anything", "--dest", str(dest), "--policy", str(typo))
    assert done.returncode == 2 and "min_age_dayz" in done.stderr and not dest.exists()


def test_diff_between_two_prepared_folders(pypiserver, run_cli, tmp_path):
    links = tmp_path / "links"
    links.mkdir()
    replaced = make_wheel(links, "same-name", "1.0", payload=b"first")
    old, new = tmp_path / "old", tmp_path / "new"
    common = (*PY, "--index-url", pypiserver.url, "--find-links", str(links))
    first = run_cli("prepare", "alpha==2.0", "same-name", "--constraints",
                    str(policy_file(tmp_path, "beta==1.0\n", "c1.txt")), *common,
                    "--dest", str(old))
    assert first.returncode == 0, first.stderr
    replaced.unlink()
    make_wheel(links, "same-name", "1.0", payload=b"second")  # same file name, other bytes
    make_sdist(links, "newcomer", "1.0")
    second = run_cli("prepare", "alpha==2.0", "same-name", "newcomer", "--constraints",
                     str(policy_file(tmp_path, "beta==1.1\n", "c2.txt")), *common,
                     "--dest", str(new))
    assert second.returncode == 0, second.stderr
    done = run_cli("diff", str(old), str(new), "--json")
    assert done.returncode == 1, done.stderr
    changes = json.loads(done.stdout)["changes"]
    assert changes[0]["kind"] == "rehashed" and changes[0]["project"] == "same-name"
    kinds = {(c["kind"], c["project"]) for c in changes}
    assert {("upgraded", "beta"), ("added", "newcomer"), ("requirements", "")} <= kinds
    assert ("constraints", "") in kinds
    markdown = run_cli("diff", str(old / "wheelhouse.json"), str(new), "--markdown")
    assert markdown.returncode == 1 and "| upgraded | beta | 1.0 | 1.1 |" in markdown.stdout
    same = run_cli("diff", str(old), str(old))
    assert same.returncode == 0


def test_diff_sees_a_file_replaced_on_the_index_a_moved_index_and_a_new_target(
        pypiserver, web, run_cli, tmp_path):
    """The index serves other bytes under the same file name: `rehashed`, listed first. And
    gamma moving from one index to another, a yank, and a target added."""
    files = tmp_path / "files"
    files.mkdir()
    served = make_wheel(files, "swapped", "1.0", payload=b"as approved")
    when = {served.name: "2024-01-01T00:00:00Z"}
    index = serve_json(web, files, "swapped", when)
    old, new = tmp_path / "old", tmp_path / "new"
    first = run_cli("prepare", "swapped", "gamma", *PY, "--index-url", index,
                    "--extra-index-url", pypiserver.url, "--dest", str(old))
    assert first.returncode == 0, first.stderr
    make_wheel(files, "swapped", "1.0", payload=b"replaced later")  # same name, other bytes
    index = serve_json(web, files, "swapped", when)
    make_wheel(files, "gamma", "1.0")
    serve_json(web, files, "gamma", {"gamma-1.0-py3-none-any.whl": "2024-01-01T00:00:00Z"})
    second = run_cli("prepare", "swapped", "gamma", "--python", "3.11", "--python", "3.12",
                     "--platform", "manylinux_2_28_x86_64", "--index-url", index,
                     "--extra-index-url", pypiserver.url, "--dest", str(new))
    assert second.returncode == 0, second.stderr
    done = run_cli("diff", str(old), str(new), "--json")
    assert done.returncode == 1, done.stderr
    changes = json.loads(done.stdout)["changes"]
    # gamma's wheel from the other index has other bytes too: both re-hashed, listed first
    assert [(c["kind"], c["project"]) for c in changes[:2]] == [
        ("rehashed", "gamma"), ("rehashed", "swapped")]
    kinds = {(c["kind"], c["project"]) for c in changes}
    assert {("index", "gamma"), ("target-added", "")} <= kinds, kinds
    assert not {kind for kind, _ in kinds} & {"upgraded", "added", "removed"}

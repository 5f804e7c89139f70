"""A disk that fills up mid-run: one sentence and exit 2, nothing half-written under a final
name, and a re-run once there is room completes and verifies.

Two real limits: a process file-size limit (`ulimit -f`, any user) and a tmpfs of a few MB
mounted in a mount namespace of the test's own (where the kernel lets a user make one).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from builders import make_wheel, sha256

MB = 1_000_000


def serve_three_wheels(web, tmp_path: Path) -> dict[str, str]:
    """full-a needs full-b and full-c; each wheel about 1 MB that does not compress.
    Returns each wheel's name and sha256."""
    files = tmp_path / "files"
    files.mkdir()
    wheels = [make_wheel(files, "full-a", "1.0", requires=("full-b", "full-c"),
                         payload=os.urandom(MB)),
              make_wheel(files, "full-b", "1.0", payload=os.urandom(MB)),
              make_wheel(files, "full-c", "1.0", payload=os.urandom(MB))]
    for wheel in wheels:
        project = wheel.name.split("-")[0].replace("_", "-")
        web.file(f"/files/{wheel.name}", wheel.read_bytes())
        web.file(f"/simple/{project}/", f'<a href="/files/{wheel.name}#sha256={sha256(wheel)}">'
                 f"{wheel.name}</a>".encode(), {"Content-Type": "text/html"})
    return {wheel.name: sha256(wheel) for wheel in wheels}


def prepare_argv(web, dest: Path) -> list[str]:
    return [sys.executable, "-m", "wheelhouse", "prepare", "-q", "full-a==1.0", "--python", "3.11",
            "--index-url", f"{web.url}/simple", "--dest", str(dest)]


def whole_or_absent(dest: Path, published: dict[str, str]) -> None:
    """Every file under a final name is whole; no partial is left; no manifest lies."""
    for path in dest.iterdir():
        assert ".part-" not in path.name, path
        if path.suffix == ".whl":
            assert hashlib.sha256(path.read_bytes()).hexdigest() == published[path.name], path
    assert not (dest / "wheelhouse.json").exists()


def test_a_file_size_limit_mid_download_is_one_sentence_and_a_rerun_completes(web, tmp_path):
    published = serve_three_wheels(web, tmp_path)
    dest = tmp_path / "wh"

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (MB // 2, MB // 2))

    failed = subprocess.run(prepare_argv(web, dest), preexec_fn=limited, capture_output=True,
                            text=True, timeout=120)
    assert failed.returncode == 2, failed.stderr
    assert "error: writing to disk failed: File too large." in failed.stderr
    assert "Traceback" not in failed.stderr and failed.stderr.count("\n") == 1
    whole_or_absent(dest, published)
    again = subprocess.run(prepare_argv(web, dest), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in dest.glob("*.whl")) == sorted(published)
    verified = subprocess.run([sys.executable, "-m", "wheelhouse", "verify", str(dest)],
                              capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout


def _can_mount_tmpfs(tmp_path: Path) -> bool:
    if not shutil.which("unshare"):
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    return subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c",
         f"mount -t tmpfs -o size=1m tmpfs {probe}"],
        capture_output=True).returncode == 0


def test_a_full_tmpfs_is_one_sentence_and_a_rerun_after_room_is_made_completes(web, tmp_path):
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("this kernel lets no user mount a tmpfs in a namespace of its own")
    published = serve_three_wheels(web, tmp_path)
    mount, out = tmp_path / "small", tmp_path / "out"
    mount.mkdir()
    out.mkdir()
    dest = mount / "wh"
    argv = " ".join(prepare_argv(web, dest))
    verify = f"{sys.executable} -m wheelhouse verify {dest} --json"
    # 2.5 MB holds two of the three wheels; everything is recorded outside the mount, which
    # goes away with the namespace.
    script = f"""
        mount -t tmpfs -o size=2500k tmpfs {mount}
        {argv} 2> {out}/err1; echo $? > {out}/code1
        for f in {dest}/*; do sha256sum "$f"; done > {out}/after1
        ls -a {dest} > {out}/names1
        mount -o remount,size=64m {mount}
        {argv} 2> {out}/err2; echo $? > {out}/code2
        {verify} > {out}/verify; echo $? > {out}/code3
    """
    subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", script], check=True,
                   timeout=300, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    read = lambda name: (out / name).read_text()  # noqa: E731
    assert read("code1").strip() == "2", read("err1")
    assert "error: writing to disk failed: No space left on device." in read("err1")
    assert "Traceback" not in read("err1")
    names = read("names1").split()
    assert not [n for n in names if ".part-" in n] and "wheelhouse.json" not in names
    for line in read("after1").splitlines():
        digest, path = line.split()
        if path.endswith(".whl"):
            assert published[Path(path).name] == digest, line  # whole, or not there at all
    assert read("code2").strip() == "0", read("err2")
    assert read("code3").strip() == "0", read("verify")
    assert json.loads(read("verify"))["ok"] is True

"""Two runs at once into one folder: one writes, the other waits (--wait) or refuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def start(dest: Path, index: str, spec: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wheelhouse", "prepare", spec, "--python", "3.11",
         "--index-url", index, "--dest", str(dest), "--refresh", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def verified(dest: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wheelhouse", "verify", str(dest)],
                          capture_output=True, text=True)


def test_two_runs_started_together_never_interleave(pypiserver, tmp_path):
    dest = tmp_path / "wh"
    refused = 0
    for round_ in range(20):
        specs = ("alpha==1.0", "alpha[fast]==2.0") if round_ % 2 else ("alpha==2.0",) * 2
        runs = [start(dest, pypiserver.url, spec) for spec in specs]
        results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
        codes = sorted(code for code, _, _ in results)
        assert codes in ([0, 0], [0, 2]), results  # one wrote; the other refused or followed
        for code, _, err in results:
            assert "Traceback" not in err
            if code == 2:
                refused += 1
                assert "is being written by another wheelhouse prepare; give --wait" in err
        check = verified(dest)
        assert check.returncode == 0, (round_, results, check.stdout)
    assert refused > 0  # the runs did overlap, and the lock was met


def test_with_wait_the_second_run_waits_and_both_succeed(pypiserver, tmp_path):
    dest = tmp_path / "wh"
    runs = [start(dest, pypiserver.url, spec, "--wait")
            for spec in ("alpha[fast]==2.0", "alpha==1.0")]
    results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    assert [code for code, _, _ in results] == [0, 0], results
    assert verified(dest).returncode == 0


def test_verify_while_a_prepare_writes_says_so(pypiserver, tmp_path):
    """The folder held as prepare holds it: verify answers at once, exit 2, one sentence."""
    from wheelhouse import folderlock

    dest = tmp_path / "wh"
    dest.mkdir()
    with folderlock.writing(dest, wait=False):
        check = verified(dest)
        again = start(dest, pypiserver.url, "alpha==1.0")
        code, _, err = again.wait(timeout=60), *again.communicate()
    assert check.returncode == 2
    assert "is being written by another wheelhouse prepare; verify it when" in check.stderr
    assert code == 2 and "give --wait" in err
    assert not (dest / "wheelhouse.json").exists()

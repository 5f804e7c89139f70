"""Bad input and bad networks: one sentence, the right exit code, nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import make_sdist, make_wheel
from conftest import free_port


@pytest.fixture
def interruptible():
    """Lets the Ctrl-C these tests send reach wheelhouse. A shell that starts the suite in the
    background (as CI's does) ignores SIGINT, and a child inherits an ignored signal, so
    wheelhouse would never see it; a handler here is reset to the default in a child."""
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def assert_clean_failure(result, code: int, *words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def assert_nothing_written(dest: Path) -> None:
    if dest.exists():
        leftovers = [p.name for p in dest.iterdir()]
        assert "wheelhouse.json" not in leftovers
        assert not [name for name in leftovers if ".part-" in name], leftovers


def test_bad_constraints_line_names_file_and_line(pypiserver, web, run_cli, tmp_path):
    url = web.file("/c.txt", b"beta==1.0\n\n# fine\nbeta>=1.0\n")
    dest = tmp_path / "wh"
    result = run_cli("prepare", "alpha", "--constraints", url, "--index-url", pypiserver.url,
                     "--dest", str(dest))
    assert_clean_failure(result, 2, url, "line 4", "beta>=1.0")
    assert_nothing_written(dest)


def test_constraints_that_are_not_a_requirement(pypiserver, run_cli, tmp_path):
    constraints = tmp_path / "c.txt"
    constraints.write_text("beta==1.0\nthis is not a pin\n")
    result = run_cli("prepare", "alpha", "--constraints", str(constraints), "--index-url",
                     pypiserver.url, "--dest", str(tmp_path / "wh"))
    assert_clean_failure(result, 2, str(constraints), "line 2")


def test_missing_local_constraints_file(pypiserver, run_cli, tmp_path):
    result = run_cli("prepare", "alpha", "--constraints", str(tmp_path / "nope.txt"),
                     "--index-url", pypiserver.url, "--dest", str(tmp_path / "wh"))
    assert_clean_failure(result, 2, "nope.txt", "does not exist")


def test_constraints_url_404(pypiserver, web, run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "alpha", "--constraints", f"{web.url}/missing.txt",
                     "--index-url", pypiserver.url, "--dest", str(dest))
    assert_clean_failure(result, 2, "missing.txt", "404")
    assert_nothing_written(dest)


def test_server_that_drops_the_connection_is_retried_then_exit_3(pypiserver, web, run_cli,
                                                                  tmp_path):
    url = web.drop("/c.txt")
    result = run_cli("prepare", "alpha", "--constraints", url, "--index-url", pypiserver.url,
                     "--dest", str(tmp_path / "wh"))
    assert_clean_failure(result, 3, "/c.txt")
    assert web.hits.count("/c.txt") == 4  # the first try and three retries


def test_5xx_is_retried_and_recovers(pypiserver, web, run_cli, tmp_path):
    answers = iter([503, 502, 200])

    def flaky(handler):
        status = next(answers)
        body = b"beta==1.0\n" if status == 200 else b""
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    web.routes["/c.txt"] = flaky
    dest = tmp_path / "wh"
    result = run_cli("prepare", "alpha==2.0", "--constraints", f"{web.url}/c.txt", "--python",
                     "3.11", "--index-url", pypiserver.url, "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    assert web.hits.count("/c.txt") == 3
    assert (dest / "beta-1.0-py3-none-any.whl").exists()


def test_unreachable_index_exit_3(run_cli, tmp_path):
    port = free_port()  # nothing listens there
    result = run_cli("prepare", "alpha", "--index-url", f"http://127.0.0.1:{port}/simple",
                     "--dest", str(tmp_path / "wh"))
    assert_clean_failure(result, 3, f"127.0.0.1:{port}")


def test_bad_credentials_exit_3_and_are_redacted(web, run_cli, tmp_path):
    web.status("/simple/alpha/", 401)
    index = f"http://bob:hunter2@127.0.0.1:{web.port}/simple"
    result = run_cli("prepare", "alpha", "--index-url", index, "--dest", str(tmp_path / "wh"))
    assert_clean_failure(result, 3, "401", "bob:****@")
    assert "hunter2" not in result.stderr


def test_unknown_package_exit_2(pypiserver, run_cli, tmp_path):
    result = run_cli("prepare", "alpha", "no-such-thing==1.0", "--index-url", pypiserver.url,
                     "--dest", str(tmp_path / "wh"))
    assert_clean_failure(result, 2, "no-such-thing is not on any index")


def test_version_not_on_the_index_exit_2(pypiserver, run_cli, tmp_path):
    result = run_cli("prepare", "beta==7.0", "--index-url", pypiserver.url,
                     "--dest", str(tmp_path / "wh"))
    assert_clean_failure(result, 2, "beta==7.0", "1.1")


def test_conflict_between_spec_and_constraint_exit_2(pypiserver, web, run_cli, tmp_path):
    url = web.file("/c.txt", b"beta==1.0\n")
    result = run_cli("prepare", "beta>=1.1", "--constraints", url, "--index-url", pypiserver.url,
                     "--dest", str(tmp_path / "wh"))
    assert_clean_failure(result, 2, "beta>=1.1", "beta==1.0", "line 1")


def test_digest_mismatch_is_refused_exit_3(web, run_cli, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    wheel = make_wheel(folder, "liar", "1.0")
    web.file(f"/files/{wheel.name}", wheel.read_bytes())
    page = f'<a href="/files/{wheel.name}#sha256={"0" * 64}">{wheel.name}</a>'
    web.file("/simple/liar/", page.encode(), {"Content-Type": "text/html"})
    dest = tmp_path / "wh"
    result = run_cli("prepare", "liar", "--index-url", f"{web.url}/simple", "--dest", str(dest))
    assert_clean_failure(result, 3, wheel.name, "0" * 64)
    assert not (dest / wheel.name).exists()
    assert_nothing_written(dest)


def _slow_index(web, tmp_path: Path) -> tuple[str, Path]:
    """An index whose only wheel (8 MB) trickles out over several seconds."""
    folder = tmp_path / "files"
    folder.mkdir()
    wheel = make_wheel(folder, "slow", "1.0", payload=os.urandom(8 << 20))
    page = web.simple_page("slow", [(wheel, {})])
    web.file(f"/files/{wheel.name}", wheel.read_bytes(), delay_per_chunk=0.05)
    return page, wheel


def _start(tmp_path: Path, index: str, dest: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "wheelhouse", "prepare", "slow", "--index-url", index,
         "--dest", str(dest)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )


def _wait_for_partial(dest: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if dest.is_dir() and any(".part-" in p.name for p in dest.iterdir()):
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the download never started")


def test_ctrl_c_leaves_no_partial_file(web, tmp_path, interruptible):
    index, wheel = _slow_index(web, tmp_path)
    dest = tmp_path / "wh"
    process = _start(tmp_path, index, dest)
    _wait_for_partial(dest, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert sorted(p.name for p in dest.iterdir()) == []


def test_kill_leaves_only_hidden_partials_and_rerun_cleans_them(web, run_cli, tmp_path):
    index, wheel = _slow_index(web, tmp_path)
    dest = tmp_path / "wh"
    process = _start(tmp_path, index, dest)
    _wait_for_partial(dest, process)
    process.kill()
    process.communicate(timeout=30)
    names = [p.name for p in dest.iterdir()]
    assert wheel.name not in names and "wheelhouse.json" not in names
    assert all(name.startswith(".") and ".part-" in name for name in names)
    web.file(f"/files/{wheel.name}", wheel.read_bytes())  # full speed now
    result = run_cli("prepare", "slow", "--index-url", index, "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]
    assert (dest / wheel.name).read_bytes() == wheel.read_bytes()


def test_ctrl_c_during_a_build_kills_the_build_and_ends_at_once(pypiserver, tmp_path,
                                                               interruptible):
    local = tmp_path / "local"
    local.mkdir()
    marker = tmp_path / "build.pid"
    make_sdist(local, "slowbuild", "1.0", build_slowly=f"600 {marker}")
    dest = tmp_path / "wh"
    process = subprocess.Popen(
        [sys.executable, "-m", "wheelhouse", "prepare", "slowbuild==1.0", "--index-url",
         pypiserver.url, "--find-links", str(local), "--dest", str(dest)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    deadline = time.monotonic() + 60
    while not (marker.exists() and marker.read_text()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.1)
    backend = int(marker.read_text())
    process.send_signal(signal.SIGINT)  # to wheelhouse alone, not to its process group
    _, stderr = process.communicate(timeout=60)  # the build would sleep for 600 s
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not _alive(backend), "the build backend outlived the run"
    names = {p.name for p in dest.iterdir()}
    assert "wheelhouse.json" not in names and not [n for n in names if ".part-" in n]


def _alive(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state == "Z":  # killed, waiting for its parent to collect it
            return False
        time.sleep(0.1)
    return True


def test_a_download_that_ends_while_a_run_fails_is_in_the_ledger(web, tmp_path):
    """The ledger is written only once every download has stopped, so a file that finished
    in between is listed for the next run, not left behind as a stranger."""
    import threading

    from wheelhouse.layout import LEDGER
    from wheelhouse.prepare import PrepareOptions, prepare
    from wheelhouse.report import PrepareProgress

    files = tmp_path / "files"
    files.mkdir()
    alpha = make_wheel(files, "alpha", "1.0", requires=("beta>=1.0",))
    beta = make_wheel(files, "beta", "1.0")
    web.simple_page("alpha", [(alpha, {})])
    index = web.simple_page("beta", [(beta, {})])
    slow = web.routes[f"/files/{beta.name}"]

    def late(handler):  # beta's bytes arrive after the resolver has pinned alpha
        time.sleep(0.5)
        slow(handler)

    web.routes[f"/files/{beta.name}"] = late
    constraints = tmp_path / "c.txt"
    constraints.write_text("beta==1.0\n")  # so the look-ahead downloads beta early
    dest = tmp_path / "wh"

    class InterruptedOnAlpha(PrepareProgress):
        """Ctrl-C once alpha is pinned, while beta's download is under way; beta's download
        then waits for the failed run's ledger (3 s at most) before it finishes."""

        def __init__(self) -> None:
            super().__init__(enabled=False)
            self.armed, self.in_flight = threading.Event(), threading.Event()

        def pinning(self, candidate) -> None:
            if candidate.name == "alpha" and candidate.extra is None:
                self.armed.set()
                assert self.in_flight.wait(10), "beta's download never started"
                raise KeyboardInterrupt

        def bytes_done(self, count: int) -> None:
            if self.armed.is_set():
                self.in_flight.set()
                deadline = time.monotonic() + 3
                while not (dest / LEDGER).exists() and time.monotonic() < deadline:
                    time.sleep(0.01)

    options = PrepareOptions(specs=["alpha==1.0"], constraints=[str(constraints)],
                             index_url=index, dest=dest)
    with InterruptedOnAlpha() as progress:
        try:
            prepare(options, progress)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("the run was not interrupted")
    ledger = set((dest / LEDGER).read_text().splitlines())
    whole = {p.name for p in dest.iterdir() if p.suffix == ".whl"}
    assert beta.name in whole and alpha.name in whole
    assert whole <= ledger, f"finished but not in the ledger: {whole - ledger}"
    assert not (dest / "wheelhouse.json").exists()


def test_a_constraints_file_named_for_another_python_is_refused(pypiserver, run_cli, tmp_path):
    """Airflow's constraints-3.11.txt for a 3.12 target would become the folder's
    constraints-3.12.txt: refused before anything is fetched, with the way out."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "constraints-3.11.txt").write_text("beta==1.0\n")
    (mirror / "constraints-3.12.txt").write_text("beta==1.1\n")
    dest = tmp_path / "wh"
    result = run_cli("prepare", "alpha==1.0", "--constraints",
                     str(mirror / "constraints-3.11.txt"), "--python", "3.12",
                     "--index-url", pypiserver.url, "--dest", str(dest))
    assert_clean_failure(result, 2, "is for Python 3.11", "Python 3.12", "{python}")
    assert not dest.exists()
    # {python}: each target Python gets its own file, from a mirror or local files
    each = run_cli("prepare", "alpha==1.0", "--constraints",
                   str(mirror / "constraints-{python}.txt"), "--python", "3.11",
                   "--python", "3.12", "--platform", "manylinux_2_28_x86_64",
                   "--index-url", pypiserver.url, "--dest", str(dest))
    assert each.returncode == 0, each.stderr
    locks = {path.name: path.read_text() for path in dest.glob("requirements.*.lock.txt")}
    assert {name.split(".")[1].split("-")[0]: "beta==1.0" in text or "beta==1.1" in text
            for name, text in locks.items()} == {"cp311": True, "cp312": True}
    assert "beta==1.0" in locks["requirements.cp311-manylinux_2_28_x86_64.lock.txt"]
    assert "beta==1.1" in locks["requirements.cp312-manylinux_2_28_x86_64.lock.txt"]
    assert (dest / "constraints-3.12.txt").read_text() == "beta==1.1\n"

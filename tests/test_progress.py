"""What prepare tells people while it runs: silent with -q, plain lines in a log (a heartbeat
when nothing else happens), a line per file with -v, and the builds a Workshop runs."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
from builders import make_sdist, make_wheel
from packaging.version import Version

from wheelhouse import net
from wheelhouse.build import BUILD_RECORD
from wheelhouse.download import Downloader
from wheelhouse.errors import InputError
from wheelhouse.files import file_sha256
from wheelhouse.index import Index
from wheelhouse.manifest import BuildRecord
from wheelhouse.report import PrepareProgress
from wheelhouse.resolve import Candidate
from wheelhouse.sources import Workshop

TARGET = "cp311-manylinux_2_28_x86_64"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(verbosity: int = 0, heartbeat: float = 10.0) -> tuple[PrepareProgress, io.StringIO]:
    """A reporter as in a CI log: not a terminal, its lines captured."""
    stream = io.StringIO()
    return PrepareProgress(verbosity=verbosity, live=False, stream=stream,
                           heartbeat=heartbeat), stream


def a_run(progress: PrepareProgress) -> None:
    """What a short prepare reports, from start to end."""
    progress.stage("fetching constraints")
    progress.stage(f"resolving for {TARGET}")
    progress.pinning(Candidate("alpha", Version("1.0")))
    progress.pinning(Candidate("alpha", Version("1.0"), extra="fast"))
    progress.stage(f"downloading for {TARGET}")
    progress.expect_bytes(3_000_000)
    progress.bytes_done(3_000_000)
    progress.file_done("alpha-1.0-py3-none-any.whl", "downloaded", 3_000_000)
    progress.file_done("beta-1.0-py3-none-any.whl", "reused", 1_500_000)
    progress.build_started("gamma-1.0.tar.gz")
    progress.build_finished("gamma-1.0.tar.gz", "gamma-1.0-py3-none-any.whl", 12.34)
    progress.build_started("delta-1.0.tar.gz")
    progress.build_finished("delta-1.0.tar.gz", None, 0.5)


def test_quiet_says_nothing_at_all():
    for progress, stream in (plain(verbosity=-1, heartbeat=0.05),
                             (PrepareProgress(enabled=False, verbosity=1, live=False,
                                              stream=(silent := io.StringIO()),
                                              heartbeat=0.05), silent)):
        with progress:
            a_run(progress)
            time.sleep(0.12)  # a few heartbeats' worth
        assert stream.getvalue() == ""


def test_a_log_gets_a_plain_line_per_stage_and_build():
    progress, stream = plain()
    with progress:
        a_run(progress)
        progress.stage(f"downloading for {TARGET}")  # the same stage again: no new line
    assert stream.getvalue().splitlines() == [
        "wheelhouse: fetching constraints",
        f"wheelhouse: resolving for {TARGET}",
        f"wheelhouse: downloading for {TARGET}",
        "wheelhouse: building gamma-1.0.tar.gz ...",
        "wheelhouse: built gamma-1.0-py3-none-any.whl in 12.3 s",
        "wheelhouse: building delta-1.0.tar.gz ...",
        "wheelhouse: building delta-1.0.tar.gz failed after 0.5 s",
    ]
    assert "\x1b" not in stream.getvalue()


def test_verbose_adds_a_line_per_file():
    progress, stream = plain(verbosity=1)
    with progress:
        a_run(progress)
    lines = stream.getvalue().splitlines()
    assert "wheelhouse: downloaded alpha-1.0-py3-none-any.whl (3.0 MB)" in lines
    assert "wheelhouse: reused beta-1.0-py3-none-any.whl (1.5 MB)" in lines


def test_a_long_stage_gets_a_heartbeat_until_the_run_ends():
    progress, stream = plain(heartbeat=0.15)
    with progress:
        progress.stage(f"resolving for {TARGET}")
        progress.pinning(Candidate("<python>", Version("3.11")))  # the target's: not a project
        progress.pinning(Candidate("alpha", Version("1.0")))
        progress.bytes_done(2_500_000)
        progress.build_started("gamma-1.0.tar.gz")
        time.sleep(0.35)
    lines = stream.getvalue().splitlines()
    beats = [line for line in lines if line.startswith("wheelhouse: still ")]
    assert len(beats) >= 1, lines
    assert beats[0].startswith(f"wheelhouse: still resolving for {TARGET} after ")
    assert "1 projects pinned, 2.5 MB downloaded, building gamma-1.0.tar.gz" in beats[0]
    time.sleep(0.2)  # the heartbeat stopped with the run
    assert stream.getvalue().splitlines() == lines


def test_a_busy_log_needs_no_heartbeat():
    progress, stream = plain(heartbeat=0.25)
    with progress:
        for number in range(5):
            progress.stage(f"step {number}")
            time.sleep(0.08)
    assert not [line for line in stream.getvalue().splitlines() if "still" in line]


def test_the_live_view_shows_no_bar_where_nothing_can_fill_it():
    stream = io.StringIO()
    with PrepareProgress(live=True, stream=stream) as progress:
        progress.stage(f"resolving for {TARGET}")
        progress.bytes_done(1_000)
        progress.build_started("gamma-1.0.tar.gz")
        time.sleep(0.2)  # a refresh or two (8 a second)
        shown = ANSI.sub("", stream.getvalue())
        assert "building gamma 1.0 from its sdist" in shown
        assert "?" not in shown and "━" not in shown  # no total known: no bar, no "0/?"
        assert "bytes" not in shown.splitlines()[0]  # the stage row: no byte counts
        progress.expect_bytes(2_000)
        progress.build_finished("gamma-1.0.tar.gz", "gamma-1.0-py3-none-any.whl", 1.0)
        time.sleep(0.2)
        latest = ANSI.sub("", stream.getvalue()).rsplit("resolving for", 1)[1]
    assert "1.0 kB of 2.0 kB" in latest and "━" in latest  # a total: a bar that can fill
    assert "building gamma" not in latest  # its row went with its build


@pytest.fixture
def workshop(tmp_path: Path):
    """A Workshop over a find-links folder (file:// downloads, no server), and its reports."""
    folder, dest = tmp_path / "links", tmp_path / "dest"
    folder.mkdir()
    dest.mkdir()
    session = net.make_session()
    stream = io.StringIO()
    progress = PrepareProgress(live=False, stream=stream)
    downloader = Downloader(session, dest, jobs=2)
    shop = Workshop(downloader, build={"cache": tmp_path / "cache", "index_urls": [],
                                       "find_links": [folder]}, progress=progress)
    with progress:
        yield folder, tmp_path / "cache", shop, stream
    downloader.close()
    shop.close()


def cached_build(cache: Path, sdist: Path, wheel: Path) -> None:
    """`wheel` in the build cache as the build of `sdist`: build_wheel takes it, no pip."""
    slot = cache / "built" / file_sha256(sdist)
    slot.mkdir(parents=True)
    wheel.rename(slot / wheel.name)
    record = BuildRecord("cpython 3.11", "pip 25.0", "wh_test_backend", (), "315532800")
    (slot / BUILD_RECORD).write_text(json.dumps(record.to_json()))


def test_the_workshop_reports_each_build_as_it_starts_and_ends(workshop, tmp_path):
    folder, cache, shop, stream = workshop
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    good = make_sdist(folder, "good", "1.0", requires=("beta",), metadata_version="2.2")
    cached_build(cache, good, make_wheel(wheels, "good", "1.0", requires=("beta",)))
    # This one's wheel needs more than its sdist said: the build fails after it ran.
    bad = make_sdist(folder, "bad", "1.0", metadata_version="2.2")
    cached_build(cache, bad, make_wheel(wheels, "bad", "1.0", requires=("beta",)))
    index = Index(shop.downloader.session, [], [folder])
    try:
        [good_file] = index.project_files("good")
        [bad_file] = index.project_files("bad")
        assert shop.wheel(good_file).result(timeout=30).wheel.name == \
            "good-1.0-py3-none-any.whl"
        with pytest.raises(InputError):
            shop.wheel(bad_file).result(timeout=30)
    finally:
        index.close()
    lines = stream.getvalue().splitlines()
    assert "wheelhouse: building good-1.0.tar.gz ..." in lines
    assert any(line.startswith("wheelhouse: built good-1.0-py3-none-any.whl in ")
               for line in lines)
    assert "wheelhouse: building bad-1.0.tar.gz ..." in lines
    assert any(line.startswith("wheelhouse: building bad-1.0.tar.gz failed after ")
               for line in lines)


def test_prepare_in_a_log_quiet_default_and_verbose(pypiserver, run_cli, tmp_path):
    """The flags end to end: a run's stages in a log by default, its files with -v, nothing
    but the JSON with -q."""
    def prepare(dest: str, *flags: str):
        result = run_cli("prepare", "alpha==1.0", "sdistonly==1.0", "--python", "3.11",
                         "-i", pypiserver.url, "--dest", dest, *flags)
        assert result.returncode == 0, result.stderr
        return result

    default = prepare("one")
    assert "wheelhouse: resolving for cp311-" in default.stderr
    assert "wheelhouse: building sdistonly-1.0.tar.gz" in default.stderr
    assert "alpha-1.0-py3-none-any.whl" not in default.stderr
    assert "Prepared 3 files" in default.stdout
    verbose = prepare("two", "-v")
    assert re.search(r"(downloaded|reused) alpha-1\.0-py3-none-any\.whl", verbose.stderr), \
        verbose.stderr
    quiet = prepare("three", "-q", "--json")
    assert quiet.stderr == "" and json.loads(quiet.stdout)["files"] == 3
    assert prepare("four", "-q").stdout == ""

"""The look-ahead, on its own: what it fetches, reads and builds before any resolver asks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from wheelhouse import net
from wheelhouse.build import cache_root
from wheelhouse.constraints import Pin
from wheelhouse.download import Downloader
from wheelhouse.index import Index
from wheelhouse.resolve import parse_specs
from wheelhouse.sources import WheelhouseSources, Workshop
from wheelhouse.target import make_target

PINS = {"alpha": "2.0", "beta": "1.1", "gamma": "1.0", "delta": "1.0", "epsilon": "1.0",
        "zeta": "1.0", "eta": "1.0", "sdistonly": "1.0", "plat": "1.0"}


def pins(versions: dict[str, str]) -> dict[str, Pin]:
    return {name: Pin(name, version, Requirement(f"{name}=={version}"), number)
            for number, (name, version) in enumerate(versions.items(), start=1)}


def settle(downloader: Downloader, workshop: Workshop, timeout: float = 60) -> set[str]:
    """Wait until the look-ahead has stopped starting work; return the files it fetched."""
    deadline = time.monotonic() + timeout
    last: tuple[int, int] | None = None
    while time.monotonic() < deadline:
        futures = (list(downloader._futures.values()) + list(workshop._metadata.values())
                   + list(workshop._wheels.values()))
        now = (len(downloader._futures), len(workshop._metadata), len(workshop._wheels))
        if all(f.done() for f in futures) and now == last:
            return set(downloader._futures)
        last = now if all(f.done() for f in futures) else None
        time.sleep(0.3)
    raise AssertionError("the look-ahead did not settle")


@pytest.fixture
def look_ahead(pypiserver, tmp_path: Path):
    session = net.make_session(pool_size=8)
    opened = []

    def start(python: str, platform: str, specs: list[str], versions: dict[str, str] = PINS):
        index = Index(session, [pypiserver.url], [])
        downloader = Downloader(session, tmp_path / "dest", jobs=4)
        (tmp_path / "dest").mkdir(exist_ok=True)
        workshop = Workshop(downloader, build={"cache": cache_root(None),
                                               "index_urls": [pypiserver.url], "find_links": []})
        opened.append((index, downloader, workshop))
        target = make_target(python, platform)
        sources = WheelhouseSources(index, workshop, target, pins(versions), allow_build=True)
        sources.look_ahead(parse_specs(specs, target)[0])
        return settle(downloader, workshop), workshop

    yield start
    for index, downloader, workshop in opened:
        index.close()
        downloader.close()
        workshop.close()


def test_pinned_closure_is_fetched_with_extras_and_target_markers(look_ahead):
    fetched, _ = look_ahead("3.11", "manylinux_2_28_x86_64", ["alpha[fast]"])
    # alpha 2.0 needs beta; [fast] adds epsilon, which needs zeta[extra1], which adds eta.
    # gamma (python_version < "3.11") and delta (win32) are not for this target.
    assert fetched == {"alpha-2.0-py3-none-any.whl", "beta-1.1-py3-none-any.whl",
                       "epsilon-1.0-py3-none-any.whl", "zeta-1.0-py3-none-any.whl",
                       "eta-1.0-py3-none-any.whl"}


def test_markers_follow_the_target_python(look_ahead):
    fetched, _ = look_ahead("3.10", "manylinux_2_28_x86_64", ["alpha"])
    assert fetched == {"alpha-2.0-py3-none-any.whl", "beta-1.1-py3-none-any.whl",
                       "gamma-1.0-py3-none-any.whl"}


def test_a_pinned_sdist_is_built_ahead_and_its_needs_followed(look_ahead):
    fetched, workshop = look_ahead("3.11", "manylinux_2_28_x86_64", ["sdistonly"])
    assert fetched == {"sdistonly-1.0.tar.gz", "beta-1.1-py3-none-any.whl"}
    built = workshop._wheels["sdistonly-1.0.tar.gz"].result()
    assert built.wheel.name == "sdistonly-1.0-py3-none-any.whl"
    assert built.metadata.requires_dist == ("beta",)
    # For a Python this machine is not, its needs are still followed, from its metadata
    # alone: whether to build it is decided when the resolution is done.
    fetched, workshop = look_ahead("3.13", "manylinux_2_28_x86_64", ["sdistonly"])
    assert fetched == {"sdistonly-1.0.tar.gz", "beta-1.1-py3-none-any.whl"}
    assert workshop._wheels == {}


def test_an_exact_requirement_is_followed_like_a_pin(look_ahead):
    unpinned = {name: v for name, v in PINS.items() if name != "alpha"}
    fetched, _ = look_ahead("3.11", "manylinux_2_28_x86_64", ["alpha==1.0"], unpinned)
    assert fetched == {"alpha-1.0-py3-none-any.whl", "beta-1.1-py3-none-any.whl"}
    # Neither pinned nor exact: the version is the resolver's choice, so nothing is fetched.
    fetched, _ = look_ahead("3.11", "manylinux_2_28_x86_64", ["alpha>=1.0"], unpinned)
    assert fetched == set()


def test_read_ahead_starts_on_wheels_metadata_and_leaves_sdists_alone(pypiserver, tmp_path):
    """The resolver walking back names the next candidates: their wheels' METADATA is read at
    once; an sdist's (a download, perhaps a build hook) waits until it is asked for."""
    session = net.make_session(pool_size=8)
    index = Index(session, [pypiserver.url], [])
    (tmp_path / "dest").mkdir()
    downloader = Downloader(session, tmp_path / "dest", jobs=4)
    workshop = Workshop(downloader, build={"cache": cache_root(None),
                                           "index_urls": [pypiserver.url], "find_links": []})
    try:
        sources = WheelhouseSources(index, workshop, make_target("3.11", "manylinux_2_28_x86_64"),
                                    {}, allow_build=True)
        files = index.project_files("alpha") + index.project_files("sdistonly")
        wheels = {f.filename for f in files if f.is_wheel}
        assert wheels and len(wheels) < len(files)  # the universe has both kinds here
        sources.read_ahead(files)
        assert set(workshop._metadata) == wheels
        for filename in wheels:
            assert workshop._metadata[filename].result(timeout=60).name == "alpha"
    finally:
        index.close()
        downloader.close()
        workshop.close()

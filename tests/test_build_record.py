"""Built wheels say how they were built: the interpreter, pip, the backend, every
distribution of the build environment with its sha256, SOURCE_DATE_EPOCH; and whether two
builds give the same bytes (--check-reproducible)."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import sys
from pathlib import Path

import pytest
from builders import sha256
from test_verify import verify


def prepare(run_cli, pypiserver, dest: Path, *args: str) -> dict:
    result = run_cli("prepare", *args, "--index-url", pypiserver.url, "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    assert verify(dest)[0] == 0
    return json.loads((dest / "wheelhouse.json").read_text())


def built(document: dict, name: str) -> dict:
    (entry,) = [e for e in document["files"] if e["name"] == name]
    assert entry["kind"] == "built-wheel"
    return entry


def test_the_build_environment_is_recorded_with_hashes(run_cli, pypiserver, tmp_path):
    document = prepare(run_cli, pypiserver, tmp_path / "wh", "needsbackend")
    record = built(document, "needsbackend")["build"]
    assert record["python"] == f"{sys.implementation.name} {platform.python_version()}"
    assert record["frontend"] == f"pip {importlib.metadata.version('pip')}"
    assert record["backend"] == "wh_test_backend"
    assert record["source_date_epoch"] == "315532800"
    assert record["reproducible"] is None
    (backend,) = record["requires"]
    assert (backend["name"], backend["version"]) == ("wh-test-backend", "1.0")
    assert backend["sha256"] == sha256(pypiserver.folder / backend["filename"])
    assert backend["url"].startswith(pypiserver.url.rsplit("/", 1)[0])


def test_what_the_backend_asks_for_on_top_is_recorded_too(run_cli, pypiserver, tmp_path):
    document = prepare(run_cli, pypiserver, tmp_path / "wh", "asksmore")
    requires = built(document, "asksmore")["build"]["requires"]
    assert [(r["name"], r["version"]) for r in requires] == [("cythonish", "3.1.4"),
                                                              ("wh-test-backend", "1.0")]
    for item in requires:
        assert item["sha256"] == sha256(pypiserver.folder / item["filename"])


def test_two_builds_of_the_same_sdist_give_the_same_bytes(run_cli, pypiserver, tmp_path):
    first = prepare(run_cli, pypiserver, tmp_path / "a", "needsbackend", "--cache-dir",
                    str(tmp_path / "cache-a"))
    second = prepare(run_cli, pypiserver, tmp_path / "b", "needsbackend", "--cache-dir",
                     str(tmp_path / "cache-b"))
    assert built(first, "needsbackend")["sha256"] == built(second, "needsbackend")["sha256"]


@pytest.mark.parametrize("name, same", [("needsbackend", True), ("shuffled", False)])
def test_check_reproducible_builds_twice_and_says_so(run_cli, pypiserver, tmp_path, name,
                                                     same):
    document = prepare(run_cli, pypiserver, tmp_path / "wh", name, "--check-reproducible")
    assert built(document, name)["build"]["reproducible"] is same


def test_check_reproducible_on_a_wheel_built_before(run_cli, pypiserver, tmp_path):
    cache = str(tmp_path / "cache")
    once = prepare(run_cli, pypiserver, tmp_path / "wh", "shuffled", "--cache-dir", cache)
    assert built(once, "shuffled")["build"]["reproducible"] is None
    twice = prepare(run_cli, pypiserver, tmp_path / "wh", "shuffled", "--cache-dir", cache,
                    "--check-reproducible")
    entry = built(twice, "shuffled")
    assert entry["build"]["reproducible"] is False
    assert entry["sha256"] == built(once, "shuffled")["sha256"]  # the cached wheel is shipped


def test_a_failed_build_shows_the_backends_own_error_and_keeps_the_log(
        run_cli, pypiserver, tmp_path):
    result = run_cli("prepare", "-q", "brokenbuild", "--index-url", pypiserver.url, "--dest",
                     "wh", "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "fatal error: Python.h: No such file or directory" in result.stderr
    assert "failed with exit code 1" in result.stderr
    assert "This is an issue with the package mentioned above" not in result.stderr
    log = tmp_path / "cache" / "logs" / "brokenbuild-1.0.tar.gz.log"
    assert f"The whole build log: {log}." in result.stderr
    text = log.read_text()
    assert "compiling brokenbuild/_speedups.c" in text and "pip" in text.splitlines()[0]

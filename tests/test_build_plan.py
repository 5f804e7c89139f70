"""What is built, and when: METADATA during the resolution, full builds only for its final
pins, and never a compiled build for a target this machine cannot build for."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HOST = f"{sys.version_info[0]}.{sys.version_info[1]}"
OTHER = "3.13" if HOST != "3.13" else "3.12"  # a Python this machine's builds do not serve


def manifest(dest: Path) -> dict:
    return json.loads((dest / "wheelhouse.json").read_text())


def test_full_builds_are_only_for_the_final_pins(pypiserver, run_cli, tmp_path):
    # hopeful 2.0 needs failsbuild (an sdist whose build fails) and beta>=9: the resolver
    # reads failsbuild's metadata from its backend's hook, abandons 2.0, and never builds it.
    dest = tmp_path / "wh"
    result = run_cli("prepare", "hopeful", "--python", HOST, "--index-url", pypiserver.url,
                     "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    assert {f["name"]: f["version"] for f in manifest(dest)["files"]} == {
        "hopeful": "1.0", "beta": "1.1"}
    assert "failsbuild was built" not in result.stderr
    # ...whereas a build of it is a build: its failure is the run's
    result = run_cli("prepare", "failsbuild", "--python", HOST, "--index-url", pypiserver.url,
                     "--dest", str(tmp_path / "other"))
    assert result.returncode == 2 and "failsbuild was built" in result.stderr


def test_a_compiled_build_for_another_python_fails_fast_with_the_way_out(pypiserver, run_cli,
                                                                        tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "compiled", "alpha", "--python", OTHER, "--platform",
                     "linux/amd64", "--index-url", pypiserver.url, "--dest", str(dest))
    assert result.returncode == 2
    target = f"cp{OTHER.replace('.', '')}-manylinux_2_36_x86_64"
    message = result.stderr
    assert "1 package(s) would need a compiled build for a target this machine" in message
    assert ("compiled 1.0 has only an sdist, and it holds C/C++ sources "
            f"(compiled/_speedups.c) ({target})") in message
    assert "--keep-sdists" in message and "prepare on a machine of the target" in message
    assert "the compiler ran" not in message  # known from the sdist: nothing was compiled
    assert not list(dest.glob("compiled-*.whl"))
    assert not (dest / "wheelhouse.json").exists()


def test_keep_sdists_ships_the_sdist_without_building_it(pypiserver, run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "compiled", "--python", OTHER, "--platform", "linux/amd64",
                     "--keep-sdists", "--index-url", pypiserver.url, "--dest", str(dest),
                     "--json")
    assert result.returncode == 0, result.stderr
    files = {f["filename"]: f for f in manifest(dest)["files"]}
    assert files["compiled-1.0.tar.gz"]["kind"] == "sdist"
    assert files["compiled-1.0.tar.gz"]["role"] == "install"
    assert not [name for name in files if name.endswith(".whl") and "compiled" in name]
    verified = run_cli("verify", str(dest))
    assert verified.returncode == 0, verified.stdout


def test_for_this_machines_python_a_compiled_sdist_is_built(pypiserver, run_cli, tmp_path):
    result = run_cli("prepare", "compiled", "--python", HOST, "--platform", "linux/amd64",
                     "--index-url", pypiserver.url, "--dest", str(tmp_path / "wh"))
    assert result.returncode == 2
    assert "the compiler ran" in result.stderr  # it was tried: its wheel would fit

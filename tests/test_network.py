"""A few end-to-end runs against PyPI itself (deselect with -m 'not network')."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import AIRFLOW_2_10_3, ROOT, offline_env, pip_install_offline, venv_python
from packaging.utils import canonicalize_name
from packaging.version import Version

from wheelhouse.manifest import Manifest

pytestmark = pytest.mark.network


def pyenv_python(version: str) -> str:
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    found = sorted(Path(root, "versions").glob(f"{version}.*/bin/python"))
    if not found:
        pytest.skip(f"no Python {version} under {root}/versions")
    return str(found[-1])


def names(dest: Path) -> dict[str, str]:
    document = json.loads((dest / "wheelhouse.json").read_text())
    return {f["name"]: f["version"] for f in document["files"]}


def test_pytest_for_python_310_from_a_newer_host(run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "pytest==8.3.5", "--python", "3.10", "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    found = names(dest)
    assert found["pytest"] == "8.3.5"
    assert {"exceptiongroup", "tomli"} <= set(found)  # behind python_version < "3.11"
    files = json.loads((dest / "wheelhouse.json").read_text())["files"]
    assert all(re.fullmatch(r"20\d\d-\d\d-\d\dT[\d:.]+Z", f["upload_time"]) for f in files)
    install = pip_install_offline(venv_python(tmp_path / "venv", pyenv_python("3.10")), dest)
    assert install.returncode == 0, install.stderr


def test_host_target_contains_every_pin_pip_picks(run_cli, tmp_path):
    constraints = tmp_path / "c.txt"
    constraints.write_text("urllib3==2.2.3\nidna==3.10\n")
    spec = "requests[socks]==2.32.3"
    dest = tmp_path / "wh"
    result = run_cli("prepare", spec, "--constraints", str(constraints), "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--ignore-installed",
         "--quiet", "--report", str(report), "--index-url", "https://pypi.org/simple",
         "-c", str(constraints), spec],
        check=True, env=env, capture_output=True,
    )
    picked = {
        (canonicalize_name(item["metadata"]["name"]), item["metadata"]["version"])
        for item in json.loads(report.read_text())["install"]
    }
    ours = set(names(dest).items())
    assert picked <= ours, picked - ours
    assert ("pysocks", "1.7.1") in ours or any(n == "pysocks" for n, _ in ours)


@pytest.mark.parametrize("python", ["3.11", "3.12"])
def test_airflow_2_10_3_installs_offline(run_cli, tmp_path, python):
    interpreter = pyenv_python(python)
    constraints = AIRFLOW_2_10_3 / f"constraints-{python}.txt"
    dest = tmp_path / "docker-context-files"
    result = run_cli("prepare", "apache-airflow[celery,postgres]==2.10.3", "--constraints",
                     str(constraints), "--python", python, "--dest", str(dest), timeout=900)
    assert result.returncode == 0, result.stderr
    found = names(dest)
    assert found["apache-airflow"] == "2.10.3"
    assert "apache-airflow-providers-celery" in found
    text = (dest / "wheelhouse.json").read_text()
    document = json.loads(text)
    nvd3 = [f for f in document["files"] if f["name"] == "python-nvd3"]
    assert nvd3 and nvd3[0]["kind"] == "built-wheel"  # python-nvd3 has only an sdist
    manifest = Manifest.load(dest)  # the one model reads the real folder whole...
    assert manifest is not None and manifest.problems == ()
    assert manifest.dumps() == text  # ...and writes it back byte for byte
    venv = venv_python(tmp_path / "venv", interpreter)
    install = pip_install_offline(venv, dest)
    assert install.returncode == 0, install.stderr[-2000:]
    check = subprocess.run([str(venv), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    verified = subprocess.run([sys.executable, "-m", "wheelhouse", "verify", str(dest)],
                              capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout
    if python == "3.12":
        review_the_airflow_folder(dest, tmp_path)
    # the image's own install step, replayed offline from the folder alone
    emulated = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "emulate_image_install.py"), str(dest),
         "--python", interpreter], capture_output=True, text=True)
    assert emulated.returncode == 0, emulated.stdout[-3000:] + emulated.stderr[-2000:]
    assert "installed offline: apache-airflow 2.10.3" in emulated.stdout


def review_the_airflow_folder(dest: Path, tmp_path: Path) -> None:
    """The review kit on the real folder, offline: an SBOM in each format checked against its
    schema and holding every file once with its sha256; every package's declared license."""
    env = offline_env(tmp_path / "guard")
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
              for p in dest.iterdir() if p.name.endswith((".whl", ".tar.gz", ".zip"))}
    for fmt in ("cyclonedx-json", "spdx-json"):
        out = tmp_path / f"airflow.{fmt}"
        done = subprocess.run([sys.executable, "-m", "wheelhouse", "sbom", str(dest), "--format",
                               fmt, "-o", str(out)], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        assert "checked against the" in done.stderr and "NOT" not in done.stderr
        document = json.loads(out.read_text())
        if fmt == "cyclonedx-json":
            found = {c["bom-ref"]: c["hashes"][0]["content"] for c in document["components"]}
        else:
            found = {p["packageFileName"]: p["checksums"][0]["checksumValue"]
                     for p in document["packages"]}
        assert found == hashes
    done = subprocess.run([sys.executable, "-m", "wheelhouse", "licenses", str(dest), "--json"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    packages = json.loads(done.stdout)["packages"]
    assert len(packages) == len(hashes)
    silent = [p["filename"] for p in packages if not any(p["declared"].values())]
    assert not silent, silent  # every package declares something, kept as declared
    with_spdx = sum(p["spdx"] != "unknown" for p in packages)
    assert with_spdx >= 0.8 * len(packages), with_spdx  # the share the closing note gives


def test_the_pylock_installs_with_no_index_and_no_find_links(run_cli, tmp_path):
    """PEP 751: pip >= 26.1 installs the folder's pylock.toml from its relative paths alone,
    in a Python that cannot open a socket."""
    dest = tmp_path / "wh"
    result = run_cli("prepare", "requests==2.32.3", "--python", "3.12", "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    venv = venv_python(tmp_path / "venv", pyenv_python("3.12"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    upgrade = subprocess.run([str(venv), "-m", "pip", "install", "--isolated", "--quiet",
                              "--index-url", "https://pypi.org/simple", "pip>=26.1"],
                             capture_output=True, text=True, env=env)
    assert upgrade.returncode == 0, upgrade.stderr
    offline = {**offline_env(tmp_path / "guard"), "PIP_CONFIG_FILE": os.devnull}
    install = subprocess.run([str(venv), "-m", "pip", "install", "--isolated",
                              "--disable-pip-version-check", "-r", str(dest / "pylock.toml")],
                             capture_output=True, text=True, env=offline)
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run([str(venv), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    shown = subprocess.run([str(venv), "-m", "pip", "show", "requests"], capture_output=True,
                           text=True)
    assert "Version: 2.32.3" in shown.stdout


def test_pytest_for_windows_has_colorama(run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "pytest==8.3.5", "--python", "3.12", "--platform", "win_amd64",
                     "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    assert "colorama" in names(dest)  # sys_platform == "win32"


def test_two_pythons_two_architectures_in_one_folder(run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "requests[socks]==2.32.3", "pytest==8.3.5", "--python", "3.11",
                     "--python", "3.12", "--platform", "linux/amd64", "--platform",
                     "linux/arm64", "--dest", str(dest), "--json")
    assert result.returncode == 0, result.stderr
    charset = sorted(p.name for p in dest.glob("charset_normalizer-*.whl"))
    for python in ("cp311", "cp312"):
        for arch in ("x86_64", "aarch64"):
            assert any(f"-{python}-" in name and arch in name for name in charset), charset
    verified = run_cli("verify", str(dest))
    assert verified.returncode == 0, verified.stdout
    locks = json.loads((dest / "wheelhouse.json").read_text())["locks"]
    for python in ("3.11", "3.12"):
        lock = dest / locks[f"cp{python.replace('.', '')}-manylinux_2_36_x86_64"]
        venv = venv_python(tmp_path / f"venv{python}", pyenv_python(python))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        install = subprocess.run(
            [str(venv), "-m", "pip", "install", "--isolated", "--no-index", "--find-links",
             str(dest), "--require-hashes", "-r", str(lock)],
            capture_output=True, text=True, env={**env, "PIP_CONFIG_FILE": os.devnull})
        assert install.returncode == 0, install.stderr


def test_sdist_only_python_nvd3_for_312(run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "python-nvd3==0.16.0", "--python", "3.12", "--dest", str(dest),
                     "--check-reproducible")
    assert result.returncode == 0, result.stderr
    document = json.loads((dest / "wheelhouse.json").read_text())
    nvd3 = next(f for f in document["files"] if f["name"] == "python-nvd3")
    assert nvd3["kind"] == "built-wheel" and nvd3["filename"].endswith("py3-none-any.whl")
    # How it was built: setuptools from PyPI, with the sha256 PyPI publishes for it, and two
    # builds with SOURCE_DATE_EPOCH fixed gave the same bytes.
    build = nvd3["build"]
    setuptools = next(r for r in build["requires"] if r["name"] == "setuptools")
    assert len(setuptools["sha256"]) == 64 and setuptools["url"].startswith("https://")
    assert build["backend"].startswith("setuptools.build_meta")
    assert build["reproducible"] is True
    assert run_cli("verify", str(dest)).returncode == 0
    # On the connected side, every file (the built wheel through its sdist) agrees with PyPI.
    asked = run_cli("verify", str(dest), "--against-index", "--index-url",
                    "https://pypi.org/simple", "--json")
    assert asked.returncode == 0, asked.stdout
    assert json.loads(asked.stdout)["against_index"] == ["https://pypi.org/simple"]


def test_python_ranges_agree_with_each_releases_requires_python():
    """The oldest Python build-args accepts is the oldest each release's Requires-Python on PyPI
    admits, and the newest is admitted (and the next refused, where an upper bound is given)."""
    import requests
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    from wheelhouse.buildargs import python_range

    releases = requests.get("https://pypi.org/pypi/apache-airflow/json", timeout=60).json()
    checked = 0
    for text, files in releases["releases"].items():
        version = Version(text)
        if version.is_prerelease or version < Version("1.10.13") or not files:
            continue
        specs = {f["requires_python"] for f in files if f.get("requires_python")}
        if len(specs) != 1:
            continue
        spec = SpecifierSet(specs.pop())
        lo, hi = python_range(text)

        def admits(minor: str, spec: SpecifierSet = spec) -> bool:
            return any(spec.contains(f"{minor}.{patch}") for patch in (0, 1, 20))

        below = f"3.{int(lo.split('.')[1]) - 1}"
        above = f"3.{int(hi.split('.')[1]) + 1}"
        assert admits(lo) and not admits(below), (text, str(spec), lo)
        assert admits(hi), (text, str(spec), hi)
        if any(s.operator in ("<", "<=") or (s.operator == "!=" and Version(
                s.version.removesuffix(".*")) > Version(hi)) for s in spec):  # an upper bound
            assert not spec.contains(f"{above}.0"), (text, str(spec), hi)  # "!=3.13" is X.Y.0
        checked += 1
    assert checked > 70  # 1.10.13 to today


def test_a_project_with_only_pre_releases(run_cli, tmp_path):
    dest = tmp_path / "wh"
    result = run_cli("prepare", "opentelemetry-instrumentation-requests", "--python", "3.12",
                     "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    document = json.loads((dest / "wheelhouse.json").read_text())
    otel = next(f for f in document["files"]
                if f["name"] == "opentelemetry-instrumentation-requests")
    assert Version(otel["version"]).is_prerelease  # as pip and uv choose: nothing is final
    assert run_cli("verify", str(dest)).returncode == 0


def test_pydantic_whose_index_page_lists_a_malformed_wheel_name(run_cli, tmp_path):
    # PyPI lists pydantic-0.18.2-py36+-none-any.whl, which packaging cannot read: skipped.
    dest = tmp_path / "wh"
    result = run_cli("prepare", "pydantic[email]<3", "--python", "3.12", "--platform",
                     "manylinux_2_28_x86_64", "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    assert run_cli("verify", str(dest)).returncode == 0

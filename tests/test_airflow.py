"""Airflow image readiness: what prepare ships, what verify demands, what build-args prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED

from wheelhouse.dockerfile import read_dockerfile


@pytest.fixture(scope="module")
def airflow_folder(pypiserver, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("airflow")
    constraints = root / "constraints-no-providers-3.11.txt"
    constraints.write_text("uv==0.4.1\npackaging==24.1\n")
    dest = root / "docker-context-files"
    result = subprocess.run(
        [sys.executable, "-m", "wheelhouse", "prepare", "apache-airflow[celery]==2.10.3",
         "--constraints", str(constraints), "--python", "3.11", "--platform", "linux/amd64",
         "--pip-version", "24.3.1", "--index-url", pypiserver.url, "--dest", str(dest)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    return dest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wheelhouse", *args], capture_output=True,
                          text=True)


def test_prepare_ships_what_the_image_installs_for_itself(airflow_folder):
    document = json.loads((airflow_folder / "wheelhouse.json").read_text())
    versions = {f["name"]: f["version"] for f in document["files"]}
    assert versions["apache-airflow"] == "2.10.3"
    assert versions["pip"] == "24.3.1"  # --pip-version
    assert versions["uv"] == "0.4.1" and versions["packaging"] == "24.1"  # the constraints' pins
    info = document["airflow"]
    assert info["version"] == "2.10.3"
    assert info["image_tools"] == {"pip": "24.3.1", "uv": "0.4.1", "packaging": "24.1"}
    assert info["constraints_mode"] == "constraints-no-providers"
    conf = (airflow_folder / "pip.conf").read_text()
    assert "no-index = true" in conf and "find-links = /docker-context-files" in conf
    assert "no-cache-dir = true" in conf
    copy = airflow_folder / "constraints-3.11" / "constraints-no-providers-3.11.txt"
    assert copy.read_text() == (airflow_folder / "constraints-3.11.txt").read_text()


def test_without_pins_the_newest_tools_are_shipped(pypiserver, tmp_path):
    dest = tmp_path / "wh"
    result = run("prepare", "apache-airflow==2.10.3", "--python", "3.11", "--uv-version",
                 "0.4.1", "--index-url", pypiserver.url, "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    versions = {f["name"]: f["version"] for f in
                json.loads((dest / "wheelhouse.json").read_text())["files"]}
    assert (versions["pip"], versions["uv"], versions["packaging"]) == ("25.0", "0.4.1", "24.2")


def test_verify_holds_and_names_what_the_image_would_miss(airflow_folder, tmp_path):
    result = run("verify", str(airflow_folder), "--json")
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["checked"]["airflow"] == 1

    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(airflow_folder, broken)
    (broken / "pip.conf").write_text("[global]\nfind-links = /elsewhere\n")
    uv = next(broken.glob("uv-*.whl"))
    uv.unlink()
    document = json.loads((broken / "wheelhouse.json").read_text())
    document["files"] = [f for f in document["files"] if f["name"] != "uv"]
    (broken / "wheelhouse.json").write_text(json.dumps(document))
    result = run("verify", str(broken), "--json")
    assert result.returncode == 1
    findings = [f for f in json.loads(result.stdout)["findings"] if f["check"] == "airflow"]
    messages = " ".join(f["message"] for f in findings)
    assert "uv is not in the folder" in messages
    assert "no-index" in messages and "/docker-context-files" in messages


def test_verify_catches_constraints_for_another_python(airflow_folder, tmp_path):
    import shutil

    folder = tmp_path / "wh"
    shutil.copytree(airflow_folder, folder)
    result = run("verify", str(folder), "--python", "3.12", "--json")
    assert result.returncode == 1
    findings = [f for f in json.loads(result.stdout)["findings"] if f["check"] == "airflow"]
    assert any(f["expected"] == "3.12" and f["found"] == "3.11" for f in findings)


def test_build_args_from_the_folder(airflow_folder):
    result = run("build-args", str(airflow_folder), "--format", "json")
    assert result.returncode == 0, result.stderr
    args = json.loads(result.stdout)["build_args"]
    assert args["AIRFLOW_VERSION"] == "2.10.3"
    assert args["AIRFLOW_PIP_VERSION"] == "24.3.1" and args["AIRFLOW_UV_VERSION"] == "0.4.1"
    assert args["AIRFLOW_CONSTRAINTS_LOCATION"] == "/docker-context-files/constraints-3.11.txt"
    assert args["AIRFLOW_CONSTRAINTS_MODE"] == "constraints-no-providers"
    assert args["PYTHON_BASE_IMAGE"] == "python:3.11-slim-bookworm"
    docker = run("build-args", str(airflow_folder)).stdout
    assert docker.startswith("docker build") and "--no-cache" in docker


@pytest.mark.parametrize("version, python, present, absent", [
    ("2.10.5", "3.11", ["INSTALL_PACKAGES_FROM_CONTEXT", "PYTHON_BASE_IMAGE=python:3.11-slim-"
                        "bookworm", "INSTALL_MSSQL_CLIENT=false"],
     ["INSTALL_DISTRIBUTIONS_FROM_CONTEXT", "INSTALL_FROM_DOCKER_CONTEXT_FILES",
      "AIRFLOW_PRE_CACHED_PIP_PACKAGES"]),
    ("2.2.5", "3.8", ["INSTALL_FROM_DOCKER_CONTEXT_FILES=true", "INSTALL_FROM_PYPI=false",
                      "INSTALL_MYSQL_CLIENT=false", "AIRFLOW_CONSTRAINTS=constraints"],
     ["INSTALL_PACKAGES_FROM_CONTEXT", "arg DOCKER_CONTEXT_FILES=", "AIRFLOW_CONSTRAINTS_MODE"]),
    ("3.0.6", "3.12", ["INSTALL_DISTRIBUTIONS_FROM_CONTEXT", "python:3.12-slim-bookworm"],
     ["INSTALL_PACKAGES_FROM_CONTEXT", "AIRFLOW_PRE_CACHED_PIP_PACKAGES", "BASE_IMAGE=debian"]),
    ("3.1.0", "3.12.11", ["BASE_IMAGE=debian:bookworm-slim", "AIRFLOW_PYTHON_VERSION=3.12.11"],
     ["PYTHON_BASE_IMAGE", "INSTALL_PACKAGES_FROM_CONTEXT"]),
])
def test_build_args_from_flags(version, python, present, absent):
    result = run("build-args", "--airflow-version", version, "--python", python)
    assert result.returncode == 0, result.stderr
    for text in present:
        assert text in result.stdout
    for text in absent:
        assert text not in result.stdout
    assert f"AIRFLOW_VERSION={version}" in result.stdout


def test_build_args_refuses_what_cannot_build_offline(tmp_path):
    result = run("build-args", "--airflow-version", "1.10.12", "--python", "3.7")
    assert result.returncode == 2 and "GitHub" in result.stderr
    result = run("build-args", str(tmp_path))
    assert result.returncode == 2 and "wheelhouse.json" in result.stderr


def test_airflow_3_1_ships_lxml_and_xmlsec_sdists_and_their_build_needs(pypiserver, tmp_path):
    dest = tmp_path / "wh"
    constraints = tmp_path / "constraints-3.11.txt"
    constraints.write_text("lxml==6.0.2\nxmlsec==1.3.16\n")
    result = run("prepare", "apache-airflow==3.1.0", "--constraints", str(constraints),
                 "--python", "3.11.9", "--platform", "linux/amd64", "--index-url", pypiserver.url,
                 "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    files = {f["filename"]: f for f in
             json.loads((dest / "wheelhouse.json").read_text())["files"]}
    for sdist in ("lxml-6.0.2.tar.gz", "xmlsec-1.3.16.tar.gz"):
        assert files[sdist]["kind"] == "sdist" and files[sdist]["role"] == "image"
        assert (dest / sdist).exists()
    builds = {f["name"] for f in files.values() if f["role"] == "build"}
    assert builds == {"wh-test-backend", "cythonish", "pkgconfigish"}  # lxml: the sdist serves
    lock = (dest / "requirements.lock.txt").read_text()
    assert "cythonish" not in lock and "lxml==6.0.2" in lock
    verified = run("verify", str(dest), "--json")
    assert verified.returncode == 0, verified.stdout
    record = json.loads(run("build-args", str(dest), "--json").stdout)  # the folder's X.Y.Z
    assert record["build_args"]["AIRFLOW_PYTHON_VERSION"] == "3.11.9"
    assert record["build_args"]["BASE_IMAGE"] == "debian:bookworm-slim"
    assert record["offline"] is False


def test_build_args_carries_the_folders_extras(airflow_folder):
    record = json.loads(run("build-args", str(airflow_folder), "--json").stdout)
    assert record["build_args"]["AIRFLOW_EXTRAS"] == "celery"  # apache-airflow[celery]==2.10.3
    assert record["offline"] is True and record["blockers"] == [] and record["warnings"] == []
    other = json.loads(run("build-args", str(airflow_folder), "--json", "--extras",
                           "postgres, celery").stdout)
    assert other["build_args"]["AIRFLOW_EXTRAS"] == "celery,postgres"


def test_offline_verdict_and_require_offline():
    result = run("build-args", "--airflow-version", "3.1.0", "--python", "3.12.11", "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["offline"] is False
    whats = [blocker["what"] for blocker in record["blockers"]]
    assert "uv tool install" in whats and "Python from python.org" in whats
    assert all(blocker["why"] and blocker["workaround"] for blocker in record["blockers"])
    required = run("build-args", "--airflow-version", "3.1.0", "--python", "3.12.11",
                   "--require-offline")
    assert required.returncode == 1
    assert "# offline: NO." in required.stdout and "python.org" in required.stdout
    assert json.loads(run("build-args", "--airflow-version", "2.10.5", "--python", "3.11",
                          "--json").stdout)["offline"] is True
    fine = run("build-args", "--airflow-version", "2.10.5", "--python", "3.11",
               "--require-offline")
    assert fine.returncode == 0 and "# offline: yes." in fine.stdout


def test_breeze_is_refused_in_one_sentence():
    result = run("build-args", "--airflow-version", "2.10.5", "--python", "3.11", "--format",
                 "breeze")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("error:") == 1 and "GitHub URL" in result.stderr


def test_extras_must_be_names():
    result = run("build-args", "--airflow-version", "2.10.5", "--python", "3.11", "--extras",
                 "celery,$(reboot)")
    assert result.returncode == 2 and result.stdout == ""
    assert "'$(reboot)' is not an extra's name" in result.stderr


def test_python_range_is_checked_before_2_10():
    result = run("build-args", "--airflow-version", "2.3.4", "--python", "3.11")
    assert result.returncode == 2
    assert "Airflow 2.3.4 does not support Python 3.11 (it supports 3.7 to 3.10)" in result.stderr


def _dockerfile(tmp_path: Path, *args: str) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM scratch\n" + "".join(f"ARG {arg}\n" for arg in args))
    return path


def test_dockerfile_of_a_real_release_limits_the_names(tmp_path):
    real = SHARED / "airflow-dockerfiles" / "Dockerfile-2.10.5"
    path = real if real.exists() else _dockerfile(
        tmp_path, "AIRFLOW_VERSION=2.10.4", "INSTALL_PACKAGES_FROM_CONTEXT=false",
        "USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES=false", "DOCKER_CONTEXT_FILES=Dockerfile",
        "INSTALL_MYSQL_CLIENT=true", "INSTALL_MSSQL_CLIENT=true", "AIRFLOW_EXTRAS=a",
        "AIRFLOW_CONSTRAINTS_LOCATION=", "AIRFLOW_CONSTRAINTS_MODE=constraints",
        "AIRFLOW_INSTALLATION_METHOD=apache-airflow", "AIRFLOW_PIP_VERSION=25.0",
        "AIRFLOW_UV_VERSION=0.5.24", "PYTHON_BASE_IMAGE=python:3.8-slim-bookworm")
    result = run("build-args", "--dockerfile", str(path), "--python", "3.11", "--extras",
                 "celery", "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["airflow_version"] == "2.10.4"  # that Dockerfile's own AIRFLOW_VERSION
    declared = read_dockerfile(path)
    assert set(record["build_args"]) <= set(declared)
    assert record["warnings"] == [] and record["offline"] is True


def test_dockerfile_serves_a_release_newer_than_the_table(tmp_path):
    path = _dockerfile(tmp_path, "AIRFLOW_VERSION=3.4.0", "AIRFLOW_EXTRAS=a",
                       "INSTALL_DISTRIBUTIONS_FROM_CONTEXT=false", "AIRFLOW_PYTHON_VERSION=3.13.7",
                       "AIRFLOW_CONSTRAINTS_LOCATION=", "INSTALL_MYSQL_CLIENT=true",
                       "PYTHON_BASE_IMAGE=python:3.13-slim-trixie")
    refused = run("build-args", "--airflow-version", "3.4.0", "--python", "3.13.7")
    assert refused.returncode == 2 and "--dockerfile" in refused.stderr
    result = run("build-args", "--dockerfile", str(path), "--python", "3.13", "--extras", "",
                 "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["airflow_version"] == "3.4.0" and record["generation"] == "3.4+"
    assert record["build_args"] == {
        "INSTALL_DISTRIBUTIONS_FROM_CONTEXT": "true",
        "INSTALL_MYSQL_CLIENT": "false",
        "AIRFLOW_EXTRAS": "",
        "AIRFLOW_CONSTRAINTS_LOCATION": "/docker-context-files/constraints-3.13.txt",
        "AIRFLOW_VERSION": "3.4.0",
        "PYTHON_BASE_IMAGE": "python:3.13-slim-trixie",  # the Dockerfile's own variant
        "AIRFLOW_PYTHON_VERSION": "3.13.7",  # its default, for the Python asked for
    }
    lacking = " ".join(record["warnings"])
    for name in ("USE_CONSTRAINTS_FOR_CONTEXT_DISTRIBUTIONS", "INSTALL_MSSQL_CLIENT",
                 "AIRFLOW_CONSTRAINTS_MODE"):
        assert name in lacking
    assert "DOCKER_CONTEXT_FILES" not in lacking  # without it the name is hard-coded
    assert record["offline"] is False  # uv tool install, python.org, cosign: as 3.3


@pytest.mark.parametrize("content, words", [
    (b"\x00\xff\xfe binary", "not UTF-8"),
    (b"FROM scratch\nRUN true\n", "declares no ARG"),
    (b"FROM scratch\nARG AIRFLOW_VERSION=2.0.0.dev0\n", "give --airflow-version"),
    (b"A" * ((4 << 20) + 1), "over 4 MiB"),
], ids=["binary", "no-arg", "dev-version", "huge"])
def test_bad_dockerfile_is_one_sentence(tmp_path, content, words):
    path = tmp_path / "Dockerfile"
    path.write_bytes(content)
    result = run("build-args", "--dockerfile", str(path), "--python", "3.11")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("error:") == 1 and words in result.stderr
    assert "Traceback" not in result.stderr
    missing = run("build-args", "--dockerfile", str(tmp_path / "absent"), "--python", "3.11")
    assert missing.returncode == 2 and "No such file" in missing.stderr
    folder = run("build-args", "--dockerfile", str(tmp_path), "--python", "3.11")
    assert folder.returncode == 2 and "is a folder" in folder.stderr

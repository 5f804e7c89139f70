"""Build args per Airflow release, checked against every release's Dockerfile; the offline
verdict; the renderings."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from conftest import SHARED
from packaging.version import Version

from wheelhouse.airflow import IMAGE_TOOLS, MODES, required_tools
from wheelhouse.buildargs import build_args, generation, render
from wheelhouse.dockerfile import read_dockerfile
from wheelhouse.errors import InputError

ARGS_JSON = SHARED / "airflow-dockerfile-args" / "args.json"
DOCKERFILES = SHARED / "airflow-dockerfiles"

# What an offline build from the folder needs, wherever that release's Dockerfile declares it.
NEEDED = {
    "AIRFLOW_LOCAL_PIP_WHEELS", "INSTALL_AIRFLOW_VIA_PIP", "INSTALL_FROM_DOCKER_CONTEXT_FILES",
    "INSTALL_FROM_PYPI", "INSTALL_PACKAGES_FROM_CONTEXT", "USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES",
    "INSTALL_DISTRIBUTIONS_FROM_CONTEXT", "USE_CONSTRAINTS_FOR_CONTEXT_DISTRIBUTIONS",
    "DOCKER_CONTEXT_FILES", "AIRFLOW_PRE_CACHED_PIP_PACKAGES", "INSTALL_MYSQL_CLIENT",
    "INSTALL_MSSQL_CLIENT", "INSTALL_POSTGRES_CLIENT", "AIRFLOW_EXTRAS",
    "AIRFLOW_CONSTRAINTS_LOCATION", "AIRFLOW_CONSTRAINTS_MODE", "AIRFLOW_CONSTRAINTS",
    "AIRFLOW_VERSION",
    "AIRFLOW_INSTALLATION_METHOD", "AIRFLOW_INSTALL_SOURCES", "AIRFLOW_INSTALL_VERSION",
    "PIP_VERSION", "AIRFLOW_PIP_VERSION", "AIRFLOW_UV_VERSION", "PYTHON_BASE_IMAGE",
    "PYTHON_MAJOR_MINOR_VERSION", "BASE_IMAGE", "AIRFLOW_PYTHON_VERSION",
    "AIRFLOW_SETUPTOOLS_VERSION",
}
ON = {"AIRFLOW_LOCAL_PIP_WHEELS", "INSTALL_FROM_DOCKER_CONTEXT_FILES",
      "INSTALL_PACKAGES_FROM_CONTEXT", "USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES",
      "INSTALL_DISTRIBUTIONS_FROM_CONTEXT", "USE_CONSTRAINTS_FOR_CONTEXT_DISTRIBUTIONS"}
OFF = {"INSTALL_AIRFLOW_VIA_PIP", "INSTALL_FROM_PYPI", "AIRFLOW_PRE_CACHED_PIP_PACKAGES",
       "INSTALL_MYSQL_CLIENT", "INSTALL_MSSQL_CLIENT"}
# Dated snapshots of main stand in for the 3.x releases they were taken between.
SNAPSHOTS = {"main-2025-04-01": "3.0.0", "main-2025-08-25": "3.0.5",
             "main-2025-09-20": "3.1.0", "main-2026-03-07": "3.1.7"}

# Without ../shared: small Dockerfiles of a few releases (their ARG lines, from args.json).
SMALL = {
    "1.10.13": "AIRFLOW_CONSTRAINTS_LOCATION=x AIRFLOW_INSTALL_SOURCES=. AIRFLOW_INSTALL_VERSION= "
               "AIRFLOW_LOCAL_PIP_WHEELS= AIRFLOW_PRE_CACHED_PIP_PACKAGES=true AIRFLOW_EXTRAS=a "
               "AIRFLOW_VERSION=2.0.0.dev0 INSTALL_AIRFLOW_VIA_PIP=true INSTALL_MYSQL_CLIENT=true "
               "PYTHON_BASE_IMAGE=python:3.6-slim-buster PYTHON_MAJOR_MINOR_VERSION=3.6",
    "2.0.2": "AIRFLOW_CONSTRAINTS=constraints-2.0 AIRFLOW_CONSTRAINTS_LOCATION= AIRFLOW_EXTRAS=a "
             "AIRFLOW_INSTALLATION_METHOD=apache-airflow AIRFLOW_PIP_VERSION=20.2.4 "
             "AIRFLOW_PRE_CACHED_PIP_PACKAGES=false AIRFLOW_VERSION=2.0.1 "
             "INSTALL_FROM_DOCKER_CONTEXT_FILES= INSTALL_FROM_PYPI=true INSTALL_MYSQL_CLIENT=true "
             "PYTHON_BASE_IMAGE=python:3.6-slim-buster",
    "2.7.1": "AIRFLOW_CONSTRAINTS_LOCATION= AIRFLOW_CONSTRAINTS_MODE=constraints AIRFLOW_EXTRAS=a "
             "AIRFLOW_INSTALLATION_METHOD=apache-airflow AIRFLOW_PIP_VERSION=23.2.1 "
             "AIRFLOW_PRE_CACHED_PIP_PACKAGES=false AIRFLOW_VERSION=2.7.0 "
             "DOCKER_CONTEXT_FILES=Dockerfile INSTALL_MSSQL_CLIENT=true INSTALL_MYSQL_CLIENT=true "
             "INSTALL_POSTGRES_CLIENT=true "
             "INSTALL_PACKAGES_FROM_CONTEXT=false PYTHON_BASE_IMAGE=python:3.8-slim-bullseye "
             "USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES=false",
    "2.10.5": "AIRFLOW_CONSTRAINTS_LOCATION= AIRFLOW_CONSTRAINTS_MODE=constraints AIRFLOW_EXTRAS=a "
              "AIRFLOW_INSTALLATION_METHOD=apache-airflow AIRFLOW_PIP_VERSION=25.0 "
              "AIRFLOW_UV_VERSION=0.5.24 AIRFLOW_VERSION=2.10.4 DOCKER_CONTEXT_FILES=Dockerfile "
              "INSTALL_MSSQL_CLIENT=true INSTALL_MYSQL_CLIENT=true INSTALL_POSTGRES_CLIENT=true "
              "INSTALL_PACKAGES_FROM_CONTEXT=false PYTHON_BASE_IMAGE=python:3.8-slim-bookworm "
              "USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES=false",
    "main-2025-08-25": "AIRFLOW_CONSTRAINTS_LOCATION= AIRFLOW_CONSTRAINTS_MODE=constraints "
                       "AIRFLOW_EXTRAS=a AIRFLOW_INSTALLATION_METHOD=apache-airflow "
                       "AIRFLOW_PIP_VERSION=25.2 AIRFLOW_SETUPTOOLS_VERSION=80.9.0 "
                       "AIRFLOW_UV_VERSION=0.8.13 AIRFLOW_VERSION=3.0.5 "
                       "DOCKER_CONTEXT_FILES=Dockerfile INSTALL_DISTRIBUTIONS_FROM_CONTEXT=false "
                       "INSTALL_MSSQL_CLIENT=true INSTALL_MYSQL_CLIENT=true "
                       "INSTALL_POSTGRES_CLIENT=true PYTHON_BASE_IMAGE=python:3.10-slim-bookworm "
                       "USE_CONSTRAINTS_FOR_CONTEXT_DISTRIBUTIONS=false",
    "main-2026-03-07": "AIRFLOW_CONSTRAINTS_LOCATION= AIRFLOW_CONSTRAINTS_MODE=constraints "
                       "AIRFLOW_EXTRAS=a AIRFLOW_INSTALLATION_METHOD=apache-airflow "
                       "AIRFLOW_PIP_VERSION=26.0.1 AIRFLOW_PYTHON_VERSION=3.12.13 "
                       "AIRFLOW_UV_VERSION=0.10.8 AIRFLOW_VERSION=3.1.7 "
                       "BASE_IMAGE=debian:bookworm-slim DOCKER_CONTEXT_FILES=Dockerfile "
                       "INSTALL_DISTRIBUTIONS_FROM_CONTEXT=false INSTALL_MSSQL_CLIENT=true "
                       "INSTALL_MYSQL_CLIENT=true INSTALL_POSTGRES_CLIENT=true "
                       "USE_CONSTRAINTS_FOR_CONTEXT_DISTRIBUTIONS=false",
}


def _releases(tmp_path: Path) -> dict[str, dict[str, str | None]]:
    """Every release's declared ARGs: args.json when beside the checkout, else SMALL, read
    back through the Dockerfile reader the --dockerfile flag uses."""
    if ARGS_JSON.exists():
        return json.loads(ARGS_JSON.read_text())
    releases = {}
    for key, text in SMALL.items():
        dockerfile = tmp_path / f"Dockerfile-{key}"
        dockerfile.write_text("".join(f"ARG {arg}\n" for arg in text.split()))
        releases[key] = read_dockerfile(dockerfile)
    return releases


def _needed(declared: dict[str, str | None]) -> set[str]:
    needed = NEEDED & set(declared)
    if declared.get("AIRFLOW_CONSTRAINTS") not in (None, *MODES):
        needed.discard("AIRFLOW_CONSTRAINTS")  # 2.0.2: a reference, not a mode
    if "AIRFLOW_INSTALLATION_METHOD" in declared:
        needed.discard("AIRFLOW_INSTALL_VERSION")  # only the index install (switched off) uses it
    return needed


def test_every_release_prints_exactly_what_its_dockerfile_declares_and_needs(tmp_path) -> None:
    """Both directions over every release: nothing undeclared printed, nothing needed missing,
    each switch the right way, the base image of the Dockerfile's own Debian."""
    releases = _releases(tmp_path)
    assert len(releases) >= (58 if ARGS_JSON.exists() else len(SMALL))
    walked = []
    for key, declared in releases.items():
        version = SNAPSHOTS.get(key, key)
        if version == "1.10.12":
            with pytest.raises(InputError, match="cannot be built offline"):
                build_args(version, "3.7")
            continue
        python = next(py for since, py in (("3.1", "3.12.11"), ("2.11", "3.10"), ("2.0", "3.8"),
                                           ("1.10", "3.7")) if Version(version) >= Version(since))
        for given in (None, declared):  # from the table, and through --dockerfile
            args = build_args(version, python, pip_version="24.0", uv_version="0.5.0",
                              setuptools_version="80.9.0",
                              extras=("celery", "cncf.kubernetes"), declared=given)
            undeclared = set(args) - set(declared)
            assert not undeclared, f"{key}: prints {sorted(undeclared)}, not declared"
            missing = _needed(declared) - set(args)
            assert not missing, f"{key}: needs {sorted(missing)}, not printed"
            assert given is None or not args.warnings, (key, args.warnings)
            for name in ON & set(args):
                assert args[name] == "true", (key, name)
            for name in OFF & set(args):
                assert args[name] == "false", (key, name)
            assert args["AIRFLOW_VERSION"] == version
            assert args["AIRFLOW_EXTRAS"] == "celery,cncf-kubernetes"
            compiles = any(b.what == "Python from python.org" for b in args.blockers)
            assert compiles == ("AIRFLOW_PYTHON_VERSION" in declared), key
            if "PYTHON_BASE_IMAGE" in args:  # the Debian release of that Dockerfile's default
                default = declared["PYTHON_BASE_IMAGE"] or ""
                assert args["PYTHON_BASE_IMAGE"].split("-", 1)[1] == default.split("-", 1)[1]
        walked.append(key)
    assert len(walked) == len(releases) - ("1.10.12" in releases)


def test_the_3_0_5_dockerfile_installs_the_folders_setuptools(tmp_path) -> None:
    """Its Dockerfile pip-installs setuptools==AIRFLOW_SETUPTOOLS_VERSION (default 80.9.0) by
    name: the folder's version must be passed, and only where a Dockerfile declares it."""
    declared = _releases(tmp_path)["main-2025-08-25"]
    assert declared["AIRFLOW_SETUPTOOLS_VERSION"] == "80.9.0"
    for given in (None, declared):
        args = build_args("3.0.6", "3.11", pip_version="25.2", uv_version="0.8.13",
                          setuptools_version="75.8.0", extras=("celery",), declared=given)
        assert args["AIRFLOW_SETUPTOOLS_VERSION"] == "75.8.0"
    for version in ("3.0.0", "2.10.5", "3.1.0"):  # their Dockerfiles install none by name
        args = build_args(version, "3.11" if version < "3.1" else "3.12.11", pip_version="25.2",
                          setuptools_version="75.8.0")
        assert "AIRFLOW_SETUPTOOLS_VERSION" not in args, version
    assert "setuptools" in required_tools("3.0.6")
    assert "setuptools" not in required_tools("3.0.0") + required_tools("2.10.5")
    assert set(required_tools(None)) == set(IMAGE_TOOLS) - {"setuptools"}  # every release's


def test_1_10_13_is_the_seed_recipe_made_offline() -> None:
    """The 1.10.13 docs recipe (local wheels, no pre-cache, no MySQL), plus INSTALL_AIRFLOW_VIA_PIP
    =false: the recipe left it true, so the build still installed Airflow from the index."""
    args = build_args("1.10.13", "3.7", extras=("celery", "postgres"))
    assert dict(args) == {
        "AIRFLOW_LOCAL_PIP_WHEELS": "true",
        "INSTALL_AIRFLOW_VIA_PIP": "false",
        "AIRFLOW_PRE_CACHED_PIP_PACKAGES": "false",
        "INSTALL_MYSQL_CLIENT": "false",
        "AIRFLOW_EXTRAS": "celery,postgres",
        "AIRFLOW_CONSTRAINTS_LOCATION": "/docker-context-files/constraints-3.7.txt",
        "AIRFLOW_VERSION": "1.10.13",
        "AIRFLOW_INSTALL_SOURCES": "apache-airflow",
        "AIRFLOW_INSTALL_VERSION": "==1.10.13",
        "PYTHON_BASE_IMAGE": "python:3.7-slim-buster",
        "PYTHON_MAJOR_MINOR_VERSION": "3.7",
    }
    assert [blocker.what for blocker in args.blockers] == ["yarn install of the web UI"]
    text = render(args, "docker")
    assert argv(text)[:3] == ["docker", "build", "--no-cache"]


def argv(command: str) -> list[str]:
    """Split a rendered command as the shell would: backslash-newline continues the line."""
    return shlex.split(command.replace("\\\n", ""))


def test_generation_names() -> None:
    assert generation("1.10.13") == "1.10.13-14"
    assert generation("1.10.14") == "1.10.13-14"
    assert generation("1.10.15") == "1.10.15-2.2"
    assert generation("2.2.5") == "1.10.15-2.2"
    assert generation("2.3.0") == "2.3-2.11"
    assert generation("2.10.3") == "2.3-2.11"
    assert generation("2.11.1") == "2.3-2.11"
    assert generation("3.0.6") == "3.0"
    assert generation("3.1.0") == "3.1-3.3"
    assert generation("3.1.0rc1") == "3.1-3.3"  # a candidate builds like its release
    assert generation("3.3.0") == "3.1-3.3"
    assert generation("3.4.0", dockerfile=True) == "3.4+"


@pytest.mark.parametrize("version", ["1.10.12", "1.10.9", "1.9.0"])
def test_old_airflow_cannot_build_offline(version: str) -> None:
    with pytest.raises(InputError, match="GitHub"):
        generation(version)
    with pytest.raises(InputError, match="GitHub"):
        build_args(version, "3.7")


def test_unknown_newer_base_image_is_refused() -> None:
    with pytest.raises(InputError, match="base image"):
        build_args("3.4.0", "3.12", python_patch="3.12.11")


def test_not_a_version() -> None:
    with pytest.raises(InputError, match="not an Airflow version"):
        generation("latest")


def test_pre_cached_packages_arg_is_gone_from_2_10_5() -> None:
    assert build_args("2.10.3", "3.11")["AIRFLOW_PRE_CACHED_PIP_PACKAGES"] == "false"
    assert build_args("2.10.4", "3.11")["AIRFLOW_PRE_CACHED_PIP_PACKAGES"] == "false"
    for version in ("2.10.5", "2.11.0", "3.0.6"):
        assert "AIRFLOW_PRE_CACHED_PIP_PACKAGES" not in build_args(version, "3.10")


def test_context_constraints_switch_from_2_7_1() -> None:
    assert "USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES" not in build_args("2.7.0", "3.11")
    assert build_args("2.7.1", "3.11")["USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES"] == "true"


def test_constraints_mode_names() -> None:
    assert "AIRFLOW_CONSTRAINTS" not in build_args("2.0.2", "3.8")  # a reference there
    assert build_args("2.1.0", "3.8")["AIRFLOW_CONSTRAINTS"] == "constraints"
    assert build_args("2.3.0", "3.10")["AIRFLOW_CONSTRAINTS"] == "constraints"
    assert "AIRFLOW_CONSTRAINTS_MODE" not in build_args("2.3.0", "3.10")
    assert build_args("2.3.1", "3.10")["AIRFLOW_CONSTRAINTS_MODE"] == "constraints"
    args = build_args("2.10.5", "3.11", constraints_mode="no-providers")
    assert args["AIRFLOW_CONSTRAINTS_MODE"] == "constraints-no-providers"
    with pytest.raises(InputError, match="constraints mode"):
        build_args("2.10.5", "3.11", constraints_mode="everything")


def test_pip_name_per_release() -> None:
    assert "PIP_VERSION" not in build_args("1.10.13", "3.7", pip_version="20.2.4")
    assert build_args("1.10.14", "3.7", pip_version="20.2.4")["PIP_VERSION"] == "20.2.4"
    assert build_args("2.0.0", "3.8", pip_version="20.2.4")["PIP_VERSION"] == "20.2.4"
    assert build_args("2.0.1", "3.8", pip_version="20.2.4")["AIRFLOW_PIP_VERSION"] == "20.2.4"
    assert "PYTHON_MAJOR_MINOR_VERSION" in build_args("2.0.1", "3.8")
    assert "PYTHON_MAJOR_MINOR_VERSION" not in build_args("2.0.2", "3.8")


@pytest.mark.parametrize(
    ("airflow", "python", "image"),
    [
        ("1.10.14", "3.7", "python:3.7-slim-buster"),
        ("2.2.5", "3.9", "python:3.9-slim-buster"),
        ("2.3.0", "3.10", "python:3.10-slim-bullseye"),
        ("2.8.0", "3.11", "python:3.11-slim-bookworm"),
        ("2.10.5", "3.12", "python:3.12-slim-bookworm"),
        ("3.0.6", "3.9", "python:3.9-slim-bookworm"),
    ],
)
def test_base_image_is_the_python_asked_for(airflow: str, python: str, image: str) -> None:
    args = build_args(airflow, python)
    assert args["PYTHON_BASE_IMAGE"] == image
    assert args["AIRFLOW_CONSTRAINTS_LOCATION"].endswith(f"constraints-{python}.txt")


def test_airflow_3_1_compiles_the_exact_python() -> None:
    by_patch = build_args("3.1.0", "3.13", python_patch="3.13.7")
    by_python = build_args("3.1.0", "3.13.7")
    assert dict(by_patch) == dict(by_python)
    assert by_python["AIRFLOW_PYTHON_VERSION"] == "3.13.7"
    assert by_python["AIRFLOW_CONSTRAINTS_LOCATION"].endswith("constraints-3.13.txt")
    assert "PYTHON_BASE_IMAGE" not in by_python
    assert build_args("3.1.0rc1", "3.12.11")["AIRFLOW_VERSION"] == "3.1.0rc1"


def test_airflow_3_1_without_patch_version_says_the_dockerfile_default() -> None:
    with pytest.raises(InputError, match=r"give --python 3\.12\.N \(its Dockerfile's default "
                                         r"is 3\.12\.11\)"):
        build_args("3.1.0", "3.12")
    with pytest.raises(InputError, match=r"default is 3\.12\.13"):
        build_args("3.1.7", "3.12")
    declared = {"AIRFLOW_PYTHON_VERSION": "3.12.13", "BASE_IMAGE": "debian:bookworm-slim"}
    with_dockerfile = build_args("3.1.7", "3.12", declared=declared)  # what that file compiles
    assert with_dockerfile["AIRFLOW_PYTHON_VERSION"] == "3.12.13"
    with pytest.raises(InputError, match="exact"):  # another minor: no default to fall back on
        build_args("3.1.7", "3.11", declared=declared)


@pytest.mark.parametrize(
    ("python", "patch"), [("3.12", "3.11.9"), ("3.12", "3.12"), ("3.12.1", "3.12.2")]
)
def test_inconsistent_patch_version_raises(python: str, patch: str) -> None:
    with pytest.raises(InputError):
        build_args("3.1.0", python, python_patch=patch)


@pytest.mark.parametrize("python", ["3", "311", "3.11.x", "python3.11", ""])
def test_python_must_be_major_minor(python: str) -> None:
    with pytest.raises(InputError, match="X.Y"):
        build_args("2.10.5", python)


@pytest.mark.parametrize(
    ("airflow", "python"),
    [
        ("2.10.5", "3.7"),
        ("2.10.5", "3.13"),
        ("2.11.0", "3.8"),
        ("2.11.1", "3.9"),
        ("3.0.6", "3.13"),
        ("3.1.0", "3.9.18"),
        ("3.1.0", "3.14.0"),
    ],
)
def test_unsupported_python_names_both(airflow: str, python: str) -> None:
    py = ".".join(python.split(".")[:2])
    with pytest.raises(InputError, match=rf"Airflow {airflow} does not support Python {py}\b"):
        build_args(airflow, python)


@pytest.mark.parametrize(
    ("airflow", "python"),
    [("2.10.5", "3.8"), ("2.11.0", "3.9"), ("2.11.1", "3.12"), ("3.1.0", "3.13.7"),
     ("3.2.0", "3.14.0")],
)
def test_supported_python_edges(airflow: str, python: str) -> None:
    build_args(airflow, python)


def test_pip_and_uv_versions() -> None:
    args = build_args("2.10.5", "3.11", pip_version="24.3.1", uv_version="0.5.24")
    assert args["AIRFLOW_PIP_VERSION"] == "24.3.1"
    assert args["AIRFLOW_UV_VERSION"] == "0.5.24"
    old = build_args("2.8.4", "3.11", pip_version="24.0", uv_version="0.1.0")
    assert old["AIRFLOW_PIP_VERSION"] == "24.0"
    assert "AIRFLOW_UV_VERSION" not in old  # uv entered the image in 2.9
    assert "AIRFLOW_PIP_VERSION" not in build_args("2.10.5", "3.11")
    assert "AIRFLOW_UV_VERSION" not in build_args("3.0.6", "3.12")


def test_docker_rendering_parses_back() -> None:
    args = build_args("2.10.5", "3.11", pip_version="24.3.1")
    text = render(args, "docker", context="ctx dir", tag="my/airflow:2.10.5")
    assert text.startswith("docker build \\\n")
    tokens = argv(text)
    assert tokens[:2] == ["docker", "build"]
    assert "--no-cache" in tokens
    assert tokens[-1] == "ctx dir"
    assert tokens[tokens.index("--tag") + 1] == "my/airflow:2.10.5"
    pairs = [tokens[i + 1] for i, token in enumerate(tokens) if token == "--build-arg"]
    assert dict(pair.split("=", 1) for pair in pairs) == dict(args)
    assert [pair.split("=", 1)[0] for pair in pairs] == list(args)


def test_docker_rendering_quotes_values() -> None:
    args = build_args("3.0.6", "3.12", constraints_mode="source-providers")
    text = render(args, "docker")
    tokens = argv(text)
    assert tokens[-1] == "."
    assert "--tag" not in tokens
    pairs = [tokens[i + 1] for i, token in enumerate(tokens) if token == "--build-arg"]
    assert dict(pair.split("=", 1) for pair in pairs) == dict(args)


def test_env_rendering() -> None:
    args = build_args("3.1.0", "3.12.11")
    text = render(args, "env")
    parsed = dict(shlex.split(line)[0].split("=", 1) for line in text.splitlines())
    assert parsed == dict(args)


@pytest.mark.parametrize(("airflow", "python"), [
    ("1.10.14", "3.8"), ("2.2.5", "3.8"), ("2.7.3", "3.8"), ("2.10.5", "3.11"), ("3.0.6", "3.12")])
def test_breeze_is_refused_with_the_reason(airflow: str, python: str) -> None:
    with pytest.raises(InputError, match=f"Breeze cannot build Airflow {airflow} offline: .*"
                                         "GitHub URL"):
        render(build_args(airflow, python), "breeze")


@pytest.mark.parametrize(("airflow", "python", "offline"), [
    ("2.10.5", "3.11", False), ("2.2.5", "3.8", True), ("2.2.3", "3.8", False)])
def test_json_round_trips(airflow: str, python: str, offline: bool) -> None:
    args = build_args(airflow, python)
    text = render(args, "json", tag="t")
    record = json.loads(text)
    assert list(record) == sorted(record)
    assert record["airflow_version"] == airflow
    assert record["python"] == python
    assert record["generation"] == generation(airflow)
    assert record["build_args"] == dict(args)
    assert record["docker_flags"][0] == "--no-cache"
    assert record["docker_flags"][-2:] == ["--tag", "t"]
    docker = argv(render(args, "docker", tag="t"))
    assert docker[2:-1] == record["docker_flags"]
    assert record["breeze_flags"] is None and "GitHub" in record["breeze_refused"]
    assert record["offline"] is offline  # 2.2.3: a root pip step asks PyPI; 2.10.5: Docker's
    # apt repository (a real build's proxy log: scripts/prove_image.py)
    assert record["blockers"] == [b.to_json() for b in args.blockers]
    assert json.loads(json.dumps(record)) == record


def test_unknown_format() -> None:
    with pytest.raises(InputError, match="docker, breeze, json, env"):
        render(build_args("2.10.5", "3.11"), "yaml")


def test_acceptance_cases() -> None:
    """The four cases the CLI is accepted on."""
    a = build_args("2.10.5", "3.11")
    assert a["INSTALL_PACKAGES_FROM_CONTEXT"] == "true"
    assert a["PYTHON_BASE_IMAGE"] == "python:3.11-slim-bookworm"
    b = build_args("2.2.5", "3.8")
    assert b["INSTALL_FROM_DOCKER_CONTEXT_FILES"] == "true" and b["INSTALL_FROM_PYPI"] == "false"
    c = build_args("3.0.6", "3.12")
    assert c["INSTALL_DISTRIBUTIONS_FROM_CONTEXT"] == "true"
    assert "AIRFLOW_PRE_CACHED_PIP_PACKAGES" not in c
    d = build_args("3.1.0", "3.12.11")
    assert d["BASE_IMAGE"] == "debian:bookworm-slim"
    assert d["AIRFLOW_PYTHON_VERSION"] == "3.12.11"

"""Build args and Breeze flags per Dockerfile generation, and their renderings."""

from __future__ import annotations

import json
import shlex

import pytest

from wheelhouse.buildargs import breeze_flags, build_args, generation, render
from wheelhouse.errors import InputError

# Every name some generation declares: a set must hold its own and none of the others.
SWITCHES = {
    "1.10.13-14": {"AIRFLOW_LOCAL_PIP_WHEELS", "INSTALL_AIRFLOW_VIA_PIP"},
    "1.10.15-2.2": {"INSTALL_FROM_DOCKER_CONTEXT_FILES", "INSTALL_FROM_PYPI"},
    "2.3-2.11": {"INSTALL_PACKAGES_FROM_CONTEXT", "USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES"},
    "3.x": {"INSTALL_DISTRIBUTIONS_FROM_CONTEXT", "USE_CONSTRAINTS_FOR_CONTEXT_DISTRIBUTIONS"},
}
ALL_SWITCHES = set().union(*SWITCHES.values())

def argv(command: str) -> list[str]:
    """Split a rendered command as the shell would: backslash-newline continues the line."""
    return shlex.split(command.replace("\\\n", ""))


COMMON = {
    "AIRFLOW_CONSTRAINTS_LOCATION": "/docker-context-files/constraints-{py}.txt",
    "AIRFLOW_INSTALLATION_METHOD": "apache-airflow",
}

# (airflow, python, python_patch, exactly the expected mapping)
CASES = [
    (
        "1.10.14",
        "3.8",
        None,
        {
            "AIRFLOW_LOCAL_PIP_WHEELS": "true",
            "INSTALL_AIRFLOW_VIA_PIP": "false",
            "AIRFLOW_PRE_CACHED_PIP_PACKAGES": "false",
            "AIRFLOW_VERSION": "1.10.14",
            "PYTHON_BASE_IMAGE": "python:3.8-slim-buster",
            "PYTHON_MAJOR_MINOR_VERSION": "3.8",
        },
    ),
    (
        "2.2.5",
        "3.8",
        None,
        {
            "INSTALL_FROM_DOCKER_CONTEXT_FILES": "true",
            "INSTALL_FROM_PYPI": "false",
            "AIRFLOW_PRE_CACHED_PIP_PACKAGES": "false",
            "AIRFLOW_VERSION": "2.2.5",
            "PYTHON_BASE_IMAGE": "python:3.8-slim-buster",
        },
    ),
    (
        "2.7.3",
        "3.11",
        None,
        {
            "INSTALL_PACKAGES_FROM_CONTEXT": "true",
            "DOCKER_CONTEXT_FILES": "docker-context-files",
            "AIRFLOW_PRE_CACHED_PIP_PACKAGES": "false",
            "INSTALL_MYSQL_CLIENT": "false",
            "AIRFLOW_CONSTRAINTS_MODE": "constraints",
            "AIRFLOW_VERSION": "2.7.3",
            "PYTHON_BASE_IMAGE": "python:3.11-slim-bullseye",
        },
    ),
    (
        "2.10.5",
        "3.11",
        None,
        {
            "INSTALL_PACKAGES_FROM_CONTEXT": "true",
            "USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES": "true",
            "DOCKER_CONTEXT_FILES": "docker-context-files",
            "AIRFLOW_PRE_CACHED_PIP_PACKAGES": "false",
            "INSTALL_MYSQL_CLIENT": "false",
            "AIRFLOW_CONSTRAINTS_MODE": "constraints",
            "AIRFLOW_VERSION": "2.10.5",
            "PYTHON_BASE_IMAGE": "python:3.11-slim-bookworm",
        },
    ),
    (
        "2.11.0",
        "3.12",
        None,
        {
            "INSTALL_PACKAGES_FROM_CONTEXT": "true",
            "USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES": "true",
            "DOCKER_CONTEXT_FILES": "docker-context-files",
            "INSTALL_MYSQL_CLIENT": "false",
            "AIRFLOW_CONSTRAINTS_MODE": "constraints",
            "AIRFLOW_VERSION": "2.11.0",
            "PYTHON_BASE_IMAGE": "python:3.12-slim-bookworm",
        },
    ),
    (
        "3.0.6",
        "3.12",
        None,
        {
            "INSTALL_DISTRIBUTIONS_FROM_CONTEXT": "true",
            "USE_CONSTRAINTS_FOR_CONTEXT_DISTRIBUTIONS": "true",
            "DOCKER_CONTEXT_FILES": "docker-context-files",
            "INSTALL_MYSQL_CLIENT": "false",
            "AIRFLOW_CONSTRAINTS_MODE": "constraints",
            "AIRFLOW_VERSION": "3.0.6",
            "PYTHON_BASE_IMAGE": "python:3.12-slim-bookworm",
        },
    ),
    (
        "3.1.0",
        "3.12",
        "3.12.11",
        {
            "INSTALL_DISTRIBUTIONS_FROM_CONTEXT": "true",
            "USE_CONSTRAINTS_FOR_CONTEXT_DISTRIBUTIONS": "true",
            "DOCKER_CONTEXT_FILES": "docker-context-files",
            "INSTALL_MYSQL_CLIENT": "false",
            "AIRFLOW_CONSTRAINTS_MODE": "constraints",
            "AIRFLOW_VERSION": "3.1.0",
            "BASE_IMAGE": "debian:bookworm-slim",
            "AIRFLOW_PYTHON_VERSION": "3.12.11",
        },
    ),
]


@pytest.mark.parametrize(("airflow", "python", "patch", "expected"), CASES, ids=lambda c: str(c))
def test_each_generation_has_exactly_its_own_names(
    airflow: str, python: str, patch: str | None, expected: dict[str, str]
) -> None:
    args = build_args(airflow, python, python_patch=patch)
    py = python
    want = dict(expected, **{k: v.format(py=py) for k, v in COMMON.items()})
    assert dict(args) == want
    foreign = ALL_SWITCHES - set(expected)
    assert not foreign & set(args), f"{airflow} carries another generation's switch"
    assert not any(name.startswith("UPGRADE_") for name in args)


def test_generation_names() -> None:
    assert generation("1.10.13") == "1.10.13-14"
    assert generation("1.10.14") == "1.10.13-14"
    assert generation("1.10.15") == "1.10.15-2.2"
    assert generation("2.2.5") == "1.10.15-2.2"
    assert generation("2.3.0") == "2.3-2.11"
    assert generation("2.10.3") == "2.3-2.11"
    assert generation("2.11.1") == "2.3-2.11"
    assert generation("3.0.6") == "3.0"
    assert generation("3.1.0") == "3.1+"
    assert generation("3.1.0rc1") == "3.1+"  # a candidate builds like its release
    assert generation("3.3.0") == "3.1+"


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


def test_pre_cached_packages_arg_is_gone_from_2_11() -> None:
    assert build_args("2.10.5", "3.11")["AIRFLOW_PRE_CACHED_PIP_PACKAGES"] == "false"
    assert "AIRFLOW_PRE_CACHED_PIP_PACKAGES" not in build_args("2.11.0", "3.11")
    assert "AIRFLOW_PRE_CACHED_PIP_PACKAGES" not in build_args("3.0.6", "3.12")


def test_context_constraints_switch_from_2_8() -> None:
    assert "USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES" not in build_args("2.7.3", "3.11")
    assert build_args("2.8.0", "3.11")["USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES"] == "true"


def test_constraints_mode_from_2_4() -> None:
    assert "AIRFLOW_CONSTRAINTS_MODE" not in build_args("2.3.4", "3.10")
    args = build_args("2.10.5", "3.11", constraints_mode="no-providers")
    assert args["AIRFLOW_CONSTRAINTS_MODE"] == "constraints-no-providers"
    with pytest.raises(InputError, match="constraints mode"):
        build_args("2.10.5", "3.11", constraints_mode="everything")


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


def test_airflow_3_1_without_patch_version_raises() -> None:
    with pytest.raises(InputError, match=r"full Python version, e\.g\. --python 3\.12\.11"):
        build_args("3.1.0", "3.12")


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


@pytest.mark.parametrize(
    ("airflow", "python", "expected"),
    [
        (
            "2.7.3",
            "3.11",
            [
                "--install-packages-from-context",
                "--disable-mysql-client-installation",
                "--airflow-constraints-location", "/docker-context-files/constraints-3.11.txt",
                "--airflow-constraints-mode", "constraints",
                "--docker-cache", "disabled",
                "--python", "3.11",
                "--install-airflow-version", "2.7.3",
            ],
        ),
        (
            "2.10.5",
            "3.11",
            [
                "--install-packages-from-context",
                "--use-constraints-for-context-packages",
                "--disable-mysql-client-installation",
                "--airflow-constraints-location", "/docker-context-files/constraints-3.11.txt",
                "--airflow-constraints-mode", "constraints",
                "--docker-cache", "disabled",
                "--python", "3.11",
                "--install-airflow-version", "2.10.5",
            ],
        ),
        (
            "3.0.6",
            "3.12",
            [
                "--install-distributions-from-context",
                "--use-constraints-for-context-distributions",
                "--disable-mysql-client-installation",
                "--airflow-constraints-location", "/docker-context-files/constraints-3.12.txt",
                "--airflow-constraints-mode", "constraints",
                "--docker-cache", "disabled",
                "--python", "3.12",
                "--install-airflow-version", "3.0.6",
            ],
        ),
        (
            "3.1.0",
            "3.12.11",
            [
                "--install-distributions-from-context",
                "--use-constraints-for-context-distributions",
                "--disable-mysql-client-installation",
                "--airflow-constraints-location", "/docker-context-files/constraints-3.12.txt",
                "--airflow-constraints-mode", "constraints",
                "--docker-cache", "disabled",
                "--python", "3.12",
                "--install-airflow-version", "3.1.0",
            ],
        ),
    ],
)
def test_breeze_flags_per_generation(airflow: str, python: str, expected: list[str]) -> None:
    assert breeze_flags(airflow, python) == expected
    text = render(build_args(airflow, python), "breeze")
    assert text.startswith("breeze prod-image build \\\n")
    assert argv(text)[3:] == expected
    assert "    --docker-cache disabled \\\n" in text


@pytest.mark.parametrize("airflow", ["1.10.14", "1.10.15", "2.2.5"])
def test_no_breeze_before_2_3(airflow: str) -> None:
    with pytest.raises(InputError, match="breeze flags exist from 2.3 on"):
        breeze_flags(airflow, "3.8")
    with pytest.raises(InputError, match="breeze"):
        render(build_args(airflow, "3.8"), "breeze")


@pytest.mark.parametrize(("airflow", "python"), [("2.10.5", "3.11"), ("2.2.5", "3.8")])
def test_json_round_trips(airflow: str, python: str) -> None:
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
    if record["breeze_flags"] is None:
        assert airflow == "2.2.5"
    else:
        assert record["breeze_flags"] == breeze_flags(airflow, python)
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

"""scripts/prove_image.py: a real image build behind the allow-list proxy, then the checks.

The tests marked `image` build a miniature Airflow-shaped image with buildah from a folder
`wheelhouse prepare` made from the test pypiserver. They need root, `unshare` and the Debian
mirror, and skip (saying which) where the tools cannot be set up. The first run sets up the
trixie tools root and the substitute base image (about a minute, once) in the script's own
cache, ~/.cache/wheelhouse-prove-image (WHEELHOUSE_PROVE_IMAGE_WORK names another), so a real
`prove_image.py` run and the tests share them. The rest (proxy, apt sources, the installed-set
comparison, bad input) needs none of that and always runs.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from builders import make_wheel
from conftest import ROOT

SCRIPT = ROOT / "scripts" / "prove_image.py"
WORK = Path(os.environ.get("WHEELHOUSE_PROVE_IMAGE_WORK",
                           Path.home() / ".cache" / "wheelhouse-prove-image"))
SITE = "/home/airflow/.local/lib/python3.11/site-packages"


def script_module(name: str) -> ModuleType:
    """A module of scripts/ (not a package: its folder goes on sys.path, as when run)."""
    folder = str(ROOT / "scripts")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


# An Airflow-shaped image in miniature: a heredoc scripts stage, a build stage that installs
# from docker-context-files as the airflow user (pip --user --no-index --find-links, under the
# folder's constraints, with the folder's pip.conf), and a runtime stage with apt and
# COPY --from. It declares the names build-args gives a 2.10 Dockerfile. #EXTRA# is where a
# test adds steps to the build stage.
DOCKERFILE = r'''
ARG AIRFLOW_EXTRAS=""
ARG AIRFLOW_UID="50000"
ARG AIRFLOW_USER_HOME_DIR=/home/airflow
ARG AIRFLOW_VERSION="2.9.3"
ARG PYTHON_BASE_IMAGE="python:3.8-slim-bookworm"
ARG AIRFLOW_PIP_VERSION=24.2
ARG AIRFLOW_UV_VERSION=0.4.1

FROM scratch as scripts

COPY <<"EOF" /install_from_docker_context_files.sh
#!/usr/bin/env bash
set -euo pipefail
constraints=()
if [[ ${USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES} == "true" ]]; then
    constraints=(--constraint "${AIRFLOW_CONSTRAINTS_LOCATION}")
fi
pip install --user --no-index --find-links /docker-context-files "${constraints[@]}" \
    "apache-airflow[${AIRFLOW_EXTRAS}]==${AIRFLOW_VERSION}" alpha
EOF

# The stand-in apache-airflow wheel has no console script: this one answers `airflow version`.
COPY <<"EOF" /airflow
#!/usr/bin/env python3
import importlib.metadata, sys
if sys.argv[1:] != ["version"]:
    sys.exit("only `airflow version` here")
print(importlib.metadata.version("apache-airflow"))
EOF

FROM ${PYTHON_BASE_IMAGE} as airflow-build-image
SHELL ["/bin/bash", "-o", "pipefail", "-o", "errexit", "-o", "nounset", "-c"]
ARG AIRFLOW_UID
ARG AIRFLOW_USER_HOME_DIR
RUN adduser --gecos "" --disabled-password --quiet "airflow" --uid "${AIRFLOW_UID}" \
        --gid "0" --home "${AIRFLOW_USER_HOME_DIR}"
ARG DOCKER_CONTEXT_FILES="Dockerfile"
COPY --chown=${AIRFLOW_UID}:0 ${DOCKER_CONTEXT_FILES} /docker-context-files
USER airflow
RUN if [[ -f /docker-context-files/pip.conf ]]; then \
        mkdir -p ${AIRFLOW_USER_HOME_DIR}/.config/pip; \
        cp /docker-context-files/pip.conf "${AIRFLOW_USER_HOME_DIR}/.config/pip/pip.conf"; \
    fi
ARG AIRFLOW_EXTRAS
ARG AIRFLOW_VERSION
ARG AIRFLOW_CONSTRAINTS_LOCATION=""
ARG AIRFLOW_CONSTRAINTS_MODE="constraints"
ARG AIRFLOW_INSTALLATION_METHOD="apache-airflow"
ARG AIRFLOW_PRE_CACHED_PIP_PACKAGES="false"
ARG INSTALL_PACKAGES_FROM_CONTEXT="false"
ARG USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES="false"
ARG INSTALL_MYSQL_CLIENT="true"
ARG INSTALL_MSSQL_CLIENT="true"
ARG AIRFLOW_PIP_VERSION
ARG AIRFLOW_UV_VERSION
ENV AIRFLOW_EXTRAS=${AIRFLOW_EXTRAS} AIRFLOW_VERSION=${AIRFLOW_VERSION} \
    AIRFLOW_CONSTRAINTS_LOCATION=${AIRFLOW_CONSTRAINTS_LOCATION} \
    USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES=${USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES}
COPY --from=scripts /install_from_docker_context_files.sh /scripts/docker/
RUN --mount=type=cache,id=pip-cache,target=/tmp/.cache/pip,uid=${AIRFLOW_UID} \
    bash /scripts/docker/install_from_docker_context_files.sh
#EXTRA#

FROM ${PYTHON_BASE_IMAGE} as main
SHELL ["/bin/bash", "-o", "pipefail", "-o", "errexit", "-o", "nounset", "-c"]
ARG AIRFLOW_UID
ARG AIRFLOW_USER_HOME_DIR
RUN apt-get update && apt-get install -y --no-install-recommends dumb-init \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
RUN adduser --gecos "" --disabled-password --quiet "airflow" --uid "${AIRFLOW_UID}" \
        --gid "0" --home "${AIRFLOW_USER_HOME_DIR}"
ENV PATH="${AIRFLOW_USER_HOME_DIR}/.local/bin:${PATH}"
COPY --from=airflow-build-image --chown=airflow:0 ${AIRFLOW_USER_HOME_DIR}/.local \
    ${AIRFLOW_USER_HOME_DIR}/.local
COPY --from=scripts --chmod=755 /airflow /usr/local/bin/airflow
WORKDIR /opt/airflow
USER ${AIRFLOW_UID}
ENTRYPOINT ["/usr/bin/dumb-init", "--"]
CMD ["airflow", "version"]
'''

# What an image must not do, each caught by a different part of the proof: a request outside
# the allow-list (pip to PyPI through the proxy: refused, and the build goes on), a direct
# connection that bypasses the proxy (no route; its DNS lookup is logged), an installed file
# changed after the install, and a distribution that came from nowhere in the folder.
OFFENDING = rf'''
RUN pip download --isolated --retries 0 --timeout 10 --no-deps --dest /tmp/probe \
        --index-url https://pypi.org/simple six || echo "refused, as it should be"
RUN env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY python -c \
        "import socket; socket.create_connection(('files.pythonhosted.org', 443), 5)" \
    || echo "no way out, as it should be"
RUN echo "# changed after the install" >> {SITE}/alpha/__init__.py
RUN mkdir -p {SITE}/smuggled-1.0.dist-info \
    && printf 'Metadata-Version: 2.1\nName: smuggled\nVersion: 1.0\n' \
        > {SITE}/smuggled-1.0.dist-info/METADATA \
    && touch {SITE}/smuggled-1.0.dist-info/RECORD
'''


def tools_missing() -> str | None:
    """Why the image tests cannot run here (None: they can try)."""
    if sys.platform != "linux":
        return "buildah under chroot needs Linux"
    if os.geteuid() != 0:
        return "not root: the proof mounts, chroots and makes network namespaces"
    if not shutil.which("unshare"):
        return "no unshare (util-linux)"
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        return "unshare cannot make a network namespace here"
    tools = script_module("image_tools")
    sources = tools.apt_sources()
    if not sources:
        return "no Debian mirror in /etc/apt/sources.list(.d)"
    if not shutil.which("mmdebstrap") and not shutil.which("apt-get"):
        return "no mmdebstrap and no apt-get to install it"
    try:
        tools.check_mirror(sources[0].uri)
    except tools.SetupError as error:
        return str(error)
    return None


@pytest.fixture(scope="module")
def image_tools_here() -> None:
    reason = tools_missing()
    if reason:
        pytest.skip(f"cannot build images here: {reason}")


@pytest.fixture
def tiny_folder(pypiserver, run_cli, tmp_path: Path) -> Path:
    """A miniature Airflow wheelhouse: apache-airflow[celery] 2.10.3 and alpha (with beta),
    under constraints, for the image's Python 3.11 on linux/amd64 (pip, uv and packaging
    stand-ins are shipped for the image, as for the real one)."""
    constraints = tmp_path / "constraints-3.11.txt"
    constraints.write_text("beta==1.0\napache-airflow-providers-celery==3.8.3\n")
    dest = tmp_path / "docker-context-files"
    done = run_cli("prepare", "apache-airflow[celery]==2.10.3", "alpha==2.0", "--constraints",
                   str(constraints), "--python", "3.11", "--platform", "linux/amd64",
                   "--index-url", pypiserver.url, "--dest", str(dest), "--isolated", "-q")
    assert done.returncode == 0, done.stderr
    return dest


def dockerfile(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text(DOCKERFILE.replace("#EXTRA#", extra))
    return path


# The run folders (logs) the tests' proofs leave in the shared work folder: a user's proof keeps
# its logs as evidence, a test's are removed when the module is done.
_RUNS: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def _remove_test_runs() -> Iterator[None]:
    yield
    for run_folder in _RUNS:
        shutil.rmtree(run_folder, ignore_errors=True)


def prove(folder: Path, *flags: str) -> tuple[int, dict[str, Any]]:
    """Run the script as a user would; skip where it says the machine cannot run it (an
    extend build's missing base image is the test's own doing: that one is returned)."""
    done = subprocess.run([sys.executable, str(SCRIPT), str(folder), "--work", str(WORK),
                           "--json", *flags], capture_output=True, text=True, timeout=900)
    assert done.stdout, done.stderr[-3000:]
    document = json.loads(done.stdout)
    if document.get("run_folder"):
        _RUNS.append(Path(document["run_folder"]))
    if document.get("stage") == "setup" and "missing_base" not in document:
        pytest.skip(f"cannot build images here: {document['error']}")
    return done.returncode, document


def snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every file's sha256, link count and mtime: what a run must leave as it was."""
    return {str(path.relative_to(folder)): (hashlib.sha256(path.read_bytes()).hexdigest(),
                                            path.stat().st_nlink, path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.image
def test_clean_build_is_proved(image_tools_here, tiny_folder, tmp_path):
    before = snapshot(tiny_folder)
    code, document = prove(tiny_folder, "--dockerfile", str(dockerfile(tmp_path)))
    assert code == 0, json.dumps(document, indent=1)[-4000:]
    assert document["build"]["ok"] and document["problems"] == []
    assert document["mode"] == "build-args" and document["installed"]["mode"] == "build-args"
    # built with exactly the arguments build-args gives
    assert document["build_args"]["AIRFLOW_EXTRAS"] == "celery"
    assert document["build_args"]["INSTALL_PACKAGES_FROM_CONTEXT"] == "true"
    requests = document["requests"]
    assert requests["refused"] == 0 and requests["total"] > 0  # apt went through the proxy
    assert requests["direct_lookups"] == 0
    assert set(requests["hosts"]) == set(document["allow"])  # only the mirror was reached
    assert all(item["allowed"] and item["status"] == 200 for item in requests["requests"])
    assert document["airflow_version"]["output"] == "2.10.3"
    assert document["pip_check"]["ok"]
    installed = document["installed"]
    assert installed["ok"] and installed["user_site"] == SITE
    assert installed["checked"] == 4 and installed["files_compared"] >= 12
    assert installed["not_installed"] == ["packaging", "pip", "setuptools", "uv"]  # for the image
    assert document["image"]["bytes"] > document["image"]["base_bytes"] > 100_000_000
    assert document["cleanup"]["kept"] is False
    assert not Path(document["run_folder"], "context").exists()
    assert Path(document["proxy_log"]).is_file()  # the evidence stays
    assert snapshot(tiny_folder) == before  # the folder was never written


@pytest.mark.image
def test_refused_request_and_a_foreign_install_make_it_fail(image_tools_here, tiny_folder,
                                                            tmp_path):
    code, document = prove(tiny_folder, "--dockerfile", str(dockerfile(tmp_path, OFFENDING)))
    assert code == 1
    assert document["build"]["ok"]  # the build itself went on: only the proof fails
    requests = document["requests"]
    refused = requests["refused_requests"]
    assert {(item["method"], item["target"], item["status"]) for item in refused} == {
        ("CONNECT", "pypi.org:443", 403), ("DNS", "files.pythonhosted.org", "REFUSED")}
    for item in refused:
        assert ("pip download" if item["method"] == "CONNECT" else "env -u") in item["step"]
    assert requests["direct_lookups"] == len(refused) - 1
    assert set(requests["hosts"]) == set(document["allow"]) | {"pypi.org",
                                                                "files.pythonhosted.org"}
    installed = document["installed"]
    assert installed["ok"] is False
    assert installed["hash_differs"] == [{"name": "alpha",
                                          "filename": "alpha-2.0-py3-none-any.whl",
                                          "files": ["alpha/__init__.py"]}]
    assert installed["not_in_folder"] == [{"name": "smuggled", "version": "1.0"}]
    assert document["problems"] == [f"{len(refused)} request(s) outside the allow-list",
                                     "the installed set differs from the folder"]


@pytest.fixture
def extend_folder(pypiserver, run_cli, tmp_path: Path) -> Path:
    """A folder for the extend route over the tiny image: what the image holds (Airflow and
    the celery provider), one new distribution (eta) and one at another version (beta 1.1,
    where the image has 1.0)."""
    constraints = tmp_path / "extend-constraints-3.11.txt"
    constraints.write_text("apache-airflow-providers-celery==3.8.3\n")
    dest = tmp_path / "extend" / "docker-context-files"
    done = run_cli("prepare", "--extend", "2.10.3", "apache-airflow-providers-celery", "eta",
                   "beta==1.1", "--constraints", str(constraints), "--python", "3.11",
                   "--platform", "linux/amd64", "--index-url", pypiserver.url, "--dest",
                   str(dest), "--isolated", "-q")
    assert done.returncode == 0, done.stderr
    return dest


def forget(built: dict[str, Any]) -> None:
    """Remove what a --keep run kept: its container, its image and its context."""
    tools = script_module("image_tools")
    kept = built.get("cleanup", {})
    if not kept.get("kept"):
        return
    run_folder = Path(built["run_folder"])
    with tools.work_lock(WORK):
        buildah = tools.Buildah(WORK / "tools", WORK / "storage", run_folder / "vartmp")
        if kept.get("container"):
            buildah.run(["rm", kept["container"]])
        buildah.run(["rmi", built["tag"]])
    for name in ("context", "vartmp"):
        shutil.rmtree(run_folder / name, ignore_errors=True)


@pytest.mark.image
def test_extend_route_is_proved_over_the_releases_image(image_tools_here, tiny_folder,
                                                        extend_folder, tmp_path):
    # The release's image as the release would be tagged, under a name of this run's own
    # (a real apache/airflow:2.10.3-python3.11 kept in the shared storage stays untouched);
    # `--base` hands it to `wheelhouse dockerfile`, as a registry mirror's name would be.
    base = f"wheelhouse-test/airflow:2.10.3-python3.11-{secrets.token_hex(3)}"
    code, missing = prove(extend_folder, "--base", base)
    assert code == 1 and missing["stage"] == "setup" and missing["mode"] == "extend"
    assert missing["missing_base"] == f"docker.io/{base}"
    assert missing["error"].endswith(f"build the release's image first, with `python "
                                     "scripts/prove_image.py RELEASE_DIR --dockerfile "
                                     f"AIRFLOW_DOCKERFILE --keep --tag {base}`.")
    built: dict[str, Any] = {}
    try:
        code, built = prove(tiny_folder, "--dockerfile", str(dockerfile(tmp_path)), "--keep",
                            "--tag", base)
        assert code == 0, json.dumps(built, indent=1)[-4000:]
        assert built["tag"] == f"docker.io/{base}" and built["cleanup"]["kept"] is True
        before = snapshot(extend_folder)
        code, document = prove(extend_folder, "--base", base)
        assert code == 0, json.dumps(document, indent=1)[-4000:]
    finally:
        forget(built)
    assert document["mode"] == "extend" and document["build_args"] == {}
    assert document["problems"] == [] and document["build"]["ok"]
    assert document["base_image"] == f"docker.io/{base}"
    assert document["dockerfile_source"] == f"wheelhouse dockerfile --base {base}"
    written = Path(document["dockerfile"]).read_text()  # kept beside the logs
    assert f"\nFROM {base}\nUSER airflow\n" in written
    assert document["context_name"] == "docker-context-files"
    # The Dockerfile fetches nothing: nothing is allowed, and nothing was asked for.
    assert document["allow"] == [] and document["requests"]["total"] == 0
    assert document["airflow_version"]["output"] == "2.10.3" and document["pip_check"]["ok"]
    installed = document["installed"]
    assert installed["mode"] == "extend" and installed["ok"], installed
    assert installed["shipped"] == 4
    assert installed["by_build"] == ["beta 1.1", "eta 1.0"]
    assert [(item["name"], item["version"]) for item in installed["from_base"]] == [
        ("apache-airflow", "2.10.3"), ("apache-airflow-providers-celery", "3.8.3")]
    assert all(item["record"].startswith("compared with ") for item in installed["from_base"])
    assert installed["files_compared"] == 12  # 4 wheels: __init__, METADATA, WHEEL each
    assert "alpha 2.0" in installed["base_only_names"]  # the base image's, not the folder's
    assert installed["base_only"] == len(installed["base_only_names"]) > 1
    assert document["image"]["bytes"] - document["image"]["base_bytes"] < 1_000_000
    assert document["cleanup"]["kept"] is False
    assert snapshot(extend_folder) == before


def test_bad_input_is_exit_2(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    done = subprocess.run([sys.executable, str(SCRIPT), str(folder), "--dockerfile",
                           str(tmp_path / "Dockerfile"), "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "not a prepared wheelhouse" in json.loads(done.stdout)["error"]


def run_script(*args: str | Path) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([sys.executable, str(SCRIPT), *map(str, args), "--json"],
                          capture_output=True, text=True)
    return done.returncode, json.loads(done.stdout)


def test_extend_inputs_are_checked_before_anything_is_built(tmp_path):
    stock = tmp_path / "stock"
    stock.mkdir()
    (stock / "wheelhouse.json").write_text('{"files": []}')
    code, document = run_script(stock)
    assert code == 2 and document["error"].startswith("--dockerfile PATH is needed: ")
    code, document = run_script(stock, "--dockerfile", stock / "wheelhouse.json", "--base",
                                "apache/airflow:2.10.3-python3.11")
    assert code == 2 and document["error"].startswith("--base names the base image of ")
    extend = tmp_path / "docker-context-files"
    extend.mkdir()
    (extend / "wheelhouse.json").write_text(
        '{"files": [], "extend": {"airflow": "2.10.3", "base": null}}')
    two = tmp_path / "Dockerfile"
    two.write_text("FROM apache/airflow:2.10.3-python3.11 AS one\nFROM debian:bookworm\n"
                   "COPY --from=one /x /x\n")
    work = tmp_path / "work"
    code, document = run_script(extend, "--dockerfile", two, "--work", work)
    assert code == 2 and document["mode"] == "extend"
    assert document["error"] == (f"{two} starts from 2 images (apache/airflow:2.10.3-python3.11, "
                                 "debian:bookworm): an extend Dockerfile starts from one, the "
                                 "released image.")
    assert list((work / "runs").iterdir()) == []  # the run's folder went with it
    # `wheelhouse dockerfile` refuses the folder (no lock): its sentence, exit 2.
    code, document = run_script(extend, "--work", work)
    assert code == 2 and document["error"].startswith("wheelhouse dockerfile refused the folder")
    code, document = run_script(extend, "--dockerfile", two, "--tag", "bad tag")
    assert code == 2 and document["error"].startswith("--tag 'bad tag' is not an image name")


def test_extend_dockerfile_facts(tmp_path):
    extend = script_module("image_extend")
    text = ("# comment FROM x\nFROM registry.example.com:5000/apache/airflow:2.10.3-python3.11"
            "\nUSER airflow\nRUN --mount=type=bind,source=wh-1.0,target=/docker-context-files"
            " \\\n    pip install --no-index\n")
    path = tmp_path / "Dockerfile"
    assert extend.base_image(text, path) == \
        "registry.example.com:5000/apache/airflow:2.10.3-python3.11"
    assert extend.context_name(text, path) == "wh-1.0"
    assert extend.context_name("FROM x\nRUN --mount=type=cache,target=/root/.cache pip\n",
                               path) is None
    assert extend.base_image("FROM --platform=linux/amd64 a:1 AS build\nFROM build\n",
                             path) == "a:1"
    with pytest.raises(extend.ExtendInputError, match="with a build argument"):
        extend.base_image("ARG BASE\nFROM ${BASE}\n", path)
    with pytest.raises(extend.ExtendInputError, match="by one plain name"):
        extend.context_name("RUN --mount=type=bind,source=../etc,target=/x true\n", path)


def test_image_names_are_qualified_as_a_pull_names_them():
    qualified = script_module("image_tools").qualified
    assert qualified("apache/airflow:2.10.3-python3.11") == \
        "docker.io/apache/airflow:2.10.3-python3.11"
    assert qualified("python:3.11-slim-bookworm") == \
        "docker.io/library/python:3.11-slim-bookworm"
    assert qualified("docker.io/python:3.11") == "docker.io/library/python:3.11"
    assert qualified("localhost/wheelhouse-prove:run") == "localhost/wheelhouse-prove:run"
    assert qualified("registry.example.com:5000/airflow") == \
        "registry.example.com:5000/airflow:latest"
    assert qualified("apache/airflow@sha256:" + "a" * 64) == \
        "docker.io/apache/airflow@sha256:" + "a" * 64


def test_apt_sources_both_formats(tmp_path):
    tools = script_module("image_tools")
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb-src\nURIs: http://src.example.org/debian\n"
        "Suites: bookworm\nComponents: main\n\nTypes: deb\n"
        "URIs: http://security.example.org/debian-security\nSuites: bookworm-security\n"
        "Components: main\n")
    (tmp_path / "sources.list").write_text(
        "# a comment\ndeb [arch=amd64] http://mirror.example.net/debian/ bookworm main\n")
    sources = tools.apt_sources(tmp_path)
    assert tools.mirror_hosts(sources) == ["deb.debian.org", "mirror.example.net",
                                           "security.example.org"]
    assert tools.archive_uri(sources) == "http://deb.debian.org/debian"
    assert tools.archive_uri(sources, security=True) == \
        "http://security.example.org/debian-security"


def ask_proxy(socket_path: Path, request: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(socket_path))
        client.sendall(request)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    return answer


def test_proxy_forwards_the_allowed_and_logs_every_request(web, tmp_path):
    proxy_module = script_module("image_proxy")
    url = web.file("/dists/InRelease", b"release")
    log = tmp_path / "proxy.jsonl"
    proxy = proxy_module.AllowListProxy(tmp_path / "p.sock", ["127.0.0.1"], log)
    proxy.start()
    try:
        allowed = ask_proxy(proxy.socket_path, f"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        refused = ask_proxy(proxy.socket_path, b"CONNECT pypi.org:443 HTTP/1.1\r\n\r\n")
        plain = ask_proxy(proxy.socket_path, b"GET http://evil.example/x HTTP/1.1\r\n\r\n")
        bad = ask_proxy(proxy.socket_path, b"GET /origin-form HTTP/1.1\r\n\r\n")
    finally:
        proxy.stop()
    assert allowed.startswith(b"HTTP/1.1 200") and allowed.endswith(b"release")
    assert refused.startswith(b"HTTP/1.1 403") and plain.startswith(b"HTTP/1.1 403")
    assert bad.startswith(b"HTTP/1.1 400")
    assert web.hits == ["/dists/InRelease"]  # what was refused never left
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["method"], e["host"], e["allowed"], e["status"]) for e in entries] == [
        ("GET", "127.0.0.1", True, 200), ("CONNECT", "pypi.org", False, 403),
        ("GET", "evil.example", False, 403), (None, None, False, 400)]


def test_installed_set_comparison(tmp_path):
    compare = script_module("image_installed").compare
    folder = tmp_path / "dcf"
    folder.mkdir()
    wheels = {name: make_wheel(folder, name, "1.0") for name in ("alpha", "beta", "gamma")}
    manifest = {"files": [{"name": name, "version": "1.0", "filename": path.name}
                          for name, path in wheels.items()]}
    def installed(name: str, version: str = "1.0", **changed: str | None) -> dict[str, Any]:
        files = {f"{name}/__init__.py": recorded(f"__version__ = '{version}'\n".encode()),
                 f"{name}-{version}.dist-info/RECORD": None,
                 f"{name}-{version}.dist-info/INSTALLER": "sha256=pip",
                 f"../../../bin/{name}": "sha256=script"}
        if name in wheels:
            files |= {f"{name}-{version}.dist-info/{member}": digest(wheels[name], name, member)
                      for member in ("METADATA", "WHEEL")}
        files.update(changed)
        return {"name": name, "version": version, "location": SITE, "user": True,
                "files": files}

    probe = {"user_site": SITE, "distributions": [
        installed("alpha"),
        installed("beta", **{"beta/__init__.py": "sha256=changed"}),
        installed("gamma", "2.0"),
        installed("delta"),
        {"name": "pip", "version": "23.0.1", "location": "/usr/lib/python3/dist-packages",
         "user": False, "files": {}},
    ]}
    result = compare(folder, manifest, probe)
    assert result.checked == 4 and result.ok is False
    assert result.hash_differs == [{"name": "beta", "filename": wheels["beta"].name,
                                    "files": ["beta/__init__.py"]}]
    assert result.version_differs == [{"name": "gamma", "installed": "2.0", "folder": "1.0"}]
    assert result.not_in_folder == [{"name": "delta", "version": "1.0"}]
    assert result.missing_files == [] and result.not_installed == []
    assert result.elsewhere == ["pip 23.0.1 (/usr/lib/python3/dist-packages)"]
    assert result.files_compared == 6  # alpha and beta: __init__, METADATA, WHEEL each


def test_extend_installed_set_comparison(tmp_path):
    """The extend check: the folder over a base image that already holds part of it."""
    compare_extend = script_module("image_installed").compare_extend
    folder = tmp_path / "dcf"
    folder.mkdir()
    wheels = {name: make_wheel(folder, name, "1.0") for name in ("alpha", "beta", "gamma",
                                                                 "delta", "eta")}
    manifest = {"files": [{"name": name, "version": "1.0", "filename": path.name,
                           "role": "install"} for name, path in wheels.items()]}

    def dist(name: str, version: str = "1.0", tags: tuple[str, ...] = ("py3-none-any",),
             location: str = SITE, **changed: str | None) -> dict[str, Any]:
        files: dict[str, str | None] = {}
        if name in wheels:
            with zipfile.ZipFile(wheels[name]) as archive:
                files = {member: recorded(archive.read(member)) for member in
                         archive.namelist() if not member.endswith("RECORD")}
        files.update(changed)
        return {"name": name, "version": version, "location": location, "tags": list(tags),
                "files": files}

    system_pip = dist("pip", "23.0.1", location="/usr/lib/python3/dist-packages")
    base = {"user_site": SITE, "distributions": [
        dist("alpha"),  # pip leaves it: the folder's file
        dist("beta", tags=("py3-none-manylinux_2_17_x86_64",)),  # the same version, built
        dist("gamma", "0.9"),  # replaced by the build
        dist("theirs", "3.0"), system_pip]}
    image = {"user_site": SITE, "distributions": [
        dist("alpha"), dist("beta", tags=("py3-none-manylinux_2_17_x86_64",)),
        dist("gamma"), dist("theirs", "3.0"), dist("eta", "2.0"),
        dist("smuggled", "1.0"), system_pip]}
    result = compare_extend(folder, manifest, image, base)
    assert result.shipped == 5 and result.ok is False
    assert result.by_build == ["gamma 1.0"]
    assert result.from_base == [
        {"name": "alpha", "version": "1.0", "record": f"compared with {wheels['alpha'].name}"},
        {"name": "beta", "version": "1.0",
         "record": "another file: the base installed a wheel tagged "
                   f"py3-none-manylinux_2_17_x86_64, the folder's is {wheels['beta'].name}"}]
    assert result.files_compared == 6  # alpha and gamma: __init__, METADATA, WHEEL
    assert result.version_differs == [{"name": "eta", "installed": "2.0", "folder": "1.0"}]
    assert result.not_installed == ["delta"]
    assert result.not_in_folder == [{"name": "smuggled", "version": "1.0", "location": SITE}]
    assert result.base_only == ["pip 23.0.1", "theirs 3.0"]
    assert result.changed_since_base == [] and result.hash_differs == []
    # A file of the base image changed by the build is caught, in the folder's or not.
    image["distributions"][0] = dist("alpha", **{"alpha/__init__.py": "sha256=changed"})
    image["distributions"][3] = dist("theirs", "3.0", **{"theirs/x.py": "sha256=new"})
    again = compare_extend(folder, manifest, {**image, "distributions": [
        d for d in image["distributions"] if d["name"] not in ("eta", "smuggled")]}, base)
    assert again.changed_since_base == [{"name": "alpha", "files": ["alpha/__init__.py"]},
                                        {"name": "theirs", "files": ["theirs/x.py"]}]
    assert again.hash_differs == [{"name": "alpha", "filename": wheels["alpha"].name,
                                   "files": ["alpha/__init__.py"]}]
    # A WHEEL file may list a compressed tag set on one line: the same wheel all the same.
    installed = script_module("image_installed")
    assert installed.expanded(["cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"]) == \
        installed.wheel_tags("x-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")


def recorded(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(
        b"=").decode()


def digest(wheel: Path, name: str, member: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return recorded(archive.read(f"{name}-1.0.dist-info/{member}"))


def test_report_counts_a_real_builds_allowed_requests_and_lists_each_refused_one():
    """An apt-get of a real image makes hundreds of allowed requests: the report counts them
    (the log path says where each is) and lists the refused ones, repeats counted."""
    prove = script_module("prove_image")
    apt = {"allowed": True, "status": 200, "method": "GET", "target": "http://deb/x.deb"}
    refused = {"allowed": False, "status": 403, "method": "CONNECT", "target": "pypi.org:443",
               "step": "STEP 60/70: RUN install_packaging_tools.sh"}
    lookup = {"allowed": False, "status": "REFUSED", "method": "DNS", "qtype": "SRV",
              "target": "keyserver.example", "step": "STEP 9/70: RUN install_postgres.sh"}
    many = [apt] * (prove.ALLOWED_LISTED + 1) + [refused] * 3 + [lookup]
    requests = {"total": len(many), "allowed": prove.ALLOWED_LISTED + 1, "refused": 4,
                "direct_lookups": 1, "hosts": {"deb": prove.ALLOWED_LISTED + 1, "pypi.org": 3},
                "requests": many}
    lines = prove.request_lines(requests, "/runs/R/proxy.jsonl")
    assert lines[1] == (f"  allowed: {prove.ALLOWED_LISTED + 1}, not listed here: each is in "
                        "/runs/R/proxy.jsonl and in --json")
    assert lines[2:] == [
        "  REFUSED 403 CONNECT pypi.org:443 (3 times in a row)",
        "          during STEP 60/70: RUN install_packaging_tools.sh",
        "  REFUSED DNS SRV keyserver.example (a direct lookup, not via the proxy)",
        "          during STEP 9/70: RUN install_postgres.sh"]
    few = dict(requests, allowed=2, requests=[apt, apt, refused])
    assert prove.request_lines(few)[1:] == [
        "  allowed 200 GET http://deb/x.deb (2 times in a row)",
        "  REFUSED 403 CONNECT pypi.org:443",
        "          during STEP 60/70: RUN install_packaging_tools.sh"]

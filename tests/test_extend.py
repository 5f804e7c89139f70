"""prepare --extend and wheelhouse dockerfile: a folder that extends Airflow's released image,
and the Dockerfile that installs it there, offline."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import offline_env, venv_python

from wheelhouse import __version__

BASE = "apache/airflow:2.10.3-python3.11"


def run(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wheelhouse", *args], capture_output=True,
                          text=True, timeout=300, **kwargs)


def prepare_extend(pypiserver, dest: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run("prepare", "--extend", "2.10.3", *args, "--index-url", pypiserver.url,
               "--dest", str(dest), "--json")


@pytest.fixture(scope="module")
def extend_folder(pypiserver, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("extend")
    constraints = root / "constraints-3.11.txt"  # Airflow 2.10.3's pins, in miniature
    constraints.write_text("apache-airflow-providers-celery==3.8.3\npackaging==24.1\n")
    dest = root / "docker-context-files"
    result = prepare_extend(pypiserver, dest, "apache-airflow-providers-celery",
                            "--constraints", str(constraints), "--python", "3.11",
                            "--platform", "linux/amd64")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["next"] == [
        f"wheelhouse verify {dest}", f"wheelhouse dockerfile {dest} -o Dockerfile"]
    return dest


def install_command(dockerfile: str, folder: Path) -> str:
    """The shell command of the Dockerfile's RUN, the mount's paths rewritten to `folder`."""
    instruction = dockerfile.split("\nRUN ", 1)[1].replace("\\\n", " ")
    mount, _, command = instruction.partition(" ")
    assert mount == "--mount=type=bind,source=docker-context-files,target=/docker-context-files"
    return command.replace("/docker-context-files", str(folder))


# -- prepare --extend -----------------------------------------------------------------------


def test_the_folder_pins_the_images_airflow_and_ships_none_of_its_tools(extend_folder):
    document = json.loads((extend_folder / "wheelhouse.json").read_text())
    assert document["extend"] == {"airflow": "2.10.3", "base": BASE}
    assert document["requirements"] == ["apache-airflow-providers-celery",
                                        "apache-airflow==2.10.3"]
    versions = {f["name"]: f["version"] for f in document["files"]}
    # Airflow and the provider, as the constraints pin them: no pip, uv or packaging for the
    # image (the extended image keeps its own).
    assert versions == {"apache-airflow": "2.10.3", "apache-airflow-providers-celery": "3.8.3"}
    assert document["airflow"]["version"] == "2.10.3"
    assert document["airflow"]["image_tools"] == {}
    lock = (extend_folder / "requirements.lock.txt").read_text()
    assert "# wheelhouse prepare --extend 2.10.3 apache-airflow-providers-celery\n" in lock
    assert "apache-airflow==2.10.3 \\" in lock
    assert "#   --extend (the Airflow the base image holds)\n" in lock
    assert run("verify", str(extend_folder)).returncode == 0


def test_extend_defaults_to_the_releases_constraints_and_the_images_platform(
        pypiserver, web, tmp_path):
    web.file("/constraints-2.10.3/constraints-3.11.txt",
             b"apache-airflow-providers-celery==3.8.3\n")
    dest = tmp_path / "docker-context-files"
    env = {**os.environ, "WHEELHOUSE_AIRFLOW_CONSTRAINTS_BASE": web.url}
    args = ("prepare", "--extend", "2.10.3", "apache-airflow-providers-celery", "--python",
            "3.11", "--index-url", pypiserver.url, "--dest", str(dest), "--json")
    result = run(*args, env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads((dest / "wheelhouse.json").read_text())
    assert document["constraints"]["source"] == "airflow:2.10.3"
    assert "/constraints-2.10.3/constraints-3.11.txt" in web.hits
    arch = {"arm64": "aarch64", "aarch64": "aarch64"}.get(platform.machine().lower(), "x86_64")
    # Bookworm's glibc, whatever this machine's is: the folder is for the image.
    assert document["targets"][0]["name"] == f"cp311-manylinux_2_36_{arch}"
    again = run(*args, env=env)
    assert again.returncode == 0 and json.loads(again.stdout)["up_to_date"] is True


def test_without_extend_the_same_requirements_are_a_new_folder(pypiserver, extend_folder,
                                                               tmp_path):
    # The stock build's folder (pip, uv, packaging for the image) is another set of inputs.
    dest = tmp_path / "docker-context-files"
    shutil.copytree(extend_folder, dest)
    result = run("prepare", "apache-airflow-providers-celery", "apache-airflow==2.10.3",
                 "--constraints", str(extend_folder.parent / "constraints-3.11.txt"),
                 "--python", "3.11", "--platform", "linux/amd64", "--index-url",
                 pypiserver.url, "--dest", str(dest), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["up_to_date"] is False
    assert summary["next"][-1] == f"wheelhouse build-args {dest}"
    document = json.loads((dest / "wheelhouse.json").read_text())
    assert "extend" not in document
    assert {"pip", "uv", "packaging"} <= {f["name"] for f in document["files"]}


def test_an_airflow_requirement_that_the_release_satisfies_is_kept(pypiserver, tmp_path):
    # Airflow's extras are a way to ask for providers: the image's version is pinned beside.
    pins = tmp_path / "constraints-3.11.txt"
    pins.write_text("apache-airflow-providers-celery==3.8.3\n")
    dest = tmp_path / "docker-context-files"
    result = prepare_extend(pypiserver, dest, "apache-airflow[celery]>=2.10", "--constraints",
                            str(pins), "--python", "3.11", "--platform", "linux/amd64")
    assert result.returncode == 0, result.stderr
    document = json.loads((dest / "wheelhouse.json").read_text())
    assert document["requirements"] == ["apache-airflow[celery]>=2.10", "apache-airflow==2.10.3"]
    assert {f["name"]: f["version"] for f in document["files"]} == {
        "apache-airflow": "2.10.3", "apache-airflow-providers-celery": "3.8.3"}


@pytest.mark.parametrize(("args", "said"), [
    (("--extend", "main", "x"), "--extend 'main': give the Airflow release the base image "
                                "holds, e.g. 2.10.3 (a published image tag, not a constraints "
                                "branch)."),
    (("--extend", "2.10.3", "apache-airflow==2.9.0"),
     "--extend 2.10.3 and the requirement 'apache-airflow==2.9.0' disagree: the image holds "
     "apache-airflow 2.10.3."),
    (("--extend", "2.10.3", "--pip-version", "24.3.1", "x"),
     "--pip-version is for Airflow's stock build: with --extend the image keeps its own pip "
     "and uv and the folder ships neither; leave --pip-version out."),
    (("--extend", "2.10.3", "--python", "3.13", "x"),
     "--extend 2.10.3: Airflow publishes images of 2.10.3 for Python 3.8 to 3.12, not 3.13."),
    (("--extend", "2.10.3", "--platform", "win_amd64", "x"),
     "--extend: Airflow's image is Debian Linux (glibc), and the target cp311-win_amd64 is "
     "not: give --platform linux/amd64 or linux/arm64."),
    (("--extend", "2.5.0", "--python", "3.10", "--platform", "linux/amd64", "x"),
     "--extend 2.5.0: the image is built on Debian bullseye (glibc 2.31), but the target "
     "cp310-manylinux_2_36_x86_64 takes wheels for glibc 2.36, which do not install there: "
     "give --platform manylinux_2_31_x86_64."),
])
def test_extend_inputs_are_checked_before_anything_is_fetched(tmp_path, args, said):
    dest = tmp_path / "wh"
    python = () if "--python" in args else ("--python", "3.11")
    result = run("prepare", *args, *python, "--index-url", "http://127.0.0.1:9/", "--dest",
                 str(dest))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {said}"
    assert not dest.exists()


def test_an_older_release_gets_its_images_glibc():
    from wheelhouse.extend import default_platform, image_debian

    assert image_debian("2.5.0") == ("bullseye", (2, 31))
    assert image_debian("2.2.4") == ("buster", (2, 28))
    assert image_debian("3.1.0") == ("bookworm", (2, 36))
    assert image_debian("3.4.0") is None
    assert default_platform("2.5.0").startswith("manylinux_2_31_")


# -- wheelhouse dockerfile ------------------------------------------------------------------


def test_the_dockerfile_extends_the_released_image(extend_folder, tmp_path):
    result = run("dockerfile", str(extend_folder))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    lock_sha256 = hashlib.sha256((extend_folder / "requirements.lock.txt").read_bytes())
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert instructions == [
        f"FROM {BASE}",
        "USER airflow",
        "RUN --mount=type=bind,source=docker-context-files,target=/docker-context-files \\",
        f'    echo "{lock_sha256.hexdigest()}  /docker-context-files/requirements.lock.txt" '
        "| sha256sum --check --quiet \\",
        "    && pip install --no-cache-dir --no-index --find-links /docker-context-files \\",
        "        --require-hashes -r /docker-context-files/requirements.lock.txt \\",
        "    && pip check",
    ]
    assert f"# Written by wheelhouse {__version__} (`wheelhouse dockerfile`)" in text
    assert "wheelhouse prepare --extend 2.10.3`; target cp311-manylinux_2_36_x86_64" in text
    assert str(extend_folder.parent) not in text  # no path of this machine
    assert "written to standard output" in result.stderr
    # Deterministic: the same folder, the same bytes, on stdout or in a file.
    output = tmp_path / "Dockerfile"
    again = run("dockerfile", str(extend_folder), "-o", str(output))
    assert again.returncode == 0, again.stderr
    assert again.stdout == "" and output.read_text() == text


def test_build_args_sends_an_extend_folder_to_wheelhouse_dockerfile(extend_folder, run_cli):
    """Airflow's own Dockerfile would need the pip and uv an extend folder does not ship."""
    result = run_cli("build-args", str(extend_folder))
    assert result.returncode == 2, result.stderr
    assert "was prepared to extend the released image (apache/airflow:2.10.3-python3.11)" \
        in result.stderr and f"wheelhouse dockerfile {extend_folder}" in result.stderr


def test_base_overrides_the_image(extend_folder):
    mirror = f"registry.example.com:5000/{BASE}@sha256:{'a' * 64}"
    result = run("dockerfile", str(extend_folder), "--base", mirror)
    assert result.returncode == 0, result.stderr
    assert f"\nFROM {mirror}\n" in result.stdout
    bad = run("dockerfile", str(extend_folder), "--base", f"{BASE}\nRUN curl evil.example")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: --base ") and "is not an image reference" in bad.stderr


def test_output_inside_the_folder_is_refused(extend_folder):
    inside = extend_folder / "Dockerfile"
    result = run("dockerfile", str(extend_folder), "-o", str(inside))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: -o {inside} is inside {extend_folder}: verify would find a file its manifest "
        "does not list; write the Dockerfile beside the folder.")
    assert not inside.exists()


def test_a_folder_without_airflow_or_a_manifest_is_refused(pypiserver, tmp_path):
    plain = tmp_path / "plain"
    prepared = run("prepare", "alpha==1.0", "--python", "3.11", "--platform", "linux/amd64",
                   "--index-url", pypiserver.url, "--dest", str(plain))
    assert prepared.returncode == 0, prepared.stderr
    result = run("dockerfile", str(plain))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        f"error: {plain} holds no Apache Airflow (its manifest names no apache-airflow), and "
        "the Dockerfile extends Airflow's image: prepare the folder with --extend VERSION.")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("dockerfile", str(empty))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {empty} has no wheelhouse.json: prepare it first "
                                     "with wheelhouse prepare --extend VERSION SPEC...")
    result = run("dockerfile", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "is not a folder" in result.stderr


def test_a_folder_of_several_targets_is_refused(pypiserver, tmp_path):
    pins = tmp_path / "pins.txt"
    pins.write_text("apache-airflow-providers-celery==3.8.3\n")
    dest = tmp_path / "docker-context-files"
    result = prepare_extend(pypiserver, dest, "apache-airflow-providers-celery",
                            "--constraints", str(pins), "--python", "3.11", "--python", "3.12",
                            "--platform", "linux/amd64")
    assert result.returncode == 0, result.stderr
    document = json.loads((dest / "wheelhouse.json").read_text())
    assert document["extend"] == {"airflow": "2.10.3", "base": None}  # two images
    refused = run("dockerfile", str(dest))
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip() == (
        f"error: {dest} serves 2 targets (cp311-manylinux_2_36_x86_64, "
        "cp312-manylinux_2_36_x86_64), and a Dockerfile installs one target's lock: prepare a "
        "folder per target (one --python and one --platform) and write a Dockerfile for each.")


def test_a_folder_for_the_stock_build_is_served_with_a_warning(pypiserver, tmp_path):
    dest = tmp_path / "docker-context-files"
    result = run("prepare", "apache-airflow[celery]==2.10.3", "--python", "3.11", "--platform",
                 "linux/amd64", "--pip-version", "24.3.1", "--uv-version", "0.4.1",
                 "--index-url", pypiserver.url, "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    written = run("dockerfile", str(dest))
    assert written.returncode == 0, written.stderr
    assert f"\nFROM {BASE}\n" in written.stdout
    assert "prepared for Airflow's stock build (not --extend)" in written.stdout
    assert ("warning: the folder was prepared for Airflow's stock build, not with --extend: "
            "its lock also pins pip 24.3.1, uv 0.4.1, which the install puts in place of the "
            "image's own; prepare with --extend 2.10.3 for a folder without them"
            in " ".join(written.stderr.split()))


# -- the install, offline --------------------------------------------------------------------


def _image(tmp_path: Path, folder: Path, env: dict[str, str]) -> Path:
    """A virtualenv standing in for the released image: Airflow already installed."""
    python = venv_python(tmp_path / "image")
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--find-links", str(folder),
         "--disable-pip-version-check", "apache-airflow==2.10.3"],
        capture_output=True, text=True, env=env)
    assert installed.returncode == 0, installed.stderr
    return python


def test_the_dockerfiles_install_runs_offline_over_the_images_airflow(extend_folder, tmp_path):
    env = offline_env(tmp_path / "guard")
    python = _image(tmp_path, extend_folder, env)
    # The image's pip comes first on PATH (~/.local/bin), as `pip` does in the RUN.
    env = {**env, "PATH": f"{python.parent}:{env['PATH']}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    text = run("dockerfile", str(extend_folder)).stdout
    command = install_command(text, extend_folder)
    result = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    said = " ".join(result.stdout.split())
    # What the image holds at the pinned version is left alone; only the provider is added.
    assert "Requirement already satisfied: apache-airflow==2.10.3" in said
    assert "Successfully installed apache-airflow-providers-celery-3.8.3" in said
    assert "No broken requirements found." in said  # the RUN's own pip check
    check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True,
                           env=env)
    assert check.returncode == 0, check.stdout


def test_the_install_refuses_a_lock_it_was_not_written_for(extend_folder, tmp_path):
    env = offline_env(tmp_path / "guard")
    text = run("dockerfile", str(extend_folder)).stdout
    folder = tmp_path / "docker-context-files"
    shutil.copytree(extend_folder, folder)
    with (folder / "requirements.lock.txt").open("a") as lock:
        lock.write("# edited after the Dockerfile was written\n")
    python = _image(tmp_path, folder, env)
    env = {**env, "PATH": f"{python.parent}:{env['PATH']}"}
    result = subprocess.run(["/bin/sh", "-c", install_command(text, folder)],
                            capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "requirements.lock.txt: FAILED" in result.stdout
    listed = subprocess.run([str(python), "-m", "pip", "list"], capture_output=True, text=True,
                            env=env)
    assert "apache-airflow-providers-celery" not in listed.stdout  # pip never ran

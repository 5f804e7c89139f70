#!/usr/bin/env python3
"""Emulate the install step of Airflow's production image on a prepared wheelhouse.

There is no Docker engine here, so this replays what the Dockerfile does with
docker-context-files, with nothing but the folder: a clean virtualenv of the target Python,
pip configured only by the folder's pip.conf (find-links rewritten to the folder's path),
`pip install pip==` and `uv==` as shipped, then the airflow wheel with the extras
`wheelhouse build-args` prints as AIRFLOW_EXTRAS (what the Dockerfile installs) under the
folder's constraints, then `pip check`. The network is cut off (a new network namespace
with `unshare -n` where allowed, else proxies that lead nowhere), so any reach for an index
fails the run.

    python scripts/emulate_image_install.py docker-context-files [--python PATH]

Exit 0 when the install and `pip check` succeed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from wheelhouse import layout
from wheelhouse.buildargs import build_args, settings_from_manifest
from wheelhouse.errors import WheelhouseError
from wheelhouse.manifest import Manifest


def find_python(version: str) -> str:
    """An interpreter of the target's major.minor: pythonX.Y on PATH, else pyenv's."""
    found = shutil.which(f"python{version}")
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(root.glob(f"versions/{version}.*/bin/python"))
    if candidates:
        return str(candidates[-1])
    if found:
        return found
    sys.exit(f"no Python {version} found (looked on PATH and under {root}/versions).")


def offline_prefix() -> list[str]:
    """`unshare -n` when this machine lets us make a network namespace."""
    if shutil.which("unshare"):
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
        if probe.returncode == 0:
            return ["unshare", "-n"]
    return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--python", help="the interpreter to use (default: the target's)")
    args = parser.parse_args()
    folder = args.folder.resolve()
    try:
        manifest = Manifest.load(folder)
    except WheelhouseError as exc:
        sys.exit(str(exc))
    if manifest is None:
        sys.exit(f"{folder} has no wheelhouse.json.")
    info = manifest.airflow
    if info is None:
        sys.exit(f"{folder} was not prepared for Apache Airflow (no 'airflow' in its manifest).")
    target = manifest.targets[0]
    files = {entry.name: entry for entry in manifest.files}
    try:
        settings = settings_from_manifest(manifest)
        assert settings.airflow_version and settings.python
        printed = build_args(settings.airflow_version, settings.python,
                             python_patch=settings.python_patch, extras=settings.extras or ())
    except WheelhouseError as exc:
        sys.exit(str(exc))
    extras = printed["AIRFLOW_EXTRAS"]  # the image installs apache-airflow[AIRFLOW_EXTRAS]
    airflow_file = folder / files["apache-airflow"].filename
    mode = info.constraints_mode
    constraints = folder / layout.image_constraints_name(target.python, mode) if mode else None
    python = args.python or find_python(target.python)

    work = Path(tempfile.mkdtemp(prefix="wheelhouse-image-"))
    config = work / "pip.conf"
    # The image copies /docker-context-files/pip.conf; here the folder has another path.
    config.write_text((folder / "pip.conf").read_text().replace(
        "/docker-context-files", str(folder)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update({"PIP_CONFIG_FILE": str(config), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"})
    prefix = offline_prefix()
    print(f"network: {'cut (unshare -n)' if prefix else 'proxies to 127.0.0.1:9'}")
    venv = work / "venv"
    steps = [
        [python, "-m", "venv", str(venv)],
        [str(venv / "bin/pip"), "install", f"pip=={files['pip'].version}"],
        [str(venv / "bin/pip"), "install", f"uv=={files['uv'].version}"],
        [str(venv / "bin/pip"), "install", f"{airflow_file}[{extras}]"]
        + (["--constraint", str(constraints)] if constraints else []),
        [str(venv / "bin/pip"), "check"],
    ]
    for step in steps:
        print("$", " ".join(step), flush=True)
        result = subprocess.run(prefix + step, env=env)
        if result.returncode != 0:
            print(f"FAILED: {' '.join(step)} (exit {result.returncode}); kept {work}")
            return 1
    version = subprocess.run([str(venv / "bin/python"), "-c",
                              "import airflow; print(airflow.__version__)"],
                             capture_output=True, text=True, env=env)
    print(f"installed offline: apache-airflow {version.stdout.strip()} into {venv}")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())

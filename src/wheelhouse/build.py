"""Build a wheel from an sdist when the index has no wheel for the target.

The build is pip's isolated PEP 517 build: build requirements come from the same indexes the
run uses, never from the user's pip configuration. Built wheels are cached by the sdist's
sha256, and SOURCE_DATE_EPOCH is fixed so a rebuild tends to give the same bytes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from wheelhouse.errors import InputError

REPRODUCIBLE_EPOCH = "315532800"  # 1980-01-01, the oldest time a zip file can hold


def cache_root(cache_dir: Path | None) -> Path:
    """--cache-dir, else $XDG_CACHE_HOME/wheelhouse, else ~/.cache/wheelhouse."""
    if cache_dir is not None:
        return cache_dir
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wheelhouse"


def build_wheel(
    sdist: Path,
    sdist_sha256: str,
    cache: Path,
    index_urls: list[str],
    find_links: list[Path],
    stop: threading.Event | None = None,
) -> Path:
    """The wheel built from `sdist` (cached by its sha256), as a path inside the cache.

    Setting `stop` ends the build early (its process is killed): a failed run does not wait
    for a build it no longer needs.
    """
    slot = cache / "built" / sdist_sha256
    cached = sorted(slot.glob("*.whl")) if slot.is_dir() else []
    if cached:
        return cached[0]
    slot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=slot.parent, prefix=".build-") as work:
        out = Path(work) / "out"
        command = [
            sys.executable, "-m", "pip", "wheel", "--no-deps", "--isolated", "--no-cache-dir",
            "--disable-pip-version-check", "--progress-bar", "off", "--wheel-dir", str(out),
        ]
        if index_urls:
            command += ["--index-url", index_urls[0]]
            for url in index_urls[1:]:
                command += ["--extra-index-url", url]
        else:
            command.append("--no-index")
        for folder in find_links:
            command += ["--find-links", str(folder)]
        cert = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
        if cert:
            command += ["--cert", cert]
        command.append(str(sdist))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        env["PIP_CONFIG_FILE"] = os.devnull
        env["SOURCE_DATE_EPOCH"] = REPRODUCIBLE_EPOCH
        result = _run(command, env, stop)
        built = sorted(out.glob("*.whl")) if out.is_dir() else []
        if result.returncode != 0 or len(built) != 1:
            tail = " ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
            raise InputError(f"building a wheel from {sdist.name} failed: {tail or 'no output'}.")
        staged = Path(work) / "slot"
        staged.mkdir()
        shutil.move(str(built[0]), staged / built[0].name)
        with contextlib.suppress(OSError):  # another run filled the slot first: use theirs
            os.replace(staged, slot)
    return sorted(slot.glob("*.whl"))[0]


class BuildStopped(Exception):
    """The run stopped while a build was under way; its process was killed."""


def _run(command: list[str], env: dict[str, str],
         stop: threading.Event | None) -> subprocess.CompletedProcess[str]:
    """subprocess.run that `stop` can end: pip and the backend it started are killed."""
    group = hasattr(os, "killpg")  # a session of its own, so its children can be killed too
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env, start_new_session=group) as process:
        while True:
            try:
                out, err = process.communicate(timeout=0.2)
            except subprocess.TimeoutExpired:
                if stop is None or not stop.is_set():
                    continue
                _kill(process, group)
                raise BuildStopped(command[-1]) from None
            return subprocess.CompletedProcess(command, process.returncode, out, err)


def _kill(process: subprocess.Popen[str], group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    process.communicate()

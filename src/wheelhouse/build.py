"""Build a wheel from an sdist when the index has no wheel for the target.

The build is pip's isolated PEP 517 build: build requirements come from the same indexes the
run uses, never from the user's pip configuration. Built wheels are cached by the sdist's
sha256, and SOURCE_DATE_EPOCH is fixed so a rebuild tends to give the same bytes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
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
) -> Path:
    """The wheel built from `sdist` (cached by its sha256), as a path inside the cache."""
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
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
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

#!/usr/bin/env python3
"""A PNG of a folder's review page, as headless Chromium draws it: to see the page without a
desktop (a design review, a bug report), and to check that its Content-Security-Policy
still lets its own style and script through.

    python scripts/screenshot_report.py FOLDER OUT.png [--height 1000] [--html PAGE.html]

The page is written as `wheelhouse report` would (verify not run), to a temporary file.
Chromium is Debian's `chromium`; when it is missing it is installed with apt-get, which
needs root and Debian's mirror. It runs with a fresh profile, so nothing of the machine's
browser is read or changed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from wheelhouse.layout import SIGNATURES
from wheelhouse.manifest import Manifest
from wheelhouse.review_page import PageInput, html_page
from wheelhouse.signing import read_blocks

BROWSERS = ("chromium", "chromium-browser")
WIDTH = 1400
TIMEOUT = 120  # seconds Chromium may take to draw one page


def page_for(folder: Path) -> str:
    """The report as the command writes it: signatures counted, not checked."""
    found = Manifest.read(folder)
    if found is None:
        sys.exit(f"{folder} has no wheelhouse.json.")
    manifest, data = found
    signatures = folder / SIGNATURES
    blocks = read_blocks(signatures.read_bytes()) if signatures.is_file() else []
    return html_page(PageInput(
        manifest=manifest, manifest_sha256=hashlib.sha256(data).hexdigest(),
        folder=str(folder), signatures=sum(1 for b in blocks if isinstance(b, bytes)),
        verified=None))


def browser() -> str:
    """Chromium's path, installing Debian's package first if there is none."""
    for name in BROWSERS:
        if found := shutil.which(name):
            return found
    if os.geteuid() != 0:
        sys.exit("chromium is not installed, and installing it needs root "
                 "(apt-get install -y chromium).")
    print("installing chromium (apt-get)...", file=sys.stderr)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    if subprocess.run(install, env=environment).returncode != 0:
        subprocess.run(["apt-get", "update"], env=environment, check=True)
        subprocess.run(install, env=environment, check=True)
    found = shutil.which("chromium")
    if found is None:
        sys.exit("apt-get installed chromium, yet there is no `chromium` on PATH.")
    return found


def screenshot(page: Path, out: Path, height: int) -> None:
    with tempfile.TemporaryDirectory(prefix="screenshot-profile-") as profile:
        command = [browser(), "--headless", "--disable-gpu", "--no-sandbox",
                   "--hide-scrollbars", f"--user-data-dir={profile}",
                   f"--screenshot={out}", f"--window-size={WIDTH},{height}", page.as_uri()]
        result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    if result.returncode != 0 or not out.is_file():
        sys.exit(f"chromium failed ({result.returncode}):\n{result.stderr[-3000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--height", type=int, default=1000, help="the window's height")
    parser.add_argument("--html", type=Path, help="keep the page here too")
    args = parser.parse_args()
    text = page_for(args.folder.resolve())
    out = args.out.resolve()
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="report-") as scratch:
        page = Path(scratch) / "report.html"
        page.write_text(text, encoding="utf-8")
        screenshot(page, out, args.height)
    if args.html is not None:
        args.html.write_text(text, encoding="utf-8")
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

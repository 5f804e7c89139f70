#!/usr/bin/env python3
"""Fuzz every parser that reads someone else's bytes, far longer than CI does.

    python scripts/fuzz.py [--examples 20000]

Runs tests/test_fuzz.py (hypothesis) with that many examples per property; CI runs 200.
Only the tool's own errors may come out: a failure prints the smallest input that broke it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=20000)
    args = parser.parse_args()
    env = {**os.environ, "WHEELHOUSE_FUZZ_EXAMPLES": str(args.examples)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               str(ROOT / "tests" / "test_fuzz.py")]
    return subprocess.run(command, env=env, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""`wheelhouse verify` beside the naive floor of reading every byte and member once.

The floor is what a careful person would run by hand: `sha256sum` over the folder's files,
then `unzip -tqq` of every wheel (one core). The page cache is warmed first, so both read
from memory. Prints each round, the medians and the ratio.

    python scripts/bench_verify.py [FOLDER] [--rounds 3]

FOLDER defaults to the one bench_prepare.py leaves (/tmp/wheelhouse-bench/wheelhouse).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def run(command: list[str] | str, shell: bool = False) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, shell=shell, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {command}\n{result.stdout[-2000:]}"
                 f"{result.stderr[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path,
                        default=Path("/tmp/wheelhouse-bench/wheelhouse"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = args.folder.resolve()
    files = sorted(p for p in folder.iterdir() if p.is_file())
    wheels = [p for p in files if p.suffix == ".whl"]
    size = sum(p.stat().st_size for p in files)
    print(f"folder: {folder} ({len(files)} files, {len(wheels)} wheels, {size / 1e6:.0f} MB)")
    for path in files:  # warm the page cache
        path.read_bytes()
    quoted = " ".join(f"'{p}'" for p in files)
    floor_sha = f"sha256sum {quoted} > /dev/null"
    floor_unzip = "for f in " + " ".join(f"'{p}'" for p in wheels) + "; do unzip -tqq \"$f\" " \
                  "> /dev/null || exit 1; done"
    verify = [sys.executable, "-m", "wheelhouse", "verify", str(folder)]
    ours, floor = [], []
    for number in range(1, args.rounds + 1):
        sha = run(floor_sha, shell=True)
        unzip = run(floor_unzip, shell=True)
        mine = run(verify)
        floor.append(sha + unzip)
        ours.append(mine)
        print(f"round {number}: sha256sum {sha:.2f} s + unzip -tqq {unzip:.2f} s = "
              f"{sha + unzip:.2f} s; wheelhouse verify {mine:.2f} s", flush=True)
    floor_median, ours_median = statistics.median(floor), statistics.median(ours)
    print(f"\nmedian: naive floor {floor_median:.2f} s, wheelhouse verify {ours_median:.2f} s; "
          f"ratio verify/floor = {ours_median / floor_median:.2f} (target <= 0.8)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

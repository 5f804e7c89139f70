#!/usr/bin/env python3
"""Cold and warm `wheelhouse prepare` beside `pip download`, on the same inputs.

Each round runs both cold (a fresh XDG_CACHE_HOME and an empty destination), alternating
which goes first, then prints the round; at the end the medians, the ratio, a warm re-run
of wheelhouse (everything already present: as it is, and with --refresh, which resolves
against the index again) and the peak RSS of each tool.

    python scripts/bench_prepare.py [--rounds 3] [--workdir /tmp/wheelhouse-bench]

The folder wheelhouse prepared last is left in WORKDIR/wheelhouse for bench_verify.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ("apache-airflow[celery,postgres,cncf.kubernetes,amazon,google,slack,ssh,redis,statsd]"
        "==2.10.3")
CONSTRAINTS = [
    ROOT.parent / "shared" / "constraints" / "constraints-2.10.3" / "constraints-3.11.txt",
    ROOT / "examples" / "airflow-2.10.3" / "constraints-3.11.txt",
]
INDEX = "https://pypi.org/simple"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KB, via /usr/bin/time) and the tail of the output."""
    measure = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
    started = time.perf_counter()
    result = subprocess.run(measure + command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-3000:]}")
    rss = int(result.stderr.strip().splitlines()[-1]) if measure else 0
    return seconds, rss, result.stdout[-400:]


def clean_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update({"PIP_CONFIG_FILE": os.devnull, "XDG_CACHE_HOME": str(cache),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return env


def folder_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.iterdir() if p.is_file() and p.suffix in (".whl", ".gz", ".zip")]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/wheelhouse-bench"))
    args = parser.parse_args()
    constraints = next((c for c in CONSTRAINTS if c.exists()), None)
    if constraints is None:
        sys.exit("no Airflow 2.10.3 constraints file found")
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "download", "--isolated", "--index-url", INDEX,
           "--progress-bar", "off", "-c", str(constraints), SPEC]
    wheelhouse = [sys.executable, "-m", "wheelhouse", "prepare", SPEC, "--constraints",
                  str(constraints), "--python", "3.11", "--index-url", INDEX]
    print(f"spec: {SPEC}\nconstraints: {constraints}\nrounds: {args.rounds}\n")
    times: dict[str, list[float]] = {"pip download": [], "wheelhouse prepare": []}
    peaks: dict[str, int] = {"pip download": 0, "wheelhouse prepare": 0}
    for round_number in range(1, args.rounds + 1):
        order = ["pip download", "wheelhouse prepare"]
        if round_number % 2 == 0:
            order.reverse()
        line = []
        for tool in order:
            cache = work / "cache"
            dest = work / ("pip" if tool == "pip download" else "wheelhouse")
            for path in (cache, dest):
                shutil.rmtree(path, ignore_errors=True)
            command = (pip + ["-d", str(dest)]) if tool == "pip download" else (
                wheelhouse + ["--dest", str(dest)])
            seconds, rss, _ = timed(command, clean_env(cache))
            count, size = folder_size(dest)
            times[tool].append(seconds)
            peaks[tool] = max(peaks[tool], rss)
            line.append(f"{tool}: {seconds:6.1f} s ({count} files, {size / 1e6:.0f} MB, "
                        f"{rss / 1024:.0f} MB RSS)")
        print(f"round {round_number}: " + "; ".join(line), flush=True)
    pip_median = statistics.median(times["pip download"])
    ours_median = statistics.median(times["wheelhouse prepare"])
    print(f"\nmedian cold: pip download {pip_median:.1f} s, wheelhouse prepare "
          f"{ours_median:.1f} s; ratio wheelhouse/pip = {ours_median / pip_median:.2f} "
          "(target <= 0.33)")
    for label, extra, goal in (
            ("warm re-run (everything present)", [], "target <= 3 s"),
            ("warm re-run with --refresh (resolved against the index again)", ["--refresh"],
             "no target: for comparison")):
        warm = []
        for _ in range(3):
            seconds, rss, tail = timed(wheelhouse + ["--dest", str(work / "wheelhouse")] + extra,
                                       clean_env(work / "cache"))
            warm.append(seconds)
            peaks["wheelhouse prepare"] = max(peaks["wheelhouse prepare"], rss)
        state = "up to date" if "Up to date" in tail else "resolved"
        print(f"{label}: median {statistics.median(warm):.2f} s of "
              f"{', '.join(f'{w:.2f}' for w in warm)} ({state}; {goal})")
    print(f"peak RSS: wheelhouse prepare {peaks['wheelhouse prepare'] / 1024:.0f} MB "
          f"(target <= 250 MB), pip download {peaks['pip download'] / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

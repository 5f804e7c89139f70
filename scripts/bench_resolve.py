#!/usr/bin/env python3
"""Cold `wheelhouse prepare` beside cold `uv pip compile` on cases that backtrack.

Each case is resolved by both tools in one run (alternating which goes first, each with an
empty cache), against PyPI, for the same target; the script prints each time, the ratio,
and whether both chose the same pins. wheelhouse does more than uv here: it also downloads
and hashes every pinned file and writes the lock and manifest, so the ratio is an upper bound
on its resolver's cost. Target: within 2x uv.

    python scripts/bench_resolve.py [--rounds 1] [--workdir /tmp/wheelhouse-bench-resolve]

uv is installed from PyPI into WORKDIR/uv-venv on first use.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

INDEX = "https://pypi.org/simple"


@dataclass(frozen=True)
class Case:
    name: str
    specs: tuple[str, ...]
    python: str
    platform: str  # wheelhouse's --platform
    uv_platform: str  # uv's --python-platform
    constraints: str = ""
    no_build: bool = False


CASES = (
    # Every boto3 release pins a botocore range: the resolver walks back through boto3
    # releases until one accepts the constrained botocore (issue 14's case).
    Case("boto3 under botocore==1.35.0", ("boto3",), "3.10", "win_amd64",
         "x86_64-pc-windows-msvc", constraints="botocore==1.35.0\n"),
    # s3fs pins aiobotocore, which pins a botocore range that boto3 must then meet.
    Case("s3fs with boto3", ("s3fs", "boto3"), "3.11", "manylinux_2_28_x86_64",
         "x86_64-manylinux_2_28"),
    # The newest dbt-core needs a parser with only sdists: back to a release with wheels.
    Case("dbt-core, no builds, arm64", ("dbt-core", "pydantic>=1.0"), "3.10", "linux/arm64",
         "aarch64-manylinux_2_36", no_build=True),
)


def clean_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "UV_"))}
    env.update({"PIP_CONFIG_FILE": os.devnull, "XDG_CACHE_HOME": str(cache),
                "UV_CACHE_DIR": str(cache / "uv"), "UV_NO_CONFIG": "1",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return env


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-3000:]}")
    return seconds, result.stdout


def install_uv(work: Path) -> Path:
    uv = work / "uv-venv" / "bin" / "uv"
    if not uv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(work / "uv-venv")], check=True)
        subprocess.run([str(work / "uv-venv" / "bin" / "python"), "-m", "pip", "install",
                        "--isolated", "--quiet", "--index-url", INDEX, "uv"], check=True,
                       env=clean_env(work / "install-cache"))
    return uv


def pins_of(text: str) -> dict[str, str]:
    """name -> version from a lock or `uv pip compile` output."""
    return {m[1].lower().replace("_", "-"): m[2]
            for m in re.finditer(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", text, re.MULTILINE)}


def run_case(case: Case, work: Path, uv: Path, first: str) -> dict[str, tuple[float, dict]]:
    folder = work / re.sub(r"[^a-z0-9]+", "-", case.name.lower())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    constraints = folder / "constraints.txt"
    constraints.write_text(case.constraints)
    requirements = folder / "requirements.in"
    requirements.write_text("\n".join(case.specs) + "\n")
    ours = [sys.executable, "-m", "wheelhouse", "prepare", *case.specs, "--python", case.python,
            "--platform", case.platform, "--index-url", INDEX, "--dest", str(folder / "wh"),
            "--cache-dir", str(folder / "cache-wh" / "build")]
    theirs = [str(uv), "pip", "compile", str(requirements), "--python-version", case.python,
              "--python-platform", case.uv_platform, "--index-url", INDEX, "--no-header",
              "--quiet", "--no-annotate", "--no-cache"]
    if case.constraints:
        ours += ["--constraints", str(constraints)]
        theirs += ["--constraint", str(constraints)]
    if case.no_build:
        ours.append("--no-build")
        theirs += ["--only-binary", ":all:"]
    results: dict[str, tuple[float, dict]] = {}
    order = ["wheelhouse", "uv"] if first == "wheelhouse" else ["uv", "wheelhouse"]
    for tool in order:
        cache = folder / f"cache-{'wh' if tool == 'wheelhouse' else 'uv'}"
        if tool == "wheelhouse":
            seconds, _ = timed(ours, clean_env(cache))
            pins = pins_of((folder / "wh" / "requirements.lock.txt").read_text())
        else:
            seconds, out = timed(theirs, clean_env(cache))
            pins = pins_of(out)
        results[tool] = (seconds, pins)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/wheelhouse-bench-resolve"))
    args = parser.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    uv = install_uv(work)
    version = subprocess.run([str(uv), "--version"], capture_output=True, text=True).stdout
    print(f"uv: {version.strip()}; rounds: {args.rounds}\n")
    ratios = []
    for case in CASES:
        times: dict[str, list[float]] = {"wheelhouse": [], "uv": []}
        same = True
        for round_number in range(args.rounds):
            first = "wheelhouse" if round_number % 2 == 0 else "uv"
            results = run_case(case, work, uv, first)
            for tool, (seconds, _) in results.items():
                times[tool].append(seconds)
            ours, theirs = results["wheelhouse"][1], results["uv"][1]
            differ = sorted(n for n in ours.keys() | theirs.keys()
                            if ours.get(n) != theirs.get(n))
            if differ:
                same = False
                print("  pins differ: " + ", ".join(
                    f"{n} {ours.get(n, '-')} (wheelhouse) / {theirs.get(n, '-')} (uv)"
                    for n in differ))
        mine, uvs = statistics.median(times["wheelhouse"]), statistics.median(times["uv"])
        ratios.append(mine / uvs)
        print(f"{case.name}: wheelhouse prepare {mine:.1f} s, uv pip compile {uvs:.1f} s; "
              f"ratio {mine / uvs:.2f} (target <= 2); same pins: {'yes' if same else 'NO'}",
              flush=True)
    print(f"\nworst ratio {max(ratios):.2f} (target <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

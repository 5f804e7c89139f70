"""What wheelhouse knows about Apache Airflow's conventions (see shared/airflow-facts.md)."""

from __future__ import annotations

import os
import re

from wheelhouse.errors import InputError

CONSTRAINTS_BASE = "https://raw.githubusercontent.com/apache/airflow"
# For mirrors and tests: where the constraints-<ref> trees live instead of GitHub.
CONSTRAINTS_BASE_ENV = "WHEELHOUSE_AIRFLOW_CONSTRAINTS_BASE"
MODES = ("constraints", "constraints-no-providers", "constraints-source-providers")
_BRANCHES = re.compile(r"^(main|master|latest|\d+-\d+)$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+((a|b|rc)\d+)?(-fix)?$")


def constraints_url(spec: str, python: str) -> str:
    """'airflow:2.10.3[:MODE]' -> the published constraints URL for that Python.

    VERSION is a release (2.10.3, 3.0.0rc1) or a branch (main, 2-10, latest); MODE is one of
    constraints, no-providers, source-providers (with or without the constraints- prefix).
    """
    parts = spec.split(":")
    if len(parts) not in (2, 3) or parts[0] != "airflow" or not parts[1]:
        raise InputError(
            f"--constraints {spec!r}: write airflow:VERSION or airflow:VERSION:MODE, "
            "e.g. airflow:2.10.3 or airflow:2.10.3:no-providers."
        )
    ref = parts[1]
    mode = parts[2] if len(parts) == 3 else "constraints"
    if not mode.startswith("constraints"):
        mode = f"constraints-{mode}"
    if mode not in MODES:
        raise InputError(
            f"--constraints {spec!r}: unknown mode {parts[2]!r}; use one of "
            "constraints, no-providers, source-providers."
        )
    if not (_VERSION.match(ref) or _BRANCHES.match(ref)):
        raise InputError(
            f"--constraints {spec!r}: {ref!r} is neither an Airflow version (2.10.3) nor a "
            "constraints branch (main, 2-10, latest)."
        )
    base = os.environ.get(CONSTRAINTS_BASE_ENV, CONSTRAINTS_BASE).rstrip("/")
    return f"{base}/constraints-{ref}/{mode}-{python}.txt"


def constraints_mode(spec: str) -> str:
    """The MODE part of an airflow: spec, as the file name uses it."""
    parts = spec.split(":")
    mode = parts[2] if len(parts) == 3 else "constraints"
    return mode if mode.startswith("constraints") else f"constraints-{mode}"


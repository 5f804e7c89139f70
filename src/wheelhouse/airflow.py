"""What wheelhouse knows about Apache Airflow's conventions (see shared/airflow-facts.md)."""

from __future__ import annotations

import os
import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

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
    mode = constraints_mode(spec)
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
    return normalize_mode(parts[2] if len(parts) == 3 else "constraints")


def normalize_mode(mode: str) -> str:
    """'no-providers' or 'constraints-no-providers' -> 'constraints-no-providers'."""
    full = mode if mode.startswith("constraints") else f"constraints-{mode}"
    if full not in MODES:
        raise InputError(f"unknown Airflow constraints mode {mode!r}; use constraints, "
                         "no-providers or source-providers.")
    return full



AIRFLOW = "apache-airflow"
# The image installs these for itself (pip==AIRFLOW_PIP_VERSION, uv==AIRFLOW_UV_VERSION,
# packaging, and in 3.0 setuptools==AIRFLOW_SETUPTOOLS_VERSION), so an offline build needs
# their wheels in the folder too. setuptools is shipped for every release: the image (every
# Dockerfile here from 2.8.4 on) force-reinstalls every wheel of the folder, so the folder's
# setuptools replaces the one `python -m venv` seeds into ~/.local from the base image's
# Python (below 3.12), which no manifest vouches for (a real 2.10.5 build's installed-set
# check found Debian's setuptools 66.1.1 there).
IMAGE_TOOLS = ("pip", "uv", "packaging", "setuptools")
# The releases whose Dockerfile pip-installs setuptools==AIRFLOW_SETUPTOOLS_VERSION by name:
# the 3.0.5 snapshot of main declares it (args.json), no 2.x, 3.0.0 or 3.1 Dockerfile does.
SETUPTOOLS_BY_NAME = ("3.0.5", "3.1")
# (tool, first Airflow version whose Dockerfile installs it by name, first that no longer does):
# verify requires these; the others are shipped but the image works without them.
_REQUIRED_TOOLS: tuple[tuple[str, str, str | None], ...] = (
    ("pip", "1.10.13", None), ("uv", "1.10.13", None), ("packaging", "1.10.13", None),
    ("setuptools", *SETUPTOOLS_BY_NAME),
)
CONTEXT_DIR = "/docker-context-files"
PIP_CONF = (
    "# Written by wheelhouse: the Airflow image copies this to its pip configuration, so that\n"
    "# every pip call of the build installs from the context folder and never from an index.\n"
    "[global]\n"
    "no-index = true\n"
    f"find-links = {CONTEXT_DIR}\n"
    "no-cache-dir = true\n"
)
_MODE_FILE = re.compile(r"(constraints(?:-no-providers|-source-providers)?)-(\d+\.\d+)\.txt$")


def is_airflow(specs: list[str]) -> bool:
    """Whether the requirements include apache-airflow itself."""
    for text in specs:
        try:
            if canonicalize_name(Requirement(text).name) == AIRFLOW:
                return True
        except InvalidRequirement:
            continue
    return False


def airflow_extras(requirements: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The extras of the apache-airflow requirement(s), as the Dockerfile spells them."""
    found: set[str] = set()
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == AIRFLOW:
            found |= {canonicalize_name(extra) for extra in requirement.extras}
    return tuple(sorted(found))


def image_requirements(
    pinned: set[str], pip_version: str | None, uv_version: str | None
) -> list[str]:
    """Requirements for the wheels the image installs for itself.

    pip: --pip-version, else the newest that supports the target (the resolver's choice).
    uv, packaging and setuptools: the constraints' pin when there is one (the constraints then
    decide), else --uv-version for uv, else the newest.
    """
    found = [f"pip=={pip_version}" if pip_version else "pip"]
    if "uv" in pinned or not uv_version:
        found.append("uv")
    else:
        found.append(f"uv=={uv_version}")
    found += ["packaging", "setuptools"]
    return found


def required_tools(airflow_version: str | None) -> tuple[str, ...]:
    """The tools the image of that Airflow version installs by name: a build fails without
    their wheels (when the version is unknown, those every release needs)."""
    try:
        version = release(airflow_version) if airflow_version else None
    except InputError:
        version = None
    return tuple(tool for tool, since, until in _REQUIRED_TOOLS
                 if (within(version, since, until) if version else until is None))


def constraints_file_mode(source: str, airflow_mode: str | None) -> str:
    """The MODE of an Airflow constraints file, from the airflow: spec or its file name."""
    if airflow_mode:
        return airflow_mode
    match = _MODE_FILE.search(source)
    return match[1] if match else "constraints"


def constraints_python(source: str) -> str | None:
    """The Python an Airflow constraints file is for, from its name (constraints-3.11.txt)."""
    match = _MODE_FILE.search(source)
    return match[2] if match else None


# Airflow 3.1+ installs with `--no-binary lxml,xmlsec`: the image builds them from sdists.
NO_BINARY = ("lxml", "xmlsec")


def builds_from_sdists(airflow_version: str) -> bool:
    """Whether the image builds NO_BINARY from sdists (Airflow 3.1 and later)."""
    return release(airflow_version) >= (3, 1, 0)


def release(airflow_version: str) -> tuple[int, int, int]:
    """'3.1.0rc1' -> (3, 1, 0), '3.0' -> (3, 0, 0): a candidate is built like its release."""
    from packaging.version import InvalidVersion, Version

    try:
        parts = (*Version(airflow_version).release, 0, 0)
    except InvalidVersion:
        raise InputError(f"{airflow_version!r} is not an Airflow version; write one such as "
                         "2.10.5 or 3.1.0rc1.") from None
    return (parts[0], parts[1], parts[2])


def within(version: tuple[int, int, int], since: str, until: str | None) -> bool:
    """Whether a release falls in [since, until): how the image facts are bounded."""
    return release(since) <= version and (until is None or version < release(until))

"""The `docker build` arguments (and Breeze flags) that make Airflow's own production Dockerfile
install from a wheelhouse in docker-context-files/ (see shared/airflow-facts.md).

Docker only warns about a --build-arg the Dockerfile does not declare, so a name of the wrong
generation fails silently: every name here is tied to the Airflow versions that declare it.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from packaging.utils import canonicalize_name
from packaging.version import Version

from wheelhouse.airflow import (
    CONTEXT_DIR,
    SETUPTOOLS_BY_NAME,
    airflow_extras,
    normalize_mode,
    release,
    within,
)
from wheelhouse.errors import InputError
from wheelhouse.manifest import Manifest
from wheelhouse.offline import SCOPE, Blocker, blockers

Generation = Literal["1.10.13-14", "1.10.15-2.2", "2.3-2.11", "3.0", "3.1-3.3", "3.4+"]
FORMATS = ("docker", "breeze", "json", "env")  # the command spells them too: --help stays light

_GENERATIONS: tuple[tuple[str, Generation], ...] = (  # (first Airflow version, generation)
    ("1.10.13", "1.10.13-14"),
    ("1.10.15", "1.10.15-2.2"),
    ("2.3", "2.3-2.11"),
    ("3.0", "3.0"),
    ("3.1", "3.1-3.3"),
    ("3.4", "3.4+"),
)
# Airflow's Docker changelog: 3.4 builds on a hardened Python image, and a bare
# debian:bookworm-slim BASE_IMAGE "no longer works". Its args are read from its Dockerfile only.
UNKNOWN_FROM = "3.4"

# (purpose, name, value, first Airflow version that declares it, first that no longer does),
# checked against every release's Dockerfile (shared/airflow-dockerfile-args/args.json). Values
# are templates: {py} major.minor, {py_full} X.Y.Z, {version}, {mode}, {extras}, {pip}, {uv},
# {setuptools}; a row whose template needs a value nobody gave (pip, uv, setuptools) is left
# out. The purpose groups the names one job has had over the releases: --dockerfile falls back
# to whichever it declares.
_ARGS: tuple[tuple[str, str, str, str, str | None], ...] = (
    # Install from docker-context-files. 1.10.13-14 installs the folder's wheels with --no-deps
    # after an index install of apache-airflow that INSTALL_AIRFLOW_VIA_PIP=false switches off.
    ("context install", "AIRFLOW_LOCAL_PIP_WHEELS", "true", "1.10.13", "1.10.15"),
    ("index install off", "INSTALL_AIRFLOW_VIA_PIP", "false", "1.10.13", "1.10.15"),
    ("context install", "INSTALL_FROM_DOCKER_CONTEXT_FILES", "true", "1.10.15", "2.3"),
    ("index install off", "INSTALL_FROM_PYPI", "false", "1.10.15", "2.3"),
    ("context install", "INSTALL_PACKAGES_FROM_CONTEXT", "true", "2.3", "3.0"),
    ("context install", "INSTALL_DISTRIBUTIONS_FROM_CONTEXT", "true", "3.0", None),
    ("context constraints", "USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES", "true", "2.7.1", "3.0"),
    ("context constraints", "USE_CONSTRAINTS_FOR_CONTEXT_DISTRIBUTIONS", "true", "3.0", None),
    # Before 2.3 the folder name is hard-coded; from 2.3 the default is "Dockerfile".
    ("context folder", "DOCKER_CONTEXT_FILES", "docker-context-files", "2.3", None),
    ("no pre-cache", "AIRFLOW_PRE_CACHED_PIP_PACKAGES", "false", "1.10.13", "2.10.5"),
    ("no MySQL client", "INSTALL_MYSQL_CLIENT", "false", "1.10.13", None),
    ("no MSSQL client", "INSTALL_MSSQL_CLIENT", "false", "2.2.0", None),
    # Its default adds apt.postgresql.org and fetches its key from keyservers (a real build's
    # proxy log); Debian's libpq serves psycopg2-binary's wheel.
    ("no PostgreSQL client", "INSTALL_POSTGRES_CLIENT", "false", "2.3.0", None),
    ("extras", "AIRFLOW_EXTRAS", "{extras}", "1.10.13", None),
    ("constraints", "AIRFLOW_CONSTRAINTS_LOCATION", CONTEXT_DIR + "/constraints-{py}.txt",
     "1.10.13", None),
    # 2.0.2 declares AIRFLOW_CONSTRAINTS too, but as a reference (constraints-2.0), not a mode.
    ("constraints mode", "AIRFLOW_CONSTRAINTS", "{mode}", "2.1.0", "2.3.1"),
    ("constraints mode", "AIRFLOW_CONSTRAINTS_MODE", "{mode}", "2.3.1", None),
    ("Airflow version", "AIRFLOW_VERSION", "{version}", "1.10.13", None),
    ("installation method", "AIRFLOW_INSTALL_SOURCES", "apache-airflow", "1.10.13", "1.10.15"),
    ("installation method", "AIRFLOW_INSTALL_VERSION", "=={version}", "1.10.13", "1.10.15"),
    ("installation method", "AIRFLOW_INSTALLATION_METHOD", "apache-airflow", "1.10.15", None),
    ("pip version", "PIP_VERSION", "{pip}", "1.10.14", "2.0.1"),
    ("pip version", "AIRFLOW_PIP_VERSION", "{pip}", "2.0.1", None),
    ("uv version", "AIRFLOW_UV_VERSION", "{uv}", "2.9", None),
    # Its default (80.9.0) is pip-installed by name in the build and final stages, so the
    # folder's must be.
    ("setuptools version", "AIRFLOW_SETUPTOOLS_VERSION", "{setuptools}", *SETUPTOOLS_BY_NAME),
    # The base image fixes the glibc the wheels must fit; from 3.1 Python is compiled into
    # debian:bookworm-slim from python.org's source of that exact release.
    ("base image", "PYTHON_BASE_IMAGE", "python:{py}-slim-buster", "1.10.13", "2.3"),
    ("base image", "PYTHON_BASE_IMAGE", "python:{py}-slim-bullseye", "2.3", "2.8"),
    ("base image", "PYTHON_BASE_IMAGE", "python:{py}-slim-bookworm", "2.8", "3.1"),
    ("base image", "BASE_IMAGE", "debian:bookworm-slim", "3.1", None),
    ("Python", "PYTHON_MAJOR_MINOR_VERSION", "{py}", "1.10.13", "2.0.2"),
    ("Python", "AIRFLOW_PYTHON_VERSION", "{py_full}", "3.1", None),
)

# A Dockerfile without these has nothing to switch off: no pre-cache step, the folder name
# hard-coded as docker-context-files, no setuptools installed by name.
_GONE_IS_FINE = ("no pre-cache", "context folder", "setuptools version")

# (first Airflow version, oldest Python, newest Python). The lower bounds are each release's
# Requires-Python on PyPI (a network test checks them); the upper bounds are the images Airflow
# published, which Requires-Python states only from 2.7.3 on.
_PYTHONS: tuple[tuple[str, str, str], ...] = (
    ("1.10.13", "3.5", "3.8"),
    ("2.0", "3.6", "3.8"),
    ("2.1", "3.6", "3.9"),
    ("2.3", "3.7", "3.10"),
    ("2.6", "3.7", "3.11"),
    ("2.7", "3.8", "3.11"),
    ("2.9", "3.8", "3.12"),
    ("2.11.0", "3.9", "3.12"),
    ("2.11.1", "3.10", "3.12"),
    ("3.0", "3.9", "3.12"),
    ("3.1", "3.10", "3.13"),
    ("3.2", "3.10", "3.14"),
)

# The Python X.Y.Z a 3.1+ Dockerfile compiles when not told (its AIRFLOW_PYTHON_VERSION default).
_PYTHON_DEFAULTS: tuple[tuple[str, str], ...] = (("3.1.0", "3.12.11"), ("3.1.7", "3.12.13"))

_PY = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_BASE_IMAGE = re.compile(r"^python:\d+\.\d+(-[A-Za-z0-9.-]+)$")


BREEZE_REFUSED = (
    "Breeze cannot build Airflow {version} offline: its --install-airflow-version replaces the "
    "constraints location with its own GitHub URL, which the image then fetches; run the "
    "docker build command instead (--format docker)."
)


class BuildArgs(Mapping[str, str]):
    """Build-arg NAME -> value in Dockerfile order, with what they were made for and what no
    build argument fixes, so that render() can print the verdict beside them."""

    def __init__(
        self,
        args: Mapping[str, str],
        *,
        airflow_version: str,
        python: str,
        generation: Generation,
        blockers: list[Blocker],
        warnings: list[str],
    ) -> None:
        self._args = dict(args)
        self.airflow_version = airflow_version
        self.python = python
        self.generation: Generation = generation
        self.blockers = blockers
        self.warnings = warnings

    def __getitem__(self, name: str) -> str:
        return self._args[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._args)

    def __len__(self) -> int:
        return len(self._args)

    def __repr__(self) -> str:
        return f"BuildArgs({self._args!r}, generation={self.generation!r})"

    @property
    def offline(self) -> bool:
        return not self.blockers


def generation(airflow_version: str, *, dockerfile: bool = False) -> Generation:
    """The Dockerfile generation of an Airflow version: it decides which build args exist.

    From 3.4 on the names are known only from the Dockerfile itself (dockerfile=True)."""
    version = release(airflow_version)
    if version < release(_GENERATIONS[0][0]):
        raise InputError(
            f"Airflow {airflow_version} cannot be built offline: its image fetches Airflow "
            "from GitHub during the build (docker-context-files works from 1.10.13 on)."
        )
    if version >= release(UNKNOWN_FROM) and not dockerfile:
        raise InputError(
            f"Airflow {airflow_version} builds on a new base image (from {UNKNOWN_FROM}) whose "
            "build args wheelhouse knows only from its Dockerfile: give --dockerfile PATH "
            "(wheelhouse knows 1.10.13 to 3.3 without one)."
        )
    return [gen for since, gen in _GENERATIONS if release(since) <= version][-1]


def _python(
    airflow_version: str, python: str, python_patch: str | None,
    declared: Mapping[str, str | None] | None,
) -> tuple[str, str | None]:
    """Check the target Python: -> (major.minor, X.Y.Z or None)."""
    match = _PY.match(python)
    if not match:
        raise InputError(f"--python {python!r}: write the target Python as X.Y, e.g. 3.11.")
    py = f"{match[1]}.{match[2]}"
    full = python if match[3] is not None else None
    if python_patch is not None:
        patch = _PY.match(python_patch)
        if not patch or patch[3] is None or f"{patch[1]}.{patch[2]}" != py:
            raise InputError(
                f"Python patch version {python_patch!r} is not an X.Y.Z release of Python {py}."
            )
        if full is not None and full != python_patch:
            raise InputError(f"--python {python} and Python {python_patch} disagree.")
        full = python_patch
    lo, hi = python_range(airflow_version)
    version = release(airflow_version)
    if not release(lo) <= release(py) <= release(hi):
        raise InputError(
            f"Airflow {airflow_version} does not support Python {py} (it supports {lo} to {hi})."
        )
    compiles = version >= (3, 1, 0) if declared is None else "AIRFLOW_PYTHON_VERSION" in declared
    if compiles and full is None:
        # The image compiles this exact Python from python.org: X.Y alone is no download URL,
        # and guessing a patch release would ship wheels checked against another Python.
        known = [default for since, default in _PYTHON_DEFAULTS if release(since) <= version]
        default = (declared or {}).get("AIRFLOW_PYTHON_VERSION") or (known[-1] if known else "")
        if declared is not None and default.startswith(f"{py}."):
            return py, default  # what this Dockerfile compiles when not told otherwise
        said = f" (its Dockerfile's default is {default})" if default else ""
        raise InputError(
            f"Airflow {airflow_version} compiles its Python from python.org and needs the exact "
            f"version: give --python {py}.N{said}, or a folder prepared with --python X.Y.Z."
        )
    return py, full


def python_range(airflow_version: str) -> tuple[str, str]:
    """(oldest, newest) Python X.Y that Airflow release supports."""
    version = release(airflow_version)
    return [(lo, hi) for since, lo, hi in _PYTHONS if release(since) <= version][-1]


def build_args(
    airflow_version: str,
    python: str,
    *,
    pip_version: str | None = None,
    uv_version: str | None = None,
    constraints_mode: str = "constraints",
    python_patch: str | None = None,
    extras: tuple[str, ...] = (),
    declared: Mapping[str, str | None] | None = None,
    setuptools_version: str | None = None,
) -> BuildArgs:
    """The --build-arg set that makes that Airflow version's Dockerfile install the wheelhouse.

    python is X.Y, or X.Y.Z (required from Airflow 3.1, which compiles that Python; python_patch
    gives it as X.Y.Z too). pip_version / uv_version / setuptools_version pin the tools the
    image installs, which must then be in the folder too. extras are the folder's Airflow
    extras: the image installs apache-airflow[AIRFLOW_EXTRAS]. declared: the ARGs of the
    Dockerfile the user builds with; only those names are printed, and a job none of them does
    is a warning.
    """
    gen = generation(airflow_version, dockerfile=declared is not None)
    airflow_version = str(Version(airflow_version))  # v2.10.5, 3.1.0-rc1 -> as pip spells them
    py, full = _python(airflow_version, python, python_patch, declared)
    values = {
        "py": py,
        "py_full": full,
        "version": airflow_version,
        "mode": normalize_mode(constraints_mode),
        "extras": ",".join(sorted({canonicalize_name(extra) for extra in extras})),
        "pip": pip_version,
        "uv": uv_version,
        "setuptools": setuptools_version,
    }
    version = release(airflow_version)
    warnings: list[str] = []
    args: dict[str, str] = {}
    for purpose, rows in _by_purpose():
        chosen = [row for row in rows if within(version, row[3], row[4])]
        if declared is not None:
            wanted = chosen
            chosen = [row for row in chosen if row[1] in declared]
            if not chosen:  # another release's name for the same job, if this file has it
                chosen = [row for row in rows if row[1] in declared][-1:]
            if not chosen and wanted and purpose not in _GONE_IS_FINE:
                names = ", ".join(sorted({row[1] for row in wanted}))
                warnings.append(f"the Dockerfile declares no {names} ({purpose}), which "
                                f"Airflow {airflow_version}'s does; its default applies")
        for _, name, template, _, _ in chosen:
            if name == "PYTHON_BASE_IMAGE" and declared is not None:
                variant = _BASE_IMAGE.match(declared.get(name) or "")
                template = f"python:{{py}}{variant[1]}" if variant else template
            fields = re.findall(r"{(\w+)}", template)
            if all(values[field] is not None for field in fields):
                args[name] = template.format(**values)
    return BuildArgs(
        args, airflow_version=airflow_version, python=py, generation=gen,
        blockers=blockers(airflow_version, py, compiles_python=None if declared is None
                          else "AIRFLOW_PYTHON_VERSION" in declared),
        warnings=warnings,
    )


def _by_purpose() -> list[tuple[str, list[tuple[str, str, str, str, str | None]]]]:
    """The rows of _ARGS grouped by purpose, in the order of their first row."""
    groups: dict[str, list[tuple[str, str, str, str, str | None]]] = {}
    for row in _ARGS:
        groups.setdefault(row[0], []).append(row)
    return list(groups.items())


def _docker_flags(args: BuildArgs, tag: str | None) -> list[str]:
    flags = ["--no-cache"]
    for name, value in args.items():
        flags += ["--build-arg", f"{name}={value}"]
    return flags + (["--tag", tag] if tag else [])


def _lines(command: str, groups: list[list[str]]) -> str:
    """One shell command, one option (with its value) a line."""
    parts = [command] + ["    " + " ".join(group) for group in groups]
    return " \\\n".join(parts) + "\n"


def verdict(args: BuildArgs) -> str:
    """The offline verdict as shell comments: safe to paste with the command."""
    if args.offline:
        lines = [f"offline: yes. Airflow {args.airflow_version}'s Dockerfile fetches nothing "
                 f"from outside the folder with these arguments ({SCOPE})."]
    else:
        lines = [f"offline: NO. Airflow {args.airflow_version}'s Dockerfile fetches these "
                 f"whatever the folder holds ({SCOPE}):"]
        for blocker in args.blockers:
            lines.append(f"  - {blocker.what}: {blocker.why}.")
            lines.append(f"    what to do: {blocker.workaround}.")
    lines += [f"warning: {warning}." for warning in args.warnings]
    return "".join(f"# {line}\n" for line in lines)


def render(args: BuildArgs, fmt: str, *, context: str = ".", tag: str | None = None) -> str:
    """Print args as a docker command, JSON, or NAME=VALUE lines for CI (the verdict apart)."""
    if fmt == "docker":
        groups = [["--no-cache"]]
        groups += [["--build-arg", f"{k}={shlex.quote(v)}"] for k, v in args.items()]
        if tag:
            groups.append(["--tag", shlex.quote(tag)])
        groups.append([shlex.quote(context)])
        return _lines("docker build", groups)
    if fmt == "breeze":
        raise InputError(BREEZE_REFUSED.format(version=args.airflow_version))
    if fmt == "json":
        record = {
            "airflow_version": args.airflow_version,
            "python": args.python,
            "generation": args.generation,
            "build_args": dict(args),
            "docker_flags": _docker_flags(args, tag),
            "breeze_flags": None,
            "breeze_refused": BREEZE_REFUSED.format(version=args.airflow_version),
            "offline": args.offline,
            "offline_scope": SCOPE,
            "blockers": [blocker.to_json() for blocker in args.blockers],
            "warnings": args.warnings,
        }
        return json.dumps(record, indent=2, sort_keys=True) + "\n"
    if fmt == "env":
        return "".join(f"{k}={shlex.quote(v)}\n" for k, v in args.items())
    raise InputError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")


@dataclass
class ImageSettings:
    """What build_args needs, from a folder's manifest and then the flags."""

    airflow_version: str | None = None
    python: str | None = None
    python_patch: str | None = None
    pip_version: str | None = None
    uv_version: str | None = None
    setuptools_version: str | None = None
    constraints_mode: str = "constraints"
    extras: tuple[str, ...] | None = None  # None: nobody said


def settings_from_manifest(manifest: Manifest) -> ImageSettings:
    """What build_args needs, read from a prepared folder's manifest.

    The Airflow version is the pinned apache-airflow file; the Python is the (single) target's;
    pip, uv and setuptools are the versions of the wheels shipped, so the image installs exactly
    those; the extras are the Airflow requirement's, which the folder was resolved for.
    """
    versions = {entry.name: entry.version for entry in manifest.files}
    if "apache-airflow" not in versions:
        raise InputError("the wheelhouse holds no apache-airflow distribution; prepare it with "
                         "an apache-airflow requirement, or give --airflow-version.")
    pythons = sorted({target.python for target in manifest.targets})
    requested = [target.requested for target in manifest.targets]
    mode = manifest.airflow.constraints_mode if manifest.airflow else None
    return ImageSettings(
        airflow_version=versions["apache-airflow"],
        python=pythons[0] if len(pythons) == 1 else None,
        python_patch=requested[0] if len(requested) == 1 and requested[0].count(".") == 2
        else None,
        pip_version=versions.get("pip"),
        uv_version=versions.get("uv"),
        setuptools_version=versions.get("setuptools"),
        constraints_mode=mode or "constraints",
        extras=airflow_extras(manifest.requirements),
    )

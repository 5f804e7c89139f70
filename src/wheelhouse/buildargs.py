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

from packaging.version import InvalidVersion, Version

from wheelhouse.airflow import normalize_mode
from wheelhouse.errors import InputError
from wheelhouse.manifest import Manifest

Generation = Literal["1.10.13-14", "1.10.15-2.2", "2.3-2.11", "3.0", "3.1+"]
FORMATS = ("docker", "breeze", "json", "env")
CONTEXT_DIR = "/docker-context-files"

_Release = tuple[int, int, int]  # (major, minor, micro)
_GENERATIONS: tuple[tuple[str, Generation], ...] = (  # (first Airflow version, generation)
    ("1.10.13", "1.10.13-14"),
    ("1.10.15", "1.10.15-2.2"),
    ("2.3", "2.3-2.11"),
    ("3.0", "3.0"),
    ("3.1", "3.1+"),
)
# Airflow's Docker changelog: 3.4 builds on a hardened Python image, and a bare
# debian:bookworm-slim BASE_IMAGE "no longer works". Refuse rather than guess its args.
_UNKNOWN_FROM = "3.4"

# (name, value, first Airflow version that declares it, first that no longer does).
# Values are templates: {py} major.minor, {py_full} X.Y.Z, {version}, {mode}, {pip}, {uv};
# a row whose template needs a value the caller did not give (pip, uv) is left out.
_ARGS: tuple[tuple[str, str, str, str | None], ...] = (
    # Install from docker-context-files. 1.10.13-14 installs the folder with --no-deps after an
    # index install of apache-airflow that INSTALL_AIRFLOW_VIA_PIP=false switches off.
    ("AIRFLOW_LOCAL_PIP_WHEELS", "true", "1.10.13", "1.10.15"),
    ("INSTALL_AIRFLOW_VIA_PIP", "false", "1.10.13", "1.10.15"),
    ("INSTALL_FROM_DOCKER_CONTEXT_FILES", "true", "1.10.15", "2.3"),
    ("INSTALL_FROM_PYPI", "false", "1.10.15", "2.3"),
    ("INSTALL_PACKAGES_FROM_CONTEXT", "true", "2.3", "3.0"),
    ("USE_CONSTRAINTS_FOR_CONTEXT_PACKAGES", "true", "2.8", "3.0"),
    ("INSTALL_DISTRIBUTIONS_FROM_CONTEXT", "true", "3.0", None),
    ("USE_CONSTRAINTS_FOR_CONTEXT_DISTRIBUTIONS", "true", "3.0", None),
    # Before 2.3 the folder name is hard-coded; from 2.3 the default is "Dockerfile".
    ("DOCKER_CONTEXT_FILES", "docker-context-files", "2.3", None),
    ("AIRFLOW_PRE_CACHED_PIP_PACKAGES", "false", "1.10.13", "2.11"),
    ("INSTALL_MYSQL_CLIENT", "false", "2.3", None),
    ("AIRFLOW_CONSTRAINTS_LOCATION", CONTEXT_DIR + "/constraints-{py}.txt", "1.10.13", None),
    ("AIRFLOW_CONSTRAINTS_MODE", "{mode}", "2.4", None),
    ("AIRFLOW_VERSION", "{version}", "1.10.13", None),
    ("AIRFLOW_INSTALLATION_METHOD", "apache-airflow", "1.10.13", None),
    # The base image fixes the glibc the wheels must fit. Airflow's Docker changelog: Debian
    # bullseye from 2.3.0 (2.2 is still buster), bookworm from 2.8.0, bullseye dropped in 2.10;
    # from 3.1 Python is compiled into debian:bookworm-slim.
    ("PYTHON_BASE_IMAGE", "python:{py}-slim-buster", "1.10.13", "2.3"),
    ("PYTHON_MAJOR_MINOR_VERSION", "{py}", "1.10.13", "1.10.15"),
    ("PYTHON_BASE_IMAGE", "python:{py}-slim-bullseye", "2.3", "2.8"),
    ("PYTHON_BASE_IMAGE", "python:{py}-slim-bookworm", "2.8", "3.1"),
    ("BASE_IMAGE", "debian:bookworm-slim", "3.1", None),
    ("AIRFLOW_PYTHON_VERSION", "{py_full}", "3.1", None),
    ("AIRFLOW_PIP_VERSION", "{pip}", "1.10.13", None),
    # The Docker changelog puts uv in the image from 2.9 on.
    ("AIRFLOW_UV_VERSION", "{uv}", "2.9", None),
)

# (first Airflow version, oldest Python, newest Python), from airflow-facts.md. Older lines
# are not checked: the facts give no range for them (their constraints URL 404s instead).
_PYTHONS: tuple[tuple[str, str, str], ...] = (
    ("2.10", "3.8", "3.12"),
    ("2.11.0", "3.9", "3.12"),
    ("2.11.1", "3.10", "3.12"),
    ("3.0", "3.9", "3.12"),
    ("3.1", "3.10", "3.13"),
    ("3.2", "3.10", "3.14"),
)

# (breeze flag, its value or None for a switch, first Airflow version, first without it).
# `breeze prod-image build` is the Python Breeze of the 2.3+ branches; older ones have
# the bash `./breeze build-image --production-image` with other flags.
_BREEZE: tuple[tuple[str, str | None, str, str | None], ...] = (
    ("--install-packages-from-context", None, "2.3", "3.0"),
    ("--use-constraints-for-context-packages", None, "2.8", "3.0"),
    ("--install-distributions-from-context", None, "3.0", None),
    ("--use-constraints-for-context-distributions", None, "3.0", None),
    ("--disable-mysql-client-installation", None, "2.3", None),
    ("--airflow-constraints-location", CONTEXT_DIR + "/constraints-{py}.txt", "2.3", None),
    ("--airflow-constraints-mode", "{mode}", "2.4", None),
    ("--docker-cache", "disabled", "2.3", None),
    ("--python", "{py}", "2.3", None),
    ("--install-airflow-version", "{version}", "2.3", None),
)
_BREEZE_FROM = "2.3"

_PY = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")


class BuildArgs(Mapping[str, str]):
    """Build-arg NAME -> value in Dockerfile order, remembering what they were made for so that
    render() can also print the Breeze command and a JSON record."""

    def __init__(
        self,
        args: Mapping[str, str],
        *,
        airflow_version: str,
        python: str,
        generation: Generation,
        breeze: tuple[str, ...] | None,
    ) -> None:
        self._args = dict(args)
        self.airflow_version = airflow_version
        self.python = python
        self.generation: Generation = generation
        self.breeze = breeze  # None: `breeze prod-image build` does not exist for this version

    def __getitem__(self, name: str) -> str:
        return self._args[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._args)

    def __len__(self) -> int:
        return len(self._args)

    def __repr__(self) -> str:
        return f"BuildArgs({self._args!r}, generation={self.generation!r})"


def _release(text: str) -> _Release:
    """'3.1.0rc1' -> (3, 1, 0): a release candidate is built like the release it precedes."""
    try:
        release = Version(text).release
    except InvalidVersion:
        raise InputError(
            f"{text!r} is not an Airflow version; write one such as 2.10.5 or 3.1.0rc1."
        ) from None
    padded = (*release, 0, 0)
    return (padded[0], padded[1], padded[2])


def _within(version: _Release, since: str, until: str | None) -> bool:
    return _release(since) <= version and (until is None or version < _release(until))


def generation(airflow_version: str) -> Generation:
    """The Dockerfile generation of an Airflow version: it decides which build args exist."""
    version = _release(airflow_version)
    if version < _release(_GENERATIONS[0][0]):
        raise InputError(
            f"Airflow {airflow_version} cannot be built offline: its image fetches Airflow "
            "from GitHub during the build (docker-context-files works from 1.10.13 on)."
        )
    if version >= _release(_UNKNOWN_FROM):
        raise InputError(
            f"Airflow {airflow_version} builds on a new base image (from {_UNKNOWN_FROM}) whose "
            "build args wheelhouse does not know yet; it knows 1.10.13 to 3.3."
        )
    return [gen for since, gen in _GENERATIONS if _release(since) <= version][-1]


def _python(
    airflow_version: str, python: str, python_patch: str | None, gen: Generation
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
    version = _release(airflow_version)
    ranges = [(lo, hi) for since, lo, hi in _PYTHONS if _release(since) <= version]
    if ranges:
        lo, hi = ranges[-1]
        if not _release(lo) <= _release(py) <= _release(hi):
            raise InputError(
                f"Airflow {airflow_version} does not support Python {py} "
                f"(it supports {lo} to {hi})."
            )
    if gen == "3.1+" and full is None:
        # The image compiles this exact Python; with X.Y alone the Dockerfile picks whatever
        # patch is newest on the day of the build.
        raise InputError("Airflow 3.1+ needs the full Python version, e.g. --python 3.12.11.")
    return py, full


def build_args(
    airflow_version: str,
    python: str,
    *,
    pip_version: str | None = None,
    uv_version: str | None = None,
    constraints_mode: str = "constraints",
    python_patch: str | None = None,
) -> BuildArgs:
    """The --build-arg set that makes that Airflow version's Dockerfile install the wheelhouse.

    python is X.Y, or X.Y.Z (required from Airflow 3.1, which compiles that Python; python_patch
    gives it as X.Y.Z too). pip_version / uv_version pin the pip and uv the image installs, which
    must then be in the folder too.
    """
    gen = generation(airflow_version)
    airflow_version = str(Version(airflow_version))  # v2.10.5, 3.1.0-rc1 -> as pip spells them
    py, full = _python(airflow_version, python, python_patch, gen)
    constraints_mode = normalize_mode(constraints_mode)
    values = {
        "py": py,
        "py_full": full,
        "version": airflow_version,
        "mode": constraints_mode,
        "pip": pip_version,
        "uv": uv_version,
    }
    version = _release(airflow_version)
    args: dict[str, str] = {}
    for name, template, since, until in _ARGS:
        if not _within(version, since, until):
            continue
        fields = re.findall(r"{(\w+)}", template)
        if any(values[field] is None for field in fields):
            continue
        args[name] = template.format(**values)
    breeze: tuple[str, ...] | None = None
    if version >= _release(_BREEZE_FROM):
        breeze = ()
        for flag, value, since, until in _BREEZE:
            if _within(version, since, until):
                breeze += (flag,) if value is None else (flag, value.format(**values))
    return BuildArgs(
        args, airflow_version=airflow_version, python=py, generation=gen, breeze=breeze
    )


def breeze_flags(
    airflow_version: str,
    python: str,
    *,
    pip_version: str | None = None,
    uv_version: str | None = None,
    constraints_mode: str = "constraints",
    python_patch: str | None = None,
) -> list[str]:
    """`breeze prod-image build` arguments (argv tokens) equivalent to build_args()."""
    args = build_args(
        airflow_version,
        python,
        pip_version=pip_version,
        uv_version=uv_version,
        constraints_mode=constraints_mode,
        python_patch=python_patch,
    )
    return _breeze(args)


def _breeze(args: BuildArgs) -> list[str]:
    if args.breeze is None:
        raise InputError(
            f"Airflow {args.airflow_version} has no `breeze prod-image build`: breeze flags "
            f"exist from {_BREEZE_FROM} on (older branches only have the bash ./breeze)."
        )
    return list(args.breeze)


def _docker_flags(args: BuildArgs, tag: str | None) -> list[str]:
    flags = ["--no-cache"]
    for name, value in args.items():
        flags += ["--build-arg", f"{name}={value}"]
    return flags + (["--tag", tag] if tag else [])


def _lines(command: str, groups: list[list[str]]) -> str:
    """One shell command, one option (with its value) a line."""
    parts = [command] + ["    " + " ".join(group) for group in groups]
    return " \\\n".join(parts) + "\n"


def _pairs(tokens: list[str]) -> list[list[str]]:
    """Group argv tokens as '--flag [value]'."""
    groups: list[list[str]] = []
    for token in tokens:
        if token.startswith("--") or not groups:
            groups.append([token])
        else:
            groups[-1].append(shlex.quote(token))
    return groups


def render(args: BuildArgs, fmt: str, *, context: str = ".", tag: str | None = None) -> str:
    """Print args as a docker command, a breeze command, JSON, or NAME=VALUE lines for CI."""
    if fmt == "docker":
        groups = [["--no-cache"]]
        groups += [["--build-arg", f"{k}={shlex.quote(v)}"] for k, v in args.items()]
        if tag:
            groups.append(["--tag", shlex.quote(tag)])
        groups.append([shlex.quote(context)])
        return _lines("docker build", groups)
    if fmt == "breeze":
        return _lines("breeze prod-image build", _pairs(_breeze(args)))
    if fmt == "json":
        record = {
            "airflow_version": args.airflow_version,
            "python": args.python,
            "generation": args.generation,
            "build_args": dict(args),
            "docker_flags": _docker_flags(args, tag),
            "breeze_flags": None if args.breeze is None else list(args.breeze),
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
    constraints_mode: str = "constraints"


def settings_from_manifest(manifest: Manifest) -> ImageSettings:
    """What build_args needs, read from a prepared folder's manifest.

    The Airflow version is the pinned apache-airflow file; the Python is the (single) target's;
    pip and uv are the versions of the wheels shipped, so the image installs exactly those.
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
        constraints_mode=mode or "constraints",
    )

"""The target: the Python and platform a wheelhouse is for, never the host by accident.

A target answers two questions for the resolver: which wheel tags it accepts (best first),
and what its environment markers evaluate against. Both come from what the user named;
the host is used only when the user named nothing.
"""

from __future__ import annotations

import platform
import re
import sys
import sysconfig
from dataclasses import dataclass, field
from functools import cache, cached_property

from packaging import tags
from packaging.markers import (
    InvalidMarker,
    Marker,
    UndefinedComparison,
    UndefinedEnvironmentName,
    default_environment,
)
from packaging.tags import Tag
from packaging.version import InvalidVersion, Version

from wheelhouse.errors import InputError

# Debian bookworm (the Airflow image's base) ships glibc 2.36.
BOOKWORM_GLIBC = (2, 36)
DOCKER_PLATFORMS = {
    "linux/amd64": "x86_64",
    "linux/arm64": "aarch64",
    "linux/arm64/v8": "aarch64",
    "linux/386": "i686",
    "linux/ppc64le": "ppc64le",
    "linux/s390x": "s390x",
}
# The oldest glibc a manylinux wheel of each architecture can name (as pip does for the host).
_OLDEST_GLIBC_MINOR = {"x86_64": 5, "i686": 5}
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(.+)$")
_LEGACY = re.compile(r"^(manylinux2014|manylinux2010|manylinux1)_(.+)$")
_MUSLLINUX = re.compile(r"^musllinux_(\d+)_(\d+)_(.+)$")
_MACOSX = re.compile(r"^macosx_(\d+)_(\d+)_(.+)$")
_LEGACY_GLIBC = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}


class MarkerError(ValueError):
    """A marker that cannot be evaluated on a target; the caller names where it was read."""


@dataclass(frozen=True)
class Target:
    """One interpreter on one platform, as a wheel installer there would see it."""

    python_version: tuple[int, int]
    python_full_version: str
    implementation: str = "cp"
    platforms: tuple[str, ...] = ()
    abis: tuple[str, ...] = ()
    markers: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    host: bool = False
    requested: str = field(default="", compare=False)  # the Python as the user wrote it

    @property
    def python(self) -> str:
        return f"{self.python_version[0]}.{self.python_version[1]}"

    @cached_property
    def platform(self) -> str:
        """The platform to name the target by: the newest portable tag, not linux_*."""
        portable = [p for p in self.platforms if not p.startswith("linux_")]
        return (portable or list(self.platforms) or ["any"])[0]

    @cached_property
    def name(self) -> str:
        """A short, file-name-safe label: cp311-manylinux_2_28_x86_64."""
        major, minor = self.python_version
        return f"{self.implementation}{major}{minor}-{self.platform}"

    @cached_property
    def tags(self) -> tuple[Tag, ...]:
        """Every tag the target accepts, most specific first (pip's order)."""
        if self.host and not self.abis:
            return tuple(tags.sys_tags())
        major, minor = self.python_version
        interpreter = f"{self.implementation}{major}{minor}"
        platforms = list(self.platforms)
        if self.implementation == "cp":
            found = list(tags.cpython_tags(self.python_version, self.abis or None, platforms))
        else:
            found = list(tags.generic_tags(interpreter, list(self.abis) or ["none"], platforms))
        found += list(tags.compatible_tags(self.python_version, interpreter, platforms))
        return tuple(dict.fromkeys(found))

    @cached_property
    def _rank(self) -> dict[Tag, int]:
        return {tag: i for i, tag in enumerate(self.tags)}

    def rank(self, wheel_tags: frozenset[Tag]) -> int | None:
        """Lower is better; None when no tag of the wheel fits the target."""
        ranks = [self._rank[t] for t in wheel_tags if t in self._rank]
        return min(ranks) if ranks else None

    def environment(self, extra: str = "") -> dict[str, str]:
        """The marker environment, with `extra` set the way packaging expects it."""
        env = dict(self.markers)
        env["extra"] = extra
        return env

    def judge(self, marker: Marker, extra: str = "") -> bool:
        """Whether an environment marker is true on the target; MarkerError when it cannot
        be told (a comparison packaging cannot make, such as `python_version ~= "3"`)."""
        try:
            return marker.evaluate(self.environment(extra))
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
            raise MarkerError(f"{marker} cannot be evaluated for {self.name} ({exc})") from None

    def holds(self, marker: Marker, extra: str = "") -> bool:
        """`judge` for metadata read from an index: a marker it cannot judge does not hold,
        as pip skips such a requirement."""
        try:
            return self.judge(marker, extra)
        except MarkerError:
            return False

    def applies(self, marker: Marker | None, extra: str = "") -> bool:
        """Whether a Requires-Dist line with this marker is needed on the target: by the
        project itself (extra ""), or by `extra` on top of what the project needs."""
        if not extra:
            return marker is None or self.holds(marker)
        return marker is not None and self.holds(marker, extra) and not self.holds(marker)

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "python": self.python,
            "python_requested": self.requested or self.python_full_version,
            "python_full_version": self.python_full_version,
            "implementation": self.implementation,
            "platforms": list(self.platforms),
            "abis": list(self.abis),
            "markers": dict(sorted(self.markers.items())),
        }


def parse_python(text: str) -> tuple[tuple[int, int], str]:
    """'3.11' or '3.11.4' -> ((3, 11), '3.11.4'); X.Y means X.Y.0 for markers (as uv does).
    '311' and 'cp311' are 3.11, as pip's --python-version reads them."""
    short = re.fullmatch(r"(?:cp)?3(\d{1,2})", text.strip())
    try:
        version = Version(f"3.{short[1]}" if short else text)
    except InvalidVersion:
        version = None
    if version is None or len(version.release) not in (2, 3) or version.release[0] != 3 or (
        version.pre or version.dev or version.post or version.local
    ):
        raise InputError(f"--python {text!r} is not a Python version such as 3.11 or 3.11.4.")
    major, minor = version.release[:2]
    patch = version.release[2] if len(version.release) == 3 else 0
    return (major, minor), f"{major}.{minor}.{patch}"


def expand_platform(text: str) -> tuple[str, ...]:
    """A Docker platform or a wheel platform tag -> every tag it accepts, newest first.

    pip's own `--platform` is exact: `manylinux_2_28_x86_64` alone misses the many wheels
    tagged `manylinux2014`. An installer on that machine would accept them, so we do too.
    """
    text = text.strip()
    if text in DOCKER_PLATFORMS:
        return _manylinux_family(BOOKWORM_GLIBC, DOCKER_PLATFORMS[text])
    if m := _MANYLINUX.match(text):
        return _manylinux_family((int(m[1]), int(m[2])), m[3])
    if m := _LEGACY.match(text):
        return _manylinux_family(_LEGACY_GLIBC[m[1]], m[2])
    if m := _MUSLLINUX.match(text):
        major, minor, arch = int(m[1]), int(m[2]), m[3]
        return tuple(f"musllinux_{major}_{n}_{arch}" for n in range(minor, -1, -1)) + (
            f"linux_{arch}",
        )
    if m := _MACOSX.match(text):
        return tuple(tags.mac_platforms((int(m[1]), int(m[2])), m[3]))
    if re.fullmatch(r"(win32|win_amd64|win_arm64|linux_[a-z0-9_]+|any)", text):
        return (text,)
    raise InputError(
        f"--platform {text!r} is neither a Docker platform (linux/amd64, linux/arm64) nor a "
        "wheel platform tag such as manylinux_2_28_x86_64, musllinux_1_2_x86_64, win_amd64 "
        "or macosx_11_0_arm64."
    )


def _manylinux_family(glibc: tuple[int, int], arch: str) -> tuple[str, ...]:
    major, minor = glibc
    oldest = _OLDEST_GLIBC_MINOR.get(arch, 17)
    found: list[str] = []
    for n in range(minor, oldest - 1, -1):
        found.append(f"manylinux_{major}_{n}_{arch}")
        if legacy := _LEGACY_MANYLINUX.get((major, n)):
            found.append(f"{legacy}_{arch}")
    found.append(f"linux_{arch}")
    return tuple(found)


def platform_markers(platform_tag: str) -> dict[str, str]:
    """What sys.platform, platform.machine() and friends say on a machine of that tag."""
    if platform_tag.startswith("win"):
        machine = {"win32": "x86", "win_amd64": "AMD64", "win_arm64": "ARM64"}[platform_tag]
        return {"sys_platform": "win32", "os_name": "nt", "platform_system": "Windows",
                "platform_machine": machine}
    if platform_tag.startswith("macosx"):
        arch = platform_tag.split("_", 3)[-1]
        machine = "arm64" if arch in ("arm64", "universal2") else "x86_64"
        return {"sys_platform": "darwin", "os_name": "posix", "platform_system": "Darwin",
                "platform_machine": machine}
    if platform_tag == "any":
        return {}
    arch = linux_arch(platform_tag)
    return {"sys_platform": "linux", "os_name": "posix", "platform_system": "Linux",
            "platform_machine": arch}


def manylinux_glibc(platform_tag: str) -> tuple[int, int] | None:
    """The glibc a manylinux tag asks for (None: not a manylinux tag)."""
    if m := _MANYLINUX.match(platform_tag):
        return int(m[1]), int(m[2])
    if m := _LEGACY.match(platform_tag):
        return _LEGACY_GLIBC[m[1]]
    return None


def linux_arch(platform_tag: str) -> str:
    """The machine a Linux platform tag is for: manylinux_2_28_aarch64 -> aarch64."""
    for pattern in (_MANYLINUX, _MUSLLINUX):
        if m := pattern.match(platform_tag):
            return m[3]
    if m := _LEGACY.match(platform_tag):
        return m[2]
    return platform_tag.removeprefix("linux_")


def make_target(
    python: str | None = None,
    platform_text: str | None = None,
    implementation: str = "cp",
    abis: tuple[str, ...] = (),
) -> Target:
    """Build a target from the user's words; what they leave out is the host's."""
    host_env = default_environment()
    if python is None:
        version = sys.version_info[:2]
        full = host_env["python_full_version"]
    else:
        version, full = parse_python(python)
    markers: dict[str, str] = {key: str(value) for key, value in host_env.items()}
    if python is not None:
        markers["python_version"] = f"{version[0]}.{version[1]}"
        markers["python_full_version"] = full
        markers["implementation_version"] = full
    if implementation != "cp":
        if implementation != "pp":
            raise InputError(f"--implementation {implementation!r}: use cp (CPython) or pp (PyPy).")
        markers["implementation_name"] = "pypy"
        markers["platform_python_implementation"] = "PyPy"
    elif python is not None:
        markers["implementation_name"] = "cpython"
        markers["platform_python_implementation"] = "CPython"
    if platform_text is None:
        platforms = tuple(dict.fromkeys(tags.platform_tags()))
    else:
        platforms = expand_platform(platform_text)
        markers.update(platform_markers(platforms[0]))
        markers["platform_release"] = ""
        markers["platform_version"] = ""
    host = (
        python is None and platform_text is None and implementation == _host_implementation()
    )
    return Target(
        python_version=(int(version[0]), int(version[1])),
        python_full_version=full,
        implementation=implementation,
        platforms=platforms,
        abis=tuple(abis),
        markers=markers,
        host=host,
        requested=python or full,
    )


@cache
def _native_build_tag() -> Tag:
    """The tag a non-pure wheel built on this machine carries (cp311-cp311-linux_x86_64)."""
    first = next(iter(tags.sys_tags()))
    platform_tag = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return Tag(first.interpreter, first.abi, platform_tag)


def builds_here_fit(target: Target) -> bool:
    """Whether a non-pure wheel built on this machine serves `target`: its Python, ABI and
    platform are among the target's (a pure one serves every target). `linux_*` names no C
    library, so a musl target is served only by a musl machine, and a glibc one by glibc."""
    if target.platform.startswith("musllinux") != _host_is_musl():
        return False
    return target.rank(frozenset({_native_build_tag()})) is not None


@cache
def _host_is_musl() -> bool:
    return any(tag.platform.startswith("musllinux") for tag in tags.sys_tags())


def native_build_name() -> str:
    """This machine as a builder, in a message: `cp311-cp311-linux_x86_64`."""
    return str(_native_build_tag())


def _host_implementation() -> str:
    return "pp" if platform.python_implementation() == "PyPy" else "cp"


def target_from_description(data: dict) -> Target:
    """Rebuild a target from the manifest's `targets` entry (what prepare wrote)."""
    try:
        version, full = parse_python(str(data["python_full_version"]))
        return Target(
            python_version=version,
            python_full_version=full,
            implementation=str(data.get("implementation", "cp")),
            platforms=tuple(str(p) for p in data["platforms"]),
            abis=tuple(str(a) for a in data.get("abis", ())),
            markers={str(k): str(v) for k, v in dict(data["markers"]).items()},
            requested=str(data.get("python_requested") or full),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"a target in the manifest is incomplete ({exc}).") from None


def make_targets(
    pythons: list[str], platforms: list[str], implementation: str = "cp",
    abis: tuple[str, ...] = (),
) -> list[Target]:
    """Every (python, platform) the user named: their product; the host fills what is left."""
    named_pythons: list[str | None] = list(pythons) or [None]
    named_platforms: list[str | None] = list(platforms) or [None]
    found = list(dict.fromkeys(
        make_target(python, platform, implementation, abis)
        for python in named_pythons for platform in named_platforms))
    by_name: dict[str, Target] = {}
    for target in found:
        other = by_name.setdefault(target.name, target)
        if other is not target:
            # One lock and one constraints file per target name: two Pythons of one minor
            # version would overwrite each other's.
            raise InputError(
                f"--python {other.requested} and --python {target.requested} are both "
                f"{target.name} (markers would see {other.python_full_version} and "
                f"{target.python_full_version}), and a wheelhouse holds one lock per target: "
                "give one of them.")
    return found

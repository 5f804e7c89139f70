"""Extending Apache Airflow's released image with a wheelhouse: `prepare --extend VERSION` and
`wheelhouse dockerfile` (see shared/airflow-facts.md).

The stock Dockerfile fetches something from outside the folder in most releases (a root pip
step, `uv tool install`, Python from python.org). The route that is offline for every release
is to start from the released image, `FROM apache/airflow:X-pythonY` (through the
organization's registry mirror), and install the folder into it as the airflow user with pip
and no index. The folder then holds the user's requirements resolved under that release's
constraints, with `apache-airflow==X` pinned as the image holds it: pip leaves what the image
already has at the pinned version as it is (it does not even look for its file), so only what
the folder adds or pins differently is installed.
"""

from __future__ import annotations

import hashlib
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path

from wheelhouse import __version__, airflow, layout
from wheelhouse.buildargs import UNKNOWN_FROM, python_range
from wheelhouse.errors import InputError
from wheelhouse.manifest import Manifest
from wheelhouse.target import BOOKWORM_GLIBC, Target, linux_arch, manylinux_glibc

IMAGE = "apache/airflow"
# Where the build sees the folder: the path Airflow's own Dockerfile uses for it.
MOUNT = "/docker-context-files"
# A release with a published image tag (2.10.3, 3.0.0rc1): no branch, no -fix.
_RELEASE = re.compile(r"^\d+\.\d+\.\d+((a|b|rc)\d+)?$")
# An image reference as FROM takes it: [registry[:port]/]name[:tag][@sha256:digest].
_IMAGE_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$")
# What can stand in a RUN --mount option and a shell word without quoting.
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
# The Debian each release's image is built on (buildargs.py's base images), and its glibc: a
# wheel for a newer glibc does not install there. From 3.4 the base is not known here.
_IMAGE_DEBIAN: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("1.10.13", "buster", (2, 28)),
    ("2.3", "bullseye", (2, 31)),
    ("2.8", "bookworm", BOOKWORM_GLIBC),
)
# The architectures Airflow publishes images for, by what platform.machine() says.
_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64",
                  "arm64": "aarch64"}


def release_version(text: str) -> str:
    """--extend VERSION, checked: a release Airflow publishes an image of."""
    if not _RELEASE.match(text):
        raise InputError(f"--extend {text!r}: give the Airflow release the base image holds, "
                         "e.g. 2.10.3 (a published image tag, not a constraints branch).")
    return text


def base_image(version: str, python: str) -> str:
    """The released image of that Airflow version and Python: apache/airflow:2.10.3-python3.11."""
    return f"{IMAGE}:{version}-python{python}"


def image_debian(version: str) -> tuple[str, tuple[int, int]] | None:
    """The Debian release (and its glibc) the version's image is built on; None: not known."""
    found = airflow.release(version)
    if found >= airflow.release(UNKNOWN_FROM):
        return None
    for since, name, glibc in reversed(_IMAGE_DEBIAN):
        if airflow.release(since) <= found:
            return name, glibc
    return None


def default_platform(version: str) -> str:
    """--extend without --platform: the image's, for this machine's architecture (Airflow
    publishes amd64 and arm64 images), at the glibc of the Debian the image is built on."""
    arch = _ARCHITECTURES.get(platform.machine().lower(), "x86_64")
    debian = image_debian(version)
    major, minor = debian[1] if debian else BOOKWORM_GLIBC
    return f"manylinux_{major}_{minor}_{arch}"


def check_target(version: str, target: Target) -> None:
    """A target the released image can install: Linux, glibc no newer than the image's, and
    a Python the release publishes an image for."""
    if target.markers.get("sys_platform") != "linux" or any(
            tag.startswith("musllinux") for tag in target.platforms):
        raise InputError(f"--extend: Airflow's image is Debian Linux (glibc), and the target "
                         f"{target.name} is not: give --platform linux/amd64 or linux/arm64.")
    debian = image_debian(version)
    newest = max((glibc for tag in target.platforms if (glibc := manylinux_glibc(tag))),
                 default=None)
    if debian is not None and newest is not None and newest > debian[1]:
        name, (major, minor) = debian
        arch = _arch(target)
        raise InputError(
            f"--extend {version}: the image is built on Debian {name} (glibc {major}.{minor}), "
            f"but the target {target.name} takes wheels for glibc {newest[0]}.{newest[1]}, "
            f"which do not install there: give --platform manylinux_{major}_{minor}_{arch}.")
    if airflow.release(version) >= airflow.release(_IMAGE_DEBIAN[0][0]):
        low, high = python_range(version)
        py = airflow.release(target.python)
        if not airflow.release(low) <= py <= airflow.release(high):
            raise InputError(f"--extend {version}: Airflow publishes images of {version} for "
                             f"Python {low} to {high}, not {target.python}.")


def _arch(target: Target) -> str:
    return next((linux_arch(tag) for tag in target.platforms if tag.startswith("manylinux")),
                "x86_64")


# -- wheelhouse dockerfile ------------------------------------------------------------------


@dataclass(frozen=True)
class ExtendPlan:
    """What the Dockerfile is written from: the folder's one target, lock and Airflow."""

    airflow_version: str
    python: str
    target: str
    base: str
    source: str  # the folder's name: its path in the build context
    lock: str
    lock_sha256: str
    extended: bool  # prepared with --extend
    # The image's own tools the lock pins as well (a folder prepared for the stock build).
    tools: dict[str, str] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        if not self.tools:
            return []
        pinned = ", ".join(f"{name} {version}" for name, version in sorted(self.tools.items()))
        return [f"the folder was prepared for Airflow's stock build, not with --extend: its lock "
                f"also pins {pinned}, which the install puts in place of the image's own; "
                f"prepare with --extend {self.airflow_version} for a folder without them"]


def plan(folder: Path, manifest: Manifest, base: str | None = None) -> ExtendPlan:
    """The Dockerfile's facts from a prepared folder; one sentence when it cannot have one."""
    version = airflow_version(folder, manifest)
    targets = manifest.targets
    if len(targets) != 1:
        names = ", ".join(manifest.target_names) or "none"
        raise InputError(f"{folder} serves {len(targets)} targets ({names}), and a Dockerfile "
                         "installs one target's lock: prepare a folder per target (one --python "
                         "and one --platform) and write a Dockerfile for each.")
    target = targets[0]
    if target.markers.get("sys_platform") != "linux":
        raise InputError(f"{folder} is for {target.name}, and Airflow's image is Linux: "
                         f"prepare it with --extend {version} --platform linux/amd64 (or "
                         "linux/arm64).")
    lock = manifest.lock_names().get(target.name)
    if lock is None or not _PLAIN.match(lock):
        raise InputError(f"{folder}'s manifest names no lock for {target.name}; run "
                         f"wheelhouse prepare again.")
    try:
        data = (folder / lock).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {folder / lock}: {exc.strerror or exc}; run wheelhouse "
                         f"verify {folder}.") from None
    sha256 = hashlib.sha256(data).hexdigest()
    recorded = manifest.rerun.files_sha256.get(lock) if manifest.rerun else None
    if recorded is not None and recorded != sha256:
        raise InputError(f"{folder / lock} is not the lock its manifest records (sha256 "
                         f"{sha256[:12]}…, recorded {recorded[:12]}…): run wheelhouse verify "
                         f"{folder}.")
    source = folder.resolve().name
    if not _PLAIN.match(source):
        raise InputError(f"the folder's name {source!r} cannot stand in a RUN --mount option: "
                         "rename it (letters, digits, '.', '_', '+', '-'), e.g. "
                         f"{layout.DEFAULT_DEST}.")
    if base is not None:
        if not _IMAGE_REFERENCE.match(base):
            raise InputError(f"--base {base!r} is not an image reference such as "
                             f"registry.example.com/{base_image(version, target.python)}.")
    else:
        recorded_base = manifest.extend.base if manifest.extend else None
        base = recorded_base or base_image(version, target.python)
    tools = {} if manifest.extend else {
        entry.name: entry.version for entry in manifest.entries_for(target.name)
        if entry.role == "install" and entry.name in ("pip", "uv")}
    return ExtendPlan(airflow_version=version, python=target.python, target=target.name,
                      base=base, source=source, lock=lock, lock_sha256=sha256,
                      extended=manifest.extend is not None, tools=tools)


def airflow_version(folder: Path, manifest: Manifest) -> str:
    """The Airflow the folder pins: the extend record's, else the airflow record's, which the
    apache-airflow file must agree with."""
    files = sorted({entry.version for entry in manifest.files
                    if entry.name == airflow.AIRFLOW and entry.role == "install"})
    recorded = manifest.extend.airflow if manifest.extend else (
        manifest.airflow.version if manifest.airflow else None)
    if recorded is None and not files:
        raise InputError(f"{folder} holds no Apache Airflow (its manifest names no "
                         "apache-airflow), and the Dockerfile extends Airflow's image: prepare "
                         "the folder with --extend VERSION.")
    if recorded is not None and files and files != [recorded]:
        raise InputError(f"{folder}'s manifest records Airflow {recorded}, but its "
                         f"apache-airflow file is {', '.join(files)}: run wheelhouse verify "
                         f"{folder}.")
    version = recorded or files[0]
    if len(files) > 1 or not _RELEASE.match(version):
        raise InputError(f"{folder} pins apache-airflow {', '.join(files) or version}, which is "
                         "not one released image: prepare the folder with --extend VERSION.")
    return version


def render(plan: ExtendPlan) -> str:
    """The Dockerfile: deterministic, every line from the plan."""
    lock = f"{MOUNT}/{plan.lock}"
    route = ("prepared with `wheelhouse prepare --extend " + plan.airflow_version + "`"
             if plan.extended else "prepared for Airflow's stock build (not --extend)")
    lines = [
        f"# Apache Airflow {plan.airflow_version}'s released image, extended with the wheelhouse "
        f"{plan.source}/",
        f"# ({route}; target {plan.target}).",
        f"# Written by wheelhouse {__version__} (`wheelhouse dockerfile`): write it again after "
        "every prepare.",
        "#",
        "# Build it with the folder's parent as the context, with BuildKit (Docker 23+, or",
        "# DOCKER_BUILDKIT=1) or buildah/podman; nothing but the base image is fetched:",
        f"#   docker build --file Dockerfile --tag my-airflow:{plan.airflow_version} .",
        "# The folder is bind-mounted for the one RUN that installs it: it is never a layer of",
        "# the image. That RUN checks the lock is the one this file was written for, then pip",
        "# installs the lock's pins from the folder alone, each file held to its sha256; what",
        "# the image already holds at the pinned version (Airflow itself) is left as it is.",
        "# pip check then proves every requirement in the image still holds.",
        f"FROM {plan.base}",
        "USER airflow",
        f"RUN --mount=type=bind,source={plan.source},target={MOUNT} \\",
        f"    echo \"{plan.lock_sha256}  {lock}\" | sha256sum --check --quiet \\",
        f"    && pip install --no-cache-dir --no-index --find-links {MOUNT} \\",
        f"        --require-hashes -r {lock} \\",
        "    && pip check",
    ]
    return "\n".join(lines) + "\n"

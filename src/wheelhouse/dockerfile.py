"""The build arguments a Dockerfile declares: the names `build-args --dockerfile` may print.

Docker ignores a --build-arg its Dockerfile does not declare (a warning only), so the user's own
Dockerfile is the final word on which names mean anything. The file is untrusted input: it is
read with a size bound, and only `ARG` lines are looked at.
"""

from __future__ import annotations

import re
from pathlib import Path

from wheelhouse.errors import InputError

MAX_BYTES = 4 << 20  # Airflow's Dockerfiles are about 100 KiB
# ARG NAME, ARG NAME=default, ARG NAME="default" (one name a line, as Airflow writes them).
_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(.*?))?\s*$", re.IGNORECASE)


def declared_args(text: str) -> dict[str, str | None]:
    """NAME -> its default (None: declared without one), over all stages; first default wins."""
    declared: dict[str, str | None] = {}
    for line in text.splitlines():
        match = _ARG.match(line)
        if not match:
            continue
        name, default = match[1], match[2]
        if default is not None and len(default) >= 2 and default[0] == default[-1] == '"':
            default = default[1:-1]
        if declared.get(name) is None:
            declared[name] = default
    return declared


def read_dockerfile(path: Path) -> dict[str, str | None]:
    """The ARGs of the Dockerfile at path; one sentence when it cannot be one."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise InputError(f"--dockerfile {path} is a folder; give the Dockerfile itself.") from None
    except OSError as exc:
        raise InputError(f"--dockerfile {path}: {exc.strerror or exc}.") from None
    if len(data) > MAX_BYTES:
        raise InputError(f"--dockerfile {path} is over {MAX_BYTES >> 20} MiB: not a Dockerfile.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"--dockerfile {path} is not UTF-8 text: not a Dockerfile.") from None
    declared = declared_args(text)
    if not declared:
        raise InputError(f"--dockerfile {path} declares no ARG: not an Airflow Dockerfile.")
    return declared


def default_release(path: Path, declared: dict[str, str | None]) -> str:
    """The release a Dockerfile builds by default: its AIRFLOW_VERSION, when a release."""
    from packaging.version import InvalidVersion, Version

    default = declared.get("AIRFLOW_VERSION") or ""
    try:
        version = Version(default)
    except InvalidVersion:
        version = None
    if version is None or version.is_devrelease or version.local:
        raise InputError(f"--dockerfile {path} names no Airflow release in its AIRFLOW_VERSION "
                         f"({default or 'none'}); give --airflow-version.")
    return str(version)

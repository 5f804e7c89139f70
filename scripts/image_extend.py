"""The extend route of prove_image.py: a folder prepared with `wheelhouse prepare --extend`.

`wheelhouse build-args` refuses such a folder (exit 2, by design): it is built with the
Dockerfile `wheelhouse dockerfile DIR` writes, with no build arguments, FROM the released
image `apache/airflow:X-pythonY`. Here that image is one an earlier run of prove_image.py
built and kept (`--keep --tag apache/airflow:X-pythonY`), so the base must already be in
buildah's storage: nothing is pulled. The Dockerfile bind-mounts the folder from the build
context by its name (`RUN --mount=type=bind,source=NAME,...`), so the context holds it under
that name.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from image_tools import qualified

# FROM [--platform=...] IMAGE [AS NAME]
_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$", re.IGNORECASE)
_BIND_SOURCE = re.compile(r"--mount=(?=[^\s]*type=bind)[^\s]*?\bsource=([^,\s]+)")
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")  # what `wheelhouse dockerfile` allows


class ExtendInputError(ValueError):
    """The extend folder or its Dockerfile cannot be proved (exit 2); one sentence."""


def extend_record(folder: Path) -> dict[str, object] | None:
    """The folder's `extend` record (prepare --extend), None for a stock-build folder."""
    try:
        document = json.loads((folder / "wheelhouse.json").read_text())
    except (OSError, ValueError):
        return None
    record = document.get("extend") if isinstance(document, dict) else None
    return record if isinstance(record, dict) else None


def write_dockerfile(folder: Path, output: Path, base: str | None) -> None:
    """`wheelhouse dockerfile DIR -o OUTPUT [--base IMAGE]`: the Dockerfile the route uses."""
    command = [sys.executable, "-m", "wheelhouse", "dockerfile", str(folder), "-o", str(output)]
    if base:
        command += ["--base", base]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        said = done.stderr.strip().removeprefix("error: ") or f"exit {done.returncode}"
        raise ExtendInputError(f"wheelhouse dockerfile refused the folder: {said}")


def base_image(text: str, path: Path) -> str:
    """The one image the Dockerfile starts FROM (stages built in it aside), as written."""
    stages: set[str] = set()
    bases: list[str] = []
    for line in text.splitlines():
        match = _FROM.match(line)
        if not match:
            continue
        image, alias = match[1], match[2]
        if image.lower() not in stages and image != "scratch":
            bases.append(image)
        if alias:
            stages.add(alias.lower())
    if len(bases) != 1:
        raise ExtendInputError(f"{path} starts from {len(bases)} images "
                               f"({', '.join(bases) or 'none'}): an extend Dockerfile starts "
                               "from one, the released image.")
    if "$" in bases[0]:
        raise ExtendInputError(f"{path} names its base image with a build argument "
                               f"({bases[0]}), and an extend build has none: write it with "
                               "wheelhouse dockerfile.")
    return bases[0]


def context_name(text: str, path: Path) -> str | None:
    """The name the Dockerfile's bind mount takes the folder by in the build context; None
    when it mounts nothing (a Dockerfile of your own that COPYs the folder, say)."""
    sources = sorted(set(_BIND_SOURCE.findall(text.replace("\\\n", " "))))
    if not sources:
        return None
    if len(sources) > 1 or not _PLAIN.match(sources[0]):
        raise ExtendInputError(f"{path} bind-mounts {', '.join(sources)} from the build "
                               "context: an extend Dockerfile mounts the folder, by one plain "
                               "name.")
    return sources[0]


def missing_base(written: str, work: Path) -> str:
    """Why the extend build cannot start here: its base is not in the storage."""
    return (f"the base image {written} ({qualified(written)}) is not in buildah's storage in "
            f"{work}: build the release's image first, with `python scripts/prove_image.py "
            f"RELEASE_DIR --dockerfile AIRFLOW_DOCKERFILE --keep --tag {written}`.")

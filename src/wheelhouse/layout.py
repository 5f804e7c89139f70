"""The wheelhouse folder: every name this tool writes, and which files may be in it.

One module owns these rules so that prepare (what it prunes, what it warns about) and verify
(what it reports as `unlisted`) cannot disagree. Names read back from a manifest or a ledger
are someone else's data: `is_plain_name` and `is_written_name` are what keeps them inside
the folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from wheelhouse.errors import InputError

MANIFEST = "wheelhouse.json"
# SSH signatures of the manifest (wheelhouse sign), appended one block per signer.
SIGNATURES = "wheelhouse.json.sig"
LOCK = "requirements.lock.txt"
# Files a run put in the folder that no manifest lists yet (see ledger.py).
LEDGER = ".wheelhouse-fetched"
PIP_CONF = "pip.conf"
DEFAULT_DEST = Path("docker-context-files")

_PYTHON = r"\d+\.\d+"
_IMAGE_FOLDER = re.compile(rf"^constraints-{_PYTHON}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class OutsideFolder(InputError):
    """A name that would lead out of the folder: refused, never joined."""


def constraints_name(python: str) -> str:
    """The constraints as downloaded, named the way Airflow's build arguments name them."""
    return f"constraints-{python}.txt"


def image_constraints_name(python: str, mode: str) -> str:
    """Where Airflow's image looks first: `constraints-3.11/constraints-3.11.txt`."""
    return f"constraints-{python}/{mode}-{python}.txt"


def lock_name(target_name: str, several: bool) -> str:
    """One target: the lock. Several: one lock per target, as pip needs one consistent set."""
    return f"requirements.{target_name}.lock.txt" if several else LOCK


def is_plain_name(name: object) -> bool:
    """A file name that stays in the folder it is joined to: no separator of any platform,
    not `.` or `..`, no drive, no control character."""
    return (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
            and "\\" not in name and not _CONTROL.search(name)
            and not re.match(r"^[A-Za-z]:", name))


def path_in(folder: Path, name: str) -> Path:
    """The path of a file named by someone else (an index, a manifest, a ledger) in `folder`:
    the one gate every create, replace and remove goes through."""
    if not is_written_name(name):
        raise OutsideFolder(f"{name!r} is not a file name inside {folder}; refusing it.")
    if "/" in name and (folder / name.split("/")[0]).is_symlink():
        raise OutsideFolder(f"{folder / name.split('/')[0]} is a link; wheelhouse does not "
                            "write or remove through links.")
    return folder / name


def is_written_name(name: object) -> bool:
    """A file prepare writes beside the wheels: a plain name, or the image's constraints
    folder and a plain name inside it."""
    if is_plain_name(name):
        return True
    if not isinstance(name, str) or name.count("/") != 1:
        return False
    folder, file = name.split("/")
    return bool(_IMAGE_FOLDER.match(folder)) and is_plain_name(file)


def is_readme(name: str) -> bool:
    return name.lower().startswith("readme")


def unexpected(folder: Path, accounted: Iterable[str]) -> list[str]:
    """What is in `folder` that nothing accounts for: files, and folders holding anything
    unaccounted for. `accounted` names files relative to `folder` (see Manifest.accounted)."""
    known = set(accounted)
    found = []
    for path in sorted(folder.iterdir()):
        name = path.name
        if name in known or is_readme(name):
            continue
        if path.is_dir() and not path.is_symlink() and _IMAGE_FOLDER.match(name) and all(
                f"{name}/{child.name}" in known for child in path.iterdir()):
            continue
        found.append(name)
    return found


def prepare_parent(folder: Path, name: str) -> None:
    """The image's constraints folder for `name`, made a real folder inside `folder` (a link
    there is replaced: writing through it could land anywhere)."""
    if "/" not in name:
        return
    parent = folder / name.split("/")[0]
    if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
        parent.unlink()
    parent.mkdir(exist_ok=True)


def remove(folder: Path, names: Iterable[str]) -> None:
    """Remove files this tool wrote (names checked to stay inside `folder`), and an image
    constraints folder left empty by that."""
    for name in names:
        try:
            path = path_in(folder, name)
        except OutsideFolder:
            continue  # never through a link or out of the folder
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        if "/" in name:
            parent = path.parent
            if parent.is_dir() and not parent.is_symlink() and not any(parent.iterdir()):
                parent.rmdir()

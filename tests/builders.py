"""Real wheels and sdists for the tests, written with zipfile and tarfile.

The wheels are complete (METADATA, WHEEL, RECORD with hashes) so pip installs them; the
sdists carry a PEP 517 backend (in-tree, or as a build requirement served by the test
index) so pip builds them without setuptools or the internet.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

# A complete PEP 517 backend in a few lines: it packs the package folder and METADATA.
BACKEND = '''
import base64, hashlib, os, zipfile

def _meta():
    with open("PKG-INFO", encoding="utf-8") as f:
        meta = f.read()
    # Dynamic (PEP 643) is for sdists; a test may have the backend add requirements.
    meta = "".join(line for line in meta.splitlines(True) if not line.startswith("Dynamic: "))
    if os.path.exists("hook-requires.txt"):
        with open("hook-requires.txt", encoding="utf-8") as f:
            meta += "".join(f"Requires-Dist: {r}\\n" for r in f.read().splitlines() if r)
    return meta

def _called(hook):
    if os.path.exists("calls-log.txt"):  # a test may count the hooks pip calls
        with open("calls-log.txt", encoding="utf-8") as f:
            log = f.read()
        with open(log, "a", encoding="utf-8") as f:
            f.write(hook + "\\n")

def _field(meta, key):
    for line in meta.splitlines():
        if line.startswith(key + ": "):
            return line.split(": ", 1)[1]

def get_requires_for_build_wheel(config_settings=None):
    if os.path.exists("dynamic-requires.txt"):  # a test may ask for more, as setuptools can
        with open("dynamic-requires.txt", encoding="utf-8") as f:
            return f.read().split()
    return []

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _called("prepare_metadata_for_build_wheel")
    if os.path.exists("fail-metadata.txt"):  # a test may ask for a hook that fails, loudly
        import sys
        with open("fail-metadata.txt", encoding="utf-8") as f:
            print(f.read(), file=sys.stderr)
        raise SystemExit(1)
    meta = _meta()
    info = f"{_field(meta, 'Name').replace('-', '_')}-{_field(meta, 'Version')}.dist-info"
    os.makedirs(os.path.join(metadata_directory, info))
    with open(os.path.join(metadata_directory, info, "METADATA"), "w", encoding="utf-8") as f:
        f.write(meta)
    return info

if os.path.exists("no-metadata-hook.txt"):  # a test may ask for a backend without the hook
    del prepare_metadata_for_build_wheel

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _called("build_wheel")
    if os.path.exists("fail-build.txt"):  # a test may ask for a build that fails, loudly
        import sys
        with open("fail-build.txt", encoding="utf-8") as f:
            print(f.read(), file=sys.stderr)
        raise SystemExit(1)
    if os.path.exists("build-slowly.txt"):  # a test may ask for a long build: "SECONDS PATH"
        import time
        with open("build-slowly.txt", encoding="utf-8") as f:
            seconds, marker = f.read().split(maxsplit=1)
        with open(marker, "w", encoding="utf-8") as f:
            f.write(str(os.getpid()))
        time.sleep(float(seconds))
    meta = _meta()
    name, version = _field(meta, "Name"), _field(meta, "Version")
    dist = name.replace("-", "_")
    tag = "py3-none-any"
    if os.path.exists("wheel-tag.txt"):  # a test may ask for a platform wheel
        with open("wheel-tag.txt", encoding="utf-8") as f:
            tag = f.read().strip()
    filename = f"{dist}-{version}-{tag}.whl"
    info = f"{dist}-{version}.dist-info"
    files = {f"{dist}/__init__.py": f"__version__ = {version!r}\\n".encode(),
             f"{info}/METADATA": meta.encode(),
             f"{info}/WHEEL": f"Wheel-Version: 1.0\\nGenerator: test\\nTag: {tag}\\n".encode()}
    if os.path.exists("unreproducible.txt"):  # a test may ask for different bytes each time
        files[f"{dist}/_build_id.py"] = repr(os.urandom(8)).encode()
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    stamp = __import__("time").gmtime(max(epoch, 315532800))[:6]
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        for path, data in files.items():
            zf.writestr(zipfile.ZipInfo(path, stamp), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{path},sha256={digest.decode()},{len(data)}")
        record.append(f"{info}/RECORD,,")
        zf.writestr(zipfile.ZipInfo(f"{info}/RECORD", stamp), "\\n".join(record) + "\\n")
    return filename
'''


def _metadata(name, version, requires, extras, requires_python, metadata_version="2.1",
              dynamic=(), about=("License: MIT",)):
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}",
             *(f"Dynamic: {field}" for field in dynamic), *about]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {r}" for r in requires]
    for extra, needs in (extras or {}).items():
        lines.append(f"Provides-Extra: {extra}")
        for need in needs:
            marker = f'extra == "{extra}"'
            if ";" in need:
                need, other = need.split(";", 1)
                marker = f"({other.strip()}) and {marker}"
            lines.append(f"Requires-Dist: {need.strip()}; {marker}")
    return "\n".join(lines) + "\n"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(
    folder: Path,
    name: str,
    version: str,
    requires: tuple[str, ...] = (),
    extras: dict[str, tuple[str, ...]] | None = None,
    requires_python: str | None = None,
    tag: str = "py3-none-any",
    payload: bytes = b"",
    contents: dict[str, bytes] | None = None,
    about: tuple[str, ...] = ("License: MIT",),
    metadata_version: str = "2.1",
) -> Path:
    """A real, installable wheel; `payload` pads it, `contents` replaces its package, `about`
    are its descriptive METADATA lines (license, author, classifiers, summary)."""
    dist = name.replace("-", "_").replace(".", "_")
    info = f"{dist}-{version}.dist-info"
    pure = tag.endswith("-none-any")
    wheel_tags = []
    python, abi, platforms = tag.split("-")
    for platform in platforms.split("."):
        wheel_tags.append(f"Tag: {python}-{abi}-{platform}")
    files = dict(contents or {f"{dist}/__init__.py": f"__version__ = {version!r}\n".encode()})
    files |= {
        f"{info}/METADATA": _metadata(name, version, requires, extras, requires_python,
                                      metadata_version, about=about).encode(),
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\n"
            f"Root-Is-Purelib: {'true' if pure else 'false'}\n" + "\n".join(wheel_tags) + "\n"
        ).encode(),
    }
    if payload:
        files[f"{dist}/payload.bin"] = payload
    path = folder / f"{dist}-{version}-{tag}.whl"
    record = [_record_line(p, d) for p, d in files.items()] + [f"{info}/RECORD,,"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in files.items():
            zf.writestr(member, data)
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


def make_sdist(
    folder: Path,
    name: str,
    version: str,
    requires: tuple[str, ...] = (),
    backend_requires: tuple[str, ...] = (),
    backend: str = "wh_test_backend",
    wheel_tag: str | None = None,
    build_slowly: str | None = None,
    dynamic_requires: tuple[str, ...] = (),
    unreproducible: bool = False,
    fail_with: str | None = None,
    metadata_version: str = "2.1",
    dynamic: tuple[str, ...] = (),
    extras: dict[str, tuple[str, ...]] | None = None,
    requires_python: str | None = None,
    project: str | None = None,
    extra_files: dict[str, bytes] | None = None,
    setup_py: str | None = None,
    hook_requires: tuple[str, ...] = (),
    calls_log: Path | None = None,
    fail_metadata_with: str | None = None,
    metadata_hook: bool = True,
    archive: str = "tar.gz",
) -> Path:
    """An sdist pip can build offline: the backend is in-tree unless `backend_requires`.

    `build_slowly` ("SECONDS PATH") makes the build write its pid to PATH, then sleep;
    `dynamic_requires` are what the backend asks for when pip asks it (PEP 517's
    get_requires_for_build_wheel); `unreproducible` puts random bytes in every build;
    `fail_with` makes the build print it on stderr and fail.

    PKG-INFO says `metadata_version`, `dynamic` (PEP 643's Dynamic fields), `extras` and
    `requires_python`; `project` is TOML added to pyproject.toml (a [project] table);
    `extra_files` are more members (paths inside NAME-VERSION/); `setup_py` is a setup.py.
    The backend's metadata hook (and the wheel) add `hook_requires` to PKG-INFO's;
    `calls_log` is a file the backend appends each hook's name to; `fail_metadata_with`
    makes the metadata hook print it on stderr and fail; `metadata_hook=False` leaves the
    hook out (pip then builds the wheel for its metadata). `archive` is "tar.gz" or "zip".
    """
    dist = name.replace("-", "_")
    root = f"{dist}-{version}"
    pkg_info = _metadata(name, version, requires, extras, requires_python, metadata_version,
                         dynamic)
    members = {f"{root}/PKG-INFO": pkg_info.encode(), f"{root}/{dist}/__init__.py": b""}
    requires_list = ", ".join(f'"{r}"' for r in backend_requires)
    if backend_requires:
        pyproject = f'[build-system]\nrequires = [{requires_list}]\nbuild-backend = "{backend}"\n'
    else:
        pyproject = (
            f'[build-system]\nrequires = []\nbuild-backend = "{backend}"\n'
            'backend-path = ["_build"]\n'
        )
        members[f"{root}/_build/{backend}.py"] = BACKEND.encode()
    if project is not None:
        pyproject += "\n" + project
    members[f"{root}/pyproject.toml"] = pyproject.encode()
    if wheel_tag:
        members[f"{root}/wheel-tag.txt"] = wheel_tag.encode()
    if build_slowly:
        members[f"{root}/build-slowly.txt"] = build_slowly.encode()
    if dynamic_requires:
        members[f"{root}/dynamic-requires.txt"] = " ".join(dynamic_requires).encode()
    if unreproducible:
        members[f"{root}/unreproducible.txt"] = b"yes"
    if fail_with:
        members[f"{root}/fail-build.txt"] = fail_with.encode()
    if setup_py is not None:
        members[f"{root}/setup.py"] = setup_py.encode()
    if hook_requires:
        members[f"{root}/hook-requires.txt"] = "\n".join(hook_requires).encode()
    if calls_log is not None:
        members[f"{root}/calls-log.txt"] = str(calls_log).encode()
    if fail_metadata_with:
        members[f"{root}/fail-metadata.txt"] = fail_metadata_with.encode()
    if not metadata_hook:
        members[f"{root}/no-metadata-hook.txt"] = b"yes"
    for member, data in (extra_files or {}).items():
        members[f"{root}/{member}"] = data
    path = folder / f"{dist}-{version}.{archive}"
    if archive == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for member, data in members.items():
                zf.writestr(zipfile.ZipInfo(member, (1980, 1, 1, 0, 0, 0)), data)
        return path
    with tarfile.open(path, "w:gz") as tf:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = 315532800
            tf.addfile(info, io.BytesIO(data))
    return path


def make_backend_wheel(folder: Path, name: str = "wh-test-backend", version: str = "1.0") -> Path:
    """A wheel whose module is the BACKEND above: a build requirement on the test index."""
    module = name.replace("-", "_")
    return make_wheel(folder, name, version, contents={f"{module}.py": BACKEND.encode()})


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

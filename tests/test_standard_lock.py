"""pylock.toml (PEP 751) from manifests built in memory: what it holds, that packaging.pylock
accepts every document, and that selecting for each target picks exactly its files."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import sys
from datetime import datetime, timezone

import pytest
from packaging.markers import Marker
from packaging.pylock import PackageSdist, PackageWheel, Pylock, PylockSelectError
from packaging.utils import parse_sdist_filename, parse_wheel_filename

from wheelhouse import standard_lock
from wheelhouse.manifest import FileEntry, Kind, Manifest, Role
from wheelhouse.standard_lock import PYLOCK, environments, pylock_text
from wheelhouse.target import Target, make_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9 and 3.10 only
    import tomli as tomllib

UPLOADED = "2024-05-29T15:37:47.027275Z"
X86_311 = make_target("3.11", "manylinux_2_28_x86_64")
X86_312 = make_target("3.12", "manylinux_2_28_x86_64")
ARM_311 = make_target("3.11", "manylinux_2_28_aarch64")
ARM_312 = make_target("3.12", "manylinux_2_28_aarch64")
FOUR = (X86_311, X86_312, ARM_311, ARM_312)


def entry(filename: str, *targets: Target, kind: Kind = "wheel", role: Role = "install",
          url: str | None = None, upload_time: str | None = UPLOADED,
          requires_python: str | None = None) -> FileEntry:
    if filename.endswith(".whl"):
        name, version, _, _ = parse_wheel_filename(filename)
    else:
        name, version = parse_sdist_filename(filename)
    return FileEntry(
        filename=filename, name=str(name), version=str(version),
        sha256=hashlib.sha256(filename.encode()).hexdigest(), size=len(filename) * 100,
        url=f"https://files.example/p/{filename}" if url is None else url,
        index_sha256=None, kind=kind, tags=(), requires_python=requires_python,
        license=None, required_by=(), targets=tuple(t.name for t in targets),
        role=role, upload_time=upload_time,
    )


def manifest(targets: tuple[Target, ...], *files: FileEntry) -> Manifest:
    return Manifest(tool_version="0", created="2026-01-01T00:00:00Z", requirements=(),
                    constraints=None, targets=targets, index_urls=(), find_links=(),
                    files=files)


def load(text: str) -> tuple[dict, Pylock]:
    """The document as TOML data, and as packaging.pylock validates it."""
    data = tomllib.loads(text)
    lock = Pylock.from_dict(data)
    lock.validate()
    return data, lock


def selected(lock: Pylock, target: Target) -> dict[str, str]:
    """What an installer on the target installs: project -> the file it takes (always a
    wheel or an sdist of the folder)."""
    found = {}
    for package, chosen in lock.select(environment=target.environment(),  # type: ignore[arg-type]
                                       tags=target.tags):
        assert isinstance(chosen, (PackageWheel, PackageSdist))
        assert chosen.path == f"./{chosen.filename}"
        found[str(package.name)] = chosen.filename
    return found


def installs(m: Manifest, target: Target) -> dict[str, str]:
    """What the target's requirements lock installs: project -> its file (one here)."""
    return {e.name: e.filename for e in m.entries_for(target.name) if e.role == "install"}


# -- environments ---------------------------------------------------------------------------


def test_each_environment_names_the_target_in_full():
    assert environments([X86_311]) == [
        'sys_platform == "linux" and platform_machine == "x86_64" and python_version == "3.11" '
        'and implementation_name == "cpython"']
    assert environments([ARM_312, make_target("3.11", "win_amd64")]) == [
        'sys_platform == "linux" and platform_machine == "aarch64" and python_version == "3.12" '
        'and implementation_name == "cpython"',
        'sys_platform == "win32" and platform_machine == "AMD64" and python_version == "3.11" '
        'and implementation_name == "cpython"']


def test_each_environment_matches_its_own_target_and_no_other():
    targets = [*FOUR, make_target("3.11", "macosx_11_0_arm64"), make_target("3.11", "win_amd64"),
               make_target("3.11", "manylinux_2_28_x86_64", implementation="pp")]
    found = environments(targets)
    assert len(set(found)) == len(targets)
    for expression, mine in zip(found, targets):
        assert [Marker(expression).evaluate(t.environment()) for t in targets] == \
            [t is mine for t in targets]


@pytest.mark.parametrize("other", ["musllinux_1_2_x86_64", "manylinux_2_17_x86_64"])
def test_targets_markers_cannot_tell_apart_are_refused_by_name(other):
    twin = make_target("3.11", other)
    with pytest.raises(ValueError, match=f"{X86_311.name} and {twin.name}"):
        environments([X86_311, twin])
    files = entry("idna-3.7-py3-none-any.whl", X86_311, twin)
    with pytest.raises(ValueError, match="separate folders"):
        pylock_text(manifest((X86_311, twin), files))


def test_a_marker_value_with_a_double_quote_is_single_quoted_and_one_with_both_is_refused():
    odd = make_target("3.11", "manylinux_2_28_x86_64")
    odd.markers["platform_machine"] = 'x86"64'
    [expression] = environments([odd])
    assert "platform_machine == 'x86\"64'" in expression
    assert Marker(expression).evaluate(odd.environment())
    odd.markers["platform_machine"] = "x86\"'64"
    with pytest.raises(ValueError, match="both quotes"):
        environments([odd])


def test_a_target_without_a_key_markers_need_is_refused():
    bare = make_target("3.11", "manylinux_2_28_x86_64")
    del bare.markers["platform_machine"]
    with pytest.raises(ValueError, match="platform_machine"):
        environments([bare])


# -- the document ---------------------------------------------------------------------------


def test_one_target_lists_every_installed_wheel_with_its_path_and_no_marker():
    m = manifest((X86_311,),
                 entry("requests-2.32.3-py3-none-any.whl", X86_311, requires_python=">=3.8"),
                 entry("idna-3.7-py3-none-any.whl", X86_311, upload_time=None),
                 entry("setuptools-75.0.0-py3-none-any.whl", X86_311, role="build"),
                 entry("lxml-5.3.0.tar.gz", X86_311, kind="sdist", role="image"))
    text = pylock_text(m)
    data, lock = load(text)
    digest = hashlib.sha256(b"requests-2.32.3-py3-none-any.whl").hexdigest()
    assert data == {
        "lock-version": "1.0",
        "environments": environments([X86_311]),
        "requires-python": ">=3.11",
        "created-by": "wheelhouse",
        "packages": [
            {"name": "idna", "version": "3.7", "wheels": [{
                "name": "idna-3.7-py3-none-any.whl",
                "url": "https://files.example/p/idna-3.7-py3-none-any.whl",
                "path": "./idna-3.7-py3-none-any.whl", "size": 2500,
                "hashes": {"sha256": hashlib.sha256(b"idna-3.7-py3-none-any.whl").hexdigest()},
            }]},
            {"name": "requests", "version": "2.32.3", "requires-python": ">=3.8", "wheels": [{
                "name": "requests-2.32.3-py3-none-any.whl",
                "upload-time": datetime(2024, 5, 29, 15, 37, 47, 27275, tzinfo=timezone.utc),
                "url": "https://files.example/p/requests-2.32.3-py3-none-any.whl",
                "path": "./requests-2.32.3-py3-none-any.whl", "size": 3200,
                "hashes": {"sha256": digest},
            }]},
        ],
    }
    assert "upload-time = 2024-05-29T15:37:47.027275Z\n" in text
    assert selected(lock, X86_311) == installs(m, X86_311)
    assert PYLOCK == "pylock.toml"


def four_targets() -> Manifest:
    """Two Pythons on two machines: numpy pinned per Python, a project only x86_64 needs."""
    return manifest(
        FOUR,
        entry("requests-2.32.3-py3-none-any.whl", *FOUR, requires_python=">=3.8"),
        entry("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
              X86_311, requires_python=">=3.9"),
        entry("numpy-1.26.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
              ARM_311, requires_python=">=3.9"),
        entry("numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
              X86_312, requires_python=">=3.10"),
        entry("numpy-2.1.0-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
              ARM_312, requires_python=">=3.10"),
        entry("x86only-1.0-py3-none-any.whl", X86_311, X86_312),
        entry("setuptools-75.0.0-py3-none-any.whl", *FOUR, role="build"),
    )


def test_a_project_pinned_per_python_gets_an_entry_per_version_with_exclusive_markers():
    data, lock = load(pylock_text(four_targets()))
    numpy = [p for p in data["packages"] if p["name"] == "numpy"]
    assert [p["version"] for p in numpy] == ["1.26.4", "2.1.0"]
    assert [p["requires-python"] for p in numpy] == [">=3.9", ">=3.10"]
    old, new = (Marker(p["marker"]) for p in numpy)
    for target in FOUR:
        assert old.evaluate(target.environment()) == (target.python == "3.11")
        assert new.evaluate(target.environment()) == (target.python == "3.12")
    assert numpy[0]["marker"] == " or ".join(
        f"({e})" for e in sorted(environments([X86_311, ARM_311])))
    assert [len(p["wheels"]) for p in numpy] == [2, 2]


def test_a_project_one_machine_needs_is_marked_and_one_every_target_needs_is_not():
    data, _ = load(pylock_text(four_targets()))
    by_name = {p["name"]: p for p in data["packages"]}
    assert "marker" not in by_name["requests"]
    marker = Marker(by_name["x86only"]["marker"])
    assert [marker.evaluate(t.environment()) for t in FOUR] == [True, True, False, False]
    assert "setuptools" not in by_name  # a build requirement is not installed
    assert data["requires-python"] == ">=3.11"
    assert data["environments"] == sorted(environments(FOUR))


def test_selecting_for_each_target_takes_exactly_its_files():
    m = four_targets()
    _, lock = load(pylock_text(m))
    for target in FOUR:
        assert selected(lock, target) == installs(m, target), target.name
    with pytest.raises(PylockSelectError, match="environments"):
        selected(lock, make_target("3.11", "win_amd64"))


def test_a_built_wheel_has_no_url_or_upload_time_and_a_shipped_sdist_is_the_sdist():
    built = entry("sdistonly-1.0-cp311-cp311-linux_x86_64.whl", X86_311, kind="built-wheel",
                  url="https://files.example/p/sdistonly-1.0.tar.gz")
    shipped = entry("needsbuild-2.0.tar.gz", X86_311, kind="sdist",
                    upload_time="2024-01-02T03:04:05+01:00")
    m = manifest((X86_311,), built, shipped, entry("idna-3.7-py3-none-any.whl", X86_311))
    text = pylock_text(m)
    data, lock = load(text)
    by_name = {p["name"]: p for p in data["packages"]}
    assert by_name["sdistonly"]["wheels"] == [{
        "name": built.filename, "path": f"./{built.filename}", "size": built.size,
        "hashes": {"sha256": built.sha256}}]
    assert "sdist" not in by_name["sdistonly"]
    assert "wheels" not in by_name["needsbuild"]
    assert by_name["needsbuild"]["sdist"] == {
        "name": "needsbuild-2.0.tar.gz",
        "upload-time": datetime(2024, 1, 2, 2, 4, 5, tzinfo=timezone.utc),
        "url": "https://files.example/p/needsbuild-2.0.tar.gz",
        "path": "./needsbuild-2.0.tar.gz", "size": shipped.size,
        "hashes": {"sha256": shipped.sha256}}
    assert "upload-time = 2024-01-02T02:04:05Z\n" in text  # in UTC, as PyPI gives it
    assert selected(lock, X86_311) == installs(m, X86_311)


def test_a_version_with_wheels_for_one_target_and_an_sdist_for_another_holds_both():
    wheel = entry("fast-1.0-cp312-cp312-manylinux_2_28_x86_64.whl", X86_312)
    sdist = entry("fast-1.0.tar.gz", X86_311, kind="sdist")
    m = manifest((X86_311, X86_312), wheel, sdist)
    data, lock = load(pylock_text(m))
    [package] = data["packages"]
    assert "marker" not in package
    assert [w["name"] for w in package["wheels"]] == [wheel.filename]
    assert package["sdist"]["name"] == sdist.filename
    assert selected(lock, X86_311) == {"fast": sdist.filename}
    assert selected(lock, X86_312) == {"fast": wheel.filename}


def test_hostile_strings_round_trip_exactly_and_the_text_is_printable_ascii():
    url = ('https://files.example/p/"q"\\b\\\\\n\r\t\x00\x1b\x7f\u202e\u00e9\U0001f600'
           "'''\"\"\"]#=/x.whl")
    filename = "evil-1.0-py3-none-any\"'\u00e9.whl"
    created_by = 'wheelhouse "0.1"\n[tool]\\'
    m = manifest((X86_311,), entry(filename, X86_311, url=url, upload_time="not a time"))
    text = pylock_text(m, created_by=created_by)
    data, _ = load(text)
    [wheel] = data["packages"][0]["wheels"]
    assert (wheel["url"], wheel["name"], wheel["path"]) == (url, filename, f"./{filename}")
    assert "upload-time" not in wheel
    assert data["created-by"] == created_by
    assert all(" " <= char <= "~" for char in text.replace("\n", ""))


def test_a_lone_surrogate_is_refused_rather_than_written():
    m = manifest((X86_311,), entry("idna-3.7-py3-none-any.whl", X86_311, url="https://x/\ud800"))
    with pytest.raises(ValueError, match="surrogate"):
        pylock_text(m)


def test_the_same_manifest_in_any_order_gives_the_same_bytes():
    m = four_targets()
    shuffled = list(m.files)
    random.Random(7).shuffle(shuffled)
    assert pylock_text(manifest(FOUR, *shuffled)) == pylock_text(m)
    assert pylock_text(manifest(FOUR[::-1], *shuffled)) == pylock_text(m)
    against_names = [dataclasses.replace(f, sha256=("0" if "x86_64" in f.filename else "f") * 64)
                     for f in m.files]  # the order must come from the names
    data, _ = load(pylock_text(manifest(FOUR, *against_names)))
    wheels = [[w["name"] for w in p["wheels"]] for p in data["packages"]]
    assert wheels[0] == [
        "numpy-1.26.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]
    assert [p["name"] for p in data["packages"]] == ["numpy", "numpy", "requests", "x86only"]


def test_requires_python_is_left_out_when_the_files_disagree():
    m = manifest((X86_311, X86_312),
                 entry("odd-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", X86_311,
                       requires_python=">=3.9"),
                 entry("odd-1.0-cp312-cp312-manylinux_2_28_x86_64.whl", X86_312,
                       requires_python=">=3.10"))
    data, _ = load(pylock_text(m))
    assert "requires-python" not in data["packages"][0]
    assert data["requires-python"] == ">=3.11"


IDNA = entry("idna-3.7-py3-none-any.whl", X86_311)


@pytest.mark.parametrize("changes, message", [
    ({"name": "requests"}, "is idna 3.7 by its name"),
    ({"name": "IDNA"}, "not normalized"),
    ({"version": "3.7.x"}, "not a version"),
    ({"sha256": "x"}, "sha256"),
    ({"targets": ("t",)}, "serves t"),
    ({"targets": ()}, "serves no target"),
    ({"filename": "../idna-3.7-py3-none-any.whl"}, "inside the folder"),
    ({"kind": "sdist"}, "not the name of an sdist"),
    ({"kind": "egg"}, "unknown kind 'egg'"),
])
def test_a_manifest_entry_the_lock_cannot_name_truthfully_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        pylock_text(manifest((X86_311,), dataclasses.replace(IDNA, **changes)))


def test_a_target_installing_two_versions_of_a_project_is_refused():
    m = manifest((X86_311,), entry("idna-3.7-py3-none-any.whl", X86_311),
                 entry("idna-3.8-py3-none-any.whl", X86_311))
    with pytest.raises(ValueError, match="installs idna 3.7 and 3.8"):
        pylock_text(m)


def test_a_document_packaging_rejects_is_a_runtime_error_naming_why(monkeypatch):
    def no_hashes(entry: FileEntry) -> dict:
        return {"name": entry.filename, "path": "./" + entry.filename}

    monkeypatch.setattr(standard_lock, "_file", no_hashes)
    with pytest.raises(RuntimeError, match="hashes"):
        pylock_text(manifest((X86_311,), entry("idna-3.7-py3-none-any.whl", X86_311)))


@pytest.mark.parametrize("writes, url, message", [
    (lambda text: f'"{text}"', 'https://x/"', "is not TOML"),
    # TOML, but a backslash left unescaped reads back as a tab
    (lambda text: '"' + text.replace('"', '\\"') + '"', "https://x/\\t", "does not read back"),
])
def test_a_document_that_does_not_read_back_is_a_runtime_error(monkeypatch, writes, url,
                                                               message):
    monkeypatch.setattr(standard_lock, "_string", writes)
    m = manifest((X86_311,), entry("idna-3.7-py3-none-any.whl", X86_311, url=url))
    with pytest.raises(RuntimeError, match=message):
        pylock_text(m)


def test_two_sdists_of_one_version_are_refused_as_a_lock_holds_one():
    m = manifest((X86_311, X86_312), entry("fast-1.0.tar.gz", X86_311, kind="sdist"),
                 entry("fast-1.0.zip", X86_312, kind="sdist"))
    with pytest.raises(ValueError, match="fast 1.0 has 2 sdists"):
        pylock_text(m)

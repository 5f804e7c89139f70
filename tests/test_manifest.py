"""The manifest, lock and folder-layout models in-process: round trips, validation, names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from wheelhouse import layout
from wheelhouse.errors import InputError
from wheelhouse.lock import lock_text, locked_pins, parse_lock
from wheelhouse.manifest import FileEntry, Manifest
from wheelhouse.target import make_target


@pytest.fixture(scope="module")
def prepared(pypiserver, tmp_path_factory) -> Path:
    """A folder with a built wheel (sdist origin), constraints, and two targets."""
    from wheelhouse.prepare import PrepareOptions, prepare
    from wheelhouse.report import PrepareProgress

    root = tmp_path_factory.mktemp("manifest")
    constraints = root / "c.txt"
    constraints.write_text("beta==1.0\n")
    dest = root / "wh"
    options = PrepareOptions(specs=["alpha[fast]==2.0", "sdistonly"],
                             constraints=[str(constraints)], pythons=["3.10", "3.11"],
                             platforms=["linux/amd64"], index_url=pypiserver.url, dest=dest)
    with PrepareProgress(enabled=False) as progress:
        prepare(options, progress)
    return dest


def test_load_then_write_gives_the_same_bytes(prepared, tmp_path):
    text = (prepared / layout.MANIFEST).read_text()
    manifest = Manifest.load(prepared)
    assert manifest is not None and manifest.problems == ()
    assert manifest.dumps() == text
    manifest.write(tmp_path)
    assert (tmp_path / layout.MANIFEST).read_text() == text
    built = next(e for e in manifest.files if e.kind == "built-wheel")
    assert built.sdist is not None and built.sdist.filename == "sdistonly-1.0.tar.gz"
    assert [t.name for t in manifest.targets] == ["cp310-manylinux_2_36_x86_64",
                                                  "cp311-manylinux_2_36_x86_64"]


def test_what_the_folder_may_hold_is_what_the_manifest_accounts_for(prepared, tmp_path):
    manifest = Manifest.load(prepared)
    assert manifest is not None
    assert layout.unexpected(prepared, manifest.accounted()) == []
    assert set(manifest.lock_names().values()) == {
        "requirements.cp310-manylinux_2_36_x86_64.lock.txt",
        "requirements.cp311-manylinux_2_36_x86_64.lock.txt"}
    assert set(manifest.constraints_files().values()) == {"constraints-3.10.txt",
                                                          "constraints-3.11.txt"}
    assert manifest.written() <= {p.name for p in prepared.iterdir()}
    copy = tmp_path / "wh"
    shutil.copytree(prepared, copy)
    for name in ("notes.txt", "constraints-extra.txt", ".hidden"):
        (copy / name).write_text("x")
    (copy / "constraints-3.9").mkdir()
    (copy / "constraints-3.9" / "constraints-3.9.txt").write_text("x")
    (copy / "README.md").write_text("readme files are allowed")
    assert layout.unexpected(copy, manifest.accounted()) == [
        ".hidden", "constraints-3.9", "constraints-extra.txt", "notes.txt"]


def test_per_target_locks_name_themselves(prepared):
    manifest = Manifest.load(prepared)
    assert manifest is not None
    for target, lock in manifest.lock_names().items():
        text = (prepared / lock).read_text()
        assert f"--require-hashes -r {lock}\n" in text
        assert "-r requirements.lock.txt" not in text
        # the lock pins exactly what the manifest says, and reads back the same
        assert parse_lock(text) == locked_pins(manifest.entries_for(target))


def document(tmp_path: Path, files: list[dict], **extra) -> Path:
    (tmp_path / layout.MANIFEST).write_text(json.dumps({
        "schema": 1, "tool": {"name": "wheelhouse", "version": "0"}, "created": "now",
        "requirements": ["beta"], "constraints": None, "targets": [], "index_urls": [],
        "find_links": [], "lock": "requirements.lock.txt", "locks": {}, "files": files,
        **extra}))
    return tmp_path


GOOD = {"filename": "beta-1.0-py3-none-any.whl", "name": "beta", "version": "1.0",
        "sha256": "a" * 64, "size": 3, "kind": "wheel", "url": "u", "index_sha256": "a" * 64}


@pytest.mark.parametrize("filename", ["../canary-1.0-py3-none-any.whl", "/etc/passwd",
                                      "sub/beta-1.0-py3-none-any.whl", "..", "C:beta.whl",
                                      "notes.txt"])
def test_a_file_entry_must_be_a_distribution_file_in_the_folder(tmp_path, filename):
    manifest = Manifest.load(document(tmp_path, [GOOD, {**GOOD, "filename": filename}]))
    assert manifest is not None
    assert [e.filename for e in manifest.files] == [GOOD["filename"]]
    assert len(manifest.problems) == 1
    assert filename in manifest.problems[0].message
    assert filename not in manifest.owned()


@pytest.mark.parametrize("key, value", [
    ("locks", {"t": "../requirements.lock.txt"}),
    ("lock", "/tmp/requirements.lock.txt"),
    ("airflow", {"version": "2.10.3", "constraints_files": ["../c.txt", "a/b/c.txt"]}),
    ("rerun", {"inputs_sha256": "x", "files_sha256": {"../../x": "y"}, "warnings": []}),
])
def test_no_other_name_in_the_manifest_can_point_outside_the_folder(tmp_path, key, value):
    manifest = Manifest.load(document(tmp_path, [GOOD], **{key: value}))
    assert manifest is not None and manifest.problems
    assert all(layout.is_written_name(name) for name in manifest.owned())
    assert not [name for name in manifest.owned() if ".." in name or name.startswith("/")]


def test_wrong_types_are_problems_naming_the_key(tmp_path):
    broken = {**GOOD, "size": "3", "sha256": "xyz", "kind": "egg"}
    manifest = Manifest.load(document(tmp_path, [broken], requirements="beta"))
    assert manifest is not None and manifest.files == ()
    messages = [p.message for p in manifest.problems]
    assert "the manifest's 'requirements' is missing or not a list of strings." in messages
    assert f"{GOOD['filename']}: 'size' is missing or not a int." in messages
    assert f"{GOOD['filename']}: sha256 is not 64 hex digits." in messages
    assert f"{GOOD['filename']}: unknown kind 'egg'." in messages


@pytest.mark.parametrize("content, words", [
    ('{"schema": 1, "files": [', "not valid JSON"),
    ('{"schema": 2, "files": []}', r"known schema \(schema 2"),
    ('{"schema": 1}', "has no list of files"),
    ('{"schema": 1, "files": [], "targets": [{"python": "3.11"}]}', "incomplete"),
])
def test_an_unusable_manifest_is_refused_naming_the_file(tmp_path, content, words):
    (tmp_path / layout.MANIFEST).write_text(content)
    with pytest.raises(InputError, match=words) as caught:
        Manifest.load(tmp_path)
    assert layout.MANIFEST in str(caught.value)


def test_lock_round_trip_with_several_files_of_a_project():
    entries = [
        FileEntry("plat-1.0-cp311-cp311-win_amd64.whl", "plat", "1.0", "b" * 64, 1, "u", None,
                  "wheel", (), None, None, ("app",)),
        FileEntry("plat-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "plat", "1.0", "c" * 64, 1,
                  "u", None, "wheel", (), None, None, ("app",)),
        FileEntry("lxml-6.0.tar.gz", "lxml", "6.0", "d" * 64, 1, "u", None, "sdist", (), None,
                  None, (), role="image"),
    ]
    text = lock_text(entries, "cp311-any", "wheelhouse prepare app", "requirements.lock.txt")
    assert parse_lock(text) == locked_pins(entries) == {"plat": ("1.0", {"b" * 64, "c" * 64})}


def test_target_round_trip_through_the_manifest():
    target = make_target("3.11.4", "linux/arm64")
    from wheelhouse.target import target_from_description

    again = target_from_description(target.describe())
    assert again == target and again.name == target.name and again.tags == target.tags
    assert again.describe() == target.describe()


def test_the_folder_rules_never_go_through_a_link(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "constraints-3.11.txt").write_text("precious")
    folder = tmp_path / "wh"
    folder.mkdir()
    (folder / "constraints-3.11").symlink_to(outside)
    layout.remove(folder, ["constraints-3.11/constraints-3.11.txt", "../outside/x", "/etc/x"])
    assert (outside / "constraints-3.11.txt").read_text() == "precious"
    assert layout.unexpected(folder, {"constraints-3.11/constraints-3.11.txt"}) == [
        "constraints-3.11"]  # a link is not the image's constraints folder
    layout.prepare_parent(folder, "constraints-3.11/constraints-3.11.txt")
    assert (folder / "constraints-3.11").is_dir() and not (folder / "constraints-3.11").is_symlink()
    assert (outside / "constraints-3.11.txt").read_text() == "precious"

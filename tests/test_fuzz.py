"""Property-based fuzzing of every parser that reads someone else's bytes: only the tool's own
errors come out, never a traceback.

CI runs each property on WHEELHOUSE_FUZZ_EXAMPLES examples (default 200);
`python scripts/fuzz.py` runs many more.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wheelhouse import layout
from wheelhouse.constraints import parse_constraints
from wheelhouse.errors import InputError, NetworkError
from wheelhouse.index import name_and_version, parse_filename
from wheelhouse.lock import parse_lock
from wheelhouse.manifest import Manifest
from wheelhouse.simple import html_links, json_links
from wheelhouse.wheelfile import metadata_from_zip, structural_problems

EXAMPLES = int(os.environ.get("WHEELHOUSE_FUZZ_EXAMPLES", "200"))
fuzz = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)
# Manifest-shaped documents: the real keys, with values of any shape.
KEYS = ("tool", "created", "requirements", "constraints", "targets", "index_urls",
        "find_links", "lock", "locks", "files", "airflow", "rerun", "constraints_by_python")
ENTRY_KEYS = ("filename", "name", "version", "sha256", "size", "kind", "role", "sdist",
              "targets", "required_by", "url", "index_sha256", "tags", "yanked")
entries = st.dictionaries(st.sampled_from(ENTRY_KEYS),
                          json_values | st.sampled_from(["beta-1.0-py3-none-any.whl", "../x",
                                                         "/etc/passwd", "a" * 64, "wheel"]),
                          max_size=len(ENTRY_KEYS))
manifests = st.fixed_dictionaries(
    {"schema": st.just(1), "files": st.lists(entries | json_values, max_size=4)},
    optional={key: json_values for key in KEYS if key != "files"},
)


@fuzz
@given(manifests)
def test_the_manifest_reader(document):
    try:
        manifest = Manifest.from_json(document)
    except InputError:
        return
    # whatever it accepted names only files inside the folder, and writes back as JSON
    assert all(layout.is_written_name(name) for name in manifest.owned())
    json.loads(manifest.dumps())


@fuzz
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_the_constraints_parser(content):
    try:
        pins = parse_constraints(content, "c.txt")
    except InputError as exc:
        assert str(exc).startswith("c.txt")
        return
    assert all(pin.requirement.specifier for pin in pins)


tags = st.sampled_from(["<a ", "<a href=", "</a>", ">", '"', "'", "#sha256=", "&amp;",
                        "data-yanked", "data-requires-python=", "<base href=", "%2F", " "])


@fuzz
@given(st.lists(tags | st.text(max_size=8), max_size=60).map("".join))
def test_the_html_page_scanner(page):
    for link in html_links(page, "https://index.example/simple/p/"):
        assert isinstance(link.filename, str) and isinstance(link.url, str)


# PEP 691-shaped pages: the real keys, with values of any shape.
FILE_KEYS = ("filename", "url", "hashes", "requires-python", "yanked", "size", "core-metadata",
             "dist-info-metadata")
json_files = st.dictionaries(st.sampled_from(FILE_KEYS), json_values, max_size=8)
json_pages = st.fixed_dictionaries({}, optional={
    "meta": st.fixed_dictionaries({}, optional={"api-version": st.text(max_size=5)}) | json_values,
    "files": st.lists(json_files | json_values, max_size=6) | json_values,
}) | json_values


@fuzz
@given(json_pages.map(json.dumps).map(str.encode) | st.binary(max_size=60))
def test_the_json_page_reader(page):
    try:
        links = list(json_links(page, "https://index.example/simple/p/", "p"))
    except NetworkError:
        return
    for link in links:
        assert isinstance(link.filename, str) and link.filename
        assert isinstance(link.url, str) and isinstance(link.yanked, bool)
        assert link.size is None or (type(link.size) is int and link.size >= 0)
        assert link.sha256 is None or len(link.sha256) == 64


@fuzz
@given(st.text(max_size=80) | st.from_regex(
    r"[a-z_.]{1,8}-[0-9.a-z+!]{1,8}(-[0-9a-z%/]{0,4})?-[a-z0-9._]{1,6}-[a-z0-9_]{1,6}-"
    r"[a-z0-9_.]{1,12}\.whl", fullmatch=True))
def test_the_filename_parsers(filename):
    found = parse_filename(filename)
    quick = name_and_version(filename)
    if found is not None:
        assert quick is not None and found[1] == quick[1]


@fuzz
@given(st.text(max_size=300))
def test_the_lock_parser(text):
    for name, (version, hashes) in parse_lock(text).items():
        assert isinstance(name, str) and isinstance(version, str) and isinstance(hashes, set)


@pytest.mark.filterwarnings("ignore:Duplicate name")  # duplicates are one of the cases
@fuzz
@given(st.lists(st.tuples(st.sampled_from(["p-1.0.dist-info/METADATA", "p-1.0.dist-info/RECORD",
                                           "p/x.py", "../x", "/abs", "p-1.0.dist-info/WHEEL"])
                          | st.text(min_size=1, max_size=12),
                          st.binary(max_size=200)), max_size=6))
def test_the_wheel_readers(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            try:
                archive.writestr(name, data)
            except (ValueError, UnicodeEncodeError, IndexError):  # zipfile refuses the name
                continue
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        assert isinstance(structural_problems(archive, "p-1.0-py3-none-any.whl"), list)
        with contextlib.suppress(InputError):
            metadata_from_zip(archive, "p-1.0-py3-none-any.whl")

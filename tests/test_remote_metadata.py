"""Reading a wheel's METADATA from an index without downloading the wheel: PEP 658 files,
HTTP range requests against a real server on 127.0.0.1, and the fall back (None) whenever
the server cannot do either."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from builders import make_wheel
from conftest import WebServer

from wheelhouse import net
from wheelhouse.errors import NetworkError
from wheelhouse.index import Index, IndexFile, name_and_version
from wheelhouse.remote_metadata import TAIL, fetch_metadata, metadata_url
from wheelhouse.simple import html_links
from wheelhouse.wheelfile import METADATA_LIMIT, read_metadata

MIB = 1 << 20
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass
class Served:
    """What a range route answered: how many requests, how many body bytes."""

    requests: int = 0
    sent: int = 0
    ranges: list[str] = field(default_factory=list)


def serve_ranges(web: WebServer, path: str, body: bytes, *, total: int | None = None,
                 offset: int = 0, content_range: str | None = None) -> Served:
    """A route that honours `Range: bytes=a-b`, `bytes=-n` and `bytes=a-` with a 206 (a
    plain GET gets the whole body, 200). `total` and `offset` make it claim a larger file
    whose last bytes are `body`; `content_range` replaces its Content-Range header ("":
    sends none)."""
    served = Served()
    size = len(body) + offset if total is None else total
    offset = size - len(body)

    def answer(handler: BaseHTTPRequestHandler) -> None:
        served.requests += 1
        header = handler.headers.get("Range")
        if header is None:
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            served.sent += len(body)
            return
        served.ranges.append(header)
        found = _RANGE.fullmatch(header)
        assert found is not None and (found[1] or found[2]), header
        if not found[1]:
            first, last = max(size - int(found[2]), 0), size - 1
        else:
            first, last = int(found[1]), min(int(found[2]) if found[2] else size - 1, size - 1)
        if first > last or first < offset:
            handler.send_response(416)
            handler.send_header("Content-Range", f"bytes */{size}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        data = body[first - offset:last - offset + 1]
        handler.send_response(206)
        if content_range != "":  # "": none at all
            handler.send_header("Content-Range", content_range or f"bytes {first}-{last}/{size}")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        served.sent += len(data)

    web.routes[path] = answer
    return served


def index_file(url: str, path: Path, *, size: int | None = -1,
               metadata_sha256: str | None = None) -> IndexFile:
    """An IndexFile as an index page would give it (size: the file's own unless given)."""
    parsed = name_and_version(path.name)
    assert parsed is not None
    name, version, kind = parsed
    return IndexFile(
        filename=path.name, url=url, name=name, version=version, kind=kind,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(), requires_python_text=None,
        yanked=False, yanked_reason=None, index="test",
        size=path.stat().st_size if size == -1 else size, metadata_sha256=metadata_sha256,
    )


@pytest.fixture
def session() -> Iterator[net.Session]:
    session = net.make_session(timeout=10)
    yield session
    session.close()


def big_wheel(folder: Path, megabytes: int = 4) -> Path:
    """A wheel padded with incompressible bytes; its METADATA sits before the padding."""
    return make_wheel(folder, "big", "1.0", requires=("beta>=1.0", 'gamma; extra == "x"'),
                      requires_python=">=3.9", payload=os.urandom(megabytes * MIB))


def metadata_text(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return archive.read(name)


# Range requests.

def test_a_large_wheel_is_read_in_a_few_small_ranges(web, session, tmp_path):
    path = big_wheel(tmp_path)
    size = path.stat().st_size
    served = serve_ranges(web, "/files/" + path.name, path.read_bytes())
    found = fetch_metadata(session, index_file(f"{web.url}/files/{path.name}", path))
    assert found == read_metadata(path)
    assert found is not None and found.requires_dist == ("beta>=1.0", 'gamma; extra == "x"')
    assert served.requests <= 3, served.ranges
    assert served.sent < size * 0.05, (served.sent, size)


def test_a_directory_beyond_the_first_range_costs_one_more(web, session, tmp_path):
    """3,000 members: the zip's directory does not fit the first request's bytes."""
    contents = {f"many/module_{i:04d}.py": b"x = 1\n" for i in range(3000)}
    path = make_wheel(tmp_path, "many", "1.0", requires=("beta",), contents=contents,
                      payload=os.urandom(2 * MIB))
    with zipfile.ZipFile(path) as archive:
        assert path.stat().st_size - archive.start_dir > TAIL  # the directory is larger
    served = serve_ranges(web, "/files/" + path.name, path.read_bytes())
    found = fetch_metadata(session, index_file(f"{web.url}/files/{path.name}", path))
    assert found == read_metadata(path)
    assert served.requests <= 3, served.ranges
    assert served.sent < path.stat().st_size * 0.2


def test_a_small_wheel_takes_one_request(web, session, tmp_path):
    path = make_wheel(tmp_path, "small", "2.0", requires=("beta",))
    assert path.stat().st_size < 64 * 1024
    served = serve_ranges(web, "/files/" + path.name, path.read_bytes())
    found = fetch_metadata(session, index_file(f"{web.url}/files/{path.name}", path))
    assert found == read_metadata(path)
    assert served.requests == 1 and served.ranges == [f"bytes=-{TAIL}"]


def test_no_claimed_size_is_allocated(web, session, tmp_path):
    """A server that says the file is 1 TiB (its last bytes the wheel's; the index gave no
    size): only the ranges zipfile reads are fetched, and the zip reads as if 1 TiB of
    something came before it."""
    path = big_wheel(tmp_path, 1)
    served = serve_ranges(web, "/files/" + path.name, path.read_bytes(), total=1 << 40)
    found = fetch_metadata(session, index_file(f"{web.url}/files/{path.name}", path,
                                               size=None))
    assert found == read_metadata(path)
    assert served.requests <= 3 and served.sent < MIB


def test_a_server_that_ignores_range_is_not_read_whole(web, session, tmp_path):
    """It answers 200 with a 256 MiB body: None, and the connection is closed unread (the
    server's writes fail after what the sockets' buffers hold)."""
    path = make_wheel(tmp_path, "plain", "1.0")
    written = [0]
    done = threading.Event()
    chunk = b"\0" * (64 * 1024)
    total = 256 * MIB

    def answer(handler: BaseHTTPRequestHandler) -> None:
        try:
            handler.send_response(200)
            handler.send_header("Content-Length", str(total))
            handler.end_headers()
            while written[0] < total:
                handler.wfile.write(chunk)
                written[0] += len(chunk)
        except OSError:
            handler.close_connection = True
        finally:
            done.set()

    web.routes["/files/" + path.name] = answer
    found = fetch_metadata(session, index_file(f"{web.url}/files/{path.name}", path,
                                               size=total))
    assert found is None
    assert done.wait(30), "the client neither read the body nor closed the connection"
    assert written[0] < 64 * MIB, written[0]


@pytest.mark.parametrize("content_range", [
    "garbage",
    "bytes 0-10/abc",
    "bytes */1000",
    "bytes 0-65535/70000",  # not the range asked for
    "",
])
def test_a_bad_content_range_falls_back(web, session, tmp_path, content_range):
    path = big_wheel(tmp_path, 1)
    serve_ranges(web, "/files/" + path.name, path.read_bytes(), content_range=content_range)
    assert fetch_metadata(session, index_file(f"{web.url}/files/{path.name}", path)) is None


def test_a_size_other_than_the_index_gave_falls_back(web, session, tmp_path):
    path = big_wheel(tmp_path, 1)
    served = serve_ranges(web, "/files/" + path.name, path.read_bytes())
    wrong = index_file(f"{web.url}/files/{path.name}", path, size=path.stat().st_size + 1)
    assert fetch_metadata(session, wrong) is None
    assert served.requests == 1


def test_a_range_the_server_cannot_satisfy_falls_back(web, session, tmp_path):
    path = big_wheel(tmp_path, 1)
    web.file("/files/" + path.name, b"", status=416)
    assert fetch_metadata(session, index_file(f"{web.url}/files/{path.name}", path)) is None


@pytest.mark.parametrize("size", [10, 200 * 1024])
def test_a_file_that_is_not_a_zip_falls_back(web, session, tmp_path, size):
    path = tmp_path / "fake-1.0-py3-none-any.whl"
    path.write_bytes(os.urandom(size))
    serve_ranges(web, "/files/" + path.name, path.read_bytes())
    assert fetch_metadata(session, index_file(f"{web.url}/files/{path.name}", path)) is None


def test_a_wheel_without_metadata_falls_back(web, session, tmp_path):
    path = tmp_path / "bare-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("bare/__init__.py", b"")
    serve_ranges(web, "/files/" + path.name, path.read_bytes())
    assert fetch_metadata(session, index_file(f"{web.url}/files/{path.name}", path)) is None


def test_a_body_that_breaks_off_falls_back(web, session, tmp_path):
    """The second range (METADATA's) stops half way: None, not an error."""
    path = big_wheel(tmp_path, 1)
    body = path.read_bytes()
    good = serve_ranges(web, "/files/" + path.name, body)
    honest = web.routes["/files/" + path.name]

    def answer(handler: BaseHTTPRequestHandler) -> None:
        if good.requests == 0:
            honest(handler)
            return
        handler.send_response(206)
        handler.send_header("Content-Range", f"bytes 0-9999/{len(body)}")
        handler.send_header("Content-Length", "10000")
        handler.end_headers()
        handler.wfile.write(body[:100])
        handler.close_connection = True

    web.routes["/files/" + path.name] = answer
    assert fetch_metadata(session, index_file(f"{web.url}/files/{path.name}", path)) is None


def test_a_refusing_server_is_an_error(web, session, tmp_path):
    path = big_wheel(tmp_path, 1)
    web.status("/files/" + path.name, 403)
    with pytest.raises(NetworkError, match="refused access"):
        fetch_metadata(session, index_file(f"{web.url}/files/{path.name}", path))


def test_get_range_refuses_an_encoded_body(web, session):
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(206)
        handler.send_header("Content-Range", "bytes 0-9/100")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", "10")
        handler.end_headers()
        handler.wfile.write(b"0123456789")

    web.routes["/f"] = answer
    assert net.get_range(session, f"{web.url}/f", what="f", first=0, last=9, limit=10) is None


def test_get_range_returns_the_bytes_and_where_they_are(web, session):
    body = bytes(range(256)) * 4
    serve_ranges(web, "/f", body)
    assert net.get_range(session, f"{web.url}/f", what="f", first=None, last=24,
                         limit=100) == (body[-24:], 1000, 1024)
    assert net.get_range(session, f"{web.url}/f", what="f", first=1000, last=None,
                         limit=100) == (body[1000:], 1000, 1024)
    assert net.get_range(session, f"{web.url}/f", what="f", first=10, last=19,
                         limit=100) == (body[10:20], 10, 1024)
    assert net.get_range(session, f"{web.url}/f", what="f", first=0, last=99,
                         limit=50) is None  # more than the caller holds


def test_a_metadata_bomb_is_not_inflated(web, session, tmp_path):
    """METADATA whose zip entry says 2 KB, but whose deflate stream inflates to 256 MiB:
    zipfile is asked for the declared size only, so its CRC fails and nothing large is
    held (a read of "everything" inflated up to 1 GiB before cutting it)."""
    import tracemalloc

    path = tmp_path / "bomb-1.0-py3-none-any.whl"
    real = b"Metadata-Version: 2.1\nName: bomb\nVersion: 1.0\n"
    zeros = b"\0" * MIB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open(
            "bomb-1.0.dist-info/METADATA", "w") as member:
        member.write(real)
        for _ in range(256):
            member.write(zeros)
    data = bytearray(path.read_bytes())
    declared = 2048  # the inflated size, in the local header and in the directory
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[local + 22:local + 26] = declared.to_bytes(4, "little")
    data[central + 24:central + 28] = declared.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    serve_ranges(web, "/files/" + path.name, bytes(data))
    tracemalloc.start()
    try:
        found = fetch_metadata(session, index_file(f"{web.url}/files/{path.name}", path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found is None  # its CRC does not hold
    assert peak < 32 * MIB, peak


# PEP 658.

def test_pep_658_metadata_is_used_and_the_wheel_not_touched(web, session, tmp_path):
    path = big_wheel(tmp_path, 1)
    text = metadata_text(path)
    served = serve_ranges(web, "/files/" + path.name, path.read_bytes())
    web.file(f"/files/{path.name}.metadata", text)
    file = index_file(f"{web.url}/files/{path.name}?token=1", path,
                      metadata_sha256=hashlib.sha256(text).hexdigest())
    assert fetch_metadata(session, file) == read_metadata(path)
    assert served.requests == 0
    assert web.hits == [f"/files/{path.name}.metadata?token=1"]  # the query kept


def test_pep_658_metadata_that_does_not_match_its_digest_is_refused(web, session, tmp_path):
    path = big_wheel(tmp_path, 1)
    text = metadata_text(path)
    web.file(f"/files/{path.name}.metadata", text + b"Requires-Dist: evil\n")
    expected = hashlib.sha256(text).hexdigest()
    file = index_file(f"http://user:secret@127.0.0.1:{web.port}/files/{path.name}", path,
                      metadata_sha256=expected)
    with pytest.raises(NetworkError) as raised:
        fetch_metadata(session, file)
    message = str(raised.value)
    assert path.name in message and expected in message
    assert hashlib.sha256(text + b"Requires-Dist: evil\n").hexdigest() in message
    assert "secret" not in message and "user:****@" in message


def test_pep_658_metadata_larger_than_the_limit_is_refused(web, session, tmp_path):
    path = big_wheel(tmp_path, 1)
    web.file(f"/files/{path.name}.metadata", b"x" * (METADATA_LIMIT + 1))
    file = index_file(f"{web.url}/files/{path.name}", path, metadata_sha256="0" * 64)
    with pytest.raises(NetworkError, match="larger than 16 MiB"):
        fetch_metadata(session, file)


def test_pep_658_metadata_missing_falls_back_to_ranges(web, session, tmp_path):
    path = big_wheel(tmp_path, 1)
    served = serve_ranges(web, "/files/" + path.name, path.read_bytes())
    file = index_file(f"{web.url}/files/{path.name}", path,
                      metadata_sha256=hashlib.sha256(metadata_text(path)).hexdigest())
    assert fetch_metadata(session, file) == read_metadata(path)
    assert web.hits[0] == f"/files/{path.name}.metadata" and 1 <= served.requests <= 3


def test_the_metadata_url_follows_the_path():
    assert metadata_url("https://x.example/a/b-1.0-py3-none-any.whl?t=1#sha256=ab") == (
        "https://x.example/a/b-1.0-py3-none-any.whl.metadata?t=1")


# What is not read remotely.

def test_local_files_and_sdists_are_not_read_remotely(session, tmp_path):
    path = make_wheel(tmp_path, "local", "1.0")
    assert fetch_metadata(session, index_file(path.resolve().as_uri(), path)) is None
    sdist = tmp_path / "local-1.0.tar.gz"
    sdist.write_bytes(b"not read")
    assert fetch_metadata(session, index_file("http://127.0.0.1:9/local-1.0.tar.gz",
                                              sdist)) is None


# The pages' digests.

DIGEST = "AB" * 32


def test_html_pages_name_the_metadata_digest():
    page = f"""
    <a href="/f/a-1.0-py3-none-any.whl#sha256=00" data-core-metadata="sha256={DIGEST}">a</a>
    <a href="/f/a-2.0-py3-none-any.whl" data-dist-info-metadata="sha256={DIGEST}">a</a>
    <a href="/f/a-3.0-py3-none-any.whl" data-core-metadata="true">a</a>
    <a href="/f/a-4.0-py3-none-any.whl" data-core-metadata="md5=ffff">a</a>
    <a href="/f/a-5.0-py3-none-any.whl" data-core-metadata="sha256={"cd" * 32}"
       data-dist-info-metadata="sha256={DIGEST}">a</a>
    <a href="/f/a-6.0-py3-none-any.whl" data-core-metadata="sha256=abc">a</a>
    <a href="/f/a-7.0-py3-none-any.whl">a</a>
    """
    found = [link.metadata_sha256 for link in html_links(page, "https://i.example/simple/a/")]
    assert found == [DIGEST.lower(), DIGEST.lower(), None, None, "cd" * 32, None, None]


@pytest.mark.parametrize("key", ["core-metadata", "dist-info-metadata"])
def test_json_pages_name_the_metadata_digest(web, key):
    files = [
        {"filename": "demo-1.0-py3-none-any.whl", "url": "/f/demo-1.0-py3-none-any.whl",
         "hashes": {"sha256": "00" * 32}, key: {"sha256": DIGEST}},
        {"filename": "demo-2.0-py3-none-any.whl", "url": "/f/demo-2.0-py3-none-any.whl",
         "hashes": {"sha256": "00" * 32}, key: True},
        {"filename": "demo-3.0-py3-none-any.whl", "url": "/f/demo-3.0-py3-none-any.whl",
         "hashes": {"sha256": "00" * 32}},
    ]
    page = {"meta": {"api-version": "1.1"}, "name": "demo", "files": files}
    web.file("/simple/demo/", json.dumps(page).encode(),
             {"Content-Type": "application/vnd.pypi.simple.v1+json"})
    index = Index(net.make_session(), [f"{web.url}/simple"], [])
    try:
        found = {f.filename: f.metadata_sha256 for f in index.project_files("demo")}
    finally:
        index.close()
    assert found == {"demo-1.0-py3-none-any.whl": DIGEST.lower(),
                     "demo-2.0-py3-none-any.whl": None, "demo-3.0-py3-none-any.whl": None}


def test_find_links_files_have_no_metadata_digest(tmp_path):
    make_wheel(tmp_path, "local", "1.0")
    index = Index(net.make_session(), [], [tmp_path])
    try:
        (file,) = index.project_files("local")
    finally:
        index.close()
    assert file.metadata_sha256 is None



# In a whole run: the resolver reads candidates' METADATA by ranges, downloads what ships.

def test_a_candidate_the_resolver_abandons_is_never_downloaded_whole(web, run_cli, tmp_path):
    # bigpkg 2.0 needs beta>=9, which the index lacks: the resolver reads 2.0's METADATA by
    # ranges, backtracks to 1.0, and only 1.0 (which ships) is downloaded whole.
    files = tmp_path / "files"
    files.mkdir()
    newer = make_wheel(files, "bigpkg", "2.0", requires=("beta>=9",), payload=os.urandom(4 * MIB))
    older = make_wheel(files, "bigpkg", "1.0", requires=("beta",), payload=os.urandom(4 * MIB))
    beta = make_wheel(files, "beta", "1.0")
    index = web.simple_page("bigpkg", [(newer, {}), (older, {})])
    web.simple_page("beta", [(beta, {})])
    served = {path.name: serve_ranges(web, f"/files/{path.name}", path.read_bytes())
              for path in (newer, older)}
    dest = tmp_path / "wh"
    result = run_cli("prepare", "bigpkg", "--python", "3.11", "--index-url", index, "--dest",
                     str(dest))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in dest.glob("*.whl")) == [beta.name, older.name]
    assert served[newer.name].sent < newer.stat().st_size * 0.05, served[newer.name]
    assert served[newer.name].requests <= 3


def test_metadata_served_apart_from_the_file_must_be_the_files_own(web, run_cli, tmp_path):
    # Asked for ranges, the server answers from another wheel (no dependencies); the whole
    # file it serves (whose digest the page gives) needs beta. The resolution read the
    # ranges, so it rests on what does not ship: refused, never written as a manifest.
    files, decoy_folder = tmp_path / "files", tmp_path / "decoy"
    files.mkdir()
    decoy_folder.mkdir()
    real = make_wheel(files, "bigpkg", "1.0", requires=("beta",), payload=os.urandom(MIB))
    decoy = make_wheel(decoy_folder, "bigpkg", "1.0", payload=os.urandom(MIB)).read_bytes()
    whole = real.read_bytes()
    index = web.simple_page("bigpkg", [(real, {})])

    def answer(handler: BaseHTTPRequestHandler) -> None:
        header = handler.headers.get("Range")
        body = whole if header is None else decoy
        found = _RANGE.fullmatch(header or "bytes=0-")
        assert found is not None
        size = len(body)
        first = size - int(found[2]) if not found[1] else int(found[1])
        last = int(found[2]) if found[1] and found[2] else size - 1
        first, last = max(first, 0), min(last, size - 1)
        data = body if header is None else body[first:last + 1]
        handler.send_response(200 if header is None else 206)
        if header is not None:
            handler.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    web.routes[f"/files/{real.name}"] = answer
    dest = tmp_path / "wh"
    result = run_cli("prepare", "bigpkg", "--python", "3.11", "--index-url", index, "--dest",
                     str(dest))
    assert result.returncode == 3, result.stderr
    assert f"{real.name}: the METADATA the index served apart from the file" in result.stderr
    assert "is not the file's own" in result.stderr
    assert not (dest / "wheelhouse.json").exists()

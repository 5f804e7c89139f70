"""Broken and hostile servers on 127.0.0.1: a stalled or trickling body, a reset, a short
body, redirect loops, redirects to another host. Every run ends within the bound the README
states, with the documented exit code, no partial file under a final name, and no credential
sent anywhere it was not given for.
"""

from __future__ import annotations

import time
from pathlib import Path

from builders import make_wheel, sha256
from inprocess import run


def serve_wheel(web, tmp_path: Path, name: str, answer) -> Path:
    """An index page for `name` whose one wheel is answered by `answer(handler, body)`."""
    files = tmp_path / "files"
    files.mkdir(exist_ok=True)
    wheel = make_wheel(files, name, "1.0", payload=b"x" * 200_000)
    body = wheel.read_bytes()
    web.routes[f"/files/{wheel.name}"] = lambda handler: answer(handler, body)
    web.file(f"/simple/{name}/", f'<a href="/files/{wheel.name}#sha256={sha256(wheel)}">'
             f"{wheel.name}</a>".encode(), {"Content-Type": "text/html"})
    return wheel


def headers_then(handler, length: int) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(length))
    handler.end_headers()


def only_whole_files(dest: Path) -> bool:
    """Nothing under a final name but what verified, and no partial left behind."""
    found = dest.iterdir() if dest.exists() else ()
    return not [p for p in found if p.suffix == ".whl" or ".part-" in p.name]


def prepare(web, name: str, dest: Path, *extra: str) -> tuple[int, str, str, float]:
    started = time.monotonic()
    code, out, err = run("prepare", f"{name}==1.0", "--python", "3.11", "--index-url",
                         f"{web.url}/simple", "--dest", str(dest), *extra)
    return code, out, err, time.monotonic() - started


def test_a_body_that_stalls_is_abandoned_retried_then_exit_3_within_the_bound(web, tmp_path):
    def stall(handler, body):
        headers_then(handler, len(body))
        handler.wfile.write(body[:1000])
        handler.wfile.flush()
        time.sleep(30)  # and never another byte

    wheel = serve_wheel(web, tmp_path, "stalls", stall)
    code, _, err, took = prepare(web, "stalls", tmp_path / "wh", "--timeout", "1")
    assert code == 3, err
    assert "stalls-1.0-py3-none-any.whl" in err and "broke off 3 times" in err
    assert web.hits.count(f"/files/{wheel.name}") == 3
    assert took < 4 * 1 + 3, took  # the README's bound: about 4 x --timeout, plus slack
    assert only_whole_files(tmp_path / "wh")


def test_a_server_trickling_a_byte_at_a_time_is_abandoned(web, tmp_path):
    def trickle(handler, body):
        headers_then(handler, len(body))
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.05)  # 20 bytes a second: never silent, never done

    wheel = serve_wheel(web, tmp_path, "trickles", trickle)
    code, _, err, took = prepare(web, "trickles", tmp_path / "wh", "--timeout", "1")
    assert code == 3, err
    assert "arrived slower than 1 KiB/s for 1 s (--timeout)" in err
    assert web.hits.count(f"/files/{wheel.name}") == 3
    assert took < 3 * 2 + 3, took
    assert only_whole_files(tmp_path / "wh")


def test_a_reset_or_a_short_body_is_asked_again_and_recovers(web, tmp_path):
    answers = iter(["reset", "short"])

    def flaky(handler, body):
        fault = next(answers, None)
        headers_then(handler, len(body))
        if fault is None:
            handler.wfile.write(body)
            return
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
        handler.close_connection = True
        if fault == "reset":  # RST rather than FIN: SO_LINGER with a zero timeout
            import socket
            import struct
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                          struct.pack("ii", 1, 0))
        handler.connection.close()

    wheel = serve_wheel(web, tmp_path, "flaky", flaky)
    dest = tmp_path / "wh"
    code, _, err, _ = prepare(web, "flaky", dest, "--timeout", "2")
    assert code == 0, err
    assert web.hits.count(f"/files/{wheel.name}") == 3
    assert (dest / wheel.name).read_bytes() == wheel.read_bytes()
    assert run("verify", str(dest))[0] == 0


def test_a_page_that_stalls_is_asked_again_then_exit_3(web, tmp_path):
    def stall(handler):
        headers_then(handler, 10_000)
        handler.wfile.write(b"<html>")
        handler.wfile.flush()
        time.sleep(30)

    web.routes["/simple/slowpage/"] = stall
    started = time.monotonic()
    code, _, err = run("prepare", "slowpage", "--python", "3.11", "--index-url",
                       f"{web.url}/simple", "--dest", str(tmp_path / "wh"), "--timeout", "1")
    assert code == 3, err
    assert "the index page of slowpage" in err and "broke off" in err
    assert web.hits.count("/simple/slowpage/") == 4  # the first ask and three more
    assert time.monotonic() - started < 4 * 1 + 3


def test_a_redirect_to_a_local_file_is_not_followed(web, tmp_path):
    secret = tmp_path / "secret.html"
    secret.write_text('<a href="x-1.0-py3-none-any.whl#sha256=00">leak</a>')

    def to_file(handler):
        handler.send_response(302)
        handler.send_header("Location", secret.as_uri())
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    web.routes["/simple/x/"] = to_file
    code, _, err = run("prepare", "x", "--index-url", f"{web.url}/simple", "--dest",
                       str(tmp_path / "wh"))
    assert code == 2 and "leak" not in err, err


def test_credentials_never_follow_a_redirect_to_another_host(web, other_host, tmp_path,
                                                            monkeypatch):
    """The index's password (in the URL, or in ~/.netrc for that host) reaches the index and
    nowhere else: not the host a page redirects to, nor the host a file link points at."""
    files = tmp_path / "files"
    files.mkdir()
    wheel = make_wheel(files, "moved", "1.0")
    other_host.file(f"/files/{wheel.name}", wheel.read_bytes())
    other_host.file("/simple/moved/", f'<a href="{other_host.url}/files/{wheel.name}#sha256='
                    f'{sha256(wheel)}">{wheel.name}</a>'.encode(), {"Content-Type": "text/html"})

    def elsewhere(handler):
        handler.send_response(301)
        handler.send_header("Location", f"{other_host.url}/simple/moved/")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    web.routes["/simple/moved/"] = elsewhere
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login dave password n3trc-s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    for index in (f"http://carol:url-s3cret@127.0.0.1:{web.port}/simple", f"{web.url}/simple"):
        dest = tmp_path / f"wh-{len(other_host.hits)}"
        code, _, err = run("prepare", "moved==1.0", "--python", "3.11", "--index-url", index,
                           "--dest", str(dest))
        assert code == 0, err
        assert run("verify", str(dest))[0] == 0
    assert all("Authorization" in h for h in web.headers)  # the index got what it was given
    assert len(other_host.hits) >= 3
    assert not [h for h in other_host.headers if "Authorization" in h], other_host.headers

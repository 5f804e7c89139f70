"""The build's only way out: an allow-list HTTP proxy, and the forwarder that reaches it.

`prove_image.py` runs buildah in an empty network namespace, so nothing in the build can
open a connection by itself. Inside that namespace a forwarder listens on 127.0.0.1:3128 and
hands each connection, through a unix socket (a file, so it crosses the namespace boundary),
to the proxy in the host's namespace. The proxy forwards a request only when its host is on
the allow-list, answers 403 to everything else (CONNECT included), and writes every request,
allowed or not, as one JSON line: the log is the evidence of what the build tried to reach.

Plain HTTP is served one request per connection (`Connection: close` upstream): every
request on a kept-alive connection would otherwise have to be parsed to be logged, and apt
and pip simply reconnect. HTTPS is a CONNECT tunnel to the allowed host, never inspected.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import socketserver
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

FORWARD_PORT = 3128
_HEAD_LIMIT = 64 * 1024
_CONNECT_TIMEOUT = 30.0
_HOP_BY_HOP = ("proxy-connection", "proxy-authorization", "connection", "keep-alive")


@dataclass
class Request:
    """What a client asked the proxy for, parsed from its request head."""

    method: str
    target: str
    host: str
    port: int
    path: str  # origin-form for plain HTTP; empty for CONNECT
    headers: list[tuple[str, str]]
    rest: bytes  # bytes read past the head (the start of a body)


class BadRequest(ValueError):
    """A request head the proxy cannot route: answered 400 and logged."""


def read_head(conn: socket.socket) -> tuple[bytes, bytes]:
    """The request head up to the blank line, and whatever came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise BadRequest("the client closed the connection before a whole request head")
        data += chunk
        if len(data) > _HEAD_LIMIT:
            raise BadRequest("request head over 64 KiB")
    head, rest = data.split(b"\r\n\r\n", 1)
    return head, rest


def parse_request(head: bytes, rest: bytes) -> Request:
    """Parse a proxy request: CONNECT host:port, or an absolute http:// URL."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3:
        raise BadRequest(f"not a request line: {lines[0][:200]!r}")
    method, target, _version = parts
    pairs = [(name.strip(), value.strip())
             for name, sep, value in (line.partition(":") for line in lines[1:]) if sep]
    if method.upper() == "CONNECT":
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise BadRequest(f"CONNECT to {target!r}: not host:port")
        return Request("CONNECT", target, host.strip("[]").lower(), int(port), "", pairs, rest)
    url = urlsplit(target)
    if url.scheme != "http" or not url.hostname:
        raise BadRequest(f"{method} {target[:200]!r}: a proxy takes absolute http:// URLs "
                         "(https goes through CONNECT)")
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    return Request(method.upper(), target, url.hostname.lower(), url.port or 80, path, pairs,
                   rest)


def splice(one: socket.socket, other: socket.socket) -> None:
    """Copy bytes both ways until both sides are done (half-closes passed on)."""
    def copy(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    back = threading.Thread(target=copy, args=(other, one), daemon=True)
    back.start()
    copy(one, other)
    back.join()


def answer(conn: socket.socket, status: int, reason: str, text: str) -> None:
    """A short plain-text answer from the proxy itself, then the connection is closed."""
    body = (text + "\n").encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with contextlib.suppress(OSError):
        conn.sendall(head + body)


def content_length(request: Request) -> int:
    """The request body's length; a chunked request body is refused (apt and pip send none)."""
    for name, value in request.headers:
        if name.lower() == "transfer-encoding":
            raise BadRequest("chunked request bodies are not forwarded")
        if name.lower() == "content-length":
            return int(value)
    return 0


def response_status(first: bytes) -> int:
    """The status code of an upstream answer's first bytes (502: none came)."""
    found = re.match(rb"HTTP/\d(?:\.\d)? (\d{3})", first)
    return int(found.group(1)) if found else 502


def upstream_head(request: Request) -> bytes:
    """The request as the origin server should see it: origin-form, no proxy headers."""
    lines = [f"{request.method} {request.path} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in request.headers
              if name.lower() not in _HOP_BY_HOP]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class AllowListProxy:
    """The proxy on a unix socket: forwards the allowed hosts, refuses and logs the rest."""

    def __init__(self, socket_path: Path, allowed: Iterable[str], log_path: Path) -> None:
        self.socket_path = socket_path
        self.allowed = {host.lower() for host in allowed}
        self.log_path = log_path
        self.entries: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingUnixStreamServer | None = None

    def start(self) -> None:
        """Listen in a background thread until stop()."""
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy.serve(self.request)

        class Server(socketserver.ThreadingUnixStreamServer):
            daemon_threads = True

        self.socket_path.unlink(missing_ok=True)
        self._server = Server(str(self.socket_path), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.socket_path.unlink(missing_ok=True)

    def record(self, request: Request | None, status: int, note: str = "") -> None:
        """One JSON line per request, written at once (a killed run keeps its evidence)."""
        now = time.time()
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "t": round(now, 3),  # to place the request among the build's steps
            "method": request.method if request else None,
            "target": request.target if request else None,
            "host": request.host if request else None,
            "port": request.port if request else None,
            "allowed": bool(request and request.host in self.allowed),
            "status": status,
        }
        if note:
            entry["note"] = note
        with self._lock:
            self.entries.append(entry)
            with self.log_path.open("a", encoding="utf-8") as log:
                log.write(json.dumps(entry, sort_keys=True) + "\n")

    def serve(self, conn: socket.socket) -> None:
        """Handle one client connection: one request, answered or refused."""
        try:
            head, rest = read_head(conn)
            request = parse_request(head, rest)
        except (BadRequest, OSError, UnicodeError) as error:
            self.record(None, 400, str(error))
            answer(conn, 400, "Bad Request", str(error))
            return
        if request.host not in self.allowed:
            self.record(request, 403, "not on the allow-list")
            answer(conn, 403, "Forbidden", f"{request.host} is not on the build's allow-list")
            return
        try:
            upstream = socket.create_connection((request.host, request.port), _CONNECT_TIMEOUT)
        except OSError as error:
            self.record(request, 502, f"upstream: {error}")
            answer(conn, 502, "Bad Gateway", f"{request.host}:{request.port}: {error}")
            return
        with upstream:
            upstream.settimeout(None)
            if request.method == "CONNECT":
                self.record(request, 200)
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if request.rest:
                    upstream.sendall(request.rest)
                splice(conn, upstream)
            else:
                self.forward_plain(conn, upstream, request)

    def forward_plain(self, conn: socket.socket, upstream: socket.socket,
                      request: Request) -> None:
        """Send one plain-HTTP request upstream and stream the answer back."""
        try:
            length = content_length(request)
        except (BadRequest, ValueError) as error:
            self.record(request, 400, str(error))
            answer(conn, 400, "Bad Request", str(error))
            return
        body = request.rest[:length]
        try:
            upstream.sendall(upstream_head(request) + body)
            remaining = length - len(body)
            while remaining > 0:
                chunk = conn.recv(min(65536, remaining))
                if not chunk:
                    break
                upstream.sendall(chunk)
                remaining -= len(chunk)
            first = upstream.recv(65536)
        except OSError as error:
            self.record(request, 502, f"upstream: {error}")
            answer(conn, 502, "Bad Gateway", f"{request.host}:{request.port}: {error}")
            return
        self.record(request, response_status(first))
        with contextlib.suppress(OSError):
            chunk = first
            while chunk:
                conn.sendall(chunk)
                chunk = upstream.recv(65536)


def forward(port: int, socket_path: Path) -> socketserver.ThreadingTCPServer:
    """Inside the build's namespace: 127.0.0.1:port, each connection passed to the proxy's
    unix socket. Runs in a background thread; the caller's exit ends it."""
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as proxy:
                try:
                    proxy.connect(str(socket_path))
                except OSError:
                    return
                splice(self.request, proxy)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def question(query: bytes) -> tuple[str, int, int]:
    """The name and type a DNS query asks for, and where its question section ends."""
    labels, offset = [], 12
    while offset < len(query) and query[offset]:
        length = query[offset]
        labels.append(query[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    offset += 1
    qtype = int.from_bytes(query[offset:offset + 2], "big")
    return ".".join(labels).lower(), qtype, offset + 4


def refused_answer(query: bytes, end: int) -> bytes:
    """REFUSED for QUERY: its id, opcode and RD kept, its question, no records."""
    flags = bytes([0x80 | (query[2] & 0x79), 0x05])
    return query[:2] + flags + query[4:6] + bytes(6) + query[12:end]


_QTYPES = {1: "A", 28: "AAAA", 5: "CNAME", 33: "SRV", 16: "TXT", 15: "MX", 65: "HTTPS"}


def refuse_dns(log_path: Path) -> socket.socket:
    """Inside the namespace: answer every DNS query on 127.0.0.1:53 with REFUSED, and log it.

    A tool that ignores the proxy (gpg's dirmngr fetching a key from a keyserver) connects
    directly, and with no route out it fails without a trace in the proxy's log. It looks the
    name up first, though: this resolver (the build's resolv.conf names only it) makes that
    lookup the evidence, one JSON line per query, beside the proxy's.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 53))

    def serve() -> None:
        while True:
            query, client = server.recvfrom(4096)
            if len(query) < 17:
                continue
            name, qtype, end = question(query)
            now = time.time()
            entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                     "t": round(now, 3), "method": "DNS", "target": name, "host": name,
                     "port": 53, "qtype": _QTYPES.get(qtype, str(qtype)), "status": "REFUSED"}
            with log_path.open("a", encoding="utf-8") as log:
                log.write(json.dumps(entry, sort_keys=True) + "\n")
            server.sendto(refused_answer(query, end), client)

    threading.Thread(target=serve, daemon=True).start()
    return server

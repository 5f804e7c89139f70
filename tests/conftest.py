"""Real servers on 127.0.0.1 for the tests: pypiserver for the index, a small HTTP server for
constraints, static Simple pages (yanked files) and faults (404, 401, dropped connections).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from builders import make_backend_wheel, make_sdist, make_wheel

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"  # beside the checkout on developer machines and in CI
AIRFLOW_2_10_3 = ROOT / "examples" / "airflow-2.10.3"  # constraints-3.11.txt, -3.12.txt


def _isolate(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    for key in list(os.environ):
        if key.startswith("PIP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("WHEELHOUSE_BACKOFF", "0")
    # Every prepare that exits 0 verifies its folder, or exits 70: prepare and verify agree.
    monkeypatch.setenv("WHEELHOUSE_SELF_CHECK", "1")


@pytest.fixture(scope="session", autouse=True)
def isolated_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The same isolation for module- and session-scoped fixtures, which start before any
    test's own: nothing they run reads this machine's pip configuration or writes into the
    real ~/.cache. Yields the cache they share."""
    cache = tmp_path_factory.mktemp("session-xdg-cache")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _isolate(monkeypatch, cache)
        yield cache


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No pip configuration of this machine leaks in; caches are the test's own."""
    _isolate(monkeypatch, tmp_path / "xdg-cache")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def build_universe(folder: Path) -> None:
    """The packages the index serves: dependencies, extras, markers, platforms, an sdist."""
    folder.mkdir(parents=True, exist_ok=True)
    make_wheel(folder, "alpha", "1.0", requires=("beta>=1.0",))
    make_wheel(
        folder, "alpha", "2.0",
        requires=(
            "beta>=1.0",
            'gamma; python_version < "3.11"',
            'delta; sys_platform == "win32"',
        ),
        extras={"fast": ("epsilon",), "Plat.Form": ("plat",)},
    )
    make_wheel(folder, "beta", "1.0")
    make_wheel(folder, "beta", "1.1")
    make_wheel(folder, "beta", "2.0rc1")
    make_wheel(folder, "gamma", "1.0")
    make_wheel(folder, "delta", "1.0")
    make_wheel(folder, "epsilon", "1.0", requires=("zeta[extra1]",))
    make_wheel(folder, "zeta", "1.0", extras={"extra1": ("eta",)})
    make_wheel(folder, "eta", "1.0")
    # Requires-Python only in METADATA (pypiserver publishes no data-requires-python).
    make_wheel(folder, "modern", "1.0", requires_python=">=3.8")
    make_wheel(folder, "modern", "2.0", requires_python=">=3.12")
    for tag in (
        "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "cp311-cp311-manylinux_2_31_aarch64",
        "cp311-cp311-win_amd64",
    ):
        make_wheel(folder, "plat", "1.0", tag=tag)
    make_wheel(folder, "winonly", "1.0", tag="py3-none-win_amd64")
    make_wheel(folder, "maconly", "1.0", tag="py3-none-macosx_11_0_arm64")
    make_sdist(folder, "sdistonly", "1.0", requires=("beta",))
    make_sdist(folder, "needsbackend", "1.0", backend_requires=("wh-test-backend",))
    make_sdist(folder, "asksmore", "1.0", backend_requires=("wh-test-backend",),
               dynamic_requires=("cythonish",))
    make_sdist(folder, "shuffled", "1.0", unreproducible=True)
    make_sdist(folder, "brokenbuild", "1.0", fail_with=(
        "compiling brokenbuild/_speedups.c\n"
        "brokenbuild/_speedups.c:1:10: fatal error: Python.h: No such file or directory\n"
        "error: command 'gcc' failed with exit code 1"))
    host = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    make_sdist(folder, "native", "1.0", wheel_tag=f"{host}-{host}-linux_x86_64")
    # C sources: a build here serves only this machine's Python; a build would fail loudly.
    make_sdist(folder, "compiled", "1.0", wheel_tag=f"{host}-{host}-linux_x86_64",
               extra_files={"compiled/_speedups.c": b"int speedup;\n"},
               fail_with="error: the compiler ran")
    # hopeful 2.0 is tried first and abandoned (beta>=9): its sdist-only need is never built.
    make_wheel(folder, "hopeful", "1.0", requires=("beta",))
    make_wheel(folder, "hopeful", "2.0", requires=("failsbuild", "beta>=9"))
    make_sdist(folder, "failsbuild", "1.0", fail_with="error: failsbuild was built")
    make_backend_wheel(folder)
    # A miniature Airflow: the distribution, a provider behind an extra, and the tools the
    # image installs for itself (stand-ins with the real names, served only to wheelhouse).
    make_wheel(folder, "apache-airflow", "2.10.3",
               extras={"celery": ("apache-airflow-providers-celery",), "mysql": ("mysqlclient",)})
    make_wheel(folder, "apache-airflow-providers-celery", "3.8.3",
               requires=("apache-airflow>=2.8",))
    # Airflow 3.1 builds lxml and xmlsec from sdists; their build needs come from the index.
    make_wheel(folder, "apache-airflow", "3.1.0", requires=("lxml>=5", "xmlsec"))
    make_wheel(folder, "lxml", "6.0.2", tag="cp311-cp311-manylinux_2_17_x86_64")
    make_sdist(folder, "lxml", "6.0.2", backend_requires=("wh-test-backend", "cythonish>=3"))
    make_wheel(folder, "xmlsec", "1.3.16", requires=("lxml>=3.8",),
               tag="cp311-cp311-manylinux_2_17_x86_64")
    make_sdist(folder, "xmlsec", "1.3.16", requires=("lxml>=3.8",),
               backend_requires=("wh-test-backend", "lxml>=3.8", "pkgconfigish"))
    make_wheel(folder, "cythonish", "3.1.4")
    make_wheel(folder, "pkgconfigish", "1.5.5")
    for name, versions in (("pip", ("24.3.1", "25.0")), ("uv", ("0.4.1", "0.5.0")),
                           ("packaging", ("24.1", "24.2")), ("setuptools", ("75.8.0", "80.9.0"))):
        for version in versions:
            make_wheel(folder, name, version)


@dataclass
class Pypiserver:
    url: str
    folder: Path


@pytest.fixture(scope="session")
def pypiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pypiserver]:
    """A real pypiserver on 127.0.0.1 serving the test universe, with no PyPI fallback."""
    folder = tmp_path_factory.mktemp("index")
    build_universe(folder)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pypiserver", "run", "-p", str(port), "-i", "127.0.0.1",
         "--disable-fallback", "--backend", "simple-dir", "--log-stream", "none", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield Pypiserver(f"http://127.0.0.1:{port}/simple", folder)
    finally:
        process.terminate()
        process.wait(timeout=10)


Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class WebServer:
    """A threading HTTP server on 127.0.0.1 whose answers the test decides, path by path."""

    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # of each request, in order
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def file(self, path: str, body: bytes, headers: dict[str, str] | None = None,
             status: int = 200, delay_per_chunk: float = 0.0) -> str:
        def answer(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(status)
            handler.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.end_headers()
            for start in range(0, len(body), 64 * 1024):
                handler.wfile.write(body[start:start + 64 * 1024])
                if delay_per_chunk:
                    handler.wfile.flush()
                    time.sleep(delay_per_chunk)

        self.routes[path] = answer
        return self.url + path

    def status(self, path: str, status: int) -> str:
        return self.file(path, b"", status=status)

    def drop(self, path: str) -> str:
        """Close the connection without a word: what a broken proxy does."""
        def answer(handler: BaseHTTPRequestHandler) -> None:
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)

        self.routes[path] = answer
        return self.url + path

    def simple_page(self, project: str, files: list[tuple[Path, dict[str, str]]]) -> str:
        """A PEP 503 page for `project` listing files (with extra anchor attributes)."""
        anchors = []
        for path, attributes in files:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            href = self.file(f"/files/{path.name}", path.read_bytes())
            extra = "".join(f' {key}="{value}"' for key, value in attributes.items())
            anchors.append(f'<a href="{href}#sha256={digest}"{extra}>{path.name}</a><br/>')
        body = "<!DOCTYPE html><html><body>" + "\n".join(anchors) + "</body></html>"
        self.file(f"/simple/{project}/", body.encode(), {"Content-Type": "text/html"})
        return f"{self.url}/simple"


@contextlib.contextmanager
def serving(host: str = "127.0.0.1") -> Iterator[WebServer]:
    server_box: dict[str, WebServer] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            state = server_box["state"]
            state.hits.append(self.path)
            state.headers.append(dict(self.headers))
            route = state.routes.get(self.path.split("?")[0])
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            route(self)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:
            """A client that hangs up (a refused body, a stopped run) is not an error here,
            and its traceback would land in the output the tests read."""

    httpd = Server((host, 0), Handler)
    httpd.daemon_threads = True
    state = WebServer(httpd.server_address[1], host=host)
    server_box["state"] = state
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def web() -> Iterator[WebServer]:
    with serving() as server:
        yield server


@pytest.fixture
def other_host() -> Iterator[WebServer]:
    """A second server on another loopback address: another host, as requests sees it."""
    with serving("127.0.0.2") as server:
        yield server


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m wheelhouse ...` as a user would, in its own process."""
    def run(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wheelhouse", *args],
            capture_output=True, text=True, timeout=timeout, cwd=kwargs.pop("cwd", tmp_path),
            **kwargs,
        )

    return run


NO_SOCKET = """
import socket

def refuse(*args, **kwargs):
    raise RuntimeError("wheelhouse tried to use the network")

class NoSocket(socket.socket):
    def __init__(self, family=-1, *args, **kwargs):
        if family in (socket.AF_INET, socket.AF_INET6, -1):
            refuse()
        super().__init__(family, *args, **kwargs)

socket.socket = NoSocket
socket.create_connection = refuse
socket.getaddrinfo = refuse
"""


def offline_env(folder: Path) -> dict[str, str]:
    """An environment whose Pythons cannot open an internet socket (a sitecustomize guard)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(NO_SOCKET)
    env = {"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin", "PIP_CONFIG_FILE": os.devnull,
           "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]}
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(("
                            "'127.0.0.1', 9))"], env=env, capture_output=True, text=True)
    assert "tried to use the network" in probe.stderr  # the guard is in force
    return env


def venv_python(folder: Path, python: str = sys.executable) -> Path:
    """A clean virtualenv (with pip) of the given interpreter."""
    subprocess.run([python, "-m", "venv", str(folder)], check=True, capture_output=True)
    return folder / "bin" / "python"


def pip_install_offline(python: Path, dest: Path) -> subprocess.CompletedProcess[str]:
    """The acceptance check: install the lock with no index and every hash required."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return subprocess.run(
        [str(python), "-m", "pip", "install", "--isolated", "--no-index", "--find-links",
         str(dest), "--require-hashes", "--disable-pip-version-check", "-r",
         str(dest / "requirements.lock.txt")],
        capture_output=True, text=True, env=env,
    )

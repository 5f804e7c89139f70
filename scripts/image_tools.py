"""What a real image build needs on this kind of machine, set up once and cached.

There is no Docker engine and no Docker Hub here (see shared/image-build.md), so the proof
builds with buildah, and makes what it cannot download:

- `mmdebstrap` from the machine's own apt (Debian bookworm);
- a Debian trixie *tools root* with buildah 1.39+, which reads the Dockerfile heredocs
  Airflow 2.3+ uses (bookworm's buildah 1.28 cannot), used under chroot;
- a substitute for `docker.io/library/python:3.11-slim-bookworm`: a bookworm root filesystem
  with Debian's Python 3.11, imported into buildah's storage under that name so the
  Dockerfile's own `FROM` resolves locally (`--pull=never`).

Both are kept under the work folder between runs; only the first run pays for them.
Every buildah call goes through `Buildah`, which runs it under `unshare` with `image_ns.py`.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
BASE_IMAGE = "docker.io/library/python:3.11-slim-bookworm"
BASE_SHORT_NAME = "python:3.11-slim-bookworm"  # what Airflow's PYTHON_BASE_IMAGE says
TOOLS_PACKAGES = ("buildah", "crun", "uidmap", "iproute2", "netavark")
BASE_PACKAGES = ("python3", "python3-venv", "python3-pip", "python-is-python3",
                 "ca-certificates")
MIN_BUILDAH = (1, 39)  # heredocs in COPY/RUN
TOOLS_MARKER = ".wheelhouse-tools-root"  # written last: a half-made root is made again


def qualified(name: str) -> str:
    """An image reference as buildah stores a pulled image: Docker's full name.

    `python:3.11-slim-bookworm` is docker.io/library/python:3.11-slim-bookworm and
    `apache/airflow:2.10.3-python3.11` is docker.io/apache/airflow:2.10.3-python3.11 (buildah
    itself would name a built image `localhost/apache/airflow:...`); a name with a registry
    (a dot, a port or `localhost` before the first slash) stays as it is; no tag is `latest`.
    """
    first, slash, rest = name.partition("/")
    if not slash:
        name = f"docker.io/library/{name}"
    elif first in ("docker.io", "index.docker.io"):
        name = f"docker.io/{rest}" if "/" in rest else f"docker.io/library/{rest}"
    elif not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name}"
    last = name.rsplit("/", 1)[1]
    return name if ":" in last or "@" in last else f"{name}:latest"


class SetupError(RuntimeError):
    """This machine cannot run the proof; the message says why (and what to do)."""


def say(message: str) -> None:
    """Progress for people, on stderr (stdout stays free for --json)."""
    print(f"prove-image: {message}", file=sys.stderr, flush=True)


@dataclass
class AptSource:
    """One `deb` source of the machine's apt: where its Debian packages come from."""

    uri: str
    suites: list[str]
    components: list[str]

    @property
    def host(self) -> str:
        return (urlsplit(self.uri).hostname or "").lower()


def _deb822_sources(text: str) -> Iterator[AptSource]:
    """The `Types: deb` stanzas of a .sources file (deb822)."""
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled") == "no":
            continue
        for uri in fields.get("uris", "").split():
            yield AptSource(uri.rstrip("/"), fields.get("suites", "").split(),
                            fields.get("components", "").split())


def _one_line_sources(text: str) -> Iterator[AptSource]:
    """The `deb URI SUITE COMPONENT...` lines of a sources.list."""
    for line in text.splitlines():
        words = re.sub(r"\[[^\]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            yield AptSource(words[1].rstrip("/"), [words[2]], words[3:])


def apt_sources(etc_apt: Path = Path("/etc/apt")) -> list[AptSource]:
    """Every `deb` source the machine's apt uses, in its files' order."""
    found: list[AptSource] = []
    for path in sorted((etc_apt / "sources.list.d").glob("*.sources")):
        found += _deb822_sources(path.read_text(errors="replace"))
    lists = [etc_apt / "sources.list", *sorted((etc_apt / "sources.list.d").glob("*.list"))]
    for path in lists:
        if path.is_file():
            found += _one_line_sources(path.read_text(errors="replace"))
    return [source for source in found if source.uri.startswith(("http://", "https://"))]


def mirror_hosts(sources: Sequence[AptSource]) -> list[str]:
    """The hosts the build may reach by default: the Debian mirror(s) apt uses here."""
    return sorted({source.host for source in sources if source.host})


def archive_uri(sources: Sequence[AptSource], security: bool = False) -> str:
    """The Debian archive's URI (or the security archive's) among the machine's sources."""
    for source in sources:
        if any(suite.endswith("-security") for suite in source.suites) == security:
            return source.uri
    if security:
        return ""
    raise SetupError("no Debian archive in /etc/apt/sources.list(.d): the proof builds its "
                     "tools and base image from the machine's Debian mirror.")


def check_machine() -> None:
    """What no setup can fix: root (mounts, chroot), and network namespaces."""
    if os.geteuid() != 0:
        raise SetupError("run as root: the proof mounts, chroots and makes network "
                         "namespaces (buildah with chroot isolation).")
    if not shutil.which("unshare"):
        raise SetupError("no `unshare` (util-linux): the build's network cannot be cut off.")
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True,
                           text=True)
    if probe.returncode != 0:
        raise SetupError("cannot make a network namespace here (`unshare --net --mount` "
                         f"says: {probe.stderr.strip() or probe.returncode}).")


def check_mirror(uri: str, suite: str = "bookworm") -> None:
    """The Debian mirror must answer: setup, the base image and the build's apt need it."""
    url = f"{uri}/dists/{suite}/InRelease"
    request = urllib.request.Request(url, method="HEAD")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=15):
            return
    except OSError as error:
        raise SetupError(f"the Debian mirror does not answer ({url}: {error}).") from error


def ensure_mmdebstrap() -> None:
    """mmdebstrap builds the tools root and the base image from the Debian mirror."""
    if shutil.which("mmdebstrap"):
        return
    say("installing mmdebstrap with apt-get (apt-get update; apt-get install mmdebstrap)")
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update"],
                    ["apt-get", "install", "-y", "--no-install-recommends", "mmdebstrap"]):
        done = subprocess.run(command, capture_output=True, text=True, env=environment)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise SetupError(f"`{' '.join(command)}` failed: {' / '.join(tail)}")


def mmdebstrap(suite: str, target: Path, packages: Sequence[str], mirrors: Sequence[str],
               hooks: Sequence[str] = (), log: Path | None = None) -> None:
    """A minbase root filesystem (a folder, or a .tar) of SUITE with PACKAGES."""
    command = ["mmdebstrap", "--variant=minbase", f"--include={','.join(packages)}"]
    command += [f"--customize-hook={hook}" for hook in hooks]
    command += [suite, str(target), *mirrors]
    with open(log or os.devnull, "w") as output:
        done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        where = f" (log: {log})" if log else ""
        raise SetupError(f"mmdebstrap of Debian {suite} failed{where}.")


def buildah_version(tools: Path) -> tuple[int, ...]:
    """The tools root's buildah version, (0,) when it does not run."""
    done = subprocess.run(["chroot", str(tools), "buildah", "--version"],
                          capture_output=True, text=True)
    found = re.search(r"version (\d+)\.(\d+)", done.stdout)
    return tuple(int(part) for part in found.groups()) if found else (0,)


def ensure_tools_root(work: Path, sources: Sequence[AptSource]) -> Path:
    """The trixie root with buildah 1.39+, crun, uidmap, iproute2, netavark (made once)."""
    tools = work / "tools"
    if (tools / TOOLS_MARKER).is_file():
        write_hosts(tools)
        return tools
    say(f"making the tools root (Debian trixie: {', '.join(TOOLS_PACKAGES)}) in {tools}; "
        "about 30 s, once")
    partial = work / "tools.partial"
    if partial.exists():
        shutil.rmtree(partial)
    mmdebstrap("trixie", partial, TOOLS_PACKAGES, [f"{archive_uri(sources)}"],
               log=work / "tools.log")
    version = buildah_version(partial)
    if version < MIN_BUILDAH:
        raise SetupError(f"the tools root's buildah is {version}, older than 1.39 "
                         "(Dockerfile heredocs).")
    if tools.exists():
        shutil.rmtree(tools)
    partial.rename(tools)
    write_hosts(tools)
    (tools / TOOLS_MARKER).write_text(".".join(map(str, version)) + "\n")
    return tools


def write_hosts(tools: Path) -> None:
    """minbase has no /etc/hosts: buildah (and the build's containers, whose /etc/hosts it
    makes from this one) would ask DNS for "localhost", which the build's resolver refuses."""
    hosts = tools / "etc" / "hosts"
    if not hosts.exists():
        hosts.write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")


def hard_limits() -> list[str]:
    """`--ulimit` flags at this machine's hard limits: buildah's defaults exceed them here
    and fail with "operation not permitted"."""
    flags: list[str] = []
    for name, limit in (("nproc", resource.RLIMIT_NPROC), ("nofile", resource.RLIMIT_NOFILE)):
        hard = resource.getrlimit(limit)[1]
        if hard != resource.RLIM_INFINITY:
            flags += ["--ulimit", f"{name}={hard}:{hard}"]
    return flags


class Buildah:
    """buildah of the tools root, each call in its own mount and network namespace."""

    def __init__(self, tools: Path, storage: Path, vartmp: Path) -> None:
        self.tools = tools
        self.storage = storage
        self.vartmp = vartmp
        storage.mkdir(parents=True, exist_ok=True)
        vartmp.mkdir(parents=True, exist_ok=True)

    def command(self, args: Sequence[str], *, proxy_socket: Path | None = None,
                dns_log: Path | None = None, binds: Sequence[str] = ()) -> list[str]:
        """The whole command line: unshare, the namespace launcher, buildah and ARGS."""
        launcher = [sys.executable, str(HERE / "image_ns.py"), "--tools", str(self.tools),
                    "--storage", str(self.storage), "--vartmp", str(self.vartmp)]
        for spec in binds:
            launcher += ["--bind", spec]
        if proxy_socket is not None:
            launcher += ["--proxy-socket", str(proxy_socket)]
        if dns_log is not None:
            launcher += ["--dns-log", str(dns_log)]
        return ["unshare", "--net", "--mount", "--propagation", "private", *launcher, "--",
                "buildah", "--storage-driver", "overlay", *args]

    def run(self, args: Sequence[str], *, binds: Sequence[str] = (),
            check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run offline (no way out of the namespace) and capture the output."""
        done = subprocess.run(self.command(args, binds=binds), capture_output=True, text=True)
        if check and done.returncode != 0:
            raise SetupError(f"buildah {' '.join(args[:2])} failed: "
                             f"{done.stderr.strip()[-500:]}")
        return done

    def has_image(self, name: str) -> bool:
        return self.run(["inspect", "--type", "image", name]).returncode == 0


def ensure_base_image(buildah: Buildah, work: Path, sources: Sequence[AptSource]) -> None:
    """The substitute python:3.11-slim-bookworm, made once and kept in the storage.

    Debian bookworm minbase with Python 3.11 (Debian's 3.11.2 in /usr, not the official
    image's build in /usr/local), `python` and `pip` on PATH and no EXTERNALLY-MANAGED, as
    the official image has: enough for Airflow's Dockerfile, whose apt steps add the rest.
    """
    if buildah.has_image(BASE_IMAGE):
        return
    say(f"making the substitute base image {BASE_IMAGE} (Debian bookworm with Python 3.11); "
        "about 40 s, once")
    staging = work / "base.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    main = archive_uri(sources)
    mirrors = [f"deb {main} bookworm main", f"deb {main} bookworm-updates main"]
    security = archive_uri(sources, security=True)
    if security:
        mirrors.append(f"deb {security} bookworm-security main")
    hooks = ['rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',
             'ln -sf /usr/bin/pip3 "$1"/usr/local/bin/pip',
             'ln -sf /usr/bin/pip3 "$1"/usr/local/bin/pip3']
    mmdebstrap("bookworm", staging / "base.tar", BASE_PACKAGES, mirrors, hooks,
               log=work / "base.log")
    import_tar(buildah, staging)
    shutil.rmtree(staging)


def import_tar(buildah: Buildah, staging: Path) -> None:
    """`buildah from scratch` + `add` the root filesystem + `commit` under BASE_IMAGE."""
    binds = [f"{staging}:/import:ro"]
    container = buildah.run(["from", "scratch"], check=True).stdout.strip()
    try:
        buildah.run(["add", container, "/import/base.tar", "/"], binds=binds, check=True)
        buildah.run(["config", "--env",
                     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "--env", "LANG=C.UTF-8", "--cmd", "python3", container], check=True)
        buildah.run(["commit", "--format", "docker", container, BASE_IMAGE], check=True)
    finally:
        buildah.run(["rm", container])


@contextlib.contextmanager
def work_lock(work: Path) -> Iterator[None]:
    """One run at a time per work folder: they share the tools root and the storage."""
    import fcntl

    work.mkdir(parents=True, exist_ok=True)
    with open(work / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another run that uses {work}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield

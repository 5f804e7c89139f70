#!/usr/bin/env python3
"""Prove a prepared wheelhouse builds its image offline: a real build, a logged network.

    python scripts/prove_image.py DIR --dockerfile PATH [--allow HOST]... [--keep]
                                  [--tag IMAGE] [--json] [--work DIR]
    python scripts/prove_image.py EXTEND_DIR [--dockerfile PATH | --base IMAGE] ...

`wheelhouse build-args` says which arguments build Airflow's image from DIR; this builds it
for real, with exactly those arguments (read from `build-args DIR --dockerfile PATH --json`,
never re-derived), from a temporary build context holding the Dockerfile and DIR as
`docker-context-files` (hard links, else a copy; mounted read-only: DIR is never written).
A folder prepared with `prepare --extend` (the extend route) is built with no build
arguments, from the Dockerfile `wheelhouse dockerfile DIR` writes (written into the context
when --dockerfile is not given; --base is its --base), FROM the release's image, which an
earlier run built and kept in the storage (`--keep --tag apache/airflow:X-pythonY`); the
context holds DIR under the name the Dockerfile's bind mount takes it by.

The build runs with buildah (chroot isolation, overlay storage, `--format docker`,
`--pull=never`) in an empty network namespace. Its only way out is an allow-list proxy (the
Debian mirror host this machine's apt uses, plus every --allow HOST) that logs every request,
allowed or refused, CONNECT included; a tool that bypasses the proxy finds no route, and its
DNS lookup is answered REFUSED and logged by a resolver in the namespace. Then, still
offline, in the built image as the airflow user: `airflow version`, `pip check`, and the
installed-set check (every distribution of the airflow user's site-packages is the folder's
version, byte for byte as its wheel's RECORD; for the extend route, every distribution the
folder installs is in the image at its version, installed by the build or left as the base
image had it, and everything else is the base image's, unchanged). The extend route's
allow-list is only the --allow hosts: its Dockerfile fetches nothing.

It sets up what it lacks, saying so: mmdebstrap (apt-get), a Debian trixie tools root with
buildah 1.39+, and a substitute `python:3.11-slim-bookworm` base image, both cached in the
work folder (default ~/.cache/wheelhouse-prove-image). Without --keep it removes its
container, the built image and the temporary context at the end; the proxy and build logs
stay in the run's folder under WORK/runs/.

Exit 0 when the build succeeded, nothing outside the allow-list was requested, the installed
set matches the folder, and `airflow version` and `pip check` pass; 1 otherwise (the machine
cannot run the proof: "stage": "setup"); 2 for bad input (no such folder or Dockerfile, a
folder build-args refuses, a base image that cannot be substituted here, an extend
Dockerfile with no single base image). An extend build whose base image is not in the storage
stops at setup (exit 1), saying which image to build and keep first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from image_extend import (
    ExtendInputError,
    base_image,
    context_name,
    extend_record,
    missing_base,
    write_dockerfile,
)
from image_installed import PROBE, compare, compare_extend
from image_proxy import FORWARD_PORT, AllowListProxy
from image_tools import (
    BASE_IMAGE,
    BASE_SHORT_NAME,
    TOOLS_MARKER,
    Buildah,
    SetupError,
    apt_sources,
    check_machine,
    check_mirror,
    ensure_base_image,
    ensure_mmdebstrap,
    ensure_tools_root,
    hard_limits,
    mirror_hosts,
    qualified,
    say,
    work_lock,
    write_hosts,
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_WORK = Path.home() / ".cache" / "wheelhouse-prove-image"
CONTEXT_FOLDER = "docker-context-files"
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_STEP = re.compile(r"STEP \d+/\d+: ")
_IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,254}$")  # a --tag, no digest


class BadInput(ValueError):
    """Exit 2: the inputs cannot be built from (the message names which and why)."""


class MissingBase(SetupError):
    """The extend build's base image is not in the storage: build and keep it first."""


@dataclass
class RunPaths:
    """Where one run keeps its things: the context and buildah's temporary files go at the
    end (without --keep), the logs stay as the evidence."""

    root: Path
    context: Path = field(init=False)
    vartmp: Path = field(init=False)
    proxy_log: Path = field(init=False)
    dns_log: Path = field(init=False)
    resolv_conf: Path = field(init=False)
    build_log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.context = self.root / "context"
        self.vartmp = self.root / "vartmp"
        self.proxy_log = self.root / "proxy.jsonl"
        self.dns_log = self.root / "dns.jsonl"
        self.resolv_conf = self.root / "resolv.conf"
        self.build_log = self.root / "build.log"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    paragraphs = (__doc__ or "").split("\n\n")
    parser = argparse.ArgumentParser(
        description="\n\n".join(paragraphs[2:4]), epilog="\n\n".join(paragraphs[4:]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, metavar="DIR", help="a prepared wheelhouse")
    parser.add_argument("--dockerfile", type=Path, metavar="PATH",
                        help="the Dockerfile to build (e.g. Airflow's for the folder's release; "
                             "for an extend folder, default: the one `wheelhouse dockerfile DIR` "
                             "writes)")
    parser.add_argument("--base", metavar="IMAGE",
                        help="an extend folder's base image under another name (passed to "
                             "`wheelhouse dockerfile --base`; default: apache/airflow:X-pythonY)")
    parser.add_argument("--allow", action="append", default=[], metavar="HOST",
                        help="a host the build may reach too (repeatable); default: only the "
                             "Debian mirror host(s) of this machine's apt sources (none for an "
                             "extend folder)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the container, the built image and the context")
    parser.add_argument("--tag", metavar="IMAGE",
                        help="the image's name, as a pull would name it (apache/airflow:X is "
                             "docker.io/apache/airflow:X, so a later FROM finds it); default: "
                             "localhost/wheelhouse-prove:RUN")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, metavar="DIR",
                        help=f"the cache of the tools root, base image and runs "
                             f"(default: {DEFAULT_WORK})")
    return parser.parse_args(argv)


def check_inputs(args: argparse.Namespace) -> None:
    """Everything that is bad input, found before anything is set up or built; sets
    args.extend to the folder's extend record (None: the stock build's folder)."""
    if not (args.folder / "wheelhouse.json").is_file():
        raise BadInput(f"{args.folder} is not a prepared wheelhouse (no wheelhouse.json).")
    args.extend = extend_record(args.folder)
    if args.dockerfile is None and args.extend is None:
        raise BadInput(f"--dockerfile PATH is needed: {args.folder} was prepared for Airflow's "
                       "stock build (its manifest has no extend record), so give the Dockerfile "
                       "of its release.")
    if args.dockerfile is not None and not args.dockerfile.is_file():
        raise BadInput(f"{args.dockerfile} is not a file.")
    if args.base is not None and (args.extend is None or args.dockerfile is not None):
        raise BadInput("--base names the base image of the Dockerfile this script writes for "
                       "an extend folder: leave it out with --dockerfile or a stock-build folder.")
    bad = [host for host in args.allow if not _HOST.match(host)]
    if bad:
        raise BadInput(f"--allow {bad[0]!r} is not a host name.")
    if args.tag is not None and not _IMAGE_NAME.match(args.tag):
        raise BadInput(f"--tag {args.tag!r} is not an image name such as "
                       "apache/airflow:2.10.3-python3.11.")
    if args.tag is not None and qualified(args.tag) == BASE_IMAGE:
        raise BadInput(f"--tag {args.tag} names the base image, which the run would remove.")


def fetch_build_args(folder: Path, dockerfile: Path, tag: str) -> dict[str, Any]:
    """`wheelhouse build-args DIR --dockerfile PATH --json`, parsed: the one source of the
    build's arguments (this script never derives one itself)."""
    command = [sys.executable, "-m", "wheelhouse", "build-args", str(folder), "--dockerfile",
               str(dockerfile), "--tag", tag, "--json"]
    done = subprocess.run(command, capture_output=True, text=True)
    try:
        document: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        document = {}
    if done.returncode not in (0, 1) or "docker_flags" not in document:
        reason = document.get("error") or done.stderr.strip() or f"exit {done.returncode}"
        raise BadInput(f"wheelhouse build-args refused the folder: {reason}")
    base = document.get("build_args", {}).get("PYTHON_BASE_IMAGE")
    if base != BASE_SHORT_NAME:
        raise BadInput(f"the build's base image is {base or 'not python:X.Y-slim-bookworm'}: "
                       f"only {BASE_SHORT_NAME} can be made here (Debian bookworm's Python "
                       "3.11), so only Python 3.11 folders of Airflow 2.8 to 3.0 are proved.")
    return document


def make_context(folder: Path, dockerfile: Path, context: Path,
                 name: str = CONTEXT_FOLDER) -> str:
    """The build context: the Dockerfile, and the folder as NAME (docker-context-files, or
    the name an extend Dockerfile's bind mount takes it by).

    Hard links cost nothing and leave DIR as it is (the context is mounted read-only for the
    build); across file systems the files are copied. Returns which of the two was done.
    """
    target = context / name
    target.mkdir(parents=True)
    if dockerfile.resolve() != (context / "Dockerfile").resolve():
        shutil.copy2(dockerfile, context / "Dockerfile")
    how = "hard links"
    for source in sorted(folder.rglob("*")):
        destination = target / source.relative_to(folder)
        if source.is_symlink():
            raise BadInput(f"{source} is a symbolic link: a wheelhouse holds plain files.")
        if source.is_dir():
            destination.mkdir()
            continue
        try:
            os.link(source, destination)
        except OSError:
            shutil.copy2(source, destination)
            how = "a copy"
    return how


def setup(work: Path, vartmp: Path) -> tuple[Buildah, list[str]]:
    """Everything the build needs on this machine; returns buildah and the mirror hosts."""
    check_machine()
    sources = apt_sources()
    if not sources:
        raise SetupError("no http(s) Debian source in /etc/apt/sources.list(.d).")
    check_mirror(sources[0].uri)
    ensure_mmdebstrap()
    tools = ensure_tools_root(work, sources)
    buildah = Buildah(tools, work / "storage", vartmp)
    ensure_base_image(buildah, work, sources)
    say(f"tools root (buildah {(tools / TOOLS_MARKER).read_text().strip()}) and base image "
        f"{BASE_IMAGE} ready in {work}")
    return buildah, mirror_hosts(sources)


def setup_extend(work: Path, vartmp: Path, written: str) -> Buildah:
    """What an extend build needs: the tools root and its base image, both made by an earlier
    run (nothing is made or fetched here: an extend proof runs offline)."""
    check_machine()
    tools = work / "tools"
    if not (tools / TOOLS_MARKER).is_file():
        raise MissingBase(missing_base(written, work))
    write_hosts(tools)
    buildah = Buildah(tools, work / "storage", vartmp)
    if not buildah.has_image(qualified(written)):
        raise MissingBase(missing_base(written, work))
    say(f"tools root (buildah {(tools / TOOLS_MARKER).read_text().strip()}) and the base image "
        f"{qualified(written)} ready in {work}")
    return buildah


def extend_dockerfile(args: argparse.Namespace, paths: RunPaths, tag: str,
                      document: dict[str, Any]) -> tuple[Path, str, str]:
    """An extend folder's Dockerfile (--dockerfile, else written by `wheelhouse dockerfile`
    into the context, with a copy beside the logs), its base image as written, and the name
    the context holds the folder by."""
    dockerfile = args.dockerfile
    if dockerfile is None:
        paths.context.mkdir(parents=True)
        dockerfile = paths.context / "Dockerfile"
        write_dockerfile(args.folder, dockerfile, args.base)
        shutil.copy2(dockerfile, paths.root / "Dockerfile")  # the evidence stays
        document.update(dockerfile=str(paths.root / "Dockerfile"),
                        dockerfile_source="wheelhouse dockerfile" +
                        (f" --base {args.base}" if args.base else ""))
    try:
        text = dockerfile.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"cannot read {dockerfile}: {error}") from None
    written = base_image(text, dockerfile)
    name = context_name(text, dockerfile) or CONTEXT_FOLDER
    if qualified(written) == tag:
        raise BadInput(f"--tag {args.tag} names the build's own base image {written}.")
    document.update(base_image=qualified(written), context_name=name)
    return dockerfile, written, name


def proxy_flags() -> list[str]:
    """The proxy variables as build args (Docker predefines them: no ARG needed)."""
    url = f"http://127.0.0.1:{FORWARD_PORT}"
    flags: list[str] = []
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        flags += ["--build-arg", f"{name}={url}"]
    return flags


@dataclass
class BuildResult:
    """What the build did: its outcome, and the steps it printed (to place each request)."""

    ok: bool
    exit_code: int
    seconds: float
    steps: list[tuple[float, str]]  # (time, "STEP n/m: ...") as buildah printed them
    tail: list[str]

    @property
    def last_step(self) -> str | None:
        return self.steps[-1][1] if self.steps else None


def build(buildah: Buildah, paths: RunPaths, docker_flags: list[str],
          proxy_socket: Path, keep: bool) -> BuildResult:
    """`buildah build` with the build-args flags, the output kept in build.log and shown.

    A failed build's containers are removed too (--force-rm, which buildah takes only with
    --no-cache), unless kept to look into. The build's resolv.conf names only the logging
    resolver inside the namespace: a direct lookup, bypassing the proxy, is evidence too.
    """
    force_rm = [] if keep or "--no-cache" not in docker_flags else ["--force-rm"]
    arguments = ["build", "--isolation", "chroot", "--format", "docker", "--pull=never",
                 *hard_limits(), *force_rm, *proxy_flags(), *docker_flags,
                 "--file", "/ctx/Dockerfile", "/ctx"]
    paths.resolv_conf.write_text("nameserver 127.0.0.1\noptions attempts:1\n")
    command = buildah.command(arguments, proxy_socket=proxy_socket, dns_log=paths.dns_log,
                              binds=[f"{paths.context}:/ctx:ro",
                                     f"{paths.resolv_conf}:/etc/resolv.conf:ro"])
    steps: list[tuple[float, str]] = []
    tail: list[str] = []
    started = time.monotonic()
    with paths.build_log.open("w") as log, subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace") as process:
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            sys.stderr.write(line)
            if _STEP.search(line):
                steps.append((time.time(), " ".join(line.split())))
            tail = (tail + [line.rstrip()])[-25:]
    seconds = round(time.monotonic() - started, 1)
    return BuildResult(process.returncode == 0, process.returncode, seconds, steps, tail)


def step_at(steps: list[tuple[float, str]], moment: float) -> str | None:
    """The Dockerfile step that was running at MOMENT (the last one started before it:
    buildah prints a step's line before the step runs, and both clocks are this machine's)."""
    current = None
    for started, line in steps:
        if started <= moment:
            current = line
    return current


def direct_lookups(dns_log: Path, allowed: list[str]) -> list[dict[str, Any]]:
    """The build's own DNS lookups (they bypassed the proxy, and had no route out anyway):
    outside the allow-list unless the name is an allowed host or a loopback name."""
    if not dns_log.is_file():
        return []
    entries = [json.loads(line) for line in dns_log.read_text().splitlines() if line]
    for entry in entries:
        host = str(entry["host"])
        entry["allowed"] = host in allowed or host == "localhost" or \
            host.endswith(".localhost")
        entry["note"] = "a direct lookup, not through the proxy (no route out)"
    return entries


def summarize_requests(entries: list[dict[str, Any]],
                       steps: list[tuple[float, str]]) -> dict[str, Any]:
    """Every request (the proxy's and the direct lookups), counted by host and verdict, in
    the order they came, each with the Dockerfile step that made it."""
    listed = []
    for entry in sorted(entries, key=lambda entry: float(entry.get("t", 0))):
        item = {key: value for key, value in entry.items() if key != "t"}
        item["step"] = step_at(steps, float(entry.get("t", 0)))
        listed.append(item)
    refused = [item for item in listed if not item["allowed"]]
    return {"total": len(listed), "allowed": len(listed) - len(refused),
            "refused": len(refused),
            "direct_lookups": sum(item["method"] == "DNS" for item in listed),
            "hosts": dict(Counter(str(item["host"]) for item in listed)),
            "refused_requests": refused, "requests": listed}


def image_size(buildah: Buildah, tag: str, base: str) -> dict[str, int]:
    """The image's size (its layers, uncompressed) and the base image's share of it."""
    def layers(name: str) -> int:
        done = buildah.run(["inspect", "--type", "image", name], check=True)
        manifest = json.loads(json.loads(done.stdout)["Manifest"])
        return sum(int(layer["size"]) for layer in manifest["layers"])

    return {"bytes": layers(tag), "base_bytes": layers(base)}


def in_image(buildah: Buildah, container: str, command: list[str]) -> dict[str, Any]:
    """Run COMMAND in the image as the airflow user, offline, as the image runs it.

    A shell running as the airflow user finds the command on PATH, as Airflow's entrypoint
    (`exec "$@"`) and Docker's runtime do: buildah's chroot isolation would look it up as
    root, and pick Airflow's root-only /root/bin/pip guard, which the airflow user cannot run.
    """
    done = buildah.run(["run", "--isolation", "chroot", "--user", "airflow", container, "--",
                        "/bin/sh", "-c", 'exec "$@"', "sh", *command])
    return {"ok": done.returncode == 0, "exit_code": done.returncode,
            "output": done.stdout.strip(), "stderr": done.stderr.strip()}


def check_image(buildah: Buildah, container: str, folder: Path,
                extend_base: str | None = None) -> dict[str, Any]:
    """`airflow version`, `pip check` and the installed-set check, in the built image (for
    an extend build, against its base image too, probed in a container of its own)."""
    version = in_image(buildah, container, ["airflow", "version"])
    pip_check = in_image(buildah, container, ["pip", "check"])
    probe = in_image(buildah, container, ["python", "-c", PROBE])
    base_probe = probe_base(buildah, container, extend_base) if extend_base and probe["ok"] \
        else None
    failed = next((p for p in (probe, base_probe) if p is not None and not p["ok"]), None)
    manifest = json.loads((folder / "wheelhouse.json").read_text())
    if failed is not None:
        where = "the base image's" if failed is base_probe else "the image's"
        installed = {"ok": False, "error": f"{where} probe: " +
                     (failed["stderr"] or failed["output"])[-2000:]}
    elif base_probe is not None:
        installed = compare_extend(folder, manifest, json.loads(probe["output"]),
                                   json.loads(base_probe["output"])).as_dict()
    else:
        installed = compare(folder, manifest, json.loads(probe["output"])).as_dict()
        installed["mode"] = "build-args"
    return {"airflow_version": version, "pip_check": pip_check, "installed": installed}


def probe_base(buildah: Buildah, container: str, base: str) -> dict[str, Any]:
    """The installed-set probe in the base image, as the airflow user: what the extend build
    started from (a container of its own, removed at once)."""
    made = buildah.run(["from", "--pull=never", "--name", f"{container}-base", *hard_limits(),
                        base], check=True).stdout.strip()
    try:
        return in_image(buildah, made, ["python", "-c", PROBE])
    finally:
        buildah.run(["rm", made])


def cleanup(buildah: Buildah, paths: RunPaths, container: str | None, tag: str,
            keep: bool) -> dict[str, Any]:
    """Remove what this run made (unless --keep); the tools root and base image stay."""
    if keep:
        return {"kept": True, "container": container, "image": tag,
                "context": str(paths.context),
                "buildah": shlex.join(buildah.command(["images"]))}
    removed = []
    if container and buildah.run(["rm", container]).returncode == 0:
        removed.append(f"container {container}")
    if buildah.run(["rmi", tag]).returncode == 0:
        removed.append(f"image {tag}")
    buildah.run(["rmi", "--prune"])  # the build's untagged intermediate images, if any
    for folder in (paths.context, paths.vartmp):
        shutil.rmtree(folder, ignore_errors=True)
    removed.append("the temporary context")
    return {"kept": False, "removed": removed}


def prove(args: argparse.Namespace, document: dict[str, Any]) -> int:
    """Set up, build, check and clean up; fills DOCUMENT; returns the exit code."""
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)
    tag = qualified(args.tag) if args.tag else f"localhost/wheelhouse-prove:{run_id.lower()}"
    document["tag"] = tag
    if args.extend is None:
        build_args = fetch_build_args(args.folder, args.dockerfile, tag)
        flags: list[str] = build_args["docker_flags"]
        document.update(mode="build-args", build_args=build_args["build_args"],
                        offline_verdict={"offline": build_args["offline"],
                                         "blockers": build_args["blockers"]},
                        build_args_warnings=build_args["warnings"])
    else:  # build-args refuses the folder, by design: the extend Dockerfile takes none
        flags = ["--no-cache", "--tag", tag]
        document.update(mode="extend", build_args={}, extend=args.extend)
    work = args.work.resolve()
    with work_lock(work):
        paths = RunPaths(work / "runs" / run_id)
        paths.root.mkdir(parents=True)
        try:
            dockerfile, written, name = (
                extend_dockerfile(args, paths, tag, document) if args.extend is not None
                else (args.dockerfile, BASE_SHORT_NAME, CONTEXT_FOLDER))
        except (BadInput, ExtendInputError):
            shutil.rmtree(paths.root, ignore_errors=True)
            raise
        started = time.monotonic()
        try:
            if args.extend is None:
                buildah, mirrors = setup(work, paths.vartmp)
            else:
                buildah, mirrors = setup_extend(work, paths.vartmp, written), []
        except SetupError as error:
            shutil.rmtree(paths.root, ignore_errors=True)
            document.update(stage="setup", error=str(error))
            if "dockerfile_source" in document:  # it went with the run's folder
                document["dockerfile"] = None
            if isinstance(error, MissingBase):
                document["missing_base"] = qualified(written)
            return EXIT_FAILED
        document["setup_seconds"] = round(time.monotonic() - started, 1)
        allowed = sorted(set(mirrors) | {host.lower() for host in args.allow})
        document.update(allow=allowed, work=str(work), run_folder=str(paths.root),
                        proxy_log=str(paths.proxy_log), build_log=str(paths.build_log))
        try:
            how = make_context(args.folder, dockerfile, paths.context, name)
        except BadInput:
            shutil.rmtree(paths.root, ignore_errors=True)
            raise
        say(f"build context in {paths.context} ({how} of {args.folder} as {name}, mounted "
            "read-only)")
        return build_and_check(args, document, buildah, paths, allowed, flags, tag,
                               qualified(written))


def build_and_check(args: argparse.Namespace, document: dict[str, Any], buildah: Buildah,
                    paths: RunPaths, allowed: list[str], flags: list[str], tag: str,
                    base: str) -> int:
    """The build behind the proxy, then the offline checks in the image, then cleanup."""
    socket_folder = Path(tempfile.mkdtemp(prefix="whpi-"))  # short: unix sockets take 107
    proxy = AllowListProxy(socket_folder / "proxy.sock", allowed, paths.proxy_log)
    proxy.start()
    container = None
    try:
        say(f"building {tag} FROM {base} with buildah; the network allows "
            f"{'only ' + ', '.join(allowed) if allowed else 'nothing'}")
        result = build(buildah, paths, flags, proxy.socket_path, args.keep)
    finally:
        proxy.stop()
        shutil.rmtree(socket_folder, ignore_errors=True)
    try:
        document["build"] = {"ok": result.ok, "exit_code": result.exit_code,
                             "seconds": result.seconds, "last_step": result.last_step,
                             "tail": [] if result.ok else result.tail}
        entries = proxy.entries + direct_lookups(paths.dns_log, allowed)
        document["requests"] = summarize_requests(entries, result.steps)
        if result.ok:
            document["image"] = image_size(buildah, tag, base)
            say("checking the image offline, as the airflow user")
            name = f"wheelhouse-prove-{paths.root.name.lower()}"
            container = buildah.run(["from", "--pull=never", "--name", name, *hard_limits(),
                                     tag], check=True).stdout.strip()
            document.update(check_image(buildah, container, args.folder,
                                        base if args.extend is not None else None))
    except SetupError as error:  # buildah could not inspect the image or make a container
        document["check_error"] = str(error)
    finally:
        document["cleanup"] = cleanup(buildah, paths, container, tag, args.keep)
    return verdict(document)


def verdict(document: dict[str, Any]) -> int:
    """Exit 0 only when every part of the proof holds; the reasons otherwise."""
    problems = []
    if not document.get("build", {}).get("ok"):
        problems.append("the build failed")
    if "check_error" in document:
        problems.append(f"the image could not be checked: {document['check_error']}")
    if document.get("requests", {}).get("refused"):
        problems.append(f"{document['requests']['refused']} request(s) outside the allow-list")
    for key, what in (("airflow_version", "`airflow version` failed"),
                      ("pip_check", "`pip check` failed"),
                      ("installed", "the installed set differs from the folder")):
        if key in document and not document[key].get("ok"):
            problems.append(what)
    document["problems"] = problems
    return EXIT_OK if not problems else EXIT_FAILED


def megabytes(count: int) -> str:
    return f"{count / 1e6:.0f} MB"


def text_report(document: dict[str, Any]) -> str:
    """The report for people: every number, every refused request, the allowed ones counted."""
    written = document.get("dockerfile_source")
    lines = [f"folder:     {document['folder']}",
             f"dockerfile: {document['dockerfile'] or 'not kept'}"
             + (f" (written by {written})" if written else "")]
    lines.append(mode_line(document))
    if document.get("stage") == "setup":
        return "\n".join(lines + [f"cannot run here: {document['error']}"]) + "\n"
    lines.append(f"setup:      {document['setup_seconds']} s (the tools root and base image are "
                 f"cached in {document['work']})")
    lines.append(f"allowed:    {', '.join(document['allow']) or 'nothing'}")
    built = document["build"]
    state = "ok" if built["ok"] else f"FAILED (exit {built['exit_code']}) at {built['last_step']}"
    lines.append(f"build:      {state} in {built['seconds']} s (log: {document['build_log']})")
    lines += [f"  | {line}" for line in built["tail"][-6:]]  # a failed build's last words
    lines += request_lines(document["requests"], document.get("proxy_log"))
    if "image" in document:
        size = document["image"]
        lines.append(f"image:      {document['tag']}: {megabytes(size['bytes'])} "
                     f"(the base image {megabytes(size['base_bytes'])} of it)")
    if "airflow_version" in document:
        lines += check_lines(document)
    lines.append(cleanup_line(document["cleanup"]))
    problems = document["problems"]
    lines.append("result:     " + ("proved: exit 0" if not problems else
                                   "NOT proved: " + "; ".join(problems) + " (exit 1)"))
    return "\n".join(lines) + "\n"


def mode_line(document: dict[str, Any]) -> str:
    if document["mode"] == "extend":
        return (f"mode:       extend (prepared with --extend {document['extend'].get('airflow')}; "
                f"no build args; FROM {document.get('base_image', '?')}, an image of the "
                f"storage; the folder is {document.get('context_name', '?')} in the context)")
    return "mode:       build-args (the arguments of `wheelhouse build-args DIR --json`)"


# Above this many allowed requests (an apt-get of a real image makes hundreds), the report
# counts them by host instead of listing them above the refused ones; --json has them all.
ALLOWED_LISTED = 20


def request_lines(requests: dict[str, Any], proxy_log: str | None = None) -> list[str]:
    if not requests["total"]:
        return ["requests:   none: the build asked for nothing (no proxy request, no direct "
                "DNS lookup)"]
    hosts = ", ".join(f"{host} {count}" for host, count in sorted(requests["hosts"].items()))
    lines = [f"requests:   {requests['total']} ({hosts}): {requests['allowed']} allowed, "
             f"{requests['refused']} refused; {requests['direct_lookups']} of them direct "
             "DNS lookups"]
    shown = requests["requests"]
    if requests["allowed"] > ALLOWED_LISTED:
        shown = [item for item in shown if not item["allowed"]]
        lines.append(f"  allowed: {requests['allowed']}, not listed here: each is in "
                     f"{proxy_log or 'the proxy log'} and in --json")
    for (request, step), repeats in groupby(map(_request_and_step, shown)):
        count = len(list(repeats))
        lines.append(f"  {request}" + (f" ({count} times in a row)" if count > 1 else ""))
        if step is not None:
            lines.append(f"          during {step}")
    return lines


def _request_and_step(item: dict[str, Any]) -> tuple[str, str | None]:
    """One logged request as the report says it, and the step of a refused one."""
    mark = "allowed" if item["allowed"] else "REFUSED"
    what = f"{item['status']} {item['method']} {item['target']}"
    if item["method"] == "DNS":
        what = f"DNS {item['qtype']} {item['target']} (a direct lookup, not via the proxy)"
    return f"{mark} {what}", None if item["allowed"] else item["step"]


def outcome(check: dict[str, Any]) -> str:
    """A command's answer; on failure, its exit code and last words (stderr too)."""
    if check["ok"]:
        return str(check["output"])
    said = "\n".join(part for part in (check["output"], check["stderr"]) if part)
    return f"FAILED (exit {check['exit_code']}): {said[-1500:]}"


def check_lines(document: dict[str, Any]) -> list[str]:
    version, pip_check, installed = (document["airflow_version"], document["pip_check"],
                                     document["installed"])
    lines = [f"airflow version: {outcome(version)}", f"pip check:  {outcome(pip_check)}"]
    if "error" in installed:
        return lines + [f"installed set: the probe failed: {installed['error']}"]
    if installed.get("mode") == "extend":
        return lines + extend_lines(installed)
    verdict_text = "all match the folder" if installed["ok"] else "DIFFERS from the folder"
    lines.append(f"installed set: {installed['checked']} distributions in "
                 f"{installed['user_site']}: {verdict_text} "
                 f"({installed['files_compared']} files compared with their wheels' RECORD)")
    for item in installed["version_differs"]:
        lines.append(f"  version differs: {item['name']} {item['installed']} "
                     f"(the folder ships {item['folder']})")
    for item in installed["not_in_folder"]:
        lines.append(f"  not in the folder: {item['name']} {item['version']}")
    for key, what in (("hash_differs", "bytes differ"), ("missing_files", "not installed")):
        for item in installed[key]:
            lines.append(f"  {what}: {item['name']}: {', '.join(item['files'][:10])}")
    if installed["not_installed"]:
        lines.append(f"  in the folder, not installed: {', '.join(installed['not_installed'])}")
    lines.append(f"  outside the user site (the base image's): {len(installed['elsewhere'])}")
    return lines


def extend_lines(installed: dict[str, Any]) -> list[str]:
    """The installed-set check of an extend build, for people."""
    verdict_text = "all match the folder" if installed["ok"] else "DIFFERS from the folder"
    by_build, from_base = installed["by_build"], installed["from_base"]
    lines = [f"installed set (extend): the folder's {installed['shipped']} distributions: "
             f"{len(by_build)} installed by the build, {len(from_base)} from the base image "
             f"(it had the folder's version: pip left it): {verdict_text} "
             f"({installed['files_compared']} files compared with their wheels' RECORD)"]
    if by_build:
        lines.append(f"  installed by the build: {', '.join(by_build)}")
    same = [item for item in from_base if item["record"].startswith("compared with ")]
    if from_base:
        lines.append(f"  from the base image: {len(from_base)}, {len(same)} of them the folder's "
                     "own files (the same wheel: RECORD compared)")
    for item in from_base:
        if item not in same:
            lines.append(f"  from the base image: {item['name']} {item['version']}: "
                         f"{item['record']}")
    lines.append(f"  in the image, not in the folder (the base image's, unchanged): "
                 f"{installed['base_only']}")
    for item in installed["version_differs"]:
        lines.append(f"  version differs: {item['name']} {item['installed']} "
                     f"(the folder ships {item['folder']})")
    if installed["not_installed"]:
        lines.append(f"  in the folder, not installed: {', '.join(installed['not_installed'])}")
    for item in installed["not_in_folder"]:
        lines.append(f"  neither the folder's nor the base image's: {item['name']} "
                     f"{item['version']} ({item['location']})")
    for key, what in (("changed_since_base", "changed since the base image"),
                      ("hash_differs", "bytes differ"), ("missing_files", "not installed")):
        for item in installed[key]:
            lines.append(f"  {what}: {item['name']}: {', '.join(item['files'][:10])}")
    return lines


def cleanup_line(cleanup: dict[str, Any]) -> str:
    if cleanup["kept"]:
        return (f"kept:       container {cleanup['container']}, image {cleanup['image']}, "
                f"context {cleanup['context']} (--keep); buildah: {cleanup['buildah']}")
    return (f"cleanup:    removed {', '.join(cleanup['removed'])}; kept the cached tools root "
            "and base image")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    document: dict[str, Any] = {
        "folder": str(args.folder.resolve()), "mode": "build-args",
        "dockerfile": str(args.dockerfile.resolve()) if args.dockerfile else None}
    try:
        check_inputs(args)
        code = prove(args, document)
    except (BadInput, ExtendInputError) as error:
        document.update(ok=False, error=str(error), exit_code=EXIT_BAD_INPUT)
        print(json.dumps(document, indent=2) if args.json else f"error: {error}",
              file=sys.stdout if args.json else sys.stderr)
        return EXIT_BAD_INPUT
    document.update(ok=code == EXIT_OK, exit_code=code)
    print(json.dumps(document, indent=2, sort_keys=True) if args.json else text_report(document),
          end="\n" if args.json else "")
    return code


if __name__ == "__main__":
    sys.exit(main())

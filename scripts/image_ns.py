#!/usr/bin/env python3
"""Run one command of the tools root (buildah) inside the build's own namespaces.

`prove_image.py` starts this under `unshare --net --mount --propagation private`, so every
mount made here, and the network namespace, end with this process: nothing is left mounted
on the host, and the only way out of the network namespace is the forwarder this starts on
127.0.0.1:3128 (when given the proxy's socket). Without --proxy-socket the command is fully
offline: the checks run in the built image this way.

The tools root is a Debian trixie root filesystem (buildah 1.39+, which reads Dockerfile
heredocs) used under chroot: it needs /proc, /dev and /sys, a fresh /run and /tmp, the
container storage, and the folders the command reads (the build context).

    image_ns.py --tools DIR --storage DIR --vartmp DIR [--bind SRC:DEST[:ro]]...
                [--proxy-socket PATH] [--dns-log PATH] -- COMMAND...
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from image_proxy import FORWARD_PORT, forward, refuse_dns


def mount(*args: str) -> None:
    """`mount ARGS`, failing loudly: a half-made chroot must not run anything."""
    subprocess.run(["mount", *args], check=True)


def bind(source: Path, tools: Path, inside: str, read_only: bool = False) -> None:
    """Bind SOURCE at INSIDE of the tools root (made if missing); read-only when asked, so
    that nothing the command runs can write into it (the build context)."""
    target = tools / inside.lstrip("/")
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
    elif not target.exists():
        target.touch()
    mount("--bind", str(source), str(target))
    if read_only:
        mount("-o", "remount,bind,ro", str(target))


def prepare_root(tools: Path, storage: Path, vartmp: Path, binds: list[str]) -> None:
    """Make the tools root usable under chroot, in this mount namespace only."""
    mount("--bind", str(tools), str(tools))  # a mount point, as a container root expects
    mount("-t", "proc", "proc", str(tools / "proc"))
    mount("--rbind", "/dev", str(tools / "dev"))
    mount("--rbind", "/sys", str(tools / "sys"))
    mount("-t", "tmpfs", "tmpfs", str(tools / "run"))
    mount("-t", "tmpfs", "tmpfs", str(tools / "tmp"))
    bind(storage, tools, "/var/lib/containers")
    bind(vartmp, tools, "/var/tmp")  # buildah's temporary files and cache mounts: per run
    for spec in binds:
        source, inside, *options = spec.split(":")
        bind(Path(source), tools, inside, read_only=options == ["ro"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", type=Path, required=True)
    parser.add_argument("--storage", type=Path, required=True)
    parser.add_argument("--vartmp", type=Path, required=True)
    parser.add_argument("--bind", action="append", default=[], metavar="SRC:DEST[:ro]")
    parser.add_argument("--proxy-socket", type=Path)
    parser.add_argument("--dns-log", type=Path,
                        help="answer DNS on 127.0.0.1:53 with REFUSED and log each query here")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    prepare_root(args.tools, args.storage, args.vartmp, args.bind)
    # The loopback of the new namespace starts down; `ip` comes from the tools root.
    subprocess.run(["chroot", str(args.tools), "ip", "link", "set", "lo", "up"], check=True)
    if args.proxy_socket:
        forward(FORWARD_PORT, args.proxy_socket)
    if args.dns_log:
        refuse_dns(args.dns_log)
    return subprocess.call(["chroot", str(args.tools), *args.command])


if __name__ == "__main__":
    sys.exit(main())

"""The commands. Each module is one command: `register` adds its parser, `run` runs it.

A new command (say `licenses`) is a module here with those two functions, added to
`COMMANDS`; `cli.py` finds its parser and its exit code through them and maps its errors.
"""

from __future__ import annotations

import argparse
from typing import Protocol

from wheelhouse.commands import (
    audit,
    build_args,
    diff,
    dockerfile,
    licenses,
    page,
    prepare,
    sbom,
    sign,
    verify,
)


class Command(Protocol):
    """What cli.py needs of a command module."""

    NAME: str

    def register(self, commands: argparse._SubParsersAction) -> argparse.ArgumentParser: ...

    def run(self, args: argparse.Namespace) -> int: ...


COMMANDS: tuple[Command, ...] = (prepare, verify, sign, build_args, dockerfile, licenses, sbom,
                                  audit, diff, page)

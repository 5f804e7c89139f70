"""Options more than one command takes."""

from __future__ import annotations

import argparse
from pathlib import Path

from wheelhouse.errors import InputError
from wheelhouse.layout import DEFAULT_DEST


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document on stdout instead of a table")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks for errors")


def add_folder_argument(parser: argparse.ArgumentParser) -> None:
    """DIR, the wheelhouse a command reads (verify, sign)."""
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DEST, metavar="DIR",
                        help="the wheelhouse (default: docker-context-files)")


def add_review_options(parser: argparse.ArgumentParser) -> None:
    """What the review commands (licenses, sbom, audit) take besides DIR: they check the
    folder as verify does before they describe it."""
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="processes for hashing the folder (default: every core)")


def policy_keys_help() -> str:
    """The policy file's keys, for the epilogs of the commands that take --policy."""
    from wheelhouse.policy import POLICY_KEYS_HELP

    return "--policy FILE, a TOML file; every key is optional:\n" + POLICY_KEYS_HELP


def refuse_inside(path: Path | None, folder: Path, flag: str, what: str) -> None:
    """An output file (an SBOM, a report) inside DIR would be a file verify finds unlisted:
    refused before any work."""
    if path is None:
        return
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return
    raise InputError(f"{flag} {path} is inside {folder}: verify would find a file its manifest "
                     f"does not list; write the {what} beside the folder.")


def write_output(path: Path, text: str) -> None:
    """A command's document, written whole or not at all."""
    from wheelhouse.files import write_atomic

    try:
        write_atomic(path, text.encode())
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}.") from None

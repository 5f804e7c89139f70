"""Options more than one command takes."""

from __future__ import annotations

import argparse
from pathlib import Path

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

"""Options more than one command takes."""

from __future__ import annotations

import argparse


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document on stdout instead of a table")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks for errors")

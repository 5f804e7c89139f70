"""The entry point: parse arguments, run one command, map errors to exit codes.

Exit codes: 0 success; 1 verification found problems; 2 bad usage or bad input;
3 network or index failure; 4 a --policy violated; 70 an internal error (a bug: --debug
shows it); 130 interrupted. The commands are in `wheelhouse.commands`.

This module imports nothing heavy at its top, so that Ctrl-C while the rest loads is
answered like Ctrl-C at any other moment.
"""

from __future__ import annotations

import argparse
import sys

from wheelhouse import __version__
from wheelhouse.errors import WheelhouseError

EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70
INTERRUPTED = "interrupted; no partial file was left under a final name."


def build_parser() -> argparse.ArgumentParser:
    from wheelhouse.commands import COMMANDS

    parser = argparse.ArgumentParser(
        prog="wheelhouse",
        description="Prepare and prove air-gapped Python wheelhouses.",
    )
    parser.add_argument("--version", action="version", version=f"wheelhouse {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for command in COMMANDS:
        command.register(commands).set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
    except KeyboardInterrupt:  # while the commands' modules load
        sys.stderr.write(f"error: {INTERRUPTED}\n")
        return EXIT_INTERRUPTED
    args = parser.parse_args(argv)
    if getattr(args, "debug", False):  # notes such as a skipped file, on stderr
        import logging

        logging.basicConfig(format="debug: %(message)s")
        logging.getLogger("wheelhouse").setLevel(logging.DEBUG)
    try:
        return int(args.run(args))
    except WheelhouseError as exc:
        if args.debug:
            raise
        return _fail(args, str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return _fail(args, INTERRUPTED, EXIT_INTERRUPTED)
    except Exception as exc:  # an internal error: still one sentence, traceback on --debug
        if args.debug:
            raise
        return _fail(args, f"internal error: {type(exc).__name__}: {exc} "
                           "(run again with --debug for the traceback).", EXIT_INTERNAL)


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    from wheelhouse import report

    report.error(message)
    if getattr(args, "json", False):
        report.print_json({"ok": False, "error": message, "exit_code": code})
    return code


if __name__ == "__main__":
    sys.exit(main())

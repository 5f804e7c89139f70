"""Errors a user can act on; each carries the exit code the CLI returns for it."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_NETWORK = 3
EXIT_POLICY = 4


class WheelhouseError(Exception):
    """One clear sentence for the user; never shown with a traceback (unless --debug)."""

    exit_code = EXIT_USAGE


class InputError(WheelhouseError):
    """Bad usage or bad input: a spec, a constraints line, a package the index lacks."""

    exit_code = EXIT_USAGE


class NetworkError(WheelhouseError):
    """The network or an index failed us: unreachable, refused, 5xx, bad credentials."""

    exit_code = EXIT_NETWORK


class PolicyViolation(InputError):
    """What was resolved breaks the --policy: every violation, in one error."""

    exit_code = EXIT_POLICY

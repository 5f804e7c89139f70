"""`wheelhouse verify`: its options and its run (the checks are wheelhouse.verify)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from wheelhouse import report
from wheelhouse.commands.options import (
    add_folder_argument,
    add_output_options,
    policy_keys_help,
)
from wheelhouse.errors import EXIT_FINDINGS, EXIT_OK, InputError

if TYPE_CHECKING:  # verify's modules load only when it runs, to keep --help light
    from wheelhouse.verify import Finding, Folder, Report

NAME = "verify"

VERIFY_HELP = """\
Check a wheelhouse without touching the network: every file against the manifest (size,
sha256, the index's digest), nothing unlisted, every wheel's zip and RECORD member by
member, METADATA against the filename, tags against the targets, the constraints' pins,
the dependency closure for each target, and the lock against the manifest. A folder with
no wheel, a manifest that lists nothing, and a prepare that did not finish are findings:
nothing is vouched for that cannot be.

Without a wheelhouse.json (a folder made by pip download or by hand) it checks what it
can from --requirement, --constraints and the target flags.

The manifest lists every file of the folder with its sha256, so the manifest stands for the
folder: --manifest-sha256 (the sha256 prepare printed, carried apart from the folder) and
--allowed-signers (the SSH signatures `wheelhouse sign` appended) prove that it is the one
that was approved. On the connected side, --against-index asks the index again for each
file's digest: a folder whose manifest was rewritten to match a changed wheel agrees with
itself, but not with the index.
"""

VERIFY_EPILOG = """\
examples:
  wheelhouse verify docker-context-files
  wheelhouse verify docker-context-files --against-index --index-url https://pypi.org/simple
  wheelhouse verify docker-context-files --allowed-signers allowed_signers --min-signatures 2
  wheelhouse verify docker-context-files --manifest-sha256 3f5c...e1
  wheelhouse verify wheels --requirement pytest==8.3.5 --python 3.10 --json

allowed_signers is OpenSSH's format (ssh-keygen(1), ALLOWED SIGNERS), one signer a line:
  alice@example.org namespaces="wheelhouse" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA...

exit codes: 0 every check holds; 1 findings (each names the check, the file or project,
what was expected and what was found); 2 it cannot run (no such folder, a manifest that
is not JSON or not of a known schema, an allowed_signers file that cannot be read); 3 the
index could not be reached (--against-index only).
"""


def register(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        NAME,
        help="prove offline that a wheelhouse is complete, untampered and installable",
        description=VERIFY_HELP,
        epilog=VERIFY_EPILOG + "\n" + policy_keys_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_folder_argument(parser)
    parser.add_argument("--requirement", action="append", default=[], metavar="SPEC",
                        help="a root of the dependency closure (default: the manifest's "
                             "requirements, else every wheel in DIR); repeatable")
    parser.add_argument("--constraints", type=Path, metavar="FILE",
                        help="a local constraints file (default: the one in DIR)")
    parser.add_argument("--python", action="append", default=[], metavar="X.Y",
                        help="a target Python (default: the manifest's targets, else this "
                             "machine); repeatable")
    parser.add_argument("--platform", action="append", default=[], metavar="TAG",
                        help="a target platform, as for prepare; repeatable")
    parser.add_argument("--policy", type=Path, metavar="FILE",
                        help="a policy (TOML; its keys below): each file that breaks a rule is "
                             "a 'policy' finding; ages are counted from the manifest's "
                             "'created', when prepare ran")
    parser.add_argument("--allow-unverified", action="store_true",
                        help="accept files the manifest records with no index digest "
                             "(prepare --allow-unverified); they are still listed, under "
                             "'unverified'")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="processes for hashing (default: every core)")
    approval = parser.add_argument_group("approval (the manifest stands for the folder)")
    approval.add_argument("--manifest-sha256", metavar="HEX",
                          help="the sha256 of the approved wheelhouse.json (prepare prints "
                               "it): any other manifest is a finding")
    approval.add_argument("--allowed-signers", type=Path, metavar="FILE",
                          help="OpenSSH allowed_signers: the manifest must carry valid "
                               "signatures (wheelhouse.json.sig, namespace wheelhouse) by "
                               "enough of these keys")
    approval.add_argument("--min-signatures", type=int, default=1, metavar="N",
                          help="how many different allowed keys must have signed (default: "
                               "1; 2 for two-person review)")
    online = parser.add_argument_group("on the connected side only")
    online.add_argument("--against-index", action="store_true",
                        help="ask the index again for every file's sha256 (a built wheel: "
                             "its sdist's) and compare it with the file: the one mode of "
                             "verify that uses the network")
    online.add_argument("--index-url", action="append", default=[], metavar="URL",
                        help="with --against-index: ask only this index (repeatable), not "
                             "the ones the manifest names (the manifest could name any "
                             "server)")
    online.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="with --against-index: how long the index may stay silent "
                             "(default: 60)")
    add_output_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from wheelhouse import folderlock, signing
    from wheelhouse.verify import read_folder, verify

    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: give at least 1.")
    if not args.folder.is_dir():
        raise InputError(f"{args.folder} is not a folder.")
    expected = _sha256_argument(args.manifest_sha256)
    if args.min_signatures < 1:
        raise InputError(f"--min-signatures {args.min_signatures}: give at least 1.")
    if args.index_url and not args.against_index:
        raise InputError("--index-url is for --against-index (verify is offline otherwise).")
    policy = None
    if args.policy is not None:
        from wheelhouse.policy import load_policy

        policy = load_policy(args.policy)
    signers = None
    if args.allowed_signers is not None:
        signers, notes = signing.load_allowed_signers(args.allowed_signers)
        for note in notes:
            report.warn(note)
    # No prepare may write the folder while it is read (one that is writing it: exit 2).
    with folderlock.reading(args.folder):
        with report.HashProgress(args.folder) as progress:
            folder = read_folder(args.folder, args.requirement, args.constraints,
                                 args.python, args.platform, args.jobs, progress.file_done)
        folder.allow_unverified = args.allow_unverified
        folder.expected_manifest_sha256 = expected
        folder.signers = signers
        folder.min_signatures = args.min_signatures
        folder.policy = policy
        result = verify(folder)
        if args.against_index:
            result.findings += _against_index(args, folder, result)
    if args.json:
        report.print_json(result.as_json())
    else:
        report.print_verify(result)
    return EXIT_OK if result.ok else EXIT_FINDINGS


def _sha256_argument(text: str | None) -> str | None:
    if text is None:
        return None
    from wheelhouse.manifest import is_sha256

    value = text.strip().lower()
    if not is_sha256(value):
        raise InputError(f"--manifest-sha256 {text!r} is not a sha256 (64 hex digits).")
    return value


def _against_index(args: argparse.Namespace, folder: Folder, result: Report) -> list[Finding]:
    from wheelhouse.against_index import check_against_index, open_session

    if folder.manifest is None:
        raise InputError(f"--against-index needs a manifest, and {args.folder} has none.")
    session = open_session(args.timeout)
    findings, asked = check_against_index(folder, session, args.index_url or None,
                                          args.allow_unverified)
    result.asked = asked
    return findings

"""`wheelhouse sign`: its options and its run (the signing is wheelhouse.signing)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from wheelhouse import layout, report
from wheelhouse.commands.options import add_folder_argument, add_output_options
from wheelhouse.errors import EXIT_FINDINGS, EXIT_OK, InputError

if TYPE_CHECKING:
    from wheelhouse.verify import Finding

NAME = "sign"
SHOWN = 5  # findings printed when the folder does not verify

SIGN_HELP = """\
Sign the folder's manifest (wheelhouse.json) with an SSH key. The manifest names every
file with its size and sha256, so signing it signs the folder.

The folder is verified offline first (as wheelhouse verify does); one that does not verify
is not signed. The signature is an SSHSIG block, as `ssh-keygen -Y sign -n wheelhouse`
writes it (the format git uses for SSH commit signing), appended to
DIR/wheelhouse.json.sig. Several people sign in turn (two-person review): each run appends
one block, and signing again with the same key appends nothing.

KEY is a private key file (ssh-keygen asks for its passphrase on the terminal), or a
public key (KEY.pub) whose private half is in ssh-agent. Signing uses the system's
ssh-keygen (OpenSSH 8.2 or later).
"""

SIGN_EPILOG = """\
examples:
  wheelhouse sign docker-context-files --key ~/.ssh/id_ed25519
  wheelhouse sign wheels --key ~/.ssh/id_ed25519.pub        # the key is in ssh-agent

check the signatures:
  wheelhouse verify DIR --allowed-signers FILE --min-signatures 2
  ssh-keygen -Y verify -f FILE -I PRINCIPAL -n wheelhouse -s ONE_BLOCK < DIR/wheelhouse.json
  (FILE is OpenSSH's allowed_signers format: `PRINCIPAL KEYTYPE BASE64KEY` per line;
  ssh-keygen checks one block at a time, so copy one BEGIN...END block to ONE_BLOCK.)

sign without wheelhouse (the same block; nothing verifies the folder first):
  ssh-keygen -Y sign -n wheelhouse -f KEY < DIR/wheelhouse.json >> DIR/wheelhouse.json.sig

exit codes: 0 signed, or already signed by that key; 1 the folder does not verify (nothing
is signed; run wheelhouse verify DIR for every finding); 2 bad input (no such folder, no
wheelhouse.json, a key that cannot be read or used, no ssh-keygen).
"""


def register(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        NAME,
        help="sign a verified wheelhouse's manifest with an SSH key (ssh-keygen -Y sign)",
        description=SIGN_HELP,
        epilog=SIGN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_folder_argument(parser)
    parser.add_argument("--key", type=Path, required=True, metavar="KEY",
                        help="a private key file, or a .pub whose private key is in ssh-agent")
    add_output_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from wheelhouse import folderlock, signing
    from wheelhouse.verify import read_folder, verify

    folder: Path = args.folder
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder.")
    if not (folder / layout.MANIFEST).is_file():
        raise InputError(f"{folder} has no {layout.MANIFEST} to sign; prepare the folder "
                         "first (wheelhouse prepare).")
    # No prepare may write the folder while it is verified and signed.
    with folderlock.reading(folder):
        with report.HashProgress(folder) as progress:
            contents = read_folder(folder, on_file=progress.file_done)
        result = verify(contents)
        if result.findings:
            return _refuse(args, folder, result.findings)
        signed = signing.sign_manifest(folder, args.key, verified=contents.manifest_bytes)
    signature_file = folder / signing.SIGNATURES
    if args.json:
        report.print_json({
            "ok": True, "manifest_sha256": signed.manifest_sha256, "key": signed.key,
            "key_type": signed.key_type, "appended": signed.appended,
            "signatures": signed.signatures, "signature_file": str(signature_file),
        })
        return EXIT_OK
    if signed.appended:
        print(f"Signed {folder / layout.MANIFEST}.")
    else:
        print(f"{folder / layout.MANIFEST} is already signed by this key; nothing appended.")
    print(f"  manifest sha256: {signed.manifest_sha256}")
    print(f"  key:             {signed.key_type} {signed.key}")
    print(f"  signatures:      {signed.signatures} in {signature_file}")
    return EXIT_OK


def _refuse(args: argparse.Namespace, folder: Path, findings: list[Finding]) -> int:
    message = (f"{folder} does not verify ({len(findings)} findings); nothing was signed: "
               f"run wheelhouse verify {folder} for every finding.")
    report.error(message)
    if args.json:
        from dataclasses import asdict

        report.print_json({"ok": False, "error": message, "exit_code": EXIT_FINDINGS,
                           "findings": [asdict(f) for f in findings]})
        return EXIT_FINDINGS
    print(f"{folder} does not verify: {len(findings)} findings.")
    for finding in findings[:SHOWN]:
        where = finding.file or finding.project or ""
        print(f"  {finding.check}: {where + ': ' if where else ''}{finding.message}")
    if len(findings) > SHOWN:
        print(f"  ... and {len(findings) - SHOWN} more.")
    print(f"Run wheelhouse verify {folder} to see every finding; nothing was signed.")
    return EXIT_FINDINGS

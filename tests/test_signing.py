"""SSH signatures of the manifest, against the real ssh-keygen in both directions.

Blocks ssh-keygen makes are checked by wheelhouse, blocks wheelhouse appends are checked by
`ssh-keygen -Y verify`; then every way a block, a signature file or an allowed_signers
file can be wrong, and the `sign` command's refusals (exit 2, one sentence, folder as it
was).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from wheelhouse import signing
from wheelhouse.errors import InputError
from wheelhouse.signing import (
    AllowedSigner,
    check_signatures,
    load_allowed_signers,
    read_blocks,
    sign_manifest,
)

NOW = datetime.now(timezone.utc)
ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


@pytest.fixture(autouse=True)
def no_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine's ssh-agent (if any) plays no part unless a test starts its own."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


@pytest.fixture(scope="module")
def prepared(pypiserver, tmp_path_factory) -> Path:
    """One folder that passes wheelhouse verify, prepared from the test index."""
    dest = tmp_path_factory.mktemp("prepared") / "wh"
    result = subprocess.run(
        [sys.executable, "-m", "wheelhouse", "prepare", "alpha==1.0", "--index-url",
         pypiserver.url, "--dest", str(dest)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return dest


@pytest.fixture
def folder(prepared: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "wh"
    shutil.copytree(prepared, copy)
    return copy


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    """alice (ed25519) and bob (rsa 3072) are allowed; carol is not; dave has a passphrase."""
    folder = tmp_path_factory.mktemp("keys")
    made = {}
    for name, kind, passphrase in (("alice", ["-t", "ed25519"], ""),
                                   ("bob", ["-t", "rsa", "-b", "3072"], ""),
                                   ("carol", ["-t", "ed25519"], ""),
                                   ("dave", ["-t", "ed25519"], "secret words")):
        path = folder / name
        subprocess.run(["ssh-keygen", "-q", *kind, "-N", passphrase, "-C", name, "-f",
                        str(path)], check=True, capture_output=True, timeout=60)
        made[name] = path
    return made


def public(key: Path) -> str:
    """`KEYTYPE BASE64KEY` of a key pair."""
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def fingerprint(key: Path) -> str:
    listed = subprocess.run(["ssh-keygen", "-l", "-f", str(key.with_suffix(".pub"))],
                            check=True, capture_output=True, text=True)
    return listed.stdout.split()[1]


@pytest.fixture
def allowed_file(keys: dict[str, Path], tmp_path: Path) -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text(f"# reviewers\n{ALICE} {public(keys['alice'])}\n\n"
                    f"{BOB} {public(keys['bob'])}\n")
    return path


@pytest.fixture
def allowed(allowed_file: Path) -> list[AllowedSigner]:
    signers, warnings = load_allowed_signers(allowed_file)
    assert warnings == []
    return signers


def keygen_sign(key: Path, data: bytes, namespace: str = "wheelhouse") -> bytes:
    done = subprocess.run(["ssh-keygen", "-Y", "sign", "-n", namespace, "-f", str(key)],
                          input=data, capture_output=True, timeout=30,
                          env=dict(os.environ, SSH_ASKPASS_REQUIRE="never"))
    assert done.returncode == 0, done.stderr
    return done.stdout


def keygen_verify(allowed_file: Path, principal: str, block: bytes, data: bytes,
                  tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    signature = tmp_path / f"block-{hashlib.sha256(block).hexdigest()[:8]}.sig"
    signature.write_bytes(block)
    return subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed_file), "-I",
                           principal, "-n", "wheelhouse", "-s", str(signature)],
                          input=data, capture_output=True, timeout=30)


def manifest(folder: Path) -> bytes:
    return (folder / "wheelhouse.json").read_bytes()


def signatures(folder: Path) -> bytes:
    return (folder / signing.SIGNATURES).read_bytes()


def listing(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one(checks: list[signing.SignatureCheck]) -> signing.SignatureCheck:
    assert len(checks) == 1, checks
    return checks[0]


# -- interoperability with ssh-keygen ------------------------------------------------------


@pytest.mark.parametrize("name, principal, key_type",
                         [("alice", ALICE, "ssh-ed25519"), ("bob", BOB, "ssh-rsa")])
def test_a_block_ssh_keygen_made_is_valid(folder, keys, allowed, name, principal, key_type):
    data = manifest(folder)
    check = one(check_signatures(data, keygen_sign(keys[name], data), allowed, NOW))
    assert check.valid, check.reason
    assert check.reason is None
    assert (check.number, check.key, check.key_type) == (1, fingerprint(keys[name]), key_type)
    assert check.principals == (principal,)


def test_blocks_wheelhouse_appends_verify_with_ssh_keygen(folder, keys, allowed_file, tmp_path):
    """alice (ed25519) signs first, bob (rsa) second: ssh-keygen accepts each block, the
    second one included, and refuses each for the other's principal."""
    first = sign_manifest(folder, keys["alice"])
    second = sign_manifest(folder, keys["bob"])
    assert (first.appended, first.signatures, first.key_type) == (True, 1, "ssh-ed25519")
    assert (second.appended, second.signatures, second.key_type) == (True, 2, "ssh-rsa")
    assert second.key == fingerprint(keys["bob"])
    data = manifest(folder)
    assert second.manifest_sha256 == hashlib.sha256(data).hexdigest()
    blocks = read_blocks(signatures(folder))
    assert len(blocks) == 2 and all(isinstance(b, bytes) for b in blocks)
    for block, principal in zip(blocks, (ALICE, BOB)):
        assert isinstance(block, bytes)
        good = keygen_verify(allowed_file, principal, block, data, tmp_path)
        assert good.returncode == 0, good.stderr
        assert b"Good" in good.stdout
    wrong = keygen_verify(allowed_file, BOB, blocks[0], data, tmp_path)
    assert wrong.returncode != 0
    changed = keygen_verify(allowed_file, ALICE, blocks[0], data + b" ", tmp_path)
    assert changed.returncode != 0


def test_two_signers_append_and_the_same_key_appends_nothing(folder, keys, allowed):
    sign_manifest(folder, keys["alice"])
    sign_manifest(folder, keys["bob"])
    before = signatures(folder)
    checks = check_signatures(manifest(folder), before, allowed, NOW)
    assert [(c.number, c.valid, c.principals) for c in checks] == [
        (1, True, (ALICE,)), (2, True, (BOB,))]
    again = sign_manifest(folder, keys["alice"])
    assert (again.appended, again.signatures) == (False, 2)
    assert again.key == fingerprint(keys["alice"])
    assert signatures(folder) == before


def test_a_signature_of_an_older_manifest_does_not_stop_a_new_one(folder, keys, allowed):
    """alice's block over the manifest before it changed is no reason to skip signing."""
    path = folder / "wheelhouse.json"
    (folder / signing.SIGNATURES).write_bytes(keygen_sign(keys["alice"], path.read_bytes()))
    path.write_bytes(path.read_bytes() + b"\n")
    signed = sign_manifest(folder, keys["alice"])
    assert (signed.appended, signed.signatures) == (True, 2)
    checks = check_signatures(path.read_bytes(), signatures(folder), allowed, NOW)
    assert [c.valid for c in checks] == [False, True]


def test_a_public_key_whose_private_half_is_in_ssh_agent(folder, keys, allowed, tmp_path,
                                                          monkeypatch):
    """--key KEY.pub with no private key beside it: ssh-keygen signs through the agent."""
    only_public = tmp_path / "agent" / "alice.pub"
    only_public.parent.mkdir()
    shutil.copy(keys["alice"].with_suffix(".pub"), only_public)
    socket = tmp_path / "agent" / "sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if socket.exists():
                break
            subprocess.run(["sleep", "0.05"])
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket))
        subprocess.run(["ssh-add", str(keys["alice"])], check=True, capture_output=True,
                       timeout=30)
        signed = sign_manifest(folder, only_public)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=10)
    assert signed.appended and signed.key == fingerprint(keys["alice"])
    assert one(check_signatures(manifest(folder), signatures(folder), allowed, NOW)).valid


# -- blocks that are not valid -------------------------------------------------------------


def test_a_signature_over_another_file(folder, keys, allowed):
    data = manifest(folder)
    check = one(check_signatures(data, keygen_sign(keys["alice"], b"another file"), allowed, NOW))
    assert not check.valid
    assert "not made over these manifest bytes" in (check.reason or "")
    assert (check.key, check.principals) == (fingerprint(keys["alice"]), (ALICE,))


def test_a_manifest_changed_after_signing(folder, keys, allowed):
    data = manifest(folder)
    block = keygen_sign(keys["bob"], data)
    check = one(check_signatures(data.replace(b"1.0", b"1.1", 1), block, allowed, NOW))
    assert not check.valid and "changed after it was signed" in (check.reason or "")


def test_a_wrong_namespace(folder, keys, allowed):
    data = manifest(folder)
    check = one(check_signatures(data, keygen_sign(keys["alice"], data, "git"), allowed, NOW))
    assert not check.valid
    assert "namespace 'git'" in (check.reason or "")


def test_a_key_not_in_allowed_signers(folder, keys, allowed):
    data = manifest(folder)
    check = one(check_signatures(data, keygen_sign(keys["carol"], data), allowed, NOW))
    assert not check.valid
    assert check.principals == ()
    assert check.key == fingerprint(keys["carol"])
    assert "not in the allowed signers" in (check.reason or "")


def flip(block: bytes) -> bytes:
    """One base64 character of the signature bytes (the block's last line) changed."""
    lines = block.split(b"\n")
    last = bytearray(lines[-3])
    middle = len(last.rstrip(b"=")) // 2
    last[middle] = ord("A") if last[middle] != ord("A") else ord("B")
    lines[-3] = bytes(last)
    return b"\n".join(lines)


def rearmored(block: bytes, change) -> bytes:
    """The block's SSHSIG fields changed by `change(fields)` and armored again."""
    from sshsig.sshsig import SshsigSignature

    outer = SshsigSignature.from_armored(block)
    change(outer)
    return outer.to_armored().encode()


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_a_corrupt_block(folder, keys, allowed, name):
    data = manifest(folder)
    block = keygen_sign(keys[name], data)
    assert one(check_signatures(data, block, allowed, NOW)).valid
    check = one(check_signatures(data, flip(block), allowed, NOW))
    assert not check.valid and "not made over these manifest bytes" in (check.reason or "")
    assert check.key == fingerprint(keys[name])


def lengthen(outer) -> None:
    """The signature's length field says 16 bytes more than there are: sshsig reads what is
    there and accepts it; ssh-keygen refuses it."""
    algorithm_length = int.from_bytes(outer.signature[:4], "big")
    at = 4 + algorithm_length
    length = int.from_bytes(outer.signature[at:at + 4], "big")
    outer.signature = (outer.signature[:at] + (length + 16).to_bytes(4, "big")
                       + outer.signature[at + 4:])


def trail(outer) -> None:
    outer.signature += b"\0\0\0\0"


@pytest.mark.parametrize("change, words", [
    (lengthen, "a length inside it does not match"),
    (trail, "a length inside it does not match"),
    (lambda outer: setattr(outer, "hash_algo", b"md5"), "hash 'md5'"),
])
def test_a_block_ssh_keygen_would_refuse_is_not_valid(folder, keys, allowed, tmp_path, change,
                                                      words):
    data = manifest(folder)
    block = rearmored(keygen_sign(keys["alice"], data), change)
    check = one(check_signatures(data, block, allowed, NOW))
    assert not check.valid and words in (check.reason or "")
    allowed_file = tmp_path / "allowed"
    allowed_file.write_text(f"{ALICE} {public(keys['alice'])}\n")
    assert keygen_verify(allowed_file, ALICE, block, data, tmp_path).returncode != 0


def test_blocks_that_cannot_be_read_are_results_with_reasons(folder, keys, allowed):
    data = manifest(folder)
    good = keygen_sign(keys["alice"], data)
    not_base64 = good.replace(good.split(b"\n")[2], b"!!not base64!!")
    truncated = good[: len(good) // 2]
    content = good + b"\xff\xfe junk \x00\n" + not_base64 + truncated
    checks = check_signatures(data, content, allowed, NOW)
    assert [c.valid for c in checks] == [True, False, False, False]
    assert [c.number for c in checks] == [1, 2, 3, 4]
    reasons = [c.reason or "" for c in checks[1:]]
    assert "outside any BEGIN/END" in reasons[0]
    assert "not valid base64" in reasons[1]
    assert "no END line" in reasons[2]
    assert all(c.key is None and c.principals == () for c in checks[1:])


@pytest.mark.parametrize("content, words", [
    (b"", "no SSH signature block"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "outside any BEGIN/END"),
    ("caf\u00e9 \u2603\n".encode(), "outside any BEGIN/END"),
    (b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n", "no END line"),
    (b"-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
     "not an SSH signature"),
    (b"-----BEGIN SSH SIGNATURE-----\n\xc3\xa9\xff\n-----END SSH SIGNATURE-----\n",
     "not valid base64"),
    (b"x" * (signing.MAX_FILE + 1), "over 1 MiB"),
])
def test_garbage_is_a_reason_never_a_traceback(allowed, content, words):
    check = one(check_signatures(b"{}", content, allowed, NOW))
    assert not check.valid and words in (check.reason or "")


def test_a_hostile_block_that_trips_the_library(folder, keys, allowed):
    """alice's ed25519 key around bob's RSA signature: sshsig asserts on the algorithm name;
    that is a reason here, not an AssertionError."""
    data = manifest(folder)
    alice = rearmored(keygen_sign(keys["alice"], data), lambda outer: None)
    from sshsig.sshsig import SshsigSignature

    key = SshsigSignature.from_armored(alice).public_key
    chimera = rearmored(keygen_sign(keys["bob"], data),
                        lambda outer: setattr(outer, "public_key", key))
    check = one(check_signatures(data, chimera, allowed, NOW))
    assert not check.valid
    assert "does not fit its ssh-ed25519 key" in (check.reason or "")
    assert check.principals == (ALICE,)


@pytest.mark.parametrize("option, valid", [
    (f'valid-before="{(NOW - timedelta(days=1)):%Y%m%d}Z"', False),
    (f'valid-after="{(NOW + timedelta(days=2)):%Y%m%d%H%M}Z"', False),
    (f'valid-after="{(NOW - timedelta(days=2)):%Y%m%d}",valid-before="'
     f'{(NOW + timedelta(days=2)):%Y%m%d%H%M%S}"', True),
])
def test_the_validity_window(folder, keys, tmp_path, option, valid):
    path = tmp_path / "allowed_signers"
    path.write_text(f"{ALICE} {option} {public(keys['alice'])}\n")
    signers, _ = load_allowed_signers(path)
    data = manifest(folder)
    check = one(check_signatures(data, keygen_sign(keys["alice"], data), signers, NOW))
    assert check.valid is valid
    assert check.principals == (ALICE,)
    if not valid:
        assert "is not valid now" in (check.reason or "")


# -- allowed_signers files -----------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text(text)
    return path


def test_allowed_signers_are_read_with_their_lines(allowed_file, keys):
    signers, warnings = load_allowed_signers(allowed_file)
    assert [(s.principals, s.line, s.key_type, s.key) for s in signers] == [
        ((ALICE,), 2, "ssh-ed25519", fingerprint(keys["alice"])),
        ((BOB,), 4, "ssh-rsa", fingerprint(keys["bob"]))]
    assert warnings == []


def test_a_bad_line_names_its_number(tmp_path, keys):
    path = write(tmp_path, f"{ALICE} {public(keys['alice'])}\n{BOB}\n")
    with pytest.raises(InputError, match=r"allowed_signers, line 2 is not"):
        load_allowed_signers(path)


@pytest.mark.parametrize("line, words", [
    ("alice ssh-foo AAAAC3NzaC1lZDI1NTE5", "line 1: unknown key type 'ssh-foo'"),
    ("alice ssh-ed25519 not-base64!", "line 1: the ssh-ed25519 key is not valid key data"),
    ('alice valid-after="2024" {key}', 'line 1: valid-after="2024" is not a date'),
    ('alice valid-before="20241301" {key}', 'line 1: valid-before="20241301" is not a date'),
    ('alice bogus="x" {key}', "line 1 is not"),
    ('"" {key}', "line 1 names no principal"),
    ('"alice ', "line 1 is not"),
    ('"alice" ', "line 1 is not"),
])
def test_bad_lines_are_input_errors(tmp_path, keys, line, words):
    with pytest.raises(InputError) as raised:
        load_allowed_signers(write(tmp_path, line.format(key=public(keys["alice"])) + "\n"))
    assert words in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_allowed_signers(tmp_path / "nowhere")


def test_an_oversized_file(tmp_path):
    with pytest.raises(InputError, match="over 1 MiB"):
        load_allowed_signers(write(tmp_path, "#" * (signing.MAX_FILE + 1)))


def test_a_file_with_no_signer(tmp_path):
    with pytest.raises(InputError, match="no signer for namespace wheelhouse"):
        load_allowed_signers(write(tmp_path, "# nobody yet\n\n"))


def test_cert_authority_and_unchecked_key_types_are_skipped_with_a_warning(tmp_path, keys):
    path = write(tmp_path, f"*@example.com cert-authority {public(keys['carol'])}\n"
                           "dan ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=\n"
                           f"{ALICE} {public(keys['alice'])}\n")
    signers, warnings = load_allowed_signers(path)
    assert [s.principals for s in signers] == [(ALICE,)]
    assert len(warnings) == 2
    assert "line 1: cert-authority" in warnings[0]
    assert "line 2: ecdsa-sha2-nistp256 keys cannot be checked" in warnings[1]


def test_namespaces_decide_which_lines_apply(tmp_path, keys, folder):
    path = write(tmp_path, f'{ALICE} namespaces="git" {public(keys["alice"])}\n'
                           f'"{BOB},bob2" namespaces="file,wheel*" {public(keys["bob"])}\n'
                           f'{CAROL} namespaces="*,!wheelhouse" {public(keys["carol"])}\n')
    signers, _ = load_allowed_signers(path)
    assert [s.principals for s in signers] == [(BOB, "bob2")]
    data = manifest(folder)
    check = one(check_signatures(data, keygen_sign(keys["alice"], data), signers, NOW))
    assert not check.valid and check.principals == ()
    assert one(check_signatures(data, keygen_sign(keys["bob"], data), signers, NOW)).valid


# -- signing: what is refused --------------------------------------------------------------


def test_a_block_that_does_not_verify_is_never_appended(folder, keys, monkeypatch):
    monkeypatch.setattr(signing, "run_ssh_keygen",
                        lambda message, key: keygen_sign(keys["alice"], message + b"x"))
    with pytest.raises(InputError, match="does not check against wheelhouse.json"):
        sign_manifest(folder, keys["alice"])
    assert not (folder / signing.SIGNATURES).exists()


def test_no_ssh_keygen_on_path(folder, keys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(InputError, match="openssh-client"):
        sign_manifest(folder, keys["alice"])


def test_a_folder_without_a_manifest(tmp_path, keys):
    with pytest.raises(InputError, match="has no wheelhouse.json"):
        sign_manifest(tmp_path, keys["alice"])


# -- the command ---------------------------------------------------------------------------


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    return subprocess.run([sys.executable, "-m", "wheelhouse", *args], capture_output=True,
                          text=True, env=env, stdin=subprocess.DEVNULL,
                          start_new_session=True, timeout=30, **kwargs)


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0]


def test_the_command_signs_twice_and_reports(folder, keys, allowed):
    first = cli("sign", str(folder), "--key", str(keys["alice"]))
    assert first.returncode == 0, first.stderr
    assert hashlib.sha256(manifest(folder)).hexdigest() in first.stdout
    assert fingerprint(keys["alice"]) in first.stdout
    assert "1 in" in first.stdout
    second = cli("sign", str(folder), "--key", str(keys["bob"]), "--json")
    assert second.returncode == 0, second.stderr
    document = json.loads(second.stdout)
    assert document == {
        "ok": True, "manifest_sha256": hashlib.sha256(manifest(folder)).hexdigest(),
        "key": fingerprint(keys["bob"]), "key_type": "ssh-rsa", "appended": True,
        "signatures": 2, "signature_file": str(folder / signing.SIGNATURES)}
    again = cli("sign", str(folder), "--key", str(keys["bob"]), "--json")
    assert json.loads(again.stdout)["appended"] is False
    assert [c.valid for c in check_signatures(manifest(folder), signatures(folder), allowed,
                                              NOW)] == [True, True]


def test_the_command_refuses_a_folder_that_does_not_verify(folder, keys):
    (folder / "stray.txt").write_text("not in the manifest\n")
    before = listing(folder)
    result = cli("sign", str(folder), "--key", str(keys["alice"]))
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert "1 findings" in result.stdout and "stray.txt" in result.stdout
    assert f"wheelhouse verify {folder}" in result.stdout
    assert listing(folder) == before


def refused_keys(tmp_path: Path, keys: dict[str, Path]) -> list[tuple[Path, str]]:
    cases = [(tmp_path / "no-such-key", "does not exist"),
             (tmp_path, "is not a file"),
             (keys["dave"], "protected by a passphrase")]
    if os.geteuid() != 0:  # root reads a mode-000 file all the same
        locked = tmp_path / "locked"
        shutil.copy(keys["alice"], locked)
        locked.chmod(0)
        cases.append((locked, "cannot read key"))
    return cases


def test_the_command_refuses_keys_it_cannot_use(folder, keys, tmp_path):
    before = listing(folder)
    for key, words in refused_keys(tmp_path, keys):
        result = cli("sign", str(folder), "--key", str(key))
        assert_refused(result, str(key), words)
        assert listing(folder) == before
    assert not (folder / signing.SIGNATURES).exists()


def test_the_command_refuses_a_folder_with_no_manifest(tmp_path, keys):
    (tmp_path / "empty").mkdir()
    assert_refused(cli("sign", str(tmp_path / "empty"), "--key", str(keys["alice"])),
                   "no wheelhouse.json")


def test_a_key_type_wheelhouse_cannot_check_is_refused(folder, tmp_path):
    """An ECDSA key signs, but sshsig cannot check it: nothing unchecked is appended."""
    key = tmp_path / "ecdsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", str(key)], check=True,
                   capture_output=True, timeout=30)
    with pytest.raises(InputError, match="ecdsa-sha2-nistp256 key, which wheelhouse cannot"):
        sign_manifest(folder, key)
    assert not (folder / signing.SIGNATURES).exists()

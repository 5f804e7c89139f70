"""SSH signatures of the manifest: `ssh-keygen -Y sign -n wheelhouse`, checked offline.

The manifest names every file with its sha256, so a signature of its bytes signs the folder.
Signatures are SSHSIG armored blocks (the format git uses for SSH commit signing), appended
one after another to `wheelhouse.json.sig`: each reviewer signs in turn. Signing runs the
system's ssh-keygen (private key files, ssh-agent, passphrase prompts are all its own);
checking is in-process with the `sshsig` library, against an OpenSSH allowed_signers file.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sshsig
from sshsig.allowed_signers import AllowedSigner as ParsedLine
from sshsig.sshsig import SshsigSignature

from wheelhouse.errors import InputError
from wheelhouse.files import write_atomic
from wheelhouse.layout import MANIFEST, SIGNATURES

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: signers are not serialized there
    fcntl = None  # type: ignore[assignment]

NAMESPACE = "wheelhouse"
MAX_FILE = 1 << 20  # a signature file or an allowed_signers file: far more than any needs

BEGIN = b"-----BEGIN SSH SIGNATURE-----"
END = b"-----END SSH SIGNATURE-----"
HASHES = (b"sha256", b"sha512")  # the two OpenSSH signs and accepts
CHECKED_TYPES = ("ssh-ed25519", "ssh-rsa")  # the key types sshsig can check
SIGNATURE_ALGORITHMS = {"ssh-ed25519": (b"ssh-ed25519",),
                        "ssh-rsa": (b"rsa-sha2-256", b"rsa-sha2-512")}  # as OpenSSH allows
# Key types OpenSSH knows but sshsig cannot check: a line holding one is skipped (warning).
OTHER_TYPES = (
    "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com",
)
MIN_RSA_BITS = 1024  # OpenSSH refuses smaller RSA keys outright
SIGN_TIMEOUT = 120  # seconds ssh-keygen may take when nobody can type at it
_DATE = re.compile(r"([0-9]{8}|[0-9]{12}|[0-9]{14})([zZ]?)")
_PROMPT = re.compile(r"^(Enter passphrase[^:]*:\s*)+")


@dataclass(frozen=True)
class AllowedSigner:
    """One usable line of an allowed_signers file."""

    principals: tuple[str, ...]
    key: str  # "SHA256:...", as ssh-keygen -l prints it
    key_type: str
    line: int
    public_key: sshsig.PublicKey = field(repr=False, compare=False)
    namespaces: str | None = None  # the line's namespaces="..." patterns, if any
    valid_after: datetime | None = None
    valid_before: datetime | None = None

    def applies_to(self, namespace: str) -> bool:
        return self.namespaces is None or match_patterns(namespace, self.namespaces)

    def valid_at(self, now: datetime) -> bool:
        """Inclusive at both ends, as ssh-keygen -Y verify counts them."""
        now = now.astimezone()
        return not ((self.valid_after is not None and now < self.valid_after)
                    or (self.valid_before is not None and now > self.valid_before))


@dataclass(frozen=True)
class SignatureCheck:
    """One block of wheelhouse.json.sig, checked."""

    number: int  # 1-based position in the file
    key: str | None  # "SHA256:..." of the key that made it (None if unreadable)
    key_type: str | None
    principals: tuple[str, ...]  # of the allowed signers holding that key (empty: none)
    valid: bool  # over exactly these manifest bytes, namespace wheelhouse, allowed key, now
    reason: str | None  # one sentence when not valid


@dataclass(frozen=True)
class Signed:
    key: str
    key_type: str
    appended: bool  # False: the file already held a valid signature by this key
    signatures: int  # blocks in the file after
    manifest_sha256: str


# -- allowed signers ----------------------------------------------------------------------


def load_allowed_signers(path: Path) -> tuple[list[AllowedSigner], list[str]]:
    """(signers, warnings): the lines that apply to namespace wheelhouse. A bad line is an
    InputError naming it, since a trust list read partly is a trust list misread."""
    lines = _read_bounded(path, "allowed signers file").split(b"\n")
    signers, warnings = [], []
    for number, raw in enumerate(lines, start=1):
        where = f"{path}, line {number}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{where} is not UTF-8 text.") from None
        text = text.rstrip("\r").lstrip(" \t")
        if not text or text.startswith("#"):
            continue
        signer, warning = parse_allowed_signer(text, where, number)
        if warning:
            warnings.append(warning)
        if signer is not None and signer.applies_to(NAMESPACE):
            signers.append(signer)
    if not signers:
        raise InputError(f"{path} lists no signer for namespace {NAMESPACE} (a line is "
                         f"'PRINCIPALS [OPTIONS] KEYTYPE BASE64KEY', as ssh-keygen reads it).")
    return signers, warnings


def parse_allowed_signer(text: str, where: str, number: int
                         ) -> tuple[AllowedSigner | None, str | None]:
    """One non-comment line: a signer, or None and why it is skipped."""
    try:
        parsed = ParsedLine.parse(text)
    except Exception as exc:  # the parser can raise more than ValueError on odd lines
        raise InputError(f"{where} is not 'PRINCIPALS [OPTIONS] KEYTYPE BASE64KEY' "
                         f"({_sentence(exc)}).") from None
    options = parsed.options or {}
    if "cert-authority" in options:
        return None, (f"{where}: cert-authority (certificate) lines are not supported; "
                      "the line is skipped.")
    key_type = parsed.key_type
    if key_type in OTHER_TYPES or key_type.endswith("-cert-v01@openssh.com"):
        return None, (f"{where}: {key_type} keys cannot be checked (wheelhouse checks "
                      f"{' and '.join(CHECKED_TYPES)}); the line is skipped.")
    if key_type not in CHECKED_TYPES:
        raise InputError(f"{where}: unknown key type {key_type!r}.")
    try:
        key = sshsig.PublicKey.from_openssh_str(f"{key_type} {parsed.base64_key}")
    except Exception:
        raise InputError(f"{where}: the {key_type} key is not valid key data.") from None
    bits = _rsa_bits(key)
    if bits is not None and bits < MIN_RSA_BITS:
        raise InputError(f"{where}: the ssh-rsa key has {bits} bits; OpenSSH refuses RSA "
                         f"keys under {MIN_RSA_BITS}.")
    principals = tuple(p for p in parsed.principals.split(",") if p)
    if not principals:
        raise InputError(f"{where} names no principal.")
    return AllowedSigner(
        principals, key.sha256_str(), key_type, number, key,
        namespaces=options.get("namespaces"),
        valid_after=_option_date(options, "valid-after", where),
        valid_before=_option_date(options, "valid-before", where),
    ), None


def match_patterns(name: str, patterns: str) -> bool:
    """OpenSSH's match_pattern_list: comma-separated `*`/`?` patterns, `!` negates (and a
    negated match wins)."""
    matched = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        glob = pattern[1:] if negated else pattern
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
        if re.fullmatch(regex, name, flags=re.DOTALL):
            if negated:
                return False
            matched = True
    return matched


def parse_time(text: str) -> datetime:
    """YYYYMMDD[HHMM[SS]][Z], as OpenSSH reads valid-after and valid-before: UTC with Z,
    else local time."""
    match = _DATE.fullmatch(text)
    if not match:
        raise ValueError(text)
    digits, utc = match.groups()
    formats = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
    moment = datetime.strptime(digits, formats[len(digits)])
    return moment.replace(tzinfo=timezone.utc) if utc else moment.astimezone()


def _option_date(options: dict[str, str], name: str, where: str) -> datetime | None:
    if name not in options:
        return None
    try:
        return parse_time(options[name])
    except ValueError:
        raise InputError(f'{where}: {name}="{options[name]}" is not a date '
                         "(YYYYMMDD[HHMM[SS]][Z]).") from None


def _rsa_bits(key: sshsig.PublicKey) -> int | None:
    if key.algo_name != "ssh-rsa":
        return None
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    loaded = load_ssh_public_key(key.openssh_str().encode())
    return loaded.key_size if isinstance(loaded, rsa.RSAPublicKey) else None


# -- reading and checking signatures ------------------------------------------------------


def read_blocks(data: bytes) -> list[bytes | str]:
    """Armored blocks in order; a str is why a block (or the file) cannot be read. Text
    outside the blocks is reported too: nothing in a signature file goes unseen."""
    if len(data) > MAX_FILE:
        return [f"the signature file is over {MAX_FILE >> 20} MiB; it is not read."]
    found: list[bytes | str] = []
    start: int | None = None  # the line of the open block's BEGIN
    body: list[bytes] = []
    stray: list[int] = []  # lines outside any block
    for number, raw in enumerate(data.split(b"\n"), start=1):
        line = raw.strip()
        if start is None:
            if line == BEGIN:
                _flush_stray(found, stray)
                start, body = number, []
            elif line:
                stray.append(number)
        elif line == BEGIN:
            found.append(f"the block at line {start} has no END line.")
            start, body = number, []
        elif line == END:
            found.append(_block(start, body))
            start = None
        elif line:
            body.append(line)
    _flush_stray(found, stray)
    if start is not None:
        found.append(f"the block at line {start} has no END line (the file is cut short).")
    if not found:
        found.append("the signature file holds no SSH signature block.")
    return found


def _flush_stray(found: list[bytes | str], stray: list[int]) -> None:
    if stray:
        lines = f"line {stray[0]}" if len(stray) == 1 else f"lines {stray[0]}-{stray[-1]}"
        found.append(f"{lines}: text outside any BEGIN/END SSH SIGNATURE block.")
        stray.clear()


def _block(start: int, body: list[bytes]) -> bytes | str:
    try:
        base64.b64decode(b"".join(body), validate=True)
    except (binascii.Error, ValueError):
        return f"the block at line {start} is not valid base64."
    return b"\n".join([BEGIN, *body, END]) + b"\n"


def check_signatures(manifest: bytes, signatures: bytes, allowed: list[AllowedSigner],
                     now: datetime) -> list[SignatureCheck]:
    """Each block of the signature file against these exact manifest bytes and the allowed
    signers at `now`; a block that cannot be read is a result with its reason."""
    return [check_block(number, block, manifest, allowed, now)
            for number, block in enumerate(read_blocks(signatures), start=1)]


def check_block(number: int, block: bytes | str, manifest: bytes,
                allowed: list[AllowedSigner], now: datetime) -> SignatureCheck:
    if isinstance(block, str):
        return SignatureCheck(number, None, None, (), False, _capital(block))
    outer = _outer(block)
    if isinstance(outer, str):
        return SignatureCheck(number, None, None, (), False, outer)
    key = _embedded_key(outer)
    if isinstance(key, str):
        return SignatureCheck(number, _fingerprint(outer.public_key),
                              _key_type(outer.public_key), (), False, key)
    holders = [s for s in allowed if s.public_key == key and s.applies_to(NAMESPACE)]
    principals = tuple(dict.fromkeys(p for s in holders for p in s.principals))
    fingerprint = key.sha256_str()

    def result(reason: str | None) -> SignatureCheck:
        return SignatureCheck(number, fingerprint, key.algo_name, principals, reason is None,
                              reason)

    why = _why_not(manifest, block, outer, key)
    if why is not None:
        return result(why)
    if not holders:
        return result(f"Key {fingerprint} is not in the allowed signers.")
    if not any(s.valid_at(now) for s in holders):
        windows = "; ".join(_window(s) for s in holders)
        return result(f"Key {fingerprint} ({', '.join(principals)}) is not valid now: "
                      f"{windows}.")
    return result(None)


def verified_key(manifest: bytes, block: bytes) -> sshsig.PublicKey | str:
    """The key that made `block` over exactly `manifest` in namespace wheelhouse, or why not.

    The block's structure, key and algorithms are checked here as strictly as ssh-keygen
    checks them; sshsig does the cryptography but tolerates short or trailing fields."""
    outer = _outer(block)
    if isinstance(outer, str):
        return outer
    key = _embedded_key(outer)
    if isinstance(key, str):
        return key
    why = _why_not(manifest, block, outer, key)
    return key if why is None else why


def _why_not(manifest: bytes, block: bytes, outer: SshsigSignature,
             key: sshsig.PublicKey) -> str | None:
    """Why a parsed block is not `key`'s signature of `manifest` in namespace wheelhouse."""
    signature = _ssh_strings(outer.signature, 2)
    algorithm = signature[0] if signature else b""
    if algorithm not in SIGNATURE_ALGORITHMS[key.algo_name]:
        return (f"Its signature algorithm {algorithm.decode('ascii', 'replace')!r} does not "
                f"fit its {key.algo_name} key.")
    if outer.namespace != NAMESPACE.encode():
        namespace = outer.namespace.decode("ascii", "replace")
        return (f"It was made for namespace {namespace!r}, not {NAMESPACE!r} "
                f"(ssh-keygen -Y sign -n {NAMESPACE}).")
    if outer.hash_algo not in HASHES:
        return (f"It uses hash {outer.hash_algo.decode('ascii', 'replace')!r}; OpenSSH signs "
                "and accepts only sha256 and sha512.")
    try:
        found = sshsig.check_signature(manifest, block, namespace=NAMESPACE)
    except sshsig.InvalidSignature:
        return ("It was not made over these manifest bytes: it signs another file, or "
                "wheelhouse.json changed after it was signed.")
    except Exception as exc:  # hostile input trips asserts and ValueErrors in the library
        return f"It cannot be checked ({_sentence(exc)})."
    return None if found == key else "Its key could not be read the same way twice."


def _outer(block: bytes) -> SshsigSignature | str:
    """The SSHSIG structure, every length exact and nothing trailing."""
    lines = block.strip().split(b"\n")
    try:
        raw = base64.b64decode(b"".join(line.strip() for line in lines[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        return "It is not valid base64."
    if raw[:6] != b"SSHSIG" or len(raw) < 10:
        return "It is not an SSH signature (no SSHSIG structure inside)."
    try:
        outer = SshsigSignature(raw)
    except NotImplementedError as exc:
        return f"It is of an SSHSIG version wheelhouse cannot read ({_sentence(exc)})."
    except Exception:
        return "It is not an SSH signature (its SSHSIG structure is cut short)."
    if _ssh_strings(raw[10:], 5) is None or _ssh_strings(outer.signature, 2) is None:
        return "It is malformed: a length inside it does not match its bytes."
    return outer


def _embedded_key(outer: SshsigSignature) -> sshsig.PublicKey | str:
    """The signer's public key, as OpenSSH encodes it."""
    key_type = _key_type(outer.public_key)
    try:
        key = sshsig.PublicKey.from_ssh_encoding(outer.public_key)
    except NotImplementedError:
        return (f"It was made with an {key_type or 'unnamed'} key, which wheelhouse cannot "
                f"check (it checks {' and '.join(CHECKED_TYPES)}).")
    except Exception:
        return f"Its {key_type or 'unnamed'} public key is malformed."
    if base64.b64decode(key.openssh_str().split()[1]) != outer.public_key:
        return f"Its {key.algo_name} public key is not in OpenSSH's encoding."
    return key


def _ssh_strings(data: bytes, count: int) -> list[bytes] | None:
    """`count` SSH strings (uint32 length, bytes) filling `data` exactly, or None."""
    found, at = [], 0
    for _ in range(count):
        if at + 4 > len(data):
            return None
        length = int.from_bytes(data[at:at + 4], "big")
        at += 4
        if at + length > len(data):
            return None
        found.append(data[at:at + length])
        at += length
    return found if at == len(data) else None


def _key_type(blob: bytes) -> str | None:
    if len(blob) < 4:
        return None
    length = int.from_bytes(blob[:4], "big")
    name = blob[4:4 + length].decode("ascii", "replace")
    return name if len(name) == length and name.isascii() and name.isprintable() else None


def _fingerprint(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _window(signer: AllowedSigner) -> str:
    parts = []
    if signer.valid_after is not None:
        parts.append(f"valid after {signer.valid_after.isoformat()}")
    if signer.valid_before is not None:
        parts.append(f"valid before {signer.valid_before.isoformat()}")
    return f"line {signer.line} is " + " and ".join(parts)


# -- signing ------------------------------------------------------------------------------


def sign_manifest(folder: Path, key: Path, verified: bytes | None = None) -> Signed:
    """Sign DIR/wheelhouse.json with ssh-keygen and append the block to the signature file,
    once it checks against those very bytes (never a block that does not verify).
    `verified`: the manifest bytes a check of the folder read; others are not signed."""
    manifest_path = folder / MANIFEST
    if manifest_path.is_symlink() or not manifest_path.is_file():
        raise InputError(f"{folder} has no {MANIFEST} to sign; prepare the folder first "
                         "(wheelhouse prepare).")
    try:
        manifest = manifest_path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {manifest_path}: {exc.strerror}.") from None
    if verified is not None and manifest != verified:
        raise InputError(f"{manifest_path} changed after the folder was verified; nothing "
                         "was signed: sign again.")
    _check_key_file(key)
    produced = read_blocks(run_ssh_keygen(manifest, key))
    block = produced[0]
    if len(produced) != 1 or not isinstance(block, bytes):
        raise InputError(f"ssh-keygen's output with {key} is not one SSH signature block.")
    signer = verified_key(manifest, block)
    if isinstance(signer, str):
        raise InputError(f"ssh-keygen's signature with {key} does not check against "
                         f"{MANIFEST}: {_lower(signer)}")
    digest = hashlib.sha256(manifest).hexdigest()
    sig_path = folder / SIGNATURES
    with _serialized(manifest_path):
        if manifest_path.read_bytes() != manifest:
            raise InputError(f"{manifest_path} changed while it was signed; nothing was "
                             "appended: sign again.")
        existing = _existing_signatures(sig_path)
        blocks = [b for b in read_blocks(existing) if isinstance(b, bytes)] if existing else []
        if any(verified_key(manifest, b) == signer for b in blocks):
            return Signed(signer.sha256_str(), signer.algo_name, False, len(blocks), digest)
        if existing and not existing.endswith(b"\n"):
            existing += b"\n"
        write_atomic(sig_path, existing + block)
    return Signed(signer.sha256_str(), signer.algo_name, True, len(blocks) + 1, digest)


def run_ssh_keygen(message: bytes, key: Path) -> bytes:
    """`ssh-keygen -Y sign -n wheelhouse -f KEY` over `message`: the armored block.

    The message goes in a file of a private temporary folder, not on stdin: with no
    terminal, ssh-keygen reads a passphrase from stdin, and would take the manifest's first
    line for one. stdin is empty instead, so a passphrase it cannot ask for fails at once.
    """
    program = shutil.which("ssh-keygen")
    if program is None:
        raise InputError("ssh-keygen is not on PATH: install OpenSSH's client (the "
                         "openssh-client package) to sign.")
    terminal = _has_terminal()
    env = dict(os.environ, SSH_ASKPASS_REQUIRE="never")
    with tempfile.TemporaryDirectory(prefix="wheelhouse-sign-") as scratch:
        message_path = Path(scratch) / MANIFEST
        message_path.write_bytes(message)
        try:
            done = subprocess.run(
                [program, "-Y", "sign", "-n", NAMESPACE, "-f", str(key), str(message_path)],
                stdin=subprocess.DEVNULL, capture_output=True, env=env,
                timeout=None if terminal else SIGN_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise InputError(f"ssh-keygen did not finish signing with {key} within "
                             f"{SIGN_TIMEOUT} s.") from None
        except OSError as exc:
            raise InputError(f"cannot run ssh-keygen: {exc.strerror}.") from None
        stderr = done.stderr.decode("utf-8", "replace")
        if done.returncode != 0:
            if not terminal and "passphrase" in stderr:
                private = key.with_suffix("") if key.suffix == ".pub" else key
                raise InputError(
                    f"{private} is protected by a passphrase and there is no terminal to ask "
                    f"for it: add it to ssh-agent (ssh-add {private}) and pass {private}.pub, "
                    "or sign at a terminal.")
            raise InputError(f"ssh-keygen could not sign with {key}: {_last_words(stderr)}")
        try:
            return (Path(scratch) / f"{MANIFEST}.sig").read_bytes()
        except OSError:
            raise InputError(f"ssh-keygen wrote no signature with {key}.") from None


def _check_key_file(key: Path) -> None:
    if not key.exists():
        raise InputError(f"key {key} does not exist.")
    if not key.is_file():
        raise InputError(f"key {key} is not a file.")
    try:
        with key.open("rb"):
            pass
    except OSError as exc:
        raise InputError(f"cannot read key {key}: {exc.strerror}.") from None


def _has_terminal() -> bool:
    """Whether ssh-keygen could ask for a passphrase (it asks on /dev/tty)."""
    try:
        handle = os.open("/dev/tty", os.O_RDWR | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return False
    os.close(handle)
    return True


def _existing_signatures(path: Path) -> bytes:
    if path.is_symlink():
        raise InputError(f"{path} is a symbolic link; wheelhouse does not write through links.")
    if not path.exists():
        return b""
    return _read_bounded(path, "signature file")


@contextlib.contextmanager
def _serialized(manifest: Path) -> Iterator[None]:
    """One signer at a time appends: a lock on the manifest itself (no lock file)."""
    if fcntl is None:
        yield
        return
    with manifest.open("rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def _read_bounded(path: Path, what: str) -> bytes:
    if not path.exists():
        raise InputError(f"{what} {path} does not exist.")
    if not path.is_file():
        raise InputError(f"{what} {path} is not a file.")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}.") from None
    if len(data) > MAX_FILE:
        raise InputError(f"{what} {path} is over {MAX_FILE >> 20} MiB; it is not read.")
    return data


def _last_words(stderr: str) -> str:
    lines = [_PROMPT.sub("", line).strip() for line in stderr.splitlines()]
    lines = [line for line in lines if line and not line.startswith("Signing ")]
    return _sentence("; ".join(lines[-2:]) or "it failed and said nothing") + "."


def _sentence(exc: Exception | str) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.rstrip(".")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]

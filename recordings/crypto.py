"""Encryption at rest with age (pyrage): files are encrypted to a tenant's public key
(the recorder holds only "age1..." recipients); only the retrieval side loads private
keys, from files or the environment, never from the database.

Rules: no cryptography of our own — chunking, AEAD and key wrapping are age's (64 KiB
ChaCha20-Poly1305 STREAM chunks; a flipped byte or a cut-off tail fails authentication).
Both directions stream through pyrage's `*_io` in 8 KiB reads/writes, so memory stays
constant whatever the call's length; the plaintext's SHA-256 and size are computed on
the way through. A key rotation is a new key pair: old recordings name their key id and
stay readable while the old identity stays in the keyring.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import stat
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Mapping

import pyrage
from pyrage import x25519

from engine.recording import key_id
from recordings.errors import BadKey, MissingKey, RecordingError, Tampered

__all__ = ["BadKey", "Digest", "Keyring", "MissingKey", "RecordingError", "Tampered", "decrypt_stream",
           "encrypt_stream", "generate", "key_id", "parse_recipient"]

ENV_PREFIX = "SENTRAL_RECORDING_KEY_"


@dataclass(frozen=True)
class Digest:
    """What went through: the plaintext's SHA-256 (hex) and its size in bytes."""

    sha256: str
    size: int


class _Tap:
    """Remembers an error the wrapped stream raised, so that an I/O fault of ours (disk
    full, a dropped S3 connection) is not mistaken for a tampered file when it resurfaces
    through pyrage, and hashes and counts the plaintext going through."""

    def __init__(self, stream):
        self._stream, self._sha, self.size, self.error = stream, hashlib.sha256(), 0, None

    def digest(self) -> Digest:
        return Digest(self._sha.hexdigest(), self.size)

    def read(self, n: int = -1) -> bytes:
        """Passes through without hashing (the ciphertext side of a decryption)."""
        try:
            return self._stream.read(n)
        except BaseException as exc:
            self.error = exc
            raise


class _HashingReader(_Tap):
    """pyrage asks for 8 KiB at a time; reading and hashing 1 MiB blocks and handing out
    slices of them costs one SHA-256 update per MiB instead of 128 (encryption ran at ~490
    instead of ~690 MB/s with per-read hashing). Memory: one block."""

    BLOCK = 1 << 20

    def __init__(self, stream):
        super().__init__(stream)
        self._block, self._at = b"", 0

    def read(self, n: int = -1) -> bytes:
        if self._at >= len(self._block):
            try:
                self._block, self._at = self._stream.read(self.BLOCK), 0
            except BaseException as exc:
                self.error = exc
                raise
            self._sha.update(self._block)
            self.size += len(self._block)
        end = len(self._block) if n is None or n < 0 else self._at + n
        piece = self._block[self._at:end]
        self._at += len(piece)
        return piece


class _HashingWriter(_Tap):
    def write(self, data) -> int:
        try:
            written = self._stream.write(data)
        except BaseException as exc:
            self.error = exc
            raise
        self._sha.update(data)
        self.size += len(data)
        return len(data) if written is None else written

    def flush(self) -> None:
        flush = getattr(self._stream, "flush", None)
        if flush is not None:
            flush()


class _Discard:
    def write(self, data) -> int:
        return len(data)


def parse_recipient(recipient: str) -> x25519.Recipient:
    try:
        return x25519.Recipient.from_str(recipient.strip())
    except pyrage.RecipientError as exc:
        raise BadKey(f"not an age public key ({exc}): {recipient[:12]}...") from None


def encrypt_stream(src: BinaryIO, dst: BinaryIO, recipients: list[str]) -> Digest:
    """Encrypt everything `src` yields into `dst` (an age file readable by any of the
    recipients' identities); returns the digest of the plaintext read."""
    if not recipients:
        raise BadKey("no recipient to encrypt to")
    keys = [parse_recipient(r) for r in recipients]
    reader = _HashingReader(src)
    try:
        pyrage.encrypt_io(reader, dst, keys)
    except (pyrage.EncryptError, OSError) as exc:
        # pyrage wraps a Python exception raised by read() into EncryptError: give back ours.
        raise (reader.error or exc) from None
    return reader.digest()


def decrypt_stream(src: BinaryIO, dst: BinaryIO | None, identities: Iterable[x25519.Identity]) -> Digest:
    """Decrypt the age file `src` into `dst` (None: to nothing, a verification) and return
    the digest of the plaintext written. Raises Tampered when authentication fails —
    possibly after earlier, authenticated chunks were written — and MissingKey when no
    identity opens the file."""
    keys = list(identities)
    if not keys:
        raise MissingKey("", "the keyring is empty")
    reader, writer = _Tap(src), _HashingWriter(dst if dst is not None else _Discard())
    try:
        pyrage.decrypt_io(reader, writer, keys)
    except pyrage.DecryptError as exc:
        if reader.error is not None:
            raise reader.error from None
        if "no matching keys" in str(exc).lower():
            raise MissingKey("", "none of the identities opens this file") from None
        raise Tampered(f"not a valid age file: {exc}") from None
    except OSError as exc:
        mine = reader.error or writer.error
        if mine is not None:
            raise mine from None
        # rage reports a failed chunk (flipped byte, cut-off tail) as an InvalidData io error.
        raise Tampered(f"authentication failed: {exc}") from None
    writer.flush()
    return writer.digest()


class Keyring:
    """Private keys by key id. Built once by the retrieval side (web, CLI, export)."""

    def __init__(self, identities: Mapping[str, x25519.Identity] | None = None):
        self._by_id = dict(identities or {})

    @classmethod
    def load(cls, directory: str | os.PathLike | None, environ: Mapping[str, str] = os.environ) -> "Keyring":
        """Identities from `<directory>/*.key` (one AGE-SECRET-KEY per file, not readable by
        group or others) and from variables SENTRAL_RECORDING_KEY_<name>."""
        found: dict[str, x25519.Identity] = {}
        if directory:
            folder = pathlib.Path(directory)
            if not folder.is_dir():
                raise BadKey(f"key folder {folder} does not exist")
            for path in sorted(folder.glob("*.key")):
                mode = path.stat().st_mode
                if mode & (stat.S_IRWXG | stat.S_IRWXO):
                    raise BadKey(f"{path} is readable by others (mode {stat.S_IMODE(mode):04o}); "
                                 f"chmod 600 {path}")
                identity = _identity(path.read_text(encoding="ascii", errors="replace"), str(path))
                found[key_id(str(identity.to_public()))] = identity
        for name in sorted(environ):
            if name.startswith(ENV_PREFIX):
                identity = _identity(environ[name], f"${name}")
                found[key_id(str(identity.to_public()))] = identity
        return cls(found)

    def identity(self, wanted: str) -> x25519.Identity:
        try:
            return self._by_id[wanted]
        except KeyError:
            raise MissingKey(wanted, "add its .key file to the identities folder") from None

    def key_ids(self) -> list[str]:
        return sorted(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)


def _identity(text: str, where: str) -> x25519.Identity:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) != 1 or not lines[0].startswith("AGE-SECRET-KEY-1"):
        raise BadKey(f"{where}: expected exactly one AGE-SECRET-KEY-1... line")
    try:
        return x25519.Identity.from_str(lines[0])
    except pyrage.IdentityError as exc:
        raise BadKey(f"{where}: not an age private key ({exc})") from None


def generate(tenant: str, directory: str | os.PathLike) -> tuple[str, str, pathlib.Path]:
    """A new key pair for `tenant`: the private key goes to `<directory>/<tenant>-<key_id>.key`
    (mode 0600, created exclusively); returns (public "age1..." recipient, key id, path).
    The public key goes into the routing configuration; the file stays with retrieval."""
    if not tenant or "/" in tenant or tenant.startswith("."):
        raise BadKey(f"not a tenant name for a key file: {tenant!r}")
    identity = x25519.Identity.generate()
    recipient = str(identity.to_public())
    kid = key_id(recipient)
    folder = pathlib.Path(directory)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{tenant}-{kid}.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(f"# tenant {tenant}, key id {kid}, public key {recipient}\n{identity}\n")
    return recipient, kid, path

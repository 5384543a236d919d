"""Password hashing for web users: scrypt (hashlib) with a per-user random salt.

Format: `scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`, so the cost can be raised later
and old hashes still verify (`needs_rehash` tells when to re-hash at the next login).
n=2**15, r=8, p=1 uses 32 MiB and ~0.1 s per check on this machine: slow for a
guesser, fine for a login. Comparison is constant-time. Plain text is never stored.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

N, R, P = 2 ** 15, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
_MAXMEM = 128 * 1024 * 1024


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _kdf(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=_MAXMEM, dklen=KEY_BYTES)


def hash_password(password: str, *, n: int | None = None, r: int | None = None, p: int | None = None) -> str:
    if not isinstance(password, str) or not password:
        raise ValueError("a password must be a non-empty string")
    n, r, p = n or N, r or R, p or P
    salt = secrets.token_bytes(SALT_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_kdf(password, salt, n, r, p))}"


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches; False for a wrong password or a malformed hash."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _kdf(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def needs_rehash(encoded: str) -> bool:
    parts = encoded.split("$")
    try:
        return len(parts) != 6 or parts[0] != "scrypt" or tuple(map(int, parts[1:4])) != (N, R, P)
    except ValueError:
        return True

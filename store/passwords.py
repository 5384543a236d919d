"""Password hashing for web users: Argon2id (argon2-cffi), old scrypt hashes still verify.

Rules:
- New hashes are Argon2id in the PHC string format (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`)
  with argon2-cffi's RFC 9106 "low memory" profile (t=3, m=64 MiB, p=4): ~50 ms per
  check here, slow for a guesser, fine for a login.
- Hashes written before (`scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`) still verify, and
  `needs_rehash` is true for them (and for Argon2 hashes of other parameters), so
  `store.users.authenticate` re-hashes them with Argon2id at the user's next login.
- A wrong password, a malformed or unknown hash is `False`, never an exception.
  Comparison is constant-time (argon2 / hmac.compare_digest). Plain text is never stored.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TIME_COST, MEMORY_COST, PARALLELISM = 3, 64 * 1024, 4     # argon2-cffi's RFC 9106 low-memory profile

# the previous format: verified, never written (except by `scrypt_hash`, for tests and migrations)
N, R, P = 2 ** 15, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
_MAXMEM = 128 * 1024 * 1024


def _hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST, parallelism=PARALLELISM)


def hash_password(password: str) -> str:
    if not isinstance(password, str) or not password:
        raise ValueError("a password must be a non-empty string")
    return _hasher().hash(password)


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches; False for a wrong password or a malformed hash."""
    if not isinstance(encoded, str):
        return False
    if encoded.startswith("$argon2"):
        try:
            return _hasher().verify(encoded, password)
        except (VerificationError, InvalidHashError, ValueError, TypeError):
            return False
    if encoded.startswith("scrypt$"):
        return _verify_scrypt(password, encoded)
    return False


def needs_rehash(encoded: str) -> bool:
    """True for an scrypt hash, and for an Argon2 hash made with other parameters."""
    if not isinstance(encoded, str) or not encoded.startswith("$argon2"):
        return True
    try:
        return _hasher().check_needs_rehash(encoded)
    except (InvalidHashError, ValueError):
        return True


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _kdf(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=KEY_BYTES)


def scrypt_hash(password: str, *, n: int | None = None, r: int | None = None, p: int | None = None) -> str:
    """A hash in the previous scrypt format (what older databases hold)."""
    n, r, p = n or N, r or R, p or P
    salt = secrets.token_bytes(SALT_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_kdf(password, salt, n, r, p))}"


def _verify_scrypt(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        expected = base64.b64decode(digest)
        actual = _kdf(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)

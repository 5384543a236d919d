"""The recordings library's typed errors. Each carries a stable `error_id` (part of the
API: the CLI and the web map it to a message or an HTTP status in one place each)."""
from __future__ import annotations


class RecordingError(Exception):
    error_id = "recording-error"


class Tampered(RecordingError):
    """The encrypted file fails authentication (a flipped byte, a truncated file, a header
    that is not age) or its plaintext does not match the stored SHA-256: never play it."""

    error_id = "recording-tampered"


class MissingKey(RecordingError):
    """No private key at hand opens this recording (the keyring lacks `key_id`)."""

    error_id = "recording-key-missing"

    def __init__(self, key_id: str, detail: str = ""):
        self.key_id = key_id
        super().__init__(f"no private key for key id {key_id!r}" + (f": {detail}" if detail else ""))


class BadKey(RecordingError):
    """A key file or variable is unusable: not an age key, or readable by group/others."""

    error_id = "recording-key-bad"


class BadStorageKey(RecordingError):
    """A storage key that could name something outside the store ("..", absolute, odd
    characters): refused before any file or object is touched."""

    error_id = "recording-storage-key"


class NotStored(RecordingError):
    """The storage holds nothing under this key."""

    error_id = "recording-not-stored"


class BadRange(RecordingError):
    """A byte range that cannot be served (negative start, end before start)."""

    error_id = "recording-bad-range"

"""Attachment bytes kept outside the database, named by their SHA-256.

Rules:
- A file lives at `root/ab/cd/<64 hex digits>` (the digest's first two byte pairs as
  directories); the database keeps only the digest and size. The same content is kept once.
- Bytes are written to a temporary file under `root/tmp` (the same file system), flushed to
  disk and renamed into place, so a reader never sees half a file and a crash leaves at most
  a temporary file behind.
- `max_bytes` is enforced while streaming: at the first byte over the limit reading stops,
  the temporary file is removed and `AttachmentTooLarge` is raised; nothing is kept.
- Only a digest of 64 hex digits names a file (`InvalidDigest` otherwise), so no name can
  leave `root`.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import re
import tempfile
from typing import BinaryIO

CHUNK = 64 * 1024
_DIGEST = re.compile(r"[0-9a-f]{64}")


class AttachmentError(Exception):
    error_id = "mail.attachment"


class AttachmentTooLarge(AttachmentError):
    error_id = "mail.attachment_too_large"

    def __init__(self, limit: int, seen: int):
        super().__init__(f"attachment over the limit of {limit} bytes (read {seen} before stopping)")
        self.limit = limit
        self.seen = seen


class InvalidDigest(AttachmentError):
    error_id = "mail.attachment_invalid_digest"


class AttachmentMissing(AttachmentError):
    error_id = "mail.attachment_missing"


class AttachmentStore:
    def __init__(self, root: str | os.PathLike, max_bytes: int):
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.root = pathlib.Path(root).resolve()
        self.max_bytes = max_bytes
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        if len(data) > self.max_bytes:       # refused before a byte is written
            raise AttachmentTooLarge(self.max_bytes, len(data))
        return self._write([memoryview(data)])

    def put_stream(self, stream: BinaryIO, chunk_size: int = CHUNK) -> tuple[str, int]:
        """Read `stream` to its end (or to the first byte over the limit)."""
        def chunks():
            seen = 0
            while True:
                # Never ask for more than one byte past the limit: that byte proves the excess.
                want = min(chunk_size, self.max_bytes - seen + 1)
                block = stream.read(want)
                if not block:
                    return
                seen += len(block)
                if seen > self.max_bytes:
                    raise AttachmentTooLarge(self.max_bytes, seen)
                yield block
        return self._write(chunks())

    def _write(self, blocks) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="part-")
        try:
            with os.fdopen(fd, "wb") as out:
                for block in blocks:
                    digest.update(block)
                    out.write(block)
                    size += len(block)
                out.flush()
                os.fsync(out.fileno())
            name = digest.hexdigest()
            final = self._path(name)
            if final.exists():                       # the same content is already kept
                os.unlink(tmp_name)
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, final)
            return name, size
        except BaseException:
            try:
                os.unlink(tmp_name)
            except FileNotFoundError:
                pass
            raise

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self._path(digest), "rb")
        except FileNotFoundError:
            raise AttachmentMissing(f"no attachment {digest}") from None

    def __contains__(self, digest: str) -> bool:
        try:
            return self._path(digest).is_file()
        except InvalidDigest:
            return False

    def size(self, digest: str) -> int:
        try:
            return self._path(digest).stat().st_size
        except FileNotFoundError:
            raise AttachmentMissing(f"no attachment {digest}") from None

    def _path(self, digest: str) -> pathlib.Path:
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest.lower()):
            raise InvalidDigest(f"not a SHA-256 hex digest: {str(digest)[:80]!r}")
        digest = digest.lower()
        return self.root / digest[0:2] / digest[2:4] / digest

"""channels.email.attachments.AttachmentStore on a real directory (tmp_path): content-addressed
files, the size limit while streaming, nothing left behind, no name outside the root."""
from __future__ import annotations

import hashlib
import io
import os

import pytest

from channels.email.attachments import (AttachmentMissing, AttachmentStore, AttachmentTooLarge,
                                        InvalidDigest)


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class CountingStream(io.RawIOBase):
    """A stream of `total` bytes that counts what was asked of it (never all of it at once)."""

    def __init__(self, total: int, byte: bytes = b"x"):
        self.total, self.byte, self.given, self.largest_read = total, byte, 0, 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.total - self.given if n is None or n < 0 else min(n, self.total - self.given)
        self.largest_read = max(self.largest_read, n)
        self.given += n
        return self.byte * n


def test_bytes_are_kept_under_their_sha256(tmp_path):
    store = AttachmentStore(tmp_path / "att", max_bytes=1000)
    data = "faktura æøå\n".encode()
    digest, size = store.put_bytes(data)
    assert digest == hashlib.sha256(data).hexdigest() and size == len(data)
    assert files_under(store.root) == [f"{digest[:2]}/{digest[2:4]}/{digest}"]
    with store.open(digest) as f:
        assert f.read() == data and "b" in f.mode
    assert digest in store and store.size(digest) == len(data)


def test_a_stream_is_read_in_chunks_and_the_same_content_is_kept_once(tmp_path):
    store = AttachmentStore(tmp_path, max_bytes=1_000_000)
    stream = CountingStream(300_000)
    digest, size = store.put_stream(stream, chunk_size=4096)
    assert size == 300_000 and stream.largest_read <= 4096
    assert digest == hashlib.sha256(b"x" * 300_000).hexdigest()
    assert store.put_bytes(b"x" * 300_000) == (digest, 300_000)
    assert store.put_stream(io.BytesIO(b"")) == (hashlib.sha256(b"").hexdigest(), 0)
    assert len([f for f in files_under(tmp_path) if not f.startswith("tmp/")]) == 2
    assert not list((tmp_path / "tmp").iterdir()), "no temporary file left"


@pytest.mark.parametrize("total", [1001, 50_000_000])
def test_over_the_limit_nothing_is_kept_and_reading_stops(tmp_path, total):
    store = AttachmentStore(tmp_path, max_bytes=1000)
    stream = CountingStream(total)
    with pytest.raises(AttachmentTooLarge) as err:
        store.put_stream(stream, chunk_size=256)
    assert err.value.limit == 1000 and err.value.seen == 1001
    assert err.value.error_id == "mail.attachment_too_large"
    assert stream.given == 1001, "reading stopped at the first byte over the limit"
    assert files_under(tmp_path) == []
    with pytest.raises(AttachmentTooLarge):
        store.put_bytes(b"y" * 1001)
    assert files_under(tmp_path) == []


def test_exactly_the_limit_is_kept(tmp_path):
    store = AttachmentStore(tmp_path, max_bytes=1000)
    digest, size = store.put_stream(CountingStream(1000), chunk_size=300)
    assert size == 1000 and store.size(digest) == 1000
    assert store.put_bytes(b"z" * 1000)[1] == 1000


def test_a_failing_stream_leaves_nothing_behind(tmp_path):
    class Broken(io.RawIOBase):
        def __init__(self):
            self.calls = 0

        def read(self, n=-1):
            self.calls += 1
            if self.calls > 2:
                raise ConnectionResetError("IMAP connection lost")
            return b"a" * 10

    store = AttachmentStore(tmp_path, max_bytes=1000)
    with pytest.raises(ConnectionResetError):
        store.put_stream(Broken())
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("name", [
    "../../etc/passwd", "/etc/passwd", "..", "", "a" * 63, "a" * 65, "g" * 64,
    "../" + "a" * 61, "a" * 64 + "\n", "a" * 32 + "/" + "a" * 31, None, 12,
])
def test_only_hex_digests_name_a_file(tmp_path, name):
    store = AttachmentStore(tmp_path / "att", max_bytes=10)
    (tmp_path / "secret").write_bytes(b"not yours")
    with pytest.raises(InvalidDigest):
        store.open(name)
    with pytest.raises(InvalidDigest):
        store.size(name)
    assert name not in store


def test_an_unknown_digest_is_missing_and_upper_case_hex_is_the_same_name(tmp_path):
    store = AttachmentStore(tmp_path, max_bytes=10)
    with pytest.raises(AttachmentMissing):
        store.open("0" * 64)
    digest, _ = store.put_bytes(b"abc")
    with store.open(digest.upper()) as f:
        assert f.read() == b"abc"


def test_files_are_private_to_the_service(tmp_path):
    store = AttachmentStore(tmp_path, max_bytes=10)
    digest, _ = store.put_bytes(b"abc")
    mode = os.stat(store.root / digest[:2] / digest[2:4] / digest).st_mode & 0o777
    assert mode & 0o077 == 0

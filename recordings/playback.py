"""Listening without a plaintext file: a recording is decrypted on the fly, in a real
thread (gevent's threadpool) that writes into an os.pipe, and the calling greenlet reads
the pipe cooperatively, so a one-hour file never blocks the hub or lands on disk.

Rules: age has no random access (pyrage exposes no seek), so a Range is served by
decrypting from the start and dropping what precedes it; reading stops as soon as the
range is complete (closing the pipe ends the thread with EPIPE). What is yielded has been
authenticated chunk by chunk; a failure later in the file raises Tampered from the
iterator, so a streamed response ends short instead of playing forged audio.
"""
from __future__ import annotations

import os
from typing import Iterator

import gevent
import gevent.os
from pyrage import x25519

from recordings.crypto import Digest, Tampered, decrypt_stream
from recordings.errors import BadRange, RecordingError
from recordings.storage import Storage

__all__ = ["PlaintextPipe", "plaintext", "verify"]

PIPE_READ = 64 * 1024
_PIPE_WRITE_BUFFER = 64 * 1024


def _decrypt_into(storage: Storage, key: str, identity: x25519.Identity, fd: int):
    """Runs in a worker thread: the whole decryption into the pipe's write end. Returns the
    Digest or the exception (a BrokenPipeError means the reader had all it wanted)."""
    try:
        with os.fdopen(fd, "wb", buffering=_PIPE_WRITE_BUFFER) as pipe, storage.open(key) as src:
            return decrypt_stream(src, pipe, [identity])
    except BaseException as exc:  # handed to the greenlet, which decides what it means
        return exc


class PlaintextPipe:
    """One recording being decrypted by a worker thread into a pipe; `read()` waits
    cooperatively. Errors of the decryption come out of `read()` at the end of the data
    (or of `finish()`), never as a silent short file."""

    def __init__(self, storage: Storage, key: str, identity: x25519.Identity):
        self._fd, write_fd = os.pipe()
        try:
            gevent.os.make_nonblocking(self._fd)
            self._job = gevent.get_hub().threadpool.spawn(_decrypt_into, storage, key, identity, write_fd)
        except BaseException:
            os.close(self._fd)
            os.close(write_fd)
            raise
        self.digest: Digest | None = None

    def read(self, n: int = PIPE_READ) -> bytes:
        """Up to n bytes; b"" at the end, once the whole file authenticated."""
        if self._fd < 0:
            return b""
        data = gevent.os.nb_read(self._fd, n if n and n > 0 else PIPE_READ)
        if not data:
            self.finish()
        return data

    def finish(self) -> Digest:
        """The digest of all the plaintext, after the last read; raises what the worker raised."""
        self.close()
        if self.digest is None:
            result = self._job.get()
            if isinstance(result, BaseException):
                raise result
            self.digest = result
        return self.digest

    def close(self) -> None:
        """Stops reading: a worker still writing gets EPIPE and ends."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "PlaintextPipe":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def plaintext(storage: Storage, key: str, identity: x25519.Identity, start: int = 0,
              end: int | None = None) -> Iterator[bytes]:
    """The plaintext bytes start..end (inclusive, as in an HTTP Range; end None = to the
    end) of the recording stored under `key`. Errors that show at the start (NotStored,
    MissingKey, a header that is not age) are raised by this call, before the caller
    commits to a response; later ones (Tampered) by the iterator."""
    if start < 0 or (end is not None and end < start):
        raise BadRange(f"bad range {start}-{'' if end is None else end}")
    pipe = PlaintextPipe(storage, key, identity)
    try:
        first = pipe.read()
    except BaseException:
        pipe.close()
        raise
    return _pieces(pipe, first, start, end)


def _pieces(pipe: PlaintextPipe, data: bytes, start: int, end: int | None) -> Iterator[bytes]:
    position, stop = 0, (None if end is None else end + 1)  # stop: first offset not wanted
    with pipe:
        while data:
            low, high = max(start - position, 0), len(data) if stop is None else min(len(data), stop - position)
            if low < high:
                yield data[low:high]
            position += len(data)
            if stop is not None and position >= stop:
                return
            data = pipe.read()


def verify(storage: Storage, key: str, identity: x25519.Identity, sha256: str) -> Digest:
    """Decrypts the whole recording to nothing (in a worker thread) and checks the
    plaintext's SHA-256 against the one stored at recording time: Tampered otherwise,
    also for a file that authenticates but is not the recording (a swapped object)."""
    def run():
        try:
            with storage.open(key) as src:
                return decrypt_stream(src, None, [identity])
        except RecordingError as exc:       # handed back, not raised in the pool (the hub would print it)
            return exc

    digest = gevent.get_hub().threadpool.apply(run)
    if isinstance(digest, RecordingError):
        raise digest
    if digest.sha256 != sha256:
        raise Tampered(f"{key}: plaintext SHA-256 {digest.sha256} is not the recorded {sha256}")
    return digest

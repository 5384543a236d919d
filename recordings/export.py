"""Encrypted transfer (R9): selected recordings as one age file, encrypted to the
recipient's public key, holding a tar of manifest.json and the WAVs.

Rules: no plaintext on disk, not even for a moment: each recording is decrypted by a
worker thread into a pipe (playback.PlaintextPipe), tar reads that pipe, and tar's output
goes through a second pipe into a worker thread that age-encrypts it into `<out>.part`,
renamed to `out_path` only when every member's SHA-256 and size matched the manifest.
The manifest states what the metadata promised (the checksums recorded when each call
was stored), so the receiver checks the archive against it; a mismatch here aborts the
export (Tampered) and removes the partial file.
"""
from __future__ import annotations

import json
import os
import pathlib
import tarfile
from datetime import datetime, timezone
from typing import Callable, Iterable, Protocol

import gevent
import gevent.os

from recordings.crypto import Keyring, Tampered, encrypt_stream, parse_recipient
from recordings.errors import RecordingError
from recordings.playback import PlaintextPipe
from recordings.storage import Storage

__all__ = ["ExportItem", "MANIFEST", "export"]

MANIFEST = "manifest.json"
FORMAT = "sentral-recordings-export/1"


class ExportItem(Protocol):
    """What export needs of a recording (store.recordings.RecordingRecord has it all):
    `location` is the storage key, `size`/`sha256` the plaintext's, `key_id` its key."""

    id: str
    tenant: str
    started_at: datetime
    duration: float | None
    sha256: str
    size: int | None
    key_id: str
    location: str


def member_name(item: ExportItem) -> str:
    return f"{item.tenant}/{item.started_at:%Y%m%d-%H%M%S}-{item.id}.wav"


def manifest(items: list[ExportItem], created: datetime) -> dict:
    return {"format": FORMAT, "created": created.isoformat(),
            "recordings": [{"id": i.id, "tenant": i.tenant, "start": i.started_at.isoformat(),
                            "duration": i.duration, "sha256": i.sha256, "size": i.size, "name": member_name(i)}
                           for i in items]}


class _PipeWriter:
    """tar's output file: cooperative writes into the pipe the encrypting thread reads."""

    def __init__(self, fd: int):
        gevent.os.make_nonblocking(fd)
        self.fd = fd

    def write(self, data) -> int:
        view = memoryview(data)
        while view:
            view = view[gevent.os.nb_write(self.fd, view):]
        return len(data)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _encrypt_pipe(read_fd: int, out: pathlib.Path, recipient: str):
    """Worker thread: age-encrypt whatever arrives on the pipe into `out`."""
    try:
        with os.fdopen(read_fd, "rb") as src, open(out, "wb") as dst:
            digest = encrypt_stream(src, dst, [recipient])
            dst.flush()
            os.fsync(dst.fileno())
            return digest
    except BaseException as exc:
        return exc


def export(items: Iterable[ExportItem], storage: Storage, keyring: Keyring, recipient: str,
           out_path: str | os.PathLike, progress: Callable[[ExportItem, int, int], None] | None = None,
           now: datetime | None = None) -> dict:
    """Writes the archive to `out_path` and returns its manifest. Every recording needs a
    stored file, a recorded size and SHA-256, and its private key in `keyring`; missing
    ones raise before anything is written. progress(item, done, total) after each one."""
    chosen = list(items)
    parse_recipient(recipient)
    for item in chosen:
        if not item.location or item.size is None or not item.sha256:
            raise RecordingError(f"recording {item.id} is not stored (no file or checksum): cannot export it")
        keyring.identity(item.key_id)
    names = [member_name(i) for i in chosen]
    if len(set(names)) != len(names):
        raise RecordingError("the same recording is selected twice")
    out = pathlib.Path(out_path)
    part = out.with_name(out.name + ".part")
    contents = manifest(chosen, now or datetime.now(timezone.utc))
    read_fd, write_fd = os.pipe()
    writer = _PipeWriter(write_fd)
    job = gevent.get_hub().threadpool.spawn(_encrypt_pipe, read_fd, part, recipient)
    done = False
    try:
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            body = json.dumps(contents, indent=2).encode()
            _add(tar, MANIFEST, len(body), contents["created"], _Bytes(body))
            for index, item in enumerate(chosen, 1):
                with PlaintextPipe(storage, item.location, keyring.identity(item.key_id)) as pipe:
                    _add(tar, member_name(item), item.size, item.started_at.isoformat(), _Exact(pipe, item))
                    extra = pipe.read()
                    while extra:  # the file is longer than recorded: drain it for the digest
                        extra = pipe.read()
                    digest = pipe.finish()
                if (digest.sha256, digest.size) != (item.sha256, item.size):
                    raise Tampered(f"recording {item.id}: decrypted SHA-256/size {digest.sha256}/{digest.size} "
                                   f"is not the recorded {item.sha256}/{item.size}")
                if progress is not None:
                    progress(item, index, len(chosen))
        done = True
    finally:
        writer.close()  # end of the tar stream: the encrypting thread finishes
        result = job.get()
        if not done or isinstance(result, BaseException):
            part.unlink(missing_ok=True)
    if isinstance(result, BaseException):
        raise result
    os.replace(part, out)
    return contents


class _Exact:
    """A recording's plaintext as tar reads it: full reads (a pipe returns what it has;
    tar takes a short read for the end), and Tampered if it ends before the recorded size."""

    def __init__(self, pipe: PlaintextPipe, item: ExportItem):
        self._pipe, self._item, self._seen = pipe, item, 0

    def read(self, n: int) -> bytes:
        pieces, wanted = [], n
        while wanted > 0:
            data = self._pipe.read(wanted)
            if not data:
                break
            pieces.append(data)
            wanted -= len(data)
        data = b"".join(pieces)
        self._seen += len(data)
        if len(data) < n and self._seen < (self._item.size or 0):
            raise Tampered(f"recording {self._item.id} has {self._seen} bytes, not the recorded {self._item.size}")
        return data


class _Bytes:
    def __init__(self, data: bytes):
        self._data, self._at = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n is None or n < 0 else self._at + n
        piece, self._at = self._data[self._at:end], min(end, len(self._data))
        return piece


def _add(tar: tarfile.TarFile, name: str, size: int, when: str, source) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o600
    info.mtime = int(datetime.fromisoformat(when).timestamp())
    tar.addfile(info, source)

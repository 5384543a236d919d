"""Builders for the recordings page's tests: a WAV the browser can play, an agency's key
pair, and a stored recording made the way the recorder makes one (encrypted with
recordings.crypto to the agency's public key, put in the deployment's storage with
recordings.storage, its row in the store as store.recordings keeps it)."""
from __future__ import annotations

import io
import math
import os
import pathlib
import struct
import tempfile
import uuid
import wave
from dataclasses import replace
from datetime import datetime, timedelta


def a_wav(seconds: float = 10.0, rate: int = 8000, tone: float = 440.0) -> bytes:
    """16-bit stereo PCM: a tone on the caller's channel, a fifth above on the agent's."""
    frames = bytearray()
    for n in range(int(seconds * rate)):
        left = int(8000 * math.sin(2 * math.pi * tone * n / rate))
        right = int(8000 * math.sin(2 * math.pi * tone * 1.5 * n / rate))
        frames += struct.pack("<hh", left, right)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out.getvalue()


def agency_keys(tenants, identities: pathlib.Path) -> dict[str, str]:
    """A key pair per tenant; the private keys in `identities` (0600): tenant -> public key."""
    from recordings.crypto import generate

    return {t: generate(t, identities)[0] for t in tenants}


def recording_deployment(deployment, keys: dict[str, str], directory: pathlib.Path, identities: pathlib.Path,
                         **tenant_changes):
    """The deployment with each tenant of `keys` encrypting to its key, recordings under
    `directory` (local storage) and the private keys in `identities`."""
    tenants = dict(deployment.tenants)
    for tenant, public_key in keys.items():
        tenants[tenant] = replace(tenants[tenant], recording_key=public_key, **tenant_changes.get(tenant, {}))
    return replace(deployment, tenants=tenants, recordings_dir=str(directory),
                   recordings_identities=str(identities))


def a_recording(store, deployment, tenant: str, *, started_at: datetime, queue: str = "", caller: str = "",
                agents=("kari",), audio: bytes | None = None, status: str = "stored"):
    """(RecordingRecord, plaintext) of a stored recording of `tenant`."""
    from engine.recording import key_id
    from recordings.crypto import encrypt_stream
    from recordings.storage import storage_for
    from store.recordings import RecordingRecord

    audio = a_wav() if audio is None else audio
    rid = str(uuid.uuid4())
    public_key = deployment.tenants[tenant].recording_key
    location = f"{tenant}/{started_at:%Y/%m}/{rid}.wav.age"
    fd, path = tempfile.mkstemp(suffix=".age")
    try:
        with os.fdopen(fd, "wb") as out:
            digest = encrypt_stream(io.BytesIO(audio), out, [public_key])
        stored_size = os.path.getsize(path)
        storage_for(deployment).put_file(location, path)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    seconds = (len(audio) - 44) / (8000 * 4)
    record = RecordingRecord(
        id=rid, interaction=str(uuid.uuid4()), tenant=tenant, started_at=started_at, status=status, queue=queue,
        agents=tuple(agents), caller_number=caller, node="fs1", ended_at=started_at + timedelta(seconds=seconds),
        duration=seconds, size=digest.size, stored_size=stored_size, sha256=digest.sha256,
        key_id=key_id(public_key), storage="local", location=location, retention_days=90)
    return store.create_recording(record), audio


def stored_path(deployment, record) -> pathlib.Path:
    """The encrypted file of a locally stored recording (to tamper with it)."""
    return pathlib.Path(deployment.recordings_dir) / "store" / record.location

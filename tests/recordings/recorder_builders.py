"""Builders for the recorder's tests: a deployment whose tenant records to a given key,
the engine's recording notices, and a spool file in FreeSWITCH's place.
Also imported by the child process of the SIGKILL test."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from engine import effects as fx
from engine.config import Deployment, QueueConfig, TenantConfig

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def a_deployment(root, recipient: str, tenant: str = "nordlys", retention_days: int = 90) -> Deployment:
    tenants = {tenant: TenantConfig(tenant, tenant.title(), recording_notice="notice.wav",
                                    recording_key=recipient, recording_retention_days=retention_days)}
    queues = {f"{tenant}-sw": QueueConfig(f"{tenant}-sw", tenant, "Switchboard")}
    return Deployment(tenants=tenants, queues=queues, recordings_dir=str(root))


def spool_file(root, rid: str, tenant: str = "nordlys", size: int = 64 * 1024) -> str:
    """A plaintext 'WAV' where FreeSWITCH writes it: <dir>/spool/<tenant>/<id>.wav."""
    path = os.path.join(str(root), "spool", tenant, f"{rid}.wav")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(b"RIFF" + os.urandom(size - 4))
    return path


def started(rid: str, path: str, recipient: str, tenant: str = "nordlys", agent: str = "kari",
            at: datetime = T0) -> fx.Notify:
    from engine.recording import key_id

    return fx.Notify("recording_started", {
        "id": rid, "interaction": f"ix-{rid}", "tenant": tenant, "queue": f"{tenant}-sw", "agent": agent,
        "caller_number": "4791520431", "node": "fs1", "uuid": f"uuid-{rid}", "path": path,
        "started_at": at.isoformat(), "retention_days": 90, "key_id": key_id(recipient), "public_key": recipient})


def party(rid: str, agent: str) -> fx.Notify:
    return fx.Notify("recording_party", {"id": rid, "agent": agent})


def stopped(rid: str, path: str, at: datetime = T0 + timedelta(minutes=3)) -> fx.Notify:
    return fx.Notify("recording_stopped", {"id": rid, "path": path, "node": "fs1", "ended_at": at.isoformat(),
                                           "cause": "hangup"})

"""Call recordings' metadata: one row per recorded file (`recordings`), and its access log
(store/recording_audit.py, re-exported here).

Rules:
- The id is the engine's (`eng.new_id("recording")`); the row is written when the
  recording starts, so a file on disk always has a row unless the process died between
  FreeSWITCH starting the file and the recorder's first write (`reconcile` reports it).
- Status moves along `TRANSITIONS` only; anything else raises `IllegalRecordingChange`
  naming the recording, its status and the change asked for:
  recording -> stopped -> stored -> deleted; recording|stopped -> fault; fault -> stored
  (a retried encryption) or fault (a new failure) or deleted.
- Never a private key here: `key_id` names the tenant's public key (engine.recording.key_id).
- `search` filters by tenants (None = all, for the CLI and the system admin); the web
  decides which tenants a user may see.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, JSONData, UTCDateTime
from store.errors import InvalidRecord, StoreError
from store.recording_audit import (  # noqa: F401  (the access log is part of this module's interface)
    AUDIT, RecordingAuditEntry, append_audit, audit_rows, verify_audit,
)

STATUSES = ("recording", "stopped", "stored", "fault", "deleted")
TRANSITIONS = {
    "recording": {"stopped", "fault"},
    "stopped": {"stored", "fault"},
    "fault": {"stored", "fault", "deleted"},
    "stored": {"deleted"},
    "deleted": set(),
}


class UnknownRecording(StoreError):
    error_id = "store.unknown_recording"


class IllegalRecordingChange(StoreError):
    error_id = "store.illegal_recording_change"


class Recording(Base):
    __tablename__ = "recordings"
    __table_args__ = (sa.Index("ix_recordings_tenant_started_at", "tenant", "started_at"),)

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    interaction: Mapped[str] = mapped_column(sa.String(64), index=True)
    tenant: Mapped[str] = mapped_column(sa.String(64))
    queue: Mapped[str] = mapped_column(sa.String(64), default="")
    agents: Mapped[list] = mapped_column(JSONData, default=list)       # every agent who took part, in order
    caller_number: Mapped[str] = mapped_column(sa.String(64), default="")
    node: Mapped[str] = mapped_column(sa.String(64), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration: Mapped[float | None] = mapped_column(sa.Float, nullable=True)       # seconds
    size: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)        # plaintext bytes
    stored_size: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)  # encrypted bytes
    sha256: Mapped[str] = mapped_column(sa.String(64), default="")                # of the plaintext
    key_id: Mapped[str] = mapped_column(sa.String(32), default="")
    storage: Mapped[str] = mapped_column(sa.String(16), default="")               # local | s3
    location: Mapped[str] = mapped_column(sa.String(512), default="")             # the storage key
    spool_path: Mapped[str] = mapped_column(sa.String(1024), default="")          # FreeSWITCH's plaintext file
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    fault: Mapped[str] = mapped_column(sa.String(512), default="")
    retention_days: Mapped[int] = mapped_column(sa.Integer, default=90)
    legal_hold: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    hold_reason: Mapped[str] = mapped_column(sa.String(512), default="")
    hold_by: Mapped[str] = mapped_column(sa.String(128), default="")
    hold_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


RECORDINGS = Recording.__table__


@dataclass(frozen=True)
class RecordingRecord:
    id: str
    interaction: str
    tenant: str
    started_at: datetime
    status: str = "recording"
    queue: str = ""
    agents: tuple[str, ...] = ()
    caller_number: str = ""
    node: str = ""
    ended_at: datetime | None = None
    duration: float | None = None
    size: int | None = None
    stored_size: int | None = None
    sha256: str = ""
    key_id: str = ""
    storage: str = ""
    location: str = ""
    spool_path: str = ""
    fault: str = ""
    retention_days: int = 90
    legal_hold: bool = False
    hold_reason: str = ""
    hold_by: str = ""
    hold_at: datetime | None = None
    deleted_at: datetime | None = None


def _record(row) -> RecordingRecord:
    m = row._mapping
    return RecordingRecord(**{k: (tuple(m[k] or ()) if k == "agents" else m[k])
                              for k in m.keys() if k in RecordingRecord.__dataclass_fields__})


def create(conn: sa.Connection, record: RecordingRecord) -> RecordingRecord:
    """The row of a recording that just started (status `recording`); a replayed start is ignored."""
    if not record.id or not record.tenant or record.status not in STATUSES:
        raise InvalidRecord(f"invalid recording {record.id!r} (tenant {record.tenant!r}, status {record.status!r})")
    existing = get(conn, record.id)
    if existing is not None:
        return existing
    values = {k: getattr(record, k) for k in RECORDINGS.c.keys()}
    values["agents"] = list(record.agents)
    conn.execute(sa.insert(RECORDINGS).values(**values))
    return get(conn, record.id)


def get(conn: sa.Connection, recording_id: str) -> RecordingRecord | None:
    row = conn.execute(sa.select(RECORDINGS).where(RECORDINGS.c.id == recording_id)).first()
    return _record(row) if row is not None else None


def _existing(conn: sa.Connection, recording_id: str) -> RecordingRecord:
    record = get(conn, recording_id)
    if record is None:
        raise UnknownRecording(f"no recording {recording_id!r}")
    return record


def change(conn: sa.Connection, recording_id: str, status: str | None = None, **values) -> RecordingRecord:
    """Update a row; a status change must be one of TRANSITIONS."""
    record = _existing(conn, recording_id)
    if status is not None:   # fault -> fault is a change (a new failure), other same-status moves are not
        if status not in TRANSITIONS[record.status] and status != record.status:
            raise IllegalRecordingChange(f"recording {recording_id}: {record.status} -[{status}]-> refused")
        values["status"] = status
    unknown = set(values) - set(RECORDINGS.c.keys())
    if unknown:
        raise InvalidRecord(f"no recording column(s) {sorted(unknown)}")
    if "agents" in values:
        values["agents"] = list(values["agents"])
    if values:
        conn.execute(sa.update(RECORDINGS).where(RECORDINGS.c.id == recording_id).values(**values))
    return get(conn, recording_id)


def add_agent(conn: sa.Connection, recording_id: str, agent: str) -> RecordingRecord:
    record = _existing(conn, recording_id)
    if not agent or agent in record.agents:
        return record
    return change(conn, recording_id, agents=[*record.agents, agent])


def search(conn: sa.Connection, tenants: set[str] | None, *, since: datetime | None = None,
           until: datetime | None = None, queue: str | None = None, agent: str | None = None,
           caller: str | None = None, interaction: str | None = None, statuses: Iterable[str] | None = None,
           limit: int | None = 200) -> list[RecordingRecord]:
    """Recordings newest first. `tenants` None = every tenant; an empty set finds nothing."""
    stmt = sa.select(RECORDINGS).order_by(RECORDINGS.c.started_at.desc(), RECORDINGS.c.id)
    if tenants is not None:
        stmt = stmt.where(RECORDINGS.c.tenant.in_(sorted(tenants)))
    if since is not None:
        stmt = stmt.where(RECORDINGS.c.started_at >= since)
    if until is not None:
        stmt = stmt.where(RECORDINGS.c.started_at < until)
    if queue:
        stmt = stmt.where(RECORDINGS.c.queue == queue)
    if caller:
        stmt = stmt.where(RECORDINGS.c.caller_number.contains(caller, autoescape=True))
    if interaction:
        stmt = stmt.where(RECORDINGS.c.interaction == interaction)
    if statuses is not None:
        stmt = stmt.where(RECORDINGS.c.status.in_(list(statuses)))
    rows = [_record(r) for r in conn.execute(stmt)]
    if agent:   # the agents list is JSON on both databases: filtered here, not in SQL
        rows = [r for r in rows if agent in r.agents]
    return rows[:limit] if limit is not None else rows


def set_hold(conn: sa.Connection, recording_id: str, reason: str, by: str, at: datetime) -> RecordingRecord:
    """Legal hold: retention keeps the recording until the hold is lifted."""
    if not reason or not reason.strip():
        raise InvalidRecord("a legal hold needs a reason")
    record = _existing(conn, recording_id)
    if record.status == "deleted":
        raise IllegalRecordingChange(f"recording {recording_id}: deleted -[hold]-> refused")
    return change(conn, recording_id, legal_hold=True, hold_reason=reason.strip()[:512], hold_by=by[:128], hold_at=at)


def lift_hold(conn: sa.Connection, recording_id: str, by: str, at: datetime) -> RecordingRecord:
    _existing(conn, recording_id)
    return change(conn, recording_id, legal_hold=False, hold_reason="", hold_by=by[:128], hold_at=at)

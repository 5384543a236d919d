"""The recordings' access log: append-only and hash-chained.

Rules:
- Every search, listen, download, export, hold, release, deletion and recorder fault is
  one row (`append_audit`). Rows are only inserted: triggers refuse UPDATE, DELETE (and
  TRUNCATE on PostgreSQL) — migration 0006.
- A trigger can be dropped by whoever owns the schema, so each row also carries
  `hash = sha256(prev_hash + canonical JSON of the entry)` with `prev_hash` the previous
  row's hash ("" for the first). `verify_audit` recomputes the chain: a changed row breaks
  its own hash, a deleted or inserted-out-of-order row breaks the next row's `prev_hash`.
- Appends are serialised so the chain never forks: a transaction-scoped advisory lock on
  PostgreSQL; on SQLite a first no-op write takes the database's write lock before the
  previous hash is read.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigId, JSONData, UTCDateTime
from store.errors import InvalidRecord

CHAIN_LOCK = 0x5E_17_A1_0D   # pg_advisory_xact_lock key of the audit chain


class RecordingAuditRow(Base):
    __tablename__ = "recording_audit"
    __table_args__ = (sa.Index("ix_recording_audit_tenant_at", "tenant", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(128))
    action: Mapped[str] = mapped_column(sa.String(64))
    recording: Mapped[str] = mapped_column(sa.String(64), index=True)
    tenant: Mapped[str] = mapped_column(sa.String(64))
    detail: Mapped[dict] = mapped_column(JSONData, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


AUDIT = RecordingAuditRow.__table__


@dataclass(frozen=True)
class RecordingAuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    recording: str
    tenant: str
    detail: Mapping[str, object] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""


def entry_hash(prev_hash: str, at: datetime, actor: str, action: str, recording: str, tenant: str,
               detail: Mapping) -> str:
    """sha256(prev_hash + canonical JSON): sorted keys, no spaces, UTC time to the µs."""
    canonical = json.dumps({"at": at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
                            "actor": actor, "action": action, "recording": recording, "tenant": tenant,
                            "detail": detail}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _lock_chain(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    else:   # a write statement takes SQLite's write lock (waits busy_timeout), even matching no row
        conn.execute(sa.text("UPDATE recordings SET id = id WHERE 0 = 1"))


def append_audit(conn: sa.Connection, actor: str, action: str, recording: str, tenant: str,
                 detail: Mapping | None, at: datetime) -> RecordingAuditEntry:
    """One access-log row, chained to the previous one (inside the caller's transaction)."""
    if not actor or not action:
        raise InvalidRecord("an audit entry names its actor and action")
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise InvalidRecord(f"audit times are aware datetimes, got {at!r}")
    at = at.astimezone(timezone.utc)
    detail = json.loads(json.dumps(dict(detail or {}), default=str))   # what the database gives back
    _lock_chain(conn)
    prev = conn.execute(sa.select(AUDIT.c.hash).order_by(AUDIT.c.id.desc()).limit(1)).scalar() or ""
    digest = entry_hash(prev, at, actor, action, recording or "", tenant or "", detail)
    row_id = conn.execute(sa.insert(AUDIT).values(
        at=at, actor=actor[:128], action=action[:64], recording=(recording or "")[:64], tenant=(tenant or "")[:64],
        detail=detail, prev_hash=prev, hash=digest).returning(AUDIT.c.id)).scalar_one()
    return RecordingAuditEntry(row_id, at, actor, action, recording or "", tenant or "", detail, prev, digest)


def _entry(row) -> RecordingAuditEntry:
    return RecordingAuditEntry(row.id, row.at, row.actor, row.action, row.recording, row.tenant,
                               dict(row.detail or {}), row.prev_hash, row.hash)


def audit_rows(conn: sa.Connection, *, recording: str | None = None, tenants: set[str] | None = None,
               action: str | None = None, since: datetime | None = None, limit: int | None = None
               ) -> list[RecordingAuditEntry]:
    """Entries oldest first; `tenants` None = every tenant."""
    stmt = sa.select(AUDIT).order_by(AUDIT.c.id)
    if recording is not None:
        stmt = stmt.where(AUDIT.c.recording == recording)
    if tenants is not None:
        stmt = stmt.where(AUDIT.c.tenant.in_(sorted(tenants)))
    if action is not None:
        stmt = stmt.where(AUDIT.c.action == action)
    if since is not None:
        stmt = stmt.where(AUDIT.c.at >= since)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_entry(r) for r in conn.execute(stmt)]


def verify_audit(conn: sa.Connection) -> list[int]:
    """Ids of the rows where the chain breaks (empty = intact)."""
    broken, prev = [], ""
    for row in conn.execute(sa.select(AUDIT).order_by(AUDIT.c.id)):
        expected = entry_hash(row.prev_hash, row.at, row.actor, row.action, row.recording, row.tenant,
                              dict(row.detail or {}))
        if row.prev_hash != prev or row.hash != expected:
            broken.append(row.id)
        prev = row.hash
    return broken

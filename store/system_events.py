"""The system event log (`system_events`): what the engine process and the sync sources
say about themselves, for the fault and uptime reports (reports/health.py).

Rules:
- One row per event: `at` (UTC), `source` ('engine', 'node:<name>', 'sync:<tenant>/<source>'),
  `kind` (one of KINDS) and `data` (JSON: the reason of a `lost`, the error of a `failed`,
  the `interval` of a `heartbeat`).
- Append-only: rows are only inserted; triggers refuse UPDATE, DELETE (and TRUNCATE on
  PostgreSQL) — migration 0008.
- `events(start, end)` reads [start, end) in time order; `last_before(start)` gives each
  source's last event before a period, so a report knows the state at its start.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigId, JSONData, UTCDateTime
from store.errors import InvalidRecord

KINDS = ("started", "stopped", "heartbeat", "connected", "lost", "failed")
HEARTBEAT_SECONDS = 60.0     # the engine process's heartbeat period (its events carry it as `interval`)
TABLE_NAME = "system_events"


class SystemEventRow(Base):
    __tablename__ = TABLE_NAME
    __table_args__ = (sa.Index("ix_system_events_source_at", "source", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    source: Mapped[str] = mapped_column(sa.String(128))
    kind: Mapped[str] = mapped_column(sa.String(16))
    data: Mapped[dict] = mapped_column(JSONData, default=dict)


TABLE = SystemEventRow.__table__


@dataclass(frozen=True)
class SystemEvent:
    at: datetime
    source: str
    kind: str
    data: Mapping[str, object] = field(default_factory=dict)
    id: int | None = None          # set when read back


def _params(event: SystemEvent) -> dict:
    if event.kind not in KINDS:
        raise InvalidRecord(f"system event kind {event.kind!r} is not one of {', '.join(KINDS)}")
    if not event.source or len(event.source) > 128:
        raise InvalidRecord(f"system event source {event.source!r}: 1 to 128 characters")
    if not isinstance(event.at, datetime) or event.at.tzinfo is None:
        raise InvalidRecord(f"system event {event.source}/{event.kind}: `at` must be an aware datetime")
    return {"at": event.at, "source": event.source, "kind": event.kind, "data": dict(event.data or {})}


def append(conn: sa.Connection, events: Iterable[SystemEvent]) -> int:
    params = [_params(e) for e in events]
    if params:
        conn.execute(sa.insert(TABLE), params)
    return len(params)


def _event(r) -> SystemEvent:
    return SystemEvent(at=r.at, source=r.source, kind=r.kind, data=dict(r.data or {}), id=r.id)


def read(conn: sa.Connection, start: datetime | None = None, end: datetime | None = None,
         source: str | None = None, kinds: Iterable[str] | None = None) -> list[SystemEvent]:
    """Events with start <= at < end, in time order (id breaks ties: the order written)."""
    t = TABLE
    stmt = sa.select(t)
    if start is not None:
        stmt = stmt.where(t.c.at >= start)
    if end is not None:
        stmt = stmt.where(t.c.at < end)
    if source is not None:
        stmt = stmt.where(t.c.source == source)
    if kinds is not None:
        stmt = stmt.where(t.c.kind.in_(list(kinds)))
    return [_event(r) for r in conn.execute(stmt.order_by(t.c.at, t.c.id))]


def last_before(conn: sa.Connection, start: datetime) -> dict[str, SystemEvent]:
    """Each source's last event before `start` (the state a period starts in)."""
    t = TABLE
    latest = (sa.select(t.c.source, sa.func.max(t.c.at).label("at"))
              .where(t.c.at < start).group_by(t.c.source).subquery())
    stmt = (sa.select(t).join(latest, sa.and_(t.c.source == latest.c.source, t.c.at == latest.c.at))
            .order_by(t.c.at, t.c.id))
    return {e.source: e for e in map(_event, conn.execute(stmt))}   # ties at one instant: the last written

"""Current runtime state: interactions, agent states, callback requests (upserted rows).

Rules: writes are batched upserts keyed by the record id (last record wins within a
batch); reads return frozen records from `store/records.py`. `open_interactions` and
`load_agent_states` are what the engine reads when it comes back after a restart.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

import sqlalchemy as sa

from store.errors import InvalidRecord
from store.models import AgentState, CallbackRequest, Interaction
from store.records import AgentStateRecord, CallbackRecord, InteractionRecord, from_row, to_params
from store.upsert import upsert

INTERACTIONS = Interaction.__table__
AGENTS = AgentState.__table__
CALLBACKS = CallbackRequest.__table__
CALLBACK_STATES = ("pending", "offered", "done", "failed", "cancelled")


def _stamped(records: Iterable, cls, now: datetime) -> list[dict]:
    rows = []
    for record in records:
        if not isinstance(record, cls):
            raise InvalidRecord(f"expected {cls.__name__}, got {type(record).__name__}")
        params = to_params(record)
        params["updated_at"] = now
        rows.append(params)
    return rows


def upsert_interactions(conn: sa.Connection, records: Iterable[InteractionRecord], now: datetime) -> None:
    upsert(conn, INTERACTIONS, ("id",), _stamped(records, InteractionRecord, now))


def open_interactions(conn: sa.Connection, tenant: str | None = None) -> list[InteractionRecord]:
    t = INTERACTIONS
    stmt = sa.select(t).where(t.c.ended_at.is_(None))
    if tenant is not None:
        stmt = stmt.where(t.c.tenant == tenant)
    stmt = stmt.order_by(t.c.entered_at, t.c.id)
    return [from_row(InteractionRecord, r) for r in conn.execute(stmt)]


def get_interaction(conn: sa.Connection, interaction_id: str) -> InteractionRecord | None:
    row = conn.execute(sa.select(INTERACTIONS).where(INTERACTIONS.c.id == interaction_id)).first()
    return from_row(InteractionRecord, row) if row else None


def save_agent_states(conn: sa.Connection, records: Iterable[AgentStateRecord], now: datetime) -> None:
    upsert(conn, AGENTS, ("agent",), _stamped(records, AgentStateRecord, now))


def load_agent_states(conn: sa.Connection) -> dict[str, AgentStateRecord]:
    rows = conn.execute(sa.select(AGENTS).order_by(AGENTS.c.agent))
    return {r.agent: from_row(AgentStateRecord, r) for r in rows}


def save_callbacks(conn: sa.Connection, records: Iterable[CallbackRecord]) -> None:
    rows = []
    for record in records:
        if record.state not in CALLBACK_STATES:
            raise InvalidRecord(f"callback {record.id}: state {record.state!r} not in {CALLBACK_STATES}")
        rows.append(to_params(record))
    upsert(conn, CALLBACKS, ("id",), rows)


def callbacks(conn: sa.Connection, state: str | None = "pending", queue: str | None = None,
              tenant: str | None = None) -> list[CallbackRecord]:
    """Callback requests in queue order (their original place: `position_at`)."""
    t = CALLBACKS
    stmt = sa.select(t)
    if state is not None:
        stmt = stmt.where(t.c.state == state)
    if queue is not None:
        stmt = stmt.where(t.c.queue == queue)
    if tenant is not None:
        stmt = stmt.where(t.c.tenant == tenant)
    return [from_row(CallbackRecord, r) for r in conn.execute(stmt.order_by(t.c.position_at, t.c.id))]


def contacts_since(conn: sa.Connection, caller_number: str, since: datetime, limit: int = 20) -> list[InteractionRecord]:
    """A caller's interactions that entered at or after `since`, newest first."""
    if not caller_number:
        return []
    t = INTERACTIONS
    rows = conn.execute(sa.select(t).where(t.c.caller_number == caller_number, t.c.entered_at >= since)
                        .order_by(t.c.entered_at.desc()).limit(limit))
    return [from_row(InteractionRecord, r) for r in rows]

"""Tables of the ACD runtime: interactions, the append-only journal, agent states, callbacks.

Rules:
- `journal` is append-only: rows are only ever inserted, with conflict-ignore on
  (interaction, seq), so a replayed decision's row is dropped, never duplicated. No code
  path updates or deletes it; on PostgreSQL and SQLite a trigger refuses UPDATE and
  DELETE (created by the migration, see `APPEND_ONLY_TABLES`).
- `interactions`, `agent_states` and `callback_requests` hold the *current* state the
  engine needs to come back after a restart (upserted); history lives in the journal.
- String ids are the engine's own (interaction ids, agent ids, tenant and queue ids).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigId, JSONData, UTCDateTime

APPEND_ONLY_TABLES = ("journal", "audit_log")


class Interaction(Base):
    """One call (or e-mail, SMS) as the engine last saw it; `ended_at` NULL = still open."""

    __tablename__ = "interactions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), default="call")
    tenant: Mapped[str] = mapped_column(sa.String(64), index=True)
    queue: Mapped[str] = mapped_column(sa.String(64), default="")
    node: Mapped[str] = mapped_column(sa.String(64), default="")
    caller_uuid: Mapped[str] = mapped_column(sa.String(64), default="")
    caller_number: Mapped[str] = mapped_column(sa.String(64), default="")
    caller_name: Mapped[str] = mapped_column(sa.String(128), default="")
    destination: Mapped[str] = mapped_column(sa.String(64), default="")
    state: Mapped[str] = mapped_column(sa.String(32))
    priority: Mapped[int] = mapped_column(sa.Integer, default=0)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    queue_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    agent: Mapped[str] = mapped_column(sa.String(64), default="")
    agent_uuid: Mapped[str] = mapped_column(sa.String(64), default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    end_reason: Mapped[str] = mapped_column(sa.String(64), default="")
    data: Mapped[dict] = mapped_column(JSONData, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JournalRow(Base):
    """One interaction event, never changed once written."""

    __tablename__ = "journal"
    __table_args__ = (
        sa.UniqueConstraint("interaction", "seq"),
        sa.CheckConstraint("seq >= 1", name="seq_positive"),
        sa.Index("ix_journal_tenant_at", "tenant", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    interaction: Mapped[str] = mapped_column(sa.String(64))
    seq: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    tenant: Mapped[str] = mapped_column(sa.String(64))
    queue: Mapped[str] = mapped_column(sa.String(64), default="")
    agent: Mapped[str] = mapped_column(sa.String(64), default="")
    data: Mapped[dict] = mapped_column(JSONData, default=dict)


class AgentState(Base):
    """What the engine needs to restore an agent after a restart."""

    __tablename__ = "agent_states"

    agent: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(32))
    reason: Mapped[str] = mapped_column(sa.String(64), default="")
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    no_answer_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_call_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    calls_answered: Mapped[int] = mapped_column(sa.Integer, default=0)
    talk_time: Mapped[float] = mapped_column(sa.Float, default=0.0)  # seconds
    interaction: Mapped[str] = mapped_column(sa.String(64), default="")
    data: Mapped[dict] = mapped_column(JSONData, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CallbackRequest(Base):
    """A caller asked to be called back; `position_at` keeps their place in the queue."""

    __tablename__ = "callback_requests"
    __table_args__ = (sa.Index("ix_callback_requests_state_queue", "state", "queue"),)

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    interaction: Mapped[str] = mapped_column(sa.String(64), default="")
    tenant: Mapped[str] = mapped_column(sa.String(64))
    queue: Mapped[str] = mapped_column(sa.String(64))
    number: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(128), default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    position_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    agent: Mapped[str] = mapped_column(sa.String(64), default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    data: Mapped[dict] = mapped_column(JSONData, default=dict)

"""The append-only interaction journal: batched conflict-ignoring insert, queries, checks.

Rules:
- Rows are engine `Journal` effects; `(interaction, seq)` is their identity. Appending a
  row whose identity exists already is a no-op (a replay after a restart or a retry
  after a lost commit acknowledgement), so appending is idempotent and safe to retry.
- There is no update or delete here, and the database refuses them (see 0001_core).
- A whole batch is one statement inside the caller's transaction. PostgreSQL: one
  `INSERT ... SELECT FROM unnest(<8 arrays>)` (a constant, short statement with one
  array per column: ~1.5× faster than multi-row VALUES, see BENCHMARKS.md), counted
  by rowcount. SQLite: SQLAlchemy "insertmanyvalues" pages, counted by RETURNING.
  Either way the count is of rows actually inserted (conflicts are not counted).
- Order: one interaction's rows by seq; a range across interactions by (at, interaction, seq).
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator

import sqlalchemy as sa

from engine.effects import Journal
from store.errors import InvalidRecord
from store.models import JournalRow
from store.upsert import insert_ignoring

TABLE = JournalRow.__table__
KEY = ("interaction", "seq")
_COLUMNS = ("interaction", "seq", "kind", "at", "tenant", "queue", "agent", "data")
_PG_UNNEST_INSERT = sa.text(
    "INSERT INTO journal (interaction, seq, kind, at, tenant, queue, agent, data) "
    "SELECT * FROM unnest(CAST(:interaction AS text[]), CAST(:seq AS int[]), CAST(:kind AS text[]), "
    "CAST(:at AS timestamptz[]), CAST(:tenant AS text[]), CAST(:queue AS text[]), "
    "CAST(:agent AS text[]), CAST(:data AS jsonb[])) "
    "ON CONFLICT (interaction, seq) DO NOTHING")


@dataclass(frozen=True)
class JournalProblem:
    """One interaction whose seq numbers are not exactly 1..n."""

    interaction: str
    missing: tuple[int, ...]
    duplicated: tuple[int, ...]
    first: int

    def __str__(self) -> str:
        return (f"journal of {self.interaction}: first seq {self.first}, missing {list(self.missing)}, "
                f"duplicated {list(self.duplicated)}")


def to_params(row: Journal) -> dict:
    if not isinstance(row.seq, int) or row.seq < 1:
        raise InvalidRecord(f"journal row {row.interaction!r}: seq must be an int >= 1, got {row.seq!r}")
    if not row.interaction or not row.kind:
        raise InvalidRecord(f"journal row needs an interaction and a kind: {row!r}")
    if not isinstance(row.at, datetime) or row.at.tzinfo is None:
        raise InvalidRecord(f"journal row {row.interaction}/{row.seq}: `at` must be an aware datetime")
    return {"interaction": row.interaction, "seq": row.seq, "kind": row.kind, "at": row.at,
            "tenant": row.tenant, "queue": row.queue or "", "agent": row.agent or "",
            "data": dict(row.data or {})}


def append(conn: sa.Connection, rows: Iterable[Journal]) -> int:
    """Insert `rows` (conflicts on (interaction, seq) dropped); return how many were new."""
    params = [to_params(r) for r in rows]
    if not params:
        return 0
    if conn.dialect.name == "postgresql":
        arrays = {name: [p[name] for p in params] for name in _COLUMNS}
        arrays["data"] = [json.dumps(d, separators=(",", ":")) for d in arrays["data"]]
        return conn.execute(_PG_UNNEST_INSERT, arrays).rowcount
    stmt = insert_ignoring(conn, TABLE, KEY).returning(TABLE.c.id)
    return len(conn.execute(stmt, params).all())


def _from_row(r) -> Journal:
    return Journal(interaction=r.interaction, seq=r.seq, kind=r.kind, at=r.at, tenant=r.tenant,
                   queue=r.queue, agent=r.agent, data=dict(r.data or {}))


def select(interaction: str | None = None, since: datetime | None = None,
           until: datetime | None = None, tenant: str | None = None, kinds: Iterable[str] | None = None):
    """The query for journal rows; `since` inclusive, `until` exclusive; `kinds` only these kinds."""
    t = TABLE
    stmt = sa.select(*(t.c[name] for name in _COLUMNS))
    if kinds is not None:
        stmt = stmt.where(t.c.kind.in_(list(kinds)))
    if interaction is not None:
        stmt = stmt.where(t.c.interaction == interaction)
    if tenant is not None:
        stmt = stmt.where(t.c.tenant == tenant)
    if since is not None:
        stmt = stmt.where(t.c.at >= since)
    if until is not None:
        stmt = stmt.where(t.c.at < until)
    if interaction is not None:
        return stmt.order_by(t.c.seq)
    return stmt.order_by(t.c.at, t.c.interaction, t.c.seq)


def period_select(start: datetime, end: datetime):
    """Every row of the interactions that arrived or entered a queue in [start, end): a
    report of a period counts them with all they did, also after its end (docs/metrics.md)."""
    t = TABLE
    inside = (sa.select(t.c.interaction).where(t.c.kind.in_(("arrived", "entered_queue")),
                                               t.c.at >= start, t.c.at < end).distinct())
    return (sa.select(*(t.c[name] for name in _COLUMNS)).where(t.c.interaction.in_(inside))
            .order_by(t.c.interaction, t.c.seq))


def stream_period(conn: sa.Connection, start: datetime, end: datetime, batch: int = 5000) -> Iterator[Journal]:
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(period_select(start, end))
    for r in result:
        yield _from_row(r)


def read(conn: sa.Connection, **filters) -> list[Journal]:
    return [_from_row(r) for r in conn.execute(select(**filters))]


def stream(conn: sa.Connection, batch: int = 5000, **filters) -> Iterator[Journal]:
    """Like `read` but without holding every row in memory (server-side cursor on PostgreSQL)."""
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(select(**filters))
    for r in result:
        yield _from_row(r)


def last_seqs(conn: sa.Connection, interactions: Iterable[str] | None = None) -> dict[str, int]:
    """The highest stored seq per interaction: where a restarted engine continues numbering.

    `interactions=None` means every interaction still open in `interactions` (ended_at NULL).
    Interactions without journal rows are absent from the result (continue from 1).
    """
    from store.models import Interaction

    t = TABLE
    stmt = sa.select(t.c.interaction, sa.func.max(t.c.seq)).group_by(t.c.interaction)
    if interactions is None:
        open_ids = sa.select(Interaction.id).where(Interaction.ended_at.is_(None))
        stmt = stmt.where(t.c.interaction.in_(open_ids))
    else:
        ids = list(interactions)
        if not ids:
            return {}
        stmt = stmt.where(t.c.interaction.in_(ids))
    return {interaction: seq for interaction, seq in conn.execute(stmt)}


def verify(conn: sa.Connection, interaction: str | None = None,
           period: tuple[datetime, datetime] | None = None) -> list[JournalProblem]:
    """Every interaction whose seqs are not exactly 1..n (a gap, a duplicate, a late start);
    `period` (start, end): only the interactions with a row in [start, end)."""
    t = TABLE
    summary = (sa.select(t.c.interaction)
               .group_by(t.c.interaction)
               .having(sa.or_(sa.func.min(t.c.seq) != 1,
                              sa.func.max(t.c.seq) != sa.func.count(),
                              sa.func.count(sa.distinct(t.c.seq)) != sa.func.count())))
    if interaction is not None:
        summary = summary.where(t.c.interaction == interaction)
    if period is not None:
        inside = sa.select(t.c.interaction).where(t.c.at >= period[0], t.c.at < period[1]).distinct()
        summary = summary.where(t.c.interaction.in_(inside))
    problems = []
    for (bad,) in conn.execute(summary.order_by(t.c.interaction)):
        seqs = [s for (s,) in conn.execute(sa.select(t.c.seq).where(t.c.interaction == bad).order_by(t.c.seq))]
        present = set(seqs)
        missing = tuple(s for s in range(1, max(seqs) + 1) if s not in present)
        duplicated = tuple(sorted(s for s, n in Counter(seqs).items() if n > 1))
        problems.append(JournalProblem(bad, missing, duplicated, seqs[0]))
    return problems

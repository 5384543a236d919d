"""Stored report aggregates: the figures of reports.figures per quarter-hour, kept up to date
from the journal (`report_figures`), and how far the journal has been folded into them
(`report_position`). The folding itself is reports/aggregate.py; this module is its SQL.

Rules:
- One row per (quarter, scope, tenant, queue, agent), '' where a key does not apply:
  scope 'queue' = (quarter, agency, queue), 'agency' = (quarter, agency), 'agent' =
  (quarter, agent). `quarter` is the UTC start of the quarter-hour. One BigInteger column
  per figure (FIGURES, docs/metrics.md): counts, and times in whole milliseconds.
- Deltas are added in place by one upsert statement per chunk (`add`): every figure is a sum
  (`col = report_figures.col + excluded.col`) except `longest_wait`, a maximum.
- `report_position` has one row per aggregate set (name "main"): `journal_id`, the highest
  journal id folded in (every row with a smaller or equal id is counted, none above), and the
  `limits` (service-level targets, short-abandon limit) the figures were counted with.
- Position and figures change in the same transaction, so a fold either happened
  completely or not at all. Folds are serialised on the position row (`lock_position`:
  SELECT ... FOR UPDATE [SKIP LOCKED] on PostgreSQL; on SQLite the first write takes the
  database's write lock).
- `committed_high_water`: PostgreSQL hands out journal ids when a row is inserted, not when
  it is committed, so a transaction can commit id 100 after another committed id 101. A
  fold only reads up to the highest id below which every transaction has finished: a
  SHARE lock on `journal` (it waits for the inserts in flight, then is released at once).
"""
from __future__ import annotations

from datetime import datetime
from typing import Collection, Iterator

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from store.base import Base, JSONData, UTCDateTime
from store.models import JournalRow

FIGURES = ("calls", "after_hours", "direct_dial", "abandoned_before_queue",
           "offered", "transferred_in", "answered", "answered_in_sl", "abandoned", "short_abandoned",
           "abandoned_after_sl", "overflowed", "callbacks_requested", "callbacks_made", "transferred_out",
           "recalled", "rona", "messages_taken", "wait_answered", "longest_wait", "talk", "hold", "wrapup",
           "in_progress")
MAXIMA = frozenset({"longest_wait"})
SCOPES = ("queue", "agency", "agent")
KEY = ("quarter", "scope", "tenant", "queue", "agent")
MAIN = "main"
LOCK_TIMEOUT = "5s"     # how long a fold waits for the journal's inserts in flight

FIGURES_TABLE = sa.Table(
    "report_figures", Base.metadata,
    sa.Column("quarter", UTCDateTime, primary_key=True),
    sa.Column("scope", sa.String(8), primary_key=True),
    sa.Column("tenant", sa.String(64), primary_key=True, default=""),
    sa.Column("queue", sa.String(64), primary_key=True, default=""),
    sa.Column("agent", sa.String(64), primary_key=True, default=""),
    *(sa.Column(name, sa.BigInteger, nullable=False, default=0) for name in FIGURES),
    sa.CheckConstraint("scope IN ('queue', 'agency', 'agent')", name="scope"),
)

POSITION_TABLE = sa.Table(
    "report_position", Base.metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("journal_id", sa.BigInteger, nullable=False, default=0),
    sa.Column("limits", JSONData, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

_JOURNAL = JournalRow.__table__
JOURNAL_COLUMNS = ("id", "interaction", "seq", "kind", "at", "tenant", "queue", "agent", "data")
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


# -- the position ---------------------------------------------------------------------
def committed_high_water(engine: sa.Engine) -> int | None:
    """The highest journal id below which every row is committed (0: no row), in a
    transaction of its own: see the module's rules. None when an insert stayed in flight
    longer than LOCK_TIMEOUT (try again later)."""
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            try:
                conn.exec_driver_sql("LOCK TABLE journal IN SHARE MODE")
            except sa.exc.OperationalError as exc:
                if getattr(exc.orig, "pgcode", None) == "55P03":     # lock_not_available
                    return None
                raise
        return max_journal_id(conn)


def max_journal_id(conn: sa.Connection) -> int:
    return conn.execute(sa.select(sa.func.max(_JOURNAL.c.id))).scalar() or 0


def lock_position(conn: sa.Connection, name: str, limits: dict, now: datetime, *, wait: bool = True):
    """The position row (created at journal id 0 with `limits` if missing), locked for this
    transaction; None when another transaction holds it and `wait` is False."""
    t = POSITION_TABLE
    conn.execute(_INSERTS[conn.dialect.name](t).on_conflict_do_nothing(index_elements=["name"]),
                 {"name": name, "journal_id": 0, "limits": limits, "updated_at": now})
    stmt = sa.select(t.c.journal_id, t.c.limits, t.c.updated_at).where(t.c.name == name)
    return conn.execute(stmt.with_for_update(skip_locked=not wait)).first()


def read_position(conn: sa.Connection, name: str = MAIN):
    """(journal_id, limits, updated_at) or None when nothing was ever folded; no lock."""
    t = POSITION_TABLE
    return conn.execute(sa.select(t.c.journal_id, t.c.limits, t.c.updated_at).where(t.c.name == name)).first()


def set_position(conn: sa.Connection, name: str, journal_id: int, limits: dict, now: datetime) -> None:
    t = POSITION_TABLE
    conn.execute(t.update().where(t.c.name == name).values(journal_id=journal_id, limits=limits, updated_at=now))


# -- journal rows, with their ids -------------------------------------------------------
def batch_end(conn: sa.Connection, after: int, upto: int, batch: int) -> int | None:
    """The id of the `batch`-th row after `after` (or the last one up to `upto`); None: none."""
    ids = (sa.select(_JOURNAL.c.id).where(_JOURNAL.c.id > after, _JOURNAL.c.id <= upto)
           .order_by(_JOURNAL.c.id).limit(batch).subquery())
    return conn.execute(sa.select(sa.func.max(ids.c.id))).scalar()


def rows_of_touched(conn: sa.Connection, after: int, upto: int | None) -> list:
    """Every row (id <= upto) of the interactions that have a row with after < id <= upto,
    ordered by interaction and seq."""
    j = _JOURNAL
    touched = sa.select(j.c.interaction).where(j.c.id > after)
    rows = sa.select(*(j.c[name] for name in JOURNAL_COLUMNS))
    if upto is not None:
        touched = touched.where(j.c.id <= upto)
        rows = rows.where(j.c.id <= upto)
    return conn.execute(rows.where(j.c.interaction.in_(touched.distinct())).order_by(j.c.interaction, j.c.seq)).all()


def stream_rows(conn: sa.Connection, upto: int, batch: int = 10000) -> Iterator:
    """Every row with id <= upto, by interaction and seq (server-side cursor on PostgreSQL)."""
    j = _JOURNAL
    stmt = (sa.select(*(j.c[name] for name in JOURNAL_COLUMNS)).where(j.c.id <= upto)
            .order_by(j.c.interaction, j.c.seq).execution_options(stream_results=True, yield_per=batch))
    yield from conn.execute(stmt)


# -- the figures ------------------------------------------------------------------------
def add(conn: sa.Connection, rows: list[dict], chunk: int = 5000) -> None:
    """Add each row's figures to the stored row of its key (insert it when missing);
    `longest_wait` keeps the larger value. Every row names every column, each key once.
    PostgreSQL: one `INSERT ... SELECT FROM unnest(<one array per column>) ON CONFLICT DO
    UPDATE` per chunk (psycopg2's executemany would send one statement per row)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        sql = _pg_add()
        for k in range(0, len(rows), chunk):
            part = rows[k:k + chunk]
            conn.execute(sql, {c.name: [r[c.name] for r in part] for c in FIGURES_TABLE.columns})
        return
    t = FIGURES_TABLE
    stmt = sqlite.insert(t)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(KEY),
        set_={name: (sa.func.max(t.c[name], stmt.excluded[name]) if name in MAXIMA else t.c[name] + stmt.excluded[name])
              for name in FIGURES})
    for k in range(0, len(rows), chunk):
        conn.execute(stmt, rows[k:k + chunk])


_PG_ADD: list[sa.TextClause] = []


def _pg_add() -> sa.TextClause:
    if not _PG_ADD:
        types = {"quarter": "timestamptz", "scope": "text", "tenant": "text", "queue": "text", "agent": "text"}
        columns = [c.name for c in FIGURES_TABLE.columns]
        arrays = ", ".join(f"CAST(:{name} AS {types.get(name, 'bigint')}[])" for name in columns)
        sets = ", ".join(f"{name} = greatest(report_figures.{name}, EXCLUDED.{name})" if name in MAXIMA
                         else f"{name} = report_figures.{name} + EXCLUDED.{name}" for name in FIGURES)
        _PG_ADD.append(sa.text(f"INSERT INTO report_figures ({', '.join(columns)}) SELECT * FROM unnest({arrays}) "
                               f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {sets}"))
    return _PG_ADD[0]


def replace(conn: sa.Connection, rows: list[dict]) -> None:
    """Every stored figure deleted, then `rows` inserted (same transaction)."""
    conn.execute(FIGURES_TABLE.delete())
    add(conn, rows)


def read(conn: sa.Connection, start: datetime | None = None, end: datetime | None = None,
         scopes: Collection[str] | None = None) -> Iterator:
    """Stored rows of the quarters in [start, end) (all when None), of `scopes` only if given."""
    t = FIGURES_TABLE
    stmt = sa.select(t).execution_options(stream_results=True, yield_per=10000)
    if scopes is not None:
        stmt = stmt.where(t.c.scope.in_(tuple(scopes)))
    if start is not None:
        stmt = stmt.where(t.c.quarter >= start)
    if end is not None:
        stmt = stmt.where(t.c.quarter < end)
    yield from conn.execute(stmt)


def read_summed(conn: sa.Connection, start: datetime, end: datetime,
                scopes: Collection[str] | None = None) -> Iterator:
    """(quarter, scope, *FIGURES) of the quarters in [start, end): each scope's stored rows of
    a quarter added up (over its agencies, queues or agents; MAXIMA: the largest), in SQL."""
    t = FIGURES_TABLE
    figures = [sa.cast(sa.func.max(t.c[n]) if n in MAXIMA else sa.func.sum(t.c[n]), sa.BigInteger).label(n)
               for n in FIGURES]
    stmt = (sa.select(t.c.quarter, t.c.scope, *figures).where(t.c.quarter >= start, t.c.quarter < end)
            .group_by(t.c.quarter, t.c.scope))
    if scopes is not None:
        stmt = stmt.where(t.c.scope.in_(tuple(scopes)))
    yield from conn.execute(stmt)

"""Dialect-aware INSERT ... ON CONFLICT for PostgreSQL and SQLite (both speak it).

`insert_ignoring` drops rows whose key already exists (only that unique key: a CHECK or
NOT NULL violation still raises, unlike SQLite's `INSERT OR IGNORE`); `upsert`
overwrites every non-key column with the new row.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _insert(conn: sa.Connection, table: sa.Table):
    try:
        return _INSERTS[conn.dialect.name](table)
    except KeyError:
        raise NotImplementedError(f"store supports PostgreSQL and SQLite, not {conn.dialect.name}") from None


def insert_ignoring(conn: sa.Connection, table: sa.Table, keys: tuple[str, ...]):
    return _insert(conn, table).on_conflict_do_nothing(index_elements=list(keys))


def upsert(conn: sa.Connection, table: sa.Table, keys: tuple[str, ...], rows: list[dict]) -> None:
    if not rows:
        return
    # One statement may not touch a key twice (PostgreSQL refuses): the last row wins.
    rows = list({tuple(r[k] for k in keys): r for r in rows}.values())
    stmt = _insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
    )
    conn.execute(stmt, rows)

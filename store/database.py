"""Database URLs and engines: the one place that opens a connection pool.

Rules:
- The URL comes from, in order: the caller, `SENTRAL_DATABASE_URL`, then the embedded
  default `sqlite:///var/sentral.db` (relative to the working directory).
- A URL is only ever logged through `safe_url()` (password hidden), and SQL errors are
  raised without their bound parameters (`hide_parameters`): no personal data in logs.
- SQLite: the parent directory is created; every connection gets WAL, foreign keys,
  synchronous=NORMAL and a busy timeout. PostgreSQL: pre-ping, so a connection the
  server dropped is replaced instead of failing the next write.
"""
from __future__ import annotations

import logging
import os
import pathlib

import sqlalchemy as sa

log = logging.getLogger(__name__)

ENV_VAR = "SENTRAL_DATABASE_URL"
DEFAULT_URL = "sqlite:///var/sentral.db"


def resolve_url(url: str | None = None) -> str:
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def safe_url(url) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def create_engine(url: str | None = None, **kwargs) -> sa.Engine:
    url = sa.engine.make_url(resolve_url(url))
    kwargs.setdefault("hide_parameters", True)  # errors and logs never carry callers' data
    if url.get_backend_name() == "sqlite":
        _prepare_sqlite_path(url)
        engine = sa.create_engine(url, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = sa.create_engine(url, **kwargs)
    log.debug("database engine for %s", safe_url(url))
    return engine


def _prepare_sqlite_path(url) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        pathlib.Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()

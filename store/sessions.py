"""Server-side login sessions of web users.

Rules:
- `open` makes a random 256-bit token for the browser's (signed) session cookie and
  stores only its SHA-256: whoever reads the database cannot ride a live session.
- `resolve` gives the user only while the row exists, the account is active, the
  session was used within `idle` and began within `absolute`; an expired row is
  deleted on sight. `last_seen_at` is written at most once a minute (no write per request).
- `close` (logout) deletes the row, so every copy of the cookie stops working at once;
  `close_user` ends all of a user's sessions (new password, deactivation: store.users).
- Time comes from the injected clock.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from store.accounts import WebSession, WebUser
from store.records import UserRecord
from store import users

SESSIONS = WebSession.__table__
USERS = WebUser.__table__
TOUCH_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(conn: sa.Connection, user_id: int, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    conn.execute(sa.insert(SESSIONS).values(token_hash=_hash(token), user_id=user_id, created_at=now,
                                            last_seen_at=now))
    return token


def resolve(conn: sa.Connection, token: str, now: datetime, *, idle: timedelta,
            absolute: timedelta) -> UserRecord | None:
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    key = _hash(token)
    row = conn.execute(sa.select(SESSIONS.c.created_at, SESSIONS.c.last_seen_at, USERS.c.username, USERS.c.active)
                       .join(USERS, USERS.c.id == SESSIONS.c.user_id)
                       .where(SESSIONS.c.token_hash == key)).first()
    if row is None:
        return None
    if not row.active or now - row.last_seen_at > idle or now - row.created_at > absolute:
        conn.execute(sa.delete(SESSIONS).where(SESSIONS.c.token_hash == key))
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        conn.execute(sa.update(SESSIONS).where(SESSIONS.c.token_hash == key).values(last_seen_at=now))
    return users.get_user(conn, row.username)


def close(conn: sa.Connection, token: str) -> None:
    if isinstance(token, str) and token:
        conn.execute(sa.delete(SESSIONS).where(SESSIONS.c.token_hash == _hash(token)))


def close_user(conn: sa.Connection, user_id: int) -> int:
    return conn.execute(sa.delete(SESSIONS).where(SESSIONS.c.user_id == user_id)).rowcount


def purge(conn: sa.Connection, now: datetime, *, idle: timedelta, absolute: timedelta) -> int:
    return conn.execute(sa.delete(SESSIONS).where(
        sa.or_(SESSIONS.c.last_seen_at < now - idle, SESSIONS.c.created_at < now - absolute))).rowcount


class WebSessions:
    """The web layer's handle: one transaction per call, on the store's engine and clock."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], datetime], *, idle: timedelta,
                 absolute: timedelta) -> None:
        self.engine, self.clock, self.idle, self.absolute = engine, clock, idle, absolute

    def open(self, user: UserRecord) -> str:
        with self.engine.begin() as conn:
            purge(conn, self.clock(), idle=self.idle, absolute=self.absolute)
            return open_session(conn, user.id, self.clock())

    def resolve(self, token: str) -> UserRecord | None:
        with self.engine.begin() as conn:
            return resolve(conn, token, self.clock(), idle=self.idle, absolute=self.absolute)

    def close(self, token: str) -> None:
        with self.engine.begin() as conn:
            close(conn, token)

    def count(self, user: UserRecord) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(SESSIONS)
                                .where(SESSIONS.c.user_id == user.id)).scalar_one()

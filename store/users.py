"""Web users, their per-tenant roles, and the audit log of access to personal data.

Rules:
- Passwords go in and are checked only through `store/passwords.py`; a hash never
  leaves this module (records carry no hash).
- `authenticate` spends the same KDF time for an unknown user as for a wrong password,
  so response time does not reveal which usernames exist.
- Audit entries are insert-only (the database refuses UPDATE/DELETE on audit_log).
- A new password or a deactivation ends every login session of that user (web_sessions).
- `bind_agent` binds a user to one engine agent (at most one user per agent: binding an
  agent already bound to someone else raises InvalidRecord); the binding ends that user's
  sessions, so an open console cannot keep acting as the previous agent.
"""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa

from store.accounts import ALL_TENANTS, ROLES, AuditEntry, WebSession, WebUser, WebUserRole
from store.errors import InvalidRecord, UnknownUser
from store.passwords import hash_password, needs_rehash, verify_password
from store.records import AuditRecord, UserRecord, from_row, to_params

USERS = WebUser.__table__
ROLES_T = WebUserRole.__table__
AUDIT = AuditEntry.__table__
SESSIONS = WebSession.__table__


@functools.cache
def _dummy_hash() -> str:
    return hash_password("no such user")


def _check_roles(roles: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    roles = list(roles)
    for tenant, role in roles:
        if role not in ROLES:
            raise InvalidRecord(f"unknown role {role!r} (known: {', '.join(ROLES)})")
        if not tenant:
            raise InvalidRecord(f"role {role!r} needs a tenant (or {ALL_TENANTS!r} for all)")
    return roles


def create_user(conn: sa.Connection, username: str, password: str, now: datetime, *,
                display_name: str = "", roles: Iterable[tuple[str, str]] = ()) -> UserRecord:
    if not username or username != username.strip():
        raise InvalidRecord(f"invalid username {username!r}")
    roles = _check_roles(roles)
    user_id = conn.execute(sa.insert(USERS).values(
        username=username, password_hash=hash_password(password), display_name=display_name,
        active=True, created_at=now).returning(USERS.c.id)).scalar_one()
    if roles:
        conn.execute(sa.insert(ROLES_T), [{"user_id": user_id, "tenant": t, "role": r} for t, r in roles])
    return get_user(conn, username)


def get_user(conn: sa.Connection, username: str) -> UserRecord | None:
    row = conn.execute(sa.select(USERS).where(USERS.c.username == username)).first()
    if row is None:
        return None
    roles = frozenset((t, r) for t, r in conn.execute(
        sa.select(ROLES_T.c.tenant, ROLES_T.c.role).where(ROLES_T.c.user_id == row.id)))
    return UserRecord(id=row.id, username=row.username, display_name=row.display_name, active=row.active,
                      roles=roles, created_at=row.created_at, last_login_at=row.last_login_at,
                      agent=row.agent or "")


def authenticate(conn: sa.Connection, username: str, password: str, now: datetime) -> UserRecord | None:
    """The user if the password is right and the account active; else None."""
    row = conn.execute(sa.select(USERS.c.id, USERS.c.password_hash, USERS.c.active)
                       .where(USERS.c.username == username)).first()
    if row is None:
        verify_password(password, _dummy_hash())
        return None
    if not verify_password(password, row.password_hash) or not row.active:
        return None
    values = {"last_login_at": now}
    if needs_rehash(row.password_hash):
        values["password_hash"] = hash_password(password)
    conn.execute(sa.update(USERS).where(USERS.c.id == row.id).values(**values))
    return get_user(conn, username)


def _end_sessions(conn: sa.Connection, username: str) -> None:
    conn.execute(sa.delete(SESSIONS).where(
        SESSIONS.c.user_id.in_(sa.select(USERS.c.id).where(USERS.c.username == username))))


def set_password(conn: sa.Connection, username: str, password: str) -> None:
    done = conn.execute(sa.update(USERS).where(USERS.c.username == username)
                        .values(password_hash=hash_password(password))).rowcount
    if not done:
        raise UnknownUser(f"no web user {username!r}")
    _end_sessions(conn, username)


def set_roles(conn: sa.Connection, username: str, roles: Iterable[tuple[str, str]]) -> None:
    roles = _check_roles(roles)
    user = get_user(conn, username)
    if user is None:
        raise UnknownUser(f"no web user {username!r}")
    conn.execute(sa.delete(ROLES_T).where(ROLES_T.c.user_id == user.id))
    if roles:
        conn.execute(sa.insert(ROLES_T), [{"user_id": user.id, "tenant": t, "role": r} for t, r in roles])


def set_active(conn: sa.Connection, username: str, active: bool) -> None:
    if not conn.execute(sa.update(USERS).where(USERS.c.username == username).values(active=active)).rowcount:
        raise UnknownUser(f"no web user {username!r}")
    if not active:
        _end_sessions(conn, username)


def bind_agent(conn: sa.Connection, username: str, agent: str | None) -> None:
    """Bind `username` to engine agent `agent` (None or "" unbinds)."""
    agent = (agent or "").strip() or None
    if agent is not None and len(agent) > 64:
        raise InvalidRecord(f"agent id too long: {agent[:64]!r}...")
    user = get_user(conn, username)
    if user is None:
        raise UnknownUser(f"no web user {username!r}")
    if agent is not None:
        holder = conn.execute(sa.select(USERS.c.username).where(USERS.c.agent == agent)).scalar()
        if holder is not None and holder != username:
            raise InvalidRecord(f"agent {agent!r} is already bound to another user")
    if (user.agent or None) == agent:
        return
    conn.execute(sa.update(USERS).where(USERS.c.id == user.id).values(agent=agent))
    _end_sessions(conn, username)


def list_users(conn: sa.Connection, tenant: str | None = None) -> list[UserRecord]:
    """Every user (by username), or those with a role in `tenant` (a "*" role counts for every tenant)."""
    stmt = sa.select(USERS.c.username).order_by(USERS.c.username)
    if tenant is not None:
        stmt = stmt.where(USERS.c.id.in_(sa.select(ROLES_T.c.user_id).where(ROLES_T.c.tenant.in_((tenant, ALL_TENANTS)))))
    return [get_user(conn, name) for name in conn.execute(stmt).scalars()]


def user_of_agent(conn: sa.Connection, agent: str) -> str | None:
    """The username bound to `agent`, or None."""
    return conn.execute(sa.select(USERS.c.username).where(USERS.c.agent == agent)).scalar()


def audit(conn: sa.Connection, entries: Iterable[AuditRecord]) -> None:
    rows = [to_params(e) for e in entries]
    if rows:
        conn.execute(sa.insert(AUDIT), rows)


def audit_entries(conn: sa.Connection, *, target_kind: str | None = None, target_id: str | None = None,
                  actor: str | None = None, since: datetime | None = None) -> list[AuditRecord]:
    t = AUDIT
    stmt = sa.select(t)
    for column, value in (("target_kind", target_kind), ("target_id", target_id), ("actor", actor)):
        if value is not None:
            stmt = stmt.where(t.c[column] == value)
    if since is not None:
        stmt = stmt.where(t.c.at >= since)
    return [from_row(AuditRecord, r) for r in conn.execute(stmt.order_by(t.c.at, t.c.id))]

"""Web users (console and maintenance logins), their per-tenant roles, and the audit log.

Rules:
- A password is stored only as a salted Argon2id hash (`store/passwords.py`), never plain.
- A login session lives on the server (`web_sessions`): the browser's cookie carries a
  random token, the table only its SHA-256, so logging out, a new password or a
  deactivated account ends it for every copy of the cookie (`store/sessions.py`).
- A role is granted per tenant; tenant "*" means every tenant (system administrators).
- A user may be bound to one engine agent (`agent`: the routing configuration's agent id,
  whose SIP user is the softphone); at most one user per agent. Only a bound user gets
  the console's call controls, and they act as that agent only.
- `audit_log` records who accessed or changed what (recordings, personal data); it is
  append-only like the journal (insert only; a trigger refuses UPDATE/DELETE).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigId, JSONData, UTCDateTime

ROLES = ("admin", "tenant_admin", "supervisor", "operator", "employee")
ALL_TENANTS = "*"


class WebUser(Base):
    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(sa.String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    display_name: Mapped[str] = mapped_column(sa.String(128), default="")
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    agent: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, unique=True, index=True)


class WebUserRole(Base):
    __tablename__ = "web_user_roles"

    user_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("web_users.id", ondelete="CASCADE"), primary_key=True)
    tenant: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32), primary_key=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_target", "target_kind", "target_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(sa.String(128))          # username or "system:<job>"
    action: Mapped[str] = mapped_column(sa.String(64))          # e.g. recording.play, person.update
    target_kind: Mapped[str] = mapped_column(sa.String(64))
    target_id: Mapped[str] = mapped_column(sa.String(128))
    tenant: Mapped[str] = mapped_column(sa.String(64), default="")
    detail: Mapped[dict] = mapped_column(JSONData, default=dict)


class WebSession(Base):
    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)   # sha256 hex of the cookie's token
    user_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

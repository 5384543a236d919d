"""API tokens (the REST API's bearer credentials) and webhooks (where the API's events go).

Rules:
- A token is `sentral_<id>_<secret>`: the id finds the row, the secret is compared in
  constant time with the row's SHA-256 (`hmac.compare_digest`). The secret is shown once
  at creation and never stored; a lost token is revoked and a new one made.
- A token holds exactly one role in one tenant (store.accounts.ROLES, or `forms`: a
  token for a web site's forms, which may create tasks in its tenant and nothing else, not
  even read the event stream); tenant "*" (every tenant) only with the admin role. A
  revoked token never authenticates again.
- `last_used_at` is written at most once a minute per token (a busy integration must
  not turn every read into a write).
- A webhook's signing secret is stored as given: the sender needs it to sign every body
  (HMAC-SHA256), so it cannot be hashed. Whoever reads the database can forge webhook
  bodies; it is shown once at creation like a token and nowhere else.
- A webhook URL has no white space or control character (it must not smuggle a header).
- Bad input raises `InvalidRecord`, an unknown id `UnknownToken` / `UnknownWebhook`.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.accounts import ALL_TENANTS, ROLES
from store.base import Base, BigId, JSONData, UTCDateTime
from store.errors import InvalidRecord, StoreError

PREFIX = "sentral"
FORMS = "forms"                        # a web site's forms: POST tasks, nothing else (agent_ui/api_written.py)
TOKEN_ROLES = ROLES + (FORMS,)
TOUCH_EVERY = timedelta(minutes=1)


class UnknownToken(StoreError):
    error_id = "store.unknown_token"


class UnknownWebhook(StoreError):
    error_id = "store.unknown_webhook"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    tenant: Mapped[str] = mapped_column(sa.String(64))
    role: Mapped[str] = mapped_column(sa.String(32))
    secret_hash: Mapped[str] = mapped_column(sa.String(64))       # sha256 hex of the secret part
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(sa.String(512))
    tenant: Mapped[str] = mapped_column(sa.String(64), index=True)
    secret: Mapped[str] = mapped_column(sa.String(128))           # the HMAC key, as given (see Rules)
    events: Mapped[list] = mapped_column(JSONData, default=list)  # event kinds; empty = every kind
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(sa.String(128))


TOKENS = ApiToken.__table__
WEBHOOKS = Webhook.__table__


@dataclass(frozen=True)
class TokenRecord:
    id: int
    name: str
    tenant: str
    role: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class WebhookRecord:
    id: int
    url: str
    tenant: str
    secret: str
    events: tuple[str, ...]
    active: bool
    created_at: datetime
    created_by: str

    def wants(self, kind: str) -> bool:
        return self.active and (not self.events or kind in self.events)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token(row) -> TokenRecord:
    return TokenRecord(id=row.id, name=row.name, tenant=row.tenant, role=row.role, created_at=row.created_at,
                       created_by=row.created_by, revoked_at=row.revoked_at, last_used_at=row.last_used_at)


def _webhook(row) -> WebhookRecord:
    return WebhookRecord(id=row.id, url=row.url, tenant=row.tenant, secret=row.secret,
                         events=tuple(row.events or ()), active=row.active, created_at=row.created_at,
                         created_by=row.created_by)


def _text(value: str, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit or value != value.strip():
        raise InvalidRecord(f"invalid {what} {value!r}")
    return value


def create_token(conn: sa.Connection, name: str, tenant: str, role: str, created_by: str,
                 now: datetime) -> tuple[TokenRecord, str]:
    """A new token: (its record, the whole token `sentral_<id>_<secret>`, shown once)."""
    _text(name, "token name", 128)
    _text(tenant, "tenant", 64)
    if role not in TOKEN_ROLES:
        raise InvalidRecord(f"unknown role {role!r} (known: {', '.join(TOKEN_ROLES)})")
    if tenant == ALL_TENANTS and role != "admin":
        raise InvalidRecord(f"tenant {ALL_TENANTS!r} (every tenant) is for the admin role only")
    secret = secrets.token_urlsafe(32)
    token_id = conn.execute(sa.insert(TOKENS).values(
        name=name, tenant=tenant, role=role, secret_hash=_digest(secret), created_at=now,
        created_by=created_by).returning(TOKENS.c.id)).scalar_one()
    return get_token(conn, token_id), f"{PREFIX}_{token_id}_{secret}"


def get_token(conn: sa.Connection, token_id: int) -> TokenRecord | None:
    row = conn.execute(sa.select(TOKENS).where(TOKENS.c.id == token_id)).first()
    return _token(row) if row is not None else None


def tokens(conn: sa.Connection, tenant: str | None = None) -> list[TokenRecord]:
    stmt = sa.select(TOKENS).order_by(TOKENS.c.id)
    if tenant is not None:
        stmt = stmt.where(TOKENS.c.tenant == tenant)
    return [_token(r) for r in conn.execute(stmt)]


def revoke_token(conn: sa.Connection, token_id: int, now: datetime) -> TokenRecord:
    record = get_token(conn, token_id)
    if record is None:
        raise UnknownToken(f"no API token {token_id}")
    if record.revoked_at is None:
        conn.execute(sa.update(TOKENS).where(TOKENS.c.id == token_id).values(revoked_at=now))
    return get_token(conn, token_id)


def parse(token: str) -> tuple[int, str] | None:
    """(id, secret) of a well-formed token, else None."""
    if not isinstance(token, str) or len(token) > 256:
        return None
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not (token_id.isascii() and token_id.isdigit()) or len(token_id) > 18 or not secret:
        return None
    return int(token_id), secret


def token_by_secret(conn: sa.Connection, token: str, now: datetime) -> TokenRecord | None:
    """The active token this whole token string is, or None (malformed, unknown, wrong
    secret, revoked: the caller cannot tell which)."""
    parsed = parse(token)
    row = conn.execute(sa.select(TOKENS).where(TOKENS.c.id == parsed[0])).first() if parsed else None
    expected = row.secret_hash if row is not None else _digest("no such token")
    given = _digest(parsed[1] if parsed else "")
    if not hmac.compare_digest(expected, given) or row is None or row.revoked_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        conn.execute(sa.update(TOKENS).where(TOKENS.c.id == row.id).values(last_used_at=now))
    return _token(row)


# -- webhooks -----------------------------------------------------------------------------
def add_webhook(conn: sa.Connection, url: str, tenant: str, secret: str, events, created_by: str,
                now: datetime) -> WebhookRecord:
    _text(url, "webhook URL", 512)
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise InvalidRecord("a webhook URL has no spaces or control characters")   # no header smuggling
    _text(tenant, "tenant", 64)
    if not isinstance(secret, str) or len(secret) < 16 or len(secret) > 128:
        raise InvalidRecord("a webhook secret has 16 to 128 characters")
    events = sorted(set(events or ()))
    if not all(isinstance(e, str) and 0 < len(e) <= 64 for e in events):
        raise InvalidRecord(f"invalid event kinds {events!r}")
    webhook_id = conn.execute(sa.insert(WEBHOOKS).values(
        url=url, tenant=tenant, secret=secret, events=events, active=True, created_at=now,
        created_by=created_by).returning(WEBHOOKS.c.id)).scalar_one()
    return _webhook(conn.execute(sa.select(WEBHOOKS).where(WEBHOOKS.c.id == webhook_id)).one())


def remove_webhook(conn: sa.Connection, webhook_id: int) -> None:
    if not conn.execute(sa.delete(WEBHOOKS).where(WEBHOOKS.c.id == webhook_id)).rowcount:
        raise UnknownWebhook(f"no webhook {webhook_id}")


def webhooks(conn: sa.Connection, tenant: str | None = None, active_only: bool = False) -> list[WebhookRecord]:
    stmt = sa.select(WEBHOOKS).order_by(WEBHOOKS.c.id)
    if tenant is not None:
        stmt = stmt.where(WEBHOOKS.c.tenant == tenant)
    if active_only:
        stmt = stmt.where(WEBHOOKS.c.active.is_(True))
    return [_webhook(r) for r in conn.execute(stmt)]

"""Written messages (e-mail, SMS, web-form tasks), their cases and the mailboxes' read state.

Rules:
- Every inbound message is stored here before the engine hears of it (WrittenArrived
  carries only its id); `item` is NULL until the runtime stores the item that filed it
  (`file_messages`, in the same transaction as the item's record), so after a crash the
  intake posts every `unfiled` message again and the engine files each one once.
- Duplicates are refused by a unique key: (tenant, channel, direction, dedup_key), where
  `dedup_key` is the channel's own id (an e-mail's Message-ID, the gateway's message id, a
  form's idempotency key) or, without one, the message's id. `save_inbound` returns
  `(id, False)` for a duplicate: the existing row, nothing written.
- Outbound messages (replies) are stored `queued` by the console before the engine is
  asked to send them, then `sent` (with the channel's id) or `failed` (with the error):
  a message is sent at most once (`claim_outbound` moves queued -> sending atomically).
  One the engine refused stays queued, unlisted by its item's stored record
  (`accepted_replies`): the sender's start-up marks it failed instead of sending it.
- A case (`written_cases`) groups the messages of one conversation; its id is the short
  tag in e-mail subjects (`[Sak #K7QM2X]`): six characters of an alphabet without 0/O/1/I.
- Message text is kept here, attachments outside the database (channels/email/attachments.py):
  only their digest, name, type and size are in `attachments`.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, JSONData, UTCDateTime
from store.errors import InvalidRecord
from store.models import Interaction

CHANNELS = ("email", "sms", "task")
DIRECTIONS = ("in", "out")
STATUSES = ("received", "queued", "sending", "sent", "failed")
CASE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CASE_LENGTH = 6


class WrittenMessageRow(Base):
    __tablename__ = "written_messages"
    __table_args__ = (sa.UniqueConstraint("tenant", "channel", "direction", "dedup_key"),
                      sa.Index("ix_written_messages_unfiled", "direction", "item"))

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(sa.String(64))
    queue: Mapped[str] = mapped_column(sa.String(64), default="")
    channel: Mapped[str] = mapped_column(sa.String(16))
    direction: Mapped[str] = mapped_column(sa.String(8))
    case: Mapped[str] = mapped_column(sa.String(32), index=True)
    item: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)
    dedup_key: Mapped[str] = mapped_column(sa.String(512))
    external_id: Mapped[str] = mapped_column(sa.String(512), default="", index=True)
    sender: Mapped[str] = mapped_column(sa.String(320), default="")
    sender_name: Mapped[str] = mapped_column(sa.String(256), default="")
    recipients: Mapped[list] = mapped_column(JSONData, default=list)
    subject: Mapped[str] = mapped_column(sa.Text, default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    headers: Mapped[dict] = mapped_column(JSONData, default=dict)
    attachments: Mapped[list] = mapped_column(JSONData, default=list)
    automatic: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    problems: Mapped[list] = mapped_column(JSONData, default=list)
    status: Mapped[str] = mapped_column(sa.String(16), default="received")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    author: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WrittenCaseRow(Base):
    __tablename__ = "written_cases"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(sa.String(64), index=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    contact: Mapped[str] = mapped_column(sa.String(320), default="")
    subject: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailboxStateRow(Base):
    __tablename__ = "mailbox_states"

    key: Mapped[str] = mapped_column(sa.String(512), primary_key=True)
    state: Mapped[dict] = mapped_column(JSONData, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


MESSAGES = WrittenMessageRow.__table__
CASES = WrittenCaseRow.__table__
MAILBOXES = MailboxStateRow.__table__
INTERACTIONS = Interaction.__table__


@dataclass(frozen=True)
class MessageRecord:
    id: str
    tenant: str
    channel: str
    direction: str
    case: str
    created_at: datetime
    queue: str = ""
    item: str | None = None
    external_id: str = ""
    sender: str = ""
    sender_name: str = ""
    recipients: Sequence[str] = ()
    subject: str = ""
    body: str = ""
    headers: Mapping[str, object] = field(default_factory=dict)
    attachments: Sequence[Mapping[str, object]] = ()
    automatic: bool = False
    problems: Sequence[str] = ()
    status: str = "received"
    error: str = ""
    author: str = ""
    sent_at: datetime | None = None


def _params(rec: MessageRecord) -> dict:
    if rec.channel not in CHANNELS:
        raise InvalidRecord(f"message {rec.id}: channel {rec.channel!r} is not one of {', '.join(CHANNELS)}")
    if rec.direction not in DIRECTIONS:
        raise InvalidRecord(f"message {rec.id}: direction {rec.direction!r} is not in or out")
    if rec.status not in STATUSES:
        raise InvalidRecord(f"message {rec.id}: status {rec.status!r} is not one of {', '.join(STATUSES)}")
    if not rec.id or not rec.tenant or not rec.case:
        raise InvalidRecord("a message needs an id, a tenant and a case")
    if rec.created_at.tzinfo is None:
        raise InvalidRecord(f"message {rec.id}: created_at must be an aware datetime")
    return {"id": rec.id, "tenant": rec.tenant, "queue": rec.queue, "channel": rec.channel,
            "direction": rec.direction, "case": rec.case, "item": rec.item,
            "dedup_key": (rec.external_id or rec.id)[:512], "external_id": rec.external_id[:512],
            "sender": rec.sender[:320], "sender_name": rec.sender_name[:256], "recipients": list(rec.recipients),
            "subject": rec.subject, "body": rec.body, "headers": dict(rec.headers),
            "attachments": [dict(a) for a in rec.attachments], "automatic": bool(rec.automatic),
            "problems": list(rec.problems), "status": rec.status, "error": rec.error, "author": rec.author,
            "created_at": rec.created_at, "sent_at": rec.sent_at}


def _record(row) -> MessageRecord:
    m = row._mapping
    return MessageRecord(
        id=m["id"], tenant=m["tenant"], channel=m["channel"], direction=m["direction"], case=m["case"],
        created_at=m["created_at"], queue=m["queue"], item=m["item"], external_id=m["external_id"],
        sender=m["sender"], sender_name=m["sender_name"], recipients=tuple(m["recipients"] or ()),
        subject=m["subject"], body=m["body"], headers=dict(m["headers"] or {}),
        attachments=tuple(m["attachments"] or ()), automatic=bool(m["automatic"]),
        problems=tuple(m["problems"] or ()), status=m["status"], error=m["error"], author=m["author"],
        sent_at=m["sent_at"])


# -- messages ---------------------------------------------------------------------------

def save_inbound(conn: sa.Connection, rec: MessageRecord) -> tuple[str, bool]:
    """Store an inbound message -> (its id, True); a duplicate -> (the stored one's id, False)."""
    params = _params(replace(rec, direction="in", status="received"))
    existing = conn.execute(sa.select(MESSAGES.c.id).where(
        MESSAGES.c.tenant == params["tenant"], MESSAGES.c.channel == params["channel"],
        MESSAGES.c.direction == "in", MESSAGES.c.dedup_key == params["dedup_key"])).scalar()
    if existing is not None:
        return existing, False
    try:
        with conn.begin_nested():
            conn.execute(MESSAGES.insert().values(**params))
    except sa.exc.IntegrityError:               # a concurrent writer stored it first
        existing = conn.execute(sa.select(MESSAGES.c.id).where(
            MESSAGES.c.tenant == params["tenant"], MESSAGES.c.channel == params["channel"],
            MESSAGES.c.direction == "in", MESSAGES.c.dedup_key == params["dedup_key"])).scalar()
        return existing, False
    return rec.id, True


def save_outbound(conn: sa.Connection, rec: MessageRecord) -> None:
    """A reply written by an agent, `queued` until the channel sender claims it."""
    if not rec.item:
        raise InvalidRecord(f"reply {rec.id}: it belongs to an item")
    conn.execute(MESSAGES.insert().values(**_params(replace(rec, direction="out", status="queued"))))


def message(conn: sa.Connection, message_id: str) -> MessageRecord | None:
    row = conn.execute(sa.select(MESSAGES).where(MESSAGES.c.id == message_id)).first()
    return _record(row) if row is not None else None


def messages(conn: sa.Connection, *, item: str | None = None, case: str | None = None) -> list[MessageRecord]:
    """The messages of an item or a case, oldest first."""
    q = sa.select(MESSAGES).order_by(MESSAGES.c.created_at, MESSAGES.c.id)
    if item is not None:
        q = q.where(MESSAGES.c.item == item)
    if case is not None:
        q = q.where(MESSAGES.c.case == case)
    return [_record(r) for r in conn.execute(q)]


def unfiled(conn: sa.Connection, limit: int = 1000) -> list[MessageRecord]:
    """Inbound messages no stored item has filed yet (oldest first)."""
    q = (sa.select(MESSAGES).where(MESSAGES.c.direction == "in", MESSAGES.c.item.is_(None))
         .order_by(MESSAGES.c.created_at, MESSAGES.c.id).limit(limit))
    return [_record(r) for r in conn.execute(q)]


def file_messages(conn: sa.Connection, item: str, message_ids: Iterable[str]) -> None:
    ids = list(message_ids)
    if ids:
        conn.execute(MESSAGES.update().where(MESSAGES.c.id.in_(ids), MESSAGES.c.item.is_(None))
                     .values(item=item))


def cases_of(conn: sa.Connection, tenant: str, external_ids: Iterable[str]) -> dict[str, str]:
    """Known channel ids (e-mail Message-IDs, in or out) of a tenant -> their case."""
    ids = [i for i in external_ids if i]
    if not ids:
        return {}
    q = sa.select(MESSAGES.c.external_id, MESSAGES.c.case).where(
        MESSAGES.c.tenant == tenant, MESSAGES.c.external_id.in_(ids))
    return {r.external_id: r.case for r in conn.execute(q)}


def claim_outbound(conn: sa.Connection, message_id: str) -> MessageRecord | None:
    """queued -> sending, atomically; None if it is not queued (sent or claimed already)."""
    done = conn.execute(MESSAGES.update().where(MESSAGES.c.id == message_id, MESSAGES.c.direction == "out",
                                                MESSAGES.c.status == "queued").values(status="sending"))
    return message(conn, message_id) if done.rowcount == 1 else None


def release_outbound(conn: sa.Connection, message_id: str) -> None:
    """sending -> queued: the sender stopped before it knew (a retry will claim it again)."""
    conn.execute(MESSAGES.update().where(MESSAGES.c.id == message_id, MESSAGES.c.status == "sending")
                 .values(status="queued"))


def mark_sent(conn: sa.Connection, message_id: str, external_id: str, at: datetime) -> None:
    conn.execute(MESSAGES.update().where(MESSAGES.c.id == message_id)
                 .values(status="sent", external_id=external_id[:512], sent_at=at, error=""))


def mark_failed(conn: sa.Connection, message_id: str, error: str) -> None:
    conn.execute(MESSAGES.update().where(MESSAGES.c.id == message_id).values(status="failed", error=error))


def pending_outbound(conn: sa.Connection) -> list[MessageRecord]:
    """Replies queued or left `sending` by a stopped process (the sender retries them)."""
    q = (sa.select(MESSAGES).where(MESSAGES.c.direction == "out", MESSAGES.c.status.in_(("queued", "sending")))
         .order_by(MESSAGES.c.created_at))
    return [_record(r) for r in conn.execute(q)]


def accepted_replies(conn: sa.Connection, replies: Iterable[MessageRecord]) -> set[str]:
    """The ids of `replies` (outbound) that their item's stored record lists: the engine
    took them. engine/written.py `reply` puts an accepted reply's id into the item's
    `messages`, and the runtime stores that record (interactions.data, kept after the item
    ends) in the same write as the decision; a reply it does not list was refused, or its
    ItemReply never reached the engine."""
    wanted: dict[str, set[str]] = {}
    for rec in replies:
        if rec.item:
            wanted.setdefault(rec.item, set()).add(rec.id)
    accepted: set[str] = set()
    items = sorted(wanted)
    for start in range(0, len(items), 500):
        rows = conn.execute(sa.select(INTERACTIONS.c.id, INTERACTIONS.c.data)
                            .where(INTERACTIONS.c.id.in_(items[start:start + 500])))
        for row in rows:
            listed = (row.data or {}).get("messages") or ()
            accepted |= wanted[row.id] & {m for m in listed if isinstance(m, str)}
    return accepted


# -- cases ------------------------------------------------------------------------------

def new_case(conn: sa.Connection, tenant: str, channel: str, at: datetime, contact: str = "",
             subject: str = "") -> str:
    for _ in range(20):
        case = "".join(secrets.choice(CASE_ALPHABET) for _ in range(CASE_LENGTH))
        try:
            with conn.begin_nested():
                conn.execute(CASES.insert().values(id=case, tenant=tenant, channel=channel,
                                                   contact=contact[:320], subject=subject, created_at=at))
            return case
        except sa.exc.IntegrityError:
            continue
    raise InvalidRecord("no free case id after 20 tries")


def case_exists(conn: sa.Connection, tenant: str, case: str) -> bool:
    return conn.execute(sa.select(CASES.c.id).where(CASES.c.id == case, CASES.c.tenant == tenant)).first() is not None


# -- mailbox read state -----------------------------------------------------------------

def mailbox_state(conn: sa.Connection, key: str) -> dict | None:
    row = conn.execute(sa.select(MAILBOXES.c.state).where(MAILBOXES.c.key == key)).first()
    return dict(row.state) if row is not None else None


def save_mailbox_state(conn: sa.Connection, key: str, state: Mapping, at: datetime) -> None:
    done = conn.execute(MAILBOXES.update().where(MAILBOXES.c.key == key).values(state=dict(state), updated_at=at))
    if done.rowcount == 0:
        conn.execute(MAILBOXES.insert().values(key=key, state=dict(state), updated_at=at))

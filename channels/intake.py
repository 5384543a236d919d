"""Turning what a channel received into a stored, filed message (then an engine item).

Rules:
- Every intake ends in `channels.filing.file_inbound`: stored first (once per channel id),
  then WrittenArrived posted. Callers give the time `at` and a `post` (the engine's inbox).
- SMS (`file_sms`, used by the SMPP link here and by the HTTP gateway's webhook in the web
  app): the queue is the one the destination number is configured for
  (`Deployment.sms.numbers`, compared by digits, so "+4722334455", "4722334455" and a
  short code "2020" match however the gateway writes them). A number nobody configured is
  NOT dropped: it is filed to the first configured number's queue with a problem noted on
  the message ("unknown destination number ..."), and `SmsFiled.unknown_number` tells the
  caller to write a fault entry. Without any sms queue at all `NoSmsQueue` is raised (the
  gateway keeps the message and retries: nothing is stored).
- E-mail (`file_mail`, raw bytes from a mailbox): parsed (channels/email/parse.py, never
  raises); a message over the mailbox's `max_message_bytes` is filed from its headers
  only, with a problem noted (the mail stays in the mailbox to be read there). The case:
  In-Reply-To, then References against every Message-ID the tenant knows (received and
  ours sent, `store.cases_of`), then a subject tag naming an existing case
  (threading.find_case), else a new case. Attachments go to the AttachmentStore; the
  record keeps only digest, name, type and size (an attachment over the limit: listed
  with an empty digest and a problem). The dedup key is the normalised Message-ID; a
  message without one gets `sha256:<digest of its raw bytes>`, so a redelivery of the
  same bytes is still filed once. Automatic mail (auto-replies, bounces, bulk) is filed
  with `automatic` and never answered automatically.
- An SMS joins its sender's latest SMS case in the tenant (a conversation by number);
  the engine adds it to that case's item while it is open, else it makes a new item.
  The dedup key is the gateway's message id (`gateway_id`). An SMPP text without an SMSC id
  comes as `sha:<digest of sender, recipient, coding, user data>` (channels/sms/smpp.py),
  a duplicate only within SMS_DIGEST_WINDOW (600 s): it is stored as
  `sha:<digest>:<epoch // 600>` (external_id too), and the previous bucket's message counts
  only while it is younger than 600 s, so the same "Ja" from the same number later is new.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import sqlalchemy as sa

from channels.email.attachments import AttachmentError
from channels.email.parse import MailItem, parse_message
from channels.email.threading import find_case, normalise_message_id, subject_tags
from channels.filing import file_inbound
from store import written
from store.written import MessageRecord

log = logging.getLogger(__name__)

SMS_DIGEST_WINDOW = 600   # seconds a `sha:` SMS id counts as a duplicate (docs/channels.md)


class NoSmsQueue(Exception):
    """The deployment has no sms queue to file an SMS to (a configuration error)."""
    error_id = "sms.no_queue"


@dataclass(frozen=True)
class SmsFiled:
    message: str                 # the stored message's id (the existing one for a duplicate)
    created: bool                # False: a duplicate delivery, nothing posted
    queue: str
    unknown_number: bool = False  # filed to the fallback queue: write a fault entry


def new_message_id() -> str:
    return str(uuid.uuid4())


def _digits(number: str) -> str:
    return "".join(c for c in (number or "") if c.isdigit())


def sms_queue(deployment, to: str) -> tuple[str, bool]:
    """The sms queue for destination number `to` -> (queue, known?)."""
    gateway = deployment.sms
    numbers = gateway.numbers if gateway is not None else ()
    wanted = _digits(to)
    for n in numbers:
        if wanted and _digits(n.number) == wanted and n.queue in deployment.queues:
            return n.queue, True
    for n in numbers:
        if n.queue in deployment.queues:
            return n.queue, False
    for q in deployment.queues.values():
        if q.channel == "sms":
            return q.id, False
    raise NoSmsQueue(f"no sms queue for number {to!r}: configure sms.numbers")


def sms_case(store, tenant: str, sender: str, at: datetime) -> str:
    """The sender's latest SMS case in the tenant, or a new one."""
    cases = written.CASES
    with store.engine.connect() as conn:
        case = conn.execute(sa.select(cases.c.id).where(
            cases.c.tenant == tenant, cases.c.channel == "sms", cases.c.contact == sender[:320])
            .order_by(cases.c.created_at.desc()).limit(1)).scalar()
    return case or store.new_case(tenant, "sms", contact=sender)


def _stored(store, tenant: str, channel: str, external_id: str) -> str | None:
    """The id of the inbound message already stored under this channel id, if any."""
    if not external_id:
        return None
    m = written.MESSAGES
    with store.engine.connect() as conn:
        return conn.execute(sa.select(m.c.id).where(
            m.c.tenant == tenant, m.c.channel == channel, m.c.direction == "in",
            m.c.dedup_key == external_id[:512])).scalar()


def file_sms(store, post: Callable[[object], None], deployment, *, sender: str, to: str, text: str,
             gateway_id: str, at: datetime) -> SmsFiled:
    """Store one inbound SMS and tell the engine (a duplicate `gateway_id`: nothing posted)."""
    queue, known = sms_queue(deployment, to)
    tenant = deployment.queues[queue].tenant
    if gateway_id.startswith("sha:"):
        stored, gateway_id = _digest_stored(store, tenant, gateway_id, at)
    else:
        stored = _stored(store, tenant, "sms", gateway_id)
    if stored is not None:                    # a redelivery: no new case, nothing posted
        return SmsFiled(stored, False, queue, unknown_number=not known)
    problems = () if known else (f"unknown destination number {to!r}: filed to queue {queue}",)
    if not known:
        log.warning("SMS %s to unconfigured number %s: filed to %s", gateway_id, to, queue)
    record = MessageRecord(id=new_message_id(), tenant=tenant, channel="sms", direction="in",
                           case=sms_case(store, tenant, sender, at), created_at=at, queue=queue,
                           external_id=gateway_id, sender=sender, recipients=(to,),
                           subject=text[:60], body=text, headers={"to": to}, problems=problems)
    message, created = file_inbound(store, post, record, at)
    return SmsFiled(message, created, queue, unknown_number=not known)


def _digest_stored(store, tenant: str, digest_id: str, at: datetime) -> tuple[str | None, str]:
    """A `sha:` id (SMPP without an SMSC id) is a duplicate within SMS_DIGEST_WINDOW seconds
    only: stored as `<id>:<epoch // window>`. -> (the message already stored within the
    window or None, the key to store a new one under). The previous bucket's message counts
    only while it is younger than the window, so the window is exact across a boundary."""
    bucket = int(at.timestamp()) // SMS_DIGEST_WINDOW
    key = f"{digest_id}:{bucket}"
    stored = _stored(store, tenant, "sms", key)
    if stored is not None:
        return stored, key
    m = written.MESSAGES
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(m.c.id, m.c.created_at).where(
            m.c.tenant == tenant, m.c.channel == "sms", m.c.direction == "in",
            m.c.dedup_key == f"{digest_id}:{bucket - 1}"[:512])).first()
    if row is not None and (at - row.created_at).total_seconds() < SMS_DIGEST_WINDOW:
        return row.id, key
    return None, key


# -- e-mail ------------------------------------------------------------------------------

@dataclass(frozen=True)
class MailFiled:
    message: str
    created: bool
    case: str
    external_id: str
    automatic: bool = False


def mail_external_id(item: MailItem, raw: bytes) -> str:
    """The dedup key of a mail: its normalised Message-ID, else a digest of its bytes."""
    return normalise_message_id(item.message_id) or "sha256:" + hashlib.sha256(raw).hexdigest()


def _headers_only(raw: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(sep)
        if end >= 0:
            return raw[:end + len(sep)]
    return raw[:65536]


def mail_case(store, tenant: str, item: MailItem, at: datetime) -> tuple[str, str]:
    """The case of a parsed mail -> (case id, how: in-reply-to/references/subject-tag/new)."""
    ids = [normalise_message_id(v) for v in (item.in_reply_to, *item.references)]
    known = store.cases_of(tenant, [i for i in ids if i])
    tags = {t for t in subject_tags(item.subject) if store.case_exists(tenant, t)}
    match = find_case(in_reply_to=item.in_reply_to, references=item.references, subject=item.subject,
                      known_message_ids=known, cases=tags)
    if match is not None:
        return match.case_id, match.by
    return store.new_case(tenant, "email", contact=item.from_address, subject=item.subject[:500]), "new"


def _attachments(item: MailItem, attachments, problems: list[str]) -> list[dict]:
    kept = []
    for a in item.attachments:
        entry = {"digest": "", "name": a.filename, "type": a.content_type, "size": a.size}
        if a.data is not None and attachments is not None:
            try:
                entry["digest"], entry["size"] = attachments.put_bytes(a.data)
            except (AttachmentError, OSError) as exc:
                problems.append(f"attachment {a.filename!r} not kept: {exc}")
        elif a.data is None:
            problems.append(f"attachment {a.filename!r} ({a.size} bytes) over the size limit: not kept")
        kept.append(entry)
    return kept


def file_mail(store, post: Callable[[object], None], *, tenant: str, queue: str, raw: bytes, at: datetime,
              attachments=None, max_message_bytes: int = 0,
              max_attachment_bytes: int | None = None) -> MailFiled:
    """Store one received mail and tell the engine (a redelivery: nothing posted)."""
    problems: list[str] = []
    if max_message_bytes and len(raw) > max_message_bytes:
        item = parse_message(_headers_only(raw))
        problems.append(f"message of {len(raw)} bytes over the limit of {max_message_bytes}: "
                        "only its headers were read; it is in the mailbox")
        external_id = mail_external_id(item, raw)
        item = dataclasses.replace(item, text="", attachments=())
    else:
        item = parse_message(raw, max_attachment_bytes) if max_attachment_bytes is not None \
            else parse_message(raw)
        external_id = mail_external_id(item, raw)
    stored = _stored(store, tenant, "email", external_id)
    if stored is not None:
        return MailFiled(stored, False, "", external_id, item.automatic)
    case, how = mail_case(store, tenant, item, at)
    problems.extend(item.problems)
    kept = _attachments(item, attachments, problems)
    headers = {"message_id": item.message_id or "", "in_reply_to": item.in_reply_to or "",
               "references": list(item.references), "to": list(item.to), "cc": list(item.cc),
               "date": item.date.isoformat() if item.date else "", "threaded_by": how,
               "automatic_reason": item.automatic_reason or ""}
    record = MessageRecord(id=new_message_id(), tenant=tenant, channel="email", direction="in", case=case,
                           created_at=at, queue=queue, external_id=external_id, sender=item.from_address,
                           sender_name=item.from_name, recipients=tuple(item.to) + tuple(item.cc),
                           subject=item.subject, body=item.text, headers=headers, attachments=kept,
                           automatic=item.automatic, problems=tuple(problems))
    message, created = file_inbound(store, post, record, at)
    return MailFiled(message, created, case, external_id, item.automatic)


_MSGID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")


def _msgid(value) -> str | None:
    """A Message-ID a reply may carry (<id@host>); a malformed one is left out, not refused."""
    value = (value or "").strip()
    return value if _MSGID.fullmatch(value) else None


def mail_item(record: MessageRecord) -> MailItem:
    """A stored inbound mail as the MailItem a reply is built against (outbound.build_reply)."""
    h = record.headers or {}
    date = h.get("date") or None
    return MailItem(message_id=_msgid(h.get("message_id")), in_reply_to=_msgid(h.get("in_reply_to")),
                    references=tuple(r for r in (_msgid(v) for v in h.get("references") or ()) if r), subject=record.subject,
                    from_name=record.sender_name, from_address=record.sender, to=tuple(h.get("to") or ()),
                    cc=tuple(h.get("cc") or ()), date=datetime.fromisoformat(date) if date else None,
                    text=record.body, automatic=record.automatic,
                    automatic_reason=h.get("automatic_reason") or None)

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
- An SMS joins its sender's latest SMS case in the tenant (a conversation by number);
  the engine adds it to that case's item while it is open, else it makes a new item.
  The dedup key is the gateway's message id (`gateway_id`).
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import sqlalchemy as sa

from channels.filing import file_inbound
from store import written
from store.written import MessageRecord

log = logging.getLogger(__name__)


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

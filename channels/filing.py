"""Filing an inbound written message: stored first, then the engine hears of it.

Rules: every intake (IMAP mailboxes, SMPP, the SMS HTTP gateway's webhook, the web-form
task API) files through `file_inbound`: the message is stored (store/written.py, once per
channel id: a duplicate delivery stores and posts nothing), then WrittenArrived is posted
to the engine's inbox with the message's id. A process that dies in between posts it at
its next start (`repost_unfiled`: every stored message no item has filed yet), so nothing
is lost and the engine files each message once (engine/written.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from engine import events as ev
from store.written import MessageRecord


def arrival(record: MessageRecord, at: datetime) -> ev.WrittenArrived:
    return ev.WrittenArrived(channel=record.channel, tenant=record.tenant, queue=record.queue,
                             message=record.id, case=record.case, at=at, sender=record.sender,
                             sender_name=record.sender_name, subject=record.subject[:200],
                             automatic=record.automatic)


def file_inbound(store, post: Callable[[object], None], record: MessageRecord,
                 at: datetime) -> tuple[str, bool]:
    """Store `record` (direction in) and tell the engine -> (message id, new?)."""
    message_id, created = store.save_inbound_message(record)
    if created:
        post(arrival(record, at))
    return message_id, created


def repost_unfiled(store, post: Callable[[object], None], at: datetime, limit: int = 100_000) -> int:
    """At start-up: every stored inbound message no item filed yet, to the engine again."""
    records = store.unfiled_messages(limit)
    for record in records:
        post(arrival(record, at))
    return len(records)

"""An agent's reply to a written item: checked, stored `queued`, then named to the engine.
The one way for every front end (the console's written panel, agent_ui/written_console.py;
the REST API's item reply, agent_ui/item_actions.py).

Rules:
- The caller has checked who acts (the item is live in the engine and the agent's); here:
  the item must be open (`ReplyNotOpen`), and the text, stripped, 1 to `MAX_TEXT[channel]`
  characters (e-mail and tasks 20,000, SMS 1,600) and, for SMS, at most 255 parts
  (channels/sms/segments) -> `ReplyInvalid` `item.empty` / `item.too_long`. Nothing is
  stored or posted then.
- The record: direction out, status queued, id `out-<24 hex>`, the item's tenant, case,
  queue, channel and item, author the agent, recipient the item's sender, sender the
  queue's `reply_from`; an e-mail's subject `Re: ` + the item's (not twice: `Re:`/`SV:`
  kept), none for SMS and tasks (the sender builds a task's mail subject itself).
- Stored first (`store.save_outbound_message`), then `ItemReply(agent, item, id)` is
  posted: the engine never sees a text, the channel sender sends what is stored.
- The engine may still refuse the ItemReply (the item moved between this check and its
  step): the reply stays `queued` but the item's record never lists it (engine/written.py
  `reply` adds an accepted reply's id to the item's `messages`). The channel sender's
  start-up `resume` marks such a reply failed and never sends it (channels/sender.py).
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Callable

from engine import events as ev
from store.written import MessageRecord

MAX_TEXT = {"email": 20_000, "sms": 1_600, "task": 20_000}


class ReplyError(Exception):
    error_id = "item.refused"

    def __init__(self, error_id: str, message: str):
        super().__init__(message)
        self.error_id = error_id


class ReplyInvalid(ReplyError):
    """The text cannot be sent (empty, too long)."""


class ReplyNotOpen(ReplyError):
    """The item is not open (accept it first)."""


def new_reply_id() -> str:
    return "out-" + secrets.token_hex(12)


def sms_parts(text: str):
    """(parts, encoding) of an SMS text, None when it is longer than 255 parts."""
    from channels.sms.errors import MessageTooLong
    from channels.sms.segments import encode

    if not text:
        return 0, "gsm7"
    try:
        encoded = encode(text, 0)
    except MessageTooLong:
        return None
    return len(encoded.parts), encoded.encoding


def checked_text(channel: str, text) -> str:
    """The reply's text, stripped, or ReplyInvalid."""
    if not isinstance(text, str) or not text.strip():
        raise ReplyInvalid("item.empty", "the reply has no text")
    text = text.strip()
    limit = MAX_TEXT.get(channel, min(MAX_TEXT.values()))
    if len(text) > limit:
        raise ReplyInvalid("item.too_long", f"a {channel} reply has at most {limit} characters")
    if channel == "sms" and sms_parts(text) is None:
        raise ReplyInvalid("item.too_long", "the SMS would be longer than 255 parts")
    return text


def reply_subject(channel: str, subject: str) -> str:
    if channel != "email" or not subject:
        return ""
    return subject if subject.lower().startswith(("re:", "sv:")) else "Re: " + subject


def queue_reply(store, post: Callable[[object], None], deployment, item, agent: str, text,
                at: datetime) -> MessageRecord:
    """Check, store (queued) and post agent `agent`'s reply `text` to the engine's item
    `item` (an engine.written.WorkItem) -> the stored record."""
    if item.state.value != "open":
        raise ReplyNotOpen("item.not_open", f"item {item.id} is {item.state.value}: accept it first")
    body = checked_text(item.channel, text)
    queue = deployment.queues.get(item.queue)
    record = MessageRecord(
        id=new_reply_id(), tenant=item.tenant, channel=item.channel, direction="out", case=item.case,
        created_at=at, queue=item.queue, item=item.id, sender=queue.reply_from if queue is not None else "",
        recipients=(item.sender,) if item.sender else (), subject=reply_subject(item.channel, item.subject),
        body=body, status="queued", author=agent)
    store.save_outbound_message(record)
    post(ev.ItemReply(agent, item.id, record.id, at))
    return record

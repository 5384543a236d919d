"""An agent's reply to a received message, built so the customer's client threads it and
our own reader finds the case again (threading.find_case).

Rules:
- In-Reply-To is the original's Message-ID; References is the original's References (or,
  lacking them, its In-Reply-To) plus its Message-ID, without duplicates, at most
  `MAX_REFERENCES` ids: the first (the thread's root) and the newest are always kept.
- A new Message-ID in the sender's domain; `Subject: Re: <subject>` (one reply prefix,
  whatever the customer's client stacked) with the case tag once (threading.tag_subject).
- `Auto-Submitted: no`: an agent's reply is written by a person (RFC 3834), so the
  customer's auto-responder may answer it and our reader does not take that answer for a
  loop. An item marked `automatic` (auto-reply, bulk, bounce) is never answered:
  `ReplyRefused`, and neither is mail from our own sender address.
- A CR, LF or other line break in any header value (sender, names, subject, case id,
  message ids, attachment file names) is refused (`HeaderRefused`), never folded into a
  second header. The body is UTF-8 text (quoted-printable when not plain ASCII, so 7-bit
  relays pass it).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, formatdate, make_msgid
from typing import Iterable, Union

from channels.email.parse import Attachment, MailItem
from channels.email.threading import DEFAULT_TAG_WORDS, tag_subject

MAX_REFERENCES = 20
_LINE_BREAKS = set("\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_MSGID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")
_CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,31}")
_CTYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|sv|aw|antw)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


class OutboundError(Exception):
    error_id = "mail.outbound"


class ReplyRefused(OutboundError):
    """The original must not be answered (automatic mail, or our own)."""
    error_id = "mail.reply_refused"


class HeaderRefused(OutboundError):
    """A header value would break the message (a line break: header injection) or is invalid."""
    error_id = "mail.header_refused"


@dataclass(frozen=True)
class OutgoingAttachment:
    filename: str
    content_type: str
    data: bytes


AttachmentLike = Union[OutgoingAttachment, Attachment, tuple]


def build_reply(case_id: str, original: MailItem, sender: str, sender_name: str, body: str,
                attachments: Iterable[AttachmentLike] = (), *, tag_word: str = DEFAULT_TAG_WORDS[0],
                now: dt.datetime | None = None) -> EmailMessage:
    if original.automatic:
        raise ReplyRefused(f"the original is automatic mail ({original.automatic_reason}); never answered")
    sender = _clean(sender, "sender").strip()
    if not _address(sender):
        raise HeaderRefused(f"sender {sender!r} is not an address")
    recipient = _clean(original.from_address, "recipient").strip()
    if not _address(recipient):
        raise ReplyRefused("the original has no sender address to answer")
    if recipient.lower() == sender.lower():
        raise ReplyRefused("the original came from our own address (a loop)")
    if not _CASE_ID.fullmatch(_clean(case_id, "case id")):
        raise HeaderRefused(f"case id {case_id!r} cannot be a subject tag")

    msg = EmailMessage()
    msg["From"] = formataddr((_clean(sender_name, "sender name"), sender))
    msg["To"] = formataddr((_clean(original.from_name, "recipient name"), recipient))
    msg["Subject"] = reply_subject(original.subject, case_id, tag_word)
    msg["Date"] = format_datetime(now) if now is not None else formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1].lower())
    parent = _message_id(original.message_id, "original Message-ID")
    if parent:
        msg["In-Reply-To"] = parent
    refs = references_for(original)
    if refs:
        msg["References"] = " ".join(refs)
    msg["Auto-Submitted"] = "no"
    if body.isascii():
        msg.set_content(body, charset="utf-8")
    else:
        msg.set_content(body, charset="utf-8", cte="quoted-printable")
    for item in attachments:
        filename, ctype, data = _attachment(item)
        maintype, subtype = ctype.lower().split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def reply_subject(subject: str, case_id: str, tag_word: str = DEFAULT_TAG_WORDS[0]) -> str:
    """'Re: <subject> [Sak #ID]': one reply prefix, the tag once."""
    subject = " ".join(_clean(subject or "", "subject").split())
    subject = _REPLY_PREFIX.sub("", subject)
    return tag_subject(f"Re: {subject}".strip(), case_id, tag_word)


def references_for(original: MailItem, limit: int = MAX_REFERENCES) -> list[str]:
    """The reply's References: the original's (or its In-Reply-To) plus its Message-ID,
    duplicates dropped, trimmed to `limit` keeping the first and the newest ids."""
    earlier = list(original.references)
    if not earlier and original.in_reply_to:
        earlier = [original.in_reply_to]
    ids = [_message_id(v, "original References") for v in earlier] + \
        [_message_id(original.message_id, "original Message-ID")]
    refs = list(dict.fromkeys(v for v in ids if v))
    if len(refs) > limit:
        refs = refs[:1] + refs[len(refs) - (limit - 1):]
    return refs


def _attachment(item: AttachmentLike) -> tuple[str, str, bytes]:
    if isinstance(item, tuple):
        filename, ctype, data = item
    else:
        filename, ctype, data = item.filename, item.content_type, item.data
    if not isinstance(data, (bytes, bytearray)):
        raise OutboundError(f"attachment {filename!r} has no content")
    filename = _clean(filename or "attachment", "attachment file name")
    if not _CTYPE.fullmatch(_clean(ctype or "", "attachment content type")):
        raise HeaderRefused(f"attachment content type {ctype!r}")
    return filename, ctype, bytes(data)


def _message_id(value: str | None, what: str) -> str | None:
    if not value:
        return None
    value = _clean(value, what).strip()
    if not _MSGID.fullmatch(value):
        raise HeaderRefused(f"{what} {value[:80]!r} is not <id@host>")
    return value


def _address(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and domain and not any(c.isspace() or c in "<>()," for c in value))


def _clean(value: str, what: str) -> str:
    if any(c in _LINE_BREAKS for c in value or ""):
        raise HeaderRefused(f"line break in {what}")
    return value or ""

"""Raw RFC 5322 bytes -> `MailItem`. Never raises: what could not be read is listed in
`problems` and the rest is kept.

Rules: the text body prefers text/plain and falls back to HTML reduced to text; every
declared charset is decoded with replacement on errors (an unknown one falls back to UTF-8,
then Windows-1252, and is named in `problems`); attachments above `max_attachment_bytes`
are listed with their size but their bytes are not kept; a forwarded message
(message/rfc822) is one attachment, not parts of this one. `automatic` marks mail that must
never get an automatic answer (RFC 3834 auto-replies, bulk and list mail, bounces).
"""
from __future__ import annotations

import codecs
import datetime as dt
import email
import email.policy
import logging
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
_MSGID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    data: bytes | None      # None: over the size limit, listed but not kept

    @property
    def kept(self) -> bool:
        return self.data is not None


@dataclass(frozen=True)
class MailItem:
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_name: str
    from_address: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: dt.datetime | None
    text: str
    attachments: tuple[Attachment, ...] = ()
    automatic: bool = False
    automatic_reason: str | None = None
    problems: tuple[str, ...] = field(default=())


def parse_message(raw: bytes, max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES) -> MailItem:
    problems: list[str] = []
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        return _item(msg, max_attachment_bytes, problems)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; the cause is kept
        log.warning("unparseable message (%d bytes): %r", len(raw), exc)
        problems.append(f"unparseable message: {type(exc).__name__}: {exc}")
        return MailItem(None, None, (), "", "", "", (), (), None,
                        raw.decode("utf-8", errors="replace"), problems=tuple(problems))


def _item(msg: EmailMessage, limit: int, problems: list[str]) -> MailItem:
    from_name, from_address = parseaddr(_header(msg, "From", problems))
    automatic, reason = _automatic(msg, from_address, problems)
    refs = tuple(_MSGID.findall(_header(msg, "References", problems)))
    in_reply_to = (_MSGID.findall(_header(msg, "In-Reply-To", problems)) or [None])[0]
    message_id = (_MSGID.findall(_header(msg, "Message-ID", problems)) or [None])[0]
    body, attachments = _walk(msg, limit, problems)
    _defects(msg, problems)
    return MailItem(
        message_id=message_id, in_reply_to=in_reply_to, references=refs,
        subject=_header(msg, "Subject", problems), from_name=from_name, from_address=from_address.lower(),
        to=_addresses(msg, "To", problems), cc=_addresses(msg, "Cc", problems),
        date=_date(msg, problems), text=body, attachments=tuple(attachments),
        automatic=automatic, automatic_reason=reason, problems=tuple(dict.fromkeys(problems)))


def _header(msg: Message, name: str, problems: list[str]) -> str:
    try:
        value = msg.get(name)
        return "" if value is None else " ".join(str(value).split())
    except Exception as exc:  # noqa: BLE001 - header classes raise on some malformed input
        problems.append(f"header {name}: {type(exc).__name__}")
        for key, value in msg.raw_items():      # the undecoded value, kept as text
            if key.lower() == name.lower():
                return " ".join(str(value).split())
        return ""


def _defects(msg: Message, problems: list[str]) -> None:
    """Defects the parser noted: in the structure, in decoding a part (recorded only once the
    payload was decoded, so this runs last), and in each parsed header."""
    for key in ("Message-ID", "In-Reply-To", "References"):
        value = msg.get(key) if key in msg else None
        if value is not None and not _MSGID.search(str(value)):
            problems.append(f"header {key}: no <id@host> in {str(value)[:80]!r}")
    if "Date" in msg and _date(msg, []) is None:
        problems.append("header Date: unreadable")
    for part in msg.walk():
        where = "message" if part is msg else f"part {part.get_content_type()}"
        for defect in part.defects:
            problems.append(f"{where}: {type(defect).__name__}")
        try:
            items = part.items() if part is msg else []
        except Exception as exc:  # noqa: BLE001
            problems.append(f"headers: {type(exc).__name__}")
            items = []
        for name, value in items:
            for defect in getattr(value, "defects", ()):
                problems.append(f"header {name}: {type(defect).__name__}")


def _addresses(msg: Message, name: str, problems: list[str]) -> tuple[str, ...]:
    value = _header(msg, name, problems)
    return tuple(addr.lower() for _, addr in getaddresses([value]) if addr)


def _date(msg: Message, problems: list[str]) -> dt.datetime | None:
    try:
        header = msg.get("Date")
        return None if header is None else header.datetime
    except Exception as exc:  # noqa: BLE001
        problems.append(f"header Date: {type(exc).__name__}")
        return None


# -- loops and auto-replies (RFC 3834) -------------------------------------------------------
_BULK = {"bulk", "junk", "list"}
_DAEMONS = {"mailer-daemon", "postmaster", "mail-daemon", "noreply-dmarc-support"}


def _automatic(msg: Message, from_address: str, problems: list[str]) -> tuple[bool, str | None]:
    def h(name: str) -> str:
        return _header(msg, name, problems).strip().lower()

    submitted = h("Auto-Submitted").split(";")[0].strip()
    if submitted and submitted != "no":
        return True, f"Auto-Submitted: {submitted}"
    if h("Precedence") in _BULK:
        return True, f"Precedence: {h('Precedence')}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autogenerated"):
        if msg.get(name) is not None:
            return True, name
    if msg.get("List-Id") is not None:
        return True, "List-Id"
    if from_address.split("@")[0].lower() in _DAEMONS:
        return True, f"sender {from_address.lower()}"
    if msg.get_content_type() == "multipart/report":
        return True, "delivery report"
    if _header(msg, "Return-Path", problems).strip() == "<>":
        return True, "null Return-Path"
    return False, None


# -- body and attachments ----------------------------------------------------------------------
def _walk(msg: Message, limit: int, problems: list[str]) -> tuple[str, list[Attachment]]:
    plain: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    stack = [msg]
    while stack:
        part = stack.pop(0)
        ctype = part.get_content_type()
        if part.is_multipart() and ctype != "message/rfc822":
            stack[0:0] = part.get_payload()
            continue
        if part.get_content_maintype() == "multipart":
            # Declared multipart but the parser found no parts (no or wrong boundary): keep
            # the raw text as the body rather than losing it.
            plain.append(_text(part, problems))
            continue
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part, problems)
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            (plain if ctype == "text/plain" else htmls).append(_text(part, problems))
            continue
        attachments.append(_attachment(part, ctype, filename, limit, problems))
    if plain:
        body = "\n".join(plain)
    elif htmls:
        body = "\n".join(html_to_text(h) for h in htmls)
    else:
        body = ""
    return body.strip(), attachments


def _filename(part: Message, problems: list[str]) -> str:
    try:
        return part.get_filename() or ""
    except Exception as exc:  # noqa: BLE001
        problems.append(f"filename: {type(exc).__name__}")
        return ""


def _attachment(part: Message, ctype: str, filename: str, limit: int, problems: list[str]) -> Attachment:
    if ctype == "message/rfc822":
        inner = part.get_payload()
        data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
        filename = filename or "forwarded.eml"
    else:
        data = part.get_payload(decode=True) or b""
    if not filename:
        filename = "attachment"
    if len(data) > limit:
        problems.append(f"attachment {filename!r}: {len(data)} bytes over the limit of {limit}; not kept")
        return Attachment(filename, ctype, len(data), None)
    return Attachment(filename, ctype, len(data), data)


def _text(part: Message, problems: list[str]) -> str:
    data = part.get_payload(decode=True) or b""
    declared = part.get_content_charset() or "us-ascii"
    return decode_text(data, declared, problems)


def decode_text(data: bytes, charset: str, problems: list[str]) -> str:
    """Decode with the declared charset, replacing what does not fit. Unknown charsets and
    8-bit text declared as ASCII (common) try UTF-8, then Windows-1252."""
    try:
        codec = codecs.lookup(charset).name
    except LookupError:
        problems.append(f"unknown charset {charset!r}")
        codec = None
    if codec == "ascii" and not data.isascii():
        problems.append("8-bit text declared as us-ascii")
        codec = None
    if codec is None:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace")
    text = data.decode(codec, errors="replace")
    if "\ufffd" in text:
        problems.append(f"bytes not valid in {charset}: replaced")
    return text


class _HTMLText(HTMLParser):
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
              "pre", "table", "ul", "ol", "hr"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.out.append(data)


def html_to_text(markup: str) -> str:
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.out).splitlines())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()

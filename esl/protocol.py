"""The Event Socket wire protocol, sans I/O: bytes in -> frames and events out,
commands -> bytes. No socket, no greenlet, no clock (h11 style).

Framing (checked against real FreeSWITCH captures, tests/data/esl-corpus):
* a frame is a header block ended by a blank line, then exactly ``Content-Length``
  bytes of body when that header is present (``command/reply`` and ``auth/request``
  have none; events and ``api/response`` do; ``log/data`` has more headers after it);
* several frames routinely arrive in one read, and one frame across many reads.

Plain events are a second header block inside the body. Each value is URL-decoded
*after* the block is split into lines, so a caller name holding ``%0A`` or ``%3A%20``
can never forge a header (greenswitch decodes first: that is its header-injection bug).
An event may carry a body of its own after an inner ``Content-Length`` and blank line
(BACKGROUND_JOB output, ``sendevent`` bodies).
"""
from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from typing import Iterable, Mapping
from urllib.parse import unquote
from xml.etree import ElementTree

from esl.errors import FrameTooLarge, InvalidCommand, ProtocolError

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024  # an api body (``show channels`` with thousands of calls) can be big

# Content-Types FreeSWITCH sends (all seen in the captures but rude-rejection, which
# mod_event_socket sends when an ACL refuses the client).
AUTH_REQUEST = "auth/request"
COMMAND_REPLY = "command/reply"
API_RESPONSE = "api/response"
EVENT_PLAIN = "text/event-plain"
EVENT_JSON = "text/event-json"
EVENT_XML = "text/event-xml"
DISCONNECT_NOTICE = "text/disconnect-notice"
RUDE_REJECTION = "text/rude-rejection"
LOG_DATA = "log/data"
KNOWN_CONTENT_TYPES = frozenset(
    {AUTH_REQUEST, COMMAND_REPLY, API_RESPONSE, EVENT_PLAIN, EVENT_JSON, EVENT_XML,
     DISCONNECT_NOTICE, RUDE_REJECTION, LOG_DATA}
)
EVENT_CONTENT_TYPES = frozenset({EVENT_PLAIN, EVENT_JSON, EVENT_XML})


@dataclass(frozen=True, slots=True)
class Frame:
    """One outer message. Header values are exactly as on the wire (not decoded)."""

    headers: dict[str, str]
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def reply_text(self) -> str:
        return self.headers.get("Reply-Text", "")

    @property
    def text(self) -> str:
        # api bodies and log lines may hold any bytes FreeSWITCH printed; never fail on them
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Event:
    """A decoded FreeSWITCH event: headers (decoded values, wire order) and its own body."""

    headers: dict[str, str]
    body: str = ""

    @property
    def name(self) -> str:
        """``Event-Name``, or the subclass for CUSTOM events (``sofia::register``)."""
        name = self.headers.get("Event-Name", "")
        if name == "CUSTOM":
            return self.headers.get("Event-Subclass", name)
        return name

    @property
    def unique_id(self) -> str | None:
        return self.headers.get("Unique-ID")

    def get(self, header: str, default: str | None = None) -> str | None:
        return self.headers.get(header, default)

    def variable(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get("variable_" + name, default)


def _length(text: str, what: str) -> int:
    # str.isdigit() accepts '²' and other non-ASCII digits that int() refuses
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise ProtocolError(f"invalid {what} {text[:40]!r}")
    return int(text)


def _split_headers(block: bytes) -> dict[str, str]:
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"header block is not UTF-8 at byte {exc.start}") from exc
    headers: dict[str, str] = {}
    for line in text.split("\n"):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ProtocolError(f"malformed header line {line[:80]!r}")
        headers[name] = value[1:] if value.startswith(" ") else value
    return headers


class FrameParser:
    """Incremental framer: ``feed(bytes)`` returns the complete frames so far.

    Work is linear in the bytes received, however the stream is cut: a read offset walks
    the buffer and consumed bytes are dropped once per ``feed`` (never once per frame);
    a header block half-received is not rescanned; a parsed header waits for its body.
    ``strict=True`` (the connection's setting) also refuses a frame whose Content-Type
    FreeSWITCH never sends. ``close()`` at EOF raises if a frame was cut off.
    After a ProtocolError the stream is unusable (the position of the next frame is
    unknown): the connection owner must reset the connection.
    """

    __slots__ = ("_buf", "_max_body", "_broken", "_scanned", "_head", "_need", "_strict")

    def __init__(self, max_body: int = MAX_BODY_BYTES, *, strict: bool = False):
        self._buf = bytearray()
        self._max_body = max_body
        self._broken = False
        self._scanned = 0  # bytes of _buf already searched for the blank line
        self._head: dict[str, str] | None = None  # parsed headers waiting for their body
        self._need = 0
        self._strict = strict

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a whole frame (non-zero at EOF = truncated)."""
        return len(self._buf)

    def close(self) -> None:
        """The peer closed the stream: a partial frame left over is a ProtocolError."""
        if self._buf and not self._broken:
            self._broken = True
            what = f"body ({len(self._buf)} of {self._need} bytes)" if self._head is not None else "header block"
            raise ProtocolError(f"stream ended inside a frame's {what}")

    def feed(self, data: bytes) -> list[Frame]:
        if self._broken:
            raise ProtocolError("stream already failed; reset the connection")
        buf = self._buf
        buf += data
        frames: list[Frame] = []
        pos = 0
        size = len(buf)
        head = self._head
        need = self._need
        try:
            while True:
                if head is not None:
                    end = pos + need
                    if end > size:
                        break
                    frames.append(Frame(head, bytes(buf[pos:end])))
                    pos = end
                    head = None
                    continue
                # FreeSWITCH never sends blank lines between frames, but tolerate stray ones
                while pos < size and buf[pos] == 0x0A:
                    pos += 1
                end = buf.find(b"\n\n", max(self._scanned - 1, pos))
                if end < 0:
                    self._scanned = size
                    if size - pos > MAX_HEADER_BYTES:
                        raise FrameTooLarge(f"header block over {MAX_HEADER_BYTES} bytes without a blank line")
                    break
                if end - pos > MAX_HEADER_BYTES:
                    raise FrameTooLarge(f"header block over {MAX_HEADER_BYTES} bytes")
                headers = _split_headers(bytes(buf[pos:end]))
                pos = end + 2
                self._scanned = 0
                if self._strict:
                    ctype = headers.get("Content-Type")
                    if ctype not in KNOWN_CONTENT_TYPES:
                        raise ProtocolError(f"unknown Content-Type {str(ctype)[:60]!r}")
                length_text = headers.get("Content-Length")
                if length_text is None:
                    frames.append(Frame(headers))
                    continue
                length = _length(length_text, "Content-Length")
                if length > self._max_body:
                    raise FrameTooLarge(f"body of {length} bytes exceeds the {self._max_body}-byte limit")
                head, need = headers, length
        except ProtocolError:
            self._broken = True
            raise
        finally:
            if pos:
                del buf[:pos]
                self._scanned = max(self._scanned - pos, 0)
            self._head, self._need = head, need
        return frames


def decode_event(frame: Frame) -> Event:
    """Turn an event frame (plain, json or xml) into an Event."""
    ctype = frame.content_type
    if ctype == EVENT_PLAIN:
        return parse_plain_event(frame.body)
    if ctype == EVENT_JSON:
        return parse_json_event(frame.body)
    if ctype == EVENT_XML:
        return parse_xml_event(frame.body)
    raise ProtocolError(f"not an event frame: Content-Type {ctype!r}")


_HEX_DIGITS = "0123456789abcdefABCDEF"
_HEX_BYTE = {(a + b).encode(): bytes([int(a + b, 16)]) for a in _HEX_DIGITS for b in _HEX_DIGITS}


def percent_decode(text: str) -> str:
    """``%XX`` -> byte, the bytes read as UTF-8 (invalid sequences become U+FFFD), a ``%``
    not followed by two hex digits kept as is: the same result as urllib's ``unquote``.

    Fast path (10x): with no backslash in the text, ``%XX`` -> ``\\xXX`` and the C codec
    ``escape_decode`` does the work; it refuses a ``\\x`` without two hex digits, and
    then the byte-wise loop below decides."""
    data = text.encode("utf-8")
    if b"\\" not in data:
        try:
            return codecs.escape_decode(data.replace(b"%", b"\\x"))[0].decode("utf-8", "replace")
        except ValueError:
            pass
    parts = data.split(b"%")
    out = [parts[0]]
    hex_byte = _HEX_BYTE
    for part in parts[1:]:
        byte = hex_byte.get(part[:2])
        if byte is None:
            out.append(b"%")
            out.append(part)
        else:
            out.append(byte)
            out.append(part[2:])
    return b"".join(out).decode("utf-8", "replace")


def _plain_headers_slow(text: str) -> dict[str, str]:
    """Line by line: each line split at its first ``: `` (or ``:``), then its value decoded."""
    headers: dict[str, str] = {}
    for line in text.split("\n"):
        if not line:
            continue
        name, sep, value = line.partition(": ")
        if not sep:
            name, sep, value = line.partition(":")
            if not sep:
                raise ProtocolError(f"malformed event header line {line[:80]!r}")
        if "%" in value:
            value = percent_decode(value)
        headers[name] = value
    return headers


def _plain_headers(text: str) -> dict[str, str]:
    """Fast path, same result as the slow one, with no Python code per line: every line
    is partitioned at its first ``: `` by ``map`` (names stay raw, never decoded), and all
    values are decoded in one pass joined by NUL (sound when decoding cannot create a NUL:
    no ``%00`` and no raw NUL in the block). A line without ``: `` (empty, ``Name:value``,
    garbage) sends the block to the slow path, which decides or raises."""
    names, seps, values = zip(*map(str.partition, text.split("\n"), repeat(": ")))
    if "" in seps:
        return _plain_headers_slow(text)
    if "%" in text:
        if "%00" in text or "\x00" in text:
            return _plain_headers_slow(text)
        values = percent_decode("\x00".join(values)).split("\x00")
    return dict(zip(names, values))


def parse_plain_event(body: bytes) -> Event:
    end = body.find(b"\n\n")
    block, rest = (body, b"") if end < 0 else (body[:end], body[end + 2:])
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"plain event is not UTF-8 at byte {exc.start}") from exc
    headers = _plain_headers(text)
    event_body = ""
    if rest:
        length_text = headers.get("Content-Length")
        length = _length(length_text or "", "inner Content-Length")
        if length > len(rest):
            raise ProtocolError("event body is shorter than its inner Content-Length")
        event_body = rest[:length].decode("utf-8", "replace")
    return Event(headers, event_body)


def parse_json_event(body: bytes) -> Event:
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ProtocolError(f"event-json body is not JSON: {str(exc)[:80]}") from exc
    if not isinstance(obj, dict):
        raise ProtocolError("event-json body is not an object")
    event_body = obj.pop("_body", "")
    headers = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in obj.items()}
    return Event(headers, event_body if isinstance(event_body, str) else str(event_body))


def parse_xml_event(body: bytes) -> Event:
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"event-xml body is not XML: {str(exc)[:80]}") from exc
    headers_el = root.find("headers")
    if root.tag != "event" or headers_el is None:
        raise ProtocolError("event-xml body has no <event><headers>")
    headers = {child.tag: unquote(child.text or "") for child in headers_el}
    body_el = root.find("body")
    return Event(headers, body_el.text or "" if body_el is not None else "")


def parse_channel_data(frame: Frame) -> Event:
    """The outbound-socket ``connect`` reply: a CHANNEL_DATA header block, values URL-encoded."""
    return Event({k: unquote(v) for k, v in frame.headers.items()})


# ---------------------------------------------------------------- commands -> bytes

def _check_line(text: str, what: str) -> str:
    if "\n" in text or "\r" in text:
        raise InvalidCommand(f"{what} must be one line: {text[:80]!r}")
    return text


def encode_command(command: str, headers: Mapping[str, str] | None = None, body: str | None = None) -> bytes:
    """Serialise one client command: first line, optional headers, optional body."""
    lines = [_check_line(command, "command")]
    if not command.strip():
        raise InvalidCommand("empty command")
    for name, value in (headers or {}).items():
        lines.append(f"{_check_line(name, 'header name')}: {_check_line(str(value), 'header value')}")
    if body is not None:
        data = body.encode("utf-8")
        lines.append(f"content-length: {len(data)}")
        return ("\n".join(lines) + "\n\n").encode("utf-8") + data
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def encode_api(command: str) -> bytes:
    return encode_command("api " + command)


def encode_bgapi(command: str, job_uuid: str | None = None) -> bytes:
    return encode_command("bgapi " + command, {"Job-UUID": job_uuid} if job_uuid else None)


def encode_sendmsg(uuid: str | None, app: str, arg: str = "", *, event_uuid: str | None = None,
                   lock: bool = False) -> bytes:
    """``sendmsg`` executing a dialplan application. The argument travels in a
    text/plain body (as FreeSWITCH's own clients do), so it may hold newlines."""
    headers = {"call-command": "execute", "execute-app-name": app}
    if lock:
        headers["event-lock"] = "true"
    if event_uuid:
        headers["Event-UUID"] = event_uuid
    if arg:
        headers["content-type"] = "text/plain"
    return encode_command(f"sendmsg {uuid}" if uuid else "sendmsg", headers, arg or None)


def encode_events(fmt: str, names: Iterable[str]) -> bytes:
    if fmt not in ("plain", "json", "xml"):
        raise InvalidCommand(f"unknown event format {fmt!r}")
    names = list(names)
    if not names:
        raise InvalidCommand("empty subscription list")
    return encode_command(f"event {fmt} " + " ".join(names))


# ------------------------------------------------- events -> bytes (the simulator's side)

# FreeSWITCH's switch_url_encode: these printable characters are escaped, as are bytes
# outside 0x20..0x7E; ``, / ( ) ! * ' $ ~ -`` are not. A '%' already followed by two hex
# digits is left alone (so FreeSWITCH's encoding is lossy for such values; we do the same).
_ESCAPE = frozenset(b"\r\n #%&+:;<=>?@[\\]^`{|}\"")
_HEX = frozenset(b"0123456789abcdefABCDEF")


_NEEDS_ESCAPE = re.compile(r'[^\x21-\x7e]|[#%&+:;<=>?@\[\\\]^`{|}"]')


@lru_cache(maxsize=1 << 16)  # event values repeat a lot (variables, names, core headers)
def fs_url_encode(value: str) -> str:
    if not _NEEDS_ESCAPE.search(value):  # the common case, at C speed
        return value
    data = value.encode("utf-8")
    out = []
    n = len(data)
    for i, b in enumerate(data):
        if b == 0x25 and i + 2 < n and data[i + 1] in _HEX and data[i + 2] in _HEX:
            out.append("%")
        elif b < 0x20 or b > 0x7E or b in _ESCAPE:
            out.append("%%%02X" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def frame_bytes(headers: Iterable[tuple[str, str]], body: bytes = b"") -> bytes:
    """Serialise an outer frame exactly as given (header order matters to FreeSWITCH fidelity)."""
    head = "".join(f"{k}: {v}\n" for k, v in headers)
    return head.encode("utf-8") + b"\n" + body


def serialize_plain_event(headers: Iterable[tuple[str, str]], body: str = "") -> bytes:
    items = list(headers)
    text = "".join(f"{k}: {fs_url_encode(v)}\n" for k, v in items)
    if body:
        data = body.encode("utf-8")
        return (text + f"Content-Length: {len(data)}\n\n").encode("utf-8") + data
    return (text + "\n").encode("utf-8")


def serialize_json_event(headers: Iterable[tuple[str, str]], body: str = "") -> bytes:
    obj = dict(headers)
    if body:
        obj["Content-Length"] = str(len(body.encode("utf-8")))
        obj["_body"] = body
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def serialize_xml_event(headers: Iterable[tuple[str, str]], body: str = "") -> bytes:
    from xml.sax.saxutils import escape

    parts = ["<event>\n  <headers>\n"]
    for k, v in headers:
        parts.append(f"    <{k}>{escape(fs_url_encode(v))}</{k}>\n")
    parts.append("  </headers>\n")
    if body:
        parts[-1] = f"    <Content-Length>{len(body.encode('utf-8'))}</Content-Length>\n  </headers>\n"
        parts.append(f"  <body>{escape(body)}</body>\n")
    parts.append("</event>")
    return "".join(parts).encode("utf-8")


def event_frame(fmt: str, headers: Iterable[tuple[str, str]], body: str = "") -> bytes:
    """A whole outer event frame as FreeSWITCH writes it (Content-Length first)."""
    serializer = {"plain": serialize_plain_event, "json": serialize_json_event, "xml": serialize_xml_event}[fmt]
    payload = serializer(headers, body)
    ctype = {"plain": EVENT_PLAIN, "json": EVENT_JSON, "xml": EVENT_XML}[fmt]
    return frame_bytes([("Content-Length", str(len(payload))), ("Content-Type", ctype)], payload)


@dataclass(slots=True)
class Reply:
    """A command/reply or api/response classified: ok flag and text."""

    ok: bool
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def classify_reply(frame: Frame) -> Reply:
    if frame.content_type == COMMAND_REPLY:
        text = frame.reply_text
        return Reply(not text.startswith("-ERR"), text, frame.headers)
    text = frame.text
    return Reply(not text.startswith("-ERR") and not text.startswith("-USAGE"), text, frame.headers)


# ------------------------------------------------- client commands (the simulator's side)

@dataclass(frozen=True, slots=True)
class ClientCommand:
    """One command as a client wrote it: first line, headers (wire order), body."""

    line: str
    headers: dict[str, str]
    body: str = ""


class CommandParser:
    """Incremental parser for what a client sends: ``line\\n[Name: value\\n...]\\n[body]``.

    A ``content-length`` header (any case) announces a body of that many bytes.
    Bad input raises ProtocolError (the server answers by closing the connection).
    """

    __slots__ = ("_buf", "_head", "_need")

    def __init__(self):
        self._buf = bytearray()
        self._head: tuple[str, dict[str, str]] | None = None
        self._need = 0

    def feed(self, data: bytes) -> list[ClientCommand]:
        buf = self._buf
        buf += data
        out: list[ClientCommand] = []
        while True:
            if self._head is not None:
                if len(buf) < self._need:
                    break
                body = bytes(buf[:self._need]).decode("utf-8", "replace")
                del buf[:self._need]
                out.append(ClientCommand(self._head[0], self._head[1], body))
                self._head = None
                continue
            while buf[:1] in (b"\n", b"\r"):
                del buf[:1]
            end = buf.find(b"\n\n")
            if end < 0:
                if len(buf) > MAX_HEADER_BYTES:
                    raise FrameTooLarge("command header block too large")
                break
            text = bytes(buf[:end]).decode("utf-8", "replace").replace("\r", "")
            del buf[:end + 2]
            line, *rest = text.split("\n")
            headers: dict[str, str] = {}
            for raw in rest:
                name, sep, value = raw.partition(":")
                if not sep:
                    raise ProtocolError(f"malformed command header {raw[:80]!r}")
                headers[name.strip()] = value.strip()
            length = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
            if length is not None:
                if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                    raise ProtocolError(f"invalid content-length {length[:40]!r}")
                self._head, self._need = (line.strip(), headers), int(length)
                continue
            out.append(ClientCommand(line.strip(), headers))
        return out

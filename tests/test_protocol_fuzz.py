"""The parser under hostile input: whatever bytes arrive, the only exception is a typed
ProtocolError, and valid streams give the same frames however they are cut.

Seeds are the real FreeSWITCH messages of the corpus (tests/data/esl-corpus): mutated,
cut at random places, concatenated, fed in random chunks.
"""
from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esl import protocol
from esl.errors import ESLError, FrameTooLarge, ProtocolError
from tests.conftest import corpus_files, corpus_messages

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _streams() -> list[list[bytes]]:
    """Per captured connection, what FreeSWITCH sent, message by message."""
    out = []
    for path in corpus_files():
        by_conn: dict[str, list[bytes]] = {}
        for m in corpus_messages(path):
            if m["dir"] == "recv" and m["raw"]:
                by_conn.setdefault(m["conn"], []).append(m["raw"].encode("utf-8"))
        out.extend(by_conn.values())
    return out


STREAMS = _streams()
MESSAGES = [msg for stream in STREAMS for msg in stream]
EVENT_MESSAGES = [m for m in MESSAGES if b"Content-Type: text/event-" in m[:80]]


def consume(chunks, strict: bool = False) -> list:
    """Everything a connection would do with these bytes: frame, decode, classify, EOF."""
    parser = protocol.FrameParser(strict=strict)
    frames = []
    for chunk in chunks:
        frames.extend(parser.feed(chunk))
    parser.close()
    for frame in frames:
        if frame.content_type in protocol.EVENT_CONTENT_TYPES:
            protocol.decode_event(frame)
        else:
            protocol.classify_reply(frame)
    return frames


def cut(data: bytes, points: list[int]) -> list[bytes]:
    points = sorted({p % (len(data) + 1) for p in points})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def only_protocol_errors(chunks, strict: bool = False) -> None:
    try:
        consume(chunks, strict)
    except ProtocolError:
        pass  # the one allowed failure; anything else propagates and fails the test


# ----------------------------------------------------------------- valid streams


@FUZZ
@given(st.sampled_from(STREAMS), st.lists(st.integers(min_value=0), max_size=40))
def test_a_valid_stream_cut_anywhere_gives_the_same_frames(stream, points):
    data = b"".join(stream)
    whole = consume([data], strict=True)
    assert len(whole) == len(stream)
    assert consume(cut(data, points), strict=True) == whole


@FUZZ
@given(st.lists(st.sampled_from(MESSAGES), min_size=1, max_size=12), st.lists(st.integers(min_value=0), max_size=20))
def test_concatenated_corpus_messages_come_out_one_frame_each(messages, points):
    frames = consume(cut(b"".join(messages), points), strict=True)
    assert len(frames) == len(messages)
    assert [protocol.FrameParser().feed(m)[0] for m in messages] == frames


# ----------------------------------------------------------------- hostile bytes

MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
    st.tuples(st.just("insert"), st.integers(min_value=0), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(min_value=0), st.integers(min_value=1, max_value=16)),
    st.tuples(st.just("truncate"), st.integers(min_value=0), st.just(0)),
)


def mutate(data: bytes, mutations) -> bytes:
    buf = bytearray(data)
    for kind, where, arg in mutations:
        i = where % (len(buf) + 1)
        if kind == "flip" and buf:
            buf[min(i, len(buf) - 1)] = arg
        elif kind == "insert":
            buf[i:i] = arg
        elif kind == "delete":
            del buf[i:i + arg]
        elif kind == "truncate":
            del buf[i:]
    return bytes(buf)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(MESSAGES), min_size=1, max_size=4), st.lists(MUTATION, min_size=1, max_size=6),
       st.lists(st.integers(min_value=0), max_size=10), st.booleans())
def test_mutated_corpus_streams_raise_only_protocol_errors(messages, mutations, points, strict):
    only_protocol_errors(cut(mutate(b"".join(messages), mutations), points), strict)


@FUZZ
@given(st.binary(max_size=600), st.booleans())
def test_random_bytes_raise_only_protocol_errors(data, strict):
    only_protocol_errors([data], strict)


@FUZZ
@given(st.sampled_from(EVENT_MESSAGES), st.lists(MUTATION, min_size=1, max_size=6))
def test_mutated_event_bodies_decode_or_raise_protocol_error(message, mutations):
    frame = protocol.FrameParser().feed(message)[0]
    broken = protocol.Frame(frame.headers, mutate(frame.body, mutations))
    try:
        event = protocol.decode_event(broken)
    except ProtocolError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in event.headers.items())


@FUZZ
@given(st.text(max_size=300))
def test_fast_and_slow_header_paths_agree(text):
    try:
        slow = protocol._plain_headers_slow(text)
    except ProtocolError:
        slow = ProtocolError
    try:
        fast = protocol._plain_headers(text)
    except ProtocolError:
        fast = ProtocolError
    assert fast == slow


@FUZZ
@given(st.text(alphabet=st.sampled_from("%0aAfF9zg\\:\n \x00é"), max_size=60) | st.text(max_size=60))
def test_percent_decode_matches_urllib(text):
    assert protocol.percent_decode(text) == unquote(text)


# ----------------------------------------------------------------- header injection

LOSSY = re.compile("%[0-9A-Fa-f]{2}")
HEADER_NAME = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=20)


@FUZZ
@given(st.dictionaries(HEADER_NAME, st.text(min_size=1, max_size=40), min_size=1, max_size=8))
def test_any_value_round_trips_without_creating_headers(headers):
    """What FreeSWITCH encodes, we decode to the same header names, no more, no fewer, and
    the same values (but where FreeSWITCH's encoding is lossy: a '%' followed by two hex
    digits is sent as is, so it comes back decoded)."""
    headers = {"Event-Name": "CUSTOM", **headers}
    frame = protocol.FrameParser().feed(protocol.event_frame("plain", list(headers.items())))[0]
    decoded = protocol.decode_event(frame).headers
    assert list(decoded) == list(headers)
    for name, value in headers.items():
        assert decoded[name] == (unquote(value) if LOSSY.search(value) else value)


@pytest.mark.parametrize("value", [
    "Alice%0AEvent-Name: HEARTBEAT",
    "Alice%0AUnique-ID%3A%20forged",
    "x%3A%20y%0D%0AZ%3A%20w",
    "Bob%0a%0aContent-Length%3A%205",
])
def test_encoded_newline_or_colon_in_a_plain_value_never_makes_a_header(value):
    body = f"Event-Name: CHANNEL_PARK\nCaller-Caller-ID-Name: {value}\nUnique-ID: real\n\n".encode()
    event = protocol.parse_plain_event(body)
    assert list(event.headers) == ["Event-Name", "Caller-Caller-ID-Name", "Unique-ID"]
    assert event.headers["Caller-Caller-ID-Name"] == unquote(value)
    assert event.unique_id == "real"
    assert event.name == "CHANNEL_PARK"


# ----------------------------------------------------------------- each malformation, named


def feed_all(data: bytes, strict: bool = False, max_body: int = protocol.MAX_BODY_BYTES):
    parser = protocol.FrameParser(max_body, strict=strict)
    frames = parser.feed(data)
    parser.close()
    return frames


EVENT = b"Event-Name: HEARTBEAT\n\n"


@pytest.mark.parametrize("data, error", [
    (b"Content-Type: command/reply\nReply-Text: +OK", ProtocolError),  # no blank line, then EOF
    (b"Content-Type: api/response\nContent-Length: 10\n\n+OK", ProtocolError),  # body cut by EOF
    (b"Content-Type: api/response\nContent-Length: ten\n\n+OK\n", ProtocolError),
    (b"Content-Type: api/response\nContent-Length: -4\n\n+OK\n", ProtocolError),
    (b"Content-Type: api/response\nContent-Length: \xc2\xb2\n\nab", ProtocolError),  # '²'.isdigit()
    (b"Content-Type: api/response\nContent-Length: 99999999999999999999\n\n", ProtocolError),
    (b"Content-Type: api/response\nContent-Length: 2000\n\n" + b"x" * 2000, FrameTooLarge),
    (b"Content-Type: command/reply\nReply-Text: \xff\xfe\n\n", ProtocolError),  # not UTF-8
    (b"Content-Type: command/reply\nno colon here\n\n", ProtocolError),
    (b"Content-Type: command/reply\n" + b"X-Pad: " + b"y" * (protocol.MAX_HEADER_BYTES + 10), FrameTooLarge),
    # an event whose Content-Length is missing: its body is read as the next header block
    (b"Content-Type: text/event-plain\n\nEvent-Name: HEARTBEAT\nCore-UUID: %\n\nnot a header\n\n", ProtocolError),
    # a Content-Length too short: the rest of the body is taken for a frame and refused
    (b"Content-Length: 5\nContent-Type: text/event-plain\n\n" + EVENT + b"\n", ProtocolError),
])
def test_malformed_stream_raises_a_typed_protocol_error(data, error):
    with pytest.raises(error) as info:
        feed_all(data, strict=True, max_body=1000)
    assert isinstance(info.value, ESLError) and info.value.error_id.startswith("esl.remote.")


def test_unknown_content_type_is_refused_in_strict_mode_only():
    data = b"Content-Type: text/surprise\nContent-Length: 2\n\nhi"
    assert feed_all(data)[0].body == b"hi"
    with pytest.raises(ProtocolError, match="unknown Content-Type"):
        feed_all(data, strict=True)


def test_a_failed_parser_stays_failed():
    parser = protocol.FrameParser()
    with pytest.raises(ProtocolError):
        parser.feed(b"Content-Length: x\n\n")
    with pytest.raises(ProtocolError, match="already failed"):
        parser.feed(b"Content-Type: command/reply\nReply-Text: +OK\n\n")


@pytest.mark.parametrize("body", [
    b"Event-Name: BACKGROUND_JOB\nContent-Length: 50\n\n+OK\n",  # inner body shorter than announced
    b"Event-Name: BACKGROUND_JOB\nContent-Length: x\n\n+OK\n",
    b"Event-Name: BACKGROUND_JOB\n\n+OK\n",  # a body with no inner Content-Length
    b"Event-Name: X\nbad line\n\n",
    b"Event-Name: \xff\n\n",
])
def test_malformed_plain_event_bodies(body):
    frame = protocol.Frame({"Content-Type": protocol.EVENT_PLAIN, "Content-Length": str(len(body))}, body)
    with pytest.raises(ProtocolError):
        protocol.decode_event(frame)


@pytest.mark.parametrize("ctype, body", [
    (protocol.EVENT_JSON, b"[1, 2]"),
    (protocol.EVENT_JSON, b"{\"a\": "),
    (protocol.EVENT_JSON, b"\xff{}"),
    (protocol.EVENT_JSON, b"[" * 100_000),
    (protocol.EVENT_XML, b"<event><headers>"),
    (protocol.EVENT_XML, b"<other/>"),
    (protocol.COMMAND_REPLY, b""),
])
def test_malformed_json_and_xml_events(ctype, body):
    with pytest.raises(ProtocolError):
        protocol.decode_event(protocol.Frame({"Content-Type": ctype}, body))

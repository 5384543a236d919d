"""Tier (b): our parser accepts every message FreeSWITCH sent in the real captures,
fed whole and byte by byte."""
from __future__ import annotations

import pytest

from esl import protocol
from tests.conftest import corpus_files, corpus_messages


def _recv_raw(path):
    return [m["raw"].encode("utf-8") for m in corpus_messages(path) if m["dir"] == "recv" and m["raw"]]


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_every_corpus_message_parses_whole(path):
    for raw in _recv_raw(path):
        parser = protocol.FrameParser()
        frames = parser.feed(raw)
        assert len(frames) == 1, raw[:200]
        assert parser.pending == 0
        frame = frames[0]
        assert frame.content_type in protocol.KNOWN_CONTENT_TYPES or "Event-Name" in frame.headers
        if frame.content_type in protocol.EVENT_CONTENT_TYPES:
            event = protocol.decode_event(frame)
            assert event.headers["Event-Name"]
            assert event.name


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_stream_byte_by_byte_gives_same_frames_as_whole(path):
    """Per connection, concatenate what FreeSWITCH sent and feed it one byte at a time."""
    by_conn: dict[str, list[bytes]] = {}
    for m in corpus_messages(path):
        if m["dir"] == "recv" and m["raw"]:
            by_conn.setdefault(m["conn"], []).append(m["raw"].encode("utf-8"))
    for conn, messages in by_conn.items():
        stream = b"".join(messages)
        whole = protocol.FrameParser().feed(stream)
        parser = protocol.FrameParser()
        single = []
        for i in range(len(stream)):
            single.extend(parser.feed(stream[i:i + 1]))
        assert len(whole) == len(messages), conn
        assert whole == single
        assert parser.pending == 0


def test_background_job_body_is_split_from_headers(corpus):
    bg = [protocol.decode_event(f) for m in corpus["01-inbound-basics.jsonl"] if m["dir"] == "recv"
          for f in protocol.FrameParser().feed(m["raw"].encode()) if b"BACKGROUND_JOB" in f.body]
    assert bg, "corpus has BACKGROUND_JOB events"
    for event in bg:
        assert event.headers["Content-Length"].isdigit()
        assert event.body and event.body.endswith("\n")
        assert len(event.body.encode()) == int(event.headers["Content-Length"])


def test_sendevent_keeps_client_header_order_and_body(corpus):
    frames = [f for m in corpus["01-inbound-basics.jsonl"] if m["dir"] == "recv"
              for f in protocol.FrameParser().feed(m["raw"].encode()) if b"esl%3A%3Atest" in f.body]
    event = protocol.decode_event(frames[0])
    assert list(event.headers)[0] == "Event-Subclass"
    assert event.name == "esl::test"
    assert event.headers["X-Test-Header"] == "a value with spaces & symbols=%"
    assert event.body == "hello from the capture tool\n"

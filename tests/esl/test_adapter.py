"""FreeSWITCH events from the real captures -> engine events."""
from __future__ import annotations

import json

from engine import events as ev
from esl import adapter, protocol
from esl.channels import parse_show_channels
from tests.conftest import corpus_files, corpus_messages


def _events():
    for path in corpus_files():
        for m in corpus_messages(path):
            if m["dir"] == "recv" and "text/event-plain" in m["raw"][:80]:
                for frame in protocol.FrameParser().feed(m["raw"].encode()):
                    yield protocol.decode_event(frame)


def test_corpus_events_translate_to_engine_events_with_real_times():
    seen = {}
    for event in _events():
        out = adapter.translate("fs1", event)
        if out is not None:
            seen.setdefault(type(out), out)
            assert out.at.year == 2026
    assert {ev.CallParked, ev.LegAnswered, ev.Bridged, ev.LegHungUp, ev.PlaybackFinished,
            ev.DigitPressed, ev.RegistrationChanged} <= set(seen)
    reg = [adapter.translate("fs1", e) for e in _events() if e.name.startswith("sofia::")]
    assert any(r.registered and r.sip_user == "1000" for r in reg if r)
    assert any(not r.registered and r.sip_user == "1000" for r in reg if r)


def test_given_park_of_agent_leg_then_not_a_new_call_but_the_moment_to_bridge():
    headers = {"Event-Name": "CHANNEL_PARK", "Unique-ID": "leg", "variable_cc_caller_uuid": "caller"}
    parked = adapter.translate("fs1", protocol.Event(headers))
    assert isinstance(parked, ev.LegParked) and (parked.node, parked.uuid) == ("fs1", "leg")
    headers = {"Event-Name": "CHANNEL_PARK", "Unique-ID": "c", "variable_cc_tenant": "helsedir",
               "variable_cc_queue": "q", "Caller-Destination-Number": "22001000"}
    parked = adapter.translate("fs1", protocol.Event(headers))
    assert (parked.tenant, parked.queue, parked.destination) == ("helsedir", "q", "22001000")
    assert parked.variables == {"cc_tenant": "helsedir", "cc_queue": "q"}


def test_show_channels_and_registrations_parsers_on_real_replies(corpus):
    bodies = [protocol.FrameParser().feed(m["raw"].encode())[0].text
              for name in corpus for m in corpus[name] if m["dir"] == "recv" and "api/response" in m["raw"][:40]]
    empty = [b for b in bodies if b.startswith('{"row_count": 0}')]
    rows = [b for b in bodies if b.startswith('{"row_count":') and '"rows"' in b]
    assert empty and rows
    assert parse_show_channels(empty[0]) == []
    assert all(len(r["uuid"]) == 36 for r in parse_show_channels(rows[0]))
    reg = [b for b in bodies if b.lstrip().startswith("Registrations:")]
    assert adapter.registered_users(reg[0]) == {"1000"}


def test_snapshot_from_dump_keeps_cc_variables():
    dump = json.dumps({"Unique-ID": "u1", "Answer-State": "answered", "Caller-Destination-Number": "22001000",
                       "Caller-Channel-Created-Time": "1795644353581033", "variable_cc_tenant": "nav",
                       "variable_cc_entered_at": "2026-11-25T22:00:00+00:00", "variable_other": "x"})
    snap = adapter.snapshot_from_dump("fs1", dump)
    assert snap.answered and snap.variables == {"cc_tenant": "nav", "cc_entered_at": "2026-11-25T22:00:00+00:00"}
    assert snap.created_at.year == 2026


def test_uuid_dump_in_plain_lines_is_read_like_json_and_garbage_refused():
    plain = "Unique-ID: u2\nAnswer-State: ringing\nvariable_cc_queue: a%20b\n"
    snap = adapter.snapshot_from_dump("fs1", plain)
    assert snap.uuid == "u2" and not snap.answered and snap.variables == {"cc_queue": "a b"}
    import pytest
    with pytest.raises(ValueError):
        adapter.snapshot_from_dump("fs1", "-ERR No such channel!")

"""The simulator's `eavesdrop` against the real switch's capture 17 (tests/data/esl-corpus/
17-eavesdrop.jsonl, FACTS.md section 17), and its DTMF mode switches.

Conformance: the capture tool's commands are sent again, in order, to the simulator (the
same uuids: origination_uuid, and the callers placed with the capture's uuids), each after
the events the tool had waited for; one extractor turns both transcripts into the facts
FACTS.md states, per part (listen + 2/3/0 + the caller hangs up; whisper + 1 + the
supervisor hangs up; barge + the agent's leg ends first; `*`), and they must be equal.
Not compared (esl/sim/deviations.py): CODEC, CALL_UPDATE, MEDIA_BUG_*, times.
"""
from __future__ import annotations

import re

import pytest

from esl import commands
from esl.sim.rawclient import RawClient
from esl.sim.server import Simulator
from tests.conftest import CORPUS, corpus_messages
from tests.helpers import until, wait_for
from tests.test_sim_conformance import UUID, Wire, arg_uuid, corpus_records

NAME = "17-eavesdrop.jsonl"
NUMBER = "22009000"
ROUTES = {NUMBER: {"cc_tenant": "fjordvik", "cc_queue": "fjordvik-main", "cc_entry": "22009000",
                   "park_after_bridge": "true"}}
AGENT, SUPERVISOR = "1090", "1091"
SYNCED = ("CHANNEL_ANSWER", "CHANNEL_PARK", "CHANNEL_BRIDGE", "DTMF", "CHANNEL_DESTROY")


# --------------------------------------------------------------- the facts of either transcript
def _events(recs, uuid, start=0, stop=None):
    return [(i, r.event) for i, r in enumerate(recs[start:stop], start)
            if r.event is not None and r.event.unique_id == uuid]


def _index(recs, uuid, name, start=0, after=None):
    return next((i for i, e in _events(recs, uuid, start) if e.name == name and (after is None or i > after)), None)


def _reply(recs, i):
    """The reply to the command sent at recs[i] (the next reply frame on that connection)."""
    r = next(x for x in recs[i + 1:] if x.conn == recs[i].conn and x.kind == "frame"
             and x.frame.content_type in ("command/reply", "api/response"))
    return r.frame.text if r.frame.content_type == "api/response" else r.frame.reply_text


def _s_view(e) -> str:
    h = e.headers
    if e.name in ("CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE"):
        extra = h.get("Application", "") + (f" {h.get('Application-Response')}" if "COMPLETE" in e.name else "")
        return f"{e.name} {extra}"
    if e.name == "DTMF":
        return f"DTMF {h.get('DTMF-Digit')} {h.get('DTMF-Source')} {h.get('DTMF-Duration')}"
    if e.name == "CHANNEL_HANGUP":
        return f"{e.name} {h.get('Hangup-Cause')}"
    return e.name


S_EVENTS = {"CHANNEL_ANSWER", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "DTMF", "CHANNEL_HANGUP",
            "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY", "CHANNEL_PARK", "CHANNEL_BRIDGE"}


def facts_17(recs) -> list[dict]:
    out = []
    rings = [i for i, r in enumerate(recs) if r.kind == "send" and "&eavesdrop(" in r.line]
    for n, i in enumerate(rings):
        line = recs[i].line
        s, b = arg_uuid(line), re.search(r"&eavesdrop\(([0-9a-f-]{36})\)", line).group(1)
        bridge = max(j for j in range(i) if recs[j].kind == "send" and recs[j].line.startswith("api uuid_bridge"))
        a = recs[bridge].line.split()[2]
        stop = rings[n + 1] if n + 1 < len(rings) else None
        names = {a: "A", b: "B", s: "S"}
        sends = [j for j in range(i, stop or len(recs)) if recs[j].kind == "send"]
        sends = sends[:next((k for k, j in enumerate(sends) if recs[j].line.startswith("api uuid_answer")), None)]
        execute = _index(recs, s, "CHANNEL_EXECUTE")
        complete = _index(recs, s, "CHANNEL_EXECUTE_COMPLETE")
        first_end = min(j for j in sends if "uuid_kill" in recs[j].line or recs[j].line.endswith(" *"))
        b_hangup, b_destroy = _index(recs, b, "CHANNEL_HANGUP"), _index(recs, b, "CHANNEL_DESTROY")
        s_events = [e for _, e in _events(recs, s) if e.name in S_EVENTS]
        dtmf_sends = [j for j in sends if "uuid_recv_dtmf" in recs[j].line]
        execs = [e for _, e in _events(recs, s) if e.name == "CHANNEL_EXECUTE"]
        out.append({
            "part": "ABCD"[n],
            "start": {k: execs[0].headers.get(f"variable_{k}", "") for k in
                      ("eavesdrop_enable_dtmf", "eavesdrop_whisper_aleg", "eavesdrop_whisper_bleg")}
            if execs else {},
            "s": [_s_view(e) for e in s_events],
            "s_other_leg": any("Other-Leg-Unique-ID" in e.headers for e in s_events),
            "eavesdrop_on": execs[0].headers.get("Application-Data") == b if execs else None,
            # no bridge change, no application on the caller or the agent leg while it listens
            "call_untouched": not [e.name for x in (a, b) for _, e in _events(recs, x, execute or 0, first_end)
                                   if e.name in ("CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_EXECUTE",
                                                 "CHANNEL_HANGUP")],
            "replies": [(UUID.sub(lambda m: names.get(m.group(0), "?"), recs[j].line.split("\n")[0]),
                         UUID.sub(lambda m: names.get(m.group(0), "?"), _reply(recs, j)))
                        for j in sends if recs[j].line.startswith("api ")],
            # each DTMF event after its command's reply (dequeued by eavesdrop's loop)
            "dtmf_after_reply": [_index(recs, s, "DTMF", after=j) is not None and
                                 _index(recs, s, "DTMF", after=j) > _reply_index(recs, j) for j in dtmf_sends],
            # the target ended first: eavesdrop returns after its hangup and before its destroy
            "ended_after_target_hangup": None if b_hangup is None or complete is None or b_hangup > complete
            else (b_hangup < complete and (b_destroy is None or complete < b_destroy)),
            "caller_parked_after": _index(recs, a, "CHANNEL_PARK", after=b_hangup) is not None
            if b_hangup is not None and b_hangup < (_index(recs, a, "CHANNEL_HANGUP") or len(recs)) else None,
        })
    return out


def _reply_index(recs, i):
    return next(j for j in range(i + 1, len(recs)) if recs[j].conn == recs[i].conn and recs[j].kind == "frame"
                and recs[j].frame.content_type in ("command/reply", "api/response"))


# --------------------------------------------------------------- the simulator, driven as the tool did
def _counts(recs, upto=None) -> dict:
    seen: dict = {}
    for r in recs[:upto]:
        e = r.event
        if e is not None and (e.name in SYNCED or (e.name == "CHANNEL_EXECUTE"
                                                   and e.headers.get("Application") == "eavesdrop")):
            key = (e.name, e.unique_id, e.headers.get("DTMF-Digit", ""))
            seen[key] = seen.get(key, 0) + 1
    return seen


def drive_17(sim, wire, theirs) -> None:
    wire.connect("inbound")
    numbers = {}
    for r in theirs:
        if r.event is not None and r.event.name == "CHANNEL_CREATE" and r.event.headers.get(
                "Caller-Destination-Number") == NUMBER:
            numbers[r.event.unique_id] = r.event.headers.get("Caller-Caller-ID-Number", "4790000000")
    for i, r in enumerate(theirs):
        if r.kind != "send" or r.line.startswith(("auth", "event")):
            continue
        want = _counts(theirs, i)
        if r.line.startswith("api uuid_answer"):
            caller = r.line.split()[2]
            sim.place_call(NUMBER, numbers[caller], uuid=caller)
        # the events the tool had seen before it sent this (as many of each, or a deficit the facts show)
        wait_for(lambda: all(_counts(wire.recs).get(k, 0) >= n for k, n in want.items()), timeout=5, interval=0.005)
        wire.reply("inbound", r.line)
    wait_for(lambda: all(_counts(wire.recs).get(k, 0) >= n for k, n in _counts(theirs).items()),
             timeout=5, interval=0.005)


def test_the_simulators_eavesdrop_behaves_as_the_real_switch_in_capture_17():
    theirs = corpus_records(corpus_messages(CORPUS / NAME))
    expected = facts_17(theirs)
    # what FACTS.md section 17 says, read from the capture by the same extractor
    assert [f["part"] for f in expected] == ["A", "B", "C", "D"]
    assert expected[0]["s"] == ["CHANNEL_ANSWER", "CHANNEL_EXECUTE eavesdrop", "DTMF 2 APP 2000", "DTMF 3 APP 2000",
                                "DTMF 0 APP 2000", "CHANNEL_EXECUTE_COMPLETE eavesdrop _none_",
                                "CHANNEL_HANGUP NORMAL_CLEARING", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY"]
    assert expected[1]["s"][3:5] == ["CHANNEL_HANGUP NORMAL_CLEARING", "CHANNEL_EXECUTE_COMPLETE eavesdrop _none_"]
    assert ("api uuid_exists A", "true") in expected[1]["replies"] and expected[2]["caller_parked_after"]
    assert all(f["call_untouched"] and not f["s_other_leg"] and all(f["dtmf_after_reply"]) for f in expected)
    assert [f["ended_after_target_hangup"] for f in expected] == [True, None, True, None]
    sim = Simulator(password="ClueCon", heartbeat_interval=0, dialplan=ROUTES).start()
    for ext in (AGENT, SUPERVISOR):
        sim.add_user(ext, ring=0.3)
    wire = Wire(sim)
    try:
        drive_17(sim, wire, theirs)
        actual = facts_17(wire.recs)
    finally:
        wire.finish()
        sim.stop()
    for mine, real in zip(actual, expected):
        assert mine == real, mine["part"]
    assert len(actual) == len(expected)


# --------------------------------------------------------------- the mode switches, as the simulator reports them
@pytest.fixture
def sim():
    s = Simulator(password="pw", time_factor=0.01, heartbeat_interval=0, dialplan=ROUTES).start()
    yield s
    s.stop()


@pytest.fixture
def client(sim):
    c = RawClient("127.0.0.1", sim.port)
    assert c.reply("auth pw").reply_text == "+OK accepted"
    c.reply("event plain ALL")
    yield c
    c.close()


def a_call(sim, client):
    caller = sim.place_call(NUMBER, "4791234567")
    client.wait_event("CHANNEL_PARK", caller.uuid)
    client.api(f"uuid_answer {caller.uuid}")
    sim.add_user(AGENT)
    agent = client.api(f"originate user/{AGENT} &park()")[4:].strip()
    client.api(f"uuid_bridge {caller.uuid} {agent}")
    client.wait_event("CHANNEL_BRIDGE", caller.uuid)
    return caller.uuid, agent


def supervise(sim, client, agent, mode, leg="5e1a0000-0000-4000-8000-0000000000e1"):
    sim.add_user(SUPERVISOR)
    command = commands.originate_eavesdrop(leg, SUPERVISOR, agent, mode, caller_id_number=AGENT,
                                           caller_id_name="Agent", timeout=10, variables={"cc_monitor": agent})
    assert client.api(command) == f"+OK {leg}\n"
    until(lambda: getattr(sim.channels.get(leg), "eavesdrop", None) is not None, message="eavesdrop runs")
    return leg


def switches(sim, leg):
    state = sim.channels[leg].eavesdrop
    return state.mode, state.speaks_to_target, state.speaks_to_other


@pytest.mark.parametrize("mode,start", [("listen", ("0", False, False)), ("whisper", ("2", True, False)),
                                        ("barge", ("3", True, True))])
def test_given_the_start_mode_variables_then_eavesdrop_starts_in_that_mode(sim, client, mode, start):
    caller, agent = a_call(sim, client)
    leg = supervise(sim, client, agent, mode)
    assert switches(sim, leg) == start
    assert sim.channels[leg].eavesdrop.target == agent and sim.channels[leg].other_leg is None


def test_given_a_running_eavesdrop_when_digits_are_received_then_each_switches_after_its_reply(sim, client):
    caller, agent = a_call(sim, client)
    leg = supervise(sim, client, agent, "listen")
    for digit, expected in (("2", ("2", True, False)), ("1", ("1", False, True)), ("3", ("3", True, True)),
                            ("0", ("0", False, False))):
        assert client.api(commands.uuid_recv_dtmf(leg, digit)) == f"+OK {leg} received DTMF {digit}.\n"
        until(lambda: switches(sim, leg) == expected, message=f"switched by {digit}")
        assert client.wait_event("DTMF", leg).get("DTMF-Source") == "APP"
    assert [e.get("DTMF-Digit") for e in client.events("DTMF") if e.get("Unique-ID") == leg] == list("2130")
    assert sim.channels[caller].bridged is sim.channels[agent]          # the call is untouched


def test_given_dtmf_disabled_then_digits_are_read_and_nothing_switches(sim, client):
    caller, agent = a_call(sim, client)
    leg = "5e1a0000-0000-4000-8000-0000000000e2"
    sim.add_user(SUPERVISOR)
    client.api(f"originate {{origination_uuid={leg},eavesdrop_enable_dtmf=false}}user/{SUPERVISOR} &eavesdrop({agent})")
    until(lambda: getattr(sim.channels.get(leg), "eavesdrop", None) is not None)
    client.api(f"uuid_recv_dtmf {leg} 3*")
    until(lambda: len([e for e in client.events("DTMF") if e.get("Unique-ID") == leg]) == 2)
    assert switches(sim, leg) == ("0", False, False) and not sim.channels[leg].hanging


def test_given_the_target_ends_then_the_eavesdropper_hangs_up_by_itself_and_the_caller_parks(sim, client):
    caller, agent = a_call(sim, client)
    leg = supervise(sim, client, agent, "barge")
    client.api(f"uuid_kill {agent}")
    assert client.wait_event("CHANNEL_HANGUP", leg).get("Hangup-Cause") == "NORMAL_CLEARING"
    client.wait_event("CHANNEL_DESTROY", leg)
    until(lambda: len([e for e in client.events("CHANNEL_PARK") if e.get("Unique-ID") == caller]) == 2)
    assert not sim.channels[caller].hanging


def test_given_star_or_a_missing_target_then_eavesdrop_returns_and_the_leg_hangs_up(sim, client):
    caller, agent = a_call(sim, client)
    leg = supervise(sim, client, agent, "listen")
    client.api(f"uuid_recv_dtmf {leg} *")
    client.wait_event("CHANNEL_DESTROY", leg)
    assert sim.channels[agent].bridged is sim.channels[caller]
    lost = "5e1a0000-0000-4000-8000-0000000000e3"
    client.api(f"originate {{origination_uuid={lost}}}user/{SUPERVISOR} &eavesdrop(00000000-0000-0000-0000-000000000000)")
    client.wait_event("CHANNEL_DESTROY", lost)


def test_three_way_starts_with_both_switches_and_the_phone_dtmf_switches_it_too(sim, client):
    caller, agent = a_call(sim, client)
    leg = "5e1a0000-0000-4000-8000-0000000000e4"
    sim.add_user(SUPERVISOR)
    client.api(f"originate {{origination_uuid={leg}}}user/{SUPERVISOR} &three_way({agent})")
    until(lambda: getattr(sim.channels.get(leg), "eavesdrop", None) is not None)
    assert switches(sim, leg) == ("3", True, True)
    sim.dtmf(leg, "0")
    until(lambda: switches(sim, leg) == ("0", False, False))
    assert client.wait_event("DTMF", leg).get("DTMF-Source") == "RTP"

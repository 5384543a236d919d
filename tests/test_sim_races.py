"""The simulator races as FreeSWITCH does (esl/sim/timing.py, tests/data/esl-corpus/FACTS.md "Timing facts (09-12)"),
driven over a real TCP Event Socket; the ideal profile keeps the old, instantaneous order.

The order is a test parameter: each scenario runs under the profile (or Timing field)
that decides it and asserts the wire order and the outcome the corpus shows.
"""
from __future__ import annotations

import dataclasses
import json
import socket
import time

import gevent
import pytest

from esl.protocol import EVENT_CONTENT_TYPES, decode_event, encode_command
from esl.sim.rawclient import RawClient
from esl.sim.server import Simulator
from esl.sim.timing import Timing
from tests.helpers import until, wait_for

REAL = Timing.real()
CALLER_ROUTE = {"7200": {"cc_tenant": "t", "cc_queue": "q"}}


def a_switch(timing: Timing, **kw) -> Simulator:
    sim = Simulator(password="pw", time_factor=0.1, heartbeat_interval=0, timing=timing,
                    dialplan=CALLER_ROUTE, **kw).start()
    sim.add_user("1000", ring=2.0)  # rings 200 ms (scaled), then answers: the agent of 09
    return sim


def a_client(sim, events: str = "ALL") -> RawClient:
    c = RawClient("127.0.0.1", sim.port)
    assert c.reply("auth pw").reply_text == "+OK accepted"
    if events:
        c.reply(f"event plain {events}")
    return c


def uuid_of(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def originate(uuid: str, target: str = "user/1000") -> str:
    return f"bgapi originate {{origination_uuid={uuid},originate_timeout=15}}{target} &park()"


def wire(client, uuid: str | None = None) -> list[str]:
    """Event names on the wire, in order: the leg's and BACKGROUND_JOB (``name:app``)."""
    out = []
    for e in client.decoded:
        if e.name == "BACKGROUND_JOB" or (uuid and e.unique_id == uuid):
            app = e.headers.get("Application")
            out.append(f"{e.name}:{app}" if app else e.name)
    return out


def job_of(client, job_uuid: str):
    return next((e for e in client.decoded if e.name == "BACKGROUND_JOB"
                 and e.headers.get("Job-UUID") == job_uuid), None)


@pytest.fixture
def switches():
    made = []

    def make(timing: Timing, **kw) -> Simulator:
        made.append(a_switch(timing, **kw))
        return made[-1]
    yield make
    for s in made:
        s.stop()


# ------------------------------------------------------------------ 09 part A
@pytest.mark.parametrize("timing, ticks_apart", [(Timing.ideal(), 0), (REAL, 1)], ids=["ideal", "real"])
def test_given_bgapi_originate_when_the_leg_answers_then_the_job_follows_the_answer(switches, timing, ticks_apart):
    sim = switches(timing)
    c = a_client(sim)
    u = uuid_of(1)
    job = c.reply(originate(u)).headers["Job-UUID"]
    c.wait_event("CHANNEL_PARK", u)
    order = [w for w in wire(c, u) if w in ("CHANNEL_ANSWER", "BACKGROUND_JOB", "CHANNEL_EXECUTE:park", "CHANNEL_PARK")]
    assert order == ["CHANNEL_ANSWER", "BACKGROUND_JOB", "CHANNEL_EXECUTE:park", "CHANNEL_PARK"]
    assert job_of(c, job).body == f"+OK {u}\n"
    answer = next(e for e in c.decoded if e.name == "CHANNEL_ANSWER" and e.unique_id == u)
    stamp = int(job_of(c, job).headers["Event-Date-Timestamp"]) - int(answer.headers["Event-Date-Timestamp"])
    if ticks_apart:  # a tick later, on FreeSWITCH's 20 ms clock (FACTS 09: 19.2-20.6 ms)
        assert stamp >= 20_000
        assert all(int(e.headers["Event-Date-Timestamp"]) % 20_000 == 0 for e in c.decoded)
    else:
        assert stamp < 20_000


# ------------------------------------------------------------------ 09 part B
def answered_caller(sim, c, number: str) -> str:
    caller = sim.place_call("7200", number).uuid
    c.wait_event("CHANNEL_PARK", caller)
    assert c.api(f"uuid_answer {caller}") == "+OK\n"
    return caller


def bridge_on_answer(c, caller: str, leg: str) -> dict:
    """Send uuid_bridge the moment the leg's CHANNEL_ANSWER is read (as the capture tool did)."""
    sent = {}

    def react(frame):
        if frame.content_type in EVENT_CONTENT_TYPES and not sent:
            e = decode_event(frame)
            if e.name == "CHANNEL_ANSWER" and e.unique_id == leg:
                sent["jobs_before"] = sum(1 for x in c.decoded if x.name == "BACKGROUND_JOB")
                c.send(f"api uuid_bridge {caller} {leg}")
    c.on_frame = react
    return sent


@pytest.mark.parametrize("cancel", [1.0, 0.0], ids=["job-cancelled", "job-ok"])
def test_given_uuid_bridge_sent_on_the_answer_then_the_job_may_be_cancelled_yet_the_bridge_holds(switches, cancel):
    sim = switches(dataclasses.replace(REAL, cancel_on_early_bridge=cancel))
    c = a_client(sim)
    caller = answered_caller(sim, c, "5550901")
    leg = uuid_of(2)
    sent = bridge_on_answer(c, caller, leg)
    start = len(c.frames)
    job = c.reply(originate(leg)).headers["Job-UUID"]
    reply = c.wait_for(lambda f: f.content_type == "api/response", start=start)
    assert reply.text == f"+OK {leg}\n"
    assert sent["jobs_before"] == 0  # the bridge went out before the job's result
    until(lambda: job_of(c, job))
    bridge = c.wait_event("CHANNEL_BRIDGE", caller)
    assert bridge.headers["Other-Leg-Unique-ID"] == leg
    leg_events = wire(c, leg)
    if cancel:
        assert job_of(c, job).body == "-ERR ORIGINATOR_CANCEL\n"
        assert "CHANNEL_EXECUTE:park" not in leg_events and "CHANNEL_PARK" not in leg_events
    else:
        assert job_of(c, job).body == f"+OK {leg}\n"
        assert leg_events.index("BACKGROUND_JOB") < leg_events.index("CHANNEL_PARK") < leg_events.index("CHANNEL_UNPARK")
    assert leg_events.index("CHANNEL_ANSWER") < leg_events.index("BACKGROUND_JOB")
    # both legs stay up and bridged (3 s later in the capture; here: listed by show calls)
    assert sim.channels[caller].bridged is sim.channels[leg]
    assert not any(e.name == "CHANNEL_HANGUP" for e in c.decoded)

    def listed_pair():
        rows = json.loads(c.api("show calls as json")).get("rows", [])
        return any(r["uuid"] == caller and r["b_uuid"] == leg and r["callstate"] == "ACTIVE" for r in rows)
    until(listed_pair)


def test_given_uuid_bridge_after_the_job_then_a_plain_bridge(switches):
    sim = switches(dataclasses.replace(REAL, cancel_on_early_bridge=1.0))
    c = a_client(sim)
    caller = answered_caller(sim, c, "5550902")
    leg = uuid_of(3)
    job = c.reply(originate(leg)).headers["Job-UUID"]
    until(lambda: job_of(c, job))
    assert c.api(f"uuid_bridge {caller} {leg}") == f"+OK {leg}\n"
    c.wait_event("CHANNEL_BRIDGE", caller)
    assert job_of(c, job).body == f"+OK {leg}\n"


# ------------------------------------------------------------------ 10 double uuid_bridge
def two_parked_legs(c) -> tuple[str, str]:
    a = c.api(f"originate {{origination_uuid={uuid_of(10)}}}null/1 &park()").split()[1]
    b = c.api(f"originate {{origination_uuid={uuid_of(11)}}}null/2 &park()").split()[1]
    c.wait_event("CHANNEL_PARK", a)
    c.wait_event("CHANNEL_PARK", b)
    return a, b


def hangups(c, uuid):
    return [e.headers.get("Hangup-Cause") for e in c.decoded if e.name == "CHANNEL_HANGUP" and e.unique_id == uuid]


def test_given_two_uuid_bridges_back_to_back_then_one_bridge(switches):
    sim = switches(REAL)
    c = a_client(sim)
    a, b = two_parked_legs(c)
    start = len(c.frames)
    cmd = encode_command(f"api uuid_bridge {a} {b}")
    c.send_raw(cmd + cmd)  # two writes' worth, the second without waiting for the first reply
    until(lambda: sum(f.content_type == "api/response" for f in c.frames[start:]) == 2)
    assert [f.text for f in c.frames[start:] if f.content_type == "api/response"] == [f"+OK {b}\n"] * 2
    c.wait_event("CHANNEL_BRIDGE", a)
    assert sim.channels[a].bridged is sim.channels[b]
    assert not hangups(c, a) and not hangups(c, b)
    assert sum(e.name == "CHANNEL_BRIDGE" for e in c.decoded) == 1


def test_given_a_second_uuid_bridge_20ms_after_the_first_then_both_legs_are_lost(switches):
    sim = switches(REAL)
    c = a_client(sim)
    a, b = two_parked_legs(c)
    t0 = time.monotonic()
    assert c.api(f"uuid_bridge {a} {b}") == f"+OK {b}\n"
    gevent.sleep(0.02)  # the scenario's gap (not a synchronisation): FACTS 10 used 10, 20, 40 ms
    assert c.api(f"uuid_bridge {a} {b}") == f"+OK {b}\n"  # the reply does not show the outcome
    gap = time.monotonic() - t0
    assert gap < REAL.double_bridge_window[1], f"machine too slow for the scenario: {gap:.3f}s"
    until(lambda: hangups(c, a) and hangups(c, b))
    assert hangups(c, a) == hangups(c, b) == ["DESTINATION_OUT_OF_ORDER"]
    for leg in (a, b):
        names = wire(c, leg)
        assert names.index("CHANNEL_UNPARK") < names.index("CHANNEL_EXECUTE_COMPLETE:park") < names.index("CHANNEL_HANGUP")
    assert not any(e.name == "CHANNEL_BRIDGE" for e in c.decoded)
    until(lambda: a not in sim.channels and b not in sim.channels)


def test_given_a_second_uuid_bridge_once_bridged_then_unbridge_and_bridge_again(switches):
    sim = switches(REAL)
    c = a_client(sim)
    a, b = two_parked_legs(c)
    assert c.api(f"uuid_bridge {a} {b}") == f"+OK {b}\n"
    c.wait_event("CHANNEL_BRIDGE", a)
    assert c.api(f"uuid_bridge {a} {b}") == f"+OK {b}\n"
    until(lambda: sum(e.name == "CHANNEL_BRIDGE" for e in c.decoded) == 2)
    names = wire(c, a)
    first = names.index("CHANNEL_BRIDGE")
    assert names[first + 1:].count("CHANNEL_UNBRIDGE") == 1
    assert names.index("CHANNEL_UNBRIDGE", first) < len(names) - 1 - names[::-1].index("CHANNEL_BRIDGE")
    assert not hangups(c, a) and not hangups(c, b)
    assert sim.channels[a].bridged is sim.channels[b]


def test_given_ideal_timing_then_the_bridge_is_made_before_the_reply(switches):
    sim = switches(Timing.ideal())
    c = a_client(sim)
    a, b = two_parked_legs(c)
    c.api(f"uuid_bridge {a} {b}")
    assert sim.channels[a].bridged is sim.channels[b]  # at once, no setup time


# ------------------------------------------------------------------ 11 show channels lag
def shows(c, uuid: str) -> tuple[bool, bool]:
    """Is the channel listed by `show channels as json`, and by `show channels`?"""
    rows = json.loads(c.api("show channels as json")).get("rows", [])
    return any(r["uuid"] == uuid for r in rows), uuid in c.api("show channels")


def poll_show(sim, c, uuid: str, since: float, want: bool) -> list[tuple[float, float, tuple]]:
    """Ask until both forms say ``want``: (sent, received, (json, plain)) after ``since``."""
    seen = []

    def ask():
        sent = time.time() - since
        listed = shows(c, uuid)
        seen.append((sent, time.time() - since, listed))
        return listed == (want, want)
    until(ask, timeout=3)
    return seen


def test_given_a_new_channel_then_show_channels_lists_it_only_after_the_lag(switches):
    lag = REAL.show_lag
    sim = switches(REAL)
    c = a_client(sim, events="")
    u = uuid_of(20)
    assert c.api(f"originate {{origination_uuid={u}}}null/1234 &park()") == f"+OK {u}\n"
    created = sim.channels[u].times["created"]
    assert c.api(f"uuid_exists {u}") == "true"
    assert c.api(f"uuid_dump {u}").startswith("Channel-State:")
    seen = poll_show(sim, c, u, created, want=True)
    early = [s for s in seen if s[1] < lag]
    assert early, f"machine too slow: no query answered within the lag ({seen})"
    assert all(listed == (False, False) for _, _, listed in early)
    assert all(listed == (True, True) for sent, _, listed in seen if sent >= lag)

    assert c.api(f"uuid_kill {u}") == "+OK\n"
    killed = sim_hangup_time(sim, u, c)
    assert c.api(f"uuid_exists {u}") == "false"  # right at once
    assert c.api(f"uuid_dump {u}") == "-ERR No such channel!\n"
    seen = poll_show(sim, c, u, killed, want=False)
    early = [s for s in seen if s[1] < lag]
    assert early and all(listed == (True, True) for _, _, listed in early)
    assert all(listed == (False, False) for sent, _, listed in seen if sent >= lag)


def sim_hangup_time(sim, uuid, c) -> float:
    ch = sim.channels.get(uuid) or sim.switch.races.gone.get(uuid)
    return ch.times["hangup"]


def test_given_ideal_timing_then_show_channels_is_current(switches):
    sim = switches(Timing.ideal())
    c = a_client(sim, events="")
    u = uuid_of(21)
    c.api(f"originate {{origination_uuid={u}}}null/1 &park()")
    assert shows(c, u) == (True, True)
    c.api(f"uuid_kill {u}")
    until(lambda: u not in sim.channels)
    assert shows(c, u) == (False, False)


# ------------------------------------------------------------------ 12 jobs outlive the socket
def slow_agent(sim):
    sim.add_user("1001", ring=5.0)  # 500 ms (scaled): long enough to leave during the job


@pytest.mark.parametrize("how", ["close", "exit", "half-close"])
def test_given_the_sender_leaves_then_its_job_result_reaches_another_connection(switches, how):
    sim = switches(REAL)
    slow_agent(sim)
    watcher = a_client(sim, events="BACKGROUND_JOB CHANNEL_ANSWER")
    sender = a_client(sim)
    u = uuid_of(30)
    job = sender.reply(originate(u, "user/1001")).headers["Job-UUID"]
    if how == "close":
        sender.close()
    elif how == "exit":
        assert sender.reply("exit").reply_text == "+OK bye"  # at once
        frames_at_bye = len(sender.frames)
    else:
        sender.sock.shutdown(socket.SHUT_WR)
    if how != "close":
        # the connection is held until the job ends: no notice, no EOF while the leg rings
        assert not wait_for(lambda: sender.eof, timeout=0.1, interval=0.01)
        assert sim.channels[u].answer_state == "ringing"
    until(lambda: job_of(watcher, job), timeout=5)
    assert job_of(watcher, job).body == f"+OK {u}\n"
    assert watcher.events("CHANNEL_ANSWER")[0].unique_id == u
    if how != "close":
        sender.wait_eof()
        notices = [f for f in sender.frames if f.content_type == "text/disconnect-notice"]
        assert len(notices) == 1
        assert job_of(sender, job) is None  # the sender gets no more events once leaving
        if how == "exit":
            assert sender.frames[frames_at_bye:] == notices
    assert c_exists(sim, u)


def c_exists(sim, u) -> bool:
    return a_client(sim, events="").api(f"uuid_exists {u}") == "true"


def test_given_ideal_timing_then_exit_closes_at_once_and_the_job_still_reports(switches):
    sim = switches(Timing.ideal())
    slow_agent(sim)
    watcher = a_client(sim, events="BACKGROUND_JOB")
    sender = a_client(sim)
    u = uuid_of(31)
    job = sender.reply(originate(u, "user/1001")).headers["Job-UUID"]
    sender.reply("exit")
    sender.wait_eof()
    assert sim.channels[u].answer_state == "ringing"
    until(lambda: job_of(watcher, job), timeout=5)
    assert job_of(watcher, job).body == f"+OK {u}\n"

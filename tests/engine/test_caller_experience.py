"""What the caller hears: recording notice, music, announcements, opening hours, overflow, callback."""
from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from engine import effects as fx
from engine import events as ev
from engine.config import OpeningHours, Overflow, OverflowKind, TimeRange

from tests.engine.builders import NODE, T0, Scenario, a_deployment, a_queue, a_tenant, an_agent

MOH = "local_stream://moh"


def test_recording_notice_plays_before_anything_else_then_the_call_is_queued():
    s = Scenario(a_deployment(tenants=[a_tenant(recording_notice="recorded.wav")]))
    s.login("alice")
    out = s.call()
    assert s.of(fx.Play, out) == [fx.Play(NODE, "caller-1", "recorded.wav")]
    assert s.originates() == [] and "entered_queue" not in s.kinds()
    s.played("caller-1", MOH)                         # not the notice: ignored
    assert s.originates() == []
    s.played("caller-1", "recorded.wav")
    assert s.kinds() == ["arrived", "notice_played", "entered_queue", "offered"]
    s.played("caller-1", "recorded.wav")              # duplicated: nothing more
    assert s.kinds() == ["arrived", "notice_played", "entered_queue", "offered"]


def test_tenant_that_does_not_record_plays_no_notice():
    s = Scenario(a_deployment(tenants=[a_tenant(record_calls=False, recording_notice="recorded.wav")]))
    s.login("alice")
    out = s.call()
    assert all(p.prompt != "recorded.wav" for p in s.of(fx.Play, out))
    assert s.offered_agents() == ["alice"]


def test_in_queue_position_and_wait_then_music_on_hold_looped():
    q = a_queue(announce_position=True, announce_wait_time=True)
    s = Scenario(a_deployment(queues=[q]))
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call("c1")
    s.call("c2")
    plays = [p for p in s.of(fx.Play) if p.uuid == "c2"]
    assert [p.prompt for p in plays] == ["phrase:cc_position:2"]        # one prompt at a time
    s.played("c2", plays[0].prompt)
    # default handle time 180 s, one agent logged in: 2 x 180 s = 6 minutes
    assert s.of(fx.Play)[-1] == fx.Play(NODE, "c2", "phrase:cc_wait:6")
    s.played("c2", "phrase:cc_wait:6")
    assert s.of(fx.Play)[-1] == fx.Play(NODE, "c2", MOH, loop=True)


def test_periodic_announcement_interrupts_music_and_resumes_it():
    q = a_queue(announce_every=30, periodic_prompt="please-hold.wav", announce_position=True)
    s = Scenario(a_deployment(queues=[q]))
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call("c1")
    s.played("c1", "phrase:cc_position:1")
    assert s.of(fx.Play)[-1].prompt == MOH
    out = s.advance(30)
    assert [type(e) for e in out if isinstance(e, (fx.StopPlayback, fx.Play))] == [fx.StopPlayback, fx.Play]
    assert s.of(fx.Play, out)[0].prompt == "please-hold.wav"
    s.played("c1", MOH)                               # the stopped music reports its end: ignored
    assert s.of(fx.Play)[-1].prompt == "please-hold.wav"
    s.played("c1", "please-hold.wav")
    s.played("c1", "phrase:cc_position:1")
    assert s.of(fx.Play)[-1] == fx.Play(NODE, "c1", MOH, loop=True)
    assert "announce:interaction-1" in s.timers


def test_estimated_wait_uses_recent_handle_times_and_logged_in_agents():
    q = a_queue(announce_position=True, announce_wait_time=True)
    s = Scenario(a_deployment(queues=[q], agents=[an_agent("alice"), an_agent("bob")]))
    s.login("alice", "bob")
    s.call("c1")
    s.answer(s.leg_of("alice"))
    s.advance(240)
    s.hangup("c1")                                    # one handle time: 240 s
    for a in ("alice", "bob"):
        s.send(ev.AgentPause(a, "break", s.now))
    s.call("c2")
    s.call("c3")
    s.played("c3", "phrase:cc_position:2")
    assert s.of(fx.Play)[-1].prompt == "phrase:cc_wait:4"   # position 2 x 240 s / 2 agents = 4 min


def test_announcement_never_delays_the_agent_playback_stopped_then_bridged():
    q = a_queue(announce_position=True, periodic_prompt="long-ad.wav", announce_every=10)
    s = Scenario(a_deployment(queues=[q]))
    s.login("alice")
    s.call()
    s.advance(10)                                     # announcement starts while the agent rings
    out = s.answer(s.leg_of("alice"))
    control = [e for e in out if isinstance(e, (fx.StopPlayback, fx.Bridge))]
    assert control == [fx.StopPlayback(NODE, "caller-1"), fx.Bridge(NODE, "caller-1", s.leg_of("alice"))]
    s.played("caller-1", "long-ad.wav")               # the broken announcement: nothing resumes
    assert not [p for p in s.of(fx.Play, s.effects[-3:]) if p.prompt == MOH]
    assert "announce:interaction-1" not in s.timers


def test_max_wait_overflows_to_another_queue_keeping_the_entry_time():
    first = a_queue("sales", max_wait=60, overflow=Overflow(OverflowKind.QUEUE, "backup"))
    backup = a_queue("backup")
    s = Scenario(a_deployment(queues=[first, backup], agents=[
        an_agent("alice", queues={"sales": 1}), an_agent("bob", queues={"backup": 1})]))
    s.login("alice", "bob")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.send(ev.AgentPause("bob", "break", s.now))
    s.call("early", queue="backup")
    s.advance(1)
    s.call("c1", queue="sales")
    s.advance(30)
    s.call("late", queue="backup")
    s.advance(30)
    assert s.kinds("interaction-2")[-2:] == ["overflowed", "entered_queue"]
    ix = s.engine.calls["interaction-2"]
    assert ix.queue == "backup" and ix.position_at == T0 + timedelta(seconds=1)
    assert s.engine.index.position(ix) == 2             # ahead of "late", behind "early"
    s.send(ev.AgentResume("bob", s.now))
    order = []
    for _ in range(3):
        order.append(s.originates()[-1].variables["cc_caller_uuid"])
        s.answer(s.originates()[-1].leg_uuid)
        s.hangup(order[-1])
    assert order == ["early", "c1", "late"]


def test_max_wait_while_agent_rings_waits_for_the_ring_to_end():
    q = a_queue(max_wait=10, ring_timeout=30, overflow=Overflow(OverflowKind.MESSAGE, prompt="sorry.wav"))
    s = Scenario(a_deployment(queues=[q]))
    s.login("alice")
    s.call()
    s.advance(10)
    assert "overflowed" not in s.kinds()
    s.fail(s.leg_of("alice"), "NO_ANSWER")
    assert s.kinds()[-1] == "overflowed"
    assert s.of(fx.Play)[-1] == fx.Play(NODE, "caller-1", "sorry.wav")
    out = s.played("caller-1", "sorry.wav")
    assert fx.Hangup(NODE, "caller-1") in out
    s.hangup("caller-1")
    assert s.kinds()[-2:] == ["overflowed", "ended"]
    s.assert_journal_exact()


def test_no_agents_logged_in_plays_closing_message_and_hangs_up():
    s = Scenario(a_deployment())
    s.call()
    assert s.kinds() == ["arrived", "entered_queue", "overflowed"]
    assert s.journal[-1].data["reason"] == "no_agents"
    assert s.of(fx.Play)[-1].prompt == "closed.wav"
    assert fx.Hangup(NODE, "caller-1") in s.played("caller-1", "closed.wav")


@pytest.mark.parametrize("kind,target,expected", [
    (OverflowKind.VOICEMAIL, "1001", fx.Transfer(NODE, "caller-1", "1001", "voicemail")),
    (OverflowKind.TRANSFER, "+4722334455", fx.Transfer(NODE, "caller-1", "+4722334455", "default")),
    (OverflowKind.HANGUP, "", fx.Hangup(NODE, "caller-1")),
])
def test_overflow_targets(kind, target, expected):
    s = Scenario(a_deployment(queues=[a_queue(no_agents=Overflow(kind, target))]))
    out = s.call()
    assert expected in out


def hours(**kw):
    return OpeningHours(timezone="Europe/Oslo", weekly={d: (TimeRange(time(8), time(16)),) for d in range(5)}, **kw)


@pytest.mark.parametrize("when,open_", [
    (T0, True),                                          # Wednesday 11:00 Oslo
    (T0.replace(hour=16), False),                        # 17:00 Oslo
    (T0 + timedelta(days=3), False),                     # Saturday
])
def test_opening_hours_decide_queue_or_after_hours(when, open_):
    tenant = a_tenant(opening_hours=hours(), after_hours=Overflow(OverflowKind.MESSAGE, prompt="closed-now.wav"))
    s = Scenario(a_deployment(tenants=[tenant]), now=when)
    s.login("alice")
    s.call()
    assert ("entered_queue" in s.kinds()) is open_
    if not open_:
        assert s.journal[-1].data["reason"] == "after_hours"
        assert s.of(fx.Play)[-1].prompt == "closed-now.wav"


def test_holiday_is_closed_and_special_day_uses_its_own_hours():
    tenant = a_tenant(opening_hours=hours(holidays=frozenset({date(2026, 11, 25)})))
    s = Scenario(a_deployment(tenants=[tenant]))
    s.login("alice")
    s.call()
    assert s.journal[-1].data["reason"] == "after_hours"
    special = a_tenant(opening_hours=hours(holidays=frozenset({date(2026, 11, 25)}),
                                           special={date(2026, 11, 25): (TimeRange(time(10), time(12)),)}))
    s2 = Scenario(a_deployment(tenants=[special]))
    s2.login("alice")
    s2.call()
    assert "entered_queue" in s2.kinds()


def test_after_hours_notice_still_plays_first():
    tenant = a_tenant(recording_notice="recorded.wav", opening_hours=hours())
    s = Scenario(a_deployment(tenants=[tenant]), now=T0.replace(hour=20))
    s.call()
    assert s.of(fx.Play)[-1].prompt == "recorded.wav" and "overflowed" not in s.kinds()
    s.played("caller-1", "recorded.wav")
    assert s.kinds() == ["arrived", "notice_played", "overflowed"]


def test_after_hours_to_another_tenant_queue():
    tenant = a_tenant(opening_hours=hours(), after_hours=Overflow(OverflowKind.QUEUE, "night"))
    s = Scenario(a_deployment(tenants=[tenant], queues=[a_queue("sales"), a_queue("night")],
                              agents=[an_agent("olav", queues={"night": 1})]), now=T0.replace(hour=20))
    s.login("olav")
    s.call()
    assert s.offered_agents() == ["olav"]
    assert s.engine.calls["interaction-1"].queue == "night"


def callback_queue(**kw):
    return a_queue(callback_enabled=True, callback_prompt="we-call-you.wav", **kw)


def test_callback_keeps_place_and_calls_agent_first_then_caller():
    s = Scenario(a_deployment(queues=[callback_queue()]))
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call("c1", number="4790000001")
    s.advance(5)
    s.call("c2", number="4790000002")
    s.press("c1", "1")
    assert s.kinds("interaction-1")[-1] == "callback_requested"
    assert fx.Hangup(NODE, "c1") in s.played("c1", "we-call-you.wav")
    s.hangup("c1")
    assert "abandoned" not in s.kinds()
    assert s.engine.index.position(s.engine.calls["interaction-1"]) == 1    # still first
    s.send(ev.AgentResume("alice", s.now))
    agent_leg = s.originates()[-1]
    assert agent_leg.sip_user == "sip-alice" and agent_leg.variables["cc_callback"] == "1"
    out = s.answer(agent_leg.leg_uuid)
    back = s.originates(out)[0]
    assert back.destination == "4790000001" and back.variables["cc_caller_uuid"] == agent_leg.leg_uuid
    out = s.answer(back.leg_uuid)
    assert fx.Bridge(NODE, back.leg_uuid, agent_leg.leg_uuid) in out
    s.hangup(back.leg_uuid)
    assert s.kinds("interaction-1") == ["arrived", "entered_queue", "callback_requested", "offered", "answered",
                                        "callback_connected", "talk_ended", "wrapup_end", "ended"]
    assert s.originates()[-1].variables["cc_caller_uuid"] == "c2"          # then the next caller
    s.assert_journal_exact()


def test_callback_not_answered_by_caller_is_journaled_and_agent_freed():
    s = Scenario(a_deployment(queues=[callback_queue()]))
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call("c1")
    s.press("c1", "1")
    s.hangup("c1")
    s.send(ev.AgentResume("alice", s.now))
    s.answer(s.originates()[-1].leg_uuid)
    back = s.originates()[-1]
    s.fail(back.leg_uuid, "NO_ANSWER")
    assert s.kinds()[-2:] == ["callback_failed", "ended"]
    assert s.state("alice") == "available"
    s.assert_journal_exact()


def test_digit_without_callback_enabled_changes_nothing():
    s = Scenario(a_deployment())
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call()
    assert s.press("caller-1", "1") == []


def test_callback_overflow_on_max_wait():
    q = a_queue(max_wait=30, overflow=Overflow(OverflowKind.CALLBACK, prompt="we-call-you.wav"))
    s = Scenario(a_deployment(queues=[q]))
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call()
    s.advance(30)
    assert s.kinds()[-2:] == ["overflowed", "callback_requested"]
    assert s.engine.calls["interaction-1"].state.value == "callback"

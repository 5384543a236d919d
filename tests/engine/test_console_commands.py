"""The console's commands: queue choice at login, pause reasons, wrap-up result codes, and the
agent's own call (answer, hang-up, hold, DTMF, message taken) - with every refusal."""
from __future__ import annotations

import dataclasses

import pytest

from engine import effects as fx
from engine import events as ev
from engine import views
from engine.agents import Agent
from engine.config import Overflow, OverflowKind, Reason, Strategy
from engine.queues import QueueIndex

from tests.engine.builders import NODE, Scenario, a_deployment, a_queue, an_agent


def refusals(out) -> list[str]:
    return [e.payload["error_id"] for e in out if isinstance(e, fx.Notify) and e.topic == "command_refused"]


def blended(**kw):
    return a_deployment(queues=[a_queue("sales"), a_queue("support"), a_queue("orders")],
                        agents=[an_agent("alice", queues={"sales": 1, "support": 1, "orders": 1}),
                                an_agent("bob", queues={"sales": 1, "support": 1})], **kw)


def talking(s: Scenario, caller="c1", agent="alice") -> str:
    s.call(caller)
    return s.talk(caller, agent)


def with_codes(deployment, **kw):
    return dataclasses.replace(deployment, **kw)


# -- queues chosen at login -------------------------------------------------------------------
def test_given_agent_logged_in_to_some_queues_when_calls_arrive_then_offered_only_those():
    s = Scenario(blended())
    s.register("alice")
    s.send(ev.AgentLogin("alice", s.now, queues=("support", "orders")))
    s.call("c1", queue="sales")                      # nobody serves sales: no-agents overflow
    assert s.originates() == [] and "overflowed" in s.kinds()
    s.call("c2", queue="orders")
    assert s.offered_agents() == ["alice"]
    assert views.queue(s.engine, "sales")["logged_in"] == 0
    assert views.queue(s.engine, "orders")["logged_in"] == 1
    assert s.engine.agents["alice"].snapshot()["active_queues"] == ["orders", "support"]


def test_given_every_configured_queue_chosen_then_stored_as_all():
    s = Scenario(blended())
    s.send(ev.AgentLogin("bob", s.now, queues=("support", "sales")))
    assert s.engine.agents["bob"].active_queues == ()
    assert views.queue(s.engine, "sales")["logged_in"] == 1


@pytest.mark.parametrize("queue", ["nowhere", "orders"])      # unknown; not bob's
def test_given_a_queue_not_the_agents_when_login_then_refused_and_still_logged_out(queue):
    s = Scenario(blended())
    out = s.send(ev.AgentLogin("bob", s.now, queues=("sales", queue)))
    assert refusals(out) == ["engine.queue_not_served"]
    assert s.state("bob") == "logged_out"


def test_given_available_agent_when_login_again_with_other_queues_then_queues_change():
    s = Scenario(blended())
    s.login("bob")
    s.send(ev.AgentPause("bob", "lunch", s.now))     # support is staffed, nobody takes calls
    s.register("alice")
    s.send(ev.AgentLogin("alice", s.now, queues=("sales",)))
    s.call("c1", queue="support")                    # alice does not serve support yet
    assert s.originates() == [] and s.kinds()[-1] == "entered_queue"
    out = s.send(ev.AgentLogin("alice", s.now, queues=("support",)))
    assert refusals(out) == [] and s.offered_agents() == ["alice"]
    assert s.engine.index.queues["sales"].staffed == {"bob"}            # alice left sales


def test_given_queue_left_by_its_last_agent_when_queues_change_then_its_callers_overflow():
    dep = a_deployment(queues=[a_queue("sales"), a_queue("support",
                                                         no_agents=Overflow(OverflowKind.VOICEMAIL, "1001"))],
                       agents=[an_agent("alice", queues={"sales": 1, "support": 1}), an_agent("bob")])
    s = Scenario(dep)
    s.login("bob")
    s.register("alice")
    s.send(ev.AgentLogin("alice", s.now, queues=("support",)))
    s.send(ev.AgentPause("alice", "lunch", s.now))
    s.call("c1", queue="support")
    assert "entered_queue" in s.kinds()
    s.send(ev.AgentLogin("alice", s.now, queues=("sales",)))
    assert s.kinds()[-2:] == ["overflowed", "transferred"]


def test_given_agent_on_call_when_queues_change_then_refused():
    s = Scenario(blended())
    s.login("alice")
    talking(s)
    out = s.send(ev.AgentLogin("alice", s.now, queues=("orders",)))
    assert refusals(out) == ["engine.agent_on_call"]
    assert s.engine.agents["alice"].active_queues == ()


def test_active_queues_survive_snapshot_and_restore_into_the_indexes():
    dep = blended()
    agent = Agent(dep.agents["alice"], registered=True, active_queues=("orders",))
    agent.state = agent.state.AVAILABLE
    restored = Agent.restore(dep.agents["alice"], agent.snapshot())
    assert restored.active_queues == ("orders",)
    index = QueueIndex(dep, __import__("random").Random(1))
    index.sync(restored)
    assert [q for q, _ in index.members["alice"]] == ["orders"]
    assert index.available("orders") == 1 and index.available("sales") == 0
    restored.active_queues = ()
    index.sync(restored)                                 # all again
    assert index.available("sales") == 1 and index.available("orders") == 1


# -- pause reasons ------------------------------------------------------------------------------
def test_given_pause_reasons_when_unknown_reason_then_refused_and_known_one_taken():
    s = Scenario(with_codes(a_deployment(), pause_reasons=(Reason("lunch", "Lunsj", "Lunch"),)))
    s.login("alice")
    out = s.send(ev.AgentPause("alice", "coffee", s.now))
    assert refusals(out) == ["engine.unknown_pause_reason"] and s.state("alice") == "available"
    s.send(ev.AgentPause("alice", "lunch", s.now))
    assert s.state("alice") == "paused" and s.engine.agents["alice"].reason == "lunch"


def test_given_no_pause_reasons_configured_then_any_reason_is_taken():
    s = Scenario(a_deployment())
    s.login("alice")
    assert refusals(s.send(ev.AgentPause("alice", "coffee", s.now))) == []
    assert s.engine.agents["alice"].reason == "coffee"


# -- wrap-up and result codes ---------------------------------------------------------------------
def in_wrap_up(**kw) -> Scenario:
    dep = with_codes(a_deployment(queues=[a_queue(wrapup=60)]), **kw)
    s = Scenario(dep)
    s.login("alice")
    talking(s)
    s.hangup("c1")
    assert s.state("alice") == "wrap_up"
    return s


def test_given_result_codes_when_wrap_up_ends_with_unknown_code_then_refused():
    s = in_wrap_up(result_codes=(Reason("sold", "Solgt"),))
    for result in ("", "nope"):
        assert refusals(s.send(ev.WrapUpEnd("alice", s.now, result=result))) == ["engine.unknown_result_code"]
    assert s.state("alice") == "wrap_up"


def test_given_result_code_when_wrap_up_ends_then_result_journaled_and_call_closed():
    s = in_wrap_up(result_codes=(Reason("sold", "Solgt"),))
    s.send(ev.WrapUpEnd("alice", s.now, result="sold"))
    assert s.state("alice") == "available"
    rows = s.journal[-3:]
    assert [r.kind for r in rows] == ["result", "wrapup_end", "ended"]
    assert rows[0].data == {"code": "sold"} and rows[0].agent == "alice"
    assert "wrapup:alice" not in s.timers
    s.assert_journal_exact()


def test_given_forced_wrap_up_end_then_no_code_needed_and_forced_journaled():
    s = in_wrap_up(result_codes=(Reason("sold", "Solgt"),))
    s.send(ev.WrapUpEnd("alice", s.now, forced=True))
    assert s.state("alice") == "available"
    assert s.journal[-3].kind == "result" and s.journal[-3].data == {"code": "", "forced": "1"}


def test_given_agent_not_in_wrap_up_when_wrap_up_end_then_refused():
    s = Scenario(a_deployment())
    s.login("alice")
    assert refusals(s.send(ev.WrapUpEnd("alice", s.now))) == ["engine.not_in_wrap_up"]


# -- answer and hang-up ---------------------------------------------------------------------------
def test_given_call_ringing_on_a_remote_answer_phone_when_answer_from_console_then_its_phone_is_told_talk():
    s = Scenario(a_deployment(agents=[an_agent("alice", auto_answer=True)]))
    s.login("alice")
    s.call()
    leg = s.leg_of("alice")
    out = s.send(ev.CallAnswer("alice", s.now))
    assert refusals(out) == []
    assert s.of(fx.PhoneEvent, out) == [fx.PhoneEvent(NODE, leg, "talk")]
    assert not s.of(fx.Answer, out)                       # uuid_answer of an outbound leg does nothing
    assert s.state("alice") == "offered"                  # the leg's CHANNEL_ANSWER decides
    s.answer(leg)
    assert s.state("alice") == "on_call"


def test_given_a_phone_not_marked_auto_answer_when_answer_from_console_then_refused_and_nothing_sent():
    s = Scenario(a_deployment())
    s.login("alice")
    s.call()
    out = s.send(ev.CallAnswer("alice", s.now))
    assert refusals(out) == ["engine.no_remote_answer"]
    assert not s.of(fx.PhoneEvent, out) and not s.of(fx.Answer, out)
    assert s.state("alice") == "offered"


def test_given_ring_all_when_one_agent_answers_from_console_then_only_their_leg_is_told():
    s = Scenario(a_deployment(queues=[a_queue(strategy=Strategy.RING_ALL)],
                              agents=[an_agent("alice", auto_answer=True), an_agent("bob", auto_answer=True)]))
    s.login("alice", "bob")
    s.call()
    out = s.send(ev.CallAnswer("bob", s.now))
    assert s.of(fx.PhoneEvent, out) == [fx.PhoneEvent(NODE, s.leg_of("bob"), "talk")]


def test_given_the_call_answered_when_answer_again_then_refused():
    s = Scenario(a_deployment(agents=[an_agent("alice", auto_answer=True)]))
    s.login("alice")
    talking(s)
    out = s.send(ev.CallAnswer("alice", s.now))
    assert refusals(out) == ["engine.no_call"] and not s.of(fx.PhoneEvent, out)


def test_given_no_call_when_answer_or_hangup_then_refused():
    s = Scenario(a_deployment())
    s.login("alice")
    assert refusals(s.send(ev.CallAnswer("alice", s.now))) == ["engine.no_call"]
    assert refusals(s.send(ev.CallHangup("alice", s.now))) == ["engine.no_call"]


def test_given_call_ringing_when_hangup_from_console_then_rejected_and_offered_to_another():
    s = Scenario(a_deployment(queues=[a_queue(reject_delay=10)], agents=[an_agent("alice"), an_agent("bob")]))
    s.login("alice")
    s.call()
    s.login("bob")
    leg = s.leg_of("alice")
    out = s.send(ev.CallHangup("alice", s.now))
    assert fx.Hangup(NODE, leg, "CALL_REJECTED") in out
    assert "rejected" in s.kinds() and s.offered_agents() == ["alice", "bob"]
    assert s.engine.agents["alice"].ready_at is not None          # the reject delay, as the phone's
    s.fail(leg, "ORIGINATOR_CANCEL")                              # its job's reply: nothing more
    assert s.kinds().count("rejected") == 1 and s.offered_agents() == ["alice", "bob"]


def test_given_talking_when_hangup_from_console_then_both_legs_hung_up_and_one_end():
    s = Scenario(a_deployment())
    s.login("alice")
    leg = talking(s)
    out = s.send(ev.CallHangup("alice", s.now))
    assert fx.Hangup(NODE, "c1") in out and any(isinstance(e, fx.Hangup) and e.uuid == leg for e in out)
    assert s.state("alice") == "available"                       # wrap-up 0
    talk = [r for r in s.journal if r.kind == "talk_ended"]
    assert len(talk) == 1 and talk[0].data["by"] == "agent"
    s.hangup("c1")                                                # the legs' own events: nothing more
    s.hangup(leg)
    assert s.kinds().count("ended") == 1
    s.assert_journal_exact()


def test_given_answered_not_yet_bridged_when_hangup_from_console_then_caller_back_in_queue():
    s = Scenario(a_deployment(agents=[an_agent("alice"), an_agent("bob")]))
    s.login("alice", "bob")
    s.call()
    first = s.offered_agents()[0]
    s.answer_only(s.originates()[0].leg_uuid)
    s.send(ev.CallHangup(first, s.now))
    assert "agent_left" in s.kinds() and "ended" not in s.kinds()
    assert s.offered_agents() == [first, {"alice": "bob", "bob": "alice"}[first]]


# -- hold, DTMF -------------------------------------------------------------------------------------
def test_given_bridged_call_when_hold_and_resume_then_caller_held_journaled_and_idempotent():
    s = Scenario(a_deployment())
    s.login("alice")
    talking(s)
    agent_leg = s.engine.calls["interaction-1"].agent_leg
    out = s.send(ev.CallHold("alice", True, s.now))
    assert s.of(fx.Hold, out) == [fx.Hold(NODE, agent_leg, True)]     # the caller, its partner, hears the music and s.engine.calls["interaction-1"].held
    again = s.send(ev.CallHold("alice", True, s.now))
    assert s.of(fx.Hold, again) == [] and refusals(again) == []
    s.advance(30)
    out = s.send(ev.CallHold("alice", False, s.now))
    assert s.of(fx.Hold, out) == [fx.Hold(NODE, agent_leg, False)]
    held = [r for r in s.journal if r.kind in ("hold", "unhold")]
    assert [(r.kind, (r.at - held[0].at).total_seconds()) for r in held] == [("hold", 0.0), ("unhold", 30.0)]


def test_given_call_not_bridged_yet_when_hold_then_refused():
    s = Scenario(a_deployment())
    s.login("alice")
    s.call()
    s.answer_only(s.leg_of("alice"))
    assert refusals(s.send(ev.CallHold("alice", True, s.now))) == ["engine.call_state"]


def test_given_talking_when_digits_then_sent_to_caller_and_only_counted_in_the_journal():
    s = Scenario(a_deployment())
    s.login("alice")
    talking(s)
    out = s.send(ev.CallDigits("alice", "12*#A", s.now))
    assert s.of(fx.SendDigits, out) == [fx.SendDigits(NODE, "c1", "12*#A")]
    assert s.journal[-1].kind == "digits" and s.journal[-1].data == {"to": "caller", "count": "5"}


@pytest.mark.parametrize("digits", ["", "1 &bridge(user/1)", "12\nsendmsg", "1{x}", "12,3", "9'", "E", "1" * 33])
def test_given_bad_digits_then_refused_before_freeswitch(digits):
    s = Scenario(a_deployment())
    s.login("alice")
    talking(s)
    out = s.send(ev.CallDigits("alice", digits, s.now))
    assert refusals(out) == ["engine.invalid_digits"] and s.of(fx.SendDigits, out) == []


# -- another agent's call ------------------------------------------------------------------------------
def test_given_alice_talking_when_bob_sends_commands_then_refused_and_alices_call_untouched():
    s = Scenario(a_deployment(agents=[an_agent("alice"), an_agent("bob")]))
    s.login("alice", "bob")
    talking(s)                                                    # alice (longest idle) takes it
    assert s.engine.calls["interaction-1"].agent == "alice"
    before = len(s.effects)
    for command in (ev.CallHangup("bob", s.now), ev.CallHold("bob", True, s.now),
                    ev.CallDigits("bob", "1", s.now), ev.CallAnswer("bob", s.now),
                    ev.MessageTaken("bob", "interaction-1", "per@example.org", "Per", s.now)):
        assert refusals(s.send(command)) == ["engine.no_call"], command
    assert not [e for e in s.effects[before:] if isinstance(e, fx.CALL_CONTROL)]
    assert s.state("alice") == "on_call"


def test_given_bob_on_his_own_call_when_message_for_alices_call_then_not_your_call():
    s = Scenario(a_deployment(agents=[an_agent("alice"), an_agent("bob")]))
    s.login("alice", "bob")
    talking(s, "c1", "alice")
    talking(s, "c2", "bob")
    out = s.send(ev.MessageTaken("bob", "interaction-1", "per@example.org", "Per", s.now))
    assert refusals(out) == ["engine.not_your_call"]


def test_given_unknown_agent_when_command_then_refused():
    s = Scenario(a_deployment())
    assert refusals(s.send(ev.CallHold("mallory", True, s.now))) == ["engine.unknown_agent"]


# -- message taking ----------------------------------------------------------------------------------
def test_given_call_or_wrap_up_when_message_taken_then_journaled_without_text_and_refused_after():
    s = Scenario(a_deployment(queues=[a_queue(wrapup=30)]))
    s.login("alice")
    talking(s)
    s.send(ev.MessageTaken("alice", "interaction-1", "per@example.org", "Per Hansen", s.now))
    s.hangup("c1")
    s.send(ev.MessageTaken("alice", "interaction-1", "kari@example.org", "Kari", s.now, delivered=False))
    taken = [r for r in s.journal if r.kind == "message_taken"]
    assert [r.data for r in taken] == [
        {"person": "Per Hansen", "recipient": "per@example.org", "delivered": "1"},
        {"person": "Kari", "recipient": "kari@example.org", "delivered": "0"}]
    s.advance(30)                                                 # wrap-up over: the call is closed
    out = s.send(ev.MessageTaken("alice", "interaction-1", "per@example.org", "Per", s.now))
    assert refusals(out) == ["engine.no_call"]
    s.assert_journal_exact()

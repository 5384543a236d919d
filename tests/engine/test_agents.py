"""Agent behaviour through the engine: registration, one call at a time, wrap-up, delays, pauses."""
from __future__ import annotations

from engine import effects as fx
from engine import events as ev
from engine.agents import NO_ANSWER_REASON

from tests.engine.builders import Scenario, a_deployment, a_queue, an_agent


def two_queues(**queue_kw):
    return a_deployment(queues=[a_queue("sales", **queue_kw), a_queue("support", **queue_kw)],
                        agents=[an_agent("alice", queues={"sales": 1, "support": 1})])


def test_given_unregistered_softphone_when_call_queued_then_not_offered_until_registered():
    s = Scenario(a_deployment())
    s.login("alice", registered=False)
    s.call()
    assert s.originates() == []
    s.register("alice")
    assert s.offered_agents() == ["alice"]


def test_given_softphone_unregistered_later_when_call_queued_then_not_offered():
    s = Scenario(a_deployment())
    s.login("alice")
    s.register("alice", registered=False)
    s.call()
    assert s.originates() == []
    assert s.engine.agents["alice"].staffed          # still logged in: no "no agents" overflow
    assert s.kinds() == ["arrived", "entered_queue"]


def test_given_agent_offered_in_one_queue_when_call_arrives_in_other_then_not_offered_again():
    s = Scenario(two_queues())
    s.login("alice")
    s.call("c1", queue="sales")
    s.call("c2", queue="support")
    assert s.offered_agents() == ["alice"]
    assert s.state("alice") == "offered"


def test_given_two_queues_when_agent_freed_then_both_calls_taken_one_at_a_time():
    s = Scenario(two_queues())
    s.call("c1", queue="sales")                       # nobody logged in yet: overflows
    assert "overflowed" in s.kinds()
    s.login("alice")
    s.call("c2", queue="sales")
    s.call("c3", queue="support")
    s.answer(s.leg_of("alice"))
    assert len(s.originates()) == 1                   # on call: c3 waits
    s.hangup("c2")
    assert len(s.originates()) == 2 and s.originates()[-1].variables["cc_caller_uuid"] == "c3"


def test_given_agent_in_wrapup_when_call_queued_then_not_offered_until_wrapup_ends():
    s = Scenario(two_queues(wrapup=15))
    s.login("alice")
    s.call("c1", queue="sales")
    s.answer(s.leg_of("alice"))
    s.advance(20)
    s.hangup("c1")
    assert s.state("alice") == "wrap_up"
    s.call("c2", queue="support")                     # wrap-up is shared across queues
    assert len(s.originates()) == 1
    s.advance(14)
    assert len(s.originates()) == 1
    s.advance(1)
    assert s.state("alice") == "offered" and len(s.originates()) == 2
    assert s.kinds("interaction-1")[-2:] == ["wrapup_end", "ended"]


def test_given_ringing_agent_when_ring_timeout_then_leg_hung_up_and_no_answer_journaled():
    s = Scenario(a_deployment(queues=[a_queue(ring_timeout=10, max_no_answer=5)]))
    s.login("alice")
    s.call()
    leg = s.leg_of("alice")
    out = s.advance(12)                                # ring timeout + grace
    assert fx.Hangup("fs1", leg, "ORIGINATOR_CANCEL") in out
    assert "no_answer" in s.kinds()
    assert s.engine.agents["alice"].no_answers == 1
    s.fail(leg, "ORIGINATOR_CANCEL")                   # FreeSWITCH confirms: nothing more
    assert s.kinds().count("no_answer") == 1


def test_given_n_consecutive_no_answers_then_agent_paused_with_reason_no_answer():
    s = Scenario(a_deployment(queues=[a_queue(max_no_answer=3)]))
    s.login("alice")
    s.call()
    for n in range(3):
        s.fail(s.leg_of("alice"), "NO_ANSWER")
    assert s.state("alice") == "paused"
    assert s.engine.agents["alice"].reason == NO_ANSWER_REASON
    assert fx.Notify("agent_paused", {"agent": "alice", "reason": NO_ANSWER_REASON}) in s.effects
    assert s.kinds().count("no_answer") == 3 and len(s.originates()) == 3


def test_given_an_answer_between_no_answers_then_count_restarts():
    s = Scenario(a_deployment(queues=[a_queue(max_no_answer=2)]))
    s.login("alice")
    s.call("c1")
    s.fail(s.leg_of("alice"), "NO_ANSWER")
    s.answer(s.leg_of("alice"))
    s.hangup("c1")
    s.call("c2")
    s.fail(s.leg_of("alice"), "NO_ANSWER")
    assert s.state("alice") == "offered"                 # offered again, not paused
    assert s.engine.agents["alice"].no_answers == 1


def test_given_reject_then_agent_not_offered_during_reject_delay():
    s = Scenario(a_deployment(queues=[a_queue(reject_delay=10)]))
    s.login("alice")
    s.call()
    s.fail(s.leg_of("alice"), "CALL_REJECTED")
    assert s.kinds()[-1] == "rejected" and len(s.originates()) == 1
    assert not s.engine.agents["alice"].routable
    s.advance(9.9)
    assert len(s.originates()) == 1
    s.advance(0.1)
    assert len(s.originates()) == 2


def test_given_busy_then_busy_delay_applies():
    s = Scenario(a_deployment(queues=[a_queue(busy_delay=30)]))
    s.login("alice")
    s.call()
    s.fail(s.leg_of("alice"), "USER_BUSY")
    assert s.kinds()[-1] == "busy"
    s.advance(29)
    assert len(s.originates()) == 1
    s.advance(1)
    assert len(s.originates()) == 2


def test_given_failed_offer_then_call_goes_to_another_available_agent_first():
    s = Scenario(a_deployment(agents=[an_agent("alice"), an_agent("bob")]))
    s.login("alice", "bob")
    s.call()
    first = s.offered_agents()[0]
    s.fail(s.leg_of(first), "NO_ANSWER")
    assert s.offered_agents()[1] != first


def test_given_not_registered_cause_then_agent_marked_unregistered():
    s = Scenario(a_deployment())
    s.login("alice")
    s.call()
    s.fail(s.leg_of("alice"), "USER_NOT_REGISTERED")
    assert s.kinds()[-1] == "offer_failed"
    assert s.engine.agents["alice"].registered is False


def test_given_pause_during_call_then_applied_after_wrapup():
    s = Scenario(a_deployment(queues=[a_queue(wrapup=5)]))
    s.login("alice")
    s.call()
    s.answer(s.leg_of("alice"))
    s.send(ev.AgentPause("alice", "lunch", s.now))
    assert s.state("alice") == "on_call"
    s.hangup("caller-1")
    assert s.state("alice") == "wrap_up"
    s.advance(5)
    assert s.state("alice") == "paused" and s.engine.agents["alice"].reason == "lunch"
    assert s.kinds()[-2:] == ["wrapup_end", "ended"]


def test_given_pause_in_wrapup_then_wrapup_ends_and_journal_closes():
    s = Scenario(a_deployment(queues=[a_queue(wrapup=60)]))
    s.login("alice")
    s.call()
    s.answer(s.leg_of("alice"))
    s.hangup("caller-1")
    s.send(ev.AgentPause("alice", "meeting", s.now))
    assert s.state("alice") == "paused"
    assert s.kinds()[-2:] == ["wrapup_end", "ended"]
    s.advance(60)                                         # the stale wrap-up timer changes nothing
    assert s.state("alice") == "paused"


def test_given_logout_while_ringing_then_leg_cancelled_and_call_offered_to_next_agent():
    s = Scenario(a_deployment(agents=[an_agent("alice"), an_agent("bob")]))
    s.login("alice", "bob")
    s.call()
    first = s.offered_agents()[0]
    other = "bob" if first == "alice" else "alice"
    leg = s.leg_of(first)
    out = s.send(ev.AgentLogout(first, s.now))
    assert fx.Hangup("fs1", leg, "ORIGINATOR_CANCEL") in out
    assert s.state(first) == "logged_out"
    assert s.offered_agents()[-1] == other
    assert "offer_cancelled" in s.kinds()


def test_given_last_agent_logs_out_then_waiting_callers_overflow_to_no_agents_target():
    s = Scenario(a_deployment())
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call()
    s.send(ev.AgentLogout("alice", s.now))
    assert s.kinds()[-1] == "overflowed"
    assert s.journal[-1].data["reason"] == "no_agents"


def test_given_paused_agent_when_resumed_then_offered_waiting_call():
    s = Scenario(a_deployment())
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call()
    assert s.originates() == []
    s.send(ev.AgentResume("alice", s.now))
    assert s.offered_agents() == ["alice"]


def test_given_logged_out_agent_when_pause_then_command_refused_with_error_id():
    s = Scenario(a_deployment())
    out = s.send(ev.AgentPause("alice", "x", s.now))
    refused = [e for e in out if isinstance(e, fx.Notify) and e.topic == "command_refused"]
    assert refused and refused[0].payload["error_id"] == "engine.illegal_transition"
    assert s.state("alice") == "logged_out"


def test_given_duplicate_login_then_nothing_changes():
    s = Scenario(a_deployment())
    s.login("alice")
    out = s.send(ev.AgentLogin("alice", s.now))
    assert out == [] and s.state("alice") == "available"


def test_command_for_an_unknown_agent_is_refused_not_raised():
    s = Scenario(a_deployment())
    out = s.send(ev.AgentLogin("nobody", s.now))
    assert [e.payload["error_id"] for e in out if isinstance(e, fx.Notify)] == ["engine.unknown_agent"]

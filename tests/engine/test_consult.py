"""Announced (consult) transfer: start, join, swap, complete, cancel, conference, failures,
and the orders in which a real FreeSWITCH reports them."""
from __future__ import annotations

import dataclasses

import pytest

from engine import effects as fx
from engine import events as ev
from engine import offers

from tests.engine.builders import NODE, Scenario, a_deployment, a_queue, a_tenant, an_agent

IX = "interaction-1"
TIMEOUT = 15.0


def refusals(out) -> list[str]:
    return [e.payload["error_id"] for e in out if isinstance(e, fx.Notify) and e.topic == "command_refused"]


def scenario(wrapup=0) -> tuple[Scenario, str]:
    dep = a_deployment(queues=[a_queue(wrapup=wrapup)], tenants=[a_tenant(transfer_timeout=TIMEOUT)],
                       agents=[an_agent("alice"), an_agent("bob")])
    dep = dataclasses.replace(dep, outbound_context="gateways")
    s = Scenario(dep)
    s.login("alice")
    s.call("c1")
    agent_leg = s.talk("c1", "alice")
    s.advance(10)
    return s, agent_leg


def consulting(kind="user", target="1001") -> tuple[Scenario, str, str]:
    s, agent_leg = scenario()
    s.send(ev.ConsultStart("alice", target, s.now, kind=kind, name="Per Hansen"))
    return s, agent_leg, s.originates()[-1].leg_uuid


def joined() -> tuple[Scenario, str, str]:
    s, agent_leg, target = consulting()
    s.advance(3)
    s.answer(target)                                   # answers, then parks
    s.send(ev.CallParked(NODE, "c1", "", "4791234567", "Kari", s.now))   # the caller, left by that bridge
    s.advance(2)
    return s, agent_leg, target


def ix(s: Scenario):
    return s.engine.calls[IX]


def bridges(out) -> list[tuple[str, str]]:
    return [(b.a_uuid, b.b_uuid) for b in out if isinstance(b, fx.Bridge)]


# -- start and join --------------------------------------------------------------------------------
def test_given_talking_when_consult_starts_then_caller_held_and_target_rung_with_park_after_bridge():
    s, agent_leg = scenario()
    out = s.send(ev.ConsultStart("alice", "1001", s.now, kind="user", name="Per Hansen"))
    assert fx.Hold(NODE, agent_leg, True) in out          # its partner, the caller, hears the music
    assert fx.SetVariables(NODE, "c1", {"park_after_bridge": "true"}) in out
    assert fx.SetVariables(NODE, agent_leg, {"park_after_bridge": "true"}) in out
    (orig,) = s.originates(out)
    assert orig.sip_user == "1001" and orig.destination == "" and orig.timeout == TIMEOUT
    assert orig.variables["cc_caller_uuid"] == "c1" and orig.variables["cc_consult"] == "1"
    assert orig.variables["park_after_bridge"] == "true" and orig.variables["cc_interaction_id"] == IX
    assert s.timers[f"consult:{IX}"] == s.now + __import__("datetime").timedelta(seconds=TIMEOUT + offers.RING_GRACE)
    call = ix(s)
    assert (call.consult_leg, call.target, call.target_name, call.talking_to, call.held) == \
        (orig.leg_uuid, "1001", "Per Hansen", "caller", True)
    assert s.kinds()[-1] == "consult_started"


def test_given_number_target_then_dialled_through_the_outbound_context():
    s, _, target = consulting(kind="number", target="+4722334455")
    orig = s.originates()[-1]
    assert (orig.sip_user, orig.destination, orig.context) == ("", "+4722334455", "gateways")


def test_given_target_answers_and_parks_then_caller_unheld_agent_bridged_to_target_caller_music_once():
    s, agent_leg, target = consulting()
    s.answer_only(target)
    assert ix(s).talking_to == "caller" and bridges(s.effects[-3:]) == []   # not before its park
    out = s.send(ev.LegParked(NODE, target, s.now))
    assert fx.Hold(NODE, agent_leg, False) in out and bridges(out) == [(agent_leg, target)]
    assert ix(s).talking_to == "target" and f"consult:{IX}" not in s.timers
    assert s.kinds()[-1] == "consult_answered"
    music = [s.send(ev.CallParked(NODE, "c1", "", "4791234567", "Kari", s.now)) for _ in range(2)]
    assert [len([p for p in m if isinstance(p, fx.Play) and p.loop]) for m in music] == [1, 0]


def test_given_target_park_never_reported_then_joined_by_the_timer():
    s, agent_leg, target = consulting()
    s.answer_only(target)
    out = s.advance(offers.BRIDGE_SETTLE)
    assert bridges(out) == [(agent_leg, target)] and ix(s).talking_to == "target"


# -- swap, complete, cancel, conference ---------------------------------------------------------------
def test_swap_bridges_the_agent_to_who_waits_and_the_other_hears_music():
    s, agent_leg, target = joined()
    out = s.send(ev.ConsultSwap("alice", s.now))
    assert fx.StopPlayback(NODE, "c1") in out and bridges(out) == [("c1", agent_leg)]
    assert ix(s).talking_to == "caller"
    out = s.send(ev.LegParked(NODE, target, s.now))               # the target, left by that bridge
    assert fx.Play(NODE, target, "local_stream://moh", loop=True) in out
    s.advance(1)
    out = s.send(ev.ConsultSwap("alice", s.now))
    assert fx.StopPlayback(NODE, target) in out and bridges(out) == [(agent_leg, target)]
    keys = [b.key for b in s.of(fx.Bridge)]
    assert len(keys) == len(set(keys))


def test_given_a_bridge_a_moment_ago_when_swap_then_refused_too_soon():
    s, agent_leg, target = joined()
    s.send(ev.ConsultSwap("alice", s.now))
    out = s.send(ev.ConsultSwap("alice", s.now))
    assert refusals(out) == ["engine.too_soon"] and bridges(out) == []
    s.advance(offers.BRIDGE_GAP)
    assert refusals(s.send(ev.ConsultSwap("alice", s.now))) == []


def test_complete_joins_caller_and_target_and_the_agent_goes_to_wrap_up():
    s, agent_leg, target = joined()
    out = s.send(ev.ConsultComplete("alice", s.now))
    assert bridges(out) == [("c1", target)] and fx.Hangup(NODE, agent_leg) in out
    call = ix(s)
    assert (call.transferred, call.agent, call.agent_leg, call.consult_leg) == (True, "", target, "")
    assert call.state.value == "connected"
    assert s.state("alice") == "available"                          # wrap-up 0
    assert s.kinds()[-1] == "consult_completed" and "ended" not in s.kinds()
    assert s.journal[-1].data["talk"] == "15.000"


def test_cancel_while_ringing_drops_the_target_and_unholds_and_a_late_answer_is_hung_up():
    s, agent_leg, target = consulting()
    out = s.send(ev.ConsultCancel("alice", s.now))
    assert fx.Hangup(NODE, target, "ORIGINATOR_CANCEL") in out and fx.Hold(NODE, agent_leg, False) in out
    assert ix(s).consult_leg == "" and s.kinds()[-1] == "consult_cancelled"
    out = s.send(ev.LegAnswered(NODE, target, s.now))
    assert fx.Hangup(NODE, target, "ORIGINATOR_CANCEL") in out and s.kinds()[-1] == "consult_cancelled"


def test_cancel_while_talking_to_target_bridges_the_agent_back_to_the_caller():
    s, agent_leg, target = joined()
    out = s.send(ev.ConsultCancel("alice", s.now))
    assert bridges(out) == [("c1", agent_leg)] and any(isinstance(h, fx.Hangup) and h.uuid == target for h in out)
    s.hangup(target)
    assert ix(s).talking_to == "" and s.state("alice") == "on_call"
    s.hangup("c1")
    assert s.kinds().count("ended") == 1
    s.assert_journal_exact()


def test_conference_moves_the_three_legs_into_one_room():
    s, agent_leg, target = joined()
    out = s.send(ev.ConsultConference("alice", s.now))
    assert s.of(fx.Conference, out) == [fx.Conference(NODE, ("c1", agent_leg, target), room=IX)]
    assert ix(s).talking_to == "both" and s.kinds()[-1] == "conference"
    assert refusals(s.send(ev.ConsultSwap("alice", s.now + __import__("datetime").timedelta(seconds=1)))) \
        == ["engine.call_state"]


def test_digits_during_consult_go_to_the_target():
    s, agent_leg, target = joined()
    out = s.send(ev.CallDigits("alice", "2", s.now))
    assert s.of(fx.SendDigits, out) == [fx.SendDigits(NODE, target, "2")]


# -- failures and races ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cause,reason", [("USER_BUSY", "busy"), ("CALL_REJECTED", "rejected"),
                                          ("USER_NOT_REGISTERED", "unregistered"), ("NO_ANSWER", "no_answer"),
                                          ("NO_ROUTE_DESTINATION", "failed")])
def test_given_target_fails_then_caller_unheld_and_console_told(cause, reason):
    s, agent_leg, target = consulting()
    out = s.fail(target, cause)
    assert fx.Hold(NODE, agent_leg, False) in out
    (notice,) = [n for n in out if isinstance(n, fx.Notify) and n.topic == "consult_failed"]
    assert notice.payload == {"agent": "alice", "interaction": IX, "reason": reason, "tenant": "acme"}
    assert s.journal[-1].kind == "consult_failed" and s.journal[-1].data["reason"] == reason
    assert ix(s).consult_leg == "" and s.state("alice") == "on_call" and not ix(s).held


def test_given_target_rings_too_long_then_hung_up_failed_and_a_late_answer_changes_nothing():
    s, agent_leg, target = consulting()
    out = s.advance(TIMEOUT + offers.RING_GRACE)
    assert fx.Hangup(NODE, target, "ORIGINATOR_CANCEL") in out
    assert s.journal[-1].kind == "consult_failed" and s.journal[-1].data["reason"] == "no_answer"
    rows = len(s.journal)
    out = s.send(ev.LegAnswered(NODE, target, s.now))
    assert fx.Hangup(NODE, target, "ORIGINATOR_CANCEL") in out and bridges(out) == []
    assert len(s.journal) == rows


def test_given_target_job_fails_after_its_answer_then_nothing_changes():
    s, agent_leg, target = joined()
    rows = len(s.journal)
    out = s.fail(target, "ORIGINATOR_CANCEL")
    assert len(s.journal) == rows and ix(s).talking_to == "target" and not s.of(fx.Hold, out)


def test_given_target_hangs_up_after_join_then_agent_back_with_the_caller():
    s, agent_leg, target = joined()
    out = s.hangup(target)
    assert bridges(out) == [("c1", agent_leg)] and s.kinds()[-1] == "consult_ended"
    assert ix(s).consult_leg == "" and s.state("alice") == "on_call"


def test_given_caller_hangs_up_during_consult_then_agent_stays_with_target_until_either_hangs_up():
    s, agent_leg, target = joined()
    out = s.hangup("c1")
    assert not [h for h in out if isinstance(h, fx.Hangup)] and s.kinds()[-1] == "consult_caller_left"
    assert s.state("alice") == "on_call" and ix(s).talking_to == "target"
    s.advance(5)
    out = s.hangup(target)
    assert any(isinstance(h, fx.Hangup) and h.uuid == agent_leg for h in out)
    assert s.kinds()[-4:] == ["consult_ended", "talk_ended", "wrapup_end", "ended"]
    assert s.state("alice") == "available" and IX not in s.engine.calls
    s.assert_journal_exact()


def test_given_caller_hangs_up_while_target_rings_then_target_cancelled_and_call_ends():
    s, agent_leg, target = consulting()
    out = s.hangup("c1")
    assert fx.Hangup(NODE, target, "ORIGINATOR_CANCEL") in out
    assert any(isinstance(h, fx.Hangup) and h.uuid == agent_leg for h in out)
    assert s.kinds().count("ended") == 1 and s.state("alice") == "available"
    s.assert_journal_exact()


def test_given_agent_hangs_up_the_phone_after_join_then_caller_handed_over_to_target():
    s, agent_leg, target = joined()
    out = s.hangup(agent_leg)
    assert bridges(out) == [("c1", target)]
    assert ix(s).transferred and ix(s).agent_leg == target and s.state("alice") == "available"


def test_given_agent_hangs_up_while_target_rings_then_target_cancelled_and_call_ends():
    s, agent_leg, target = consulting()
    out = s.hangup(agent_leg)
    assert fx.Hangup(NODE, target, "ORIGINATOR_CANCEL") in out and fx.Hangup(NODE, "c1") in out
    assert s.kinds().count("ended") == 1
    s.assert_journal_exact()


# -- refusals ---------------------------------------------------------------------------------------------
def test_refusals():
    s, agent_leg = scenario()
    assert refusals(s.send(ev.ConsultStart("bob", "1001", s.now, kind="user"))) == ["engine.no_call"]
    assert refusals(s.send(ev.ConsultSwap("alice", s.now))) == ["engine.no_consult"]
    assert refusals(s.send(ev.ConsultCancel("alice", s.now))) == ["engine.no_consult"]
    for kind, target in (("user", "1000 &bridge(user/1)"), ("user", "1000\nsendmsg"), ("number", "12{a}"),
                         ("number", "1,2"), ("number", "9'"), ("queue", "sales"), ("user", "")):
        out = s.send(ev.ConsultStart("alice", target, s.now, kind=kind))
        assert refusals(out) == ["engine.invalid_target"] and not s.originates(out), (kind, target)
    s.send(ev.ConsultStart("alice", "1001", s.now, kind="user"))
    assert refusals(s.send(ev.ConsultStart("alice", "1002", s.now, kind="user"))) == ["engine.consult_in_progress"]
    assert refusals(s.send(ev.ConsultSwap("alice", s.now))) == ["engine.call_state"]     # still ringing
    assert refusals(s.send(ev.CallHold("alice", False, s.now))) == ["engine.consult_in_progress"]
    assert refusals(s.send(ev.CallHangup("alice", s.now))) == ["engine.consult_in_progress"]


def test_given_completed_consult_when_caller_hangs_up_later_then_the_transferred_call_ends_once():
    s, agent_leg, target = joined()
    s.send(ev.ConsultComplete("alice", s.now))
    s.send(ev.Bridged(NODE, "c1", target, s.now))               # the new pair's CHANNEL_BRIDGE
    s.advance(5)
    out = s.hangup("c1")
    assert any(isinstance(h, fx.Hangup) and h.uuid == target for h in out)
    assert s.kinds()[-4:] == ["consult_completed", "bridged", "talk_ended", "ended"]
    assert s.journal[-1].data["reason"] == "transferred" and IX not in s.engine.calls
    s.assert_journal_exact()


def test_complete_right_after_the_join_bridges_caller_and_target_under_its_own_key():
    """The join (agent + target) and a complete before any other row used the same
    idempotency key "<ix>/consult/<seq>": the executor performed the first only ("asked
    twice") and the caller never reached the target (the call-control chaos test)."""
    s, agent_leg, target = consulting()
    s.advance(3)
    s.answer(target)                                   # joined: agent + target bridged
    s.advance(1)
    s.send(ev.ConsultComplete("alice", s.now))
    made = [b for b in s.of(fx.Bridge) if {b.a_uuid, b.b_uuid} in ({agent_leg, target}, {"c1", target})]
    assert [{b.a_uuid, b.b_uuid} for b in made] == [{agent_leg, target}, {"c1", target}]
    assert len({b.key for b in made}) == 2, [b.key for b in made]

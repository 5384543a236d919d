"""Call moves by the operator (engine/transfer.py): supervised blind transfer with recall,
transfer to a queue, park with recall and pick-up, in the orders a real FreeSWITCH
produces them, and after an engine restart."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import effects as fx
from engine import events as ev
from engine.config import Deployment

from tests.engine.builders import NODE, Scenario, a_deployment, a_queue, a_tenant, an_agent
from tests.engine.test_recovery import restarted

IX = "interaction-1"
MOH = "local_stream://moh"


def talking(names=("alice",), confirm_hangups=True, **kw) -> tuple[Scenario, str]:
    """`names[0]` talks with caller c1 (answered, parked, bridged); the others log in after."""
    kw.setdefault("agents", [an_agent(a) for a in names])
    s = Scenario(a_deployment(**kw), confirm_hangups=confirm_hangups)
    s.login(names[0])
    s.call("c1")
    leg = s.talk("c1", names[0])
    s.login(*names[1:])
    return s, leg


def transfer(s: Scenario, target="1001", kind="user", agent="alice", name="Per Hansen") -> list:
    return s.send(ev.CallTransfer(agent, target, s.now, kind=kind, name=name))


def target_leg(s: Scenario) -> str:
    return [o for o in s.originates() if o.variables.get("cc_transfer")][-1].leg_uuid


def refusals(out) -> list[str]:
    return [n.payload["error_id"] for n in out if isinstance(n, fx.Notify) and n.topic == "command_refused"]


def notices(s: Scenario, topic: str) -> list[dict]:
    return [dict(n.payload) for n in s.of(fx.Notify) if n.topic == topic]


def music_to(s: Scenario, uuid: str, effects=None) -> list[fx.Play]:
    return [p for p in s.of(fx.Play, effects) if p.uuid == uuid and p.loop]


def ix_state(s: Scenario) -> str:
    return s.engine.calls[IX].state.value


# -- blind transfer: the start --------------------------------------------------------------
def test_given_talking_when_transferred_to_a_user_then_operator_leaves_to_wrapup_and_target_rings():
    s, leg = talking(queues=[a_queue(wrapup=30)])
    s.advance(12)
    out = transfer(s)
    assert refusals(out) == []
    hangups = [n for n, e in enumerate(out) if isinstance(e, fx.Hangup) and e.uuid == leg]
    survives = [n for n, e in enumerate(out) if isinstance(e, fx.SetVariables) and e.uuid == "c1"
                and e.variables.get("park_after_bridge") == "true"]
    assert hangups and survives and survives[0] < hangups[0]       # the caller must outlive the bridge
    assert s.state("alice") == "wrap_up" and ix_state(s) == "transferring"
    o = s.originates(out)[0]
    assert (o.sip_user, o.destination, o.caller_id_number, o.caller_id_name, o.timeout) == (
        "1001", "", "4791234567", "Kari", 20.0)
    assert o.variables["cc_caller_uuid"] == "c1" and o.variables["cc_interaction_id"] == IX
    assert o.variables["cc_transfer"] == "1" and o.variables["cc_tenant"] == "acme"
    started = [j for j in s.journal if j.kind == "transfer_started"][0]
    assert started.agent == "alice" and started.data == {"target": "1001", "target_kind": "user", "name": "Per Hansen",
                                                         "talk": "12.000"}
    assert s.timers[f"xfer:{IX}"] == s.now + timedelta(seconds=22)
    assert s.engine.agents["alice"].talk_time == 12.0


def test_the_connected_caller_leg_always_gets_park_after_bridge():
    s, _ = talking()
    tags = [e.variables for e in s.of(fx.SetVariables) if e.uuid == "c1" and e.variables.get("cc_state") == "connected"]
    assert tags and tags[-1]["park_after_bridge"] == "true"


def test_a_number_is_dialled_through_the_outbound_context():
    s, _ = talking()
    s.engine.deployment = Deployment(**{**s.deployment.__dict__, "outbound_context": "trunk"})
    out = transfer(s, "+4722334455", kind="number")
    o = s.originates(out)[0]
    assert (o.sip_user, o.destination, o.context) == ("", "+4722334455", "trunk")


@pytest.mark.parametrize("kind,target", [
    ("user", "1000 &bridge(sofia/x)"), ("user", "1000\nsendmsg"), ("user", "1000\n"), ("user", "a,b"),
    ("user", "{x=y}1000"), ("user", "'1000'"), ("user", ""), ("user", "a" * 41),
    ("number", "22{x}"), ("number", "1"), ("number", "22 33"), ("number", "2233\n"), ("number", "++4722"),
    ("number", "12345678901234567890123"), ("queue", "no-such-queue"), ("fax", "22334455"),
])
def test_a_bad_target_is_refused_and_never_reaches_freeswitch(kind, target):
    s, leg = talking()
    out = transfer(s, target, kind=kind)
    assert refusals(out) == ["engine.invalid_target"]
    assert not s.originates(out) and not s.of(fx.Hangup, out) and not s.of(fx.SetVariables, out)
    assert ix_state(s) == "connected" and s.state("alice") == "on_call"


def test_a_second_transfer_of_the_same_call_is_refused():
    s, _ = talking(queues=[a_queue(wrapup=30)])
    transfer(s)
    rows = len(s.journal)
    out = transfer(s, "1002")
    assert refusals(out) == ["engine.no_call"] and not s.originates(out) and len(s.journal) == rows


def test_an_agent_cannot_transfer_or_park_another_agents_call():
    s, _ = talking(names=("alice", "bob"))
    for command in (ev.CallTransfer("bob", "1001", s.now, kind="user"), ev.CallPark("bob", s.now)):
        out = s.send(command)
        assert refusals(out) == ["engine.no_call"] and not s.of(fx.Hangup, out)
    assert ix_state(s) == "connected" and s.engine.calls[IX].agent == "alice"


def test_a_call_not_bridged_yet_is_not_moved():
    s = Scenario(a_deployment())
    s.login("alice")
    s.call("c1")
    s.answer_only(s.leg_of("alice"))
    out = transfer(s)
    assert refusals(out) == ["engine.call_state"] and not s.originates(out)


# -- the caller's music -------------------------------------------------------------------------
def test_the_caller_hears_music_once_whether_its_park_or_the_operators_hangup_comes_first():
    for park_first in (True, False):
        s, leg = talking(confirm_hangups=False)
        out = transfer(s)
        assert not music_to(s, "c1", out)                     # still in the old bridge
        first, second = (lambda: s.repark("c1"), lambda: s.hangup(leg))
        if not park_first:
            first, second = second, first
        assert len(music_to(s, "c1", first())) == 1
        assert not music_to(s, "c1", second())
        assert s.engine.calls[IX].playing == MOH and s.engine.agents["alice"].routable


# -- the target answers -----------------------------------------------------------------------
def test_target_answers_then_music_stops_and_the_pair_is_bridged_on_its_park():
    s, _ = talking()
    transfer(s)
    s.repark("c1")
    leg = target_leg(s)
    out = s.answer_only(leg)
    assert fx.StopPlayback(NODE, "c1") in out and not s.of(fx.Bridge, out)
    ix = s.engine.calls[IX]
    assert ix.state.value == "connected" and ix.transferred and ix.agent == "" and ix.agent_leg == leg
    assert f"xfer:{IX}" not in s.timers
    out = s.send(ev.LegParked(NODE, leg, s.now))
    assert [(b.a_uuid, b.b_uuid) for b in s.of(fx.Bridge, out)] == [("c1", leg)]
    assert not s.of(fx.Bridge, s.send(ev.LegParked(NODE, leg, s.now)))      # once
    s.send(ev.Bridged(NODE, "c1", leg, s.now))
    s.send(ev.Bridged(NODE, leg, "c1", s.now))
    assert s.kinds(IX).count("bridged") == 2                  # the operator's bridge, then the target's
    assert s.kinds(IX)[-3:] == ["transfer_started", "transfer_answered", "bridged"]


def test_the_bridge_keys_of_operator_and_target_differ():
    s, _ = talking()
    transfer(s)
    s.answer(target_leg(s))
    keys = [b.key for b in s.of(fx.Bridge)]
    assert len(keys) == 2 and len(set(keys)) == 2


def test_a_lost_target_park_is_covered_by_the_bridge_timer():
    s, _ = talking()
    transfer(s)
    leg = target_leg(s)
    s.answer_only(leg)
    out = s.advance(1.0)
    assert [(b.a_uuid, b.b_uuid) for b in s.of(fx.Bridge, out)] == [("c1", leg)]


def test_the_targets_job_err_after_its_answer_changes_nothing():
    s, _ = talking()
    transfer(s)
    leg = target_leg(s)
    s.answer(leg)
    rows = len(s.journal)
    out = s.fail(leg, "ORIGINATOR_CANCEL")
    assert not s.of(fx.Hangup, out) and not s.originates(out) and len(s.journal) == rows
    assert ix_state(s) == "connected" and s.engine.calls[IX].transferred


@pytest.mark.parametrize("who", ["target", "caller"])
def test_a_transferred_call_ends_when_either_side_hangs_up_with_one_ended_row(who):
    s, _ = talking(queues=[a_queue(wrapup=5)])
    transfer(s)
    leg = target_leg(s)
    s.answer(leg)
    s.send(ev.Bridged(NODE, "c1", leg, s.now))
    s.advance(30)
    gone, other = (leg, "c1") if who == "target" else ("c1", leg)
    out = s.hangup(gone)
    assert fx.Hangup(NODE, other) in out
    ended = [j for j in s.journal if j.interaction == IX][-2:]
    assert [j.kind for j in ended] == ["talk_ended", "ended"]
    assert ended[0].data["by"] == who and ended[0].data["talk"] == "30.000"
    assert ended[1].data["reason"] == "transferred" and IX not in s.engine.calls
    if who == "target":
        s.repark("c1")                                          # park_after_bridge, before our hang-up
    s.hangup(other)                                             # FreeSWITCH confirms: nothing more
    assert s.kinds(IX)[-1] == "ended" and not s.engine.calls
    s.assert_journal_exact()
    assert s.state("alice") == "available" and "wrapup_end" not in s.kinds(IX)


# -- the target does not answer: recall ----------------------------------------------------
def test_no_answer_in_time_recalls_the_call_to_the_same_operator_in_wrapup():
    s, _ = talking(names=("alice", "bob"), queues=[a_queue(wrapup=60)])
    transfer(s)
    leg = target_leg(s)
    out = s.advance(22)
    assert fx.Hangup(NODE, leg, "ORIGINATOR_CANCEL") in out
    assert s.kinds(IX)[-3:] == ["transfer_failed", "recalled", "offered"]
    failed = [j for j in s.journal if j.kind == "transfer_failed"][0]
    assert failed.data["reason"] == "no_answer" and failed.agent == "alice"
    assert notices(s, "recall") == [{"agent": "alice", "interaction": IX, "tenant": "acme", "reason": "no_answer"}]
    assert s.offered_agents(out) == ["alice"]                  # bob is available, alice gets it back
    assert s.originates(out)[0].variables["cc_recall"] == "no_answer"
    assert s.engine.calls[IX].recalls == 1
    s.answer(s.leg_of("alice"))
    ix = s.engine.calls[IX]
    assert ix.state.value == "connected" and ix.agent == "alice"
    assert (ix.recall_agent, ix.recall_reason) == ("alice", "no_answer")    # the console marks it a recall
    s.assert_journal_exact()


def test_the_target_answering_after_the_recall_is_hung_up_and_the_recall_stands():
    s, _ = talking(confirm_hangups=False)
    transfer(s)
    leg = target_leg(s)
    s.advance(22)
    rows = len(s.journal)
    out = s.answer(leg)
    assert out[0] == fx.Hangup(NODE, leg, "ORIGINATOR_CANCEL")
    assert len(s.journal) == rows and ix_state(s) in ("offering", "queued")
    s.hangup(leg)
    assert len(s.journal) == rows and leg not in s.engine.cancelled


@pytest.mark.parametrize("cause,reason", [
    ("USER_BUSY", "busy"), ("CALL_REJECTED", "rejected"), ("USER_NOT_REGISTERED", "unregistered"),
    ("SUBSCRIBER_ABSENT", "unregistered"), ("NO_ANSWER", "no_answer"), ("NO_USER_RESPONSE", "no_answer"),
    ("DESTINATION_OUT_OF_ORDER", "failed"), ("NO_ROUTE_DESTINATION", "failed"),
])
def test_a_failed_target_recalls_with_its_reason(cause, reason):
    s, _ = talking()
    transfer(s)
    out = s.fail(target_leg(s), cause)
    assert not s.of(fx.Hangup, out)                              # the leg is gone already
    assert notices(s, "recall")[-1]["reason"] == reason
    assert s.offered_agents(out) == ["alice"] and f"xfer:{IX}" not in s.timers


def test_a_target_hanging_up_before_it_answered_recalls():
    s, _ = talking()
    transfer(s)
    s.hangup(target_leg(s), "CALL_REJECTED")
    assert notices(s, "recall")[-1]["reason"] == "rejected"


def test_recall_to_an_operator_who_asked_for_a_pause_goes_to_the_front_for_anyone():
    s, _ = talking(names=("alice", "bob"), queues=[a_queue(wrapup=60)])
    s.send(ev.AgentPause("bob", "lunch", s.now))
    transfer(s)
    s.send(ev.AgentPause("alice", "meeting", s.now))            # in wrap-up: paused at once
    s.call("c2")
    s.call("c3")
    s.fail(target_leg(s), "USER_BUSY")
    assert s.state("alice") == "paused"
    ix = s.engine.calls[IX]
    assert ix.state.value == "queued" and s.engine.index.position(ix) == 1      # ahead of c2, c3
    out = s.send(ev.AgentResume("bob", s.now))
    assert s.offered_agents(out) == ["bob"] and s.originates(out)[0].variables["cc_caller_uuid"] == "c1"
    assert s.originates(out)[0].variables["cc_recall"] == "busy"


def test_recall_ends_the_operators_wrapup_and_a_pending_pause_then_applies():
    s, _ = talking(names=("alice", "bob"), queues=[a_queue(wrapup=60)])
    s.send(ev.AgentPause("alice", "meeting", s.now))            # asked during the call: pending
    assert s.engine.agents["alice"].pending == ("pause", "meeting")
    transfer(s)
    assert s.state("alice") == "wrap_up"
    out = s.fail(target_leg(s), "USER_BUSY")
    assert s.state("alice") == "paused" and s.offered_agents(out) == ["bob"]


def test_recall_to_an_operator_on_another_call_waits_first_in_line_for_them():
    s, leg = talking(names=("alice", "bob"))
    s.send(ev.AgentPause("bob", "lunch", s.now))
    transfer(s)
    s.call("c2")                                               # alice (wrap-up 0) takes c2
    s.talk("c2", "alice")
    s.fail(target_leg(s), "NO_ANSWER")
    assert ix_state(s) == "queued"
    s.call("c3")
    s.advance(5)
    out = s.hangup("c2")                                        # alice is free: her recall first
    assert [o.variables["cc_caller_uuid"] for o in s.originates(out)] == ["c1"]
    s.assert_journal_exact()


def test_a_recall_the_operator_does_not_answer_is_routed_to_anyone():
    s, _ = talking(names=("alice", "bob"))
    transfer(s)
    s.fail(target_leg(s), "NO_ANSWER")
    out = s.fail(s.leg_of("alice"), "NO_ANSWER")
    assert s.offered_agents(out) == ["bob"]
    assert s.originates(out)[0].variables["cc_recall"] == "no_answer"
    assert s.kinds(IX)[-4:] == ["recalled", "offered", "no_answer", "offered"]


def test_a_recall_with_nobody_logged_in_goes_to_the_queues_no_agents_overflow():
    s, _ = talking(queues=[a_queue(wrapup=60)])
    transfer(s)
    s.send(ev.AgentLogout("alice", s.now))
    s.fail(target_leg(s), "USER_BUSY")
    assert s.kinds(IX)[-2:] == ["recalled", "overflowed"]
    s.played("c1", "closed.wav")
    s.hangup("c1")
    s.assert_journal_exact()
    assert s.kinds(IX)[-1] == "ended"


# -- the caller leaves while the target rings ---------------------------------------------------
def test_the_caller_hanging_up_while_the_target_rings_cancels_it_and_ends_once():
    s, _ = talking(confirm_hangups=False)
    transfer(s)
    leg = target_leg(s)
    out = s.hangup("c1")
    assert fx.Hangup(NODE, leg, "ORIGINATOR_CANCEL") in out
    assert s.kinds(IX)[-2:] == ["transfer_abandoned", "ended"]
    assert s.journal[-1].data["reason"] == "caller_left" and f"xfer:{IX}" not in s.timers
    rows = len(s.journal)
    assert s.answer(leg)[0] == fx.Hangup(NODE, leg, "ORIGINATOR_CANCEL")
    s.hangup(leg)
    s.advance(30)
    assert len(s.journal) == rows
    s.assert_journal_exact()


def test_an_agents_hangup_leaves_no_ghost_call_when_the_caller_parks_before_it_ends():
    """park_after_bridge: the caller of a call the agent hung up parks before our hang-up
    takes it; that park is not a new call."""
    s, leg = talking()
    s.hangup(leg)
    out = s.repark("c1")
    assert out == [] and s.kinds().count("arrived") == 1
    s.hangup("c1")
    s.assert_journal_exact()


# -- transfer to a queue --------------------------------------------------------------------
def test_a_transfer_to_a_queue_puts_the_caller_first_there():
    queues = [a_queue("sales", wrapup=30), a_queue("support", announce_position=True)]
    agents = [an_agent("alice", queues={"sales": 1}), an_agent("bob", queues={"support": 1})]
    s = Scenario(a_deployment(queues=queues, agents=agents))
    s.login("alice", "bob")
    s.send(ev.AgentPause("bob", "lunch", s.now))
    s.call("c2", queue="support")                               # waited longer
    s.call("c1", queue="sales")
    ixid = s.engine.by_leg["c1"]
    s.talk("c1", "alice")
    out = s.send(ev.CallTransfer("alice", "support", s.now, kind="queue", name="Support"))
    assert refusals(out) == [] and s.state("alice") == "wrap_up"
    rows = [j for j in s.journal if j.interaction == ixid]
    assert [r.kind for r in rows][-2:] == ["transferred", "entered_queue"]
    assert rows[-2].data["to_queue"] == "support" and rows[-2].agent == "alice"
    assert rows[-1].queue == "support" and rows[-1].data["position"] == "1"
    assert not music_to(s, "c1", out[:out.index(next(e for e in out if isinstance(e, fx.Hangup)))])
    assert s.of(fx.Play, s.repark("c1")) == []                  # the operator's leg is gone: already playing
    assert any(p.uuid == "c1" and p.prompt == "phrase:cc_position:1" for p in s.of(fx.Play, out))
    out = s.send(ev.AgentResume("bob", s.now))
    assert [o.variables["cc_caller_uuid"] for o in s.originates(out)] == ["c1"]
    s.assert_journal_exact()


# -- park ---------------------------------------------------------------------------------------
def test_park_frees_the_operator_plays_music_and_recalls_after_the_park_timeout():
    s, leg = talking(tenants=[a_tenant(park_timeout=90)], queues=[a_queue(wrapup=0)])
    out = s.send(ev.CallPark("alice", s.now))
    assert fx.Hangup(NODE, leg) in out and ix_state(s) == "parked"
    assert s.kinds(IX)[-1] == "parked" and s.state("alice") == "available"
    assert notices(s, "parked")[0]["interaction"] == IX and notices(s, "parked")[0]["caller"] == "4791234567"
    assert len(music_to(s, "c1", out)) == 1 and not music_to(s, "c1", s.repark("c1"))
    s.advance(89)
    assert ix_state(s) == "parked"
    out = s.advance(1)
    assert s.kinds(IX)[-2:] == ["recalled", "offered"]
    assert notices(s, "recall")[0]["reason"] == "park_timeout" and s.offered_agents(out) == ["alice"]


def test_a_parked_call_is_picked_up_by_another_agent_of_the_agency():
    s, _ = talking(names=("alice", "bob"), queues=[a_queue(wrapup=30)])
    s.send(ev.CallPark("alice", s.now))
    out = s.send(ev.ParkedPickUp("bob", IX, s.now))
    assert refusals(out) == [] and s.offered_agents(out) == ["bob"]
    assert s.kinds(IX)[-2:] == ["picked_up", "offered"] and f"park:{IX}" not in s.timers
    leg = s.leg_of("bob")
    s.answer(leg)
    s.send(ev.Bridged(NODE, "c1", leg, s.now))
    assert ix_state(s) == "connected" and s.engine.calls[IX].agent == "bob"
    s.hangup("c1")
    s.advance(30)
    s.assert_journal_exact()
    assert s.kinds(IX)[-1] == "ended"


def test_the_operator_in_wrapup_picks_up_their_own_parked_call():
    s, _ = talking(queues=[a_queue(wrapup=60)])
    s.send(ev.CallPark("alice", s.now))
    assert s.state("alice") == "wrap_up"
    out = s.send(ev.ParkedPickUp("alice", IX, s.now))
    assert s.offered_agents(out) == ["alice"] and s.state("alice") == "offered"


def test_pick_up_refusals():
    queues = [a_queue("sales"), a_queue("other", tenant="beta")]
    agents = [an_agent("alice"), an_agent("bob"), an_agent("carol", queues={"other": 1})]
    s, _ = talking(names=("alice", "bob", "carol"), queues=queues, agents=agents)
    out = s.send(ev.ParkedPickUp("bob", IX, s.now))
    assert refusals(out) == ["engine.call_state"]               # not parked (alice talks)
    s.send(ev.CallPark("alice", s.now))
    assert refusals(s.send(ev.ParkedPickUp("carol", IX, s.now))) == ["engine.not_your_call"]
    assert refusals(s.send(ev.ParkedPickUp("bob", "interaction-99", s.now))) == ["engine.no_call"]
    s.send(ev.AgentPause("bob", "lunch", s.now))
    assert refusals(s.send(ev.ParkedPickUp("bob", IX, s.now))) == ["engine.call_state"]
    assert ix_state(s) == "parked"


def test_the_caller_hanging_up_while_parked_ends_once():
    s, _ = talking()
    s.send(ev.CallPark("alice", s.now))
    s.hangup("c1")
    assert s.kinds(IX)[-2:] == ["park_abandoned", "ended"] and f"park:{IX}" not in s.timers
    s.advance(200)
    s.assert_journal_exact()
    assert not s.engine.calls


# -- restart ---------------------------------------------------------------------------------
def test_restart_while_the_target_rings_keeps_it_ringing_and_its_answer_connects():
    s, _ = talking(queues=[a_queue(wrapup=0)])
    transfer(s)
    leg = target_leg(s)
    s.advance(5)
    s2 = restarted(s, alive={"c1", leg})
    ix = s2.engine.calls[IX]
    assert ix.state.value == "transferring" and ix.target_leg == leg
    assert s2.timers[f"xfer:{IX}"] == ix.deadline
    s2.answer(leg)
    assert s2.of(fx.Bridge)[-1] == fx.Bridge(NODE, "c1", leg)
    s2.hangup(leg)
    s2.assert_journal_exact()
    assert s2.kinds(IX)[-1] == "ended" and s2.journal[-1].data["reason"] == "transferred"


def test_restart_after_the_target_leg_ended_recalls():
    s, _ = talking(queues=[a_queue(wrapup=0)])
    transfer(s)
    s2 = restarted(s, alive={"c1"})
    assert s2.kinds(IX)[-3:] == ["transfer_failed", "recalled", "offered"]
    assert s2.originates()[-1].variables["cc_agent"] == "alice"
    s2.assert_journal_exact()


def test_restart_while_parked_waits_out_the_rest_or_recalls_at_once():
    s, _ = talking(tenants=[a_tenant(park_timeout=60)], queues=[a_queue(wrapup=0)])
    s.send(ev.CallPark("alice", s.now))
    s.advance(20)
    s2 = restarted(s, alive={"c1"})
    assert ix_state(s2) == "parked" and s2.timers[f"park:{IX}"] == s2.engine.calls[IX].deadline
    assert len(music_to(s2, "c1", s2.effects[len(s.effects):])) == 1
    s2.advance(40)
    assert s2.kinds(IX)[-2:] == ["recalled", "offered"]
    s.timers.clear()                                            # the same call, the engine away too long:
    s.now += timedelta(seconds=60)                              # its park timer never fired
    s3 = restarted(s, alive={"c1"})
    assert s3.kinds(IX)[-2:] == ["recalled", "offered"]
    s3.assert_journal_exact()


def test_restart_of_a_transferred_call_ends_it_once_when_a_side_hangs_up():
    s, _ = talking()
    transfer(s)
    leg = target_leg(s)
    s.answer(leg)
    s.send(ev.Bridged(NODE, "c1", leg, s.now))
    s2 = restarted(s, alive={"c1", leg})
    assert s2.engine.calls[IX].transferred and s2.state("alice") == "available"
    s2.hangup("c1")
    s2.assert_journal_exact()
    assert s2.kinds(IX)[-2:] == ["talk_ended", "ended"] and s2.journal[-1].data["reason"] == "transferred"


@pytest.mark.parametrize("move", ["transfer", "park"])
def test_restart_without_the_store_rebuilds_a_moved_call_from_its_channel(move):
    s, _ = talking(queues=[a_queue(wrapup=0)])
    if move == "transfer":
        transfer(s)
        alive = {"c1", target_leg(s)}
    else:
        s.send(ev.CallPark("alice", s.now))
        alive = {"c1"}
    s2 = restarted(s, alive=alive, with_store=False)
    ix = s2.engine.calls[IX]
    assert ix.state.value == ("transferring" if move == "transfer" else "parked")
    assert ix.recall_agent == "alice" and ix.deadline is not None
    s2.login("alice")                                           # without the store nobody is logged in
    s2.advance(25 if move == "transfer" else 125)
    rows = [j for j in s2.journal if j.interaction == IX]
    n = [r.kind for r in rows].index("recalled")
    assert rows[n + 1].kind == "offered" and rows[n + 1].agent == "alice"
    s2.assert_journal_exact()


def test_restart_after_a_talk_whose_agent_hung_up_unseen_ends_it_and_never_requeues_the_caller():
    """park_after_bridge keeps a caller whose agent hung up while the engine was away; its
    channel still names the agent leg as its bridge partner: that was a talk, now over."""
    import itertools
    import random
    from dataclasses import replace

    from engine.recovery import recover
    from tests.engine.test_recovery import channels_of, store_of

    s = Scenario(a_deployment(agents=[an_agent("alice"), an_agent("bob")]))
    s.login("alice", "bob")
    s.call("c1")
    leg = s.originates()[0].leg_uuid
    s.answer(leg)                                              # bridged; its CHANNEL_BRIDGE was lost
    s.advance(30)
    caller = [replace(c, bridged_to=leg) for c in channels_of(s, {"c1"})]
    agents, calls = store_of(s)
    counter = itertools.count(100)
    eng, effects = recover(s.deployment, {NODE: caller}, agents, calls, at=s.now, rng=random.Random(1),
                           new_id=lambda kind: f"{kind}-{next(counter)}")
    kinds = [e.kind for e in effects if isinstance(e, fx.Journal)]
    assert kinds == ["bridged", "talk_ended", "wrapup_end", "ended"]
    assert fx.Hangup(NODE, "c1") in effects and not [e for e in effects if isinstance(e, fx.Originate)]


def test_a_caller_we_hung_up_that_the_node_still_has_at_a_resync_is_hung_up_again():
    """Our hang-up of a caller kept by park_after_bridge was lost with the Event Socket:
    the resync hangs it up again (it would otherwise wait parked forever)."""
    from tests.engine.test_recovery import channels_of

    s, leg = talking(confirm_hangups=False)
    s.hangup(leg)                                              # talk over: we hang the caller up
    s.send(ev.NodeLost(NODE, s.now))
    out = s.send(ev.NodeResynced(NODE, tuple(channels_of(s, {"c1"})), s.now))
    assert fx.Hangup(NODE, "c1") in out and s.kinds().count("arrived") == 1
    s.hangup("c1")
    assert "c1" not in s.engine.cancelled
    s.assert_journal_exact()


def test_after_a_transfer_to_another_agencys_queue_the_operator_wraps_up_by_her_own_queue():
    """The operator's wrap-up belongs to the queue she answered in: its length, the console's
    countdown and the end of it do not follow the caller to the other agency's queue, nor
    end with that call; her result code goes on the interaction while it lives."""
    from dataclasses import replace

    from engine import views
    from engine.config import Reason

    queues = [a_queue("sales", tenant="acme", wrapup=30), a_queue("orders", tenant="vest", wrapup=0)]
    agents = [an_agent("alice", queues={"sales": 1}), an_agent("bob", queues={"orders": 1})]
    deployment = a_deployment(queues=queues, agents=agents)
    deployment = replace(deployment, result_codes=(Reason("done", "Ferdig", "Done"),))
    s = Scenario(deployment)
    s.login("alice", "bob")
    s.send(ev.AgentPause("bob", "lunch", s.now))
    s.call("c1", queue="sales")
    s.talk("c1", "alice")
    moved = s.now
    assert refusals(s.send(ev.CallTransfer("alice", "orders", s.now, kind="queue", name="Orders"))) == []
    view = views.console(s.engine, "alice")
    assert view["state"] == "wrap_up"
    assert (view["wrapup_until"], view["wrapup_seconds"]) == ((moved + timedelta(seconds=30)).isoformat(), 30)
    assert view["call"]["wrapup_until"] == view["wrapup_until"]
    # bob of the other agency answers; the caller hangs up; bob's wrap-up (0 s) ends the interaction
    s.send(ev.AgentResume("bob", s.now))
    s.advance(5)
    s.talk("c1", "bob")
    s.advance(5)
    s.hangup("c1")
    assert s.kinds(IX)[-1] == "ended" and IX not in s.engine.calls
    view = views.console(s.engine, "alice")          # the call is gone: her wrap-up is not
    assert view["state"] == "wrap_up" and view["wrapup_seconds"] == 30
    assert view["wrapup_until"] == (moved + timedelta(seconds=30)).isoformat()
    assert fx.CancelTimer("wrapup:alice") in s.send(ev.WrapUpEnd("alice", s.now, "done"))
    assert s.state("alice") == "available"
    assert [r.kind for r in s.journal if r.kind == "wrapup_end"] == ["wrapup_end"]   # bob's, once
    s.assert_journal_exact()


def moved_to_another_agency(sales_wrapup: float, orders_wrapup: float) -> Scenario:
    """alice (acme's sales) answered c1 and sent it to vest's orders queue, where bob
    (paused) waits; alice is in her wrap-up."""
    queues = [a_queue("sales", tenant="acme", wrapup=sales_wrapup),
              a_queue("orders", tenant="vest", wrapup=orders_wrapup)]
    agents = [an_agent("alice", queues={"sales": 1}), an_agent("bob", queues={"orders": 1})]
    s = Scenario(a_deployment(queues=queues, agents=agents))
    s.login("alice", "bob")
    s.send(ev.AgentPause("bob", "lunch", s.now))
    s.call("c1", queue="sales")
    s.talk("c1", "alice")
    s.send(ev.CallTransfer("alice", "orders", s.now, kind="queue", name="Orders"))
    return s


def test_the_operators_wrap_up_ending_never_closes_the_call_another_agent_wraps_up():
    s = moved_to_another_agency(10, 60)
    s.send(ev.AgentResume("bob", s.now))
    s.talk("c1", "bob")
    s.hangup("c1")                                   # bob wraps up (60 s), alice's 10 s end first
    s.advance(10)
    assert s.state("alice") == "available" and s.state("bob") == "wrap_up"
    assert IX in s.engine.calls and "wrapup_end" not in s.kinds(IX)
    s.advance(50)
    assert s.state("bob") == "available" and s.kinds(IX)[-2:] == ["wrapup_end", "ended"]
    assert [r.agent for r in s.journal if r.kind == "wrapup_end"] == ["bob"]
    s.assert_journal_exact()

"""Restart and Event Socket reconnect: waiting, ringing and talking calls survive; the journal stays exact."""
from __future__ import annotations

import itertools
import random
from datetime import timedelta

from engine import effects as fx
from engine import events as ev
from engine.recovery import recover

from tests.engine.builders import NODE, Scenario, a_deployment, a_queue, an_agent


def store_of(s: Scenario) -> tuple[list[dict], list[dict]]:
    """What the runtime would have upserted from the Notify snapshots."""
    agents, calls = {}, {}
    for n in s.of(fx.Notify):
        if n.topic == "agent_changed":
            agents[n.payload["agent"]] = n.payload
        elif n.topic == "interaction_changed":
            calls[n.payload["id"]] = n.payload
    return list(agents.values()), [c for c in calls.values() if not c["ended"]]


def channels_of(s: Scenario, alive: set[str], answered: set[str] = frozenset()) -> list[ev.ChannelSnapshot]:
    """The node's channels as `show channels` + cc_* variables would give them."""
    variables: dict[str, dict] = {}
    for e in s.effects:
        if isinstance(e, fx.SetVariables):
            variables.setdefault(e.uuid, {}).update(e.variables)
        elif isinstance(e, fx.Originate):
            variables.setdefault(e.leg_uuid, {}).update(e.variables)
    bridged = {}
    for b in s.of(fx.Bridge):
        bridged[b.a_uuid], bridged[b.b_uuid] = b.b_uuid, b.a_uuid
    out = []
    for uuid in sorted(alive):
        out.append(ev.ChannelSnapshot(
            node=NODE, uuid=uuid, state="ACTIVE", answered=uuid in answered or uuid in bridged,
            destination="22000000", caller_number="4791234567", caller_name="Kari", created_at=s.now,
            bridged_to=bridged.get(uuid, "") if uuid in alive and bridged.get(uuid) in alive else "",
            variables=variables.get(uuid, {})))
    return out


def restarted(s: Scenario, alive: set[str], answered=frozenset(), with_store=True) -> Scenario:
    agents, calls = store_of(s) if with_store else ([], [])
    counter = itertools.count(100)
    eng, effects = recover(s.deployment, {NODE: channels_of(s, alive, answered)}, agents, calls, at=s.now,
                           rng=random.Random(1), new_id=lambda kind: f"{kind}-{next(counter)}")
    errors = [e.payload for e in effects if isinstance(e, fx.Notify) and e.topic == "engine_error"]
    assert not errors, errors                        # coming back breaks no rule of the state tables
    s2 = Scenario(s.deployment, engine=eng, now=s.now)
    s2.journal = list(s.journal)                     # the journal table survives the restart
    s2.effects = list(s.effects)
    s2.send_effects(effects)
    return s2


def answered_c1():
    """Caller c1 offered to alice (of two agents), her leg answered and parked: the bridge
    is asked, CHANNEL_BRIDGE not seen yet. (scenario, agent leg)"""
    s = Scenario(two_agents())
    s.login("alice", "bob")
    s.call("c1")
    leg = s.originates()[0].leg_uuid
    s.answer(leg)
    return s, leg


def two_agents(**queue_kw):
    return a_deployment(queues=[a_queue(**queue_kw)], agents=[an_agent("alice"), an_agent("bob")])


def paused_desk():
    s = Scenario(two_agents(wrapup=5))
    s.login("alice", "bob")
    for a in ("alice", "bob"):
        s.send(ev.AgentPause(a, "break", s.now))
    return s


def test_waiting_calls_keep_their_place_and_wait_time_after_restart():
    s = paused_desk()
    s.call("c1")
    s.advance(40)
    s.call("c2")
    s.advance(10)
    rows = len(s.journal)
    s2 = restarted(s, alive={"c1", "c2"})
    assert len(s2.journal) == rows                       # nothing journaled by coming back
    c1 = s2.engine.calls["interaction-1"]
    assert c1.state.value == "queued" and c1.waited(s2.now) == 50.0
    assert s2.engine.index.position(c1) == 1
    assert s2.state("alice") == "paused" and s2.engine.agents["alice"].registered
    assert "maxwait:interaction-1" in s2.timers
    s2.send(ev.AgentResume("alice", s2.now))
    assert s2.originates()[-1].variables["cc_caller_uuid"] == "c1"
    s2.answer(s2.originates()[-1].leg_uuid)
    s2.hangup("c1")
    s2.advance(5)
    s2.assert_journal_exact()
    assert [r.kind for r in s2.journal if r.interaction == "interaction-1"][-4:] == [
        "answered", "talk_ended", "wrapup_end", "ended"]


def test_talking_call_survives_restart_and_ends_exactly_once():
    s = Scenario(two_agents(wrapup=5))
    s.login("alice", "bob")
    s.call("c1")
    leg = s.originates()[0].leg_uuid
    agent = s.offered_agents()[0]
    s.answer(leg)
    s.advance(30)
    s2 = restarted(s, alive={"c1", leg})
    assert s2.engine.calls["interaction-1"].state.value == "connected"
    assert s2.state(agent) == "on_call"
    s2.advance(30)
    s2.hangup("c1")
    s2.advance(5)
    s2.assert_journal_exact()
    kinds = [r.kind for r in s2.journal if r.interaction == "interaction-1"]
    assert kinds.count("answered") == 1 and kinds[-3:] == ["talk_ended", "wrapup_end", "ended"]
    assert s2.journal[-3].data["talk"] == "60.000"
    assert s2.state(agent) == "available"


def test_ringing_agent_leg_is_kept_and_its_answer_bridges():
    s = Scenario(two_agents())
    s.login("alice", "bob")
    s.call("c1")
    leg = s.originates()[0].leg_uuid
    s2 = restarted(s, alive={"c1", leg})
    assert s2.engine.calls["interaction-1"].state.value == "offering"
    assert f"ring:{leg}" in s2.timers
    out = s2.answer(leg)
    assert fx.Bridge(NODE, "c1", leg) in out
    s2.assert_journal_exact()


def test_agent_answered_while_engine_was_down_is_bridged_on_restart():
    s = Scenario(two_agents())
    s.login("alice", "bob")
    s.call("c1")
    leg = s.originates()[0].leg_uuid
    s2 = restarted(s, alive={"c1", leg}, answered={leg})
    bridges = [e for e in s2.effects if isinstance(e, fx.Bridge)]
    # exactly one: a second uuid_bridge 10-40 ms after the first hangs up both legs (corpus 10)
    assert [(b.a_uuid, b.b_uuid) for b in bridges] == [("c1", leg)]
    assert s2.engine.calls["interaction-1"].state.value == "connected"
    s2.assert_journal_exact()


def test_a_second_resync_before_the_bridge_is_seen_does_not_bridge_again():
    s = Scenario(two_agents())
    s.login("alice", "bob")
    s.call("c1")
    leg = s.originates()[0].leg_uuid
    s.answer(leg)                                      # bridge asked; CHANNEL_BRIDGE not seen yet
    unbridged = tuple(ev.ChannelSnapshot(**{**c.__dict__, "bridged_to": ""})
                      for c in channels_of(s, alive={"c1", leg}))
    s.send(ev.NodeLost(NODE, s.now))
    out = s.send(ev.NodeResynced(NODE, unbridged, s.now))
    assert not s.of(fx.Bridge, out)
    # not confirmed within a second (the uuid_bridge may have died with the socket): asked again, once
    again = s.of(fx.Bridge, s.advance(1.0))
    assert [(b.a_uuid, b.b_uuid) for b in again] == [("c1", leg)]
    s.send(ev.Bridged(NODE, "c1", leg, s.now))
    assert not s.of(fx.Bridge, s.advance(10)) and s.kinds().count("bridged") == 1
    keys = [b.key for b in s.of(fx.Bridge)]
    assert len(keys) == len(set(keys)) == 2


def test_a_snapshot_showing_the_pair_bridged_confirms_the_bridge():
    s, leg = answered_c1()
    s.send(ev.NodeLost(NODE, s.now))
    s.send(ev.NodeResynced(NODE, tuple(channels_of(s, alive={"c1", leg})), s.now))
    assert s.kinds()[-1] == "bridged"
    assert not s.of(fx.Bridge, s.advance(5)) and len(s.of(fx.Bridge)) == 1


def test_bridge_asked_before_a_restart_is_not_asked_again_at_once_after_it():
    s, leg = answered_c1()
    agents, calls = store_of(s)
    assert calls[0]["bridge_at"] == s.now and calls[0]["bridges"] == 1
    unbridged = [ev.ChannelSnapshot(**{**c.__dict__, "bridged_to": ""}) for c in channels_of(s, {"c1", leg})]
    eng, effects = recover(s.deployment, {NODE: unbridged}, agents, calls, at=s.now)
    assert not [e for e in effects if isinstance(e, fx.Bridge)]


def test_calls_gone_while_down_are_closed_exactly_once():
    s = Scenario(two_agents(wrapup=0))
    s.login("alice", "bob")
    for a in ("alice",):
        s.send(ev.AgentPause(a, "break", s.now))
    s.call("talking")
    leg = s.originates()[0].leg_uuid
    s.answer(leg)
    s.send(ev.Bridged(NODE, "talking", leg, s.now))
    s.call("waiting")
    s2 = restarted(s, alive=set())
    kinds = {ix: [r.kind for r in rows] for ix, rows in s2.interactions().items()}
    assert kinds["interaction-1"][-3:] == ["talk_ended", "wrapup_end", "ended"]
    assert kinds["interaction-3"][-2:] == ["abandoned", "ended"]
    assert not s2.engine.calls
    assert s2.state("bob") == "available"
    s2.assert_journal_exact()


def test_reconnect_resync_closes_vanished_calls_once_and_keeps_the_others():
    s = paused_desk()
    s.call("c1")
    s.call("c2")
    s.send(ev.NodeLost(NODE, s.now))
    s.send(ev.AgentResume("alice", s.now))
    assert s.originates() == []                          # no offers to a node we cannot see
    snap = tuple(channels_of(s, alive={"c2"}))
    s.send(ev.NodeResynced(NODE, snap, s.now))
    s.send(ev.NodeResynced(NODE, snap, s.now))
    assert s.kinds("interaction-1")[-2:] == ["abandoned", "ended"]
    assert s.kinds("interaction-1").count("ended") == 1
    assert s.originates()[-1].variables["cc_caller_uuid"] == "c2"
    s.assert_journal_exact()


def test_without_a_store_waiting_calls_are_adopted_from_channel_variables():
    s = paused_desk()
    s.call("c1")
    s.advance(25)
    s2 = restarted(s, alive={"c1"}, with_store=False)
    ix = s2.engine.calls["interaction-1"]
    assert ix.state.value == "queued" and ix.waited(s2.now) == 25.0
    assert ix.seq == int(channels_of(s, {"c1"})[0].variables["cc_seq"])


def test_orphan_agent_leg_whose_caller_is_gone_is_hung_up():
    s = Scenario(two_agents())
    s.login("alice", "bob")
    s.call("c1")
    leg = s.originates()[0].leg_uuid
    s2 = restarted(s, alive={leg}, with_store=False)
    assert fx.Hangup(NODE, leg, "ORIGINATOR_CANCEL") in s2.effects[-10:]


def test_fresh_parked_call_found_at_resync_is_taken_over():
    s = Scenario(two_agents())
    s.login("alice", "bob")
    snap = ev.ChannelSnapshot(NODE, "new-1", "ACTIVE", False, "22000000", "4790000000", "Ola", s.now)
    s.send(ev.NodeResynced(NODE, (snap,), s.now))
    assert s.kinds()[:2] == ["arrived", "entered_queue"] and len(s.originates()) == 1


def test_caller_in_the_notice_when_engine_died_hears_it_again_and_is_queued():
    from tests.engine.builders import a_tenant
    s = Scenario(a_deployment(tenants=[a_tenant(recording_notice="recorded.wav")]))
    s.login("alice")
    s.call("c1")
    s2 = restarted(s, alive={"c1"})
    assert s2.effects[-1] != s.effects[-1]
    assert fx.Play(NODE, "c1", "recorded.wav") in s2.effects[len(s.effects):]
    s2.played("c1", "recorded.wav")
    assert s2.kinds("interaction-1") == ["arrived", "notice_played", "entered_queue", "offered"]
    s2.assert_journal_exact()


def test_waiting_caller_gets_music_again_after_restart():
    s = paused_desk()
    s.call("c1")
    s2 = restarted(s, alive={"c1"})
    new = s2.effects[len(s.effects):]
    assert fx.Play(NODE, "c1", "local_stream://moh", loop=True) in new
    assert new.index(fx.StopPlayback(NODE, "c1")) < new.index(fx.Play(NODE, "c1", "local_stream://moh", loop=True))


def test_calls_of_a_node_not_resynced_yet_are_not_offered_until_it_is():
    s = paused_desk()
    s.call("c1")
    agents, calls = store_of(s)
    eng, _ = recover(s.deployment, {}, agents, calls, at=s.now, new_id=lambda kind: f"{kind}-x")
    s2 = Scenario(s.deployment, engine=eng, now=s.now)
    s2.send(ev.AgentResume("alice", s2.now))
    assert s2.originates() == []
    s2.send(ev.NodeResynced(NODE, tuple(channels_of(s, {"c1"})), s2.now))
    assert s2.originates()[-1].variables["cc_caller_uuid"] == "c1"


def test_a_caller_missed_by_a_lagging_snapshot_is_taken_over_by_the_second_look():
    s = Scenario(two_agents())
    s.login("alice", "bob")
    s.call("c1")
    s.send(ev.NodeLost(NODE, s.now))
    s.send(ev.NodeResynced(NODE, tuple(channels_of(s, alive={"c1", s.originates()[0].leg_uuid})), s.now))
    late = ev.ChannelSnapshot(NODE, "c9", "ACTIVE", False, "22000000", "4790000009", "Ola", s.now)
    known = channels_of(s, alive={"c1"})[0]
    out = s.send(ev.ChannelsFound(NODE, (late, known), s.now))
    assert [o.variables["cc_caller_uuid"] for o in s.originates(out)] == ["c9"]
    assert s.kinds(s.engine.by_leg["c9"])[:2] == ["arrived", "entered_queue"]
    assert s.send(ev.ChannelsFound(NODE, (late,), s.now)) == []     # known now: nothing twice
    s.assert_journal_exact()


def test_the_second_look_never_adopts_a_talking_caller_nor_acts_on_a_down_node():
    s = Scenario(two_agents())
    s.login("alice", "bob")
    talking = ev.ChannelSnapshot(NODE, "c7", "ACTIVE", True, "22000000", "4790000007", "Ola", s.now,
                                 variables={"cc_interaction_id": "old-1", "cc_queue": "sales",
                                            "cc_state": "connected", "cc_agent": "alice", "cc_agent_uuid": "a7"})
    assert not s.of(fx.Journal, s.send(ev.ChannelsFound(NODE, (talking,), s.now)))
    assert "old-1" not in s.engine.calls
    s.send(ev.NodeLost(NODE, s.now))
    fresh = ev.ChannelSnapshot(NODE, "c8", "ACTIVE", False, "22000000", "4790000008", "Ola", s.now)
    assert s.send(ev.ChannelsFound(NODE, (fresh,), s.now)) == []


def test_an_unconfirmed_bridge_found_at_a_resync_is_asked_again_a_gap_after_the_first():
    s = Scenario(two_agents())
    s.login("alice", "bob")
    s.call("c1")
    leg = s.originates()[0].leg_uuid
    s.answer(leg)                                      # the uuid_bridge died with the socket
    s.send(ev.NodeLost(NODE, s.now))
    s.advance(0.05)
    unbridged = tuple(ev.ChannelSnapshot(**{**c.__dict__, "bridged_to": ""})
                      for c in channels_of(s, alive={"c1", leg}))
    assert not s.of(fx.Bridge, s.send(ev.NodeResynced(NODE, unbridged, s.now)))
    again = s.of(fx.Bridge, s.advance(0.06))           # 0.1 s after the first: they cannot meet in the switch
    assert [(b.a_uuid, b.b_uuid) for b in again] == [("c1", leg)]


def test_a_call_whose_legs_both_ended_while_down_is_journaled_as_ended_unseen():
    s = Scenario(two_agents(wrapup=0))
    s.login("alice", "bob")
    s.call("c1")
    leg = s.originates()[0].leg_uuid
    s.answer(leg)                                      # the engine died before CHANNEL_BRIDGE
    s2 = restarted(s, alive=set())
    kinds = s2.kinds("interaction-1")
    assert kinds[-3:] == ["talk_ended", "wrapup_end", "ended"] and "abandoned" not in kinds
    assert s2.journal[-3].data["by"] == "unseen"
    s2.assert_journal_exact()


def test_a_finished_calls_caller_kept_by_park_after_bridge_is_hung_up_not_adopted_after_a_kill():
    """The agent hung up; the caller, kept by park_after_bridge, parked; the engine closed the
    interaction (talk_ended, wrap-up, ended: in the store) and was SIGKILLed before its hang-up
    of the caller reached FreeSWITCH. The caller's channel still says cc_state=connected and
    names the agent's leg as its bridge partner. Adopting it would write a second talk and
    `ended` for a closed interaction and put the agent back on a call they left (then offer
    them one while on another): the caller is hung up, nothing else."""
    s = Scenario(two_agents())
    s.login("alice", "bob")
    s.call("c1")
    leg = s.originates()[0].leg_uuid
    s.answer(leg)
    s.send(ev.Bridged(NODE, "c1", leg, s.now))
    s.advance(30)
    s.hangup(leg)                                          # the agent hangs up; talk_end hangs up c1 ...
    assert s.kinds("interaction-1")[-1] == "ended"
    s.call("c2")                                           # ... and a next call is talking
    leg2 = s.originates()[-1].leg_uuid
    s.answer(leg2)
    s.send(ev.Bridged(NODE, "c2", leg2, s.now))
    agents, calls = store_of(s)
    caller = next(c for c in channels_of(s, {"c1"}) if c.uuid == "c1")
    caller = ev.ChannelSnapshot(**{**caller.__dict__, "bridged_to": leg})   # bridge_uuid stays after the bridge
    counter = itertools.count(100)
    eng, effects = recover(s.deployment, {NODE: [caller, *channels_of(s, {"c2", leg2})]}, agents, calls,
                           at=s.now, rng=random.Random(1), new_id=lambda kind: f"{kind}-{next(counter)}",
                           closed={"interaction-1"})
    assert [e for e in effects if isinstance(e, fx.Journal) and e.interaction == "interaction-1"] == []
    assert "interaction-1" not in eng.calls
    assert [h.uuid for h in effects if isinstance(h, fx.Hangup)] == ["c1"]
    assert {a: eng.agents[a].state.value for a in ("alice", "bob")} == {a["agent"]: a["state"] for a in agents}
    assert sorted(a.leg for a in eng.agents.values() if a.state.value == "on_call") == [leg2]


def test_an_operators_wrap_up_after_a_transfer_to_another_queue_keeps_its_own_length_across_a_restart():
    """Her wrap-up is the queue's she answered in (30 s), not the one the caller went to (0 s)."""
    from tests.engine.test_transfer import moved_to_another_agency
    s = moved_to_another_agency(30, 0)
    moved = s.now
    s.advance(10)
    s2 = restarted(s, alive={"c1"})
    assert s2.engine.agents["alice"].wrapup_queue == "sales"
    timers = [e for e in s2.effects if isinstance(e, fx.ScheduleTimer) and e.key == "wrapup:alice"]
    assert timers and timers[-1].at == moved + timedelta(seconds=30)


def test_an_offer_never_sent_because_the_socket_dropped_costs_neither_agent_nor_caller_a_turn():
    """The agent's phone registered again and an offer went out just as the Event Socket
    dropped (before its NodeLost was delivered): the originate was never sent. That is no
    busy agent: no back-off, she stays first choice, and the node's resync offers the call
    again at once."""
    s = Scenario(a_deployment(queues=[a_queue(busy_delay=30)], agents=[an_agent("alice")]))
    s.login("alice")
    s.call("c1")
    leg = s.originates()[0].leg_uuid
    out = s.fail(leg, "ESL_NOT_CONNECTED")
    assert s.state("alice") == "available" and not s.originates(out), "nothing offered to a node that is away"
    s.send(ev.NodeLost(NODE, s.now))
    again = s.originates(s.send(ev.NodeResynced(NODE, tuple(channels_of(s, alive={"c1"}, answered={"c1"})), s.now)))
    assert s.offered_agents(again) == ["alice"]


def test_a_busy_agent_still_waits_her_busy_delay_after_a_resync():
    s = Scenario(a_deployment(queues=[a_queue(busy_delay=30)], agents=[an_agent("alice")]))
    s.login("alice")
    s.call("c1")
    s.fail(s.originates()[0].leg_uuid, "USER_BUSY")
    s.send(ev.NodeLost(NODE, s.now))
    assert not s.originates(s.send(ev.NodeResynced(NODE, tuple(channels_of(s, alive={"c1"}, answered={"c1"})), s.now)))


def callback_offered(**queue_kw):
    """Caller c1 (4790000001) asked for a callback and hung up; alice, free again, is
    offered it: her leg rings, the callback leg is reserved, not dialled. (scenario, her leg)"""
    s = Scenario(a_deployment(queues=[a_queue(callback_enabled=True, callback_prompt="we-call-you.wav",
                                              **queue_kw)]))
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call("c1", number="4790000001")
    s.press("c1", "1")
    s.played("c1", "we-call-you.wav")
    s.hangup("c1")
    s.send(ev.AgentResume("alice", s.now))
    offered = s.originates()[-1]
    assert offered.variables["cc_callback"] == "1" and s.state("alice") == "offered"
    return s, offered.leg_uuid


def dials_of(s: Scenario, number: str = "4790000001") -> list[fx.Originate]:
    """Originates that call the caller back (not an agent's phone)."""
    return [o for o in s.originates() if o.destination == number and not o.sip_user]


def called_back_to_the_end(s: Scenario) -> None:
    """The next offer of interaction-1 is answered by alice, the caller answers the
    callback, they talk and hang up: the callback ends completed, the journal exact."""
    offer = s.originates()[-1]
    assert offer.sip_user == "sip-alice" and offer.variables["cc_callback"] == "1"
    back = s.originates(s.answer(offer.leg_uuid))
    assert [o.destination for o in back] == ["4790000001"]
    assert back[0].leg_uuid == offer.variables["cc_caller_uuid"]   # the leg reserved at the offer is dialled
    s.answer(back[0].leg_uuid)
    s.send(ev.Bridged(NODE, back[0].leg_uuid, offer.leg_uuid, s.now))
    s.advance(20)
    s.hangup(back[0].leg_uuid)
    s.advance(30)
    kinds = s.kinds("interaction-1")
    assert kinds[-4:] == ["callback_connected", "talk_ended", "wrapup_end", "ended"] or \
        kinds[-5:] == ["callback_connected", "bridged", "talk_ended", "wrapup_end", "ended"], kinds
    assert "callback_failed" not in kinds
    assert s.journal[-1].data["reason"] == "completed"
    s.assert_journal_exact()


def test_a_callback_offered_when_the_engine_died_whose_agent_leg_is_gone_waits_for_its_callback_again():
    s, leg = callback_offered(busy_delay=30)
    place = s.engine.calls["interaction-1"].position_at
    s.advance(5)
    s2 = restarted(s, alive=set())                      # her leg ended while we were away
    ix = s2.engine.calls["interaction-1"]
    assert ix.state.value == "callback" and ix.position_at == place and s2.engine.index.position(ix) == 1
    assert not ix.callback_leg                          # the reserved leg was never dialled: nothing to fail
    kinds = s2.kinds("interaction-1")
    assert kinds[-1] == "offer_failed" and "callback_failed" not in kinds and "ended" not in kinds
    assert not dials_of(s2)                              # nobody called the caller
    s2.assert_journal_exact()
    s2.advance(30)                                       # alice's back-off over: offered to her again
    assert s2.engine.calls["interaction-1"].state.value == "callback_offering"
    called_back_to_the_end(s2)


def test_a_callback_still_ringing_its_agent_after_a_restart_dials_the_caller_when_she_answers():
    s, leg = callback_offered()
    s.advance(5)
    s2 = restarted(s, alive={leg})
    ix = s2.engine.calls["interaction-1"]
    assert ix.state.value == "callback_offering" and ix.legs == {leg: "alice"}
    assert s2.state("alice") == "offered" and f"ring:{leg}" in s2.timers
    assert "callback_failed" not in s2.kinds("interaction-1") and not dials_of(s2)
    called_back_to_the_end(s2)


def test_a_callback_whose_agent_leg_fails_after_a_restart_waits_for_its_callback_again():
    s, leg = callback_offered(busy_delay=30)
    s2 = restarted(s, alive={leg})
    s2.fail(leg, "USER_BUSY")
    ix = s2.engine.calls["interaction-1"]
    assert ix.state.value == "callback" and not ix.callback_leg
    assert s2.kinds("interaction-1")[-1] == "busy"
    s2.advance(30)
    called_back_to_the_end(s2)


def test_a_restart_after_a_callback_offer_failed_keeps_the_callback_waiting():
    s, leg = callback_offered(busy_delay=30)
    s.fail(leg, "USER_BUSY")
    ix = s.engine.calls["interaction-1"]
    assert ix.state.value == "callback" and not ix.callback_leg   # the reserved leg goes with the offer
    s.send(ev.AgentPause("alice", "break", s.now))      # nobody free when the engine comes back
    s.advance(10)
    s2 = restarted(s, alive=set())
    ix = s2.engine.calls["interaction-1"]
    assert ix.state.value == "callback" and s2.engine.index.position(ix) == 1
    assert "callback_failed" not in s2.kinds("interaction-1") and not dials_of(s2)
    s2.assert_journal_exact()
    s2.send(ev.AgentResume("alice", s2.now))
    assert not s2.originates(s2.advance(19)), "her busy delay (30 s) survives the restart"
    s2.advance(1)
    called_back_to_the_end(s2)


def test_a_callback_stored_with_a_stale_reserved_leg_is_recovered_waiting():
    """A store written before the reserved leg was released with a failed offer: the
    record in state callback still names it. It was never dialled: nothing fails."""
    s, leg = callback_offered(busy_delay=30)
    s.fail(leg, "USER_BUSY")
    s.send(ev.AgentPause("alice", "break", s.now))
    agents, calls = store_of(s)
    stale = [dict(c, callback_leg="leg-2") if c["id"] == "interaction-1" else c for c in calls]
    eng, effects = recover(s.deployment, {NODE: []}, agents, stale, at=s.now,
                           rng=random.Random(1), new_id=lambda kind: f"leg-x{kind}")
    assert not [e for e in effects if isinstance(e, fx.Notify) and e.topic == "engine_error"]
    ix = eng.calls["interaction-1"]
    assert ix.state.value == "callback" and not ix.callback_leg and "leg-2" not in eng.by_leg
    assert not [e for e in effects if isinstance(e, fx.Journal)]


def test_a_callback_offer_given_up_by_a_pause_releases_its_reserved_leg_across_a_restart():
    s, leg = callback_offered()
    s.send(ev.AgentPause("alice", "break", s.now))      # she leaves the offer: it is cancelled
    ix = s.engine.calls["interaction-1"]
    assert ix.state.value == "callback" and not ix.callback_leg
    s2 = restarted(s, alive=set())
    assert s2.engine.calls["interaction-1"].state.value == "callback"
    assert "callback_failed" not in s2.kinds("interaction-1") and not dials_of(s2)
    s2.send(ev.AgentResume("alice", s2.now))
    called_back_to_the_end(s2)


def test_a_busy_agents_delay_survives_a_restart_and_ends_when_it_would_have():
    """Her busy delay (30 s) is in the stored agent record: a restarted engine does not
    offer her the waiting caller before it is over, and offers at once when it is."""
    s = Scenario(a_deployment(queues=[a_queue(busy_delay=30)], agents=[an_agent("alice")]))
    s.login("alice")
    s.call("c1")
    s.fail(s.originates()[0].leg_uuid, "USER_BUSY")
    s.advance(10)
    s2 = restarted(s, alive={"c1"}, answered={"c1"})
    assert s2.engine.agents["alice"].ready_at == s.now + timedelta(seconds=20)
    assert not s2.originates(s2.advance(19))
    assert s2.offered_agents(s2.advance(1)) == ["alice"]
    s2.assert_journal_exact()

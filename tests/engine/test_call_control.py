"""Call control as effects: the agent leg, the bridge, ghost-call prevention, recovery variables."""
from __future__ import annotations

from engine import effects as fx
from engine import events as ev

from tests.engine.builders import NODE, Scenario, a_deployment, a_queue, a_tenant, an_agent


def started(confirm_hangups=True, **kw):
    s = Scenario(a_deployment(**kw), confirm_hangups=confirm_hangups)
    s.login(*s.deployment.agents)
    return s


def test_agent_leg_shows_caller_number_and_agency_queue_and_names_the_caller_leg():
    s = started(tenants=[a_tenant(caller_id_name="Helsedir.")])
    s.call("caller-1", number="4791234567")
    o = s.originates()[0]
    assert (o.node, o.sip_user, o.caller_id_number, o.caller_id_name) == (NODE, "sip-alice", "4791234567",
                                                                           "Helsedir. - Sales")
    assert o.leg_uuid == "leg-2" and o.timeout == 20.0
    assert o.variables["cc_caller_uuid"] == "caller-1"
    assert o.variables["cc_interaction_id"] == "interaction-1"


def test_the_agency_is_shown_first_and_never_behind_a_slash():
    s = started(tenants=[a_tenant(caller_id_name="NAV/Oslo")], queues=[a_queue(name="Lønn/Personal")])
    s.call()
    name = s.originates()[0].caller_id_name
    assert "/" not in name and name.startswith("NAV-Oslo") and name.endswith("Lønn-Personal")


def test_caller_leg_carries_everything_needed_to_recover():
    s = started()
    s.call("caller-1", cc_priority="3")
    merged = {}
    for sv in s.of(fx.SetVariables):
        assert sv.uuid == "caller-1"
        merged.update(sv.variables)
    for name in ("cc_tenant", "cc_queue", "cc_interaction_id", "cc_entered_at", "cc_priority",
                 "cc_state", "cc_queue_entered_at", "cc_seq"):
        assert merged[name], name
    assert merged["cc_priority"] == "3" and merged["cc_state"] == "queued"
    s.answer(s.leg_of("alice"))
    assert s.of(fx.SetVariables)[-1].variables["cc_agent_uuid"] == s.leg_of("alice")


def test_caller_hangs_up_while_agent_rings_then_agent_leg_hung_up_no_ghost_call():
    s = started()
    s.call()
    leg = s.leg_of("alice")
    out = s.hangup("caller-1")
    assert fx.Hangup(NODE, leg, "ORIGINATOR_CANCEL") in out
    assert s.state("alice") == "available"
    assert s.kinds() == ["arrived", "entered_queue", "offered", "offer_cancelled", "abandoned", "ended"]


def test_agent_answers_after_caller_left_then_hung_up_and_journal_unchanged():
    s = started(confirm_hangups=False)
    s.call()
    leg = s.leg_of("alice")
    s.hangup("caller-1")
    rows = len(s.journal)
    out = s.answer(leg)
    assert out[0] == fx.Hangup(NODE, leg, "ORIGINATOR_CANCEL")
    assert not s.of(fx.Bridge, out)
    assert s.state("alice") == "available" and len(s.journal) == rows
    s.hangup(leg)
    assert len(s.journal) == rows and leg not in s.engine.cancelled


def test_agent_hangs_up_connected_call_then_caller_hung_up_and_wrapup():
    s = started(queues=[a_queue(wrapup=10)])
    s.call()
    leg = s.leg_of("alice")
    s.answer(leg)
    s.send(ev.Bridged(NODE, "caller-1", leg, s.now))
    s.advance(42)
    out = s.hangup(leg)
    assert fx.Hangup(NODE, "caller-1") in out
    assert s.journal[-1].kind == "talk_ended" and s.journal[-1].data == {"by": "agent", "talk": "42.000"}
    s.hangup("caller-1")                               # FreeSWITCH confirms: no extra rows
    assert s.journal[-1].kind == "talk_ended"
    s.advance(10)
    assert s.kinds()[-2:] == ["wrapup_end", "ended"] and s.state("alice") == "available"
    assert s.engine.agents["alice"].talk_time == 42.0


def test_job_cancelled_by_the_bridge_after_answer_keeps_the_call_and_the_agent():
    """Corpus 09: uuid_bridge sent on CHANNEL_ANSWER while the originate job still runs ends
    the job -ERR ORIGINATOR_CANCEL, and the bridge is made all the same."""
    s = started(agents=[an_agent("alice"), an_agent("bob")])
    s.call()
    leg = s.originates()[0].leg_uuid
    agent = s.offered_agents()[0]
    s.answer(leg)
    rows = len(s.journal)
    out = s.fail(leg, "ORIGINATOR_CANCEL")
    assert not s.of(fx.Hangup, out) and not s.originates(out)
    assert s.state(agent) == "on_call" and len(s.journal) == rows
    s.send(ev.Bridged(NODE, "caller-1", leg, s.now))
    assert s.kinds()[-1] == "bridged"
    s.hangup("caller-1")                              # the call ends by its channels, once
    assert s.kinds().count("talk_ended") == 1
    s.assert_journal_exact()


def test_callback_leg_job_cancelled_by_its_bridge_keeps_the_callback_connected():
    s = Scenario(a_deployment(queues=[a_queue(callback_enabled=True, callback_prompt="we-call-you.wav")]))
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call("c1", number="4790000001")
    s.press("c1", "1")
    s.played("c1", "we-call-you.wav")
    s.hangup("c1")
    s.send(ev.AgentResume("alice", s.now))
    agent_leg = s.originates()[-1].leg_uuid
    back = s.originates(s.answer(agent_leg))[0].leg_uuid
    s.answer(back)
    out = s.fail(back, "ORIGINATOR_CANCEL")          # the bridge on its answer cancelled its job
    assert not s.of(fx.Hangup, out)
    assert s.engine.calls["interaction-1"].state.value == "connected" and s.state("alice") == "on_call"
    s.hangup(back)
    assert s.kinds()[-3:] == ["talk_ended", "wrapup_end", "ended"]
    s.assert_journal_exact()


def test_originate_failure_returns_the_call_to_the_queue():
    s = started(agents=[an_agent("alice"), an_agent("bob")])
    s.call()
    first = s.offered_agents()[0]
    s.fail(s.leg_of(first), "DESTINATION_OUT_OF_ORDER")
    assert s.kinds()[-2] == "offer_failed" and s.kinds()[-1] == "offered"
    assert s.engine.calls["interaction-1"].state.value == "offering"


def test_unknown_number_is_hung_up_and_journaled():
    s = Scenario(a_deployment())
    out = s.send(ev.CallParked(NODE, "x1", "99999999", "4790000000", "", s.now))
    assert fx.Hangup(NODE, "x1", "UNALLOCATED_NUMBER") in out
    s.hangup("x1")
    assert s.kinds() == ["arrived", "overflowed", "ended"]


def test_bridged_is_journaled_once_and_only_for_our_pair():
    s = started()
    s.call()
    leg = s.leg_of("alice")
    s.send(ev.Bridged(NODE, "caller-1", "someone-else", s.now))
    s.answer(leg)
    s.send(ev.Bridged(NODE, "caller-1", leg, s.now))
    s.send(ev.Bridged(NODE, leg, "caller-1", s.now))
    assert s.kinds().count("bridged") == 1


def test_caller_transferred_away_and_parked_again_is_a_new_interaction():
    from engine.config import Overflow, OverflowKind
    queues = [a_queue("sales", no_agents=Overflow(OverflowKind.TRANSFER, "22000001")), a_queue("night")]
    s = Scenario(a_deployment(queues=queues, agents=[an_agent("olav", queues={"night": 1})]))
    s.login("olav")
    s.call("c1", queue="sales")
    assert s.kinds()[-1] == "transferred"
    variables = {"cc_interaction_id": "interaction-1", "cc_entered_at": "2000-01-01T00:00:00+00:00", "cc_seq": "9"}
    s.send(ev.CallParked(NODE, "c1", "22000001", "4791234567", "Kari", s.now, variables=variables))
    assert s.kinds("interaction-1")[-1] == "ended"
    new = s.engine.calls[s.engine.by_leg["c1"]]
    assert new.id != "interaction-1" and new.position_at == s.now and new.queue == "night"
    assert s.offered_agents() == ["olav"]
    s.assert_journal_exact()


def test_an_event_breaking_a_table_rule_is_reported_not_raised():
    from engine.agents import AgentState
    s = started()
    s.call()
    s.engine.agents["alice"].state = AgentState.LOGGED_OUT      # corrupt state on purpose
    out = s.engine.handle(ev.LegAnswered(NODE, s.leg_of("alice"), s.now))
    errors = [e for e in out if isinstance(e, fx.Notify) and e.topic == "engine_error"]
    assert errors and errors[0].payload["error_id"] == "engine.illegal_transition"
    assert errors[0].payload["event"] == "LegAnswered"


def test_an_agent_who_leaves_before_the_bridge_sends_the_caller_back_to_their_place():
    s = started(agents=[an_agent("alice"), an_agent("bob")], queues=[a_queue(wrapup=0)])
    s.call("caller-1")
    first = s.offered_agents()[0]
    leg = s.leg_of(first)
    s.answer(leg)                                  # bridge asked, CHANNEL_BRIDGE not seen yet
    out = s.hangup(leg, "NORMAL_CLEARING")         # the agent is gone before the bridge
    assert fx.Hangup(NODE, "caller-1") not in out
    assert s.kinds()[-1] == "offered" and s.kinds()[-2] == "agent_left"
    other = s.offered_agents()[-1]
    assert other != first and s.engine.calls["interaction-1"].state.value == "offering"
    assert any(isinstance(e, fx.Play) and e.loop for e in out)        # music again meanwhile
    s.answer(s.leg_of(other))
    s.send(ev.Bridged(NODE, "caller-1", s.leg_of(other), s.now))
    s.hangup(s.leg_of(other))                      # now a real call: ends as one
    assert s.kinds().count("talk_ended") == 1 and s.kinds()[-1] == "ended"
    s.assert_journal_exact()


def test_no_new_call_rings_an_agent_until_their_last_leg_is_gone():
    """The caller hangs up a talking call: the agent's leg is hung up by us, and only when
    FreeSWITCH reports it gone may the agent's phone ring again (no double offer)."""
    s = started(confirm_hangups=False, queues=[a_queue(wrapup=0)])
    s.call("caller-1")
    leg = s.talk("caller-1", "alice")
    s.call("caller-2")                                # waits: alice is on the phone
    out = s.hangup("caller-1")
    assert fx.Hangup(NODE, leg) in out and not s.originates(out)
    assert s.state("alice") == "available" and not s.engine.agents["alice"].routable
    out = s.hangup(leg)                               # FreeSWITCH: the agent leg is gone
    assert [o.variables["cc_caller_uuid"] for o in s.originates(out)] == ["caller-2"]
    s.assert_journal_exact()


def test_an_agent_leg_never_reported_gone_frees_the_agent_after_a_resync_or_a_while():
    s = started(confirm_hangups=False, queues=[a_queue(wrapup=0)])
    s.call("caller-1")
    s.talk("caller-1", "alice")
    s.hangup("caller-1")
    s.call("caller-2")
    assert len(s.originates()) == 1
    waiting = ev.ChannelSnapshot(NODE, "caller-2", "ACTIVE", True, "22000000", "4791234567", "Kari", s.now)
    out = s.send(ev.NodeResynced(NODE, (waiting,), s.now))   # the node has no such agent leg any more
    assert [o.variables["cc_caller_uuid"] for o in s.originates(out)] == ["caller-2"]
    s.talk("caller-2", "alice")
    s.hangup("caller-2")
    s.call("caller-3")
    assert len(s.originates()) == 2
    out = s.advance(6)                                # LEG_DOWN_WAIT: taken as gone, with a warning
    assert [o.variables["cc_caller_uuid"] for o in s.originates(out)] == ["caller-3"]


def test_the_answer_stops_the_music_and_the_agent_legs_park_bridges():
    """Real FreeSWITCH: CHANNEL_ANSWER, 20 ms later the originate's result and the leg's
    park. A uuid_bridge before the park can leave the caller in a bridge the leg never
    joins (seen on a real switch), so the engine bridges on the park."""
    s = started()
    s.call("caller-1")
    leg = s.leg_of("alice")
    out = s.answer_only(leg)
    assert fx.StopPlayback(NODE, "caller-1") in out and not s.of(fx.Bridge, out)
    assert s.kinds()[-1] == "answered" and s.state("alice") == "on_call"
    out = s.send(ev.LegParked(NODE, leg, s.now))
    assert s.of(fx.Bridge, out) == [fx.Bridge(NODE, "caller-1", leg)]
    assert not s.of(fx.Bridge, s.send(ev.LegParked(NODE, leg, s.now)))      # once


def test_a_park_never_seen_is_covered_by_the_bridge_timer():
    s = started()
    s.call("caller-1")
    leg = s.leg_of("alice")
    s.answer_only(leg)                                # its park was lost with the Event Socket
    out = s.advance(1.0)
    assert s.of(fx.Bridge, out) == [fx.Bridge(NODE, "caller-1", leg)]

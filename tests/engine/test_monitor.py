"""Supervisor monitoring (listen / whisper / barge) and callbacks a supervisor creates:
pure engine scenarios on a virtual clock."""
from __future__ import annotations

import dataclasses

from engine import effects as fx
from engine import events as ev
from engine import monitor
from engine.config import NodeConfig
from engine.recovery import recover

from tests.engine.builders import NODE, Scenario, a_deployment, a_queue, an_agent

IX = "interaction-1"


def deployment(wrapup=0):
    return a_deployment(queues=[a_queue(wrapup=wrapup)],
                        agents=[an_agent("alice"), an_agent("bob"), an_agent("sue", queues={})])


def talking(wrapup=0) -> tuple[Scenario, str]:
    s = Scenario(deployment(wrapup))
    s.login("alice", "bob")
    s.call("c1")
    leg = s.talk("c1", s.offered_agents()[-1])
    return s, leg


def who(s: Scenario) -> str:
    return s.engine.calls[IX].agent


def notices(out, topic) -> list[dict]:
    return [dict(e.payload) for e in out if isinstance(e, fx.Notify) and e.topic == topic]


def refusals(out) -> list[str]:
    return [n["error_id"] for n in notices(out, "command_refused")]


def eavesdrops(out) -> list[fx.Eavesdrop]:
    return [e for e in out if isinstance(e, fx.Eavesdrop)]


def monitoring(mode="listen", wrapup=0) -> tuple[Scenario, str, str]:
    """sue listens to the talking agent's call, her phone answered."""
    s, agent_leg = talking(wrapup)
    out = s.send(ev.Monitor("sue", who(s), mode, s.now, by="boss"))
    (e,) = eavesdrops(out)
    s.send(ev.LegAnswered(NODE, e.leg_uuid, s.now))
    return s, agent_leg, e.leg_uuid


# -- start -----------------------------------------------------------------------------------------
def test_given_agent_talking_when_monitor_then_supervisor_phone_rung_into_eavesdrop_of_agent_leg():
    s, agent_leg = talking()
    out = s.send(ev.Monitor("sue", who(s), "whisper", s.now, by="boss"))
    (e,) = eavesdrops(out)
    assert (e.sip_user, e.target, e.mode, e.node) == ("sip-sue", agent_leg, "whisper", NODE)
    assert e.variables["cc_monitor"] == agent_leg and e.variables["cc_supervisor"] == "sue"
    assert e.variables["cc_monitor_mode"] == "whisper" and e.variables["cc_interaction_id"] == IX
    assert "cc_caller_uuid" not in e.variables                  # never taken for an agent leg
    assert not s.originates(out)
    assert monitor.active(s.engine)[0]["answered"] is False
    out = s.send(ev.LegAnswered(NODE, e.leg_uuid, s.now))
    (n,) = notices(out, "monitor_started")
    assert (n["supervisor"], n["agent"], n["mode"], n["interaction"]) == ("sue", who(s), "whisper", IX)
    row = s.journal[-1]
    assert row.kind == "monitor_started" and row.data["supervisor"] == "sue" and row.data["by"] == "boss"
    assert row.data["mode"] == "whisper"
    (view,) = monitor.active(s.engine)
    assert view["since"] == s.now.isoformat() and view["answered"]


def test_refusals_no_call_no_phone_self_mode_and_nothing_sent():
    s, _ = talking()
    idle = "bob" if who(s) == "alice" else "alice"
    cases = [(ev.Monitor("sue", idle, "listen", s.now), "monitor.no_call"),
             (ev.Monitor("nobody", who(s), "listen", s.now), "monitor.no_phone"),
             (ev.Monitor(who(s), who(s), "listen", s.now), "monitor.self"),
             (ev.Monitor("sue", who(s), "shout", s.now), "monitor.mode"),
             (ev.MonitorEnd("sue", s.now), "monitor.none")]
    for event, error in cases:
        out = s.send(event)
        assert refusals(out) == [error]
        assert notices(out, "command_refused")[0]["agent"] == event.supervisor
        assert not eavesdrops(out) and not s.of(fx.Hangup, out)
    assert monitor.active(s.engine) == []


def test_given_call_still_ringing_then_no_call_to_monitor():
    s = Scenario(deployment())
    s.login("alice")
    s.call("c1")
    assert refusals(s.send(ev.Monitor("sue", "alice", "listen", s.now))) == ["monitor.no_call"]


def test_given_supervisor_on_a_call_of_their_own_then_busy():
    s, _ = talking()
    s.login("sue")
    s.send(ev.AgentPause(who(s), "x", s.now))
    other = "bob" if who(s) == "alice" else "alice"
    s.send(ev.AgentPause(other, "x", s.now))
    dep_sue = s.engine.agents["sue"]
    assert dep_sue.state.value == "available"
    s.engine.agents["sue"].config = dataclasses.replace(dep_sue.config)  # sue serves no queue: no call for her
    assert refusals(s.send(ev.Monitor("sue", who(s), "listen", s.now))) == []
    assert refusals(s.send(ev.Monitor("sue", other, "listen", s.now))) == ["monitor.busy"]


# -- mode changes ----------------------------------------------------------------------------------
def test_mode_change_sends_the_switch_to_the_supervisor_leg_and_journals():
    s, _, leg = monitoring("listen")
    out = s.send(ev.Monitor("sue", who(s), "barge", s.now, by="boss"))
    assert fx.EavesdropMode(NODE, leg, "barge") in out
    assert fx.SetVariables(NODE, leg, {"cc_monitor_mode": "barge"}) in out
    assert notices(out, "monitor_changed")[0]["mode"] == "barge"
    assert s.journal[-1].kind == "monitor_changed" and s.journal[-1].data["mode"] == "barge"
    assert s.send(ev.Monitor("sue", who(s), "barge", s.now)) == [] or \
        not [e for e in s.effects[-3:] if isinstance(e, fx.EavesdropMode) and e.mode != "barge"]


def test_mode_changed_while_ringing_is_switched_on_answer():
    s, _ = talking()
    (e,) = eavesdrops(s.send(ev.Monitor("sue", who(s), "listen", s.now)))
    s.send(ev.Monitor("sue", who(s), "whisper", s.now))
    out = s.send(ev.LegAnswered(NODE, e.leg_uuid, s.now))
    assert fx.EavesdropMode(NODE, e.leg_uuid, "whisper") in out
    assert notices(out, "monitor_started")[0]["mode"] == "whisper"


def test_monitor_of_another_agent_while_monitoring_is_refused():
    s, _, _ = monitoring()
    assert refusals(s.send(ev.Monitor("sue", "bob" if who(s) == "alice" else "alice", "listen", s.now))) \
        == ["monitor.busy"]


# -- the end ---------------------------------------------------------------------------------------
def test_supervisor_hangs_up_then_ended_and_the_call_goes_on():
    s, agent_leg, leg = monitoring()
    out = s.hangup(leg)
    assert notices(out, "monitor_ended")[0]["cause"] == "supervisor"
    assert s.journal[-1].kind == "monitor_ended" and not s.of(fx.Hangup, out)
    assert s.engine.calls[IX].state.value == "connected" and monitor.active(s.engine) == []


def test_monitor_end_hangs_the_supervisor_leg_up_and_its_hangup_is_nothing_new():
    s, _, leg = monitoring()
    out = s.send(ev.MonitorEnd("sue", s.now, by="boss"))
    assert fx.Hangup(NODE, leg, "NORMAL_CLEARING") in out
    assert notices(out, "monitor_ended")[0]["cause"] == "stopped"
    assert s.journal[-1].kind == "monitor_ended" and s.journal[-1].data["by"] == "boss"
    before = len(s.journal)
    s.send(ev.CallParked(NODE, leg, "", "", "", s.now))
    s.hangup(leg)
    assert len(s.journal) == before and IX in s.engine.calls and len(s.engine.calls) == 1


def test_call_ends_then_monitor_ends_before_the_ended_row_and_supervisor_hung_up():
    s, _, leg = monitoring()
    out = s.hangup("c1")
    assert fx.Hangup(NODE, leg, "NORMAL_CLEARING") in out
    kinds = s.kinds(IX)
    assert kinds[-2:] == ["monitor_ended", "ended"] and "talk_ended" in kinds
    assert notices(out, "monitor_ended")[0]["cause"] == "call_ended"
    s.assert_journal_exact()


def test_call_ends_with_wrap_up_then_monitor_ended_at_the_talk_end():
    s, agent_leg, leg = monitoring(wrapup=30)
    out = s.hangup(agent_leg)
    assert fx.Hangup(NODE, leg, "NORMAL_CLEARING") in out
    assert s.kinds(IX)[-2:] == ["talk_ended", "monitor_ended"]


def test_blind_transfer_moves_the_call_away_from_the_agent_leg_then_monitor_ends():
    s, agent_leg, leg = monitoring()
    out = s.send(ev.CallTransfer(who(s), "1002", s.now, kind="user"))
    assert fx.Hangup(NODE, leg, "NORMAL_CLEARING") in out
    assert notices(out, "monitor_ended")[0]["cause"] == "call_moved"
    assert s.engine.calls[IX].state.value == "transferring"


def test_park_moves_the_call_then_monitor_ends():
    s, _, leg = monitoring()
    out = s.send(ev.CallPark(who(s), s.now))
    assert notices(out, "monitor_ended")[0]["cause"] == "call_moved"


def test_hold_and_consult_keep_the_monitor():
    s, agent_leg, leg = monitoring()
    s.advance(5)
    s.send(ev.CallHold(who(s), True, s.now))
    s.send(ev.CallHold(who(s), False, s.now))
    out = s.send(ev.ConsultStart(who(s), "1002", s.now, kind="user"))
    assert not notices(out, "monitor_ended") and monitor.active(s.engine)


def test_supervisor_phone_not_answering_is_failed_without_a_row():
    s, _ = talking()
    (e,) = eavesdrops(s.send(ev.Monitor("sue", who(s), "listen", s.now)))
    before = len(s.journal)
    out = s.fail(e.leg_uuid, "USER_NOT_REGISTERED")
    (n,) = notices(out, "monitor_failed")
    assert n["cause"] == "USER_NOT_REGISTERED" and len(s.journal) == before
    assert monitor.active(s.engine) == []


def test_job_error_after_the_answer_is_not_the_end():
    s, _, leg = monitoring()
    out = s.fail(leg, "ORIGINATOR_CANCEL")
    assert not notices(out, "monitor_ended") and monitor.active(s.engine)


def test_monitor_leg_events_never_reach_the_call():
    s, agent_leg, leg = monitoring()
    before = len(s.journal)
    s.send(ev.CallParked(NODE, leg, "", "sip-sue", "Sue", s.now))
    s.send(ev.LegParked(NODE, leg, s.now))
    assert len(s.engine.calls) == 1 and len(s.journal) == before
    assert s.engine.calls[IX].agent_leg == agent_leg


# -- restart ---------------------------------------------------------------------------------------
def snapshot(s: Scenario, uuid: str, bridged_to: str = "", **variables) -> ev.ChannelSnapshot:
    return ev.ChannelSnapshot(NODE, uuid, "ACTIVE", True, "", "", "", s.now, bridged_to, variables)


def restarted(s: Scenario, agent_leg: str, sup_leg: str, mode="whisper"):
    ix = s.engine.calls[IX]
    caller = snapshot(s, "c1", agent_leg, cc_interaction_id=IX, cc_tenant="acme", cc_queue="sales",
                      cc_state="connected", cc_agent=ix.agent, cc_agent_uuid=agent_leg, cc_seq=str(ix.seq))
    agent = snapshot(s, agent_leg, "c1", cc_caller_uuid="c1", cc_interaction_id=IX, cc_agent=ix.agent)
    sup = snapshot(s, sup_leg, "", cc_monitor=agent_leg, cc_supervisor="sue", cc_monitor_agent=ix.agent,
                   cc_monitor_mode=mode, cc_interaction_id=IX, cc_monitor_since=s.now.isoformat())
    agents = [a.snapshot() for a in s.engine.agents.values()]
    return recover(s.deployment, {NODE: [sup, caller, agent]}, agents=agents,
                   interactions=[ix.snapshot()], at=s.now)


def test_restart_adopts_a_monitor_leg_of_a_connected_call():
    s, agent_leg, leg = monitoring("whisper")
    eng, out = restarted(s, agent_leg, leg)
    assert [m["mode"] for m in monitor.active(eng)] == ["whisper"]
    assert not [h for h in out if isinstance(h, fx.Hangup)]
    assert len(eng.calls) == 1 and eng.calls[IX].agent_leg == agent_leg
    t = Scenario(s.deployment, engine=eng, now=s.now)
    out = t.hangup("c1")
    assert fx.Hangup(NODE, leg, "NORMAL_CLEARING") in out and t.kinds(IX)[0] == "talk_ended"
    assert "monitor_ended" in t.kinds(IX)


def test_restart_hangs_up_a_monitor_leg_whose_call_is_gone():
    s, agent_leg, leg = monitoring()
    sup = snapshot(s, leg, cc_monitor=agent_leg, cc_supervisor="sue", cc_monitor_agent=who(s),
                   cc_monitor_mode="listen", cc_interaction_id=IX)
    eng, out = recover(s.deployment, {NODE: [sup]}, at=s.now)
    assert fx.Hangup(NODE, leg, "NORMAL_CLEARING") in out
    assert eng.calls == {} and monitor.active(eng) == []


# -- callbacks a supervisor creates ------------------------------------------------------------------
def with_node(dep):
    return dataclasses.replace(dep, nodes=(NodeConfig(NODE),))


def test_callback_create_waits_in_the_queue_and_is_dialled_after_the_agent_answers():
    s = Scenario(with_node(deployment()))
    out = s.send(ev.CallbackCreate("sales", "+4790000001", s.now, origin="interaction-0", by="boss"))
    assert refusals(out) == []
    assert s.kinds(IX) == ["entered_queue", "callback_requested"]
    row = s.journal[-1]
    assert (row.data["by"], row.data["origin"], row.data["number"]) == ("boss", "interaction-0", "+4790000001")
    assert s.engine.calls[IX].state.value == "callback"
    s.login("alice")
    agent_leg = s.originates()[-1]
    assert agent_leg.variables["cc_callback"] == "1" and agent_leg.sip_user == "sip-alice"
    back = s.originates(s.answer(agent_leg.leg_uuid))[0]
    assert back.destination == "+4790000001" and back.caller_id_number == "22000000"
    s.answer(back.leg_uuid)
    s.hangup(back.leg_uuid)
    assert s.kinds(IX)[-3:] == ["talk_ended", "wrapup_end", "ended"]
    s.assert_journal_exact()


def test_callback_create_refusals():
    s = Scenario(with_node(deployment()))
    for event, error in [(ev.CallbackCreate("nope", "+4790000001", s.now, by="boss"), "callback.unknown_queue"),
                         (ev.CallbackCreate("sales", "479 00 1", s.now, by="boss"), "callback.invalid_number"),
                         (ev.CallbackCreate("sales", "1234}&park", s.now, by="boss"), "callback.invalid_number")]:
        out = s.send(event)
        assert refusals(out) == [error] and notices(out, "command_refused")[0]["by"] == "boss"
    assert s.engine.calls == {} and s.journal == []
    no_node = Scenario(deployment())
    assert refusals(no_node.send(ev.CallbackCreate("sales", "+4790000001", s.now))) == ["callback.no_node"]


def test_created_callback_survives_a_restart_from_the_store():
    s = Scenario(with_node(deployment()))
    s.send(ev.CallbackCreate("sales", "+4790000001", s.now, by="boss"))
    stored = s.engine.calls[IX].snapshot()
    eng, _ = recover(s.deployment, {NODE: []}, interactions=[stored], at=s.now)
    assert eng.calls[IX].state.value == "callback" and eng.calls[IX].caller_number == "+4790000001"


# -- a monitoring supervisor is offered no call ------------------------------------------------------
def supervising(answered=True) -> tuple[Scenario, str, str]:
    """alice and bob serve the queue; one talks, the other (logged in, available) monitors."""
    s, _ = talking()
    talker = who(s)
    sup = "bob" if talker == "alice" else "alice"
    assert s.engine.agents[sup].routable
    (e,) = eavesdrops(s.send(ev.Monitor(sup, talker, "listen", s.now, by=sup)))
    if answered:
        s.send(ev.LegAnswered(NODE, e.leg_uuid, s.now))
    return s, sup, e.leg_uuid


def test_given_supervisor_available_when_monitoring_then_a_new_call_is_not_offered_to_them():
    for answered in (False, True):               # their phone ringing into eavesdrop, or listening
        s, sup, _ = supervising(answered)
        assert not s.engine.agents[sup].routable and s.state(sup) == "available"
        out = s.call("c2")
        assert s.offered_agents(out) == []
        assert s.engine.calls[s.engine.by_leg["c2"]].state.value == "queued"


def test_given_a_call_waiting_when_the_monitor_ends_then_it_is_offered_to_the_supervisor():
    for end in ("stop", "supervisor_hangs_up", "call_ends"):
        s, sup, leg = supervising()
        s.call("c2")
        if end == "stop":
            out = s.send(ev.MonitorEnd(sup, s.now, by=sup))
        elif end == "supervisor_hangs_up":
            out = s.hangup(leg)
        else:
            out = s.hangup("c1")
        assert s.offered_agents(out) == [sup], end
        assert s.engine.agents[sup].monitoring is False


def test_given_a_monitor_refused_then_the_supervisor_stays_routable():
    s, _ = talking()
    sup = "bob" if who(s) == "alice" else "alice"
    assert refusals(s.send(ev.Monitor(sup, sup, "listen", s.now))) == ["monitor.self"]
    assert s.engine.agents[sup].routable
    assert s.offered_agents(s.call("c2")) == [sup]


def test_given_a_monitor_adopted_at_restart_then_its_supervisor_is_offered_no_call():
    s, sup, leg = supervising()
    agent_leg = s.engine.calls[IX].agent_leg
    ix = s.engine.calls[IX]
    caller = snapshot(s, "c1", agent_leg, cc_interaction_id=IX, cc_tenant="acme", cc_queue="sales",
                      cc_state="connected", cc_agent=ix.agent, cc_agent_uuid=agent_leg, cc_seq=str(ix.seq))
    agent = snapshot(s, agent_leg, "c1", cc_caller_uuid="c1", cc_interaction_id=IX, cc_agent=ix.agent)
    mon = snapshot(s, leg, "", cc_monitor=agent_leg, cc_supervisor=sup, cc_monitor_agent=ix.agent,
                   cc_monitor_mode="listen", cc_interaction_id=IX, cc_monitor_since=s.now.isoformat())
    eng, _ = recover(s.deployment, {NODE: [mon, caller, agent]},
                     agents=[a.snapshot() for a in s.engine.agents.values()], interactions=[ix.snapshot()], at=s.now)
    assert [m["supervisor"] for m in monitor.active(eng)] == [sup] and not eng.agents[sup].routable
    t = Scenario(s.deployment, engine=eng, now=s.now)
    assert t.offered_agents(t.call("c2")) == []
    assert t.offered_agents(t.hangup(leg)) == [sup]

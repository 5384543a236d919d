"""Read-only views for the console and the wallboard."""
from __future__ import annotations

from engine import events as ev
from engine import views
from engine.config import Overflow, OverflowKind

from tests.engine.builders import Scenario, a_deployment, a_queue, an_agent


def test_wallboard_queue_view_from_live_state():
    s = Scenario(a_deployment(queues=[a_queue(service_level_seconds=20)],
                              agents=[an_agent("alice"), an_agent("bob"), an_agent("carol")]))
    s.login("alice", "bob", "carol")
    s.send(ev.AgentPause("carol", "lunch", s.now))
    s.call("c1")
    s.advance(5)
    s.answer(s.originates()[-1].leg_uuid)             # answered within 20 s
    s.call("c2")
    s.send(ev.AgentPause("alice" if s.offered_agents()[-1] == "bob" else "bob", "x", s.now))
    s.advance(30)
    s.fail(s.originates()[-1].leg_uuid, "CALL_REJECTED")
    s.call("c3")
    s.advance(10)
    v = views.queue(s.engine, "sales")
    assert v["waiting"] == 2 and v["ringing"] == 1          # the reject delay (10 s) is over: rings again
    assert v["longest_wait"] == 40.0
    assert v["available"] == 0 and v["logged_in"] == 3
    assert v["answered"] == 1 and v["service_level"] == 1.0
    s.hangup("c2")                                     # abandoned after 40 s: counts against
    v = views.queue(s.engine, "sales")
    assert v["abandoned"] == 1 and v["service_level"] == 0.5 and v["waiting"] == 1


def test_agents_by_state_and_agent_view():
    s = Scenario(a_deployment(agents=[an_agent("alice"), an_agent("bob"), an_agent("carol")]))
    s.login("alice", "bob")
    s.send(ev.AgentPause("bob", "lunch", s.now))
    s.call()
    by_state = views.agents_by_state(s.engine)
    assert by_state["offered"] == ["alice"] and by_state["paused"] == ["bob"]
    assert by_state["logged_out"] == ["carol"]
    assert views.agent(s.engine, "bob")["reason"] == "lunch"
    assert [c["state"] for c in views.calls(s.engine)] == ["offering"]


def test_transfer_overflow_is_journaled_as_transferred():
    s = Scenario(a_deployment(queues=[a_queue(no_agents=Overflow(OverflowKind.VOICEMAIL, "1001"))]))
    s.call()
    assert s.kinds()[-2:] == ["overflowed", "transferred"]
    s.hangup("caller-1")
    assert s.kinds()[-1] == "ended"
    s.assert_journal_exact()


def test_an_available_agent_without_a_registered_phone_is_not_shown_available():
    s = Scenario(a_deployment(agents=[an_agent("alice"), an_agent("bob")]))
    s.login("alice")
    s.login("bob", registered=False)
    by_state = views.agents_by_state(s.engine)
    assert by_state["available"] == ["alice"] and by_state["no_phone"] == ["bob"]
    s.register("bob")
    assert views.agents_by_state(s.engine)["available"] == ["alice", "bob"]
    from sentral.process import status_line
    s.register("alice", registered=False)
    assert "available=1" in status_line(s.engine) and "no_phone=1" in status_line(s.engine)


# -- the agent's console --------------------------------------------------------------------------------
def test_console_view_of_an_agent_on_a_call_then_in_wrap_up():
    import dataclasses
    import json

    from engine.config import Reason
    from tests.engine.builders import a_tenant
    dep = a_deployment(queues=[a_queue("sales", wrapup=30), a_queue("support", wrapup=30)],
                       tenants=[a_tenant(greeting="Acme, god dag")],
                       agents=[an_agent("alice", queues={"sales": 1, "support": 1})])
    dep = dataclasses.replace(dep, pause_reasons=(Reason("lunch", "Lunsj", "Lunch"),),
                              result_codes=(Reason("sold", "Solgt"),))
    s = Scenario(dep)
    s.register("alice")
    s.send(ev.AgentLogin("alice", s.now, queues=("sales",)))
    v = views.console(s.engine, "alice")
    assert v["state"] == "available" and v["call"] is None
    assert v["queues"] == [{"id": "sales", "name": "Sales", "tenant": "acme", "tenant_name": "Acme"}]
    s.call("c1", number="22241600")
    s.advance(7)
    call = views.console(s.engine, "alice", s.now)["call"]
    assert (call["state"], call["caller_number"], call["waited"], call["greeting"], call["queue_name"]) == \
        ("offering", "22241600", 7.0, "Acme, god dag", "Sales")
    s.talk("c1", "alice")
    s.send(ev.CallHold("alice", True, s.now))
    call = views.console(s.engine, "alice", s.now)["call"]
    assert call["held"] and call["answered_at"] == s.now.isoformat() and call["own"]
    s.hangup("c1")
    v = views.console(s.engine, "alice", s.now)
    assert v["state"] == "wrap_up" and v["call"]["wrapup_until"] is not None
    json.dumps(v)                                             # plain values only
    assert views.pause_reasons(s.engine) == [{"id": "lunch", "nb": "Lunsj", "en": "Lunch"}]
    assert views.result_codes(s.engine) == [{"id": "sold", "nb": "Solgt", "en": "Solgt"}]


def test_console_view_during_a_consult():
    s = Scenario(a_deployment())
    s.login("alice")
    s.call("c1")
    s.talk("c1", "alice")
    s.send(ev.ConsultStart("alice", "1001", s.now, kind="user", name="Per Hansen"))
    call = views.console(s.engine, "alice")["call"]
    assert (call["consult"], call["target_name"], call["talking_to"]) == ("ringing", "Per Hansen", "caller")
    s.answer(s.originates()[-1].leg_uuid)
    assert views.console(s.engine, "alice")["call"]["consult"] == "target"


def test_parked_view_lists_parked_calls_of_the_given_tenants_only():
    from datetime import timedelta

    from engine.interactions import CallState
    s = Scenario(a_deployment())
    s.login("alice")
    s.call("c1")
    s.talk("c1", "alice")
    ix = s.engine.calls["interaction-1"]
    ix.state, ix.deadline, ix.recall_agent = CallState.PARKED, s.now + timedelta(seconds=120), "alice"
    (row,) = views.parked(s.engine, ["acme"], s.now + timedelta(seconds=20))
    assert (row["id"], row["by"], row["left"], row["caller_number"]) == ("interaction-1", "alice", 100.0, "4791234567")
    assert views.parked(s.engine, ["other"]) == []

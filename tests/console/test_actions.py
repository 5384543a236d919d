"""The permission matrix of agent_ui.actions (the one place where a person or a token
acts): who may steer, listen and call back, for which agency, and what is audited and
posted. A real engine (pure, on a virtual clock) answers what the checks read."""
from __future__ import annotations

import pytest

from agent_ui.actions import ActionDenied, ActionInvalid, ActionNotFound, Actions, Actor, EngineDown
from engine import events as ev
from tests.console.supervisor_fixtures import deployment
from tests.engine.builders import Scenario


class Desk:
    """Actions over a scenario's engine; what was posted and audited."""

    def __init__(self):
        self.s = Scenario(deployment())
        self.posted, self.audited = [], []
        self.actions = Actions(lambda: self.s.engine, self.posted.append,
                               lambda actor, action, kind, target, tenant="", detail=None:
                               self.audited.append((actor, action, target, tenant)), lambda: self.s.now)
        for aid in ("anna", "bodil", "carl"):
            self.s.login(aid)


def person(name, *roles, agent=""):
    return Actor(name, frozenset(roles), agent)


OPERATOR = person("ola", ("nordlys", "operator"))
LEAD_A = person("tor", ("nordlys", "supervisor"))
LEAD_AB = person("siri", ("nordlys", "supervisor"), ("fjordvik", "supervisor"), agent="siri")
TENANT_ADMIN_A = person("tina", ("nordlys", "tenant_admin"))
ADMIN = person("root", ("*", "admin"))


@pytest.fixture
def desk():
    return Desk()


@pytest.mark.parametrize("actor,agent,allowed", [
    (OPERATOR, "anna", False),          # an operator cannot steer anyone
    (LEAD_A, "anna", True),             # anna serves nordlys only
    (LEAD_A, "bodil", False),           # bodil serves nordlys and fjordvik
    (LEAD_A, "carl", False),            # carl serves fjordvik only
    (TENANT_ADMIN_A, "anna", True),
    (TENANT_ADMIN_A, "bodil", False),
    (LEAD_AB, "bodil", True),
    (ADMIN, "bodil", True),
    (ADMIN, "carl", True),
])
def test_steering_needs_a_steering_role_in_every_agency_the_agent_serves(desk, actor, agent, allowed):
    if allowed:
        event = desk.actions.steer(actor, agent, "pause", reason="lunsj")
        assert desk.posted == [event] and event == ev.AgentPause(agent, "lunsj", desk.s.now)
        assert desk.audited[-1][:3] == (actor.name, "agent.pause", agent)
    else:
        with pytest.raises(ActionDenied):
            desk.actions.steer(actor, agent, "pause", reason="lunsj")
        assert desk.posted == []
        assert desk.audited[-1][:3] == (actor.name, "agent.pause.denied", agent)   # refusals are audited too


@pytest.mark.parametrize("what,event_type", [("available", ev.AgentResume), ("logout", ev.AgentLogout),
                                              ("wrapup_end", ev.WrapUpEnd)])
def test_each_state_change_posts_its_event(desk, what, event_type):
    event = desk.actions.steer(ADMIN, "anna", what)
    assert isinstance(event, event_type) and event.agent == "anna"
    if what == "wrapup_end":
        assert event.forced is True


def test_bad_state_change_and_pause_reason_are_invalid_and_nothing_posted(desk):
    with pytest.raises(ActionInvalid):
        desk.actions.steer(ADMIN, "anna", "dance")
    with pytest.raises(ActionInvalid):
        desk.actions.steer(ADMIN, "anna", "pause", reason="nap")
    with pytest.raises(ActionNotFound):
        desk.actions.steer(ADMIN, "nobody", "pause", reason="lunsj")
    assert desk.posted == []


def talking(desk, agent="anna", queue_number="22000000"):
    """Only `agent` is free for the call: the others are paused first."""
    for other in ("anna", "bodil", "carl"):
        if other != agent:
            desk.s.send(ev.AgentPause(other, "lunsj", desk.s.now))
    desk.s.send(ev.CallParked("fs1", "c1", queue_number, "4791520431", "Per", desk.s.now))
    desk.s.talk("c1", agent)


@pytest.mark.parametrize("actor,allowed,error", [
    (LEAD_AB, True, None),
    (person("tor", ("nordlys", "supervisor"), agent="siri"), True, None),      # the call is nordlys'
    (person("fred", ("fjordvik", "supervisor"), agent="siri"), False, ActionDenied),
    (person("ola", ("nordlys", "operator"), agent="siri"), False, ActionDenied),
    (LEAD_A, False, ActionInvalid),                                           # no phone to listen from
])
def test_listening_needs_a_steering_role_in_the_calls_agency_and_a_phone(desk, actor, allowed, error):
    talking(desk, "bodil")                       # bodil serves both; the call is nordlys'
    if allowed:
        event = desk.actions.monitor(actor, "bodil", "whisper")
        assert event == ev.Monitor("siri", "bodil", "whisper", desk.s.now, by=actor.name)
        assert desk.audited[-1] == (actor.name, "call.whisper", "bodil", "nordlys")
    else:
        with pytest.raises(error):
            desk.actions.monitor(actor, "bodil", "whisper")
        assert desk.posted == []


def test_listening_to_an_agent_without_a_call_and_in_an_unknown_mode(desk):
    with pytest.raises(ActionNotFound):
        desk.actions.monitor(LEAD_AB, "anna", "listen")
    with pytest.raises(ActionInvalid):
        desk.actions.monitor(LEAD_AB, "anna", "shout")
    assert desk.posted == []


def test_callback_needs_a_steering_role_in_the_queues_agency_and_a_plain_number(desk):
    with pytest.raises(ActionDenied):
        desk.actions.callback(LEAD_A, "fv", "4791520431")
    with pytest.raises(ActionDenied):
        desk.actions.callback(OPERATOR, "nl", "4791520431")
    for bad in ("", "91 52", "12;rm", "+" + "1" * 40):
        with pytest.raises(ActionInvalid):
            desk.actions.callback(ADMIN, "nl", bad)
    with pytest.raises(ActionNotFound):
        desk.actions.callback(ADMIN, "nowhere", "4791520431")
    event = desk.actions.callback(LEAD_A, "nl", "+4791520431", origin="interaction-7")
    assert event == ev.CallbackCreate("nl", "+4791520431", desk.s.now, origin="interaction-7", by="tor")
    assert desk.posted == [event]


def test_nothing_is_done_while_the_engine_is_not_running():
    posted = []
    actions = Actions(lambda: None, posted.append, lambda *a, **k: None, lambda: None)
    with pytest.raises(EngineDown):
        actions.steer(ADMIN, "anna", "logout")
    assert posted == []


@pytest.mark.parametrize("actor,phone,allowed", [
    (Actor.of_token(7, "nordlys", "supervisor"), "siri", False),   # siri's phone serves no queue: a person's own
    (Actor.of_token(8, "*", "admin"), "siri", True),                # an admin of every agency may ring it
    (Actor.of_token(9, "nordlys", "supervisor"), "anna", True),     # anna's phone serves nordlys only
    (Actor.of_token(10, "nordlys", "supervisor"), "carl", False),   # carl's serves fjordvik
])
def test_a_token_names_a_phone_only_of_its_own_agencies_and_never_a_supervisors_own(desk, actor, phone, allowed):
    talking(desk, "bodil")
    if allowed:
        assert desk.actions.monitor(actor, "bodil", "listen", phone=phone).supervisor == phone
    else:
        with pytest.raises(ActionDenied):
            desk.actions.monitor(actor, "bodil", "listen", phone=phone)
        assert desk.posted == [] and desk.audited[-1][1] == "call.listen.denied"
        with pytest.raises(ActionDenied):
            desk.actions.monitor_end(actor, phone=phone)

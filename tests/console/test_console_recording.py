"""Pausing the recording of a call from the console and the REST API, in the app `sentral
run` serves over a pure engine: a recorded call shows "Opptak" on the call card and
"Opptak pauset" while the operator masks it; the command reaches the engine as the
session's agent and comes out as MaskRecording on the caller's leg, journaled; a call that
is not recorded is refused (`engine.no_recording`, translated); another agent cannot
pause it, nor another agency's token."""
from __future__ import annotations

import dataclasses

import pytest

from agent_ui.console_socket import to_event
from agent_ui.notices import Notices
from engine import effects as fx
from engine import events as ev
from engine.core import Engine
from sentral import web
from store.store import Store
from tests.acd.conftest import MAIN_NUMBER
from tests.api.conftest import bearer, two_agency_deployment
from tests.console.conftest import NOW, PureInbox, _registered, login, users
from tests.helpers import until

NS = "/console"
KEY = "age1gjtn8gq6l2vkgfvsujjkwzru9etqmsdjdjn0dj92vudcnmxu5guqnv4zgh"   # tests/data/acd's test-only key
NOTICE = "sentral/recording-notice.wav"
CALLER = "caller-9"


class Desk:
    """The app over a pure engine whose inbox also keeps every effect the engine returned."""

    def __init__(self, tmp_path, recorded: bool):
        d = two_agency_deployment()
        tenants = {tid: dataclasses.replace(t, record_calls=recorded, recording_notice=NOTICE, recording_key=KEY)
                   for tid, t in d.tenants.items()}
        self.deployment = dataclasses.replace(d, tenants=tenants)
        self.store = Store(f"sqlite:///{tmp_path / 'rec.db'}", migrate=True, clock=lambda: NOW)
        self.engine = Engine(self.deployment)
        for ext in ("1000", "1001", "2000"):
            self.engine.handle(_registered(ext))
        users(self.store)
        self.effects: list = []
        self.notices = Notices()
        self.inbox = PureInbox(self.engine, self.notices, lambda: NOW)
        self.app, self.socketio = web.build_app(self.store, lambda: self.deployment, lambda: self.engine,
                                                secure_cookies=False, notices=self.notices, post=self.post,
                                                message_queue="")
        self.app.testing = True

    def post(self, event) -> None:
        self.inbox.posted.append(event)
        for effect in self.engine.handle(event):
            self.effects.append(effect)
            if isinstance(effect, fx.Notify):
                self.notices.publish(effect)

    def talking(self, aid="a1000") -> str:
        """A caller who heard the notice talks with `aid` (its leg answered and bridged);
        returns the interaction id."""
        self.post(ev.AgentLogin(aid, NOW))
        self.post(ev.CallParked("fs1", CALLER, MAIN_NUMBER, "4722241600", "Ola", NOW))
        self.post(ev.PlaybackFinished("fs1", CALLER, NOTICE, NOW))
        offers = [e for e in self.effects if isinstance(e, fx.Originate) and e.variables.get("cc_agent") == aid]
        leg = offers[-1].leg_uuid
        self.post(ev.LegAnswered("fs1", leg, NOW))
        self.post(ev.LegParked("fs1", leg, NOW))
        self.post(ev.Bridged("fs1", CALLER, leg, NOW))
        ixid = self.engine.by_leg[CALLER]
        assert self.engine.agents[aid].state.value == "on_call"
        return ixid

    def masks(self) -> list:
        return [e for e in self.effects if isinstance(e, fx.MaskRecording)]

    def kinds(self, ixid: str) -> list[str]:
        return [e.kind for e in self.effects if isinstance(e, fx.Journal) and e.interaction == ixid]

    def console(self, user: str):
        client = self.app.test_client()
        login(client, user)
        sio = self.socketio.test_client(self.app, namespace=NS, flask_test_client=client)
        assert sio.is_connected(NS)
        return client, Screen(sio)


class Screen:
    """A console's socket keeping everything it received (get_received empties the queue)."""

    def __init__(self, sio):
        self.sio, self.got = sio, []

    def emit(self, *args, **kwargs):
        return self.sio.emit(*args, **kwargs)

    def of(self, name: str) -> list:
        self.got += self.sio.get_received(NS)
        return [m["args"][0] for m in self.got if m["name"] == name]


def _desk(tmp_path, recorded: bool):
    desk = Desk(tmp_path, recorded=recorded)
    yield desk
    desk.app.extensions["sentral_webhooks"].stop()
    desk.store.close()


@pytest.fixture
def recorded(tmp_path):
    yield from _desk(tmp_path, True)


@pytest.fixture
def unrecorded(tmp_path):
    yield from _desk(tmp_path, False)


def command(sio, **msg):
    return sio.emit("command", msg, namespace=NS, callback=True)


def last_call(screen: Screen) -> dict:
    return until(lambda: (screen.of("console") or [None])[-1], message="a state pushed")["call"]


def test_the_commands_carry_the_sessions_agent_never_one_from_the_message():
    assert to_event("a1000", {"name": "recording_pause", "agent": "a1001"}, NOW) == ev.RecordingPause("a1000", NOW)
    assert to_event("a1000", {"name": "recording_resume"}, NOW) == ev.RecordingResume("a1000", NOW)


def test_given_a_recorded_call_when_the_operator_pauses_and_resumes_then_the_switch_masks_and_the_card_says_so(
        recorded):
    desk = recorded
    ixid = desk.talking("a1000")
    recording = desk.engine.calls[ixid].recording
    path = desk.engine.calls[ixid].recording_path
    assert recording and path
    _, sio = desk.console("kari")
    call = last_call(sio)
    assert (call["recording"], call["recording_masked"], call["recording_label"]) == (recording, False, "Opptak")

    assert command(sio, name="recording_pause") == {"ok": True}
    assert desk.masks() == [fx.MaskRecording("fs1", CALLER, path, True)]
    call = until(lambda: (lambda c: c if c["recording_masked"] else None)(last_call(sio)), message="paused pushed")
    assert call["recording_label"] == "Opptak pauset"
    assert command(sio, name="recording_pause") == {"ok": True}          # already paused: nothing more
    assert len(desk.masks()) == 1

    assert command(sio, name="recording_resume") == {"ok": True}
    assert desk.masks()[1:] == [fx.MaskRecording("fs1", CALLER, path, False)]
    call = until(lambda: (lambda c: c if not c["recording_masked"] else None)(last_call(sio)), message="resumed")
    assert call["recording_label"] == "Opptak"
    assert [k for k in desk.kinds(ixid) if k.startswith("recording_")] == [
        "recording_started", "recording_paused", "recording_resumed"]
    paused = next(e for e in desk.effects if isinstance(e, fx.Journal) and e.kind == "recording_paused")
    assert paused.agent == "a1000" and paused.data["recording"] == recording
    assert sio.of("refused") == []


def test_the_card_and_the_refusal_in_english(recorded):
    desk = recorded
    client = desk.app.test_client()
    login(client, "kari")
    assert "<h1>Console</h1>" in client.get("/console/?lang=en").get_data(as_text=True)
    sio = Screen(desk.socketio.test_client(desk.app, namespace=NS, flask_test_client=client))
    assert command(sio, name="recording_pause") == {"ok": True}          # no call at all: refused
    refused = until(lambda: sio.of("refused"), message="refusal pushed")
    assert refused[-1]["error"] == "engine.no_call"
    desk.talking("a1000")
    command(sio, name="recording_pause")
    call = until(lambda: (lambda c: c if c and c["recording_masked"] else None)(last_call(sio)), message="paused")
    assert call["recording_label"] == "Recording paused"
    assert sio.of("notice") == [], "the recorder's notices only push the state"


def test_given_an_unrecorded_call_when_pausing_then_refused_translated_and_nothing_reaches_the_switch(unrecorded):
    desk = unrecorded
    ixid = desk.talking("a1000")
    assert desk.engine.calls[ixid].recording == ""
    _, sio = desk.console("kari")
    call = last_call(sio)
    assert (call["recording"], call["recording_label"]) == ("", "")
    assert command(sio, name="recording_pause") == {"ok": True}          # accepted here, refused by the engine
    refused = until(lambda: sio.of("refused"), message="refusal pushed")
    assert refused[-1] == {"error": "engine.no_recording", "message": "Ingen opptak pågår i denne samtalen."}
    assert desk.masks() == [] and "recording_paused" not in desk.kinds(ixid)


def test_another_operator_cannot_pause_the_call_they_are_not_on(recorded):
    desk = recorded
    ixid = desk.talking("a1000")
    _, kari = desk.console("kari")
    _, ola = desk.console("ola")                  # a1001, logged in, not on the call
    desk.post(ev.AgentLogin("a1001", NOW))
    assert command(ola, name="recording_pause", agent="a1000") == {"ok": True}
    assert until(lambda: ola.of("refused"), message="refusal")[-1]["error"] == "engine.no_call"
    assert desk.masks() == [] and desk.engine.calls[ixid].recording_masked is False
    assert kari.of("refused") == []


# -- REST ------------------------------------------------------------------------------------------
def test_the_api_pauses_and_resumes_the_agents_recording(recorded):
    desk = recorded
    ixid = desk.talking("a1000")
    path = desk.engine.calls[ixid].recording_path
    client = desk.app.test_client()
    token = bearer(desk.store.create_token("crm", "helsedir", "operator", "test")[1])
    answer = client.post("/api/v1/agents/a1000/recording/pause", headers=token)
    assert (answer.status_code, answer.get_json()) == (202, {"ok": True, "event": "RecordingPause"})
    assert desk.masks() == [fx.MaskRecording("fs1", CALLER, path, True)]
    assert desk.engine.calls[ixid].recording_masked is True
    answer = client.post("/api/v1/agents/a1000/recording/resume", headers=token)
    assert (answer.status_code, answer.get_json()["event"]) == (202, "RecordingResume")
    assert desk.masks()[-1] == fx.MaskRecording("fs1", CALLER, path, False)
    assert desk.engine.calls[ixid].recording_masked is False
    audited = [(e.action, e.detail) for e in desk.store.audit_entries(target_id="a1000")]
    assert audited == [("agent.command", {"command": "recording_pause"}),
                       ("agent.command", {"command": "recording_resume"})]


def test_the_api_refuses_another_agencys_token_and_an_employee_and_reports_an_unrecorded_call(unrecorded):
    desk = unrecorded
    ixid = desk.talking("a1000")
    client = desk.app.test_client()
    for tenant, role in (("fjordvik", "admin"), ("helsedir", "employee")):
        headers = bearer(desk.store.create_token("t", tenant, role, "test")[1])
        answer = client.post("/api/v1/agents/a1000/recording/pause", headers=headers)
        assert (answer.status_code, answer.get_json()["error"]) == (403, "action.denied"), (tenant, role)
    assert not any(isinstance(e, ev.RecordingPause) for e in desk.inbox.posted)

    events = desk.socketio.test_client(desk.app, namespace="/api/events",
                                       auth={"token": desk.store.create_token("s", "helsedir", "supervisor",
                                                                              "test")[1]})
    headers = bearer(desk.store.create_token("crm", "helsedir", "operator", "test")[1])
    assert client.post("/api/v1/agents/a1000/recording/pause", headers=headers).status_code == 202
    refused = [m["args"][0] for m in events.get_received("/api/events")
               if m["name"] == "event" and m["args"][0]["kind"] == "command.refused"]
    assert [r["data"]["error_id"] for r in refused] == ["engine.no_recording"]
    assert desk.masks() == [] and desk.engine.calls[ixid].recording_masked is False

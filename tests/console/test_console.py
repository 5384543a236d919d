"""The operator console through the app `sentral run` serves (sentral.web.build_app) over a
pure engine: pages per role, the Socket.IO namespace's gate, full state on connect,
commands into the engine as the session's own agent, translated refusals, the directory
pane (operator notes, substitute, presence, harmless markup), numbers the Norwegian way."""
from __future__ import annotations

import pathlib
from datetime import timedelta

import pytest

from agent_ui.console_state import phone
from engine import events as ev
from engine.directory.model import Absence, AbsenceCategory, Person
from engine.directory.model import PersonKey
from tests.console.conftest import NOW, csrf_of, login, received

NS = "/console"
XSS = '<img src=x onerror="alert(1)">'


def connect(app, socketio, user, **headers):
    client = app.test_client()
    login(client, user)
    if headers:
        client.environ_base.update(headers)
    return client, socketio.test_client(app, namespace=NS, flask_test_client=client)


def command(sio, **msg):
    return sio.emit("command", msg, namespace=NS, callback=True)


# -- pages -------------------------------------------------------------------------------------

def test_given_anonymous_when_opening_console_then_sent_to_login_and_api_refused(pure):
    app, *_ = pure
    client = app.test_client()
    assert client.get("/console/").status_code == 302
    assert client.get("/console/api/directory?q=kari").status_code == 401
    assert client.get("/console/api/contacts").status_code == 401
    assert client.post("/console/api/message", json={}).status_code in (400, 401)   # CSRF first, then login


def test_given_employee_without_console_role_then_forbidden(pure):
    app, *_ = pure
    client = app.test_client()
    login(client, "emp")
    assert client.get("/console/").status_code == 403
    assert client.get("/console/api/directory?q=kari").status_code == 403


def test_given_operator_not_bound_then_directory_only_without_call_controls(pure):
    app, *_ = pure
    client = app.test_client()
    login(client, "op")
    page = client.get("/console/").get_data(as_text=True)
    assert 'data-testid="not-bound"' in page and 'data-testid="search"' in page
    assert 'data-testid="btn-answer"' not in page and 'data-testid="btn-transfer"' not in page


def test_given_bound_operator_then_console_with_controls_in_bokmal_and_csp_self(pure):
    app, *_ = pure
    client = app.test_client()
    login(client, "kari")
    resp = client.get("/console/")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    for testid in ("btn-answer", "transfer-campon", "choice-campon", "btn-campon", "btn-hold", "btn-hangup", "btn-park", "btn-transfer", "btn-consult",
                   "btn-consult-swap", "btn-consult-complete", "btn-consult-cancel", "btn-consult-conference",
                   "dtmf-5", "dtmf-star", "dtmf-hash", "search", "btn-login", "btn-pause", "btn-wrapup-end",
                   "message-send", "choice-blind", "choice-consult", "choice-message"):
        assert f'data-testid="{testid}"' in page, testid
    assert "<h1>Konsoll</h1>" in page and "Legg på" in page
    assert "<script>" not in page.replace('<script type="application/json" id="console-texts">', ""), \
        "no inline script (CSP): the texts travel as a JSON data block only"


def test_given_a_phone_that_cannot_be_answered_remotely_then_no_answer_button(pure):
    app, *_ = pure
    client = app.test_client()
    login(client, "ola")                                   # a1001: auto_answer not set
    page = client.get("/console/").get_data(as_text=True)
    assert 'data-testid="btn-hangup"' in page and 'data-testid="btn-answer"' not in page


def test_given_english_chosen_or_asked_by_the_browser_then_english(pure):
    app, *_ = pure
    client = app.test_client()
    login(client, "kari")
    assert "<h1>Console</h1>" in client.get("/console/?lang=en").get_data(as_text=True)
    assert "<h1>Console</h1>" in client.get("/console/").get_data(as_text=True), "the choice is kept"
    other = app.test_client()
    login(other, "ola")
    assert "<h1>Console</h1>" in other.get("/console/", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert "<h1>Konsoll</h1>" in other.get("/console/", headers={"Accept-Language": "nn-NO,en;q=0.5"}).get_data(as_text=True)


# -- Socket.IO ---------------------------------------------------------------------------------

@pytest.mark.parametrize("user", [None, "emp", "op"])
def test_given_no_session_or_no_agent_binding_then_socket_refused(pure, user):
    app, socketio, *_ = pure
    client = app.test_client()
    if user:
        login(client, user)
    sio = socketio.test_client(app, namespace=NS, flask_test_client=client)
    assert not sio.is_connected(NS)


def test_given_bound_agent_when_connecting_then_full_state_at_once(pure):
    app, socketio, engine, *_ = pure
    _, sio = connect(app, socketio, "kari")
    assert sio.is_connected(NS)
    first = received(sio, "console")[0]
    assert first["agent"]["id"] == "a1000" and first["agent"]["state"] == "logged_out"
    assert first["agent"]["state_label"] == "Avlogget"
    assert [q["id"] for q in first["agent"]["queues"]] == ["helsedir-main"]
    assert [r["label"] for r in first["pause_reasons"]] == ["Lunsj", "Møte"]
    assert first["call"] is None and first["parked"] == []
    assert set(first["counts"]) >= {"answered", "abandoned", "service_level"}


def test_given_a_reconnect_then_the_state_is_sent_again(pure):
    app, socketio, engine, inbox, _ = pure
    client, sio = connect(app, socketio, "kari")
    command(sio, name="login", queues=["helsedir-main"])
    sio.disconnect(namespace=NS)
    again = socketio.test_client(app, namespace=NS, flask_test_client=client)
    assert received(again, "console")[0]["agent"]["state"] == "available"


def test_commands_reach_the_engine_as_the_sessions_agent_and_state_is_pushed(pure):
    app, socketio, engine, inbox, _ = pure
    _, sio = connect(app, socketio, "kari")
    received(sio, "console")
    assert command(sio, name="login", queues=["helsedir-main"]) == {"ok": True}
    assert engine.agents["a1000"].state.value == "available"
    from tests.helpers import until
    pushed = until(lambda: received(sio, "console"), message="state pushed")
    assert pushed[-1]["agent"]["state_label"] == "Ledig"
    assert command(sio, name="pause", reason="lunch") == {"ok": True}
    assert engine.agents["a1000"].state.value == "paused" and engine.agents["a1000"].reason == "lunch"
    pushed = until(lambda: received(sio, "console"), message="pause pushed")
    assert pushed[-1]["agent"]["reason_label"] == "Lunsj"


def test_another_agents_id_in_a_command_is_ignored(pure):
    app, socketio, engine, inbox, _ = pure
    _, kari = connect(app, socketio, "kari")
    assert command(kari, name="login", queues=["helsedir-main"], agent="a1001") == {"ok": True}
    assert engine.agents["a1000"].state.value == "available"
    assert engine.agents["a1001"].state.value == "logged_out", "Ola's agent was not touched"
    assert all(getattr(e, "agent", "a1000") == "a1000" for e in inbox.posted)


def test_an_agent_does_not_see_another_agents_pushes(pure):
    app, socketio, engine, inbox, _ = pure
    _, kari = connect(app, socketio, "kari")
    _, ola = connect(app, socketio, "ola")
    received(kari, "console"), received(ola, "console")
    command(ola, name="login", queues=[])
    from tests.helpers import until
    until(lambda: engine.agents["a1001"].state.value == "available")
    mine = until(lambda: received(ola, "console"), message="Ola's push")
    assert mine[-1]["agent"]["id"] == "a1001"
    assert all(s["agent"]["id"] == "a1000" for s in received(kari, "console"))


def test_a_command_the_engine_refuses_is_shown_translated(pure):
    app, socketio, engine, inbox, _ = pure
    client, sio = connect(app, socketio, "kari")
    received(sio, "console")
    assert command(sio, name="hangup") == {"ok": True}            # accepted here, refused by the engine
    from tests.helpers import until
    refused = until(lambda: received(sio, "refused"), message="refusal pushed")
    assert refused[0]["error"].startswith("engine.")
    assert refused[0]["message"] and refused[0]["message"] != refused[0]["error"]
    assert refused[0]["message"] in {"Du har ingen samtale.", "Ikke mulig i din nåværende status.",
                                     "Kommandoen ble avvist."}


@pytest.mark.parametrize("msg", [{"name": "rm -rf"}, {"name": "pause"}, {"name": "pause", "reason": 5},
                                 {"name": "hold", "on": "yes"}, {"name": "transfer", "target": "1000", "kind": "evil"},
                                 {"name": "transfer", "target": "1" * 65}, "login", {"name": "digits", "digits": ""},
                                 {"name": "transfer", "target": "1000", "camp_on": "yes"},
                                 {"name": "transfer", "target": "1000", "camp_on": 1}])
def test_malformed_commands_are_refused_here_and_never_posted(pure, msg):
    app, socketio, engine, inbox, _ = pure
    _, sio = connect(app, socketio, "kari")
    reply = sio.emit("command", msg, namespace=NS, callback=True)
    assert reply["ok"] is False and reply["error"] == "console.bad_command"
    assert reply["message"] == "Ukjent eller ugyldig kommando."
    assert inbox.posted == []


def test_a_transfer_with_camp_on_reaches_the_engine_with_it_and_a_consult_never_carries_it(pure):
    from agent_ui.console_socket import to_event
    e = to_event("a1000", {"name": "transfer", "target": "1001", "kind": "user", "label": "Per", "camp_on": True}, NOW)
    assert e == ev.CallTransfer("a1000", "1001", NOW, kind="user", name="Per", camp_on=True)
    assert to_event("a1000", {"name": "transfer", "target": "1001"}, NOW).camp_on is False
    assert isinstance(to_event("a1000", {"name": "consult_start", "target": "1001", "camp_on": True}, NOW),
                      ev.ConsultStart)


def test_answer_from_the_console_for_a_phone_that_does_not_allow_it_is_refused_translated(pure):
    app, socketio, engine, inbox, _ = pure
    _, sio = connect(app, socketio, "ola")
    received(sio, "console")
    command(sio, name="login", queues=[])
    engine.handle(ev_call())
    engine.handle(ev.PlaybackFinished("fs1", "caller-9", "sentral/recording-notice.wav", NOW))   # the notice heard
    assert engine.agents["a1001"].state.value == "offered"
    assert command(sio, name="answer") == {"ok": True}
    from tests.helpers import until
    refused = until(lambda: received(sio, "refused"), message="refusal pushed")
    assert refused[0]["error"] == "engine.no_remote_answer"
    assert refused[0]["message"] == "Telefonen din kan ikke besvares fra konsollen: svar på telefonen."


def ev_call():
    from tests.acd.conftest import MAIN_NUMBER
    return ev.CallParked("fs1", "caller-9", MAIN_NUMBER, "4722241600", "Ola", NOW)


def test_logout_of_the_web_session_stops_commands(pure):
    app, socketio, engine, inbox, store = pure
    client, sio = connect(app, socketio, "kari")
    token = csrf_of(client)
    client.post("/logout", data={"csrf_token": token})
    again = socketio.test_client(app, namespace=NS, flask_test_client=client)
    assert not again.is_connected(NS)


# -- directory pane ----------------------------------------------------------------------------

@pytest.fixture
def directory(pure):
    app, socketio, engine, inbox, store = pure
    dstore = app.extensions["sentral"][1].directory
    dstore.upsert_persons("helsedir", [
        Person("helsedir", "p1", "Kari", "Nordmann", title="Rådgiver", direct_phone="+4722241600",
               mobile_phone="+4791520431", email="kari.nordmann@helsedir.example", keywords=("lønn",),
               substitute_id="p2"),
        Person("helsedir", "p2", "Per", "Vikar", direct_phone="+4722241601", email="per@helsedir.example"),
        Person("helsedir", "p3", XSS, "Hacker", direct_phone="+4722241602"),
    ], source="import")
    dstore.update_local(PersonKey("helsedir", "p1"), operator_notes="Foretrekker e-post")
    dstore.add_absence(Absence("helsedir", "p1", NOW - timedelta(hours=1), NOW + timedelta(hours=3),
                               AbsenceCategory.MEETING))
    return pure


def test_directory_search_shows_presence_notes_substitute_and_formatted_numbers(directory):
    app, *_ = directory
    client = app.test_client()
    login(client, "kari")
    hits = client.get("/console/api/directory?q=kari nordmann").get_json()["hits"]
    kari = next(h for h in hits if h["id"] == "p1")
    assert kari["presence"]["state"] == "busy" and kari["presence"]["label"] == "Opptatt"
    assert kari["presence"]["reason"] == "Møte" and kari["presence"]["back_at"] == "14:00"   # 13:00 UTC in Oslo
    assert kari["notes"] == "Foretrekker e-post" and kari["services"] == ["lønn"]
    assert kari["direct"] == {"raw": "+4722241600", "display": "22 24 16 00"}
    assert kari["mobile"]["display"] == "915 20 431"
    assert kari["substitute"]["name"] == "Per Vikar" and kari["substitute"]["direct"]["raw"] == "+4722241601"
    assert kari["substitute"]["presence"]["label"] == "Ledig"


def test_directory_data_with_markup_is_data_never_markup(directory):
    app, *_ = directory
    client = app.test_client()
    login(client, "kari")
    resp = client.get("/console/api/directory?q=hacker")
    assert resp.mimetype == "application/json"
    assert any(h["name"].startswith(XSS) for h in resp.get_json()["hits"])
    script = pathlib.Path(app.static_folder, "console.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script.replace("never innerHTML", ""), sink


def test_server_rendered_names_are_escaped(pure, tmp_path):
    import dataclasses

    from sentral import web
    from store.store import Store

    app, socketio, engine, inbox, store = pure
    deployment = engine.deployment
    agent = dataclasses.replace(deployment.agents["a1000"], name=XSS)
    deployment = dataclasses.replace(deployment, agents={**deployment.agents, "a1000": agent})
    from engine.core import Engine
    other = Engine(deployment)
    app2, _ = web.build_app(store, lambda: deployment, lambda: other, secure_cookies=False, message_queue="")
    client = app2.test_client()
    login(client, "kari")
    page = client.get("/console/").get_data(as_text=True)
    assert XSS not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


def test_directory_of_another_agency_is_not_searched(directory):
    app, *_ = directory
    client = app.test_client()
    login(client, "kari")
    assert client.get("/console/api/directory?q=kari&tenant=nav").status_code == 403


@pytest.mark.parametrize("raw,shown", [("22241600", "22 24 16 00"), ("+4791520431", "915 20 431"),
                                       ("4791520431", "915 20 431"), ("004791520431", "915 20 431"),
                                       ("+46812345678", "+46 8 123 456 78"), ("", ""), ("anonymous", "anonymous")])
def test_caller_numbers_the_norwegian_way(raw, shown):
    assert phone(raw) == shown


def test_a_caller_with_markup_in_the_name_travels_as_text_in_the_state(pure):
    app, socketio, engine, inbox, _ = pure
    _, sio = connect(app, socketio, "kari")
    command(sio, name="login", queues=["helsedir-main"])
    engine.handle(ev.CallParked("fs1", "c1", "22001000", "4722241600", XSS, NOW, "helsedir", "helsedir-main"))
    engine.handle(ev.PlaybackFinished("fs1", "c1", "sentral/recording-notice.wav", NOW))
    sio.emit("refresh", namespace=NS, callback=True)
    state = received(sio, "console")[-1]
    assert state["call"]["caller_name"] == XSS and state["call"]["caller_display"] == "22 24 16 00"
    assert state["call"]["greeting"] == "Helsedirektoratet, god dag"
    assert state["call"]["tenant_name"] == "Helsedirektoratet"

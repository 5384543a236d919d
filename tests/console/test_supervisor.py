"""The supervisor page through the app `sentral run` serves (sentral.web.build_app) over a
pure engine: who gets the page and the socket, what each sees (their agencies only),
alarms, listen / whisper / barge / stop with the engine's notices, forced state changes,
callbacks, refusals (translated) and the audit trail of every action."""
from __future__ import annotations

import re

import pytest

from engine import effects as fx
from engine import events as ev
from tests.console.supervisor_fixtures import NS, World
from tests.helpers import until


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.close()


class Seen:
    """Everything a test socket received, kept (get_received drains)."""

    def __init__(self, sio):
        self.sio, self.all = sio, []

    def of(self, name: str) -> list:
        self.all += self.sio.get_received(NS)
        return [m["args"][0] for m in self.all if m["name"] == name]

    def last(self, name: str):
        items = self.of(name)
        return items[-1] if items else None

    def act(self, **msg) -> dict:
        return self.sio.emit("action", msg, namespace=NS, callback=True)


def connect(world, user) -> Seen:
    sio = world.socket(user)
    assert sio.is_connected(NS), user
    return Seen(sio)


def agent_row(state: dict, aid: str) -> dict | None:
    return next((a for a in state["agents"] if a["id"] == aid), None)


# -- who gets in -----------------------------------------------------------------------------

def test_page_needs_login_and_a_supervisor_role(world):
    assert world.app.test_client().get("/supervisor/").status_code == 302
    assert world.client("ola").get("/supervisor/").status_code == 403        # an operator
    assert world.client("emp").get("/supervisor/").status_code == 403
    page = world.client("siri").get("/supervisor/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    for testid in ("btn-listen", "btn-whisper", "btn-barge", "btn-stop", "btn-pause", "btn-available",
                   "btn-logout", "btn-wrapup-end", "pause-reason", "abandoned", "audit", "alarms", "my-monitor"):
        assert f'data-testid="{testid}"' in html, testid
    assert 'data-phone="siri"' in html and "<h1>Veileder</h1>" in html


def test_a_team_lead_without_a_phone_is_told_so_and_gets_no_listen_buttons(world):
    html = world.client("tor").get("/supervisor/").get_data(as_text=True)
    assert 'data-testid="no-phone"' in html and 'data-testid="btn-listen"' not in html
    assert 'data-testid="btn-pause"' in html


def test_socket_refused_to_anonymous_operators_and_employees(world):
    sio = world.socketio.test_client(world.app, namespace=NS, flask_test_client=world.app.test_client())
    assert not sio.is_connected(NS)
    for user in ("ola", "emp"):
        assert not world.socket(user).is_connected(NS), user


def test_each_supervisor_sees_only_their_agencies_queues_agents_and_calls(world):
    world.login("carl")
    world.talking("carl", "c-fv", queue="fv", number="4722241600")
    world.login("anna", "bodil")
    tor, siri = connect(world, "tor"), connect(world, "siri")
    seen_tor, seen_siri = tor.last("supervisor"), siri.last("supervisor")
    assert [q["id"] for q in seen_tor["queues"]] == ["nl"]
    assert {a["id"] for a in seen_tor["agents"]} == {"anna", "bodil"}         # carl serves fjordvik only
    assert {q["id"] for q in seen_siri["queues"]} == {"nl", "fv"}
    carl = agent_row(seen_siri, "carl")
    assert carl["call"]["caller"] == "22 24 16 00" and carl["call"]["tenant_name"] == "Fjordvik kommune"
    assert agent_row(seen_tor, "bodil")["steerable"] is False                # bodil also serves fjordvik
    assert agent_row(seen_tor, "anna")["steerable"] is True
    assert tor.last("lists") == {"abandoned": [], "audit": []}


def test_agent_row_shows_state_time_in_state_and_call_the_norwegian_way(world):
    world.login("anna")
    world.talking("anna", "c1", number="4791520431")
    world.s.advance(75)
    siri = connect(world, "siri")
    anna = agent_row(siri.last("supervisor"), "anna")
    assert anna["state"] == "on_call" and anna["state_label"] == "I samtale"
    assert anna["in_state"] == "1 min 15 s"
    assert anna["call"]["caller"] == "915 20 431" and anna["call"]["caller_name"] == "Per Ringer"
    assert anna["call"]["queue_name"] == "Sentralbord" and anna["call"]["talk"] == "1 min 15 s"
    assert anna["listenable"] is True and anna["monitored_by"] == []


# -- alarms -------------------------------------------------------------------------------------

def test_a_queue_crossing_its_thresholds_turns_red_with_an_alarm_event_and_since(world):
    world.login("anna")
    world.talking("anna", "c1")
    siri = connect(world, "siri")
    assert siri.last("supervisor")["alarms"] == []
    world.inbox.send(ev.CallParked("fs1", "c2", "22000000", "4790000002", "Venter", world.s.now))
    alarm = until(lambda: siri.of("alarm"), timeout=5, message="an alarm event")[0]
    assert (alarm["queue"], alarm["kind"], alarm["value"], alarm["threshold"]) == ("nl", "waiting", "1", "1")
    state = until(lambda: (st := siri.last("supervisor")) and st["alarms"] and st, timeout=5)
    nl = next(q for q in state["queues"] if q["id"] == "nl")
    assert nl["alarm"] == ["waiting"]
    assert state["alarms"][0]["since"] == "11:00"
    world.s.advance(61)
    until(lambda: "longest_wait" in next(q for q in siri.last("supervisor")["queues"] if q["id"] == "nl")["alarm"],
          timeout=5, message="longest wait alarm")
    assert [a["kind"] for a in siri.of("alarm")] == ["waiting", "longest_wait"]   # each raised once


# -- listening ------------------------------------------------------------------------------------

def test_listen_whisper_barge_and_stop_reach_the_engine_and_the_page(world):
    world.login("anna")
    agent_leg = world.talking("anna", "c1")
    siri = connect(world, "siri")
    assert siri.act(name="listen", agent="anna") == {"ok": True}
    (eavesdrop,) = [e for e in world.s.effects if isinstance(e, fx.Eavesdrop)]
    assert (eavesdrop.target, eavesdrop.mode, eavesdrop.sip_user) == (agent_leg, "listen", "sip-siri")
    world.inbox.send(ev.LegAnswered("fs1", eavesdrop.leg_uuid, world.s.now))   # siri's phone answers
    notice = until(lambda: siri.of("notice"), timeout=5)[-1]
    assert notice["topic"] == "monitor_started" and notice["label"] == "Lytter på Anna Aas"
    state = until(lambda: (st := siri.last("supervisor")) and agent_row(st, "anna")["monitored_by"] and st, timeout=5)
    assert agent_row(state, "anna")["monitored_by"][0]["mode_label"] == "Lytter"
    assert state["monitors"] == [{"phone": "siri", "agent": "anna", "mode": "listen", "mode_label": "Lytter",
                                  "answered": True}]
    for mode, label in (("whisper", "Hvisker"), ("barge", "Bryter inn")):
        assert siri.act(name=mode, agent="anna") == {"ok": True}
        until(lambda: any(n["topic"] == "monitor_changed" and n["mode"] == mode for n in siri.of("notice")), timeout=5)
        until(lambda: siri.last("supervisor")["monitors"][0]["mode_label"] == label, timeout=5)
    assert siri.act(name="stop") == {"ok": True}
    assert isinstance(world.inbox.posted[-1], ev.MonitorEnd) and world.inbox.posted[-1].supervisor == "siri"
    until(lambda: any(n["topic"] == "monitor_ended" for n in siri.of("notice")), timeout=5)
    actions = [(e.actor, e.action, e.target_id, e.tenant) for e in world.store.audit_entries()]
    assert actions == [("siri", "call.listen", "anna", "nordlys"), ("siri", "call.whisper", "anna", "nordlys"),
                       ("siri", "call.barge", "anna", "nordlys"), ("siri", "call.monitor_end", "siri", "nordlys")]


def test_engine_refusal_of_a_monitor_is_shown_translated(world):
    world.login("anna", "bodil")
    world.talking("anna", "c1")
    world.talking("bodil", "c2")
    siri = connect(world, "siri")
    assert siri.act(name="listen", agent="anna")["ok"]
    assert siri.act(name="listen", agent="bodil")["ok"]          # allowed by the rules; the engine says busy
    refused = until(lambda: siri.of("refused"), timeout=5)[-1]
    assert refused["error"] == "monitor.busy" and refused["message"] == "Telefonen din er opptatt: slutt å lytte først."


def test_listening_needs_a_phone_and_an_agent_on_a_call(world):
    world.login("anna")
    tor, siri = connect(world, "tor"), connect(world, "siri")
    reply = tor.act(name="listen", agent="anna")
    assert reply["error"] == "action.no_phone" and "ikke knyttet" in reply["message"]
    assert siri.act(name="listen", agent="anna")["error"] == "action.no_call"
    assert not [e for e in world.s.effects if isinstance(e, fx.Eavesdrop)]


# -- steering ----------------------------------------------------------------------------------------

def test_forced_pause_make_available_logout_and_end_wrapup(world):
    world.login("anna")
    siri = connect(world, "siri")
    assert siri.act(name="pause", agent="anna", reason="lunsj") == {"ok": True}
    assert world.s.state("anna") == "paused"
    state = until(lambda: (st := siri.last("supervisor")) and agent_row(st, "anna")["state"] == "paused" and st,
                  timeout=5)
    assert agent_row(state, "anna")["reason_label"] == "Lunsj"
    assert siri.act(name="available", agent="anna") == {"ok": True} and world.s.state("anna") == "available"
    assert siri.act(name="logout", agent="anna") == {"ok": True} and world.s.state("anna") == "logged_out"
    assert siri.act(name="pause", agent="anna", reason="sove")["error"] == "action.bad_reason"
    assert [(e.action, e.detail) for e in world.store.audit_entries()] == [
        ("agent.pause", {"reason": "lunsj"}), ("agent.available", {}), ("agent.logout", {})]


def test_a_team_lead_cannot_steer_an_agent_who_also_serves_another_agency_and_it_is_audited(world):
    world.login("anna", "bodil")
    tor = connect(world, "tor")
    reply = tor.act(name="pause", agent="bodil", reason="lunsj")
    assert reply == {"ok": False, "error": "action.denied",
                     "message": "Du har ikke lov til å gjøre dette for denne agenten eller virksomheten."}
    assert world.s.state("bodil") == "available"
    assert tor.act(name="pause", agent="anna", reason="lunsj") == {"ok": True}
    assert world.s.state("anna") == "paused"
    # a forged request for an agent of another agency only: refused the same way
    assert tor.act(name="logout", agent="carl")["error"] == "action.denied"
    entries = [(e.actor, e.action, e.target_id) for e in world.store.audit_entries()]
    assert entries == [("tor", "agent.pause.denied", "bodil"), ("tor", "agent.pause", "anna"),
                       ("tor", "agent.logout.denied", "carl")]
    # the page's audit view: the entries of nordlys (carl's is fjordvik's: not shown to tor)
    lists = until(lambda: (li := tor.last("lists")) and len(li["audit"]) == 2 and li, timeout=10)
    assert [(a["actor"], a["what"], a["whom"]) for a in lists["audit"]] == [
        ("tor", "Satt på pause", "Anna Aas"), ("tor", "Satt på pause: avvist", "Bodil Berg")]


def test_malformed_actions_are_refused_not_raised(world):
    siri = connect(world, "siri")
    for msg in ({"name": "explode", "agent": "anna"}, {"name": "pause", "agent": 7}, {"name": "listen"},
                {"name": "callback", "queue": "nl", "number": "12; rm"}):
        reply = siri.act(**msg)
        assert reply["ok"] is False and reply["message"], msg
    assert siri.sio.emit("action", "pause", namespace=NS, callback=True)["error"] == "action.invalid"


# -- call back ------------------------------------------------------------------------------------------

def test_callback_posts_the_engine_event_with_its_origin_and_is_audited(world):
    siri = connect(world, "siri")
    assert siri.act(name="callback", queue="nl", number="4791520431", origin="interaction-9") == {"ok": True}
    event = world.inbox.posted[-1]
    assert isinstance(event, ev.CallbackCreate)
    assert (event.queue, event.number, event.origin, event.by) == ("nl", "4791520431", "interaction-9", "siri")
    assert "callback_requested" in world.s.kinds()
    tor = connect(world, "tor")
    assert tor.act(name="callback", queue="fv", number="4791520431")["error"] == "action.denied"
    assert [(e.actor, e.action, e.target_id) for e in world.store.audit_entries()] == [
        ("siri", "call.callback", "nl"), ("tor", "call.callback.denied", "fv")]


def test_a_role_revoked_while_connected_takes_effect_at_the_next_action(world):
    world.login("anna")
    tor = connect(world, "tor")
    world.store.set_roles("tor", [("nordlys", "operator")])
    assert tor.act(name="pause", agent="anna", reason="lunsj")["error"] == "action.denied"
    assert world.s.state("anna") == "available"


def test_an_engine_refusal_of_a_callback_reaches_the_supervisor_who_asked_once(world):
    siri = connect(world, "siri")
    # the page accepts up to 32 digits; the engine dials at most 20 and refuses the rest
    assert siri.act(name="callback", queue="nl", number="4" * 25) == {"ok": True}
    refused = until(lambda: siri.of("refused"), timeout=5)
    assert [r["error"] for r in refused] == ["callback.invalid_number"] and refused[0]["message"]
    assert "callback_requested" not in world.s.kinds()


# -- navigation between the pages ---------------------------------------------------------------------

def _nav(world, user: str) -> set[str]:
    page = world.client(user).get("/directory/").get_data(as_text=True)
    header = page.split("<main>", 1)[0]
    return {label for label in ("Konsoll", "Veileder", "Tavle", "Brukere") if f">{label}</a>" in header}


def test_the_header_links_each_user_to_the_pages_their_roles_open(world):
    assert _nav(world, "siri") == {"Konsoll", "Veileder", "Tavle", "Brukere"}     # supervisor with a phone
    assert _nav(world, "tor") == {"Veileder", "Tavle", "Brukere"}                 # no bound agent: no console
    assert _nav(world, "ola") == set() and _nav(world, "emp") == set()            # no role that opens them
    assert _nav(world, "root") == {"Veileder", "Tavle", "Brukere"}


def test_the_supervisor_page_and_the_console_link_to_the_users_other_pages_in_their_language(world):
    siri = world.client("siri")
    html = siri.get("/supervisor/?lang=nb").get_data(as_text=True)
    nav = re.search(r"<nav>.*?</nav>", html, re.S).group(0)
    for href, text in (("/console/", "Konsoll"), ("/wallboard", "Tavle"), ("/admin/users/", "Brukere"),
                       ("/directory/", "Katalog")):
        assert f'href="{href}" data-testid="nav-link">{text}</a>' in nav, (href, nav)
    nav = re.search(r"<nav>.*?</nav>", siri.get("/console/?lang=en").get_data(as_text=True), re.S).group(0)
    assert 'href="/supervisor/" data-testid="nav-link">Supervisor</a>' in nav
    assert 'href="/directory/" data-testid="nav-link">Directory</a>' in nav
    ola = re.search(r"<nav>.*?</nav>", world.client("ola").get("/console/").get_data(as_text=True), re.S).group(0)
    assert 'href="/directory/"' in ola and 'href="/supervisor/"' not in ola   # only the pages her roles open


def test_the_audit_list_names_a_pause_reason_in_the_pages_language_not_by_its_id(world):
    from agent_ui import i18n, supervisor_state

    world.login("anna")
    siri = connect(world, "siri")
    assert siri.act(name="pause", agent="anna", reason="lunsj") == {"ok": True}
    lists = until(lambda: (li := siri.last("lists")) and li["audit"] and li, timeout=10)
    assert [(a["action"], a["detail"]) for a in lists["audit"]] == [("agent.pause", "Lunsj")]
    entries = world.store.audit_entries()
    reasons = world.s.deployment.pause_reasons
    with i18n.in_locale(world.app, "en"):
        assert [a["detail"] for a in supervisor_state.audit(entries, {}, reasons)] == ["Lunch"]
        assert [a["detail"] for a in supervisor_state.audit(entries, {})] == ["lunsj"]   # no configuration: the id

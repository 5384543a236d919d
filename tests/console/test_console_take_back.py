"""The console's take-back command ("recall") and its transfer targets: queues of every
agency and the operators of the viewer's agencies, listed by the directory search for a
user bound to an agent (never for one who is not)."""
from __future__ import annotations

import dataclasses

import pytest

from agent_ui.console_socket import BadCommand, to_event
from engine import events as ev
from engine.config import AgentConfig, QueueConfig, TenantConfig
from engine.core import Engine
from sentral import web
from store.store import Store
from tests.console.conftest import NOW, PureInbox, _registered, console_deployment, login, received, users

NS = "/console"


def test_the_recall_command_names_the_interaction_and_the_sessions_agent():
    assert to_event("a1000", {"name": "recall", "interaction": "ix-1", "agent": "a1001"}, NOW) == \
        ev.CallRecall("a1000", "ix-1", NOW)
    for bad in ({"name": "recall"}, {"name": "recall", "interaction": ""}, {"name": "recall", "interaction": 5},
                {"name": "recall", "interaction": "x" * 65}):
        with pytest.raises(BadCommand):
            to_event("a1000", bad, NOW)


@pytest.fixture
def shared(tmp_path):
    """Helsedirektoratet's switchboard (kari a1000, ola a1001) and NAV's (a2000) with an order queue."""
    from agent_ui.notices import Notices

    d = console_deployment()
    nav = TenantConfig("nav", "NAV Kontaktsenter", opening_hours=d.tenants["helsedir"].opening_hours)
    queues = {**d.queues, "nav-orders": QueueConfig("nav-orders", "nav", "Bestillinger"),
              "nav-main": QueueConfig("nav-main", "nav", "Sentralbord")}
    agents = {**d.agents, "a2000": AgentConfig("a2000", "Nina Navesen", "2000", {"nav-main": 1})}
    d = dataclasses.replace(d, tenants={**d.tenants, "nav": nav}, queues=queues, agents=agents)
    store = Store(f"sqlite:///{tmp_path / 'c.db'}", migrate=True, clock=lambda: NOW)
    engine = Engine(d)
    for ext in ("1000", "1001", "2000"):
        engine.handle(_registered(ext))
    users(store)
    notices = Notices()
    app, socketio = web.build_app(store, lambda: d, lambda: engine, secure_cookies=False, notices=notices,
                                  post=PureInbox(engine, notices, lambda: NOW), message_queue="")
    app.testing = True
    yield app, socketio, engine
    store.close()


def targets(client, q: str) -> list[dict]:
    return [h for h in client.get(f"/console/api/directory?q={q}").get_json()["hits"] if h["kind"] in ("queue", "user")]


def test_the_search_lists_every_agencys_queues_with_their_agency(shared):
    app, *_ = shared
    client = app.test_client()
    login(client, "kari")
    (orders,) = targets(client, "bestilling")
    assert (orders["target"], orders["tenant_name"], orders["name"]) == ("nav-orders", "NAV Kontaktsenter", "Bestillinger")
    boards = targets(client, "sentralbord")
    assert {h["target"] for h in boards} == {"helsedir-main", "nav-main"}
    assert {h["target"] for h in targets(client, "sentralbord nav")} == {"nav-main"}


def test_the_search_lists_the_operators_of_the_viewers_agencies_not_themselves(shared):
    app, _, engine = shared
    client = app.test_client()
    login(client, "kari")
    users_found = [h for h in targets(client, "agent") if h["kind"] == "user"]
    assert [(h["id"], h["target"]) for h in users_found] == [("a1001", "1001")]      # not kari, not NAV's nina
    assert users_found[0]["presence"]["label"] == "Avlogget" and "1001" in users_found[0]["title"]
    assert targets(client, "1001")[0]["target"] == "1001"
    assert targets(client, "nina") == []


def test_a_user_not_bound_to_an_agent_gets_no_transfer_targets(shared):
    app, *_ = shared
    client = app.test_client()
    login(client, "op")
    assert targets(client, "sentralbord") == []


def test_take_back_without_a_moved_call_is_refused_in_the_users_language(shared):
    app, socketio, _ = shared
    client = app.test_client()
    login(client, "kari")
    sio = socketio.test_client(app, namespace=NS, flask_test_client=client)
    assert sio.emit("command", {"name": "recall", "interaction": "interaction-9"}, namespace=NS,
                    callback=True) == {"ok": True}
    refused = received(sio, "refused")
    assert refused[-1]["error"] == "engine.no_call"
    assert sio.emit("command", {"name": "recall"}, namespace=NS, callback=True)["error"] == "console.bad_command"

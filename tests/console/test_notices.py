"""The engine's notices reach the consoles (issue 8 item 20): an agent paused by the engine
after unanswered offers is pushed to the wallboards of that agent's agency, through the
same EngineProcess and web app `sentral run` builds, over the simulator and PostgreSQL."""
from __future__ import annotations

import logging
import re

from engine import effects as fx
from sentral import web
from sentral.app import EngineProcess
from sentral.process import open_store
from tests.acd.conftest import MAIN_NUMBER, a_deployment, simulator  # noqa: F401 (fixture)
from tests.helpers import until


def _login(client, user, password):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": user, "password": password, "csrf_token": token})


def test_an_agent_paused_by_the_engine_is_pushed_to_its_agencys_wallboard(simulator, pg_url):
    deployment = a_deployment(simulator.port, agents=("1000",), database_url=pg_url, ring_timeout=1.0)
    simulator.add_user("1000", action="noanswer")
    store = open_store(pg_url)
    store.create_user("sup", "pw-sup-123456", roles=[("helsedir", "supervisor")])
    proc = EngineProcess(deployment, store, login_all=True).start(ready_timeout=10)
    try:
        apps = dict((name, app) for name, _, app in
                    web.run_apps(store, proc, deployment, web.WebOptions(secure_cookies=False)))
        app = apps["web"]
        app.testing = True
        socketio = app.extensions["socketio"]
        client = app.test_client()
        _login(client, "sup", "pw-sup-123456")
        watcher = socketio.test_client(app, namespace="/wallboard", flask_test_client=client)
        assert watcher.is_connected("/wallboard")
        simulator.place_call(MAIN_NUMBER, caller_number="4791234567", patience=600)

        seen = []
        until(lambda: seen.extend(m["args"][0] for m in watcher.get_received("/wallboard")
                                  if m["name"] == "notice") or seen, timeout=30, message="agent_paused pushed")
        assert seen[0]["topic"] == "agent_paused" and seen[0]["agent"] == "a1000"
    finally:
        proc.stop()
        store.close()


def test_engine_errors_are_logged_for_the_operator_of_the_engine_not_pushed(caplog):
    from agent_ui.notices import Notices
    hub, pushed = Notices(), []
    hub.subscribe(pushed.append)
    with caplog.at_level(logging.ERROR, logger="agent_ui.notices"):
        hub.publish(fx.Notify("engine_error", {"error_id": "engine.illegal_transition", "message": "x"}))
        hub.publish(fx.Notify("agent_changed", {"agent": "a1"}))
    assert pushed == [] and "engine.illegal_transition" in caplog.text
    hub.publish(fx.Notify("agent_paused", {"agent": "a1", "reason": "no_answer"}))
    assert [n.topic for n in pushed] == ["agent_paused"]


def test_a_notice_concerns_the_tenants_of_the_agents_queues_or_its_own_tenant():
    from agent_ui.notices import tenants_of
    from tests.engine.builders import a_deployment as deployment_of, a_queue, an_agent
    d = deployment_of(queues=[a_queue("sales", "acme"), a_queue("lonn", "nav")],
                      agents=[an_agent("alice", {"sales": 1}), an_agent("bob", {"sales": 1, "lonn": 1})])
    assert tenants_of(fx.Notify("agent_paused", {"agent": "alice"}), d) == {"acme"}
    assert tenants_of(fx.Notify("agent_paused", {"agent": "bob"}), d) == {"acme", "nav"}
    assert tenants_of(fx.Notify("queue_alarm", {"tenant": "nav"}), d) == {"nav"}
    assert tenants_of(fx.Notify("agent_paused", {"agent": "nobody"}), d) == set()

"""The console's fixtures: the web app `sentral run` serves (sentral.web.build_app), over a
pure engine whose inbox is `Engine.handle` (its Notify effects go to the same notices hub
the runtime publishes to), or over a real engine process on the simulator."""
from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone

import pytest

from agent_ui.notices import Notices
from engine import effects as fx
from engine.config import Reason
from engine.core import Engine
from sentral import web
from store.store import Store
from tests.acd.conftest import a_deployment

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
PASSWORDS = {"kari": "pw-kari-123456", "ola": "pw-ola-123456", "op": "pw-op-123456", "emp": "pw-emp-123456"}


def console_deployment(port: int = 8021, **kwargs):
    d = a_deployment(port, agents=("1000", "1001"), **kwargs)
    tenant = dataclasses.replace(d.tenants["helsedir"], greeting="Helsedirektoratet, god dag", message_from="sentralbord@helsedir.example")
    agents = {**d.agents, "a1000": dataclasses.replace(d.agents["a1000"], auto_answer=True)}   # kari's phone answers remotely
    return dataclasses.replace(
        d, tenants={"helsedir": tenant}, agents=agents,
        pause_reasons=(Reason("lunch", "Lunsj", "Lunch"), Reason("meeting", "Møte", "Meeting")),
        result_codes=(Reason("solved", "Løst", "Solved"), Reason("forwarded", "Satt over", "Forwarded")))


def users(store) -> None:
    store.create_user("kari", PASSWORDS["kari"], display_name="Kari Operatør", roles=[("helsedir", "operator")])
    store.bind_agent("kari", "a1000")
    store.create_user("ola", PASSWORDS["ola"], display_name="Ola Operatør", roles=[("helsedir", "operator")])
    store.bind_agent("ola", "a1001")
    store.create_user("op", PASSWORDS["op"], roles=[("helsedir", "operator")])          # not bound
    store.create_user("emp", PASSWORDS["emp"], roles=[("helsedir", "employee")])


class PureInbox:
    """The engine's inbox without a runtime: handle at once, Notify effects to the hub."""

    def __init__(self, engine: Engine, notices: Notices, clock):
        self.engine, self.notices, self.clock = engine, notices, clock
        self.posted: list = []

    def __call__(self, event) -> None:
        self.posted.append(event)
        for effect in self.engine.handle(event):
            if isinstance(effect, fx.Notify):
                self.notices.publish(effect)


def live_console(deployment, store, **engine_kw):
    """An engine process on `deployment` with the console users, and the web app `sentral
    run` serves for it (sentral.web.run_apps): yields (app, socketio, process, store)."""
    from sentral import web
    from sentral.app import EngineProcess

    users(store)
    proc = EngineProcess(deployment, store, **engine_kw).start(ready_timeout=10)
    try:
        apps = {name: app for name, _, app in web.run_apps(store, proc, deployment,
                                                               web.WebOptions(secure_cookies=False))}
        app = apps["web"]
        app.testing = True
        yield app, app.extensions["socketio"], proc, store
    finally:
        proc.stop()
        store.close()


@pytest.fixture
def pure(tmp_path):
    """(app, socketio, engine, inbox, store) over a pure engine; agents registered, logged out."""
    store = Store(f"sqlite:///{tmp_path / 'c.db'}", migrate=True, clock=lambda: NOW)
    deployment = console_deployment()
    engine = Engine(deployment)
    for ext in ("1000", "1001"):
        engine.handle(_registered(ext))
    users(store)
    notices = Notices()
    inbox = PureInbox(engine, notices, lambda: NOW)
    app, socketio = web.build_app(store, lambda: deployment, lambda: engine, secure_cookies=False,
                                  notices=notices, post=inbox, message_queue="")
    app.testing = True
    yield app, socketio, engine, inbox, store
    store.close()


def _registered(ext):
    from engine import events as ev
    return ev.RegistrationChanged(ext, True, NOW)


def login(client, user, password=None):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": user, "password": password or PASSWORDS[user],
                                       "csrf_token": token})


def csrf_of(client, path="/console/") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def received(sio, name, namespace="/console"):
    return [m["args"][0] for m in sio.get_received(namespace) if m["name"] == name]

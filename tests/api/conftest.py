"""The API's fixtures: the web app `sentral run` serves (sentral.web.build_app) over a pure
engine with two agencies (helsedir: the console's deployment; fjordvik: a queue and an
agent of its own), and tokens of each role."""
from __future__ import annotations

import dataclasses

import pytest

from agent_ui.notices import Notices
from engine.config import AgentConfig
from engine.core import Engine
from sentral import web
from store.store import Store
from tests.console.conftest import NOW, PureInbox, _registered, console_deployment, users


def two_agency_deployment(port: int = 8021, **kwargs):
    d = console_deployment(port, **kwargs)
    helsedir = d.tenants["helsedir"]
    queue = d.queues["helsedir-main"]
    fjordvik = dataclasses.replace(helsedir, id="fjordvik", name="Fjordvik kommune")
    fq = dataclasses.replace(queue, id="fjordvik-main", tenant="fjordvik", name="Fjordvik sentralbord")
    agent = AgentConfig("a2000", "Agent 2000", "2000", {fq.id: 1})
    return dataclasses.replace(d, tenants={**d.tenants, "fjordvik": fjordvik}, queues={**d.queues, fq.id: fq},
                               agents={**d.agents, "a2000": agent})


@dataclasses.dataclass
class Api:
    app: object
    socketio: object
    engine: Engine
    inbox: PureInbox
    store: Store
    notices: Notices

    def token(self, tenant: str, role: str, name: str = "test") -> str:
        return self.store.create_token(name, tenant, role, "test")[1]

    def client(self):
        return self.app.test_client()


@pytest.fixture
def api(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'api.db'}", migrate=True, clock=lambda: NOW)
    deployment = two_agency_deployment()
    engine = Engine(deployment)
    for ext in ("1000", "1001", "2000"):
        engine.handle(_registered(ext))
    users(store)
    notices = Notices()
    inbox = PureInbox(engine, notices, lambda: NOW)
    app, socketio = web.build_app(store, lambda: deployment, lambda: engine, secure_cookies=False,
                                  notices=notices, post=inbox, message_queue="")
    app.testing = True
    yield Api(app, socketio, engine, inbox, store, notices)
    app.extensions["sentral_webhooks"].stop()
    store.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}

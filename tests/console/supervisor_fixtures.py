"""The supervisor page's world: two agencies over a pure engine on a virtual clock.

nordlys (queue `nl`, alarms at 1 waiting, 60 s longest wait, 80 % service level) and
fjordvik (queue `fv`); agents anna (nl), bodil (nl + fv), carl (fv) and the supervisor
phone siri (no queues). Users: siri (supervisor of both, bound to the phone siri), tor
(team lead: supervisor of nordlys only, no phone), ola (operator of nordlys), root (admin
of every agency) and emp (employee).
"""
from __future__ import annotations

import re

from agent_ui.notices import Notices
from engine import effects as fx
from engine import events as ev
from engine.config import NodeConfig, QueueAlarms, Reason
from sentral import web
from store.store import Store
from tests.engine.builders import Scenario, a_deployment, a_queue, a_tenant, an_agent

PASSWORDS = {u: f"pw-{u}-123456" for u in ("siri", "tor", "ola", "root", "emp")}
NS = "/supervisor"


def deployment():
    import dataclasses

    d = a_deployment(
        queues=[a_queue("nl", "nordlys", name="Sentralbord", alarms=QueueAlarms(waiting=1, longest_wait=60,
                                                                                 service_level=80)),
                a_queue("fv", "fjordvik", name="Fjordvik sentralbord")],
        tenants=[a_tenant("nordlys", name="Nordlys helseforetak"), a_tenant("fjordvik", name="Fjordvik kommune")],
        agents=[an_agent("anna", {"nl": 1}, name="Anna Aas"), an_agent("bodil", {"nl": 1, "fv": 1}, name="Bodil Berg"),
                an_agent("carl", {"fv": 1}, name="Carl Dahl"), an_agent("siri", {}, name="Siri Sjef")])
    return dataclasses.replace(d, nodes=(NodeConfig("fs1", "127.0.0.1", 8021, "pw"),),
                               pause_reasons=(Reason("lunsj", "Lunsj", "Lunch"), Reason("mote", "Møte", "Meeting")))


def users(store) -> None:
    store.create_user("siri", PASSWORDS["siri"], display_name="Siri Sjef",
                      roles=[("nordlys", "supervisor"), ("fjordvik", "supervisor")])
    store.bind_agent("siri", "siri")
    store.create_user("tor", PASSWORDS["tor"], display_name="Tor Teamleder", roles=[("nordlys", "supervisor")])
    store.create_user("ola", PASSWORDS["ola"], roles=[("nordlys", "operator")])
    store.create_user("root", PASSWORDS["root"], roles=[("*", "admin")])
    store.create_user("emp", PASSWORDS["emp"], roles=[("nordlys", "employee")])


class Inbox:
    """The engine's inbox without a runtime: the scenario handles each event at once and
    its Notify effects go to the notices hub the web app listens to."""

    def __init__(self, scenario: Scenario, notices: Notices):
        self.s, self.notices = scenario, notices
        self.posted: list = []

    def __call__(self, event) -> list:
        self.posted.append(event)
        out = self.s.send(event)
        self.publish(out)
        return out

    def publish(self, out) -> None:
        for effect in out:
            if isinstance(effect, fx.Notify):
                self.notices.publish(effect)

    def send(self, event) -> list:
        """A channel event (not a command): handled and published the same way."""
        out = self.s.send(event)
        self.publish(out)
        return out


class World:
    def __init__(self, tmp_path):
        self.s = Scenario(deployment())
        self.store = Store(f"sqlite:///{tmp_path / 's.db'}", migrate=True, clock=lambda: self.s.now)
        users(self.store)
        self.notices = Notices()
        self.inbox = Inbox(self.s, self.notices)
        self.app, self.socketio = web.build_app(self.store, lambda: self.s.deployment, lambda: self.s.engine,
                                                secure_cookies=False, notices=self.notices, post=self.inbox,
                                                message_queue="")
        self.app.testing = True

    def client(self, user: str):
        client = self.app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        client.post("/login", data={"username": user, "password": PASSWORDS[user], "csrf_token": token})
        return client

    def socket(self, user: str):
        client = self.client(user)
        return self.socketio.test_client(self.app, namespace=NS, flask_test_client=client)

    def talking(self, agent: str, caller: str, queue: str = "nl", number: str = "4791520431") -> str:
        """A caller of `queue` talks to `agent` (only `agent` free among the queue's agents)."""
        self.inbox.send(ev.CallParked("fs1", caller, next(e.number for e in self.s.deployment.entry_points.values()
                                                          if e.queue == queue), number, "Per Ringer", self.s.now))
        leg = self.s.leg_of(agent)
        self.inbox.send(ev.LegAnswered("fs1", leg, self.s.now))
        self.inbox.send(ev.LegParked("fs1", leg, self.s.now))
        self.inbox.send(ev.Bridged("fs1", caller, leg, self.s.now))
        assert self.s.state(agent) == "on_call"
        return leg

    def login(self, *agents: str) -> None:
        for aid in agents:
            self.inbox.send(ev.RegistrationChanged(self.s.deployment.agents[aid].sip_user, True, self.s.now))
            self.inbox.send(ev.AgentLogin(aid, self.s.now))

    def close(self) -> None:
        self.store.close()


def received(sio, name: str) -> list:
    return [m["args"][0] for m in sio.get_received(NS) if m["name"] == name]

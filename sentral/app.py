"""The composition root of the engine process (STYLE 2): builds the node pool, the store
and its writer, the engine (recovered from the nodes' channels and the store), the
executor and the runtime, and wires them. No domain logic here.

Start-up order (restart without losing a call):
1. connect to every node; each connection's resync hook reads the node's live channels
   (`show channels as json`, then `uuid_dump <uuid> json` for each channel's cc_* variables)
   and the registered softphones (`sofia status profile internal reg`);
2. `engine.recovery.recover()` rebuilds the engine from those channels plus the stored
   agent states and open interactions;
3. the runtime starts; FreeSWITCH events queued meanwhile are processed after recovery
   (the engine tolerates the duplicates this can produce).
Later reconnects post a fresh NodeResynced through the same hook.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import unquote

import gevent
import gevent.event
import gevent.pool

from engine import effects as fx
from engine import events as ev
from engine.config import Deployment
from engine.recovery import recover
from esl import adapter, commands
from esl.errors import ESLError
from esl.executor import Executor
from esl.node import NodePool, NodeSpec
from sentral.runtime import Runtime
from store.writer import JournalWriter

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_dump(text: str) -> dict[str, str]:
    """`uuid_dump` output: JSON (`uuid_dump <uuid> json`) or `Name: value` lines (URL-encoded)."""
    text = text.strip()
    if text.startswith("{"):
        return json.loads(text)
    out = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            out[name] = unquote(value)
    return out


class EngineProcess:
    def __init__(self, deployment: Deployment, store, *, login_all: bool = False,
                 notify: Callable[[fx.Notify], None] | None = None,
                 clock: Callable[[], datetime] = _utcnow, node_options: dict | None = None):
        self.deployment = deployment
        self.store = store
        self.login_all = login_all
        self.notify = notify
        self.clock = clock
        self.pool = NodePool([NodeSpec(n.name, n.host, n.port, n.password) for n in deployment.nodes],
                             on_resync=self._on_resync, **(node_options or {}))
        self.runtime: Runtime | None = None
        self.writer: JournalWriter | None = None
        self._first: dict[str, tuple[ev.NodeResynced, set[str]]] = {}
        self._first_seen = gevent.event.Event()
        self._pump: gevent.Greenlet | None = None
        self.ready_at: float | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, ready_timeout: float = 30.0) -> "EngineProcess":
        started = time.monotonic()
        self.pool.start()
        deadline = started + ready_timeout
        while len(self._first) < len(self.pool) and time.monotonic() < deadline:
            self._first_seen.wait(max(0.0, deadline - time.monotonic()))
            self._first_seen.clear()
        missing = [n for n in self.pool if n not in self._first]
        if missing:
            log.warning("starting without node(s) %s: their calls wait for them", ", ".join(missing))
        stored_agents = [r.data for r in self.store.load_agent_states().values() if r.data]
        stored_calls = [r.data for r in self.store.open_interactions() if r.data]
        engine, effects = recover(self.deployment, {n: r.channels for n, (r, _) in self._first.items()},
                                  agents=stored_agents, interactions=stored_calls, at=self.clock())
        self.writer = JournalWriter(self.store).start()
        self.runtime = Runtime(engine, executor=Executor(self.pool, post=self._post, clock=self.clock),
                               writer=self.writer, notify=self.notify, clock=self.clock)
        self.runtime.start(effects)
        for _, (_, registered) in self._first.items():
            self._post_registrations(registered)
        if self.login_all:
            for aid, agent in engine.agents.items():
                if agent.state.value == "logged_out":
                    self._post(ev.AgentLogin(aid, self.clock()))
        self._pump = gevent.spawn(self._pump_events)
        self.ready_at = time.monotonic() - started
        log.info("engine ready in %.2f s: %d call(s) and %d agent record(s) recovered",
                 self.ready_at, len(engine.calls), len(stored_agents))
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._pump is not None:
            self._pump.kill(block=False)
        if self.runtime is not None:
            self.runtime.stop(timeout)
        if self.writer is not None:
            self.writer.stop(timeout)
        self.pool.stop(timeout)

    def reload(self, deployment: Deployment) -> None:
        """A new valid configuration: served at once to FreeSWITCH (xml_curl), applied by the
        engine through its inbox (calls in progress are not touched: engine/reload.py)."""
        if [(n.name, n.host, n.port) for n in deployment.nodes] != [(n.name, n.host, n.port) for n in self.deployment.nodes]:
            log.warning("FreeSWITCH node changes take effect at the next restart")
        self.deployment = deployment
        self._post(ev.ConfigReloaded(deployment, self.clock()))

    @property
    def engine(self):
        return self.runtime.engine if self.runtime else None

    # -- wiring -------------------------------------------------------------------------
    def _post(self, item) -> None:
        if self.runtime is not None:
            self.runtime.post(item)

    def _pump_events(self) -> None:
        inbox = self.pool.inbox
        while True:
            item = inbox.get()
            try:
                translated = adapter.translate(item.node, item.event, self.clock)
            except Exception:
                log.exception("could not translate %s from %s", item.event.name, item.node)
                continue
            if translated is not None:
                self.runtime.post(translated)

    def _post_registrations(self, registered: set[str]) -> None:
        now = self.clock()
        for agent in self.deployment.agents.values():
            self._post(ev.RegistrationChanged(agent.sip_user, agent.sip_user in registered, now))

    def _on_resync(self, node_name: str, rows: list[dict]) -> None:
        node = self.pool[node_name]
        uuids = [row["uuid"] for row in rows if row.get("uuid")]

        def dump(uuid: str):
            try:
                return adapter.snapshot_from_dump(node_name, parse_dump(node.api(commands.uuid_dump_json(uuid))))
            except ESLError as exc:  # the channel ended between the list and the dump
                log.debug("resync %s: %s gone (%s)", node_name, uuid, exc)
                return None

        snapshots = tuple(s for s in gevent.pool.Pool(64).imap(dump, uuids) if s is not None)
        try:
            registered = adapter.registered_users(node.api("sofia status profile internal reg"))
        except ESLError as exc:
            log.warning("resync %s: registrations unknown (%s)", node_name, exc)
            registered = set()
        resynced = ev.NodeResynced(node_name, snapshots, self.clock())
        if self.runtime is None:
            self._first[node_name] = (resynced, registered)
            self._first_seen.set()
            return
        self.runtime.post(resynced)
        self._post_registrations(registered)

"""Builders for ACD configuration and a scenario driver with a virtual clock.

`Scenario` feeds events to one Engine at the scenario's virtual time, keeps the timers
the engine schedules and fires them when the test advances the clock, and records
every effect and journal row.
"""
from __future__ import annotations

import itertools
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from engine import effects as fx
from engine import events as ev
from engine.config import (AgentConfig, Deployment, EntryPoint, Overflow, OverflowKind,
                           QueueConfig, TenantConfig)
from engine.core import Engine

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)   # a Wednesday, 11:00 in Oslo
NODE = "fs1"


def a_tenant(id="acme", **kw) -> TenantConfig:
    kw.setdefault("name", id.title())
    kw.setdefault("recording_notice", "")
    return TenantConfig(id=id, **kw)


def a_queue(id="sales", tenant="acme", **kw) -> QueueConfig:
    kw.setdefault("name", id.title())
    kw.setdefault("announce_every", 0)
    kw.setdefault("announce_position", False)
    kw.setdefault("announce_wait_time", False)
    kw.setdefault("wrapup", 0)
    kw.setdefault("no_agents", Overflow(OverflowKind.MESSAGE, prompt="closed.wav"))
    return QueueConfig(id=id, tenant=tenant, **kw)


def an_agent(id="alice", queues=None, **kw) -> AgentConfig:
    kw.setdefault("name", id.title())
    kw.setdefault("sip_user", f"sip-{id}")
    return AgentConfig(id=id, queues=queues if queues is not None else {"sales": 1}, **kw)


def a_deployment(queues=None, agents=None, tenants=None, entries=None) -> Deployment:
    queues = queues or [a_queue()]
    tenants = tenants or [a_tenant(t) for t in sorted({q.tenant for q in queues})]
    entries = entries or [EntryPoint(number=f"2200{n:04d}", tenant=q.tenant, queue=q.id)
                          for n, q in enumerate(queues)]
    return Deployment(tenants={t.id: t for t in tenants}, queues={q.id: q for q in queues},
                      agents={a.id: a for a in (agents if agents is not None else [an_agent()])},
                      entry_points={e.number: e for e in entries})


def number_of(deployment: Deployment, queue: str) -> str:
    return next(e.number for e in deployment.entry_points.values() if e.queue == queue)


class Scenario:
    def __init__(self, deployment: Deployment, seed: int = 7, engine: Engine | None = None, now=T0,
                 confirm_hangups: bool = True):
        self.deployment = deployment
        # as FreeSWITCH does: an agent leg the engine hangs up reports its CHANNEL_HANGUP
        # (tests of the races in between turn this off and send the events themselves)
        self.confirm_hangups = confirm_hangups
        counter = itertools.count(1)
        self.engine = engine or Engine(deployment, rng=random.Random(seed),
                                       new_id=lambda kind: f"{kind}-{next(counter)}")
        self.now = now
        self.timers: dict[str, datetime] = {}
        self.effects: list = []
        self.journal: list[fx.Journal] = []
        self._confirmed: list = []

    # feeding ------------------------------------------------------------------------
    def send(self, event) -> list:
        out = self._send(event)
        while self.confirm_hangups:
            closing = [e for e in out if isinstance(e, fx.Hangup) and e.uuid in self.engine.closing
                       and e not in self._confirmed]
            if not closing:
                break
            for h in closing:
                self._confirmed.append(h)
                out = out + self._send(ev.LegHungUp(h.node, h.uuid, h.cause, self.now))
        return out

    def _send(self, event) -> list:
        out = self.engine.handle(event)
        errors = [e.payload for e in out if isinstance(e, fx.Notify) and e.topic == "engine_error"]
        assert not errors, errors
        for effect in out:
            if isinstance(effect, fx.ScheduleTimer):
                self.timers[effect.key] = effect.at
            elif isinstance(effect, fx.CancelTimer):
                self.timers.pop(effect.key, None)
            elif isinstance(effect, fx.Journal):
                self.journal.append(effect)
        self.effects.extend(out)
        return out

    def take(self, effects_out) -> None:
        """Record effects produced outside send (recovery)."""
        self.send_effects(effects_out)

    def send_effects(self, out) -> None:
        for effect in out:
            if isinstance(effect, fx.ScheduleTimer):
                self.timers[effect.key] = effect.at
            elif isinstance(effect, fx.Journal):
                self.journal.append(effect)
        self.effects.extend(out)

    def advance(self, seconds: float) -> list:
        target = self.now + timedelta(seconds=seconds)
        fired = []
        while True:
            due = sorted((at, key) for key, at in self.timers.items() if at <= target)
            if not due:
                break
            at, key = due[0]
            del self.timers[key]
            self.now = max(self.now, at)
            fired += self.send(ev.TimerFired(key, self.now))
        self.now = target
        return fired

    # the caller ---------------------------------------------------------------------
    def call(self, uuid="caller-1", queue="sales", number="4791234567", **variables) -> list:
        return self.send(ev.CallParked(NODE, uuid, number_of(self.deployment, queue), number, "Kari",
                                       self.now, variables=variables))

    def hangup(self, uuid, cause="NORMAL_CLEARING") -> list:
        return self.send(ev.LegHungUp(NODE, uuid, cause, self.now))

    def fail(self, uuid, cause) -> list:
        return self.send(ev.LegFailed(NODE, uuid, cause, self.now))

    def answer(self, uuid) -> list:
        """The leg answers; a leg we originated then parks, as FreeSWITCH does 20 ms later
        (`answer_only` for the moment in between)."""
        out = self.send(ev.LegAnswered(NODE, uuid, self.now))
        if any(o.leg_uuid == uuid for o in self.originates()):
            out = out + self.send(ev.LegParked(NODE, uuid, self.now))
        return out

    def talk(self, caller: str, agent: str) -> str:
        """The agent's ringing leg for `caller` answers, parks and is bridged (as FreeSWITCH
        reports it): the call is talking. Returns the agent leg."""
        leg = self.leg_of(agent)
        self.answer(leg)
        self.send(ev.Bridged(NODE, caller, leg, self.now))
        return leg

    def repark(self, uuid) -> list:
        """A caller leg we know parks again: park_after_bridge, after the operator's leg left
        its bridge (a transfer or a park)."""
        return self.send(ev.CallParked(NODE, uuid, "", "4791234567", "Kari", self.now))

    def answer_only(self, uuid) -> list:
        return self.send(ev.LegAnswered(NODE, uuid, self.now))

    def played(self, uuid, prompt="") -> list:
        return self.send(ev.PlaybackFinished(NODE, uuid, prompt, self.now))

    def press(self, uuid, digit) -> list:
        return self.send(ev.DigitPressed(NODE, uuid, digit, self.now))

    # agents -------------------------------------------------------------------------
    def login(self, *agents, registered=True) -> None:
        for aid in agents:
            if registered:
                self.register(aid)
            self.send(ev.AgentLogin(aid, self.now))

    def register(self, aid, registered=True) -> list:
        return self.send(ev.RegistrationChanged(self.deployment.agents[aid].sip_user, registered, self.now))

    # looking at what happened ----------------------------------------------------------
    def of(self, kind, effects=None) -> list:
        return [e for e in (self.effects if effects is None else effects) if isinstance(e, kind)]

    def originates(self, effects=None) -> list[fx.Originate]:
        return self.of(fx.Originate, effects)

    def leg_of(self, agent: str) -> str:
        return [o for o in self.originates() if o.variables.get("cc_agent") == agent][-1].leg_uuid

    def offered_agents(self, effects=None) -> list[str]:
        return [o.variables["cc_agent"] for o in self.originates(effects)]

    def state(self, aid: str) -> str:
        return self.engine.agents[aid].state.value

    def kinds(self, interaction=None) -> list[str]:
        return [j.kind for j in self.journal if interaction is None or j.interaction == interaction]

    def interactions(self) -> dict[str, list[fx.Journal]]:
        rows = defaultdict(list)
        for j in self.journal:
            rows[j.interaction].append(j)
        return rows

    def assert_journal_exact(self) -> None:
        """Every interaction: seq 1..n without gap or duplicate, at most one `ended`, last."""
        for ix, rows in self.interactions().items():
            assert [r.seq for r in rows] == list(range(1, len(rows) + 1)), (ix, [(r.seq, r.kind) for r in rows])
            ended = [r for r in rows if r.kind == "ended"]
            assert len(ended) <= 1, (ix, [r.kind for r in rows])
            if ended:
                assert rows[-1].kind == "ended", (ix, [r.kind for r in rows])

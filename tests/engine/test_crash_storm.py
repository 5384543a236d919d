"""Random traffic against a small model of the node, a crash at a random moment, recovery,
more traffic: the journal stays exact (no gap, no duplicate, one `ended` per call, every
offer settled) and no call or agent is left stuck."""
from __future__ import annotations

import itertools
import random

import pytest

from engine import effects as fx
from engine import events as ev
from engine.config import Overflow, OverflowKind, Strategy
from engine.recovery import recover

from tests.engine.builders import NODE, Scenario, a_deployment, a_queue, an_agent
from tests.engine.test_recovery import store_of


class Node:
    """Just enough of FreeSWITCH: which legs live, which are answered and bridged."""

    def __init__(self, rng):
        self.rng = rng
        self.alive: dict[str, dict] = {}      # uuid -> cc_* variables
        self.answered: set[str] = set()
        self.bridged: dict[str, str] = {}
        self.pending: list = []               # events the node will report

    def apply(self, effects, now):
        for e in effects:
            if isinstance(e, fx.Originate):
                self.alive[e.leg_uuid] = dict(e.variables)
            elif isinstance(e, fx.SetVariables) and e.uuid in self.alive:
                self.alive[e.uuid].update(e.variables)
            elif isinstance(e, fx.Bridge) and e.a_uuid in self.alive and e.b_uuid in self.alive:
                self.bridged[e.a_uuid], self.bridged[e.b_uuid] = e.b_uuid, e.a_uuid
            elif isinstance(e, (fx.Hangup, fx.Transfer)) and e.uuid in self.alive:
                self.kill(e.uuid, now, getattr(e, "cause", "NORMAL_CLEARING"))

    def kill(self, uuid, now, cause):
        del self.alive[uuid]
        self.pending.append(ev.LegHungUp(NODE, uuid, cause, now))
        other = self.bridged.pop(uuid, None)
        if other is not None:
            self.bridged.pop(other, None)
            if other in self.alive:
                self.kill(other, now, "NORMAL_CLEARING")

    def snapshot(self, now):
        return tuple(ev.ChannelSnapshot(NODE, u, "ACTIVE", u in self.answered, "22000000", "4790000000", "",
                                        now, self.bridged.get(u, ""), v) for u, v in sorted(self.alive.items()))


def feed(s: Scenario, node: Node, event):
    node.apply(s.send(event), s.now)


def drain(s, node):
    while node.pending:
        e = node.pending.pop(0)
        feed(s, node, e)
        if node.rng.random() < 0.2:
            feed(s, node, e)                  # duplicated delivery


def traffic(s, node, rng, calls, start):
    for n in range(start, start + calls):
        uuid = f"c{n}"
        node.alive[uuid] = {}
        feed(s, node, ev.CallParked(NODE, uuid, "22000000", "4790000000", "", s.now))
        for _ in range(3):
            ringing = [u for u, v in node.alive.items() if "cc_agent" in v and u not in node.answered]
            r = rng.random()
            if ringing and r < 0.45:
                leg = rng.choice(ringing)
                node.answered.add(leg)
                feed(s, node, ev.LegAnswered(NODE, leg, s.now))
            elif ringing and r < 0.6:
                leg = rng.choice(ringing)
                node.kill(leg, s.now, rng.choice(["NO_ANSWER", "USER_BUSY", "CALL_REJECTED"]))
            elif r < 0.8:
                callers = [u for u, v in node.alive.items() if "cc_agent" not in v]
                if callers:
                    node.kill(rng.choice(callers), s.now, "NORMAL_CLEARING")
            drain(s, node)
            node.apply(s.advance(rng.choice([0, 1, 3, 10])), s.now)
            drain(s, node)


@pytest.mark.parametrize("seed", range(12))
def test_crash_at_a_random_moment_keeps_every_call_and_the_journal_exact(seed):
    rng = random.Random(seed)
    dep = a_deployment(queues=[a_queue(strategy=rng.choice(list(Strategy)), wrapup=2, max_wait=60,
                                       overflow=Overflow(OverflowKind.HANGUP))],
                       agents=[an_agent(f"a{i}") for i in range(3)])
    s = Scenario(dep, seed=seed)
    node = Node(rng)
    s.login("a0", "a1", "a2")
    traffic(s, node, rng, rng.randint(3, 15), 0)

    agents, calls = store_of(s)                                   # the crash: only store + node remain
    counter = itertools.count(1000)
    eng, effects = recover(dep, {NODE: node.snapshot(s.now)}, agents, calls, at=s.now,
                           rng=random.Random(seed), new_id=lambda kind: f"{kind}-{next(counter)}")
    s2 = Scenario(dep, engine=eng, now=s.now)
    s2.journal, s2.effects = list(s.journal), list(s.effects)
    s2.send_effects(effects)
    node.apply(effects, s2.now)
    drain(s2, node)
    traffic(s2, node, rng, 10, 100)

    for _ in range(5):                                            # everybody hangs up
        for uuid in list(node.alive):
            if uuid in node.alive:                                # a bridged partner may be gone already
                node.kill(uuid, s2.now, "NORMAL_CLEARING")
        drain(s2, node)
        node.apply(s2.advance(100), s2.now)
        drain(s2, node)
    s2.assert_journal_exact()
    assert not s2.engine.calls, [(ix.id, ix.state) for ix in s2.engine.calls.values()]
    for ixid, rows in s2.interactions().items():
        kinds = [r.kind for r in rows]
        assert kinds[-1] == "ended", (ixid, kinds)
        settled = sum(kinds.count(k) for k in ("answered", "no_answer", "rejected", "busy", "offer_failed",
                                               "offer_cancelled"))
        assert kinds.count("offered") == settled, (ixid, kinds)
    assert {a.state.value for a in s2.engine.agents.values()} <= {"available", "paused"}

"""The incremental queue indexes agree with a full scan after any sequence of agent changes."""
from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.agents import Agent, AgentState
from engine.config import Strategy
from engine.queues import QueueIndex
from engine.routing import STRATEGY_KEYS

from tests.engine.builders import T0, a_deployment, a_queue, an_agent

ORDERED = [s for s in Strategy if s not in (Strategy.RANDOM, Strategy.RING_ALL)]
N = 12


def world(strategy):
    rng = random.Random(3)
    queues = [a_queue("q1", strategy=strategy), a_queue("q2", strategy=strategy)]
    agents = [an_agent(f"a{i}", queues={"q1": 1 + i % 3, **({"q2": 1} if i % 2 else {})}) for i in range(N)]
    dep = a_deployment(queues=queues, agents=agents)
    records = {aid: Agent(cfg, registered=True, idle_since=T0 + timedelta(seconds=rng.randrange(100)),
                          calls_answered=rng.randrange(5), talk_time=float(rng.randrange(50)))
               for aid, cfg in dep.agents.items()}
    return QueueIndex(dep, random.Random(1)), records


def naive(index, records, qid, top=None):
    best = None
    for aid, agent in records.items():
        level = agent.config.queues.get(qid)
        if level is None or not agent.routable or (top is not None and level > top):
            continue
        key = (level, STRATEGY_KEYS[index.queues[qid].config.strategy](agent, qid, index.order[aid], index.rng))
        if best is None or key < best[0]:
            best = (key, aid)
    return [best[1]] if best else []


@settings(max_examples=40, deadline=None)
@given(strategy=st.sampled_from(ORDERED),
       ops=st.lists(st.tuples(st.integers(0, N - 1), st.sampled_from(["available", "offered", "paused",
                                                                      "unregister", "register"])),
                    max_size=200))
def test_pick_equals_a_full_scan_after_any_changes(strategy, ops):
    index, records = world(strategy)
    for n, action in ops:
        agent = records[f"a{n}"]
        if action == "unregister":
            agent.registered = False
        elif action == "register":
            agent.registered = True
        else:
            agent.state = AgentState(action)
        index.sync(agent)
        for qid in ("q1", "q2"):
            assert index.pick(qid, None, lambda _: True) == naive(index, records, qid)
            assert index.pick(qid, 1, lambda _: True) == naive(index, records, qid, top=1)
            live = {aid for aid, a in records.items() if a.routable and qid in a.config.queues}
            assert set(index.queues[qid].live) == live
            assert sorted(index.pick(qid, None, lambda _: True, every=True)) == sorted(live)


def test_heaps_are_compacted_when_stale_entries_pile_up():
    index, records = world(Strategy.LONGEST_IDLE)
    agent = records["a1"]
    for _ in range(500):
        agent.state = AgentState.AVAILABLE
        index.sync(agent)
        agent.state = AgentState.OFFERED
        index.sync(agent)
    heap_sizes = sum(len(h) for h in index.queues["q1"].pools.values())
    assert heap_sizes < 150

"""Routing decision latency and memory per waiting call (scripts/bench routing).

Builds 2,000 agents in 500 queues (each agent in 3-5 queues, levels 1-3, every
strategy represented), parks 5,000 waiting callers, then measures in the same run:
* call-first decision (a call needs an agent): the engine's indexed pick vs a naive
  scan of all agents (what a "SELECT ... every 100 ms" design does per decision);
* agent-first decision (an agent frees up: which waiting call across its queues):
  the engine's per-queue sorted lists vs a naive scan of all waiting calls;
* a whole decision through `Engine.handle` (AgentResume -> Originate effects);
* memory per waiting call (tracemalloc, everything the engine keeps for it);
* the engine's CPU per call through the whole flow (park, offer, answer, bridge, both
  hang-ups, journal and snapshots), 50 agents: what the engine costs at N calls/s.
Pure engine, no I/O. Prints progress; results go to BENCHMARKS.md by hand.
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import effects as fx  # noqa: E402
from engine import events as ev  # noqa: E402
from engine import offers  # noqa: E402
from engine.config import (AgentConfig, Deployment, EntryPoint, Overflow, OverflowKind, QueueConfig,  # noqa: E402
                           Strategy, TenantConfig, TierRule)
from engine.core import Engine  # noqa: E402
from engine.interactions import ROUTABLE  # noqa: E402
from engine.routing import STRATEGY_KEYS, eligible, max_level  # noqa: E402

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
SKILLS = ("norwegian", "english", "sami", "orders")


def deployment(n_agents: int, n_queues: int, rng: random.Random) -> Deployment:
    strategies = [s for s in Strategy if s is not Strategy.RING_ALL]
    tenants = {f"t{i}": TenantConfig(id=f"t{i}", name=f"Agency {i}") for i in range(n_queues // 10 or 1)}
    queues = {}
    for i in range(n_queues):
        queues[f"q{i}"] = QueueConfig(
            id=f"q{i}", tenant=f"t{i % len(tenants)}", name=f"Queue {i}", strategy=strategies[i % len(strategies)],
            priority=rng.choice((0, 0, 0, 5, 10)), max_wait=86400, announce_every=0,
            announce_position=False, announce_wait_time=False,
            tiers=(TierRule(2, 30), TierRule(3, 60)) if i % 3 == 0 else (),
            required_skills=frozenset({rng.choice(SKILLS)}) if i % 7 == 0 else frozenset(),
            no_agents=Overflow(OverflowKind.HANGUP))
    qids = list(queues)
    agents = {}
    for i in range(n_agents):
        serve = rng.sample(qids, rng.randint(3, 5))
        agents[f"a{i}"] = AgentConfig(id=f"a{i}", name=f"Agent {i}", sip_user=f"u{i}",
                                      queues={q: rng.randint(1, 3) for q in serve},
                                      skills=frozenset(rng.sample(SKILLS, 2)))
    entries = {f"2{i:07d}": EntryPoint(f"2{i:07d}", queues[q].tenant, q) for i, q in enumerate(qids)}
    return Deployment(tenants=tenants, queues=queues, agents=agents, entry_points=entries)


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    s = sorted(samples_ns)
    return s[len(s) // 2] / 1000, s[min(len(s) - 1, int(len(s) * 0.99))] / 1000


def measure(fn, inputs):
    """Wall and CPU (thread) time of fn(x) for each input, in ns; the results."""
    gc.collect()
    wall, cpu, results = [], [], []
    for x in inputs:
        t, c = time.perf_counter_ns(), time.thread_time_ns()
        results.append(fn(x))
        cpu.append(time.thread_time_ns() - c)
        wall.append(time.perf_counter_ns() - t)
    return wall, cpu, results


def naive_pick(eng: Engine, qid: str, waited: float):
    """Baseline: look at every agent for every decision."""
    q = eng.deployment.queues[qid]
    top = max_level(q, waited)
    best = None
    for n, agent in enumerate(eng.agents.values()):
        level = agent.config.queues.get(qid)
        if level is None or not agent.routable or not q.required_skills <= agent.config.skills:
            continue
        if top is not None and level > top:
            continue
        key = (level, STRATEGY_KEYS[q.strategy](agent, qid, n, eng.rng))
        if best is None or key < best[0]:
            best = (key, agent.id)
    return best and best[1]


def naive_next_call(eng: Engine, agent):
    """Baseline: look at every waiting call for every decision."""
    best, best_rank = None, None
    for ix in eng.calls.values():
        level = agent.config.queues.get(ix.queue)
        if level is None or ix.state not in ROUTABLE:
            continue
        q = eng.deployment.queues[ix.queue]
        if not q.required_skills <= agent.config.skills or not eligible(q, level, ix.waited(eng.now)):
            continue
        rank = (-q.priority,) + ix.sort_key()
        if best_rank is None or rank < best_rank:
            best, best_rank = ix, rank
    return best


def call_flow_cpu(calls: int) -> float:
    """CPU seconds per call for the whole flow through Engine.handle."""
    queue = QueueConfig(id="q", tenant="t", name="Q", wrapup=0, announce_every=0)
    dep = Deployment(tenants={"t": TenantConfig(id="t", name="T")}, queues={"q": queue},
                     agents={f"a{i}": AgentConfig(id=f"a{i}", name="A", sip_user=f"u{i}", queues={"q": 1})
                             for i in range(50)},
                     entry_points={"22000000": EntryPoint("22000000", "t", "q")})
    eng = Engine(dep, rng=random.Random(1))
    for aid, cfg in dep.agents.items():
        eng.handle(ev.RegistrationChanged(cfg.sip_user, True, T0))
        eng.handle(ev.AgentLogin(aid, T0))
    gc.collect()
    started = time.process_time()
    now = T0
    for i in range(calls):
        now += timedelta(milliseconds=5)
        out = eng.handle(ev.CallParked("fs1", f"c{i}", "22000000", "4790000000", "", now))
        leg = next(e.leg_uuid for e in out if isinstance(e, fx.Originate))
        eng.handle(ev.LegAnswered("fs1", leg, now))
        eng.handle(ev.Bridged("fs1", f"c{i}", leg, now))
        eng.handle(ev.LegHungUp("fs1", f"c{i}", "NORMAL_CLEARING", now))
        eng.handle(ev.LegHungUp("fs1", leg, "NORMAL_CLEARING", now))
    return (time.process_time() - started) / calls


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agents", type=int, default=2000)
    p.add_argument("--queues", type=int, default=500)
    p.add_argument("--calls", type=int, default=5000)
    p.add_argument("--decisions", type=int, default=5000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    rng = random.Random(a.seed)
    print(f"building {a.agents} agents in {a.queues} queues ...", flush=True)
    dep = deployment(a.agents, a.queues, rng)
    eng = Engine(dep, rng=random.Random(a.seed))
    now = T0
    for aid, cfg in dep.agents.items():
        eng.handle(ev.RegistrationChanged(cfg.sip_user, True, now))
        eng.handle(ev.AgentLogin(aid, now))
        eng.handle(ev.AgentPause(aid, "setup", now))
    numbers = list(dep.entry_points)
    print(f"parking {a.calls} waiting callers (memory measured) ...", flush=True)
    tracemalloc.start()
    gc.collect()
    before = tracemalloc.take_snapshot()
    for i in range(a.calls):
        now = T0 + timedelta(milliseconds=i)
        eng.handle(ev.CallParked("fs1", f"c{i}", numbers[i % len(numbers)], f"479{i:05d}", "", now))
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    per_call = grown / a.calls
    waiting = sum(len(q.waiting) for q in eng.index.queues.values())
    print(f"  waiting calls: {waiting}, memory per waiting call: {per_call:.0f} bytes", flush=True)
    eng.now = now + timedelta(seconds=45)

    gc.collect()
    print("agent-first decisions (an agent frees up) ...", flush=True)
    agents = list(eng.agents.values())
    chosen = [agents[rng.randrange(len(agents))] for _ in range(a.decisions)]
    fast, fast_cpu, xs = measure(lambda ag: offers.next_call(eng, ag), chosen)
    slow, slow_cpu, ys = measure(lambda ag: naive_next_call(eng, ag), chosen)
    assert [x is None for x in xs] == [y is None for y in ys], "indexed and naive agent-first disagree"
    agent_first = (percentiles(fast), percentiles(slow), percentiles(fast_cpu), percentiles(slow_cpu))

    print("call-first decisions (half the agents available) ...", flush=True)
    free = Engine(dep, rng=random.Random(a.seed))
    for n, (aid, cfg) in enumerate(dep.agents.items()):
        free.handle(ev.RegistrationChanged(cfg.sip_user, True, T0))
        free.handle(ev.AgentLogin(aid, T0 + timedelta(seconds=n)))
        if n % 2:
            free.handle(ev.AgentPause(aid, "busy", T0))
    qids = list(dep.queues)
    gc.collect()
    asks = [(qids[rng.randrange(len(qids))], rng.choice((0.0, 45.0, 90.0))) for _ in range(a.decisions)]
    fast, fast_cpu, xs = measure(lambda qw: free.index.pick(qw[0], max_level(dep.queues[qw[0]], qw[1]),
                                                            lambda _: True), asks)
    slow, slow_cpu, ys = measure(lambda qw: naive_pick(free, qw[0], qw[1]), asks)
    for (qid, _), x, y in zip(asks, xs, ys):
        if dep.queues[qid].strategy is not Strategy.RANDOM:
            assert (x[0] if x else None) == y, f"indexed and naive disagree on {qid}"
    call_first = (percentiles(fast), percentiles(slow), percentiles(fast_cpu), percentiles(slow_cpu))

    print("whole decisions through Engine.handle (resume an agent -> offer) ...", flush=True)
    paused = [ag for ag in agents if ag.state.value == "paused"]
    rng.shuffle(paused)
    handle, handle_cpu, _ = measure(lambda ag: eng.handle(ev.AgentResume(ag.id, eng.now)),
                                    paused[:min(a.decisions, 1500)])
    offers_made = sum(1 for ag in agents if ag.state.value == "offered")
    whole = percentiles(handle) + percentiles(handle_cpu)

    print("whole call flow through the engine (CPU) ...", flush=True)
    per_call_cpu = call_flow_cpu(a.decisions)

    print()
    print(f"routing: {a.agents} agents, {a.queues} queues, {waiting} waiting calls, {a.decisions} decisions each")
    print(f"{'decision':<26}{'p50 µs':>9}{'p99 µs':>9}{'naive p50':>11}{'naive p99':>11}"
          f"{'p99 ratio':>10}{'cpu p99':>9}{'naive cpu p99':>15}")
    for name, ((f50, f99), (n50, n99), (_, c99), (_, nc99)) in (("agent-first (next call)", agent_first),
                                                                 ("call-first (pick agent)", call_first)):
        print(f"{name:<26}{f50:>9.1f}{f99:>9.1f}{n50:>11.1f}{n99:>11.1f}{n99 / f99:>9.1f}x{c99:>9.1f}{nc99:>15.1f}")
    print(f"{'Engine.handle(resume)':<26}{whole[0]:>9.1f}{whole[1]:>9.1f}{'':>41}{whole[3]:>9.1f}"
          f"   ({offers_made} offers made)")
    print(f"memory per waiting call: {per_call:.0f} bytes")
    print(f"whole call flow: {per_call_cpu * 1e6:.0f} µs CPU per call in the engine "
          f"(~{1 / per_call_cpu:.0f} calls/s of one core)")
    print("load average during the run: %.2f %.2f %.2f (on %d cores)" % (*os.getloadavg(), os.cpu_count()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

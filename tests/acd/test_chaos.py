"""Chaos: thousands of calls through a simulator that answers in the orders a real
FreeSWITCH produces (tests/data/esl-corpus/FACTS.md "Timing facts": originate jobs that
report after their leg answered, a bridge that cancels the job, show channels lagging,
jobs outliving the Event Socket, 20 ms event ticks), with Event Socket drops and engine
SIGKILLs, against a real `sentral run` process and PostgreSQL.

What must hold for every call, whatever the order:
* every caller is either served (bridged to an agent leg until the agent's own talk time
  ended it) or hung up by themselves (patience) while waiting: no caller is lost;
* no agent is offered a call (a new leg to their phone) while on an answered leg;
* no channel is left in the switch once the traffic is over;
* the journal says what the switch did: a served caller's interaction has one `bridged`
  row and its last `answered` row names the agent leg it was bridged to (an agent whose
  leg ended before the bridge, e.g. while the engine was down, is an `agent_left` row and
  the caller went back to the queue); a caller who hung up unserved has no `bridged` row,
  and either `abandoned` or (the caller left in the few ms between an agent's answer and
  the bridge) `answered` then `talk_ended` by the caller; when both legs ended while the
  engine was down it journals `talk_ended` by "unseen" (FreeSWITCH keeps no history);
  every interaction exactly one `ended`, no gap in any sequence.

The switch is observed from inside the simulator (its channels and bridges), not over the
Event Socket, so the drops do not blind the observer. `SENTRAL_CHAOS_CALLS` and
`SENTRAL_CHAOS_SEED` change the load and the seed (defaults: 2,000 calls, seed 7).
"""
from __future__ import annotations

import os
import pathlib
import random
import time
from collections import defaultdict

import gevent
import pytest

from esl.sim import apps
from store.store import Store
from tests.acd.conftest import MAIN_NUMBER, PASSWORD, a_deployment, sim_dialplan
from tests.acd.engine_proc import EngineProc
from tests.helpers import until

CONFIG = pathlib.Path(__file__).resolve().parent.parent / "data" / "acd" / "chaos.yaml"
CALLS = int(os.environ.get("SENTRAL_CHAOS_CALLS", "2000"))
SEED = int(os.environ.get("SENTRAL_CHAOS_SEED", "7"))
RATE = 12.0                      # calls per second (16 of 20 agents answer, 1 s talk: a queue builds)
TALK = 1.0                       # every answering agent talks this long, then hangs up
KILL_EVERY = 25.0                # seconds between engine SIGKILLs
DROP_EVERY = 9.0                 # mean seconds between Event Socket drops (the simulator's chaos)
AGENTS = {f"{1000 + i}": ("answer" if i < 16 else "reject" if i < 18 else "noanswer") for i in range(20)}


class Observer:
    """What the switch did, seen from inside the simulator."""

    def __init__(self, sim):
        self.sim = sim
        self.callers: dict[str, dict] = {}
        self.legs: dict[str, dict] = {}           # agent legs: uuid -> {ext, answered, hangup, ...}
        self.live_answered: dict[str, set[str]] = defaultdict(set)   # ext -> answered live legs
        self.double_offers: list[tuple[str, str]] = []
        # caller uuid -> the last agent leg it was bridged to: an agent leg that ends in the
        # ms between uuid_bridge and the bridge taking leaves the caller parked
        # (park_after_bridge), back in the queue and served by the next agent
        self.pairs: dict[str, str] = {}
        switch = sim.switch
        add, join = switch.add, switch.join

        def observed_add(ch):
            add(ch)
            if ch.variables.get("cc_caller_uuid"):
                # a transfer's or a consult's target leg (tests/acd/test_chaos_control.py) is no offer
                target = bool(ch.variables.get("cc_transfer") or ch.variables.get("cc_consult"))
                ext = "" if target else ch.variables.get("dialed_user", "")
                if not target and self.live_answered[ext]:
                    self.double_offers.append((ext, ch.uuid))
                self.legs[ch.uuid] = {"ext": ext, "answered": None, "hangup": None, "target": target,
                                      "caller": ch.variables["cc_caller_uuid"]}
                ch.watchers.append(self._agent_leg)
            return ch

        def observed_join(a, b):
            join(a, b)
            for caller, leg in ((a, b), (b, a)):
                if caller.uuid in self.callers and leg.uuid in self.legs:
                    self.pairs[caller.uuid] = leg.uuid
                    self.callers[caller.uuid]["bridged"] = time.monotonic()
                    self.bridged(caller, leg)

        switch.add, switch.join = observed_add, observed_join

    def bridged(self, caller, leg) -> None:
        """A caller was bridged to one of our legs (a hook for the call-control test)."""

    def _agent_leg(self, ch, what):
        leg = self.legs[ch.uuid]
        if what == "answer":
            leg["answered"] = time.monotonic()
            if not leg["target"]:
                self.live_answered[leg["ext"]].add(ch.uuid)
        elif what == "hangup" and leg["hangup"] is None:
            leg["hangup"], leg["cause"] = time.monotonic(), ch.hangup_cause
            self.live_answered[leg["ext"]].discard(ch.uuid)

    def place(self, rng: random.Random) -> None:
        ch = self.sim.place_call(MAIN_NUMBER, caller_number=f"479{rng.randrange(10**7):07d}")
        record = {"bridged": None, "abandoned": False, "hangup": None, "cause": "", "placed": time.monotonic()}
        self.callers[ch.uuid] = record
        patience = rng.uniform(1.0, 12.0)

        def give_up():                            # the caller's patience ran out before an agent
            if record["bridged"] is None and not ch.hanging:
                record["abandoned"] = True
                ch.hangup("ORIGINATOR_CANCEL" if ch.answer_state != "answered" else "NORMAL_CLEARING")
                apps.start_runner(ch)

        def hung_up(_ch, what):
            if what == "hangup" and record["hangup"] is None:
                record["hangup"], record["cause"] = time.monotonic(), ch.hangup_cause

        ch.watchers.append(hung_up)
        gevent.spawn_later(patience, give_up)

    def outcome(self, uuid: str) -> str:
        c = self.callers[uuid]
        if c["bridged"] is None:
            return "abandoned" if c["abandoned"] else f"lost before an agent ({c['cause']})"
        leg = self.legs[self.pairs[uuid]]
        talked = (leg["hangup"] or 0) - (leg["answered"] or 0)
        if leg["hangup"] is None or c["hangup"] is None or leg["hangup"] > c["hangup"] + 0.001:
            return f"lost while bridged: the caller was hung up first ({c['cause']})"
        if talked < 0.9 * TALK:
            return f"lost while bridged: the agent leg ended after {talked:.3f} s ({leg.get('cause')})"
        return "served"


def _journal_says(outcome: str, rows, bridged_leg: str | None) -> bool:
    """Whether an interaction's journal rows tell the outcome the switch showed."""
    kinds = [r.kind for r in rows]
    answered = [r for r in rows if r.kind == "answered"]
    left = [r for r in rows if r.kind == "agent_left"]        # answered, gone before the bridge
    if kinds.count("ended") != 1:
        return False
    # both legs ended while the engine was down: it journals what it saw, `talk_ended` by "unseen"
    unseen = [r for r in rows if r.kind == "talk_ended" and r.data.get("by") == "unseen"]
    if outcome == "served":
        return bool(answered) and answered[-1].data.get("leg") == bridged_leg and len(answered) == len(left) + 1 \
            and (kinds.count("bridged") == 1 or bool(unseen)) and "abandoned" not in kinds
    # never bridged: abandoned while waiting, or the caller left in the few ms between an
    # agent's answer and the bridge (answered, talk_ended by the caller)
    by_caller = [r for r in rows if r.kind == "talk_ended" and r.data.get("by") == "caller"]
    return "bridged" not in kinds and (("abandoned" in kinds and len(answered) == len(left))
                                       or (len(answered) == len(left) + 1 and bool(by_caller or unseen)))


def _story(engine, pg_url, uuids) -> str:
    """What the engine's log and the journal say of some callers (for a failure message)."""
    store = Store(pg_url)
    try:
        out = []
        log_lines = engine.log().splitlines()
        rows = store.journal()
        owner = {ixid: store.interaction(ixid) for ixid in {r.interaction for r in rows}}
        for uuid in uuids:
            ixids = {ixid for ixid, rec in owner.items() if rec is not None and rec.caller_uuid == uuid}
            mine = [row for row in rows if row.interaction in ixids]
            names = {uuid, *ixids, *(row.data.get("leg", "") for row in mine)} - {""}
            out.append(f"--- {uuid} {sorted(ixids)}")
            out += [line for line in log_lines if any(n in line for n in names)][:30]
            out += [f"  journal {row.seq} {row.at.time()} {row.kind} {dict(row.data)}" for row in mine]
        return "\n".join(out)
    finally:
        store.close()


def restart(engine, sim, observer) -> tuple[float, float]:
    """SIGKILL the engine and start it again -> (killed, ready), monotonic.

    The kill waits until every caller still on has been seen by the engine (its channel
    carries the cc_interaction_id the engine sets once the arrival is in the store): a
    caller who arrives and hangs up while no engine listens leaves no trace anywhere
    (FreeSWITCH keeps no history of ended channels), so no journal could ever show them."""
    def seen() -> bool:
        return all(ch.variables.get("cc_interaction_id") for uuid in observer.callers
                   if (ch := sim.channels.get(uuid)) is not None and not ch.hanging)

    until(seen, timeout=30, message="every caller on the switch seen by the engine before its kill")
    engine.kill()
    down = time.monotonic()
    engine.start()
    return down, time.monotonic()


def _unseen_story(observer, uuid: str, started: float, outages) -> str:
    """When a caller the journal never heard of lived, against the engine's outages."""
    c = observer.callers[uuid]
    at = lambda t: f"{t - started:.3f}" if t is not None else "-"   # noqa: E731
    return (f"{uuid} placed {at(c['placed'])} hung up {at(c['hangup'])} ({c['cause']}, abandoned={c['abandoned']}); "
            f"engine outages {[(at(a), at(b)) for a, b in outages]}")


@pytest.fixture
def chaotic():
    from esl.sim.server import Simulator

    sim = Simulator(password=PASSWORD, time_factor=1.0, heartbeat_interval=1.0,
                    dialplan=sim_dialplan(a_deployment(0)), chaos=SEED, chaos_drop_every=DROP_EVERY)
    for ext, action in AGENTS.items():
        sim.add_user(ext, action=action, ring=0.1 + int(ext) % 5 * 0.05, talk=TALK)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def test_thousands_of_calls_through_real_switch_orders_drops_and_kills_lose_none(chaotic, pg_url, tmp_path):
    sim = chaotic
    observer = Observer(sim)
    engine = EngineProc(sim.port, pg_url, tmp_path / "engine.log", CONFIG)
    rng = random.Random(SEED)
    kills = 0
    outages: list[tuple[float, float]] = []      # (killed, ready again), monotonic
    try:
        engine.start()
        sim.chaos.start(sim)
        started = time.monotonic()
        next_kill = started + KILL_EVERY
        for n in range(CALLS):
            gevent.sleep(rng.expovariate(RATE))
            observer.place(rng)
            if time.monotonic() >= next_kill:
                outages.append(restart(engine, sim, observer))
                kills += 1
                next_kill = time.monotonic() + KILL_EVERY
        sim.chaos.stop()
        until(lambda: all(c["hangup"] is not None for c in observer.callers.values()), timeout=120,
              message=lambda: f"{sum(c['hangup'] is None for c in observer.callers.values())} caller(s) still on")
        until(lambda: not sim.channels, timeout=30,
              message=lambda: f"channels left in the switch: {[ch.name for ch in sim.channels.values()]}")

        outcomes = {uuid: observer.outcome(uuid) for uuid in observer.callers}
        lost = {u: o for u, o in outcomes.items() if o not in ("served", "abandoned")}
        served = [u for u, o in outcomes.items() if o == "served"]
        assert not lost, f"{len(lost)} of {len(outcomes)} lost: {list(lost.items())[:5]}\n" + _story(
            engine, pg_url, list(lost)[:3])
        assert not observer.double_offers, f"agents offered a call while on one: {observer.double_offers[:5]}"
        assert len(served) > CALLS // 2, "the load did not exercise the answer/bridge path"
        assert len(outcomes) - len(served) > 0, "no caller abandoned: the load did not exercise the queue"
        assert kills >= 1 and sim.chaos.counts["drop"] >= 1, (kills, dict(sim.chaos.counts))

        store = Store(pg_url)
        try:
            until(lambda: not store.open_interactions(), timeout=30, message="every interaction closed")
            assert store.verify_journal() == []
            rows_of = defaultdict(list)
            for row in store.journal():
                rows_of[row.interaction].append(row)
            by_caller = {}
            for ixid, rows in rows_of.items():
                record = store.interaction(ixid)
                by_caller[record.caller_uuid] = (record, rows)
            unseen = set(observer.callers) - set(by_caller)
            assert not unseen and set(by_caller) <= set(observer.callers), "one interaction per caller: " + "; ".join(
                _unseen_story(observer, uuid, started, outages) for uuid in sorted(unseen)[:5])
            for uuid, outcome in outcomes.items():
                record, rows = by_caller[uuid]
                if not _journal_says(outcome, rows, observer.pairs.get(uuid)):
                    raise AssertionError(f"journal != switch for a caller {outcome}: {[r.kind for r in rows]}\n"
                                         + _story(engine, pg_url, [uuid]))
        finally:
            store.close()
    finally:
        sim.chaos.stop()
        engine.stop()
    print(f"chaos: {len(observer.callers)} calls, {len(served)} served, {kills} engine kills, "
          f"{dict(sim.chaos.counts)}")

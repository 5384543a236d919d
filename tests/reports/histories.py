"""Hypothesis strategies for call histories: journals written by the real engine.

`histories()` builds a small contact centre (agency acme with the queues sales and
support, agency vest with the queue orders, two or three agents, one of whom serves both
agencies) and drives the real Engine through tests/engine/builders.Scenario with a random
sequence of what callers, phones, agents and the clock do: calls (some by direct dial),
answers, rings that are not answered, hang-ups on either side, hold, transfers to a queue
(also to the other agency's), blind transfers with their recalls, park, pick-up and
take-back, callbacks, max-wait and no-agents overflows, after-hours calls, messages,
wrap-up, pauses, log-outs and engine restarts (engine.recovery.recover, as in
tests/engine/test_recovery.py). The clock moves by random steps (milliseconds, seconds
and minutes, sometimes with a few microseconds more) so calls cross quarter-hours.

The journal is what the store would keep: one row per (interaction, seq), the first
written. `messy()` then adds copies of some rows and shuffles them, as a replay after a
crash and an unordered read would.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field, replace
from datetime import time, timedelta

from hypothesis import strategies as st

from engine import effects as fx
from engine import events as ev
from engine.config import NodeConfig, OpeningHours, Overflow, OverflowKind, TimeRange
from engine.interactions import CallState
from engine.recovery import recover

from tests.engine.builders import NODE, T0, Scenario, a_deployment, a_queue, a_tenant, an_agent
from tests.engine.test_recovery import channels_of, store_of

QUEUES = ("sales", "support", "orders")
AGENCY_OF = {"sales": "acme", "support": "acme", "orders": "vest"}
FAIL_CAUSES = ("NO_ANSWER", "USER_BUSY", "CALL_REJECTED")


@dataclass
class History:
    rows: list                                       # the journal the store keeps (no duplicates)
    steps: list = field(default_factory=list)        # what was done, for the report of a failing example
    restarts: int = 0
    conflicts: list = field(default_factory=list)    # (interaction, seq) written twice with different rows

    def __repr__(self) -> str:
        lines = "\n    ".join(self.steps)
        return f"History({len(self.rows)} rows, {self.restarts} restarts; steps:\n    {lines})"


# -- the centre -------------------------------------------------------------------------------------------
@st.composite
def deployments(draw):
    notice = draw(st.sampled_from(["", "notice.wav"]))
    after_hours = draw(st.sampled_from([Overflow(OverflowKind.MESSAGE, prompt="closed-now.wav"),
                                        Overflow(OverflowKind.QUEUE, "support"),
                                        Overflow(OverflowKind.CALLBACK, prompt="cb.wav")]))
    # vest closes for 20 minutes (11:10-11:30 Oslo) while the histories run: after-hours calls
    vest_hours = OpeningHours(timezone="Europe/Oslo",
                              weekly={d: (TimeRange(time(8), time(11, 10)), TimeRange(time(11, 30), time(16)))
                                      for d in range(5)})
    tenants = [a_tenant("acme", recording_notice=notice),
               a_tenant("vest", welcome_prompt=draw(st.sampled_from(["", "welcome.wav"])),
                        opening_hours=vest_hours, after_hours=after_hours,
                        transfer_timeout=draw(st.sampled_from([10.0, 20.0])),
                        park_timeout=draw(st.sampled_from([30.0, 90.0])))]
    queues = [
        a_queue("sales", tenant="acme", wrapup=draw(st.sampled_from([0, 10])), ring_timeout=15,
                callback_enabled=True, callback_prompt="cb.wav",
                max_wait=draw(st.sampled_from([45.0, 120.0, 600.0])),
                overflow=Overflow(OverflowKind.QUEUE, "support"),
                no_agents=draw(st.sampled_from([Overflow(OverflowKind.MESSAGE, prompt="closed.wav"),
                                                Overflow(OverflowKind.CALLBACK, prompt="cb.wav")]))),
        a_queue("support", tenant="acme", wrapup=draw(st.sampled_from([0, 5])), ring_timeout=20,
                max_wait=draw(st.sampled_from([60.0, 180.0])),
                overflow=Overflow(OverflowKind.MESSAGE, prompt="sorry.wav"),
                no_agents=Overflow(OverflowKind.QUEUE, "orders")),
        a_queue("orders", tenant="vest", wrapup=draw(st.sampled_from([0, 20])), ring_timeout=15,
                callback_enabled=True, service_level_seconds=30,
                max_wait=draw(st.sampled_from([90.0, 150.0])),
                overflow=Overflow(OverflowKind.CALLBACK, prompt="cb.wav"),
                no_agents=Overflow(OverflowKind.MESSAGE, prompt="closed.wav")),
    ]
    agents = [an_agent("alice", queues={"sales": 1, "support": 1}),
              an_agent("bob", queues={"orders": 1})]
    if draw(st.booleans()):
        agents.append(an_agent("carol", queues={"support": 1, "orders": 2}))
    return replace(a_deployment(queues=queues, agents=agents, tenants=tenants), nodes=(NodeConfig(NODE),))


# -- the driver --------------------------------------------------------------------------------------------
class Driver:
    """One Scenario and what the switch knows: which legs exist, answered, or are gone."""

    def __init__(self, deployment, start):
        self.s = Scenario(deployment, now=start)
        self.created: list[str] = []                 # every leg the node has had (callers, originates)
        self.answered: set[str] = set()
        self.gone: set[str] = set()
        self.callers = 0
        self.restarts = 0
        self.steps: list[str] = []
        self._seen_effects = 0

    @property
    def eng(self):
        return self.s.engine

    # what the switch does on its own ----------------------------------------------------------------
    def settle(self) -> None:
        """Legs the engine hung up end (CHANNEL_HANGUP); new originated legs exist."""
        for _ in range(50):
            new = self.s.effects[self._seen_effects:]
            self._seen_effects = len(self.s.effects)
            for e in new:
                if isinstance(e, fx.Originate) and e.leg_uuid not in self.created:
                    self.created.append(e.leg_uuid)
            hangups = [e for e in new if isinstance(e, fx.Hangup) and e.uuid not in self.gone]
            if not hangups:
                return
            for h in hangups:
                if h.uuid not in self.gone:
                    self.gone.add(h.uuid)
                    self.s.hangup(h.uuid, h.cause)

    def hang_up(self, leg: str, cause="NORMAL_CLEARING") -> None:
        self.gone.add(leg)
        self.s.hangup(leg, cause)

    def fail(self, leg: str, cause: str) -> None:
        self.gone.add(leg)
        self.s.fail(leg, cause)

    def answer_and_bridge(self, leg: str, caller: str) -> None:
        self.answered.add(leg)
        self.s.answer(leg)
        if caller and leg not in self.gone and caller not in self.gone:
            self.s.send(ev.Bridged(NODE, caller, leg, self.s.now))

    def called_back(self, leg: str, agent_leg: str) -> None:
        self.answered.add(leg)
        self.s.answer(leg)
        if agent_leg and leg not in self.gone and agent_leg not in self.gone:
            self.s.send(ev.Bridged(NODE, leg, agent_leg, self.s.now))

    def restart(self) -> None:
        """The engine process dies and starts again from the store and the node's channels."""
        s = self.s
        self.restarts += 1
        alive = {leg for leg in self.created if leg not in self.gone}
        agents, calls = store_of(s)
        counter = itertools.count(1)
        prefix = f"r{self.restarts}"
        eng, effects = recover(s.deployment, {NODE: channels_of(s, alive, self.answered & alive)}, agents, calls,
                               at=s.now, rng=random.Random(self.restarts),
                               new_id=lambda kind: f"{kind}-{prefix}-{next(counter)}")
        s2 = Scenario(s.deployment, engine=eng, now=s.now)
        s2.journal = list(s.journal)                 # the journal table survives the restart
        s2.effects = list(s.effects)
        s2.send_effects(effects)
        self.s = s2
        errors = [e.payload for e in effects if isinstance(e, fx.Notify) and e.topic == "engine_error"]
        assert not errors, errors

    # the choices at this moment --------------------------------------------------------------------
    def options(self, may_restart: bool) -> list[tuple[str, object]]:
        s, eng = self.s, self.eng
        out: list[tuple[str, object]] = []
        now = lambda: s.now                          # noqa: E731
        if self.callers < 8:
            for q in QUEUES:
                n = self.callers + 1
                out.append((f"call c{n} to {q}", lambda q=q, n=n: self._call(q, n, direct=False)))
            out.append((f"direct-dial call c{self.callers + 1} to sales",
                        lambda n=self.callers + 1: self._call("sales", n, direct=True)))
            out.append((f"a supervisor asks for a callback in {QUEUES[self.callers % 3]}",
                        lambda q=QUEUES[self.callers % 3], n=self.callers + 1: self._callback(q, n)))
        for ixid in sorted(eng.calls):
            ix = eng.calls[ixid]
            state, caller = ix.state, ix.uuid
            moh = eng.queue_of(ix).moh if ix.queue in eng.deployment.queues else ""
            if caller and caller not in self.gone and state not in (CallState.CALLBACK,):
                out.append((f"caller {caller} hangs up ({state.value})", lambda c=caller: self.hang_up(c)))
            if caller and ix.playing and ix.playing != moh:
                out.append((f"{ix.playing} played to {caller}",
                            lambda c=caller, p=ix.playing: s.played(c, p)))
            if state is CallState.QUEUED and caller:
                out.append((f"{caller} presses 1", lambda c=caller: s.press(c, "1")))
            if state in (CallState.OFFERING, CallState.CALLBACK_OFFERING):
                for leg, aid in sorted(ix.legs.items()):
                    out.append((f"{aid} answers {ixid} on {leg}",
                                lambda leg=leg, c=caller if state is CallState.OFFERING else "":
                                self.answer_and_bridge(leg, c)))
                    for cause in FAIL_CAUSES:
                        out.append((f"{aid}'s leg {leg} fails {cause}", lambda leg=leg, c=cause: self.fail(leg, c)))
            if state is CallState.CALLING_BACK and ix.callback_leg:
                cb = ix.callback_leg
                out.append((f"called-back caller answers {cb}",
                            lambda cb=cb, a=ix.agent_leg: self.called_back(cb, a)))
                out.append((f"called-back caller {cb} does not answer", lambda cb=cb: self.fail(cb, "NO_ANSWER")))
            if state is CallState.TRANSFERRING and ix.target_leg:
                leg = ix.target_leg
                out.append((f"transfer target answers {leg}", lambda leg=leg, c=caller: self.answer_and_bridge(leg, c)))
                out.append((f"transfer target {leg} busy", lambda leg=leg: self.fail(leg, "USER_BUSY")))
            if state in (CallState.TRANSFERRING, CallState.PARKED) and ix.recall_agent:
                out.append((f"{ix.recall_agent} takes {ixid} back",
                            lambda a=ix.recall_agent, i=ixid: s.send(ev.CallRecall(a, i, now()))))
            if state is CallState.PARKED:
                for aid in sorted(eng.agents):
                    out.append((f"{aid} picks up {ixid}", lambda a=aid, i=ixid: s.send(ev.ParkedPickUp(a, i, now()))))
            if state is CallState.CONNECTED:
                leg = ix.agent_leg
                if leg and leg not in self.gone:
                    out.append((f"{'target' if ix.transferred else ix.agent} hangs up {ixid}",
                                lambda leg=leg: self.hang_up(leg)))
                if not ix.bridged and caller and leg:
                    out.append((f"{ixid} bridged", lambda c=caller, leg=leg: s.send(ev.Bridged(NODE, c, leg, now()))))
                if ix.agent and not ix.transferred:
                    a = ix.agent
                    out.append((f"{a} holds/unholds {ixid}",
                                lambda a=a, on=not ix.held: s.send(ev.CallHold(a, on, now()))))
                    for q in QUEUES:
                        out.append((f"{a} transfers {ixid} to queue {q}",
                                    lambda a=a, q=q: s.send(ev.CallTransfer(a, q, now(), kind="queue", name=q))))
                    out.append((f"{a} blind-transfers {ixid} to user 1001",
                                lambda a=a: s.send(ev.CallTransfer(a, "1001", now(), kind="user", name="Per"))))
                    out.append((f"{a} parks {ixid}", lambda a=a: s.send(ev.CallPark(a, now()))))
            if state in (CallState.CONNECTED, CallState.WRAP_UP) and ix.agent:
                out.append((f"{ix.agent} takes a message on {ixid}",
                            lambda a=ix.agent, i=ixid: s.send(ev.MessageTaken(a, i, "per@example.no", "Per", now()))))
        for aid in sorted(eng.agents):
            agent = eng.agents[aid]
            st_ = agent.state.value
            if st_ == "wrap_up":
                out.append((f"{aid} ends wrap-up", lambda a=aid: s.send(ev.WrapUpEnd(a, now()))))
            if st_ in ("available", "wrap_up", "on_call", "offered"):
                out.append((f"{aid} pauses", lambda a=aid: s.send(ev.AgentPause(a, "break", now()))))
            if st_ == "paused":
                out.append((f"{aid} resumes", lambda a=aid: s.send(ev.AgentResume(a, now()))))
            if st_ in ("available", "paused"):
                out.append((f"{aid} logs out", lambda a=aid: s.send(ev.AgentLogout(a, now()))))
            if st_ == "logged_out":
                out.append((f"{aid} logs in", lambda a=aid: s.login(a)))
        if may_restart:
            out.append(("engine restart", self.restart))
        return out

    def _call(self, queue: str, n: int, direct: bool) -> None:
        self.callers = n
        uuid = f"c{n}"
        self.created.append(uuid)
        extra = {"cc_direct_dial": "22990000"} if direct else {}
        self.s.call(uuid, queue=queue, number=f"4790000{n:03d}", **extra)

    def _callback(self, queue: str, n: int) -> None:
        """A callback a supervisor creates: an interaction without a caller (no `arrived`)."""
        self.callers = n
        self.s.send(ev.CallbackCreate(queue, f"+4790001{n:03d}", self.s.now, by="sara"))

    def advance(self, seconds: float) -> None:
        self.s.advance(seconds)


advances = st.one_of(                            # milliseconds, weighted by repeating
    st.just(0), st.just(0), st.just(0),
    st.integers(1, 999),
    st.integers(1_000, 15_000), st.integers(1_000, 15_000), st.integers(1_000, 15_000),
    st.integers(15_000, 60_000),
    st.integers(60_000, 900_000),                  # minutes: across quarter-hours
)

WEIGHTS = {"answers": 10, "target answers": 6, "bridged": 6, "holds": 4, "blind-transfers": 3, "parks": 2,
           "transfers": 2, "hangs up": 2, "played": 3, "takes a message": 2, "ends wrap-up": 2, "resumes": 4,
           "logs in": 4, "call c": 2, "takes": 2, "picks up": 1}


@st.composite
def histories(draw, max_steps: int = 50) -> History:
    deployment = draw(deployments())
    start = T0 + timedelta(seconds=draw(st.integers(0, 1800)))   # 11:00-11:30 in Oslo
    d = Driver(deployment, start)
    first = draw(st.lists(st.sampled_from(sorted(deployment.agents)), unique=True, min_size=2))
    d.s.login(*first)
    d.steps.append(f"start {start.isoformat()}, logged in {first}")
    for _ in range(draw(st.integers(5, max_steps))):
        ms = draw(advances)
        jitter = draw(st.sampled_from([0, 0, 0, 1, 499, 999])) if ms else 0
        if ms or jitter:
            d.advance(ms / 1000 + jitter / 1_000_000)
            d.settle()
            d.steps.append(f"+{ms} ms{f' {jitter} us' if jitter else ''}")
        options = [(label, act) for label, act in d.options(may_restart=d.restarts < 2)
                   for _ in range(weight(label))]
        label, act = options[draw(st.integers(0, len(options) - 1))]
        d.steps.append(label)
        try:
            act()
            d.settle()
        except Exception as exc:                     # an engine refusal of a real sequence: say which
            exc.add_note("history so far:\n    " + "\n    ".join(d.steps))
            raise
    if draw(st.booleans()):                          # the day ends: every caller hangs up, timers run out
        for leg in [c for c in d.created if c.startswith("c") and c not in d.gone]:
            d.hang_up(leg)
            d.settle()
        d.advance(3600)
        d.settle()
        d.steps.append("every caller hangs up; +1 h")
    return History(rows=store_rows(d.s.journal, conflicts := []), steps=d.steps, restarts=d.restarts,
                   conflicts=conflicts)


def weight(label: str) -> int:
    return max([w for word, w in WEIGHTS.items() if word in label], default=1)


def store_rows(journal: list, conflicts: list) -> list:
    """The rows the journal table keeps: the first of each (interaction, seq)."""
    kept: dict[tuple[str, int], fx.Journal] = {}
    for row in journal:
        key = (row.interaction, row.seq)
        if key in kept:
            if kept[key] != row:
                conflicts.append((kept[key], row))
            continue
        kept[key] = row
    return list(kept.values())


@st.composite
def messy(draw, rows: list) -> list:
    """The same rows, some of them more than once, in any order."""
    if not rows:
        return []
    copies = draw(st.lists(st.sampled_from(rows), max_size=max(1, len(rows) // 2)))
    copies = [replace(r) for r in copies]            # equal, but other objects (as read back from a store)
    return draw(st.permutations(rows + copies))

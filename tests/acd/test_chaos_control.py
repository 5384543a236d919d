"""Chaos for call control: the chaos test's switch (real-switch orders, Event Socket drops,
engine SIGKILLs: tests/acd/test_chaos.py) with simulated operators who, on a share of the
calls they answer, post the console's commands into the engine's inbox
(tests/acd/console_engine.py): blind transfer to a phone that answers, never answers
(recall after the agency's transfer timeout) or is busy (recall at once); park, then a
pick-up by an idle agent or the park timeout (recall); announced transfer to a phone that
answers, then complete or cancel; hold and resume; take back (the operator's CallRecall)
a transfer still ringing (a phone that never answers), one racing its answer (a phone
that answers in 0.4 s), or a parked call. A command that meets a call in another
state (the engine was down, the target answered first, ...) is refused by the engine and
changes nothing: that is part of the chaos.

What must hold for every caller, whatever the order:
* no caller is lost: each ends served (its last partner an agent leg that hung up after
  its own talk time), transferred (its last partner a target's leg that did the same) or
  abandoned (it hung up, never bridged); every caller is hung up once the traffic is over
  and no channel is left in the switch;
* no agent is offered a call (a new leg to their phone) while on an answered leg;
* the journal says what the switch did (store.verify_journal(): one `ended`, no gaps):
  a served caller's interaction ends "completed" and its last `answered` row names the
  agent leg it was last bridged to; a transferred one ends "transferred" and its last
  `transfer_answered` or `consult_completed` names that target; a `recalled` row comes
  only after a `transfer_failed`, after `parked` with reason park_timeout, or after
  `taken_back` with reason taken_back; a `picked_up` only after `parked`; a `taken_back`
  only of a transfer not yet resolved or of a park; every `transfer_started` resolves
  once (answered, failed, abandoned or taken back).
`SENTRAL_CHAOS_CONTROL_CALLS` and `SENTRAL_CHAOS_SEED` change the load and the seed
(defaults: 500 calls, seed 7).
"""
from __future__ import annotations

import json
import os
import pathlib
import random
import time
from collections import Counter, defaultdict

import gevent
import gevent.socket
import pytest

from store.store import Store
from tests.acd.conftest import PASSWORD, a_deployment, sim_dialplan
from tests.acd.engine_proc import EngineProc
from tests.acd.test_chaos import Observer, _journal_says, _story, _unseen_story, restart
from tests.helpers import until

CONFIG = pathlib.Path(__file__).resolve().parent.parent / "data" / "acd" / "chaos_control.yaml"
CALLS = int(os.environ.get("SENTRAL_CHAOS_CONTROL_CALLS", "500"))
SEED = int(os.environ.get("SENTRAL_CHAOS_SEED", "7"))
RATE = 4.0                       # calls per second
TALK = 4.0                       # an agent's phone hangs up this long after it answered
TARGET_TALK = 3.0                # a target phone likewise
KILL_EVERY = 30.0
DROP_EVERY = 9.0
MOVED = 0.5                      # share of first answers an operator acts on
AGENTS = {f"{1000 + i}": ("answer" if i < 16 else "reject" if i < 18 else "noanswer") for i in range(20)}
ANSWERS, NO_ANSWER, BUSY, CONSULTED = "22240001", "22240002", "22240003", "22240004"
ACTIONS = ("transfer_answered", "transfer_no_answer", "transfer_busy", "park_pick_up", "park_timeout",
           "consult_complete", "consult_cancel", "hold", "take_back_ringing", "take_back_race", "take_back_parked")


class Console:
    """The operators' console: JSON lines to the engine process's console listener. A
    command sent while the engine is down is lost, as a console's would be."""

    def __init__(self, engine: EngineProc):
        self.engine = engine
        self.sock: gevent.socket.socket | None = None   # the simulator shares this hub: never block it
        self.sent: Counter = Counter()
        self.lost = 0

    def send(self, command: str, **fields) -> None:
        line = (json.dumps({"command": command, **fields}) + "\n").encode()
        for _ in range(2):
            try:
                if self.sock is None:
                    self.sock = gevent.socket.create_connection(("127.0.0.1", self.engine.console_port()), timeout=2)
                self.sock.sendall(line)
                self.sent[command] += 1
                return
            except (OSError, IndexError, ValueError):
                self.close()
        self.lost += 1

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class Operators(Observer):
    """The chaos test's observer, whose agents act on a share of their first answers."""

    def __init__(self, sim, console: Console, rng: random.Random):
        super().__init__(sim)
        self.console = console
        self.rng = rng
        self.acted: dict[str, str] = {}               # caller uuid -> action
        self.history: dict[str, list] = defaultdict(list)   # caller -> (leg, when) of every bridge

    def bridged(self, caller, leg) -> None:
        self.history[caller.uuid].append((leg.uuid, time.monotonic()))
        info = self.legs[leg.uuid]
        if info["target"] or caller.uuid in self.acted or self.rng.random() >= MOVED:
            return
        action = self.rng.choice(ACTIONS)
        self.acted[caller.uuid] = action
        agent = "a" + info["ext"]
        gevent.spawn_later(self.rng.uniform(0.3, 0.8), self._act, action, agent, caller.uuid)

    def _act(self, action: str, agent: str, caller: str) -> None:
        send = self.console.send
        if action.startswith("take_back_"):
            if action == "take_back_parked":
                send("CallPark", agent=agent)
                later = self.rng.uniform(0.5, 3.0)
            else:                                     # racing the target's answer at 0.4 s, or while it rings
                send("CallTransfer", agent=agent, target=ANSWERS if action == "take_back_race" else NO_ANSWER,
                     kind="number")
                later = self.rng.uniform(0.3, 0.6) if action == "take_back_race" else self.rng.uniform(0.3, 3.0)
            gevent.spawn_later(later, self._take_back, agent, caller)
        elif action.startswith("transfer_"):
            target = {"transfer_answered": ANSWERS, "transfer_no_answer": NO_ANSWER, "transfer_busy": BUSY}[action]
            send("CallTransfer", agent=agent, target=target, kind="number")
        elif action.startswith("park"):
            send("CallPark", agent=agent)
            if action == "park_pick_up":
                gevent.spawn_later(self.rng.uniform(1.0, 3.0), self._pick_up, caller)
        elif action.startswith("consult"):
            send("ConsultStart", agent=agent, target=CONSULTED, kind="number")
            follow = "ConsultComplete" if action == "consult_complete" else "ConsultCancel"
            for delay in (1.0, 1.6, 2.4):             # refused until the target answered (complete)
                gevent.spawn_later(delay, send, follow, agent=agent)
        else:
            send("CallHold", agent=agent, on=True)
            gevent.spawn_later(self.rng.uniform(0.3, 1.0), send, "CallHold", agent=agent, on=False)

    def _pick_up(self, caller: str) -> None:
        ch = self.sim.channels.get(caller)
        ixid = ch.variables.get("cc_interaction_id", "") if ch is not None else ""
        busy = {leg["ext"] for leg in self.legs.values() if not leg["target"] and leg["hangup"] is None}
        idle = [ext for ext, action in AGENTS.items() if action == "answer" and ext not in busy]
        if ixid and idle:
            self.console.send("ParkedPickUp", agent="a" + self.rng.choice(idle), interaction=ixid)

    def _take_back(self, agent: str, caller: str) -> None:
        ch = self.sim.channels.get(caller)
        ixid = ch.variables.get("cc_interaction_id", "") if ch is not None else ""
        if ixid:
            self.console.send("CallRecall", agent=agent, interaction=ixid)

    def timeline(self, uuid: str, started: float, outages) -> str:
        """What the switch did with one caller (for a failure message), seconds from the start."""
        at = lambda t: f"{t - started:.3f}" if t else "-"   # noqa: E731
        c = self.callers[uuid]
        parts = [f"placed {at(c['placed'])}, hung up {at(c['hangup'])} ({c['cause']}), "
                 f"action {self.acted.get(uuid, '-')}"]
        for leg, when in self.history[uuid]:
            info = self.legs[leg]
            parts.append(f"bridged {at(when)} to {'target' if info['target'] else info['ext']} {leg} "
                         f"(answered {at(info['answered'])}, hung up {at(info['hangup'])} {info.get('cause', '')})")
        parts.append(f"engine outages {[(at(a), at(b)) for a, b in outages]}")
        names = {uuid[:8], *(leg[:8] for leg, _ in self.history[uuid])}
        parts += [f"chaos {t:.3f} {what}" for t, what in self.sim.chaos.log if any(n in what for n in names)]
        return "; ".join(parts)

    def outcome(self, uuid: str) -> str:
        c = self.callers[uuid]
        if c["bridged"] is None:
            return "abandoned" if c["abandoned"] else f"lost before an agent ({c['cause']})"
        leg = self.legs[self.pairs[uuid]]
        talked = (leg["hangup"] or 0) - (leg["answered"] or 0)
        if leg["hangup"] is None or c["hangup"] is None or leg["hangup"] > c["hangup"] + 0.001:
            return f"lost while bridged: the caller was hung up first ({c['cause']})"
        if talked < 0.8 * (TARGET_TALK if leg["target"] else TALK):
            return f"lost while bridged: the last leg ended after {talked:.3f} s ({leg.get('cause')})"
        return "transferred" if leg["target"] else "served"


def journal_problems(outcome: str, rows, last_leg: str | None) -> list[str]:
    """What is wrong with one interaction's journal, for the outcome the switch showed."""
    kinds = [r.kind for r in rows]
    ended = [r for r in rows if r.kind == "ended"]
    problems = []
    if len(ended) != 1:
        return [f"{len(ended)} ended rows"]
    reason = ended[0].data.get("reason")
    if outcome == "served":
        answered = [r for r in rows if r.kind == "answered"]
        if reason != "completed" or not answered or answered[-1].data.get("leg") != last_leg:
            problems.append(f"served by {last_leg} but ended {reason!r}, answered legs "
                            f"{[r.data.get('leg') for r in answered]}")
    elif outcome == "transferred":
        handed = [r for r in rows if r.kind in ("transfer_answered", "consult_completed")]
        if reason != "transferred" or not handed:
            problems.append(f"talked to a target but ended {reason!r} with {[r.kind for r in handed]}")
        elif handed[-1].kind == "transfer_answered" and handed[-1].data.get("leg") != last_leg:
            problems.append(f"last transfer answered by {handed[-1].data.get('leg')}, bridged to {last_leg}")
    elif not _journal_says(outcome, rows, None):
        problems.append("an abandoned caller's rows do not say so")
    pending, ringing = None, False
    for row in rows:
        if row.kind == "transfer_started":
            ringing = True
        elif row.kind in ("transfer_answered", "transfer_failed", "transfer_abandoned"):
            ringing = False
        if row.kind in ("transfer_failed", "parked"):
            pending = row.kind
        elif row.kind == "taken_back":
            moved = row.data.get("moved")
            if not ((moved == "transferring" and ringing) or (moved == "parked" and pending == "parked")):
                problems.append(f"take-back {row.seq} of a {moved!r} call after {pending!r}, ringing {ringing}")
            ringing, pending = False, "taken_back"
        elif row.kind == "recalled":
            reason = row.data.get("reason")
            ok = pending == "transfer_failed" or (pending == "parked" and reason == "park_timeout") \
                or (pending == "taken_back" and reason == "taken_back")
            if not ok:
                problems.append(f"recall {row.seq} ({reason}) after {pending!r}")
            pending = None
        elif row.kind == "picked_up":
            if pending != "parked":
                problems.append(f"pick-up {row.seq} after {pending!r}")
            pending = None
    started = kinds.count("transfer_started")
    resolved = sum(kinds.count(k) for k in ("transfer_answered", "transfer_failed", "transfer_abandoned")) \
        + sum(1 for r in rows if r.kind == "taken_back" and r.data.get("moved") == "transferring")
    if started != resolved:
        problems.append(f"{started} transfer(s) started, {resolved} resolved")
    return problems


@pytest.fixture
def switch():
    from esl.sim.server import Simulator

    sim = Simulator(password=PASSWORD, time_factor=1.0, heartbeat_interval=1.0,
                    dialplan=sim_dialplan(a_deployment(0)), chaos=SEED, chaos_drop_every=DROP_EVERY)
    for ext, action in AGENTS.items():
        sim.add_user(ext, action=action, ring=0.1 + int(ext) % 5 * 0.05, talk=TALK)
    sim.add_phone(ANSWERS, "answer", ring=0.4, talk=TARGET_TALK)
    sim.add_phone(CONSULTED, "answer", ring=0.4, talk=TARGET_TALK)
    sim.add_phone(NO_ANSWER, "noanswer")
    sim.add_phone(BUSY, "busy", ring=0.2)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def test_transfers_parks_consults_and_holds_under_drops_and_kills_lose_no_caller(switch, pg_url, tmp_path):
    sim = switch
    engine = EngineProc(sim.port, pg_url, tmp_path / "engine.log", CONFIG, console=True)
    console = Console(engine)
    rng = random.Random(SEED)
    observer = Operators(sim, console, random.Random(f"{SEED}:operators"))
    kills, outages, journal_counts = 0, [], {}
    try:
        engine.start()
        sim.chaos.start(sim)
        started = time.monotonic()
        next_kill = started + KILL_EVERY
        for _ in range(CALLS):
            gevent.sleep(rng.expovariate(RATE))
            observer.place(rng)
            if time.monotonic() >= next_kill:
                console.close()
                outages.append(restart(engine, sim, observer))
                kills += 1
                next_kill = time.monotonic() + KILL_EVERY
        sim.chaos.stop()
        until(lambda: all(c["hangup"] is not None for c in observer.callers.values()), timeout=120,
              message=lambda: f"{sum(c['hangup'] is None for c in observer.callers.values())} caller(s) still on: "
              + _story(engine, pg_url, [u for u, c in observer.callers.items() if c["hangup"] is None][:3]))
        until(lambda: not sim.channels, timeout=30,
              message=lambda: f"channels left in the switch: {[ch.name for ch in sim.channels.values()]}")

        outcomes = {uuid: observer.outcome(uuid) for uuid in observer.callers}
        lost = {u: o for u, o in outcomes.items() if o not in ("served", "transferred", "abandoned")}
        assert not lost, f"{len(lost)} of {len(outcomes)} lost: {list(lost.items())[:5]}\n" + "\n".join(
            observer.timeline(u, started, outages) for u in list(lost)[:3]) + "\n" + _story(engine, pg_url, list(lost)[:3])
        assert not observer.double_offers, f"agents offered a call while on one: {observer.double_offers[:5]}"
        counts = Counter(outcomes.values())
        assert counts["served"] > CALLS // 4 and counts["transferred"] > 0 and counts["abandoned"] > 0, counts
        assert kills >= 1 and sim.chaos.counts["drop"] >= 1, (kills, dict(sim.chaos.counts))

        store = Store(pg_url)
        try:
            until(lambda: not store.open_interactions(), timeout=30, message="every interaction closed")
            assert store.verify_journal() == []
            rows_of = defaultdict(list)
            for row in store.journal():
                rows_of[row.interaction].append(row)
            by_caller = {store.interaction(ixid).caller_uuid: rows for ixid, rows in rows_of.items()}
            unseen = set(observer.callers) - set(by_caller)
            assert not unseen and set(by_caller) <= set(observer.callers), "one interaction per caller: " + "; ".join(
                _unseen_story(observer, uuid, started, outages) for uuid in sorted(unseen)[:5])
            kinds = Counter(row.kind for rows in rows_of.values() for row in rows)
            journal_counts.update({k: kinds[k] for k in ("taken_back", "recalled", "picked_up", "transfer_answered")})
            for uuid, outcome in outcomes.items():
                problems = journal_problems(outcome, by_caller[uuid], observer.pairs.get(uuid))
                if problems:
                    raise AssertionError(f"journal != switch for a caller {outcome} "
                                         f"({observer.acted.get(uuid, 'no action')}): {problems}\n"
                                         f"{[r.kind for r in by_caller[uuid]]}\n" + _story(engine, pg_url, [uuid]))
            for kind in ("transfer_answered", "transfer_failed", "recalled", "parked", "picked_up", "taken_back",
                         "consult_started", "consult_completed", "consult_cancelled", "hold", "unhold"):
                assert kinds[kind] > 0, f"no {kind} row: the operators did not exercise it ({dict(kinds)})"
        finally:
            store.close()
    finally:
        sim.chaos.stop()
        console.close()
        engine.stop()
    print(f"chaos control: {len(observer.callers)} calls, {dict(counts)}, actions "
          f"{dict(Counter(observer.acted.values()))}, commands {dict(console.sent)} ({console.lost} lost), "
          f"{kills} engine kills, {dict(sim.chaos.counts)}, journal rows {journal_counts}")

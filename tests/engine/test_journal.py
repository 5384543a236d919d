"""The journal is exact: duplicated and out-of-order events add or lose no row."""
from __future__ import annotations

import random

import pytest

from engine import events as ev
from engine.config import Strategy

from tests.engine.builders import NODE, Scenario, a_deployment, a_queue, an_agent


def connected_call(strategy=Strategy.LONGEST_IDLE):
    s = Scenario(a_deployment(queues=[a_queue(strategy=strategy, wrapup=5)],
                              agents=[an_agent("alice"), an_agent("bob")]))
    s.login("alice", "bob")
    s.call()
    return s


def test_every_event_delivered_twice_gives_the_same_journal():
    def run(dup):
        s = connected_call()
        events = []
        leg = s.originates()[0].leg_uuid
        events += [ev.LegAnswered(NODE, leg, s.now), ev.Bridged(NODE, "caller-1", leg, s.now),
                   ev.LegHungUp(NODE, "caller-1", "NORMAL_CLEARING", s.now),
                   ev.LegHungUp(NODE, leg, "NORMAL_CLEARING", s.now)]
        for e in events:
            s.send(e)
            if dup:
                s.send(e)
        s.advance(5)
        s.send(ev.TimerFired("wrapup:alice", s.now))
        return [(j.interaction, j.seq, j.kind, j.agent) for j in s.journal]
    assert run(dup=True) == run(dup=False)


def test_hangup_before_answer_event_of_the_same_leg():
    s = connected_call()
    leg = s.originates()[0].leg_uuid
    s.hangup(leg, "NO_ANSWER")                  # the hangup overtook the answer
    s.answer(leg)
    assert s.kinds().count("answered") == 0 and s.kinds().count("no_answer") == 1
    s.assert_journal_exact()


def test_caller_hangup_and_agent_answer_at_the_same_instant_in_both_orders():
    for answer_first in (True, False):
        s = connected_call()
        leg = s.originates()[0].leg_uuid
        pair = [lambda: s.answer(leg), lambda: s.hangup("caller-1")]
        for f in (pair if answer_first else pair[::-1]):
            f()
        s.hangup(leg)
        s.advance(5)
        kinds = s.kinds()
        assert kinds.count("ended") == 1
        assert ("answered" in kinds) is answer_first and ("abandoned" in kinds) is not answer_first
        s.assert_journal_exact()


def test_timer_fired_twice_or_late_changes_nothing():
    s = connected_call()
    leg = s.originates()[0].leg_uuid
    s.answer(leg)
    before = list(s.kinds())
    s.send(ev.TimerFired(f"ring:{leg}", s.now))
    s.send(ev.TimerFired("maxwait:interaction-1", s.now))
    s.send(ev.TimerFired("announce:interaction-1", s.now))
    s.send(ev.TimerFired("nonsense", s.now))
    assert s.kinds() == before


@pytest.mark.parametrize("seed", range(8))
def test_random_event_storms_keep_every_interaction_exact(seed):
    """Many callers and agents, events shuffled and duplicated: seq contiguous, one `ended` each."""
    rng = random.Random(seed)
    s = Scenario(a_deployment(queues=[a_queue(strategy=rng.choice(list(Strategy)), wrapup=3, max_wait=40)],
                              agents=[an_agent(f"a{i}") for i in range(4)]), seed=seed)
    s.login(*[f"a{i}" for i in range(4)])
    for n in range(30):
        s.call(f"c{n}")
        for _ in range(3):
            pending = [o for o in s.originates() if o.leg_uuid in s.engine.by_leg or o.leg_uuid in s.engine.cancelled]
            choice = rng.random()
            if pending and choice < 0.4:
                o = rng.choice(pending)
                s.answer(o.leg_uuid)
                if rng.random() < 0.3:
                    s.answer(o.leg_uuid)
            elif pending and choice < 0.6:
                o = rng.choice(pending)
                s.fail(o.leg_uuid, rng.choice(["NO_ANSWER", "USER_BUSY", "CALL_REJECTED"]))
            elif choice < 0.8:
                live = [ix.uuid for ix in s.engine.calls.values() if ix.uuid]
                if live:
                    s.hangup(rng.choice(live))
            s.advance(rng.choice([0, 1, 5, 15]))
    for ix in list(s.engine.calls.values()):
        if ix.uuid:
            s.hangup(ix.uuid)
        for leg in list(ix.legs):
            s.hangup(leg)
    s.advance(120)
    s.assert_journal_exact()
    assert not s.engine.calls                                   # nothing stuck
    for ixid, rows in s.interactions().items():
        assert rows[-1].kind == "ended", (ixid, [r.kind for r in rows])
        offered = sum(1 for r in rows if r.kind == "offered")
        settled = sum(1 for r in rows if r.kind in ("answered", "no_answer", "rejected", "busy",
                                                      "offer_failed", "offer_cancelled"))
        assert offered == settled, (ixid, [r.kind for r in rows])
    assert all(a.state.value in ("available", "paused") for a in s.engine.agents.values())


def test_every_journal_kind_the_engine_writes_is_documented():
    import pathlib
    import re
    root = pathlib.Path(__file__).resolve().parents[2]
    code = "\n".join(p.read_text(encoding="utf-8") for p in (root / "engine").glob("*.py"))
    written = set(re.findall(r'journal\(\s*ix,\s*"([a-z_]+)"', code)) | {"ended"}
    written |= set(re.findall(r'kind, event, delay = "([a-z_]+)"', code))     # offer outcomes
    doc = (root / "docs" / "acd.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`([a-z_]+)`", doc.split("Kinds:", 1)[1].split("\n\n", 1)[0]))
    assert written == listed

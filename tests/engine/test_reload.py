"""A configuration reload changes no call in progress (issue 3, item 7)."""
from __future__ import annotations

import dataclasses

from engine import effects as fx
from engine import events as ev
from engine.queues import QueueIndex
from tests.engine.builders import Scenario, a_deployment, a_queue, an_agent


def reload(s: Scenario, deployment) -> list:
    s.deployment = deployment
    return s.send(ev.ConfigReloaded(deployment, s.now))


def _index_matches_full_scan(engine):
    fresh = QueueIndex(engine.deployment, engine.rng)
    for agent in engine.agents.values():
        fresh.sync(agent)
    for qid, q in engine.index.queues.items():
        assert set(q.live) == set(fresh.queues[qid].live), qid
        assert q.staffed == fresh.queues[qid].staffed, qid


def test_given_talking_and_waiting_calls_when_agent_added_then_waiting_call_offered_and_talk_untouched():
    s = Scenario(a_deployment(agents=[an_agent("alice")]))
    s.login("alice")
    s.call("caller-1")
    s.answer(s.leg_of("alice"))
    s.call("caller-2")
    waiting = s.engine.calls[s.engine.by_leg["caller-2"]]
    entered = waiting.position_at
    bigger = a_deployment(agents=[an_agent("alice"), an_agent("bob")])
    out = reload(s, bigger)
    assert not [e for e in out if isinstance(e, (fx.Hangup, fx.Bridge, fx.StopPlayback))]
    assert s.state("alice") == "on_call" and s.state("bob") == "logged_out"
    s.login("bob")
    assert s.offered_agents()[-1] == "bob"
    assert waiting.position_at == entered
    _index_matches_full_scan(s.engine)


def test_given_queue_removed_while_a_caller_waits_then_caller_kept_and_served():
    sales, support = a_queue("sales"), a_queue("support")
    s = Scenario(a_deployment(queues=[sales, support], agents=[an_agent("alice", queues={"sales": 1})]))
    s.call("caller-1", queue="support")
    ixid = s.engine.by_leg["caller-1"]
    reload(s, a_deployment(queues=[sales], agents=[an_agent("alice", queues={"sales": 1, "support": 1})]))
    assert ixid in s.engine.calls and "support" in s.engine.deployment.queues
    _index_matches_full_scan(s.engine)


def test_given_agent_levels_changed_then_new_levels_route_next_call():
    s = Scenario(a_deployment(agents=[an_agent("alice", queues={"sales": 2}), an_agent("bob", queues={"sales": 1})]))
    s.login("alice", "bob")
    swapped = a_deployment(agents=[an_agent("alice", queues={"sales": 1}), an_agent("bob", queues={"sales": 3})])
    reload(s, dataclasses.replace(swapped, queues={"sales": a_queue("sales", strategy=s.deployment.queues["sales"].strategy)}))
    s.call("caller-1")
    assert s.offered_agents() == ["alice"]
    _index_matches_full_scan(s.engine)

"""Routing strategies, levels and tiers, caller and queue priority, skills."""
from __future__ import annotations

import pytest

from engine import effects as fx
from engine import events as ev
from engine.config import Strategy, TierRule

from tests.engine.builders import Scenario, a_deployment, a_queue, an_agent

TRIO = ("alice", "bob", "carol")


def trio(strategy, **queue_kw):
    return a_deployment(queues=[a_queue(strategy=strategy, **queue_kw)], agents=[an_agent(a) for a in TRIO])


def login_with(s, stats: dict) -> None:
    """Log agents in `TRIO` order; `stats` sets each agent's history first; 1 s between logins."""
    for aid in TRIO:
        for field, value in stats.get(aid, {}).items():
            setattr(s.engine.agents[aid], field, value)
        s.register(aid)
        s.send(ev.AgentLogin(aid, s.now))
        s.advance(1)


@pytest.mark.parametrize("strategy,stats,expected", [
    (Strategy.LONGEST_IDLE, {}, "alice"),                                    # logged in first
    (Strategy.FEWEST_CALLS, {"alice": {"calls_answered": 5}, "bob": {"calls_answered": 2},
                             "carol": {"calls_answered": 9}}, "bob"),
    (Strategy.LEAST_TALK_TIME, {"alice": {"talk_time": 100.0}, "bob": {"talk_time": 300.0},
                                "carol": {"talk_time": 50.0}}, "carol"),
    (Strategy.TOP_DOWN, {}, "alice"),
    (Strategy.ROUND_ROBIN, {}, "alice"),
], ids=lambda v: getattr(v, "value", None))
def test_given_strategy_when_call_arrives_then_best_agent_offered(strategy, stats, expected):
    s = Scenario(trio(strategy))
    login_with(s, stats)
    s.call()
    assert s.offered_agents() == [expected]


def test_longest_idle_counts_from_the_end_of_the_last_call():
    s = Scenario(trio(Strategy.LONGEST_IDLE))
    login_with(s, {})
    s.call("c1")
    s.answer(s.leg_of("alice"))
    s.advance(5)
    s.hangup("c1")                                 # alice idle since now: bob idled longest
    s.call("c2")
    assert s.offered_agents() == ["alice", "bob"]


def serve(s, n):
    for i in range(n):
        s.call(f"c{i}")
        leg = s.originates()[-1].leg_uuid
        s.answer(leg)
        s.hangup(f"c{i}")
        s.advance(1)


def test_round_robin_rotates_through_agents():
    s = Scenario(trio(Strategy.ROUND_ROBIN))
    login_with(s, {})
    serve(s, 4)
    assert s.offered_agents() == ["alice", "bob", "carol", "alice"]


def test_top_down_always_starts_from_the_first_agent():
    s = Scenario(trio(Strategy.TOP_DOWN))
    login_with(s, {})
    serve(s, 3)
    assert s.offered_agents() == ["alice", "alice", "alice"]
    s.call("busy-with-alice")
    s.answer(s.leg_of("alice"))
    s.call("next")
    assert s.offered_agents()[-1] == "bob"


def test_random_is_reproducible_with_a_seed_and_reaches_every_agent():
    def run(seed):
        s = Scenario(trio(Strategy.RANDOM), seed=seed)
        login_with(s, {})
        serve(s, 30)
        return s.offered_agents()
    first = run(11)
    assert first == run(11)
    assert set(first) == set(TRIO)
    assert first != run(12)


def test_ring_all_rings_everyone_first_answer_wins_others_hung_up():
    s = Scenario(trio(Strategy.RING_ALL), confirm_hangups=False)
    login_with(s, {})
    s.call()
    assert sorted(s.offered_agents()) == sorted(TRIO)
    bob = s.leg_of("bob")
    out = s.answer(bob)
    hung = [h.uuid for h in s.of(fx.Hangup, out)]
    assert sorted(hung) == sorted([s.leg_of("alice"), s.leg_of("carol")])
    assert fx.Bridge("fs1", "caller-1", bob) in out
    assert s.state("bob") == "on_call" and s.state("alice") == s.state("carol") == "available"
    assert s.kinds().count("offer_cancelled") == 2
    s.answer(s.leg_of("alice"))                       # a loser answers anyway: hung up again
    assert s.of(fx.Hangup)[-1] == fx.Hangup("fs1", s.leg_of("alice"), "ORIGINATOR_CANCEL")
    assert s.state("alice") == "available" and s.kinds().count("answered") == 1


def test_lower_level_agents_are_preferred_even_if_others_idle_longer():
    s = Scenario(a_deployment(agents=[an_agent("alice", queues={"sales": 2}), an_agent("bob", queues={"sales": 1})]))
    s.login("alice")
    s.advance(60)
    s.login("bob")
    s.call()
    assert s.offered_agents() == ["bob"]


def test_tiers_widen_with_waiting_time():
    q = a_queue(tiers=(TierRule(level=2, after_seconds=30), TierRule(level=3, after_seconds=60)), reject_delay=100)
    s = Scenario(a_deployment(queues=[q], agents=[
        an_agent("alice", queues={"sales": 1}), an_agent("bob", queues={"sales": 2}),
        an_agent("carol", queues={"sales": 3})]))
    s.login("alice", "bob", "carol")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call()
    assert s.originates() == []                       # only level 1 may take it yet
    s.advance(29)
    assert s.originates() == []
    s.advance(1)
    assert s.offered_agents() == ["bob"]              # the tier timer opened level 2
    s.fail(s.leg_of("bob"), "CALL_REJECTED")
    s.advance(30)
    assert s.offered_agents()[-1] == "carol"


def test_given_agent_frees_up_then_only_calls_whose_tier_reached_its_level_are_offered():
    q = a_queue(tiers=(TierRule(level=2, after_seconds=30),))
    s = Scenario(a_deployment(queues=[q], agents=[an_agent("alice", queues={"sales": 1}),
                                                  an_agent("bob", queues={"sales": 2})]))
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call()
    s.login("bob")
    assert s.originates() == []
    s.advance(30)
    assert s.offered_agents() == ["bob"]


def test_caller_priority_goes_first():
    s = Scenario(a_deployment())
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call("normal")
    s.advance(10)
    s.call("vip", cc_priority="5")
    s.send(ev.AgentResume("alice", s.now))
    assert s.originates()[0].variables["cc_caller_uuid"] == "vip"


def test_across_queues_highest_queue_priority_then_longest_waiting():
    queues = [a_queue("low", priority=0), a_queue("high", priority=10), a_queue("low2", priority=0)]
    s = Scenario(a_deployment(queues=queues, agents=[an_agent("alice", queues={"low": 1, "high": 1, "low2": 1})]))
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call("old-low", queue="low")
    s.advance(5)
    s.call("older-low2", queue="low2")
    s.advance(5)
    s.call("new-high", queue="high")
    s.send(ev.AgentResume("alice", s.now))
    served = []
    for _ in range(3):
        served.append(s.originates()[-1].variables["cc_caller_uuid"])
        s.answer(s.originates()[-1].leg_uuid)
        s.hangup(served[-1])
    assert served == ["new-high", "old-low", "older-low2"]


def test_queue_required_skills_exclude_agents_without_them():
    q = a_queue(required_skills=frozenset({"norwegian"}))
    s = Scenario(a_deployment(queues=[q], agents=[an_agent("alice"), an_agent("bob", skills=frozenset({"norwegian"}))]))
    s.login("alice")
    s.advance(10)
    s.login("bob")
    s.call()
    assert s.offered_agents() == ["bob"]


def test_call_skills_from_channel_variable_select_agents():
    s = Scenario(a_deployment(agents=[an_agent("alice"), an_agent("bob", skills=frozenset({"sami"}))]))
    s.login("alice", "bob")
    s.call("c1", cc_skills="sami")
    assert s.offered_agents() == ["bob"]

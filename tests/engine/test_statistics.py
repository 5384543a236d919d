"""Today's queue figures: the same from the live engine as from the journal, and a new day at
local midnight."""
from __future__ import annotations

from datetime import datetime, timezone

from engine import events as ev
from engine import views
from engine.statistics import Statistics

from tests.engine.builders import Scenario, a_deployment, a_queue, an_agent


def busy_day(s: Scenario) -> None:
    """Answered within and after the target, abandoned before and after it, a caller who left
    before the queue: every case the figures tell apart."""
    s.login("alice", "bob")
    for n, (wait, answered) in enumerate([(5, True), (20, True), (20.0004, True), (25, True),
                                          (3, False), (40, False), (30, True)]):
        caller = f"c{n}"
        s.send(ev.AgentPause("alice", "x", s.now))
        s.send(ev.AgentPause("bob", "x", s.now))
        s.call(caller)
        s.advance(wait)
        if answered:
            s.send(ev.AgentResume("alice", s.now))
            s.talk(caller, "alice")
            s.advance(60)
            s.hangup(caller)
        else:
            s.hangup(caller)
        s.advance(5)


def test_given_a_days_calls_when_seeded_from_the_journal_then_figures_equal_the_live_ones():
    dep = a_deployment(queues=[a_queue(service_level_seconds=20, wrapup=5)],
                       agents=[an_agent("alice"), an_agent("bob")])
    s = Scenario(dep)
    busy_day(s)
    live = s.engine.stats.of("sales")
    assert (live.answered, live.answered_in_time, live.abandoned, live.abandoned_late) == (5, 3, 2, 1)
    assert live.service_level() == 3 / 6
    seeded = Statistics(lambda: s.now)
    assert seeded.seed(s.journal, dep.queues, s.now) == 12          # 5 answered, 2 abandoned, 5 talks
    again = seeded.of("sales")
    assert (again.answered, again.answered_in_time, again.abandoned, again.abandoned_late) == \
        (live.answered, live.answered_in_time, live.abandoned, live.abandoned_late)
    assert again.average_handle_time() == live.average_handle_time()
    answered = sum(1 for r in s.journal if r.kind == "answered")
    abandoned = sum(1 for r in s.journal if r.kind == "abandoned")
    assert (again.answered, again.abandoned) == (answered, abandoned)


def test_given_rows_of_yesterday_when_seeded_then_only_todays_count():
    dep = a_deployment(agents=[an_agent("alice"), an_agent("bob")])
    s = Scenario(dep)
    busy_day(s)
    tomorrow = datetime(2026, 11, 25, 23, 30, tzinfo=timezone.utc)     # 00:30 in Oslo, the 26th
    seeded = Statistics(lambda: tomorrow)
    assert seeded.seed(s.journal, dep.queues, tomorrow) == 0
    assert seeded.of("sales").answered == 0


def test_figures_start_again_at_local_midnight():
    start = datetime(2026, 11, 25, 22, 50, tzinfo=timezone.utc)        # 23:50 in Oslo
    s = Scenario(a_deployment(), now=start)
    s.login("alice")
    s.call("c1")
    s.talk("c1", "alice")
    s.hangup("c1")
    assert views.queue(s.engine, "sales")["answered"] == 1
    s.advance(11 * 60)                                                  # 00:01 in Oslo
    view = views.queue(s.engine, "sales", s.now)
    assert view["answered"] == 0 and view["service_level"] is None
    s.call("c2")
    s.talk("c2", "alice")
    assert views.queue(s.engine, "sales")["answered"] == 1

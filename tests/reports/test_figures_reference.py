"""reports/figures.count against a second implementation of docs/metrics.md
(tests/reports/reference.py) on journals the real engine writes for random call histories
(tests/reports/histories.py), plus the sums that must add up and a few exact examples."""
from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine import events as ev
from engine.config import Overflow, OverflowKind
from reports.figures import Limits, count

from tests.engine.builders import NODE, T0, Scenario, a_deployment, a_queue, an_agent
from tests.reports.histories import histories, messy, store_rows
from tests.reports.reference import (AGENCY_FIGURES, AGENT_FIGURES, MAX_FIGURES, QUEUE_FIGURES, exact_ms,
                                     reference_count, without_zeros)

@pytest.fixture(autouse=True, scope="module")
def quiet_engine():
    """The random histories make the engine refuse many commands, each logged as a warning:
    captured, they cost more time than the histories themselves."""
    engine_log = logging.getLogger("engine")
    level = engine_log.level
    engine_log.setLevel(logging.CRITICAL)
    yield
    engine_log.setLevel(level)


# no "explain" phase: on a disagreement it costs a minute and the shrunk history says it all
PROPERTY = settings(max_examples=150, deadline=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
limits_st = st.builds(
    Limits,
    service_level=st.sampled_from([{}, {"orders": 30.0}, {"sales": 10.0, "orders": 45.0}, {"support": 12.5}]),
    default_service_level=st.sampled_from([20.0, 15.0, 0.5]),
    short_abandon=st.sampled_from([5.0, 3.0, 10.0]))


def tables(figures) -> dict:
    return {"queues": without_zeros(figures.queues), "agencies": without_zeros(figures.agencies),
            "agents": without_zeros(figures.agents)}


def differences(fast, slow) -> list[str]:
    """Every (table, key, figure) whose values differ, missing = 0."""
    out = []
    a, b = tables(fast), tables(slow)
    for table in a:
        for key in sorted(set(a[table]) | set(b[table]), key=repr):
            fa, fb = a[table].get(key, {}), b[table].get(key, {})
            for name in sorted(set(fa) | set(fb)):
                if fa.get(name, 0) != fb.get(name, 0):
                    out.append(f"{table} {key}: {name} figures.py={fa.get(name, 0)} reference={fb.get(name, 0)}")
    return out


def add(into: dict, figures: dict) -> None:
    for name, value in figures.items():
        into[name] = max(into.get(name, 0), value) if name in MAX_FIGURES else into.get(name, 0) + value


def per_agency(table: dict) -> dict:
    """{(quarter, agency): figures} -> {agency: figures over every quarter}."""
    out: dict = {}
    for (_quarter, agency), figures in table.items():
        add(out.setdefault(agency, {}), figures)
    return out


def ms_of(rows, kind, name="waited", **where) -> list[int]:
    return [exact_ms(r.data[name]) for r in rows if r.kind == kind and r.data.get(name)
            and all(r.data.get(k) == v for k, v in where.items())]


# -- the two implementations agree --------------------------------------------------------------------
@PROPERTY
@given(history=histories(), limits=limits_st, data=st.data())
def test_every_figure_equals_the_reference_on_random_histories(history, limits, data):
    assert not history.conflicts, history.conflicts       # the store keeps one row per (interaction, seq)
    fast, slow = count(history.rows, limits), reference_count(history.rows, limits)
    assert differences(fast, slow) == []
    # "today up to now": the journal read at any moment (calls still going on are in progress)
    if history.rows:
        cut = data.draw(st.sampled_from(sorted({r.at for r in history.rows})), label="read at")
        early = [r for r in history.rows if r.at <= cut]
        assert differences(count(early, limits), reference_count(early, limits)) == []


@PROPERTY
@given(history=histories(), limits=limits_st, data=st.data())
def test_duplicated_and_reordered_rows_give_the_figures_of_the_clean_journal(history, limits, data):
    rows = data.draw(messy(history.rows), label="rows")
    assert differences(count(rows, limits), count(history.rows, limits)) == []
    assert differences(reference_count(rows, limits), reference_count(history.rows, limits)) == []


# -- the sums add up ---------------------------------------------------------------------------------------
@PROPERTY
@given(history=histories(), limits=limits_st)
def test_figures_add_up_over_quarters_agencies_and_queues(history, limits):
    rows = history.rows
    fast = count(rows, limits)
    # an agency's figures include the sums of its queues' figures, quarter by quarter
    for (quarter, agency), figures in fast.agencies.items():
        queues = [f for (q, a, _queue), f in fast.queues.items() if (q, a) == (quarter, agency)]
        for name in QUEUE_FIGURES:
            values = [f.get(name, 0) for f in queues]
            expected = (max(values, default=0) if name in MAX_FIGURES else sum(values))
            assert figures.get(name, 0) == expected, (quarter, agency, name)
    assert {(q, a) for (q, a, _) in fast.queues} <= set(fast.agencies)
    # the sum over quarters is the figure of the whole period: each call counted alone, then added
    alone: dict = {}
    for interaction in sorted({r.interaction for r in rows}):
        one = count([r for r in rows if r.interaction == interaction], limits)
        for agency, figures in per_agency(one.agencies).items():
            add(alone.setdefault(agency, {}), figures)
    whole = per_agency(fast.agencies)
    for agency in set(alone) | set(whole):
        for name in AGENCY_FIGURES:
            assert whole.get(agency, {}).get(name, 0) == alone.get(agency, {}).get(name, 0), (agency, name)
    # the sum over agencies is the centre's total, read straight off the rows
    centre: dict = {}
    for figures in whole.values():
        add(centre, figures)
    kinds = Counter(r.kind for r in rows)
    answered = [r for r in rows if r.kind == "answered" and r.data.get("callback") != "1"]
    assert centre.get("calls", 0) == kinds["arrived"]
    assert centre.get("offered", 0) == kinds["entered_queue"]
    assert centre.get("answered", 0) == len(answered)
    assert centre.get("abandoned", 0) + centre.get("abandoned_before_queue", 0) == kinds["abandoned"]
    assert centre.get("callbacks_requested", 0) == kinds["callback_requested"]
    assert centre.get("callbacks_made", 0) == kinds["callback_connected"]
    assert centre.get("rona", 0) == kinds["no_answer"]
    assert centre.get("recalled", 0) == kinds["recalled"]
    assert centre.get("messages_taken", 0) == kinds["message_taken"]
    assert centre.get("transferred_out", 0) == len([r for r in rows if r.kind == "transferred" and r.data.get("to_queue")])
    assert centre.get("transferred_in", 0) == centre.get("transferred_out", 0)
    assert centre.get("wait_answered", 0) == sum(exact_ms(r.data["waited"]) for r in answered)
    talk = sum(sum(ms_of(rows, k, "talk")) for k in ("talk_ended", "transferred", "parked"))
    assert centre.get("talk", 0) == talk
    entered = {}
    for r in rows:
        if r.kind == "entered_queue":
            entered[r.interaction] = min(entered.get(r.interaction, r.seq), r.seq)
    in_queue = [r for r in rows if r.kind == "abandoned" and r.interaction in entered and r.seq > entered[r.interaction]]
    waits = [exact_ms(r.data["waited"]) for r in answered + in_queue]
    assert centre.get("longest_wait", 0) == max(waits, default=0)
    # the agents' figures are the rows that name them
    agents: dict = {}
    for (_quarter, _agent), figures in fast.agents.items():
        add(agents, figures)
    assert agents.get("answered", 0) == len([r for r in answered if r.agent])
    assert agents.get("rona", 0) == kinds["no_answer"]
    assert agents.get("messages_taken", 0) == kinds["message_taken"]
    assert agents.get("talk", 0) == sum(exact_ms(r.data["talk"]) for r in rows
                                        if r.agent and r.kind in ("talk_ended", "transferred", "parked")
                                        and r.data.get("talk"))
    assert set(agents) <= set(AGENT_FIGURES)


# -- exact examples ------------------------------------------------------------------------------------------
QUARTER = T0                                              # 10:00 UTC, 11:00 in Oslo


def one_agent(**queue_kw) -> Scenario:
    s = Scenario(a_deployment(queues=[a_queue("sales", **queue_kw)], agents=[an_agent("alice")]))
    s.login("alice")
    return s


def test_a_call_answered_in_12_s_within_a_20_s_target():
    s = one_agent(wrapup=10)
    s.call("c1")
    s.advance(12)
    s.talk("c1", "alice")
    s.advance(95.5)
    s.hangup("c1")
    s.advance(10)
    s.assert_journal_exact()
    got = count(s.journal, Limits(service_level={"sales": 20.0}))
    queue = got.queues[(QUARTER, "acme", "sales")]
    assert {k: v for k, v in queue.items() if v} == {
        "offered": 1, "answered": 1, "answered_in_sl": 1, "wait_answered": 12_000, "longest_wait": 12_000,
        "talk": 95_500, "wrapup": 10_000}
    agency = got.agencies[(QUARTER, "acme")]
    assert agency["calls"] == 1 and agency["answered_in_sl"] == 1 and agency.get("abandoned", 0) == 0
    assert {k: v for k, v in got.agents[(QUARTER, "alice")].items() if v} == {
        "answered": 1, "talk": 95_500, "wrapup": 10_000}
    # the same call against a 10 s target is answered outside it
    assert count(s.journal, Limits(service_level={"sales": 10.0})).queues[(QUARTER, "acme", "sales")].get(
        "answered_in_sl", 0) == 0


def test_an_abandon_after_3_s_is_short_and_not_after_the_target():
    s = one_agent()
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call("c1")
    s.advance(3)
    s.hangup("c1")
    got = count(s.journal, Limits())
    queue = got.queues[(QUARTER, "acme", "sales")]
    assert {k: v for k, v in queue.items() if v} == {"offered": 1, "abandoned": 1, "short_abandoned": 1,
                                                    "longest_wait": 3_000}
    assert got.agencies[(QUARTER, "acme")].get("abandoned_before_queue", 0) == 0
    # with a 2 s short-abandon limit and a 2 s target it is neither short nor within the target
    strict = count(s.journal, Limits(default_service_level=2.0, short_abandon=2.0)).queues[(QUARTER, "acme", "sales")]
    assert strict.get("short_abandoned", 0) == 0 and strict["abandoned_after_sl"] == 1


def test_a_call_moved_to_another_agencys_queue_counts_once_in_each():
    from tests.engine.test_transfer import moved_to_another_agency
    s = moved_to_another_agency(10, 0)                  # alice (acme/sales) sent c1 to vest's orders queue
    s.advance(7)
    s.send(ev.AgentResume("bob", s.now))
    s.advance(4)
    s.talk("c1", "bob")
    s.advance(60)
    s.hangup("c1")
    s.assert_journal_exact()
    got = count(s.journal, Limits())
    sales = got.queues[(QUARTER, "acme", "sales")]
    orders = got.queues[(QUARTER, "vest", "orders")]
    assert (sales["offered"], sales.get("transferred_out", 0), sales.get("transferred_in", 0)) == (1, 1, 0)
    assert (orders["offered"], orders.get("transferred_in", 0), orders.get("transferred_out", 0)) == (1, 1, 0)
    assert sales["answered"] == 1 and orders["answered"] == 1 and orders["talk"] == 60_000
    assert got.agencies[(QUARTER, "acme")]["calls"] == 1            # it arrived on acme's number
    assert got.agencies[(QUARTER, "vest")].get("calls", 0) == 0
    assert got.agencies[(QUARTER, "vest")]["offered"] == 1 and got.agencies[(QUARTER, "acme")]["offered"] == 1
    assert got.agents[(QUARTER, "alice")]["transferred_out"] == 1
    assert got.agents[(QUARTER, "bob")]["answered"] == 1


def test_a_call_entering_at_08_14_and_answered_at_08_16_belongs_to_the_08_00_quarter():
    oslo = ZoneInfo("Europe/Oslo")
    start = datetime(2026, 11, 25, 8, 14, tzinfo=oslo)
    s = Scenario(a_deployment(queues=[a_queue("sales")], agents=[an_agent("alice")]), now=start)
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call("c1")
    s.advance(120)                                      # 08:16: alice is back and answers
    s.send(ev.AgentResume("alice", s.now))
    s.talk("c1", "alice")
    s.advance(600)                                      # talk until 08:26
    s.hangup("c1")
    got = count(s.journal, Limits())
    eight = datetime(2026, 11, 25, 7, 0, tzinfo=timezone.utc)        # 08:00 in Oslo
    assert set(got.queues) == {(eight, "acme", "sales")}
    assert got.queues[(eight, "acme", "sales")]["answered"] == 1
    assert got.queues[(eight, "acme", "sales")].get("answered_in_sl", 0) == 0   # 120 s > 20 s
    assert got.queues[(eight, "acme", "sales")]["talk"] == 600_000
    assert set(got.agencies) == {(eight, "acme")} and set(got.agents) == {(eight, "alice")}
    assert all(k[0] != eight + timedelta(minutes=15) for k in got.queues)


def test_a_replayed_row_counts_once_and_the_order_read_does_not_matter():
    s = one_agent()
    s.call("c1")
    s.advance(4)
    s.talk("c1", "alice")
    s.advance(30)
    s.hangup("c1")
    clean = store_rows(s.journal, [])
    replayed = list(reversed(clean + clean[2:5]))
    assert count(replayed, Limits()).queues == count(clean, Limits()).queues
    assert count(replayed, Limits()).queues[(QUARTER, "acme", "sales")]["answered"] == 1


def test_a_call_still_waiting_is_in_progress_in_its_last_segment_only():
    to_support = Overflow(OverflowKind.QUEUE, "support")
    s = Scenario(a_deployment(queues=[a_queue("sales", max_wait=60, overflow=to_support), a_queue("support")],
                              agents=[an_agent("alice", queues={"sales": 1, "support": 1})]))
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call("c1")
    s.advance(60)                                       # overflows to support and waits there
    got = count(s.journal, Limits())
    sales, support = got.queues[(QUARTER, "acme", "sales")], got.queues[(QUARTER, "acme", "support")]
    assert (sales["offered"], sales["overflowed"], sales.get("in_progress", 0)) == (1, 1, 0)
    assert (support["offered"], support["in_progress"]) == (1, 1)
    s.advance(30)
    s.hangup("c1")                                      # then it ends: no longer in progress, abandoned there
    support = count(s.journal, Limits()).queues[(QUARTER, "acme", "support")]
    assert (support.get("in_progress", 0), support["abandoned"]) == (0, 1)


def test_the_talk_of_a_blind_transfers_target_is_the_queues_and_no_agents():
    """docs/metrics.md, agent figures: "From the rows that name the agent (agent column)". The
    `talk_ended` of a call alice blind-transferred and the target answered names nobody."""
    from tests.engine.test_transfer import target_leg
    s = one_agent(wrapup=0)
    s.call("c1")
    s.talk("c1", "alice")
    s.advance(12)
    s.send(ev.CallTransfer("alice", "1001", s.now, kind="user", name="Per"))
    leg = target_leg(s)
    s.advance(2)
    s.answer(leg)
    s.send(ev.Bridged(NODE, "c1", leg, s.now))
    s.advance(30)
    s.hangup("c1")
    s.assert_journal_exact()
    ended = [r for r in s.journal if r.kind == "talk_ended"]
    assert [(r.agent, r.data["talk"]) for r in ended] == [("", "30.000")]
    got = count(s.journal, Limits())
    assert got.queues[(QUARTER, "acme", "sales")]["talk"] == 30_000    # the rows the doc names (not transfer_started)
    assert got.agents[(QUARTER, "alice")].get("talk", 0) == 0
    assert got.agents[(QUARTER, "alice")]["answered"] == 1

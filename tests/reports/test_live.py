"""reports/live.LiveFigures against reports/figures.count: the running totals, fed with the
journal in random batches (as the writer commits them, some rows again as a replay would),
equal a count of every row restricted to today's quarter-hours, also across local
midnight; duplicates change nothing; a change of limits recounts."""
from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine.effects import Journal
from reports.figures import Figures, Limits, count
from reports.live import LiveFigures, day_bounds
from reports.report import tabulate

from tests.reports.histories import histories, messy

PROPERTY = settings(max_examples=60, deadline=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
limits_st = st.builds(
    Limits,
    service_level=st.sampled_from([{}, {"orders": 30.0}, {"sales": 10.0, "orders": 45.0}]),
    default_service_level=st.sampled_from([20.0, 0.5]),
    short_abandon=st.sampled_from([5.0, 3.0]))


@pytest.fixture(autouse=True, scope="module")
def quiet_engine():
    engine_log = logging.getLogger("engine")
    level = engine_log.level
    engine_log.setLevel(logging.CRITICAL)
    yield
    engine_log.setLevel(level)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def of_day(figures: Figures, at: datetime) -> dict:
    """count()'s figures restricted to the quarters of `at`'s local day, as plain dicts."""
    start, end = day_bounds(at)
    return {section: {k: v for k, v in getattr(figures, section).items() if start <= k[0] < end}
            for section in ("queues", "agencies", "agents")}


def plain(figures: Figures) -> dict:
    return {section: dict(getattr(figures, section)) for section in ("queues", "agencies", "agents")}


def batches(draw, rows: list) -> list[list]:
    """The rows in write order cut into random batches; each batch shuffled, with some rows
    of it and of earlier batches again (a retried or replayed write)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(rows)), max_size=8)))
    out, last = [], 0
    for cut in cuts + [len(rows)]:
        batch = rows[last:cut]
        last = cut
        again = draw(st.lists(st.sampled_from(rows[:cut]), max_size=3)) if cut else []
        batch = batch + [replace(r) for r in again]
        out.append(draw(st.permutations(batch)))
    return out


@PROPERTY
@given(history=histories(), data=st.data())
def test_batches_add_up_to_a_count_of_every_row(history, data):
    rows = history.rows
    limits = data.draw(limits_st)
    end = max((r.at for r in rows), default=datetime(2026, 11, 25, 12, tzinfo=timezone.utc))
    live = LiveFigures(limits, Clock(end))
    split = batches(data.draw, rows)
    live.seed(split[0])
    for batch in split[1:]:
        live.add(batch)
    assert plain(live.figures()) == of_day(count(rows, limits), end)
    start, stop = day_bounds(end)
    want = tabulate("agency", count(rows, limits), start, stop, "1d", limits)
    assert live.today("agency").rows == want.rows and live.today("agency").total == want.total
    assert live.add(rows) == 0, "every row again: nothing new"
    assert plain(live.figures()) == of_day(count(rows, limits), end)


@PROPERTY
@given(history=histories(), data=st.data())
def test_any_order_and_any_duplicates_give_the_same_figures(history, data):
    rows = data.draw(messy(history.rows))
    limits = data.draw(limits_st)
    end = max((r.at for r in rows), default=datetime(2026, 11, 25, 12, tzinfo=timezone.utc))
    live = LiveFigures(limits, Clock(end))
    step = data.draw(st.integers(1, 7))
    for i in range(0, len(rows), step):
        live.add(rows[i:i + step])
    assert plain(live.figures()) == of_day(count(history.rows, limits), end)


@PROPERTY
@given(history=histories(), data=st.data(), minutes=st.integers(0, 45))
def test_across_local_midnight_the_new_day_counts_only_its_own_quarters(history, data, minutes):
    # the history (11:00-11:30 in Oslo) moved to begin between 23:15 and 24:00
    shift = timedelta(hours=12, minutes=15 + minutes)
    rows = [replace(r, at=r.at + shift) for r in history.rows]
    limits = data.draw(limits_st)
    first = min((r.at for r in rows), default=datetime(2026, 11, 25, 22, 30, tzinfo=timezone.utc))
    clock = Clock(first)
    live = LiveFigures(limits, clock)
    seen: list = []
    for batch in batches(data.draw, rows):
        clock.now = max([clock.now] + [r.at for r in batch])
        live.add(batch)
        seen += batch
        assert plain(live.figures()) == of_day(count(seen, limits), clock.now)
    clock.now += timedelta(hours=1)          # nothing more written: a read after midnight rolls over too
    assert plain(live.figures()) == of_day(count(rows, limits), clock.now)


# -- exact examples -------------------------------------------------------------------------------------------
def rows_of(ix: str, tenant: str, steps: list) -> list[Journal]:
    return [Journal(ix, seq, kind, at, tenant, queue, agent, data)
            for seq, (kind, at, queue, agent, data) in enumerate(steps, start=1)]


OSLO_MIDNIGHT = datetime(2026, 3, 10, 23, 0, tzinfo=timezone.utc)      # 2026-03-11 00:00 in Oslo


def test_midnight_starts_a_new_day_and_forgets_the_ended_calls():
    m = OSLO_MIDNIGHT
    early = rows_of("early", "acme", [
        ("arrived", m - timedelta(minutes=10), "", "", {}),
        ("entered_queue", m - timedelta(minutes=10), "sales", "", {"agency": "acme"}),
        ("answered", m - timedelta(minutes=9), "sales", "kari", {"waited": "60.000"}),
        ("talk_ended", m - timedelta(minutes=5), "sales", "kari", {"talk": "240.000"}),
        ("ended", m - timedelta(minutes=5), "sales", "kari", {})])
    across = rows_of("across", "acme", [
        ("arrived", m - timedelta(minutes=2), "", "", {}),
        ("entered_queue", m - timedelta(minutes=2), "sales", "", {"agency": "acme"}),
        ("answered", m - timedelta(minutes=1), "sales", "kari", {"waited": "55.000"}),
        ("transferred", m + timedelta(minutes=3), "sales", "kari", {"talk": "240.000", "to_queue": "support"}),
        ("entered_queue", m + timedelta(minutes=3), "support", "", {"agency": "acme"}),
        ("answered", m + timedelta(minutes=4), "support", "ola", {"waited": "7.000"}),
        ("ended", m + timedelta(minutes=9), "support", "ola", {})])
    late = rows_of("late", "acme", [
        ("arrived", m + timedelta(minutes=10), "", "", {}),
        ("overflowed", m + timedelta(minutes=10), "", "", {"reason": "after_hours"}),
        ("ended", m + timedelta(minutes=11), "", "", {})])
    clock = Clock(m - timedelta(minutes=1))
    live = LiveFigures(Limits(), clock)
    live.add(early + across[:3])
    before = live.today("agency").total
    assert (before["calls"], before["answered"], before["answered_in_sl"]) == (2, 2, 0)
    clock.now = m + timedelta(minutes=10)
    assert live.today("agency").total["calls"] == 0, "a new day: yesterday's calls are not today's"
    assert live.held() == 1, "the ended call is forgotten, the open one kept"
    live.add(across[3:] + late + early[-1:])          # a late copy of a forgotten call's row: ignored
    assert live.held() == 2
    today = live.today("agency").total
    assert (today["calls"], today["after_hours"], today["offered"], today["answered"]) == (1, 1, 1, 1)
    assert today["transferred_in"] == 1 and today["answered_in_sl"] == 1
    assert plain(live.figures()) == of_day(count(early + across + late), clock.now)


def test_duplicates_count_once_and_a_call_counts_from_its_first_row():
    at = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    call = rows_of("c1", "acme", [
        ("arrived", at, "", "", {"direct_dial": "1"}),
        ("entered_queue", at, "sales", "", {"agency": "acme"}),
        ("abandoned", at + timedelta(seconds=3), "sales", "", {"waited": "3.000"}),
        ("ended", at + timedelta(seconds=3), "sales", "", {})])
    live = LiveFigures(Limits(), Clock(at + timedelta(minutes=1)))
    assert live.add(call[1:] + call[1:]) == 3
    assert live.figures().agencies == {}, "without its first row a call is held, not counted"
    assert live.add(call) == 1
    total = live.today("agency").total
    assert (total["calls"], total["direct_dial"], total["abandoned"], total["short_abandoned"]) == (1, 1, 1, 1)
    assert live.add(list(reversed(call))) == 0
    assert live.today("agency").total == total


def test_longest_wait_is_the_largest_and_a_changed_limit_recounts():
    at = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    calls = []
    for n, waited in enumerate((12.0, 30.5, 8.25)):
        calls += rows_of(f"c{n}", "acme", [
            ("arrived", at, "", "", {}),
            ("entered_queue", at, "sales", "", {"agency": "acme"}),
            ("answered", at + timedelta(seconds=waited), "sales", "kari", {"waited": f"{waited:.3f}"})])
    limits = [Limits()]
    live = LiveFigures(lambda: limits[0], Clock(at + timedelta(minutes=2)))
    live.add(calls)
    total = live.today("agency").total
    assert (total["longest_wait"], total["answered_in_sl"], total["in_progress"]) == (30.5, 2, 0)
    limits[0] = Limits(default_service_level=10.0)
    live.add([])
    assert live.today("agency").total["answered_in_sl"] == 1
    assert plain(live.figures()) == of_day(count(calls, limits[0]), at)


def test_tenants_narrow_the_table():
    at = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
    rows = []
    for n, tenant in enumerate(("acme", "vest", "vest")):
        rows += rows_of(f"c{n}", tenant, [("arrived", at, "", "", {})])
    live = LiveFigures(Limits(), Clock(at))
    live.add(rows)
    assert [r["agency"] for r in live.today("agency").rows] == ["acme", "vest"]
    assert live.today("agency", tenants={"vest"}).total["calls"] == 2
    assert live.today("agency", tenant="acme").total["calls"] == 1


def test_many_random_batches_of_many_calls():
    """Bigger than the histories: 300 calls over a day in batches of 1-50 rows, in write order."""
    rnd = random.Random(7)
    day = datetime(2026, 3, 10, 5, 0, tzinfo=timezone.utc)
    rows = []
    for n in range(300):
        at = day + timedelta(seconds=rnd.randrange(14 * 3600))
        waited = rnd.choice((2.0, 9.5, 25.0, 80.0))
        tenant, queue = rnd.choice((("acme", "sales"), ("acme", "support"), ("vest", "orders")))
        outcome = rnd.choice(("answered", "abandoned", "open"))
        steps = [("arrived", at, "", "", {}), ("entered_queue", at, queue, "", {"agency": tenant})]
        if outcome == "answered":
            steps += [("answered", at + timedelta(seconds=waited), queue, "kari", {"waited": f"{waited:.3f}"}),
                      ("talk_ended", at + timedelta(seconds=waited + 60), queue, "kari", {"talk": "60.000"}),
                      ("ended", at + timedelta(seconds=waited + 60), queue, "kari", {})]
        elif outcome == "abandoned":
            steps += [("abandoned", at + timedelta(seconds=waited), queue, "", {"waited": f"{waited:.3f}"}),
                      ("ended", at + timedelta(seconds=waited), queue, "", {})]
        rows += rows_of(f"c{n}", tenant, steps)
    rows.sort(key=lambda r: (r.at, r.seq))
    end = day + timedelta(hours=15)
    live = LiveFigures(Limits(service_level={"orders": 30.0}), Clock(end))
    i = 0
    while i < len(rows):
        step = rnd.randint(1, 50)
        live.add(rows[i:i + step] + rnd.sample(rows[:i + step], k=min(3, i + step)))
        i += step
    assert plain(live.figures()) == of_day(count(rows, Limits(service_level={"orders": 30.0})), end)
    assert live.today("agency").total["calls"] == 300

"""Today's counted journal rows (the engine's live figures are seeded from them at start-up)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.effects import Journal
from store import journal_stats

OSLO_MIDNIGHT = datetime(2026, 11, 24, 23, 0, tzinfo=timezone.utc)     # 25 Nov 00:00 in Oslo (CET)


def row(interaction, seq, kind, at, **data):
    return Journal(interaction=interaction, seq=seq, kind=kind, at=at, tenant="helsedir",
                   queue="sentralbord", agent="a1000", data={k: str(v) for k, v in data.items()})


def test_given_rows_around_local_midnight_then_today_has_only_the_local_days_counted_kinds(store):
    late_yesterday = OSLO_MIDNIGHT - timedelta(microseconds=1)
    first_today = OSLO_MIDNIGHT
    last_today = OSLO_MIDNIGHT + timedelta(hours=24) - timedelta(microseconds=1)
    tomorrow = OSLO_MIDNIGHT + timedelta(hours=24)
    store.append_journal([
        row("y", 1, "answered", late_yesterday, waited="3.000"),
        row("t", 1, "entered_queue", first_today),
        row("t", 2, "answered", first_today, waited="4.500"),
        row("t", 3, "talk_ended", first_today + timedelta(minutes=2), talk="120.000"),
        row("u", 1, "abandoned", last_today, waited="31.000", stage="queued"),
        row("z", 1, "answered", tomorrow, waited="1.000"),
    ])
    now = OSLO_MIDNIGHT + timedelta(hours=13)                              # 14:00 in Oslo
    rows = journal_stats.today(store, now)
    assert [(r.interaction, r.seq, r.kind) for r in rows] == [("t", 2, "answered"), ("t", 3, "talk_ended"),
                                                               ("u", 1, "abandoned")]
    assert rows[0].data == {"waited": "4.500"} and rows[0].at == first_today
    assert all(r.at.tzinfo is not None for r in rows)


def test_day_bounds_follow_the_clock_change():
    start, end = journal_stats.day_bounds(datetime(2026, 3, 29, 12, 0, tzinfo=timezone.utc))   # summer time begins
    assert start == datetime(2026, 3, 28, 23, 0, tzinfo=timezone.utc)
    assert end - start == timedelta(hours=23)

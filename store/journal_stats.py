"""Today's journal rows that the engine's live figures count (engine.statistics.seed).

Rules:
- "today" is the local day of `now` in engine.statistics.DAY_ZONE (Europe/Oslo): from
  local midnight to the next local midnight (23 or 25 hours on the days the clocks
  change), compared in UTC against the journal's aware `at`;
- only the kinds the figures count are read (`COUNTED`), in journal order; the engine
  decides which of them count (a callback's answer, an abandon before the queue), so
  the rule lives in one place;
- read-only: one SELECT in its own transaction, at start-up.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from engine.effects import Journal
from engine.statistics import DAY_ZONE
from store.models import JournalRow

COUNTED = ("answered", "abandoned", "talk_ended")


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of `now`'s local day, as UTC datetimes."""
    day = now.astimezone(DAY_ZONE).date()
    start = datetime(day.year, day.month, day.day, tzinfo=DAY_ZONE)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=DAY_ZONE)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def today_select(now: datetime):
    start, end = day_bounds(now)
    t = JournalRow.__table__
    return (sa.select(t.c.interaction, t.c.seq, t.c.kind, t.c.at, t.c.tenant, t.c.queue, t.c.agent, t.c.data)
            .where(t.c.kind.in_(COUNTED), t.c.at >= start, t.c.at < end)
            .order_by(t.c.at, t.c.interaction, t.c.seq))


def today(store, now: datetime) -> list[Journal]:
    """Today's counted rows from the store (a `store.store.Store`)."""
    with store.transaction() as conn:
        return [Journal(interaction=r.interaction, seq=r.seq, kind=r.kind, at=_aware(r.at), tenant=r.tenant,
                        queue=r.queue, agent=r.agent, data=dict(r.data or {}))
                for r in conn.execute(today_select(now))]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)   # SQLite keeps no zone

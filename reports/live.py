"""Today's report figures, kept up to date from the journal rows as they are written
(docs/metrics.md "Live figures of today"): what the wallboard's and the API's "today" show.

Rules:
* "today" is the local day (Europe/Oslo, engine.statistics.DAY_ZONE) of `clock()`; the
  figures are those of reports.figures.count over every row held, restricted to the
  quarter-hours of today: exactly what a report of today (Store.journal_of_period(day
  start, now) counted with the same limits) shows;
* the rows are held per interaction, a (interaction, seq) seen twice counts once; `seed`
  (at start-up: today's journal from the store) and `add` (rows just committed) are the
  same operation: for each interaction the rows change, its old contribution (its
  count() before) is taken off the running totals and its new one (count() of all its
  rows) added. Sums are added and subtracted; a maximum (longest_wait) is the largest
  of the interactions' own maxima (never lowered by a later row of the same call);
* an interaction counts once its first row (seq 1) is here: rows of a call that began
  before what was seeded are held but not counted (its figures would be wrong without
  its start); the engine writes seq 1 first, the seed holds every call of today;
* at local midnight (noticed by the first `add` or read after it) a new day starts: the
  calls that have ended and count nothing in the new day are forgotten (rows of theirs
  that still come are ignored), open calls stay (a segment they start today is today's);
  an open call with no row since the day before yesterday is forgotten (its `ended` was
  lost), an open written item (rows with a `channel` other than voice) never: it may wait
  for days;
* `limits` is a Limits or a function giving the current ones (a configuration reload):
  when they change, every held call is counted again;
* no I/O and no yield: safe for gevent greenlets (a lock guards against threads).
"""
from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Callable, Collection, Iterable, Mapping

from engine.effects import Journal
from engine.statistics import DAY_ZONE
from reports.figures import MAXIMA, VOICE, Figures, Limits, count

SECTIONS = ("queues", "agencies", "agents")
RESOLUTION = "1d"


def day_bounds(at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of `at`'s local day as aware datetimes (23 or 25 hours on DST days)."""
    day = at.astimezone(DAY_ZONE).date()
    following = day + timedelta(days=1)
    return (datetime(day.year, day.month, day.day, tzinfo=DAY_ZONE),
            datetime(following.year, following.month, following.day, tzinfo=DAY_ZONE))


class _Call:
    __slots__ = ("rows", "contribution", "ended", "last_at", "written")

    def __init__(self):
        self.rows: dict[int, Journal] = {}
        self.contribution: Figures | None = None      # what it adds to the totals (None: not counted)
        self.ended = False
        self.written = False                          # a written item (e-mail, SMS, task)
        self.last_at: datetime | None = None


class LiveFigures:
    def __init__(self, limits: Limits | Callable[[], Limits], clock: Callable[[], datetime]):
        self._limits_source = limits if callable(limits) else (lambda: limits)
        self._limits = self._limits_source()
        self._clock = clock
        self._lock = threading.RLock()
        self._calls: dict[str, _Call] = {}
        self._retired: set[str] = set()               # ended calls of the days before: ignored
        self._sums: dict[str, dict[tuple, dict[str, int]]] = {s: {} for s in SECTIONS}
        self._refs: dict[tuple[str, tuple], int] = defaultdict(int)
        self._maxima: dict[tuple[str, tuple, str], dict[str, int]] = {}
        self.day: date = clock().astimezone(DAY_ZONE).date()
        self.rows_added = 0                           # new (interaction, seq) taken in
        self.updated_at: datetime | None = None       # clock() of the last add that changed something

    # -- feeding ------------------------------------------------------------------------
    def seed(self, rows: Iterable[Journal]) -> int:
        """Today's journal (Store.journal_of_period(day start, now)) at start-up; returns new rows."""
        return self.add(rows)

    def add(self, rows: Iterable[Journal]) -> int:
        """Rows just written (any order, duplicates allowed); returns how many were new."""
        with self._lock:
            self._roll()
            self._check_limits()
            touched: set[str] = set()
            new = 0
            for row in rows:
                if row.interaction in self._retired:
                    continue
                call = self._calls.get(row.interaction)
                if call is None:
                    call = self._calls[row.interaction] = _Call()
                if row.seq in call.rows:
                    continue
                call.rows[row.seq] = row
                call.ended = call.ended or row.kind == "ended"
                call.written = call.written or (row.data or {}).get("channel", VOICE) != VOICE
                if call.last_at is None or row.at > call.last_at:
                    call.last_at = row.at
                touched.add(row.interaction)
                new += 1
            for interaction in touched:
                self._recount(interaction, self._calls[interaction])
            if new:
                self.rows_added += new
                self.updated_at = self._clock()
            return new

    # -- reading ------------------------------------------------------------------------
    def figures(self) -> Figures:
        """Today's figures (keys of today's quarter-hours only), a copy."""
        with self._lock:
            self._roll()
            start, end = day_bounds(self._clock())
            out = Figures()
            for section in SECTIONS:
                setattr(out, section, {key: dict(counts) for key, counts in self._sums[section].items()
                                       if start <= key[0] < end})
            return out

    def today(self, kind: str, tenants: Collection[str] | None = None, tenant: str | None = None,
              channel: str | None = None, channels: Mapping[str, str] | None = None):
        """The `kind` report (reports.report.tabulate) of today in one interval ("1d");
        `channels`: each queue's channel (the configuration's), `channel` one of them only."""
        from reports.report import tabulate

        with self._lock:
            figures = self.figures()
            start, end = day_bounds(self._clock())
            return tabulate(kind, figures, start, end, RESOLUTION, self._limits, tenant=tenant, tenants=tenants,
                            channel=channel, channels=channels)

    @property
    def limits(self) -> Limits:
        return self._limits

    def __contains__(self, interaction: str) -> bool:
        return interaction in self._calls

    def held(self) -> int:
        """How many calls are held (for health pages and tests)."""
        return len(self._calls)

    # -- the running totals ---------------------------------------------------------------
    def _recount(self, interaction: str, call: _Call) -> None:
        new = count(call.rows.values(), self._limits) if 1 in call.rows else None
        old, call.contribution = call.contribution, new
        if old is not None:
            self._apply(interaction, old, -1)
        if new is not None:
            self._apply(interaction, new, +1)

    def _apply(self, interaction: str, figures: Figures, sign: int) -> None:
        for section in SECTIONS:
            sums = self._sums[section]
            for key, counts in getattr(figures, section).items():
                ref = (section, key)
                self._refs[ref] += sign
                if sign > 0:
                    target = sums.setdefault(key, {})
                elif self._refs[ref] <= 0:
                    del self._refs[ref]
                    sums.pop(key, None)
                    for name in MAXIMA:
                        self._maxima.pop((section, key, name), None)
                    continue
                else:
                    target = sums[key]
                for name, value in counts.items():
                    if name in MAXIMA:
                        self._set_max(section, key, name, interaction, value if sign > 0 else None, target)
                        continue
                    total = target.get(name, 0) + sign * value
                    if total:
                        target[name] = total
                    else:
                        target.pop(name, None)

    def _set_max(self, section: str, key: tuple, name: str, interaction: str, value: int | None,
                 target: dict[str, int]) -> None:
        values = self._maxima.setdefault((section, key, name), {})
        if value is None:
            gone = values.pop(interaction, None)
            if not values:
                self._maxima.pop((section, key, name), None)
                target.pop(name, None)
            elif gone is not None and gone >= target.get(name, 0):
                target[name] = max(values.values())
        else:
            values[interaction] = value
            target[name] = max(target.get(name, value), value)

    def _check_limits(self) -> None:
        limits = self._limits_source()
        if limits == self._limits:
            return
        self._limits = limits
        for interaction, call in self._calls.items():
            self._recount(interaction, call)

    def _roll(self) -> None:
        """A new local day: forget the ended calls that count nothing in it."""
        now = self._clock()
        today = now.astimezone(DAY_ZONE).date()
        if today <= self.day:
            return
        self.day = today
        start, _ = day_bounds(now)
        stale = start - timedelta(days=1)
        retired: set[str] = set()
        for interaction, call in list(self._calls.items()):
            counts_today = call.contribution is not None and any(
                key[0] >= start for section in SECTIONS for key in getattr(call.contribution, section))
            old = (call.last_at is None or call.last_at < stale) and not (call.written and not call.ended)
            if (call.ended and not counts_today) or (old and not counts_today) or \
                    (call.contribution is None and (call.last_at is None or call.last_at < start)):
                if call.contribution is not None:
                    self._apply(interaction, call.contribution, -1)
                del self._calls[interaction]
                retired.add(interaction)
        self._retired = retired

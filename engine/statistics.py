"""Live queue statistics the engine needs for decisions and wallboards (not reports).

Rules:
* reports are computed from the journal only; these figures are the engine's running
  view of today: answered, abandoned and the service level count the calls of the
  current local day (DAY_ZONE) and start again at local midnight (the first call or
  view after it); the average handle time (talk + wrap-up) is a rolling window that
  does not reset (it feeds the estimated wait);
* service level = answered within the queue's target / (answered + abandoned after the
  target): an abandon within the target does not count against it;
* every figure is decided from the value the journal keeps (waited rounded to the
  millisecond, as written in `answered` / `abandoned` rows), so `seed` — run at
  start-up with today's journal rows — rebuilds exactly the counts a never-restarted
  engine would show, and they equal a count of the journal;
* estimated wait = position x average handle time / agents serving the queue (at least
  one), rounded up to whole minutes when announced.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

DEFAULT_HANDLE_TIME = 180.0
WINDOW = 50
DAY_ZONE = ZoneInfo("Europe/Oslo")


@dataclass
class QueueFigures:
    handle_times: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    answered: int = 0
    answered_in_time: int = 0
    abandoned: int = 0
    abandoned_late: int = 0             # abandoned after the service-level target

    def average_handle_time(self) -> float:
        if not self.handle_times:
            return DEFAULT_HANDLE_TIME
        return sum(self.handle_times) / len(self.handle_times)

    def service_level(self) -> float | None:
        counted = self.answered + self.abandoned_late
        if not counted:
            return None
        return self.answered_in_time / counted

    def new_day(self) -> "QueueFigures":
        return QueueFigures(handle_times=self.handle_times)


def journal_seconds(value: float) -> float:
    """A duration as the journal keeps it (three decimals)."""
    return float(f"{value:.3f}")


def local_day(at: datetime) -> date:
    return at.astimezone(DAY_ZONE).date()


class Statistics:
    def __init__(self, now: Callable[[], datetime] | None = None):
        self.queues: dict[str, QueueFigures] = {}
        self._now = now                  # the engine's time (never a wall clock)
        self.day: date | None = None

    def of(self, queue: str) -> QueueFigures:
        self._roll()
        figures = self.queues.get(queue)
        if figures is None:
            figures = self.queues[queue] = QueueFigures()
        return figures

    def figures(self, queue: str, now: datetime) -> QueueFigures:
        """Today's figures as of `now`, without changing anything (a view after midnight
        and before the next call shows a new day)."""
        figures = self.queues.get(queue) or QueueFigures()
        if self.day is not None and local_day(now) > self.day:
            return figures.new_day()
        return figures

    def _roll(self) -> None:
        if self._now is None:
            return
        today = local_day(self._now())
        if self.day is None:
            self.day = today
        elif today > self.day:
            self.day = today
            self.queues = {qid: f.new_day() for qid, f in self.queues.items()}

    def answered(self, queue: str, waited: float, target: float) -> None:
        f = self.of(queue)
        f.answered += 1
        if journal_seconds(waited) <= target:
            f.answered_in_time += 1

    def abandoned(self, queue: str, waited: float, target: float) -> None:
        f = self.of(queue)
        f.abandoned += 1
        if journal_seconds(waited) > target:     # short abandons do not count against the level
            f.abandoned_late += 1

    def handled(self, queue: str, seconds: float) -> None:
        self.of(queue).handle_times.append(seconds)

    def seed(self, rows: Iterable, queues: Mapping[str, object], at: datetime) -> int:
        """Add today's journal rows (`Journal`s of any day; others are skipped) to the
        figures, as the engine counted them live: `answered` (not a callback's),
        `abandoned` (not before the queue: stage `arrived`), `talk_ended` (handle time =
        talk + the queue's wrap-up). Returns how many rows counted."""
        self.day = self.day or local_day(at)
        counted = 0
        for row in rows:
            q = queues.get(row.queue)
            if q is None or local_day(row.at) != self.day:
                continue
            data = row.data or {}
            if row.kind == "answered" and data.get("callback") != "1":
                self.answered(row.queue, float(data.get("waited", 0)), q.service_level_seconds)
            elif row.kind == "abandoned" and data.get("stage") != "arrived":
                self.abandoned(row.queue, float(data.get("waited", 0)), q.service_level_seconds)
            elif row.kind == "talk_ended":
                self.handled(row.queue, float(data.get("talk", 0)) + q.wrapup)
            else:
                continue
            counted += 1
        return counted


def estimated_wait(position: int, average_handle_time: float, agents: int) -> float:
    return position * average_handle_time / max(1, agents)

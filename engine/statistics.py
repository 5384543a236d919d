"""Live queue statistics the engine needs for decisions and wallboards (not reports).

Rules:
* reports are computed from the journal only; these figures are the engine's running
  view: a rolling average handle time (talk + wrap-up) and a rolling service level;
* estimated wait = position x average handle time / agents serving the queue (at least
  one), rounded up to whole minutes when announced.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

DEFAULT_HANDLE_TIME = 180.0
WINDOW = 50


@dataclass
class QueueFigures:
    handle_times: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    outcomes: deque = field(default_factory=lambda: deque(maxlen=4 * WINDOW))  # True = within SL
    answered: int = 0
    abandoned: int = 0

    def average_handle_time(self) -> float:
        if not self.handle_times:
            return DEFAULT_HANDLE_TIME
        return sum(self.handle_times) / len(self.handle_times)

    def service_level(self) -> float | None:
        if not self.outcomes:
            return None
        return sum(1 for ok in self.outcomes if ok) / len(self.outcomes)


class Statistics:
    def __init__(self):
        self.queues: dict[str, QueueFigures] = {}

    def of(self, queue: str) -> QueueFigures:
        figures = self.queues.get(queue)
        if figures is None:
            figures = self.queues[queue] = QueueFigures()
        return figures

    def answered(self, queue: str, waited: float, target: float) -> None:
        f = self.of(queue)
        f.answered += 1
        f.outcomes.append(waited <= target)

    def abandoned(self, queue: str, waited: float, target: float) -> None:
        f = self.of(queue)
        f.abandoned += 1
        if waited > target:             # short abandons do not count against the level
            f.outcomes.append(False)

    def handled(self, queue: str, seconds: float) -> None:
        self.of(queue).handle_times.append(seconds)


def estimated_wait(position: int, average_handle_time: float, agents: int) -> float:
    return position * average_handle_time / max(1, agents)

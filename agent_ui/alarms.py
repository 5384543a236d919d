"""Queue alarms of the supervisor page: which thresholds a queue crosses now, and since when.

Rules:
- The thresholds are the queue's `alarms` in the routing configuration
  (engine.config.QueueAlarms; docs/dialplan.md); a threshold not set never fires.
- `waiting`: as many callers waiting as the threshold or more; `longest_wait`: the
  longest-waiting caller has waited the threshold or longer; `service_level`: today's
  service level (engine.statistics) is below the threshold percent. A queue with no
  service level yet today (no answered or late-abandoned call) raises no level alarm.
- `crossed` is pure over a queue view (engine.views.queue) and its thresholds.
  `AlarmBook` remembers since when each (queue, kind) has been crossed: an alarm that
  clears and comes back starts a new "since". It holds no engine state and is fed by
  whoever computes the views (agent_ui.supervisor_socket, once per push).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.config import QueueAlarms

KINDS = ("waiting", "longest_wait", "service_level")


@dataclass(frozen=True)
class Alarm:
    queue: str
    tenant: str
    kind: str                # one of KINDS
    value: float             # callers, seconds, or percent
    threshold: float


def crossed(view: dict, thresholds: QueueAlarms) -> list[Alarm]:
    """The alarms queue `view` (engine.views.queue's dict) raises now."""
    out = []
    queue, tenant = view["queue"], view["tenant"]
    if thresholds.waiting is not None and view["waiting"] >= thresholds.waiting:
        out.append(Alarm(queue, tenant, "waiting", float(view["waiting"]), float(thresholds.waiting)))
    if thresholds.longest_wait is not None and view["longest_wait"] >= thresholds.longest_wait:
        out.append(Alarm(queue, tenant, "longest_wait", float(view["longest_wait"]), thresholds.longest_wait))
    level = view.get("service_level")
    if thresholds.service_level is not None and level is not None and 100 * level < thresholds.service_level:
        out.append(Alarm(queue, tenant, "service_level", round(100 * level, 1), thresholds.service_level))
    return out


@dataclass(frozen=True)
class Raised:
    alarm: Alarm
    since: datetime


class AlarmBook:
    """Since when each alarm has been up; `update` returns (every alarm up now, the new ones)."""

    def __init__(self):
        self._since: dict[tuple[str, str], datetime] = {}

    def update(self, alarms: list[Alarm], now: datetime, queues: set[str] | None = None
               ) -> tuple[list[Raised], list[Raised]]:
        """`alarms`: every alarm crossed now among `queues` (default: the queues of
        `alarms`); alarms of those queues not in the list have cleared."""
        keys = {(a.queue, a.kind): a for a in alarms}
        scope = queues if queues is not None else {a.queue for a in alarms}
        for key in [k for k in self._since if k[0] in scope and k not in keys]:
            del self._since[key]
        new = []
        for key, alarm in keys.items():
            if key not in self._since:
                self._since[key] = now
                new.append(Raised(alarm, now))
        up = [Raised(a, self._since[k]) for k, a in sorted(keys.items(), key=lambda kv: (self._since[kv[0]], kv[0]))]
        return up, new

"""What the wallboard shows, computed from the engine's read-only views.

Rules: a viewer sees only the tenants (client agencies) where they hold a supervisor or
admin role ("*" = every tenant); agents are shown with the queues of those tenants only.
Pure over the engine object passed in; called from the web process's greenlets, which
never change engine state (views only read). The "today" lines (calls, answered, service
level, abandoned, after hours per visible agency) come from the journal as it is written
(reports/live.LiveFigures, the same numbers as a report of today), not from the engine's
counters: they are right after a restart and count after-hours calls. Written queues
(e-mail, SMS, tasks) are not among the calls' queues: `written` gives each one's waiting
items and the oldest one's wait (seconds), the figures that apply to them.
"""
from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from engine import views

WALLBOARD_ROLES = ("supervisor", "admin", "tenant_admin")


def visible_tenants(user, all_tenants) -> set[str]:
    tenants = set()
    for tenant, role in getattr(user, "roles", ()):
        if role in WALLBOARD_ROLES:
            tenants |= set(all_tenants) if tenant == "*" else {tenant}
    return tenants & set(all_tenants)


TODAY_FIGURES = ("calls", "answered", "service_level", "abandoned", "after_hours")


def today(figures, tenants: set[str], deployment) -> list[dict]:
    """One line per visible agency (by name) from a LiveFigures, or [] without one."""
    if figures is None:
        return []
    rows = {row["agency"]: row for row in figures.today("agency", tenants=tenants).rows}
    lines = []
    for tenant in sorted(tenants, key=lambda t: (getattr(deployment.tenants.get(t), "name", t), t)):
        row = rows.get(tenant, {})
        lines.append({"tenant": tenant, "name": getattr(deployment.tenants.get(tenant), "name", tenant),
                      **{name: row.get(name, None if name == "service_level" else 0) for name in TODAY_FIGURES}})
    return lines


def snapshot(engine, tenants: set[str], now: datetime | None = None, figures=None) -> dict:
    """`figures`: the LiveFigures of today for the "today" lines (none without)."""
    written = [q for q in views.written_queues(engine, now) if q["tenant"] in tenants]
    written_ids = {q["queue"] for q in written}
    queues = [q for q in views.queues(engine, now) if q["tenant"] in tenants and q["queue"] not in written_ids]
    queue_ids = {q["queue"] for q in queues}
    agents = []
    for aid, agent in sorted(engine.agents.items()):
        if queue_ids & set(agent.config.queues):
            view = views.agent(engine, aid)
            agents.append({"agent": aid, "name": agent.config.name, "state": view.get("state", ""),
                           "reason": view.get("reason", ""), "calls": view.get("calls_answered", 0)})
    states: dict[str, int] = {}
    for a in agents:
        states[a["state"]] = states.get(a["state"], 0) + 1
    return {
        "at": (now or engine.now).isoformat(),
        "queues": [{k: q[k] for k in ("queue", "tenant", "name", "waiting", "ringing", "longest_wait",
                                       "available", "logged_in", "answered", "abandoned", "service_level",
                                       "average_handle_time")} for q in queues],
        "written": [{k: q[k] for k in ("queue", "tenant", "name", "channel", "waiting", "oldest_wait")}
                    for q in written],
        "agents": agents,
        "agent_states": states,
        "waiting": sum(q["waiting"] for q in queues),
        "today": today(figures, tenants, engine.deployment),
    }


class WaitingHistory:
    """Callers waiting per tenant, sampled every SAMPLE seconds for the last WINDOW: a
    wallboard opened now draws the last ten minutes at once instead of an empty chart."""

    SAMPLE = 10.0
    WINDOW = timedelta(minutes=10)

    def __init__(self):
        self._samples: deque[tuple[datetime, dict[str, int]]] = deque()

    def sample(self, engine, now: datetime) -> None:
        waiting: dict[str, int] = {}
        for q in views.queues(engine, now):
            waiting[q["tenant"]] = waiting.get(q["tenant"], 0) + q["waiting"]
        self._samples.append((now, waiting))
        while self._samples and self._samples[0][0] < now - self.WINDOW:
            self._samples.popleft()

    def series(self, tenants: set[str]) -> list[list]:
        """[[iso time, waiting in these tenants], ...], oldest first."""
        return [[at.isoformat(), sum(n for t, n in waiting.items() if t in tenants)] for at, waiting in self._samples]

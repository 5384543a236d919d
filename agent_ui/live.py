"""What the wallboard shows, computed from the engine's read-only views.

Rules: a viewer sees only the tenants (client agencies) where they hold a supervisor or
admin role ("*" = every tenant); agents are shown with the queues of those tenants only.
Pure over the engine object passed in; called from the web process's greenlets, which
never change engine state (views only read).
"""
from __future__ import annotations

from datetime import datetime

from engine import views

WALLBOARD_ROLES = ("supervisor", "admin", "tenant_admin")


def visible_tenants(user, all_tenants) -> set[str]:
    tenants = set()
    for tenant, role in getattr(user, "roles", ()):
        if role in WALLBOARD_ROLES:
            tenants |= set(all_tenants) if tenant == "*" else {tenant}
    return tenants & set(all_tenants)


def snapshot(engine, tenants: set[str], now: datetime | None = None) -> dict:
    queues = [q for q in views.queues(engine, now) if q["tenant"] in tenants]
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
        "agents": agents,
        "agent_states": states,
        "waiting": sum(q["waiting"] for q in queues),
    }

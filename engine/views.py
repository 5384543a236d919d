"""Read-only views of the engine for consoles and wallboards (never change state).

Rules: computed from the engine's live records and indexes at the time given (the
caller passes its clock; default the engine's last event time); service level and
average handle time are the engine's rolling figures, reports use the journal.
"""
from __future__ import annotations

from datetime import datetime

from engine.agents import AgentState
from engine.interactions import CallState


def queue(eng, qid: str, now: datetime | None = None) -> dict:
    now = now or eng.now
    runtime = eng.index.queues[qid]
    calls = list(runtime.waiting_calls())
    waiting = [ix for ix in calls if ix.state in (CallState.QUEUED, CallState.OFFERING)]
    figures = eng.stats.of(qid)
    return {
        "queue": qid, "tenant": runtime.config.tenant, "name": runtime.config.name,
        "waiting": len(waiting),
        "ringing": sum(1 for ix in calls if ix.state is CallState.OFFERING),
        "callbacks": sum(1 for ix in calls if ix.state in (CallState.CALLBACK, CallState.CALLBACK_OFFERING)),
        "longest_wait": max((ix.waited(now) for ix in waiting), default=0.0),
        "available": len(runtime.live), "logged_in": len(runtime.staffed),
        "service_level": figures.service_level(), "average_handle_time": figures.average_handle_time(),
        "answered": figures.answered, "abandoned": figures.abandoned,
    }


def queues(eng, now: datetime | None = None) -> list[dict]:
    return [queue(eng, qid, now) for qid in sorted(eng.index.queues)]


UNREGISTERED = "no_phone"     # logged in and available, but no softphone registered: not offered calls


def agents_by_state(eng) -> dict[str, list[str]]:
    """Agents by state; an available agent whose phone is not registered is listed as
    `no_phone`, not `available` (routing does not offer it calls)."""
    out: dict[str, list[str]] = {s.value: [] for s in AgentState}
    out[UNREGISTERED] = []
    for agent in eng.agents.values():
        unreachable = agent.state is AgentState.AVAILABLE and not agent.registered
        out[UNREGISTERED if unreachable else agent.state.value].append(agent.id)
    return out


def agent(eng, aid: str) -> dict:
    a = eng.agents[aid]
    view = a.snapshot()
    view["routable"] = a.routable
    view["ready_at"] = a.ready_at
    view["pending"] = a.pending[0] if a.pending else ""
    return view


def calls(eng, now: datetime | None = None) -> list[dict]:
    now = now or eng.now
    return [{"id": ix.id, "tenant": ix.tenant, "queue": ix.queue, "state": ix.state.value,
             "caller": ix.caller_number, "agent": ix.agent, "waited": ix.waited(now)}
            for ix in eng.calls.values()]

"""Read-only views of the engine for consoles and wallboards (never change state).

Rules: computed from the engine's live records and indexes at the time given (the
caller passes its clock; default the engine's last event time); answered, abandoned
and service level are today's (engine.statistics, seeded from the journal at start-up),
average handle time is a rolling figure, reports use the journal. The console's views
(`console`, `parked`, `pause_reasons`, `result_codes`) are plain JSON-able values: times
as ISO strings, nothing that needs the engine to read.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from engine.agents import AgentState
from engine.interactions import CallState


def queue(eng, qid: str, now: datetime | None = None) -> dict:
    now = now or eng.now
    runtime = eng.index.queues[qid]
    calls = list(runtime.waiting_calls())
    waiting = [ix for ix in calls if ix.state in (CallState.QUEUED, CallState.OFFERING)]
    figures = eng.stats.figures(qid, now)
    config = runtime.config
    if config.written:                       # a written queue: its waiting items (engine/written.py)
        oldest = eng.written.oldest(qid)
        waiting_count = eng.written.count(qid)
        longest = oldest.waited(now) if oldest is not None else 0.0
    else:
        waiting_count = len(waiting)
        longest = max((ix.waited(now) for ix in waiting), default=0.0)
    return {
        "queue": qid, "tenant": config.tenant, "name": config.name,
        "channel": config.channel, "service_level_target": config.service_level_seconds,
        "waiting": waiting_count,
        "ringing": sum(1 for ix in calls if ix.state is CallState.OFFERING),
        "callbacks": sum(1 for ix in calls if ix.state in (CallState.CALLBACK, CallState.CALLBACK_OFFERING)),
        "longest_wait": longest,
        "available": len(runtime.live), "logged_in": len(runtime.staffed),
        "service_level": figures.service_level(), "average_handle_time": figures.average_handle_time(),
        "answered": figures.answered, "abandoned": figures.abandoned,
    }


def queues(eng, now: datetime | None = None) -> list[dict]:
    return [queue(eng, qid, now) for qid in sorted(eng.index.queues)]


def written_queue(eng, qid: str, now: datetime | None = None) -> dict:
    """A written queue's backlog: items waiting, the oldest one's wait (by arrival in the
    queue's order, engine.written.WrittenIndex.oldest), items offered and open now, and
    today's figures (accepted = answered, the service level against the queue's target)."""
    now = now or eng.now
    config = eng.deployment.queues[qid]
    oldest = eng.written.oldest(qid)
    held = [it for it in eng.items.values() if it.queue == qid and not it.ended]
    figures = eng.stats.figures(qid, now)
    return {
        "queue": qid, "tenant": config.tenant, "name": config.name, "channel": config.channel,
        "waiting": eng.written.count(qid),
        "oldest_wait": max(0.0, (now - oldest.position_at).total_seconds()) if oldest is not None else 0.0,
        "offered": sum(1 for it in held if it.state.value == "offered"),
        "open": sum(1 for it in held if it.state.value == "open"),
        "answered": figures.answered, "service_level": figures.service_level(),
    }


def written_queues(eng, now: datetime | None = None) -> list[dict]:
    return [written_queue(eng, qid, now) for qid, q in sorted(eng.deployment.queues.items()) if q.written]


def waiting_items(eng, qid: str, now: datetime | None = None, limit: int = 50) -> list[dict]:
    """The first `limit` items waiting in written queue `qid`, in the order they are served."""
    now = now or eng.now
    out = []
    for item in eng.written.head(qid):
        if len(out) >= limit:
            break
        out.append({"id": item.id, "kind": item.channel, "queue": qid, "tenant": item.tenant,
                    "sender": item.sender, "sender_name": item.sender_name, "subject": item.subject,
                    "case": item.case, "waited": item.waited(now), "automatic": item.automatic})
    return out


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


# -- the agent's console (engine/control.py, engine/consult.py) ---------------------------------
def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _reasons(reasons) -> list[dict]:
    return [{"id": r.id, "nb": r.nb, "en": r.en or r.nb} for r in reasons]


def pause_reasons(eng) -> list[dict]:
    return _reasons(eng.deployment.pause_reasons)


def result_codes(eng) -> list[dict]:
    return _reasons(eng.deployment.result_codes)


def console(eng, aid: str, now: datetime | None = None) -> dict:
    """Everything an agent's console shows, as plain JSON-able values (times as ISO strings).
    `queues`: the queues the agent serves now; `configured`: every queue of theirs, each
    marked `chosen` (empty choice = all). `call`: `current_call`, else `moved_call`.
    `wrapup_until`/`wrapup_seconds`: the agent's wrap-up (`wrapup`), also once the call
    they wrap up has moved on or ended."""
    now = now or eng.now
    a = eng.agents[aid]
    active = [qid for qid, _ in eng.index.members.get(aid, ())] if a.staffed else []
    chosen = set(a.active_queues)
    view = {
        "agent": a.id, "name": a.config.name, "extension": a.config.sip_user, "state": a.state.value,
        "reason": a.reason, "since": _iso(a.since), "registered": a.registered, "routable": a.routable,
        "pending": a.pending[0] if a.pending else "", "calls_answered": a.calls_answered,
        "queues": [_queue_ref(eng, qid) for qid in active],
        "configured": [dict(_queue_ref(eng, qid), chosen=not chosen or qid in chosen)
                       for qid in sorted(a.config.queues) if qid in eng.index.queues],
        "call": None, **wrapup(eng, a),
    }
    ix = current_call(eng, aid) or moved_call(eng, aid)
    if ix is not None:
        view["call"] = _call(eng, ix, a.id, now)
    return view


def current_call(eng, aid: str):
    """The agent's own interaction (offered, talking, wrap-up), else a recall on its way
    back to them (the target did not answer, a park timed out) before it rings them."""
    a = eng.agents[aid]
    if a.interaction and a.interaction in eng.calls and a.state in (
            AgentState.OFFERED, AgentState.ON_CALL, AgentState.WRAP_UP):
        return eng.calls[a.interaction]
    for ix in eng.calls.values():
        if ix.recall_agent == aid and ix.recall_reason and ix.state in (
                CallState.QUEUED, CallState.OFFERING, CallState.TRANSFERRING, CallState.PARKED, CallState.CAMPED):
            return ix
    return None


def moved_call(eng, aid: str):
    """A call the agent moved that may still come back to them (transferring, parked,
    camped: they may take it back, engine.recall.take_back); the console shows it when
    they have no `current_call`."""
    return next((ix for ix in eng.calls.values() if ix.recall_agent == aid and ix.state in _MOVED), None)


_MOVED = frozenset({CallState.TRANSFERRING, CallState.PARKED, CallState.CAMPED})   # engine.recall.MOVED


def _queue_ref(eng, qid: str) -> dict:
    q = eng.index.queues[qid].config
    tenant = eng.deployment.tenants.get(q.tenant)
    return {"id": qid, "name": q.name, "tenant": q.tenant, "tenant_name": tenant.name if tenant else q.tenant}


def _call(eng, ix, aid: str, now: datetime) -> dict:
    from engine import consult
    tenant = eng.deployment.tenants.get(ix.tenant)
    queue = eng.deployment.queues.get(ix.queue)
    return {
        "id": ix.id, "state": ix.state.value, "own": ix.agent == aid and not ix.transferred,
        "tenant": ix.tenant, "tenant_name": tenant.name if tenant else ix.tenant,
        "queue": ix.queue, "queue_name": queue.name if queue else ix.queue,
        "caller_number": ix.caller_number, "caller_name": ix.caller_name,
        "waited": round(ix.waited(ix.answered_at or now), 3),
        "greeting": tenant.greeting if tenant else "",
        "answered_at": _iso(ix.answered_at), "held": ix.held, "transferred": ix.transferred,
        "target": ix.target, "target_kind": ix.target_kind, "target_name": ix.target_name,
        "talking_to": ix.talking_to, "consult": consult.stage(ix),
        "recording": ix.recording, "recording_masked": ix.recording_masked,   # the console's Opptak / pauset
        "recall_reason": ix.recall_reason if ix.recalls else "",   # a recall keeps its reason to the end
        "recalls": ix.recalls, "consulting": bool(ix.consult_leg),
        "camp_until": _iso(ix.camp_until), "camp_tries": ix.camp_tries,
        "take_back": ix.state in _MOVED and ix.recall_agent == aid,     # engine.recall.take_back may act
        **wrapup(eng, eng.agents[aid]),
    }


def wrapup(eng, agent) -> dict:
    """The agent's wrap-up: its end (None when not in wrap-up, or a wrap-up of no time) and
    length, those of the queue the call was answered in (`Agent.wrapup_queue`: the caller
    may have gone on to another queue since)."""
    ix = eng.calls.get(agent.interaction)
    queue = eng.deployment.queues.get(agent.wrapup_queue or (ix.queue if ix else ""))
    seconds = queue.wrapup if queue is not None else 0.0
    until = None
    if agent.state is AgentState.WRAP_UP and seconds > 0:
        until = agent.since + timedelta(seconds=seconds)
    return {"wrapup_until": _iso(until), "wrapup_seconds": seconds}


def parked(eng, tenants, now: datetime | None = None) -> list[dict]:
    """Calls parked by agents for these tenants (any agent of them may pick one up)."""
    now = now or eng.now
    wanted = set(tenants)
    out = []
    for ix in eng.calls.values():
        if ix.state is not CallState.PARKED or ix.tenant not in wanted:
            continue
        tenant = eng.deployment.tenants.get(ix.tenant)
        out.append({"id": ix.id, "tenant": ix.tenant, "tenant_name": tenant.name if tenant else ix.tenant,
                    "queue": ix.queue, "caller_number": ix.caller_number, "caller_name": ix.caller_name,
                    "by": ix.recall_agent, "until": _iso(ix.deadline), "waited": round(ix.waited(now), 3),
                    "left": max(0.0, (ix.deadline - now).total_seconds()) if ix.deadline else None})
    return sorted(out, key=lambda c: (c["until"] or "", c["id"]))

"""The API's reads: live queues, agents, calls and monitors of one tenant (engine.views).

Rules: the tenant is in the path; the token needs a working role (operator and up) in it
(monitors: a steering role), else 403 whether or not the tenant exists. An agent serving
this and another tenant's queues is listed; a call of the other tenant it is on shows as
`{"other_tenant": true}` (never its caller), a monitor only when the call is this tenant's. Views only read
the engine (the runtime greenlet alone changes it).
"""
from __future__ import annotations

from agent_ui.actions import STEERING, WORKING
from agent_ui.api import ApiError, actor, ctx, route
from agent_ui.api_spec import array, obj, ref
from engine import views

TAG = "state"
READ_ERRORS = (401, 403, 429, 503)


def _engine_for(tenant: str, roles) -> object:
    engine = ctx().engine_source()
    if engine is None:
        raise ApiError(503, "action.engine_down", "the engine is not running")
    if not actor().may(roles, {tenant}, engine.deployment.tenants):
        raise ApiError(403, "action.denied", f"the token has no {'/'.join(sorted(roles))} role in this tenant")
    return engine


def _queue_ids(engine, tenant: str) -> set[str]:
    return {qid for qid, q in engine.deployment.queues.items() if q.tenant == tenant}


@route("GET", "/v1/tenants/<tenant>/queues", "Live figures of the tenant's queues", TAG,
       obj({"queues": array(ref("Queue"))}, ("queues",)), errors=READ_ERRORS)
def tenant_queues(tenant):
    engine = _engine_for(tenant, WORKING)
    now = ctx().store.clock()
    return {"queues": [q for q in views.queues(engine, now) if q["tenant"] == tenant]}


def call_summary(engine, aid: str, tenant: str) -> dict | None:
    """The agent's current call as `tenant` may see it: an agent serving several agencies
    may be on another agency's call, of which only that it is one is shown."""
    ix = views.current_call(engine, aid)
    if ix is None:
        return None
    if ix.tenant != tenant:
        return {"other_tenant": True}
    return {"id": ix.id, "state": ix.state.value, "tenant": ix.tenant, "queue": ix.queue,
            "caller_number": ix.caller_number, "caller_name": ix.caller_name,
            "answered_at": ix.answered_at.isoformat() if ix.answered_at else None, "held": bool(ix.held),
            "transferred": bool(ix.transferred)}


@route("GET", "/v1/tenants/<tenant>/agents", "The tenant's agents: state, time in state, current call", TAG,
       obj({"agents": array(ref("Agent"))}, ("agents",)), errors=READ_ERRORS)
def tenant_agents(tenant):
    engine = _engine_for(tenant, WORKING)
    queues = _queue_ids(engine, tenant)
    now = ctx().store.clock()
    out = []
    for aid, config in sorted(engine.deployment.agents.items()):
        mine = sorted(queues & set(config.queues))
        if not mine:
            continue
        agent = engine.agents.get(aid)
        item = {"id": aid, "name": config.name, "extension": config.sip_user, "queues": mine,
                "state": "logged_out", "reason": "", "since": None, "seconds_in_state": 0.0, "registered": False,
                "calls_answered": 0, "call": None}
        if agent is not None:
            item.update(state=agent.state.value, reason=agent.reason, since=agent.since.isoformat(),
                        seconds_in_state=round(max(0.0, (now - agent.since).total_seconds()), 3),
                        registered=agent.registered, calls_answered=agent.calls_answered,
                        call=call_summary(engine, aid, tenant))
        out.append(item)
    return {"agents": out}


@route("GET", "/v1/tenants/<tenant>/calls", "The tenant's interactions now in the engine", TAG,
       obj({"calls": array(ref("Call"))}, ("calls",)), errors=READ_ERRORS)
def tenant_calls(tenant):
    engine = _engine_for(tenant, WORKING)
    return {"calls": [c for c in views.calls(engine, ctx().store.clock()) if c["tenant"] == tenant]}


def active_monitors(engine) -> list[dict]:
    """engine.monitor.active(eng) (listen / whisper / barge sessions), [] before the engine has it."""
    try:
        from engine import monitor
    except ImportError:
        return []
    return list(monitor.active(engine))


@route("GET", "/v1/tenants/<tenant>/monitors", "Listen / whisper / barge sessions on the tenant's calls", TAG,
       obj({"monitors": array(ref("Monitor"))}, ("monitors",)), errors=READ_ERRORS)
def tenant_monitors(tenant):
    engine = _engine_for(tenant, STEERING)
    calls = {ix.id for ix in engine.calls.values() if ix.tenant == tenant}
    return {"monitors": [m for m in active_monitors(engine) if m.get("interaction") in calls]}

"""The API's live statistics: an agency's figures of today (docs/metrics.md), from the
journal as it is written (reports/live.LiveFigures in the engine process).

Rules: the agency is in the path; the token needs a working role (operator and up) in it,
else 403 whether or not the agency exists; 503 while the engine (and so its live figures)
is not running. "Today" is the local day (Europe/Oslo) of now: the calls that arrived
today with everything they did, the segments that started today (docs/metrics.md), the
same numbers as a report of today. Ratios are fractions (null without a denominator),
durations seconds. Every queue has its `channel` (voice, email, sms, task) and its
`service_level_target` (seconds; a written queue's is hours), and `channels` has the
agency's figures per channel (the channel report of today): a written queue's service
level is its own, the agency's line mixes every channel.
"""
from __future__ import annotations

from flask import current_app

from agent_ui.actions import WORKING
from agent_ui.api import ApiError, actor, ctx, route
from agent_ui.api_spec import INT, STR, TIME, array, obj
from reports.figures import CHANNELS

TAG = "statistics"
READ_ERRORS = (401, 403, 429, 503)
FIGURES = ("calls", "offered", "answered", "answered_in_sl", "service_level", "abandoned", "short_abandoned",
           "after_hours", "direct_dial", "asa", "aht", "longest_wait", "in_progress")
QUEUE_FIGURES = tuple(f for f in FIGURES if f not in ("calls", "after_hours", "direct_dial"))
_RATIO = {"type": ["number", "null"]}
_TYPES = {"service_level": _RATIO, "asa": _RATIO, "aht": _RATIO, "longest_wait": {"type": "number"}}


def _schema(names) -> dict:
    return {n: _TYPES.get(n, INT) for n in names}


def live_figures():
    """The running engine's LiveFigures, or None (sentral.web.build_app's `live_source`)."""
    _, services = current_app.extensions["sentral"]
    source = services.extra.get("live")
    return source() if source is not None else None


@route("GET", "/v1/tenants/<tenant>/statistics/today", "The agency's figures of today, live from the journal",
       TAG, obj({"tenant": STR, "date": STR, "at": STR, "updated_at": TIME, **_schema(FIGURES),
                 "queues": array(obj({"queue": STR, "channel": {"type": "string", "enum": list(CHANNELS)},
                                      "service_level_target": {"type": "number"}, **_schema(QUEUE_FIGURES)})),
                 "channels": array(obj({"channel": {"type": "string", "enum": list(CHANNELS)},
                                        **_schema(FIGURES)}))},
                ("tenant", "date", "at") + FIGURES + ("queues", "channels")),
       errors=READ_ERRORS,
       description="calls, offered, answered (answered_in_sl within the queue's target), service_level "
                   "(answered_in_sl / (answered + abandoned after the target)), abandoned (short_abandoned "
                   "within 5 s), after_hours, direct_dial, asa and aht (seconds), longest_wait (seconds), "
                   "in_progress; per queue (with its channel and service_level_target in seconds) and per "
                   "channel too. Updated as the journal is written (within a second).")
def tenant_statistics_today(tenant):
    deployment = ctx().deployment()
    if not actor().may(WORKING, {tenant}, deployment.tenants):
        raise ApiError(403, "action.denied", "the token has no operator role in this tenant")
    live = live_figures()
    if live is None:
        raise ApiError(503, "action.engine_down", "the engine is not running")
    now = ctx().store.clock()
    configured = deployment.queues
    channels = {q.id: q.channel for q in configured.values()}
    total = live.today("agency", tenant=tenant).total
    queues = live.today("queue", tenant=tenant, channels=channels).rows
    by_channel = live.today("channel", tenant=tenant, channels=channels).rows
    return {"tenant": tenant, "date": live.day.isoformat(), "at": now.isoformat(),
            "updated_at": live.updated_at.isoformat() if live.updated_at else None,
            **{name: total.get(name) for name in FIGURES},
            "queues": [{"queue": row["queue"], "channel": row["channel"],
                        "service_level_target": _target(configured.get(row["queue"]), live.limits),
                        **{name: row.get(name) for name in QUEUE_FIGURES}} for row in queues],
            "channels": [{"channel": row["channel"], **{name: row.get(name) for name in FIGURES}}
                         for row in by_channel]}


def _target(queue, limits) -> float:
    """The queue's service-level target in seconds (the one its figures were counted with)."""
    if queue is None:
        return limits.default_service_level
    return limits.service_level.get(queue.id, queue.service_level_seconds)

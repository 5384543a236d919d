"""The API's live statistics: an agency's figures of today (docs/metrics.md), from the
journal as it is written (reports/live.LiveFigures in the engine process).

Rules: the agency is in the path; the token needs a working role (operator and up) in it,
else 403 whether or not the agency exists; 503 while the engine (and so its live figures)
is not running. "Today" is the local day (Europe/Oslo) of now: the calls that arrived
today with everything they did, the segments that started today (docs/metrics.md), the
same numbers as a report of today. Ratios are fractions (null without a denominator),
durations seconds.
"""
from __future__ import annotations

from flask import current_app

from agent_ui.actions import WORKING
from agent_ui.api import ApiError, actor, ctx, route
from agent_ui.api_spec import INT, STR, TIME, array, obj

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
                 "queues": array(obj({"queue": STR, **_schema(QUEUE_FIGURES)}))},
                ("tenant", "date", "at") + FIGURES + ("queues",)),
       errors=READ_ERRORS,
       description="calls, offered, answered (answered_in_sl within the queue's target), service_level "
                   "(answered_in_sl / (answered + abandoned after the target)), abandoned (short_abandoned "
                   "within 5 s), after_hours, direct_dial, asa and aht (seconds), longest_wait (seconds), "
                   "in_progress; per queue too. Updated as the journal is written (within a second).")
def tenant_statistics_today(tenant):
    deployment = ctx().deployment()
    if not actor().may(WORKING, {tenant}, deployment.tenants):
        raise ApiError(403, "action.denied", "the token has no operator role in this tenant")
    live = live_figures()
    if live is None:
        raise ApiError(503, "action.engine_down", "the engine is not running")
    now = ctx().store.clock()
    total = live.today("agency", tenant=tenant).total
    queues = live.today("queue", tenant=tenant).rows
    return {"tenant": tenant, "date": live.day.isoformat(), "at": now.isoformat(),
            "updated_at": live.updated_at.isoformat() if live.updated_at else None,
            **{name: total.get(name) for name in FIGURES},
            "queues": [{"queue": row["queue"], **{name: row.get(name) for name in QUEUE_FIGURES}}
                       for row in queues]}

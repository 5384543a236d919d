"""The API's reports: the figures of docs/metrics.md of one agency for a period, as JSON
rows (the same numbers as the report pages, agent_ui/report_pages.py, and the CLI).

Rules: the agency is in the path; the token needs a steering role (supervisor,
tenant_admin, admin) in it, else 403 whether or not the agency exists; `from` is required,
`to` defaults to now, `interval` to 15m (local Europe/Oslo intervals); a bad period is 400
with the reason. `channel` (voice, email, sms, task) narrows the report to that channel's
queues; the channel report has a row per interval and channel (docs/metrics.md). Times
are ISO 8601 local time with offset, ratios fractions, durations
seconds; the last row is the total.
"""
from __future__ import annotations

from flask import current_app, request

from agent_ui.actions import STEERING
from agent_ui.api import ApiError, actor, ctx, route
from agent_ui.api_spec import array, obj
from reports import intervals
from reports.errors import BadPeriod
from reports.figures import CHANNELS
from reports.output import rows_of

TAG = "reports"
KINDS = ("agency", "queue", "channel", "traffic", "after-hours")
QUERY = (("from", "start: ISO date or date-time, local time unless it has an offset", True),
         ("to", "end, exclusive (default: now)", False),
         ("interval", "15m, 1h, 1d, 1w or 1mo (default 15m)", False),
         ("channel", "only this channel: voice, email, sms or task (default: all)", False))


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.astimezone(intervals.ZONE).isoformat()
    return value


@route("GET", "/v1/tenants/<tenant>/reports/<kind>", "An agency's report for a period (docs/metrics.md)", TAG,
       obj({"kind": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"},
            "interval": {"type": "string"}, "rows": array({"type": "object"})}, ("kind", "rows")),
       errors=(400, 401, 403, 404, 429, 501, 503), query=QUERY,
       description="kind: agency, queue, channel (a row per channel: voice, email, sms, task), "
                   "traffic (the agency's calls with an Erlang C staffing suggestion) "
                   "or after-hours. The last row is the period's total.")
def tenant_report(tenant, kind):
    deployment = ctx().deployment()
    if not actor().may(STEERING, {tenant}, deployment.tenants):
        raise ApiError(403, "action.denied", "the token has no supervisor role in this tenant")
    if kind not in KINDS:
        raise ApiError(404, "report.unknown", f"no report {kind!r}: one of {', '.join(KINDS)}")
    pages = current_app.extensions.get("sentral_reports")
    if pages is None:
        raise ApiError(501, "report.unavailable", "this listener serves no reports")
    try:
        if not request.args.get("from"):
            raise BadPeriod("from is required (an ISO date or date-time)")
        now = ctx().store.clock()
        start = intervals.parse_local(request.args["from"])
        end = intervals.parse_local(request.args["to"]) if request.args.get("to") else now
        resolution = intervals.parse_resolution(request.args.get("interval") or "15m")
        intervals.check_period(start, end, now, max_days=400)
        channel = request.args.get("channel") or None
        if channel is not None and channel not in CHANNELS:
            raise BadPeriod(f"channel is one of {', '.join(CHANNELS)}")
    except BadPeriod as exc:
        raise ApiError(400, "report.bad_period", str(exc)) from None
    table, _ = pages.source.run(kind, start, end, resolution, {tenant}, tenant, channel)
    return {"kind": kind, **({"channel": channel} if channel else {}), "from": start.isoformat(),
            "to": end.isoformat(), "interval": resolution,
            "rows": [{c: _plain(row.get(c)) for c in table.columns} for row in rows_of(table)]}

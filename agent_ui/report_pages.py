"""Reports on the web (issue 12): the figures of docs/metrics.md for a period, as a table
with the shape of the day and the waiting times drawn, and the same report as CSV, XLSX
and PDF. Audience: the agencies' supervisors and tenant admins and the centre's
supervisors on the web listener.

Rules:
- Who sees what: a user with a report role (supervisor, tenant_admin, admin) in `*` sees
  every agency and may take the agent report (agents serve several agencies); one with
  such a role in some agencies sees only those agencies' figures (the traffic report is
  then the sum of their agencies); anyone else gets 403. An agency filter outside what the
  user sees is 404, like an agency that does not exist.
- Channels: `channel` (voice, email, sms, task; empty = all) narrows every report but the
  agent report to that channel's queues; the channel report splits each agency by channel
  (each queue's channel is the running configuration's: docs/metrics.md "Written items").
- The period: `from`/`to` as local date or date-time (Europe/Oslo; default today from
  midnight up to now), `interval` 15m, 1h, 1d, 1w or 1mo; bad input is an error on the
  page (and 400 for a download) with nothing else computed.
- The numbers come from the `ReportSource` the composition root passes in (sentral/web.py:
  the journal of the period); this module only chooses, checks and shows.
- Downloads: CSV and XLSX for billing systems (reports/output.py), PDF (WeasyPrint) from
  the same HTML as the page, with the same charts.
"""
from __future__ import annotations

import io
from datetime import datetime
from typing import Callable, Protocol

from flask import Blueprint, Response, abort, current_app, g, render_template, request
from flask_babel import gettext, lazy_gettext as _l
from markupsafe import Markup

from agent_ui import i18n
from agent_ui.auth import login_required
from reports import chart, intervals, output
from reports.errors import BadPeriod
from reports.figures import CHANNELS
from reports.report import COLUMNS, KINDS, PERCENT, SECONDS, Table

bp = Blueprint("reports", __name__, url_prefix="/reports")

REPORT_ROLES = frozenset({"supervisor", "tenant_admin", "admin"})
ALL = "*"
TITLES = {"agency": _l("Agencies"), "queue": _l("Queues"), "channel": _l("Channels"), "agent": _l("Agents"),
          "traffic": _l("Traffic"),
          "after-hours": _l("Outside opening hours")}
HEADERS = {
    "interval": _l("Interval"), "agency": _l("Agency"), "queue": _l("Queue"), "channel": _l("Channel"),
    "agent": _l("Agent"),
    "calls": _l("Calls"), "direct_dial": _l("Direct dial"), "after_hours": _l("After hours"),
    "abandoned_before_queue": _l("Hung up before the queue"), "offered": _l("Offered"), "answered": _l("Answered"),
    "answered_in_sl": _l("Answered in time"), "service_level": _l("Service level"), "abandoned": _l("Abandoned"),
    "short_abandoned": _l("Short abandons"), "overflowed": _l("Overflowed"),
    "callbacks_requested": _l("Callbacks asked"), "callbacks_made": _l("Callbacks made"),
    "transferred_in": _l("Transferred in"), "transferred_out": _l("Transferred out"), "recalled": _l("Recalled"),
    "rona": _l("Not answered by agent"), "messages_taken": _l("Messages"), "asa": _l("Average answer (s)"),
    "longest_wait": _l("Longest wait (s)"), "talk": _l("Talk (s)"), "hold": _l("Hold (s)"),
    "wrapup": _l("Wrap-up (s)"), "aht": _l("Handling time (s)"), "in_progress": _l("In progress"),
    "agents_needed": _l("Agents needed"),
}
CHANNEL_NAMES = {"voice": _l("Calls"), "email": _l("E-mail"), "sms": _l("SMS"), "task": _l("Tasks")}
MIMETYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "pdf": "application/pdf"}


class ReportSource(Protocol):
    """What the pages need from the reports library (built by the composition root)."""

    def run(self, kind: str, start: datetime, end: datetime, resolution: str,
            tenants: set[str] | None, tenant: str | None,
            channel: str | None = None) -> tuple[Table, list[tuple[str, int, int]]]: ...


class ReportPages:
    def __init__(self, source: ReportSource, deployment_source: Callable, clock: Callable[[], datetime]):
        self.source, self.deployment_source, self.clock = source, deployment_source, clock


def attach(app, source: ReportSource, deployment_source: Callable, clock: Callable[[], datetime]) -> None:
    app.extensions["sentral_reports"] = ReportPages(source, deployment_source, clock)
    app.register_blueprint(bp)


def _pages() -> ReportPages:
    return current_app.extensions["sentral_reports"]


def visible_tenants(roles, deployment) -> set[str] | None:
    """None = every agency (a report role in `*`); else the agencies where the user has one."""
    roles = list(roles)
    if any(t == ALL and r in REPORT_ROLES for t, r in roles):
        return None
    return {t for t, r in roles if r in REPORT_ROLES and t in deployment.tenants}


class _Asked:
    def __init__(self, kind, start, end, resolution, tenant, channel=None):
        self.kind, self.start, self.end, self.resolution, self.tenant = kind, start, end, resolution, tenant
        self.channel = channel


def _asked(deployment, seen: set[str] | None) -> _Asked:
    """The request's report, checked; BadPeriod (shown on the page) for bad input."""
    args = request.args
    kind = args.get("kind") or "traffic"
    if kind not in KINDS:
        raise BadPeriod(gettext("Unknown report: %(kind)s", kind=kind))
    if kind == "agent" and seen is not None:
        abort(403, gettext("The agent report is for the centre's supervisors."))
    now = _pages().clock()
    start = intervals.parse_local(args["from"]) if args.get("from") else \
        intervals.parse_local(now.astimezone(intervals.ZONE).date().isoformat())
    end = intervals.parse_local(args["to"]) if args.get("to") else now
    resolution = intervals.parse_resolution(args.get("interval") or "15m")
    intervals.check_period(start, end, now, max_days=400)
    tenant = args.get("tenant") or None
    if tenant is not None and (tenant not in deployment.tenants or (seen is not None and tenant not in seen)):
        abort(404)
    channel = args.get("channel") or None
    if channel is not None and (channel not in CHANNELS or kind == "agent"):
        raise BadPeriod(gettext("Unknown channel: %(channel)s", channel=channel))
    return _Asked(kind, start, end, resolution, tenant, channel)


def _allowed():
    deployment = _pages().deployment_source()
    if deployment is None:
        abort(503)
    seen = visible_tenants(g.user.roles, deployment)
    if seen is not None and not seen:
        abort(403, gettext("Reports are for supervisors and agency administrators."))
    return deployment, seen


def _cell(column: str, value) -> str:
    if value is None:
        return "–"
    if column == "interval":
        return value if isinstance(value, str) else ""
    if column in PERCENT:
        return i18n.number(value * 100, 1) + " %"
    if column in SECONDS:
        return i18n.number(value, 1)
    if isinstance(value, (int, float)):
        return i18n.number(value)
    return str(value)


def _interval(value, resolution: str) -> str:
    if not isinstance(value, datetime):
        return gettext("Total")
    local = value.astimezone(intervals.ZONE)
    shown = local.strftime({"15m": "%Y-%m-%d %H:%M", "1h": "%Y-%m-%d %H:%M", "1d": "%Y-%m-%d",
                            "1w": "%G-W%V", "1mo": "%Y-%m"}[resolution])
    return f"{shown} ({local:%z})" if resolution in ("15m", "1h") and local.fold else shown


def _charts(table: Table, bands) -> Markup:
    labels = {"offered": gettext("Offered"), "answered": gettext("Answered"), "abandoned": gettext("Abandoned"),
              "service_level": gettext("Service level"), "waits": gettext("Waiting times"),
              "none": gettext("No calls in this period.")}
    shape = chart.day_shape(table.rows, table.resolution, labels) if table.kind == "traffic" else ""
    # no bands for long periods (sentral/report_source.WAITS_DAYS): the figure is left out
    return Markup(shape), (Markup(chart.wait_bands(bands, labels)) if bands else "")


def _render(deployment, seen, asked: _Asked | None, error: str = "", printable: bool = False) -> str:
    table = bands = None
    if asked is not None:
        table, bands = _pages().source.run(asked.kind, asked.start, asked.end, asked.resolution, seen, asked.tenant,
                                           asked.channel)
    tenants = {tid: t.name for tid, t in deployment.tenants.items() if seen is None or tid in seen}
    shape, waits = _charts(table, bands) if table is not None else ("", "")
    return render_template("reports/report.html", table=table, asked=asked, error=error, tenants=tenants,
                           kinds=[k for k in KINDS if k != "agent" or seen is None], titles=TITLES,
                           headers=HEADERS, cell=_cell, interval=_interval, shape=shape, waits=waits,
                           args=request.args, printable=printable, columns=COLUMNS, channels=CHANNELS,
                           channel_names=CHANNEL_NAMES)


@bp.get("/")
@login_required
def page():
    deployment, seen = _allowed()
    try:
        asked = _asked(deployment, seen)
    except BadPeriod as exc:
        return _render(deployment, seen, None, error=str(exc)), 400
    return _render(deployment, seen, asked)


@bp.get("/download.<fmt>")
@login_required
def download(fmt: str):
    if fmt not in MIMETYPES:
        abort(404)
    deployment, seen = _allowed()
    try:
        asked = _asked(deployment, seen)
    except BadPeriod as exc:
        return Response(str(exc) + "\n", status=400, mimetype="text/plain")
    name = f"sentral-{asked.kind}-{asked.start.astimezone(intervals.ZONE):%Y%m%d%H%M}.{fmt}"
    if fmt == "pdf":
        from weasyprint import HTML

        html = _render(deployment, seen, asked, printable=True)
        data = HTML(string=html, base_url=request.host_url).write_pdf()
    else:
        table, _ = _pages().source.run(asked.kind, asked.start, asked.end, asked.resolution, seen, asked.tenant,
                                       asked.channel)
        if fmt == "csv":
            text = io.StringIO()
            output.write_csv(table, text)
            data = text.getvalue().encode("utf-8")
        else:
            data = output.xlsx_bytes(table)
    resp = Response(data, mimetype=MIMETYPES[fmt])
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp

"""`sentral report KIND --from ISO [--to ISO] [--interval 15m|1h|1d|1w|1mo] ...`

Reports from the journal (docs/metrics.md): agency (the billing basis), queue, channel
(per agency and channel: voice, email, sms, task), agent, traffic (with an Erlang C staffing suggestion per interval) and after-hours. Times
without an offset are Europe/Oslo local time; `--to` defaults to now, so "today 08:00 up
to now" is `--from 08:00`-style ISO (`--from 2026-12-04T08:00`).

* `--config FILE`: the routing configuration whose queues' service-level targets count
  (`service_level_seconds`) and whose agencies `--tenant` must name; without it every
  queue's target is 20 s and an agency that has no call in the period is reported as such;
* `--channel voice|email|sms|task`: only that channel (agency, queue, traffic, after-hours;
  the channel report's rows); each queue's channel is the configuration's (`--config`),
  without one every queue is voice;
* `--format table|csv|json|xlsx|pdf`, `--out FILE` (xlsx and pdf need it; the others default to
  standard output);
* bad input (an unknown report, `--to` before `--from`, a range over ten years, an unknown
  agency) is one line on standard error and exit 1; nothing is written.
"""
from __future__ import annotations

import os
import sys

from reports.figures import CHANNELS
from reports.report import KINDS
from sentral.commands import report_aggregates, report_monthly
from sentral.commands.report_health import HEALTH_KINDS, health_command

FORMATS = ("table", "csv", "json", "xlsx", "pdf")


def register(sub) -> None:
    p = sub.add_parser("report", help="statistics from the journal: agency, queue, agent, traffic, after-hours "
                       "(fold, rebuild: the stored aggregates)")
    actions = KINDS + HEALTH_KINDS + report_aggregates.ACTIONS + (report_monthly.ACTION,)
    p.add_argument("kind", choices=actions, metavar="KIND", help="one of: " + ", ".join(actions))
    p.add_argument("--from", dest="start", metavar="ISO", help="start (local time unless an offset); every report needs it")
    p.add_argument("--to", dest="end", metavar="ISO", help="end, exclusive (default: now)")
    p.add_argument("--interval", default="15m", metavar="RES", help="15m, 1h, 1d, 1w or 1mo (default 15m)")
    p.add_argument("--tenant", metavar="T", help="only this agency")
    p.add_argument("--queue", metavar="Q", help="only this queue (queue report)")
    p.add_argument("--agent", metavar="A", help="only this agent (agent report)")
    p.add_argument("--channel", choices=CHANNELS, metavar="CH",
                   help="only this channel: " + ", ".join(CHANNELS) + " (each queue's channel from --config)")
    p.add_argument("--short-abandon", type=float, default=5.0, metavar="S",
                   help="abandons after fewer seconds are short (default 5)")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    p.add_argument("--config", metavar="FILE", help="routing configuration (service-level targets, agencies)")
    p.add_argument("--db", "--url", dest="db", metavar="URL",
                   help="database URL (default: $SENTRAL_DATABASE_URL, then the configuration's)")
    report_aggregates.add_arguments(p)
    report_monthly.add_arguments(p)
    p.set_defaults(handler=report_command)


class Refused(Exception):
    error_id = "report"


def report_command(args) -> int:
    from engine.clock import utcnow
    from reports.errors import BadPeriod
    from store.errors import StoreError

    if args.kind in report_aggregates.ACTIONS:
        return report_aggregates.run(args)
    if args.kind in HEALTH_KINDS:       # faults, uptime: sentral/commands/report_health.py
        return health_command(args)
    if args.kind == report_monthly.ACTION:
        return report_monthly.run(args, _deployment, _limits, _url)
    if not args.start:
        print(f"sentral report: the {args.kind} report needs --from ISO [report]", file=sys.stderr)
        return 2
    try:
        start = _parse(args.start)
        end = _parse(args.end) if args.end else utcnow()
        resolution = _resolution(args.interval)
        _check(start, end, utcnow())
        if args.format in ("xlsx", "pdf") and not args.out:
            raise Refused(f"--format {args.format} needs --out FILE")
        deployment = _deployment(args.config)
        limits = _limits(deployment, args.short_abandon)
        if args.tenant and deployment is not None and args.tenant not in deployment.tenants:
            raise Refused(f"no agency {args.tenant!r} in {args.config} "
                          f"(known: {', '.join(sorted(deployment.tenants))})")
        table = _table(args, deployment, start, end, resolution, limits)
    except (BadPeriod, Refused, StoreError) as exc:
        print(f"sentral report: {exc} [{getattr(exc, 'error_id', 'report')}]", file=sys.stderr)
        return 1
    if args.tenant and deployment is None and not table.rows:
        print(f"sentral report: no call of agency {args.tenant!r} in this period", file=sys.stderr)
    from reports.output import write
    write(table, args.format, args.out)
    return 0


def _parse(text: str):
    from reports.intervals import parse_local
    return parse_local(text)


def _resolution(text: str) -> str:
    from reports.intervals import parse_resolution
    return parse_resolution(text)


def _check(start, end, now) -> None:
    from reports.intervals import check_period
    check_period(start, end, now)


def _deployment(path: str | None):
    if not path:
        return None
    from dialplan.errors import ConfigError
    from dialplan.loader import load

    try:
        return load(path, require_env=False)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        raise Refused(f"{path} is invalid") from None


def _limits(deployment, short_abandon: float):
    from reports.figures import Limits

    if short_abandon < 0:
        raise Refused("--short-abandon must be 0 or more seconds")
    targets = {q.id: q.service_level_seconds for q in deployment.queues.values()} if deployment else {}
    return Limits(service_level=targets, short_abandon=short_abandon)


def _url(args, deployment) -> str:
    from reports.errors import BadPeriod

    url = args.db or os.environ.get("SENTRAL_DATABASE_URL") or (deployment.database_url if deployment else None)
    if not url:
        raise BadPeriod("no database: --db URL, $SENTRAL_DATABASE_URL or --config FILE")
    return url


def _table(args, deployment, start, end, resolution, limits):
    from reports.aggregate import figures_between
    from reports.report import scopes, sums_every_agency, tabulate
    from sentral.process import open_store

    store = open_store(_url(args, deployment))
    try:
        # the stored aggregates plus the rows not folded yet (reports/aggregate.py); counted
        # from the journal when they were counted with other limits
        channel = getattr(args, "channel", None)
        figures = figures_between(store, start, end, limits, scopes=scopes(args.kind, channel),
                                  summed=sums_every_agency(args.kind, args.tenant, channel=channel))
        channels = {q.id: q.channel for q in deployment.queues.values()} if deployment else None
        return tabulate(args.kind, figures, start, end, resolution, limits, tenant=args.tenant, queue=args.queue,
                        agent=args.agent, channel=channel, channels=channels)
    finally:
        store.close()

"""`sentral report faults|uptime --from ISO [--to ISO] [--db URL] [--format table|csv|json]`

The fault and uptime reports of reports/health.py (docs/metrics.md, "Fault and uptime
reports"), reached through `sentral report` (sentral/commands/report.py dispatches the two
kinds here before its figures path):
* faults: one row per fault (at, kind, source, detail) in time order, a total row with the count;
* uptime: one row per source (engine, node:<name>, sync:<tenant>/<source>) with up, down
  and unknown seconds, the share up, the outages and the longest one;
* bad input is one line on standard error and exit 1, like the other reports.
"""
from __future__ import annotations

import os
import sys

HEALTH_KINDS = ("faults", "uptime")
COLUMNS = {
    "faults": ("at", "kind", "source", "detail"),
    "uptime": ("source", "up_seconds", "down_seconds", "unknown_seconds", "share_up", "outages", "longest_outage"),
}


def table(kind: str, store, start, end, now=None):
    """The report as a reports.report.Table (written by reports.output)."""
    from dataclasses import asdict

    from reports import health
    from reports.report import Table

    result = Table(kind, start, end, "1h", COLUMNS[kind])
    if kind == "faults":
        result.rows = [asdict(f) for f in health.faults(store, start, end, now=now)]
        result.total = {"at": "total", "kind": len(result.rows)}
    else:
        result.rows = [asdict(u) for u in health.uptime(store, start, end, now=now)]
        result.total = {"source": "total", "outages": sum(r["outages"] for r in result.rows),
                        "longest_outage": max((r["longest_outage"] for r in result.rows), default=0.0)}
    return result


def health_command(args) -> int:
    """`sentral report faults|uptime`: exit 0, or 1 with one line on standard error."""
    from engine.clock import utcnow
    from reports.errors import BadPeriod
    from reports.intervals import check_period, parse_local
    from store.errors import StoreError

    fmt = getattr(args, "format", "table")
    if not args.start:
        print(f"sentral report: the {args.kind} report needs --from ISO [report]", file=sys.stderr)
        return 2
    try:
        if fmt not in ("table", "csv", "json"):
            raise BadPeriod(f"--format {fmt} is not available for the {args.kind} report: table, csv or json")
        now = utcnow()
        start = parse_local(args.start)
        end = parse_local(args.end) if args.end else now
        check_period(start, end, now)
        url = getattr(args, "db", None) or os.environ.get("SENTRAL_DATABASE_URL")
        if not url:
            raise BadPeriod("no database: --db URL or $SENTRAL_DATABASE_URL")
        from sentral.process import open_store
        store = open_store(url)
        try:
            result = table(args.kind, store, start, end, now=now)
        finally:
            store.close()
    except (BadPeriod, StoreError) as exc:
        print(f"sentral report: {exc} [{getattr(exc, 'error_id', 'report')}]", file=sys.stderr)
        return 1
    from reports.output import write
    write(result, fmt, getattr(args, "out", None))
    return 0

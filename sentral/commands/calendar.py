"""`sentral calendar absences FILE_OR_URL --from ISO --to ISO [--json]`.

Shows what the product makes of one iCalendar source without a running engine: the
absence intervals (UTC), their reason category and privacy. Bad input prints the typed
error naming the source and line and exits 1.
"""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("calendar", help="inspect calendar sources (absences derived from iCalendar)")
    csub = p.add_subparsers(dest="calendar_command", metavar="ACTION")
    a = csub.add_parser("absences", help="the absence intervals one iCalendar file or URL gives, in UTC")
    a.add_argument("source", metavar="FILE_OR_URL", help="an .ics file, file:// or http(s):// URL")
    a.add_argument("--from", dest="start", required=True, metavar="ISO",
                   help="window start, e.g. 2026-03-01 or 2026-03-01T08:00+01:00 (naive = UTC)")
    a.add_argument("--to", dest="end", required=True, metavar="ISO", help="window end (exclusive)")
    a.add_argument("--timezone", default="Europe/Oslo",
                   help="zone for all-day and floating times (default Europe/Oslo)")
    a.add_argument("--person", default="-", help="person id to label the intervals with")
    a.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    a.set_defaults(handler=absences)
    p.set_defaults(handler=lambda args: p.print_help() or 2)


def _aware(text: str):
    from datetime import datetime, timezone
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def absences(args) -> int:
    from sync.calendar.errors import CalendarSourceError
    from sync.calendar.expand import Window
    from sync.calendar.feed import IcsFeed

    try:
        window = Window(_aware(args.start), _aware(args.end))
    except ValueError as exc:
        print(f"error: bad window: {exc}", file=sys.stderr)
        return 2
    feed = IcsFeed(args.source, tenant="-", person_id=args.person, name=args.source,
                   default_tz=args.timezone)
    try:
        result = feed.fetch(window)
    except CalendarSourceError as exc:
        print(f"error [{exc.error_id}]: {exc}", file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    rows = result.absences or []
    if args.json:
        for a in rows:
            print(json.dumps({"start": a.start.isoformat(), "end": a.end.isoformat(),
                              "kind": a.category.value, "private": a.private,
                              "subject": a.subject, "id": a.external_id}, ensure_ascii=False))
        return 0
    print(f"{'start (UTC)':<16}  {'end (UTC)':<16}  {'kind':<13}  {'private':<7}  subject")
    for a in rows:
        print(f"{a.start:%Y-%m-%d %H:%M}  {a.end:%Y-%m-%d %H:%M}  {a.category.value:<13}  "
              f"{'yes' if a.private else 'no':<7}  {a.subject}")
    print(f"{len(rows)} absence interval(s) between {window.start.isoformat()} and {window.end.isoformat()}")
    return 0

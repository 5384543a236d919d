"""HCL Domino (Lotus Notes) calendars: "iCalendar export + poll", or Domino Access Services JSON.

Domino has no CalDAV. Two ways in, both polling one mail database's calendar service
(`{database}/api/calendar/events`, Domino Access Services 9.0.1+):
- `format=icalendar` (the default mode here): the text goes through the same parser,
  limits and recurrence expansion as any iCalendar feed (feed.py), with ETag polling.
- JSON (`mode="json"`): `{"events": [...]}` of instances in the window; each has `id`,
  `summary`, `start`/`end` as `{"date", "time", "utc": true}` or `{"date", "time",
  "tzid"}`, `class` (public/private/confidential), `transparency` (opaque/transparent),
  `x-lotus-appttype` `{"data": "2"}` for all-day events and `recurrenceId` for
  occurrences of a series. A `tzid` must be an IANA or Windows zone name; Notes' own
  zone labels ("Eastern") are refused with the event id (use the iCalendar mode then).
Parameter names (`since`, `before`, `format`) follow the DAS documentation and must be
checked on the customer's server. No Domino exists here: tests replay recorded files.
DAS leaves out tasks and (reported) draft recurring meetings.
JSON answers are capped at `MAX_JSON_BYTES` (16 MB, or `Limits.max_bytes` if lower):
Python objects cost several times their JSON text, and a window's instances (at most
`Limits.max_occurrences`, about 500 bytes each) stay far below it.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from engine.directory.model import Absence
from sync.calendar.classify import EventTraits, classify
from sync.calendar.errors import CalendarSyntaxError, CalendarTooLarge, excerpt
from sync.calendar.expand import Window
from sync.calendar.feed import IcsFeed, fetch_text
from sync.calendar.ics import Limits
from sync.calendar.result import CalendarResult

log = logging.getLogger(__name__)
UTC = timezone.utc
ALL_DAY = "2"
MAX_JSON_BYTES = 16 * 1024 * 1024


def das_time(value: dict, default_tz: ZoneInfo, source: str, event_id: str) -> datetime:
    try:
        day = date.fromisoformat(value["date"])
        clock = time.fromisoformat(value["time"]) if value.get("time") else time(0)
    except (KeyError, TypeError, ValueError):
        raise CalendarSyntaxError(source, f"event {excerpt(event_id)}: bad date/time "
                                          f"{excerpt(repr(value))}") from None
    if value.get("utc"):
        tz = UTC
    elif value.get("tzid"):
        name = WINDOWS_TO_OLSON.get(value["tzid"], value["tzid"])
        try:
            tz = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarSyntaxError(source, f"event {excerpt(event_id)}: unknown tzid "
                                              f"{excerpt(value['tzid'])}") from None
    else:
        tz = default_tz
    return datetime.combine(day, clock, tz).astimezone(UTC)


def absences_of_das(payload: dict, window: Window, *, tenant: str, person_id: str, source: str,
                    default_tz: str = "Europe/Oslo") -> list[Absence]:
    tz = ZoneInfo(default_tz)
    out = []
    for event in payload.get("events") or ():
        event_id = str(event.get("id") or "")
        appt = (event.get("x-lotus-appttype") or {}).get("data", "")
        klass = str(event.get("class") or "public").lower()
        traits = EventTraits(summary=str(event.get("summary") or ""),
                             transparent=str(event.get("transparency") or "").lower() == "transparent",
                             status=str(event.get("status") or ""),
                             private=klass in ("private", "confidential"),
                             all_day=appt == ALL_DAY or "time" not in (event.get("start") or {}))
        found = classify(traits)
        if found is None:
            continue
        start = das_time(event.get("start") or {}, tz, source, event_id)
        end = das_time(event.get("end") or event.get("start") or {}, tz, source, event_id)
        if end <= start or end <= window.start or start >= window.end:
            continue
        rid = event.get("recurrenceId") or ""
        out.append(Absence(tenant=tenant, person_id=person_id, start=start, end=end,
                           category=found.category, source=source,
                           external_id=f"{event_id}@{rid}" if rid else event_id,
                           subject="" if found.private else traits.summary,
                           private=found.private))
    out.sort(key=lambda a: (a.start, a.external_id))
    return out


@dataclass
class DominoCalendar:
    database_url: str                 # e.g. https://mail.example.no/mail/kari.nsf
    tenant: str
    person_id: str
    mode: str = "ics"                 # "ics" or "json"
    name: str = ""
    default_tz: str = "Europe/Oslo"
    limits: Limits = Limits()
    session: requests.Session | None = None
    timeout: float = 30.0

    @property
    def source(self) -> str:
        return self.name or f"domino:{self.database_url}"

    def events_url(self, window: Window) -> str:
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        url = (f"{self.database_url.rstrip('/')}/api/calendar/events"
               f"?since={window.start.astimezone(UTC):{fmt}}&before={window.end.astimezone(UTC):{fmt}}")
        return url + ("&format=icalendar" if self.mode == "ics" else "")

    def fetch(self, window: Window, state: dict | None = None) -> CalendarResult:
        if self.mode == "ics":
            feed = IcsFeed(self.events_url(window), tenant=self.tenant, person_id=self.person_id,
                           name=self.source, default_tz=self.default_tz, limits=self.limits,
                           timeout=self.timeout, session=self.session)
            return feed.fetch(window, state)
        json_limits = replace(self.limits, max_bytes=min(self.limits.max_bytes, MAX_JSON_BYTES))
        body, validators = fetch_text(self.events_url(window), state or {}, source=self.source,
                                      limits=json_limits, session=self.session,
                                      timeout=self.timeout)
        if body is None:
            return CalendarResult(None, validators, full=False)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise CalendarSyntaxError(self.source, f"not JSON: {exc.msg}", exc.lineno) from None
        if not isinstance(payload, dict):
            raise CalendarSyntaxError(self.source, "JSON is not an object with \"events\"")
        if len(payload.get("events") or ()) > self.limits.max_occurrences:
            raise CalendarTooLarge(self.source, "too many events")
        absences = absences_of_das(payload, window, tenant=self.tenant, person_id=self.person_id,
                                   source=self.source, default_tz=self.default_tz)
        return CalendarResult(absences, validators, full=True)

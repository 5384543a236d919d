"""Microsoft Exchange (Online) through Microsoft Graph `calendarView/delta`.

Protocol facts followed here (Graph v1.0):
- First round: GET {base}/users/{mailbox}/calendarView/delta?startDateTime=…&endDateTime=…
  with `Prefer: odata.maxpagesize=N` and `Prefer: outlook.timezone="UTC"`; follow
  `@odata.nextLink` page by page until a page carries `@odata.deltaLink`; store it.
- Later rounds: GET the stored deltaLink; it returns only changes: changed occurrences
  in full, deleted/cancelled ones as `{"id": …, "@removed": {"reason": …}}`.
- The window is fixed by the first request. When our window moves to a new day, or the
  server answers 410 Gone (sync state expired), the round starts over in full.
- Items are occurrences already expanded by Exchange (calendarView): no RRULE here.
  showAs free/workingElsewhere and isCancelled are no absence, tentative is the
  TENTATIVE category (classify.py); sensitivity private/confidential hides the subject.
- Each page is read streaming and refused above `Limits.max_bytes`; more than
  `Limits.max_occurrences` items in one calendar is CalendarTooLarge.
Rules: the state only moves forward when all pages of a round were read; a failure in
the middle keeps the previous deltaLink and items (the caller keeps its absences).
Tokens: `token` is a callable returning a bearer token (msal in production; a constant
in the replay tests). No Exchange server exists here: tests replay recorded JSON.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from engine.directory.model import Absence, AbsenceCategory
from sync.calendar.classify import EventTraits, classify
from sync.calendar.errors import (
    CalendarFetchError, CalendarSyntaxError, CalendarTooLarge, SyncTokenExpired, excerpt,
)
from sync.calendar.expand import Window
from sync.calendar.feed import read_limited
from sync.calendar.ics import Limits
from sync.calendar.result import CalendarResult

log = logging.getLogger(__name__)
UTC = timezone.utc
MAX_PAGES = 10_000


def graph_time(value: dict, source: str, item_id: str) -> datetime:
    """Graph dateTimeTimeZone → aware UTC datetime (IANA or Windows zone names)."""
    try:
        text = value["dateTime"][:26]
        zone = value.get("timeZone") or "UTC"
        naive = datetime.fromisoformat(text.rstrip("Z"))
    except (KeyError, TypeError, ValueError):
        raise CalendarSyntaxError(source, f"event {excerpt(item_id)}: bad dateTime "
                                          f"{excerpt(repr(value))}") from None
    if zone.upper() in ("UTC", "Z", "GMT"):
        return naive.replace(tzinfo=UTC)
    try:
        tz = ZoneInfo(WINDOWS_TO_OLSON.get(zone, zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarSyntaxError(source, f"event {excerpt(item_id)}: unknown timeZone "
                                          f"{excerpt(zone)}") from None
    return naive.replace(tzinfo=tz).astimezone(UTC)


def absence_of_item(item: dict, *, tenant: str, person_id: str, source: str) -> Absence | None:
    item_id = str(item.get("id", ""))
    if item.get("isCancelled"):
        return None
    sensitivity = str(item.get("sensitivity") or "normal").lower()
    show_as = str(item.get("showAs") or "busy")
    traits = EventTraits(
        summary=str(item.get("subject") or ""),
        categories=tuple(str(c) for c in item.get("categories") or ()),
        busy_status={"oof": "OOF", "workingElsewhere": "WORKINGELSEWHERE"}.get(show_as,
                                                                              show_as.upper()),
        private=sensitivity in ("private", "confidential"),
        all_day=bool(item.get("isAllDay")),
    )
    found = classify(traits)
    if found is None:
        return None
    start = graph_time(item.get("start") or {}, source, item_id)
    end = graph_time(item.get("end") or {}, source, item_id)
    if end <= start:
        return None
    return Absence(tenant=tenant, person_id=person_id, start=start, end=end,
                   category=found.category, source=source, external_id=item_id,
                   subject="" if found.private else traits.summary, private=found.private)


def _to_state(a: Absence) -> dict:
    return {"start": a.start.isoformat(), "end": a.end.isoformat(), "category": a.category.value,
            "subject": a.subject, "private": a.private}


def _from_state(item_id: str, d: dict, tenant: str, person_id: str, source: str) -> Absence:
    return Absence(tenant=tenant, person_id=person_id, start=datetime.fromisoformat(d["start"]),
                   end=datetime.fromisoformat(d["end"]), category=AbsenceCategory(d["category"]),
                   source=source, external_id=item_id, subject=d["subject"], private=d["private"])


@dataclass
class GraphCalendar:
    mailbox: str
    tenant: str
    person_id: str
    token: Callable[[], str]
    base_url: str = "https://graph.microsoft.com/v1.0"
    page_size: int = 100
    timeout: float = 30.0
    session: requests.Session | None = None
    name: str = ""
    limits: Limits = Limits()

    @property
    def source(self) -> str:
        return self.name or f"graph:{self.mailbox}"

    def _first_url(self, window: Window) -> str:
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return (f"{self.base_url.rstrip('/')}/users/{quote(self.mailbox)}/calendarView/delta"
                f"?startDateTime={window.start.astimezone(UTC):{fmt}}"
                f"&endDateTime={window.end.astimezone(UTC):{fmt}}")

    def _get(self, url: str) -> dict:
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json",
                   "Prefer": f'odata.maxpagesize={self.page_size}, outlook.timezone="UTC"'}
        try:
            response = (self.session or requests).get(url, headers=headers, timeout=self.timeout,
                                                      stream=True)
        except requests.RequestException as exc:
            raise CalendarFetchError(self.source, f"request failed: {exc}") from None
        with response:
            if response.status_code == 410:
                raise SyncTokenExpired(self.source, "delta token expired (HTTP 410)")
            if response.status_code != 200:
                raise CalendarFetchError(self.source, f"HTTP {response.status_code}: "
                                                      f"{excerpt(next(response.iter_content(200), b''), 80)}")
            body = read_limited(response, self.source, self.limits.max_bytes)
        try:
            return json.loads(body)
        except ValueError:
            raise CalendarFetchError(self.source, "response is not JSON") from None

    def _round(self, url: str, items: dict[str, dict]) -> tuple[dict[str, dict], str, int]:
        items = dict(items)
        pages = 0
        while True:
            page = self._get(url)
            pages += 1
            for raw in page.get("value") or ():
                item_id = str(raw.get("id", ""))
                if "@removed" in raw:
                    items.pop(item_id, None)
                    continue
                absence = absence_of_item(raw, tenant=self.tenant, person_id=self.person_id,
                                          source=self.source)
                if absence is None:
                    items.pop(item_id, None)
                else:
                    items[item_id] = _to_state(absence)
            if len(items) > self.limits.max_occurrences:
                raise CalendarTooLarge(self.source, f"more than {self.limits.max_occurrences} events")
            if page.get("@odata.deltaLink"):
                return items, page["@odata.deltaLink"], pages
            url = page.get("@odata.nextLink")
            if not url:
                raise CalendarFetchError(self.source, "page without nextLink or deltaLink")
            if pages >= MAX_PAGES:
                raise CalendarFetchError(self.source, f"more than {MAX_PAGES} pages")

    def fetch(self, window: Window, state: dict | None = None) -> CalendarResult:
        state = state or {}
        day = window.start.date().isoformat()
        full = not state.get("delta_link") or state.get("window") != day
        try:
            if full:
                items, link, pages = self._round(self._first_url(window), {})
            else:
                items, link, pages = self._round(state["delta_link"], state.get("items", {}))
        except SyncTokenExpired:
            log.warning("%s: delta token expired, full resync", self.source)
            items, link, pages = self._round(self._first_url(window), {})
            full = True
        log.debug("%s: %s round, %d pages, %d items", self.source,
                  "full" if full else "delta", pages, len(items))
        changed = full or items != state.get("items", {})
        absences = sorted((_from_state(k, v, self.tenant, self.person_id, self.source)
                           for k, v in items.items()), key=lambda a: (a.start, a.external_id))
        new_state = {"delta_link": link, "window": day, "items": items}
        return CalendarResult(absences if changed else None, new_state, full=full)

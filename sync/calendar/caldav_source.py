"""CalDAV calendars with RFC 6578 sync tokens, over `requests` (no caldav library).

Why not the `caldav` package: caldav 3.x pulls niquests → urllib3-future, whose .pth
file overwrites the installed `urllib3` at every interpreter start, replacing the HTTP
stack of every `requests` user in the process. Two WebDAV REPORTs are all we need:
- `sync-collection` (RFC 6578 §3.2) with the stored token (empty = everything): the
  hrefs of added/changed objects with their ETags, 404 responses for deleted ones, and
  the new token.
- `calendar-multiget` (RFC 4791 §7.9) for the changed hrefs: their iCalendar text.
Rules:
- First round (no token, or the window moved to a new day): all objects, cached in the
  state (href → iCalendar). Later rounds: only changes; deleted hrefs leave the cache.
- A token the server refuses (403/409 with DAV:valid-sync-token, or 412) → one full round.
- No change since the token → absences None (the caller keeps what it has).
- Every object goes through the same limits, line-numbered errors and expansion as a
  feed; the error names the object's href. A broken object fails the round: the token
  and cache stay at the last good round. Responses are capped at `Limits.max_bytes`.
"""
from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urljoin, urlparse
from xml.sax.saxutils import escape

import requests

from sync.calendar.errors import (
    CalendarFetchError, CalendarSyntaxError, CalendarTooLarge, SyncTokenExpired, excerpt,
)
from sync.calendar.expand import Window, absences_of
from sync.calendar.ics import Limits, parse_ics
from sync.calendar.result import CalendarResult

log = logging.getLogger(__name__)
NS = {"d": "DAV:", "c": "urn:ietf:params:xml:ns:caldav"}
MULTIGET_BATCH = 200


def sync_collection_body(token: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<d:sync-collection xmlns:d="DAV:">'
            f'<d:sync-token>{escape(token)}</d:sync-token><d:sync-level>1</d:sync-level>'
            '<d:prop><d:getetag/></d:prop></d:sync-collection>')


def multiget_body(hrefs: list[str]) -> str:
    refs = "".join(f"<d:href>{escape(h)}</d:href>" for h in hrefs)
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            f'<d:prop><d:getetag/><c:calendar-data/></d:prop>{refs}</c:calendar-multiget>')


def _status_ok(element) -> bool:
    status = element.findtext("d:status", default="", namespaces=NS)
    return " 200 " in f"{status} " or " 201 " in f"{status} "


@dataclass
class CalDavCalendar:
    url: str                          # the calendar collection URL
    tenant: str
    person_id: str
    username: str = ""
    password: str = ""
    name: str = ""
    default_tz: str = "Europe/Oslo"
    limits: Limits = Limits()
    timeout: float = 30.0
    session: requests.Session | None = None

    @property
    def source(self) -> str:
        return self.name or f"caldav:{self.url}"

    def _report(self, body: str, depth: str):
        auth = (self.username, self.password) if self.username else None
        try:
            response = (self.session or requests).request(
                "REPORT", self.url, data=body.encode(), auth=auth, timeout=self.timeout, stream=True,
                headers={"Depth": depth, "Content-Type": 'application/xml; charset="utf-8"'})
        except requests.RequestException as exc:
            raise CalendarFetchError(self.source, f"request failed: {exc}") from None
        with response:
            if response.status_code in (403, 409, 412) and "sync-token" in body:
                text = response.text[:2000]
                if "valid-sync-token" in text or response.status_code == 412:
                    raise SyncTokenExpired(self.source, f"sync token refused (HTTP {response.status_code})")
            if response.status_code != 207:
                raise CalendarFetchError(self.source, f"REPORT: HTTP {response.status_code} "
                                                      f"{response.reason}")
            return self._parse_streaming(response)

    def _parse_streaming(self, response):
        """The multistatus tree, parsed while reading; the raw body is never held in full."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.limits.max_bytes:
            raise CalendarTooLarge(self.source, f"response of {declared} bytes exceeds the limit "
                                                f"of {self.limits.max_bytes}")
        parser, size = ET.XMLParser(), 0
        try:
            for chunk in response.iter_content(chunk_size=64 * 1024):
                size += len(chunk)
                if size > self.limits.max_bytes:
                    raise CalendarTooLarge(self.source, f"response larger than the limit of "
                                                        f"{self.limits.max_bytes} bytes")
                parser.feed(chunk)
            return parser.close()
        except ET.ParseError as exc:
            raise CalendarSyntaxError(self.source, f"bad multistatus XML: {excerpt(str(exc), 80)}",
                                      exc.position[0]) from None

    def _href(self, href: str) -> str:
        return urlparse(urljoin(self.url, href)).path

    def _changes(self, token: str) -> tuple[list[str], set[str], str]:
        root = self._report(sync_collection_body(token), "0")
        changed, deleted = [], set()
        own = self._href(self.url).rstrip("/")
        for item in root.findall("d:response", NS):
            href = self._href(item.findtext("d:href", default="", namespaces=NS))
            if not href or href.rstrip("/") == own:
                continue
            status = item.findtext("d:status", default="", namespaces=NS)
            if " 404 " in f"{status} ":
                deleted.add(href)
            elif any(_status_ok(p) for p in item.findall("d:propstat", NS)):
                changed.append(href)
        new_token = root.findtext("d:sync-token", default="", namespaces=NS)
        if not new_token:
            raise CalendarFetchError(self.source, "sync-collection answer without a sync-token")
        return changed, deleted, new_token

    def _objects(self, hrefs: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in range(0, len(hrefs), MULTIGET_BATCH):
            root = self._report(multiget_body(hrefs[i:i + MULTIGET_BATCH]), "1")
            for item in root.findall("d:response", NS):
                href = self._href(item.findtext("d:href", default="", namespaces=NS))
                for propstat in item.findall("d:propstat", NS):
                    data = propstat.findtext("d:prop/c:calendar-data", namespaces=NS)
                    if data and _status_ok(propstat):
                        out[href] = data
        return out

    def fetch(self, window: Window, state: dict | None = None) -> CalendarResult:
        state = state or {}
        day = window.start.date().isoformat()
        token = state.get("token") if state.get("window") == day else None
        objects = dict(state.get("objects", {})) if token else {}
        try:
            changed, deleted, new_token = self._changes(token or "")
        except SyncTokenExpired:
            log.warning("%s: sync token refused, full round", self.source)
            token, objects = None, {}
            changed, deleted, new_token = self._changes("")
        fetched = self._objects(changed) if changed else {}
        objects.update(fetched)
        dropped = [h for h in deleted if objects.pop(h, None) is not None]
        new_state = {"token": new_token, "window": day, "objects": objects}
        if token is not None and not fetched and not dropped:
            return CalendarResult(None, new_state, full=False)
        absences, warnings = [], []
        for href, text in sorted(objects.items()):
            parsed = parse_ics(text, f"{self.source} {href}", self.limits,
                               window=(window.start, window.end))
            warnings.extend(parsed.warnings)
            absences.extend(absences_of(parsed, window, tenant=self.tenant,
                                        person_id=self.person_id, source=self.source,
                                        default_tz=self.default_tz, limits=self.limits))
            if len(absences) > self.limits.max_occurrences:
                raise CalendarTooLarge(self.source, f"more than {self.limits.max_occurrences} "
                                                    f"occurrences in the window")
        absences.sort(key=lambda a: (a.start, a.external_id))
        return CalendarResult(absences, new_state, full=token is None, warnings=warnings)

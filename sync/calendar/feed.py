"""iCalendar feeds over HTTP(S) or from a local file, polled with ETag/If-None-Match.

Rules:
- `requests` with a timeout; a Content-Length above `Limits.max_bytes` is refused before
  the body is read, and the body is read in chunks into one buffer and refused as soon
  as it passes the limit (CalendarTooLarge): memory never exceeds the limit, whatever the
  server sends (chunked, no length, a lying length).
- 304 Not Modified → no change (absences None); the ETag and Last-Modified of the last
  good response are sent back as If-None-Match / If-Modified-Since.
- Any other non-2xx status, a connection error or a timeout → CalendarFetchError.
- The state (ETag) only moves forward after the text parsed and expanded cleanly, so a
  broken feed is fetched and reported again next round.
- Validators are dropped when the window's first day moved, so the absences are
  expanded again for the new window.
- A path or file:// URL is read from disk (the CLI's FILE_OR_URL).
"""
from __future__ import annotations

import logging
import pathlib
from dataclasses import dataclass
from urllib.parse import urlparse

import requests

from sync.calendar.errors import CalendarFetchError, CalendarTooLarge
from sync.calendar.expand import Window, absences_of
from sync.calendar.ics import Limits, parse_ics
from sync.calendar.result import CalendarResult

log = logging.getLogger(__name__)


def read_limited(response: requests.Response, source: str, limit: int) -> bytearray:
    """The body, read in chunks into one buffer; CalendarTooLarge past `limit` bytes."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise CalendarTooLarge(source, f"response of {declared} bytes exceeds the limit of {limit}")
    body = bytearray()
    for chunk in response.iter_content(chunk_size=64 * 1024):
        if len(body) + len(chunk) > limit:
            response.close()
            raise CalendarTooLarge(source, f"response larger than the limit of {limit} bytes")
        body += chunk
    return body


def fetch_text(location: str, state: dict, *, source: str, limits: Limits,
               session: requests.Session | None = None, timeout: float = 30.0,
               ) -> tuple[bytes | bytearray | None, dict]:
    """Return (body or None when unchanged, validators for next time)."""
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        path = pathlib.Path(parsed.path if parsed.scheme == "file" else location)
        try:
            size = path.stat().st_size
            if size > limits.max_bytes:
                raise CalendarTooLarge(source, f"{size} bytes exceeds the limit of {limits.max_bytes}")
            return path.read_bytes(), {}
        except OSError as exc:
            raise CalendarFetchError(source, f"cannot read file: {exc.strerror}") from None
    if parsed.scheme not in ("http", "https"):
        raise CalendarFetchError(source, f"unsupported URL scheme {parsed.scheme!r}")
    headers = {"Accept": "text/calendar"}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    http = session or requests
    try:
        response = http.get(location, headers=headers, timeout=timeout, stream=True)
    except requests.RequestException as exc:
        raise CalendarFetchError(source, f"request failed: {exc.__class__.__name__}: {exc}") from None
    with response:
        if response.status_code == 304:
            return None, dict(state)
        if not 200 <= response.status_code < 300:
            raise CalendarFetchError(source, f"HTTP {response.status_code} {response.reason}")
        body = read_limited(response, source, limits.max_bytes)
        validators = {k: v for k, v in (("etag", response.headers.get("ETag")),
                                        ("last_modified", response.headers.get("Last-Modified")))
                      if v}
    return body, validators


@dataclass
class IcsFeed:
    """One person's calendar published as an iCalendar URL (Google, Outlook, Domino export...)."""

    location: str
    tenant: str
    person_id: str
    name: str = ""
    default_tz: str = "Europe/Oslo"
    limits: Limits = Limits()
    timeout: float = 30.0
    session: requests.Session | None = None

    @property
    def source(self) -> str:
        return self.name or f"ical:{self.location}"

    def fetch(self, window: Window, state: dict | None = None) -> CalendarResult:
        state = dict(state or {})
        day = window.start.date().isoformat()
        if state.get("window") != day:       # the window moved: expand again from fresh text
            state = {}
        body, validators = fetch_text(self.location, state, source=self.source,
                                      limits=self.limits, session=self.session,
                                      timeout=self.timeout)
        if body is None:
            log.debug("%s: not modified", self.source)
            return CalendarResult(None, {**validators, "window": day}, full=False)
        parsed = parse_ics(body, self.source, self.limits, window=(window.start, window.end))
        absences = absences_of(parsed, window, tenant=self.tenant, person_id=self.person_id,
                               source=self.source, default_tz=self.default_tz, limits=self.limits)
        return CalendarResult(absences, {**validators, "window": day}, full=True,
                              warnings=parsed.warnings)

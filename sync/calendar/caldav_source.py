"""CalDAV calendars with RFC 6578 sync tokens, through the `caldav` library.

Rules:
- First round (no token, or the window moved to a new day): a sync-collection without
  a token lists every object; all are loaded and cached in the state (href → iCalendar).
- Later rounds send the stored token with fallback disabled: only added/changed objects
  are loaded, deleted hrefs are dropped from the cache. An expired/unknown token (the
  server refuses it) → one full round.
- No change since the token → absences None (the caller keeps what it has).
- Every object is parsed with the same limits and line-numbered errors as a feed; the
  error names the object's href. A broken object fails the round: the token and cache
  stay at the last good round, so it is fetched again next time.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from caldav import DAVClient
from caldav.lib import error as caldav_error

from sync.calendar.errors import CalendarFetchError
from sync.calendar.expand import Window, absences_of
from sync.calendar.ics import Limits, parse_ics
from sync.calendar.result import CalendarResult

log = logging.getLogger(__name__)


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

    @property
    def source(self) -> str:
        return self.name or f"caldav:{self.url}"

    def _calendar(self):
        client = DAVClient(self.url, username=self.username or None,
                           password=self.password or None, timeout=self.timeout)
        return client.calendar(url=self.url)

    def _sync(self, token: str | None):
        calendar = self._calendar()
        return calendar.get_objects_by_sync_token(sync_token=token, load_objects=True,
                                                  disable_fallback=token is not None)

    def fetch(self, window: Window, state: dict | None = None) -> CalendarResult:
        state = state or {}
        day = window.start.date().isoformat()
        token = state.get("token") if state.get("window") == day else None
        objects = dict(state.get("objects", {})) if token else {}
        try:
            try:
                result = self._sync(token)
            except (caldav_error.DAVError, caldav_error.ReportError) as exc:
                if token is None:
                    raise
                log.warning("%s: sync token refused (%s), full round", self.source, exc)
                token, objects = None, {}
                result = self._sync(None)
            deleted = {str(u) for u in getattr(result, "deleted_urls", ()) or ()}
            changed = 0
            for obj in result:
                href = str(obj.url)
                if href in deleted or obj.data is None:
                    continue
                objects[href] = obj.data
                changed += 1
        except (caldav_error.DAVError, OSError) as exc:
            raise CalendarFetchError(self.source, f"{exc.__class__.__name__}: {exc}") from None
        for href in deleted:
            if objects.pop(href, None) is not None:
                changed += 1
        new_state = {"token": str(result.sync_token), "window": day, "objects": objects}
        if token is not None and not changed:
            return CalendarResult(None, new_state, full=False)
        absences, warnings = [], []
        for href, text in sorted(objects.items()):
            parsed = parse_ics(text, f"{self.source} {href}", self.limits,
                               window=(window.start, window.end))
            warnings.extend(parsed.warnings)
            absences.extend(absences_of(parsed, window, tenant=self.tenant,
                                        person_id=self.person_id, source=self.source,
                                        default_tz=self.default_tz, limits=self.limits))
        absences.sort(key=lambda a: (a.start, a.external_id))
        return CalendarResult(absences, new_state, full=token is None, warnings=warnings)

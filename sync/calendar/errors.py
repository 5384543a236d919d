"""Typed errors of calendar sources. Each names the source and, when known, the line.

Rules: a source that raises keeps its last good absences in the store (the caller never
replaces them with a partial result); `error_id` is stable and part of the API.
A message quotes input only through `excerpt()` (at most 40 characters each) and is cut
at `MAX_DETAIL` characters: a 50 MB line never ends up in a log or on the health page.
"""
from __future__ import annotations

MAX_DETAIL = 200


def excerpt(value, limit: int = 40) -> str:
    """`repr` of a piece of input, shortened to about `limit` characters."""
    text = value if isinstance(value, str) else (
        value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value))
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


class CalendarSourceError(Exception):
    """A calendar source could not be read or understood."""

    error_id = "calendar.source_error"

    def __init__(self, source: str, message: str, line: int | None = None):
        self.source = source
        self.line = line
        if len(message) > MAX_DETAIL:
            message = message[:MAX_DETAIL] + "…"
        self.detail = message
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {message}")


class CalendarSyntaxError(CalendarSourceError):
    """Broken iCalendar text: missing END, bad date, unknown TZID, oversized value."""

    error_id = "calendar.syntax"


class CalendarTooLarge(CalendarSourceError):
    """The feed, a value or an expansion exceeds its configured limit."""

    error_id = "calendar.too_large"


class CalendarFetchError(CalendarSourceError):
    """The server refused or failed (HTTP status, connection error, bad JSON)."""

    error_id = "calendar.fetch"


class SyncTokenExpired(CalendarSourceError):
    """The server no longer knows our sync/delta token (Graph 410, CalDAV 403/409 valid-sync-token)."""

    error_id = "calendar.token_expired"

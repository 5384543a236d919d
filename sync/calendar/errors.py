"""Typed errors of calendar sources. Each names the source and, when known, the line.

Rule: a source that raises keeps its last good absences in the store (the caller never
replaces them with a partial result); `error_id` is stable and part of the API.
"""
from __future__ import annotations


class CalendarSourceError(Exception):
    """A calendar source could not be read or understood."""

    error_id = "calendar.source_error"

    def __init__(self, source: str, message: str, line: int | None = None):
        self.source = source
        self.line = line
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

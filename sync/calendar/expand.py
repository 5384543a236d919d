"""Expand a parsed calendar into absence intervals inside one bounded window.

Rules:
- Expansion is done by recurring-ical-events (RRULE, RDATE, EXDATE, RECURRENCE-ID
  overrides, cancelled occurrences), always between `window.start` and `window.end`:
  an endless RRULE yields only what falls in the window.
- More than `Limits.max_occurrences` occurrences in one window is CalendarTooLarge.
- Times become UTC. An all-day (DATE) event runs from local midnight to local midnight
  in `default_tz` (the tenant's zone), as floating times do.
- `external_id` = UID + "@" + the occurrence's original start (RECURRENCE-ID or DTSTART)
  in UTC, so a moved occurrence keeps its identity.
- Each occurrence is classified (classify.py); events that are no absence are left out.
  Private events keep no subject.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import recurring_ical_events

from engine.directory.model import Absence
from sync.calendar.classify import classify, traits_of_vevent
from sync.calendar.errors import CalendarSyntaxError, CalendarTooLarge
from sync.calendar.ics import Limits, ParsedCalendar, parse_ics

UTC = timezone.utc


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self):
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("window end must be after its start")

    @classmethod
    def around(cls, now: datetime, back: timedelta = timedelta(days=1),
               ahead: timedelta = timedelta(days=60)) -> "Window":
        return cls(now - back, now + ahead)


def to_utc(value, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tz).astimezone(UTC)
    raise TypeError(f"not a date or datetime: {value!r}")


def _end_of(event, start_value, tz: ZoneInfo) -> datetime:
    end = event.get("DTEND")
    if end is not None:
        return to_utc(end.dt, tz)
    duration = event.get("DURATION")
    if duration is not None:
        return to_utc(start_value, tz) + duration.dt
    if isinstance(start_value, datetime):
        return to_utc(start_value, tz)
    return to_utc(start_value + timedelta(days=1), tz)


def absences_of(parsed: ParsedCalendar, window: Window, *, tenant: str, person_id: str,
                source: str, default_tz: str = "Europe/Oslo",
                limits: Limits = Limits()) -> list[Absence]:
    """All absence intervals of one person's calendar inside `window` (rules above)."""
    tz = ZoneInfo(default_tz)
    query = recurring_ical_events.of(parsed.calendar)
    out: list[Absence] = []
    count = 0
    try:
        occurrences = query.between(window.start, window.end)
    except (ValueError, TypeError, AttributeError) as exc:
        raise CalendarSyntaxError(source, f"cannot expand recurrences: {exc}") from None
    for event in occurrences:
        count += 1
        if count > limits.max_occurrences:
            raise CalendarTooLarge(source, f"more than {limits.max_occurrences} occurrences "
                                           f"between {window.start:%Y-%m-%d} and {window.end:%Y-%m-%d}")
        found = classify(traits_of_vevent(event))
        if found is None:
            continue
        start_value = event["DTSTART"].dt
        start = to_utc(start_value, tz)
        end = _end_of(event, start_value, tz)
        if end <= start:
            continue
        rid = event.get("RECURRENCE-ID")
        original = to_utc(rid.dt, tz) if rid is not None else start
        out.append(Absence(
            tenant=tenant, person_id=person_id, start=start, end=end,
            category=found.category, source=source,
            external_id=f"{event.get('UID', '')}@{original:%Y%m%dT%H%M%SZ}",
            subject="" if found.private else str(event.get("SUMMARY") or ""),
            private=found.private,
        ))
    out.sort(key=lambda a: (a.start, a.external_id))
    return out


def absences_from_ics(data: bytes | str, window: Window, *, tenant: str, person_id: str,
                      source: str, default_tz: str = "Europe/Oslo",
                      limits: Limits = Limits()) -> list[Absence]:
    """Parse and expand in one step (the CLI and the HTTP feed use this)."""
    parsed = parse_ics(data, source, limits)
    return absences_of(parsed, window, tenant=tenant, person_id=person_id, source=source,
                       default_tz=default_tz, limits=limits)

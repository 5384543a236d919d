"""Expand a parsed calendar into absence intervals inside one bounded window.

Rules:
- Expansion is done by recurring-ical-events (RRULE, RDATE, EXDATE, RECURRENCE-ID
  overrides, cancelled occurrences), always between the window's bounds widened by one
  day (the library reads all-day and floating times in the window's zone, UTC, while
  they mean the tenant's zone): an endless RRULE yields only what falls in the window.
- The window is half-open, as every interval here: an occurrence is kept when
  `start < window.end and end > window.start` in UTC, so one ending exactly at the
  window's start, or starting exactly at its end, is outside.
- Occurrences are counted while they are generated: the expansion stops and refuses
  (CalendarTooLarge) at the first one beyond `Limits.max_occurrences`.
- Times become UTC. An all-day (DATE) event runs from local midnight to local midnight
  in `default_tz` (the tenant's zone), as floating times do.
- DURATION (RFC 5545 3.3.6): days and weeks are nominal (same wall-clock time N days
  later in the event's zone), hours, minutes and seconds exact elapsed time; so across
  the spring-forward night `P1D` lasts 23 h and `PT24H` 24 h. The raw text comes from
  the pre-scan (`X-SENTRAL-DURATION`, ics.py): icalendar makes both the same timedelta.
- `external_id` = UID + "@" + the occurrence's original start (RECURRENCE-ID or DTSTART)
  in UTC, so a moved occurrence keeps its identity.
- Each occurrence is classified (classify.py); events that are no absence are left out.
  Private events keep no subject.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import islice
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar.prop import vDDDTypes

from engine.directory.model import Absence
from sync.calendar.classify import classify, traits_of_vevent
from sync.calendar.errors import CalendarSyntaxError, CalendarTooLarge, excerpt
from sync.calendar.ics import RAW_DURATION, Limits, ParsedCalendar, parse_ics

UTC = timezone.utc
_WIDEN = timedelta(days=1)


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


def _split_duration(raw: str) -> tuple[timedelta, timedelta]:
    """(nominal days/weeks, exact time) of a DURATION value such as P1DT12H or PT24H."""
    text = raw.strip().upper()
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
    days_part, _, time_part = body.partition("T")
    nominal = vDDDTypes.from_ical(days_part) if days_part not in ("P", "") else timedelta(0)
    exact = vDDDTypes.from_ical("PT" + time_part) if time_part else timedelta(0)
    return sign * nominal, sign * exact


def _end_of(event, start_value, tz: ZoneInfo) -> datetime:
    """End of one occurrence from DTEND or DURATION (nominal days, exact time)."""
    raw = event.get(RAW_DURATION)       # first: occurrence copies carry a derived DTEND
    end = event.get("DTEND")
    if end is not None and raw is None:
        return to_utc(end.dt, tz)
    duration = event.get("DURATION")
    if raw is not None or duration is not None:
        try:
            nominal, exact = _split_duration(str(raw)) if raw is not None else (timedelta(0), duration.dt)
        except ValueError:
            nominal, exact = timedelta(0), duration.dt if duration is not None else timedelta(0)
        if isinstance(start_value, datetime) and start_value.tzinfo is None:
            start_value = start_value.replace(tzinfo=tz)
        return to_utc(start_value + nominal, tz) + exact   # aware + days: wall-clock arithmetic
    if isinstance(start_value, datetime):
        return to_utc(start_value, tz)
    return to_utc(start_value + timedelta(days=1), tz)


def _occurrences(query, window: Window, limit: int):
    """(source component, start, end) of each occurrence in the window.

    Fast path: the library's occurrence objects (start/end and the series or override
    component they come from) without copying a component per occurrence, which is
    what `between()` does and costs half the expansion time. The attribute names are
    those of recurring-ical-events 3.8 (pinned); if they change, the public (slower)
    `between()` is used instead, with identical results (tests cover both).
    """
    found = fast_occurrences(query, window, limit)
    return found if found is not None else public_occurrences(query, window, limit)


def fast_occurrences(query, window: Window, limit: int | None = None) -> list | None:
    fast = getattr(query, "_occurrences_between", None)
    if fast is None:
        return None
    found = [(getattr(getattr(occ, "_adapter", None), "_component", None),
              getattr(occ, "start", None), getattr(occ, "end", None))
             for occ in islice(fast(window.start, window.end), limit)]
    if all(c is not None and start is not None for c, start, _ in found):
        return found
    return None


def public_occurrences(query, window: Window, limit: int | None = None) -> list:
    return [(c, c["DTSTART"].dt, None) for c in islice(query.between(window.start, window.end), limit)]


def absences_of(parsed: ParsedCalendar, window: Window, *, tenant: str, person_id: str,
                source: str, default_tz: str = "Europe/Oslo",
                limits: Limits = Limits()) -> list[Absence]:
    """All absence intervals of one person's calendar inside `window` (rules above)."""
    tz = ZoneInfo(default_tz)
    query = recurring_ical_events.of(parsed.calendar)
    out: list[Absence] = []
    verdicts: dict[int, object] = {}
    wide = Window(window.start - _WIDEN, window.end + _WIDEN)
    try:
        occurrences = _occurrences(query, wide, limits.max_occurrences + 1)
    except (ValueError, TypeError, AttributeError) as exc:
        raise CalendarSyntaxError(source, f"cannot expand recurrences: {excerpt(str(exc), 80)}") from None
    if len(occurrences) > limits.max_occurrences:
        raise CalendarTooLarge(source, f"more than {limits.max_occurrences} occurrences "
                                       f"between {window.start:%Y-%m-%d} and {window.end:%Y-%m-%d}")
    for component, start_value, end_value in occurrences:
        key = id(component)
        if key not in verdicts:   # once per series/override, not per occurrence
            found = classify(traits_of_vevent(component))
            rid = component.get("RECURRENCE-ID")
            verdicts[key] = found and (found, str(component.get("UID", "")),
                                       "" if found.private else str(component.get("SUMMARY") or ""),
                                       to_utc(rid.dt, tz) if rid is not None else None)
        verdict = verdicts[key]
        if not verdict:
            continue
        found, uid, subject, original = verdict
        start = to_utc(start_value, tz)
        if end_value is None or component.get("DTEND") is None or RAW_DURATION in component:
            end = _end_of(component, start_value, tz)     # DURATION: nominal days, exact time
        else:
            end = to_utc(end_value, tz)
        if end <= start or end <= window.start or start >= window.end:
            continue                                      # empty, or outside [start, end)
        out.append(Absence(
            tenant=tenant, person_id=person_id, start=start, end=end,
            category=found.category, source=source,
            external_id=f"{uid}@{(original or start):%Y%m%dT%H%M%SZ}",
            subject=subject, private=found.private,
        ))
    out.sort(key=lambda a: (a.start, a.external_id))
    return out


def absences_from_ics(data: bytes | str, window: Window, *, tenant: str, person_id: str,
                      source: str, default_tz: str = "Europe/Oslo",
                      limits: Limits = Limits()) -> list[Absence]:
    """Parse and expand in one step (the CLI and the HTTP feed use this)."""
    parsed = parse_ics(data, source, limits, window=(window.start, window.end))
    return absences_of(parsed, window, tenant=tenant, person_id=person_id, source=source,
                       default_tz=default_tz, limits=limits)

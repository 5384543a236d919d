"""Reading iCalendar text safely: limits and line-numbered errors before icalendar parses.

Rules:
- The whole text is refused above `Limits.max_bytes` (CalendarTooLarge) before parsing.
- A pre-scan walks the unfolded content lines and checks BEGIN/END nesting: a missing or
  mismatched END is a CalendarSyntaxError naming the physical line of the unclosed BEGIN.
- A content line longer than `Limits.max_line` is refused (naming line and property),
  except ATTACH lines and event properties the absence rules never read (DESCRIPTION,
  X-ALT-DESC...): those carry no absence information, so oversized values (inline
  base64 files) are dropped and reported as warnings.
- After icalendar has parsed, each VEVENT is checked: property errors icalendar records
  (bad dates) and a TZID that resolved to nothing (a floating time where a zone was
  named) are CalendarSyntaxError with the VEVENT's line. Windows zone names
  ("W. Europe Standard Time") are resolved by icalendar and are fine.
- Only the event properties the absence rules read are passed on to the parser
  (`_USED`); attendees, descriptions, attachments and alarms are not parsed at all.
- With a window, single events entirely outside it (more than two days) are dropped
  before parsing (most of a real calendar is history); recurring events and overrides
  are always kept, and an event whose dates the pre-scan cannot read is kept so that
  the parser reports it.
- Every error carries the source name; nothing is returned on error (all or nothing).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import icalendar

from sync.calendar.errors import CalendarSyntaxError, CalendarTooLarge

log = logging.getLogger(__name__)

_DROPPABLE = ("ATTACH",)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024      # a whole feed
    max_line: int = 256 * 1024             # one unfolded content line (ATTACH excepted)
    max_occurrences: int = 20_000          # per calendar and window, after expansion


@dataclass
class ParsedCalendar:
    calendar: icalendar.Calendar
    event_lines: list[int]                 # physical line of each VEVENT, in document order
    warnings: list[str] = field(default_factory=list)


def _logical_lines(text: str):
    """Yield (first physical line number, unfolded logical line)."""
    start, parts = 0, []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw[:1] in (" ", "\t") and parts:
            parts.append(raw[1:])
            continue
        if parts:
            yield start, "".join(parts)
        start, parts = number, [raw]
    if parts:
        yield start, "".join(parts)


def _name_of(line: str) -> str:
    cut = len(line)
    for sep in (":", ";"):
        pos = line.find(sep)
        if 0 <= pos < cut:
            cut = pos
    return line[:cut].strip().upper()


_RECURRING = ("RRULE", "RDATE", "RECURRENCE-ID")
# The event properties absence derivation reads (classify.py, expand.py); the rest of a
# VEVENT (ATTENDEE, DESCRIPTION, X-ALT-DESC, VALARM...) is left out before parsing.
_USED = frozenset({"UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE",
                   "RECURRENCE-ID", "SUMMARY", "CATEGORIES", "STATUS", "TRANSP", "CLASS",
                   "SEQUENCE", "X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-INTENDEDSTATUS"})
_MARGIN = timedelta(days=2)


def _day(line: str) -> date | None:
    value = line.rsplit(":", 1)[-1].strip()
    try:
        return date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except (ValueError, IndexError):
        return None


def _outside(props: dict, window: tuple[datetime, datetime] | None) -> bool:
    """A single (non-recurring) event that ends well before or starts well after the window."""
    if window is None or props.get("recurring") or "DTSTART" not in props:
        return False
    start = _day(props["DTSTART"])
    end = _day(props.get("DTEND", props["DTSTART"]))
    if start is None or end is None:
        return False                          # let the parser report the bad date
    return end < (window[0] - _MARGIN).date() or start > (window[1] + _MARGIN).date()


def prescan(text: str, source: str, limits: Limits,
            window: tuple[datetime, datetime] | None = None) -> tuple[str, list[int], list[str]]:
    """Check nesting and sizes; return (text to parse, VEVENT lines, warnings).

    With a window, single events lying entirely outside it (by more than two days) are
    left out before parsing: most of a real calendar is history, and parsing is the
    expensive part. Their nesting and sizes are still checked.
    """
    stack: list[tuple[str, int]] = []
    block: tuple[int, dict] | None = None          # (index in kept, props) of the open VEVENT
    kept: list[str] = []
    event_lines: list[int] = []
    warnings: list[str] = []
    for number, line in _logical_lines(text):
        if not line.strip():
            continue
        name = _name_of(line)
        if len(line) > limits.max_line:
            unused = len(stack) >= 2 and stack[1][0] == "VEVENT" and name not in _USED
            if name in _DROPPABLE or unused:
                warnings.append(f"{source}, line {number}: {name} of {len(line)} bytes dropped")
                continue
            raise CalendarTooLarge(source, f"{name} value of {len(line)} bytes exceeds the "
                                           f"limit of {limits.max_line}", number)
        if name == "BEGIN":
            comp = line.split(":", 1)[-1].strip().upper()
            stack.append((comp, number))
            if len(stack) > 2 and stack[1][0] == "VEVENT":
                continue                          # VALARM & co. inside an event: not needed
            if comp == "VEVENT":
                event_lines.append(number)
                if len(stack) == 2:
                    block = (len(kept), {})
        elif name == "END":
            comp = line.split(":", 1)[-1].strip().upper()
            if not stack:
                raise CalendarSyntaxError(source, f"END:{comp} without BEGIN", number)
            open_comp, open_line = stack.pop()
            if open_comp != comp:
                raise CalendarSyntaxError(
                    source, f"END:{comp} but BEGIN:{open_comp} (line {open_line}) is still open",
                    number)
            if not stack and comp == "VCALENDAR":
                kept.append(line)
                continue
            if len(stack) >= 2 and stack[1][0] == "VEVENT":
                continue                          # the end of a dropped sub-component
            if comp == "VEVENT" and block is not None and len(stack) == 1:
                first, props = block
                block = None
                if _outside(props, window):
                    del kept[first:]
                    event_lines.pop()
                    continue
        elif not stack:
            raise CalendarSyntaxError(source, f"content outside BEGIN:VCALENDAR: {line[:40]!r}",
                                      number)
        elif len(stack) >= 2 and stack[1][0] == "VEVENT" and (len(stack) > 2 or name not in _USED):
            continue                              # attendees, descriptions, alarms: not needed
        elif block is not None and len(stack) == 2:
            if name in _RECURRING:
                block[1]["recurring"] = True
            elif name in ("DTSTART", "DTEND"):
                block[1][name] = line
        kept.append(line)
    if stack:
        comp, number = stack[-1]
        raise CalendarSyntaxError(source, f"BEGIN:{comp} is never closed (missing END:{comp})",
                                  number)
    if not kept:
        raise CalendarSyntaxError(source, "empty calendar", 1)
    return "\r\n".join(kept) + "\r\n", event_lines, warnings


def _check_event(event, source: str, line: int) -> None:
    if event.errors:
        prop, message = event.errors[0]
        raise CalendarSyntaxError(source, f"{prop}: {message}", line)
    for prop in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        value = event.get(prop)
        if value is None:
            continue
        tzid = value.params.get("TZID")
        dt = value.dt
        if tzid and isinstance(dt, datetime) and dt.tzinfo is None:
            raise CalendarSyntaxError(source, f"{prop}: unknown time zone TZID={tzid!r}", line)
    if event.get("DTSTART") is None:
        raise CalendarSyntaxError(source, "VEVENT without DTSTART", line)
    rule = event.get("RRULE")
    if rule is not None:
        freq = (rule.get("FREQ") or [""])[0]
        if str(freq).upper() in ("SECONDLY", "MINUTELY"):
            raise CalendarTooLarge(source, f"RRULE FREQ={freq} cannot describe an absence", line)


def parse_ics(data: bytes | str, source: str, limits: Limits = Limits(),
              window: tuple[datetime, datetime] | None = None) -> ParsedCalendar:
    """Parse one iCalendar text; raise a CalendarSourceError naming source and line."""
    size = len(data)
    if size > limits.max_bytes:
        raise CalendarTooLarge(source, f"{size} bytes exceeds the limit of {limits.max_bytes}")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise CalendarSyntaxError(source, f"not UTF-8 ({exc.reason})", line) from None
    else:
        text = data
    cleaned, event_lines, warnings = prescan(text, source, limits, window)
    try:
        calendar = icalendar.Calendar.from_ical(cleaned)
    except (ValueError, KeyError, IndexError) as exc:
        raise CalendarSyntaxError(source, f"not iCalendar: {exc}") from None
    events = list(calendar.walk("VEVENT"))
    for event, line in zip(events, event_lines):
        _check_event(event, source, line)
    for warning in warnings:
        log.warning("%s", warning)
    return ParsedCalendar(calendar, event_lines, warnings)

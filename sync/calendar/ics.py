"""Reading iCalendar text safely: limits and line-numbered errors before icalendar parses.

Rules:
- The whole text is refused above `Limits.max_bytes` (CalendarTooLarge) before anything
  else; protocol modules already stop reading there (feed.py, caldav_source.py).
- The pre-scan works on BYTES: it unfolds content lines first (RFC 5545 3.1: a line
  break followed by a space or tab is removed, and folding happens at 75 octets, so a
  UTF-8 character may be split across two physical lines), then decodes each logical
  line it keeps as UTF-8 (an error names the line). Property lines that are dropped
  anyway are not decoded. The text is walked with offsets: no list of all lines, no
  decoded copy of the whole feed; a line longer than `max_line` is never joined.
- BEGIN/END nesting is checked: a missing or mismatched END is a CalendarSyntaxError
  naming the physical line of the unclosed BEGIN; deeper than `max_depth` is refused.
- A content line longer than `Limits.max_line` is refused (naming line and property),
  except ATTACH lines and event properties the absence rules never read (DESCRIPTION,
  X-ALT-DESC...): those carry no absence information, so oversized values (inline
  base64 files) are dropped and reported as warnings.
- Several VCALENDAR objects one after another (an iCalendar stream, RFC 5545 3.4) are
  read as one calendar: their components are merged, calendar properties are taken
  from the first object.
- Only VEVENTs and VTIMEZONEs are passed on, and of a VEVENT only the properties the
  absence rules read (`_USED`); attendees, descriptions, attachments, alarms, to-dos
  and journals are not parsed at all.
- With a window, events that cannot touch it (by more than two days) are dropped before
  parsing (most of a real calendar is history): single events and overrides outside it,
  series starting after it or whose RRULE UNTIL ended before it (not with RDATE or a
  DURATION). An event whose dates the pre-scan cannot read is kept so that the parser
  reports it.
- Before icalendar parses, what is left is counted: more than `max_events` VEVENTs or
  `max_parse_bytes` of text, or more than `max_components` components or `max_lines`
  physical lines in the whole text, is CalendarTooLarge. So parsing and expansion work on a bounded input whatever
  the feed holds (peak memory measured in tests/sync/test_calendar_limits.py).
- icalendar turns `DURATION:PT24H` and `DURATION:P1D` into the same timedelta; the raw
  text is passed on as `X-SENTRAL-DURATION` (a name no feed can inject: unknown event
  properties are dropped) so expansion can tell exact time from nominal days.
- After icalendar has parsed, each VEVENT is checked: property errors icalendar records
  (bad dates) and a TZID that resolved to nothing (a floating time where a zone was
  named) are CalendarSyntaxError with the VEVENT's line. Windows zone names
  ("W. Europe Standard Time") are resolved by icalendar and are fine.
- Every error carries the source name and quotes at most ~40 characters of input;
  nothing is returned on error (all or nothing).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import icalendar

from sync.calendar.errors import CalendarSyntaxError, CalendarTooLarge, excerpt

log = logging.getLogger(__name__)

_DROPPABLE = ("ATTACH",)
RAW_DURATION = "X-SENTRAL-DURATION"


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024      # a whole feed (checked while downloading)
    max_line: int = 256 * 1024             # one unfolded content line (ATTACH excepted)
    max_lines: int = 2_000_000             # physical lines (a 50 MB feed has about 1 million)
    max_components: int = 200_000          # BEGIN blocks in the whole text, history included
    max_depth: int = 8                     # component nesting
    max_events: int = 5_000                # VEVENTs parsed (in/near the window, or recurring)
    max_parse_bytes: int = 8 * 1024 * 1024  # text handed to icalendar after the pre-scan
    max_occurrences: int = 20_000          # per calendar and window, counted while expanding


@dataclass
class ParsedCalendar:
    calendar: icalendar.Calendar
    event_lines: list[int]                 # physical line of each VEVENT, in document order
    warnings: list[str] = field(default_factory=list)


_BOM = b"\xef\xbb\xbf"
_HEAD = 80


def _logical_lines(data, limits: Limits, source: str):
    """Yield (physical line number, unfolded bytes or None, length, first bytes).

    Unfolding is done on bytes, before decoding. A logical line longer than `max_line`
    is never joined (None): only its length and first bytes are kept. More than
    `max_lines` physical lines is CalendarTooLarge (the scan's time is per line).
    """
    max_line, max_lines = limits.max_line, limits.max_lines
    n = len(data)
    pos = 3 if data[:3] == _BOM else 0
    number = start = 0
    parts: list | None = None
    length = -1
    head = b""
    while pos < n:
        nl = data.find(b"\n", pos)
        if nl < 0:
            nl = n
        stop = nl - 1 if nl > pos and data[nl - 1] == 13 else nl
        number += 1
        if number > max_lines:
            raise CalendarTooLarge(source, f"more than {max_lines} lines", number)
        if length >= 0 and stop > pos and data[pos] in (32, 9):      # folded continuation
            length += stop - pos - 1
            if parts is not None:
                if length > max_line:
                    parts = None
                else:
                    parts.append(data[pos + 1:stop])
        else:
            if length >= 0:
                yield start, (b"".join(parts) if parts is not None else None), length, head
            start, length = number, stop - pos
            head = bytes(data[pos:min(stop, pos + _HEAD)])
            parts = [data[pos:stop]] if length <= max_line else None
        pos = nl + 1
    if length >= 0:
        yield start, (b"".join(parts) if parts is not None else None), length, head


_NAME_PART = re.compile(rb"[^:;]*")
_NAMES: dict[bytes, str] = {}                 # property names repeat: decode each once


def _name_of(head: bytes) -> str:
    raw = _NAME_PART.match(head).group()
    name = _NAMES.get(raw)
    if name is None:
        name = raw.decode("ascii", "replace").strip().upper()
        if len(_NAMES) < 1024:
            _NAMES[raw] = name
    return name


_NAME = re.compile(r"[A-Z0-9-]{1,40}")


def _label(name: str) -> str:
    return name if _NAME.fullmatch(name) else excerpt(name)


def _component(line: str) -> str:
    return line.split(":", 1)[-1].strip().upper()


_RECURRING = ("RRULE", "RDATE", "RECURRENCE-ID")
# The event properties absence derivation reads (classify.py, expand.py); the rest of a
# VEVENT (ATTENDEE, DESCRIPTION, X-ALT-DESC, VALARM...) is left out before parsing.
_USED = frozenset({"UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE",
                   "RECURRENCE-ID", "SUMMARY", "CATEGORIES", "STATUS", "TRANSP", "CLASS",
                   "SEQUENCE", "X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-INTENDEDSTATUS"})
_KEPT_TOP = ("VEVENT", "VTIMEZONE")
_MARGIN = timedelta(days=2)


def _day(line: str) -> date | None:
    value = line.rsplit(":", 1)[-1].strip()
    try:
        return date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except (ValueError, IndexError):
        return None


def _until(rrule: str) -> date | None:
    pos = rrule.upper().find("UNTIL=")
    return None if pos < 0 else _day(rrule[pos + 6:pos + 14])


def _outside(props: dict, window: tuple[datetime, datetime] | None) -> bool:
    """An event that cannot touch the window (by more than two days); unsure → False."""
    if window is None or "DTSTART" not in props or "DURATION" in props or "RDATE" in props:
        return False
    low, high = (window[0] - _MARGIN).date(), (window[1] + _MARGIN).date()
    start = _day(props["DTSTART"])
    end = _day(props.get("DTEND", props["DTSTART"]))
    if start is None or end is None:
        return False                          # let the parser report the bad date
    apart = end < low or start > high
    if "RECURRENCE-ID" in props:              # an override: its own dates and the replaced one
        rid = props["RECURRENCE-ID"]
        day = _day(rid)
        return apart and day is not None and "RANGE=" not in rid.upper() and not low <= day <= high
    if "RRULE" in props:                      # a series never occurs before its DTSTART
        until = _until(props["RRULE"])
        return start > high or (until is not None and until + (end - start) < low)
    return apart


def _dropped(stack: list[tuple[str, int]]) -> bool:
    """Whether the innermost open component is left out (to-dos, alarms in events...)."""
    return len(stack) >= 2 and (stack[1][0] not in _KEPT_TOP
                                or (stack[1][0] == "VEVENT" and len(stack) > 2))


def prescan(data, source: str, limits: Limits,
            window: tuple[datetime, datetime] | None = None) -> tuple[str, list[int], list[str]]:
    """Check nesting and sizes; return (text to parse, VEVENT lines, warnings). See the rules."""
    stack: list[tuple[str, int]] = []
    block: tuple[int, dict] | None = None          # (index in kept, props) of the open VEVENT
    kept: list[str] = []
    kept_bytes = components = calendars = events = 0
    event_lines: list[int] = []
    warnings: list[str] = []

    def decode(raw, number: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CalendarSyntaxError(source, f"not UTF-8 ({exc.reason})", number) from None

    def keep(line: str) -> None:
        nonlocal kept_bytes
        kept.append(line)
        kept_bytes += len(line) + 2
        if kept_bytes > limits.max_parse_bytes:
            raise CalendarTooLarge(source, f"more than {limits.max_parse_bytes} bytes of events "
                                           f"in and around the window to parse", number)

    for number, raw, length, head in _logical_lines(data, limits, source):
        if raw is not None and not raw.strip():
            continue
        name = _name_of(head)
        if raw is None:
            unused = len(stack) >= 2 and (_dropped(stack) or name not in _USED)
            if name in _DROPPABLE or unused:
                warnings.append(f"{source}, line {number}: {_label(name)} of {length} bytes dropped")
                continue
            raise CalendarTooLarge(source, f"{_label(name)} value of {length} bytes exceeds the "
                                           f"limit of {limits.max_line}", number)
        if name == "BEGIN":
            comp = _component(decode(raw, number))
            if len(stack) >= limits.max_depth:
                raise CalendarSyntaxError(source, f"components nested deeper than "
                                                  f"{limits.max_depth}", number)
            components += 1
            if components > limits.max_components:
                raise CalendarTooLarge(source, f"more than {limits.max_components} components",
                                       number)
            if not stack and comp != "VCALENDAR":
                raise CalendarSyntaxError(source, f"BEGIN:{_label(comp)} outside BEGIN:VCALENDAR",
                                          number)
            stack.append((comp, number))
            if not _dropped(stack) and len(stack) == 2 and comp == "VEVENT":
                event_lines.append(number)
                block = (len(kept), {})
            if len(stack) == 1:
                calendars += 1
                if calendars > 1:
                    continue                          # the next object of a stream: merged
            if not _dropped(stack):
                keep(f"BEGIN:{comp}")
        elif name == "END":
            comp = _component(decode(raw, number))
            if not stack:
                raise CalendarSyntaxError(source, f"END:{_label(comp)} without BEGIN", number)
            dropped = _dropped(stack)
            open_comp, open_line = stack.pop()
            if open_comp != comp:
                raise CalendarSyntaxError(
                    source, f"END:{_label(comp)} but BEGIN:{_label(open_comp)} (line {open_line}) "
                            f"is still open", number)
            if not stack or dropped:
                continue                              # END:VCALENDAR is written once, at the end
            if comp == "VEVENT" and block is not None and len(stack) == 1:
                first, props = block
                block = None
                if _outside(props, window):
                    kept_bytes -= sum(len(line) + 2 for line in kept[first:])
                    del kept[first:]
                    event_lines.pop()
                    continue
                events += 1
                if events > limits.max_events:
                    raise CalendarTooLarge(source, f"more than {limits.max_events} events in and "
                                                   f"around the window (series always count)",
                                           number)
            keep(f"END:{comp}")
        elif not stack:
            raise CalendarSyntaxError(source, f"content outside BEGIN:VCALENDAR: "
                                              f"{excerpt(decode(raw, number))}", number)
        elif len(stack) == 1 and calendars > 1:
            continue                                  # the first object's properties are kept
        elif _dropped(stack) or (len(stack) > 1 and stack[1][0] == "VEVENT" and name not in _USED):
            continue                                  # attendees, descriptions, alarms: not needed
        else:
            line = decode(raw, number)
            if block is not None and len(stack) == 2:
                if name in _RECURRING or name in ("DTSTART", "DTEND", "DURATION"):
                    block[1][name] = line
            keep(line)
            if name == "DURATION" and len(stack) == 2 and stack[1][0] == "VEVENT":
                keep(f"{RAW_DURATION}:{line.rsplit(':', 1)[-1].strip()}")
    if stack:
        comp, number = stack[-1]
        raise CalendarSyntaxError(source, f"BEGIN:{_label(comp)} is never closed "
                                          f"(missing END:{_label(comp)})", number)
    if not calendars:
        raise CalendarSyntaxError(source, "empty calendar", 1)
    kept.append("END:VCALENDAR")
    return "\r\n".join(kept) + "\r\n", event_lines, warnings


def _check_event(event, source: str, line: int) -> None:
    if event.errors:
        prop, message = event.errors[0]
        raise CalendarSyntaxError(source, f"{_label(str(prop))}: {excerpt(str(message), 80)}", line)
    for prop in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        value = event.get(prop)
        if value is None:
            continue
        tzid = value.params.get("TZID")
        dt = value.dt
        if tzid and isinstance(dt, datetime) and dt.tzinfo is None:
            raise CalendarSyntaxError(source, f"{prop}: unknown time zone TZID={excerpt(tzid)}", line)
    if event.get("DTSTART") is None:
        raise CalendarSyntaxError(source, "VEVENT without DTSTART", line)
    rule = event.get("RRULE")
    if rule is not None:
        freq = (rule.get("FREQ") or [""])[0]
        if str(freq).upper() in ("SECONDLY", "MINUTELY"):
            raise CalendarTooLarge(source, f"RRULE FREQ={_label(str(freq).upper())} cannot "
                                           f"describe an absence", line)


def parse_ics(data: bytes | bytearray | str, source: str, limits: Limits = Limits(),
              window: tuple[datetime, datetime] | None = None) -> ParsedCalendar:
    """Parse one iCalendar text; raise a CalendarSourceError naming source and line."""
    if len(data) <= limits.max_bytes and isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")   # CalDAV objects: unfold as bytes too
    if len(data) > limits.max_bytes:
        raise CalendarTooLarge(source, f"{len(data)} bytes exceeds the limit of {limits.max_bytes}")
    cleaned, event_lines, warnings = prescan(data, source, limits, window)
    try:
        calendar = icalendar.Calendar.from_ical(cleaned)
    except (ValueError, KeyError, IndexError) as exc:
        raise CalendarSyntaxError(source, f"not iCalendar: {excerpt(str(exc), 80)}") from None
    events = list(calendar.walk("VEVENT"))
    for event, line in zip(events, event_lines):
        _check_event(event, source, line)
    for warning in warnings:
        log.warning("%s", warning)
    return ParsedCalendar(calendar, event_lines, warnings)

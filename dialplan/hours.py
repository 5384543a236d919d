"""Opening hours, holidays and special days of a tenant → `OpeningHours`.

Format (all in the tenant's `timezone`):
    hours: {mon-fri: "08:00-16:00", sat: ["10:00-12:00", "13:00-14:00"], sun: closed}
    hours: always                      # open around the clock (then no holidays/special days)
    holidays: norway | [2026-12-31, ...] | {calendar: norway, dates: [...]}
    special_days: {2026-12-24: "09:00-12:00", "12-31": closed}   # MM-DD = every year
Rules: a range is HH:MM-HH:MM with start < end (24:00 allowed as an end); ranges of one
day must not overlap; a weekday may be given once; days not given are closed. Special
days override both the week and the holidays. Yearly dates and holiday calendars are
expanded over the `years` the loader passes in.
"""
from __future__ import annotations

import re
from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from dialplan import yamlnodes as y
from dialplan.holidays import CALENDARS, calendar_days
from engine.config import OpeningHours, TimeRange

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_YEARLY = re.compile(r"^(\d{2})-(\d{2})$")


def parse_time(ctx, node, raw: str, what: str):
    match = _TIME.match(raw.strip())
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        ctx.at(node, "bad-time", f"{what}: {raw!r} is not a time of day", "HH:MM from 00:00 to 24:00")
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    return time.max if hour == 24 else time(hour, minute)


def parse_ranges(ctx, node, what: str):
    """`closed`, one "HH:MM-HH:MM" or a list of them → sorted tuple of TimeRange, or None."""
    if isinstance(node, yaml.ScalarNode) and node.value.strip().lower() == "closed":
        return ()
    entries = y.text_list(ctx, node, what)
    if entries is None:
        return None
    ranges, ok = [], True
    for item_node, raw in entries:
        start_text, sep, end_text = raw.partition("-")
        if not sep:
            ctx.at(item_node, "bad-time", f"{what}: {raw!r} is not a time range", "HH:MM-HH:MM or closed")
            ok = False
            continue
        start = parse_time(ctx, item_node, start_text, what)
        end = parse_time(ctx, item_node, end_text, what)
        if start is None or end is None:
            ok = False
        elif start == time.max or start >= end:
            ctx.at(item_node, "bad-time", f"{what}: {raw!r} ends before it starts",
                   "a start earlier than the end (ranges do not cross midnight: split them)")
            ok = False
        else:
            ranges.append((item_node, TimeRange(start, end)))
    ranges.sort(key=lambda pair: pair[1].start)
    for (_, before), (later_node, after) in zip(ranges, ranges[1:]):
        if after.start < before.end:
            ctx.at(later_node, "overlap", f"{what}: {after.start:%H:%M}-{_end(after)} overlaps "
                   f"{before.start:%H:%M}-{_end(before)}", "ranges of one day that do not overlap")
            ok = False
    return tuple(r for _, r in ranges) if ok else None


def _end(r: TimeRange) -> str:
    return "24:00" if r.end == time.max else f"{r.end:%H:%M}"


def parse_days(ctx, key_node) -> list[int] | None:
    """`mon`, `mon-fri`, `sat,sun` → weekday numbers (0 = Monday)."""
    out = []
    for part in key_node.value.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            ctx.at(key_node, "bad-day", f"{key_node.value!r} is not a weekday or weekday range",
                   "mon, tue, wed, thu, fri, sat, sun, a range like mon-fri or a list like sat,sun")
            return None
        start, end = DAYS.index(first), DAYS.index(last or first)
        if end < start:
            ctx.at(key_node, "bad-day", f"{key_node.value!r} runs backwards", "a range like mon-fri")
            return None
        out.extend(range(start, end + 1))
    return out


def parse_week(ctx, node):
    entries = y.items(ctx, node, "hours")
    if entries is None:
        return None
    weekly, seen = {}, {}
    for key_node, value_node in entries:
        days = parse_days(ctx, key_node)
        ranges = parse_ranges(ctx, value_node, f"hours {key_node.value}")
        for day in days or ():
            if day in seen:
                ctx.at(key_node, "duplicate", f"{DAYS[day]} is given twice in hours (also line {seen[day]})",
                       "each weekday once")
            seen[day] = key_node.start_mark.line + 1
            if ranges:
                weekly[day] = ranges
    return weekly


def parse_date(ctx, node, raw: str, years: range):
    """`YYYY-MM-DD` → [date]; `MM-DD` → that day in each year of `years`."""
    try:
        if match := _DATE.fullmatch(raw):
            return [date(*map(int, match.groups()))]
        if match := _YEARLY.fullmatch(raw):
            month, day = map(int, match.groups())
            date(2000, month, day)  # validates (2000 is a leap year, so 02-29 passes)
            return [date(year, month, day) for year in years if month != 2 or day != 29 or year % 4 == 0]
    except ValueError:
        pass
    ctx.at(node, "bad-date", f"{raw!r} is not a date", "YYYY-MM-DD, or MM-DD for every year")
    return None


def parse_holidays(ctx, node, years: range) -> frozenset[date]:
    days: set[date] = set()
    if isinstance(node, yaml.ScalarNode):
        calendars, dates = [node], []
    elif isinstance(node, yaml.MappingNode):
        m = y.mapping(ctx, node, "holidays", ("calendar", "dates")) or {}
        calendars = [m["calendar"][1]] if "calendar" in m else []
        dates = (y.sequence(ctx, m["dates"][1], "holidays dates") or []) if "dates" in m else []
    else:
        calendars, dates = [], y.sequence(ctx, node, "holidays") or []
    for cal_node in calendars:
        name = y.scalar(ctx, cal_node, "holiday calendar")
        if name is not None and name not in CALENDARS:
            ctx.at(cal_node, "unknown-calendar", f"no holiday calendar named {name!r}", "one of: " + ", ".join(CALENDARS))
        elif name is not None:
            days |= calendar_days(name, years)
    for date_node in dates:
        raw = y.scalar(ctx, date_node, "a holiday")
        days.update(parse_date(ctx, date_node, raw, years) or () if raw is not None else ())
    return frozenset(days)


def parse_special(ctx, node, years: range):
    special = {}
    for key_node, value_node in y.items(ctx, node, "special_days") or ():
        dates = parse_date(ctx, key_node, key_node.value, years)
        ranges = parse_ranges(ctx, value_node, f"special day {key_node.value}")
        for day in dates or ():
            if day in special:
                ctx.at(key_node, "duplicate", f"special day {day} is given twice", "each date once")
            if ranges is not None:
                special[day] = ranges
    return special


def check_timezone(ctx, node, name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        ctx.at(node, "bad-timezone", f"unknown time zone {name!r}", "an IANA name like Europe/Oslo")
        return False


def opening_hours(ctx, entries: dict, timezone: str, years: range) -> OpeningHours:
    """Build the tenant's OpeningHours from its `hours`, `holidays`, `special_days` entries."""
    hours_node = entries.get("hours", (None, None))[1]
    always = hours_node is None or (isinstance(hours_node, yaml.ScalarNode)
                                    and hours_node.value.strip().lower() == "always")
    if always:
        for key in ("holidays", "special_days"):
            if key in entries:
                ctx.at(entries[key][0], "conflict", f"{key} is given but the tenant is always open",
                       "weekly hours (hours: {mon-fri: \"08:00-16:00\"}) or no " + key)
        return OpeningHours(timezone=timezone, always_open=True)
    weekly = parse_week(ctx, hours_node) or {}
    holidays = parse_holidays(ctx, entries["holidays"][1], years) if "holidays" in entries else frozenset()
    special = parse_special(ctx, entries["special_days"][1], years) if "special_days" in entries else {}
    return OpeningHours(timezone=timezone, weekly=weekly, holidays=holidays, special=special)

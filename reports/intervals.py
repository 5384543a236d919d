"""Local report intervals (Europe/Oslo) made of quarter-hours (docs/metrics.md, "Interval").

Rules:
* figures are kept per quarter-hour, named by the UTC instant it starts (`quarter`);
  Norway's offsets are whole hours, so a local quarter-hour starts on the same instant as
  a UTC one;
* hours, days, weeks (Monday first) and months are unions of quarter-hours in local time
  (ZONE): a local day has 96 quarter-hours, 92 on the spring DST day and 100 on the autumn
  one, whose repeated hour 02:00-03:00 is two distinct hours (fold);
* an interval start (`bucket`, `buckets`, and `parse_local`'s result) is an aware datetime
  in local wall time that carries the fixed UTC offset in force at that instant
  (datetime.timezone, named CET/CEST), not ZONE itself: datetimes sharing one ZoneInfo
  compare, hash and subtract by wall time, so the autumn 02:00+02:00 and 02:00+01:00
  would be one dict key; with fixed offsets every interval start is its own instant;
* `buckets` lists every interval that overlaps [start, end), in order: the first is the
  interval containing `start` (so every quarter-hour of the period is in exactly one);
  none when end <= start;
* times must be aware (naive ones are refused); a time typed without an offset is local
  time: one that does not exist locally (the hour skipped in spring) is refused, an
  ambiguous one (the hour repeated in autumn) is the first of the two;
* every error a user can cause is a reports.errors.BadPeriod with a message for the CLI.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from reports.errors import BadPeriod

ZONE = ZoneInfo("Europe/Oslo")
RESOLUTIONS = ("15m", "1h", "1d", "1w", "1mo")
QUARTER = timedelta(minutes=15)
MAX_DAYS = 3700
_STEPS = {"15m": QUARTER, "1h": timedelta(hours=1)}


def parse_resolution(text: str) -> str:
    """One of RESOLUTIONS, as typed on the command line (case and spaces ignored)."""
    value = text.strip().lower()
    if value not in RESOLUTIONS:
        raise BadPeriod(f"unknown resolution {text!r}: use one of {', '.join(RESOLUTIONS)}")
    return value


def quarter(at: datetime) -> datetime:
    """The UTC start of the quarter-hour containing the aware `at`."""
    utc = _utc(at, "time")
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)


def bucket(quarter_start_utc: datetime, resolution: str) -> datetime:
    """The local start of the `resolution` interval containing that quarter-hour."""
    _known(resolution)
    local = quarter(quarter_start_utc).astimezone(ZONE)
    if resolution == "15m":
        return _fixed(local)
    if resolution == "1h":
        return _fixed(local.replace(minute=0))          # keeps fold: the repeated 02:00 stays apart
    day = local.date()
    if resolution == "1w":
        day -= timedelta(days=day.weekday())
    elif resolution == "1mo":
        day = day.replace(day=1)
    return _midnight(day)


def buckets(start: datetime, end: datetime, resolution: str) -> list[datetime]:
    """The local start of every `resolution` interval overlapping [start, end), in order."""
    _known(resolution)
    lo, hi = _utc(start, "--from"), _utc(end, "--to")
    out: list[datetime] = []
    current = bucket(lo, resolution)
    while lo < hi and current < hi:
        out.append(current)
        current = _following(current, resolution)
    return out


def check_period(start: datetime, end: datetime, now: datetime, max_days: int = MAX_DAYS) -> None:
    """BadPeriod unless [start, end) is a period a report can be made of at `now`."""
    lo, hi, current = _utc(start, "--from"), _utc(end, "--to"), _utc(now, "now")
    if hi < lo:
        raise BadPeriod(f"--to is before --from ({_show(end)} is before {_show(start)})")
    if hi == lo:
        raise BadPeriod(f"--to is the same time as --from ({_show(start)}): the period is empty")
    if lo > current:
        raise BadPeriod(f"--from is in the future ({_show(start)}; it is now {_show(now)})")
    if hi - lo > timedelta(days=max_days):
        raise BadPeriod(f"the period from {_show(start)} to {_show(end)} is {(hi - lo).days} days long: "
                        f"at most {max_days} days")


def parse_local(text: str) -> datetime:
    """An ISO 8601 date or date and time from the command line; without an offset it is
    local time (Europe/Oslo), and a date is its local midnight."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadPeriod(f"{text!r} is not a date or a time: use ISO 8601, e.g. 2026-03-29, "
                        f"2026-03-29T08:15 (local time, Europe/Oslo) or 2026-03-29T06:15Z") from None
    if parsed.tzinfo is not None:
        return _fixed(parsed.astimezone(ZONE))
    local = parsed.replace(tzinfo=ZONE)
    if local.astimezone(timezone.utc).astimezone(ZONE).replace(tzinfo=None) != parsed:
        raise BadPeriod(f"{text!r} does not exist in Europe/Oslo (the clocks skip that hour): "
                        f"give a time after the change or an offset")
    return _fixed(local)


def _known(resolution: str) -> None:
    if resolution not in RESOLUTIONS:
        raise BadPeriod(f"unknown resolution {resolution!r}: use one of {', '.join(RESOLUTIONS)}")


def _utc(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise BadPeriod(f"{what} {at.isoformat()} has no time zone")
    return at.astimezone(timezone.utc)


def _fixed(local: datetime) -> datetime:
    """The same instant and wall time, with the offset in force instead of ZONE."""
    return local.replace(tzinfo=timezone(local.utcoffset(), local.tzname()), fold=0)


def _midnight(day: date) -> datetime:
    return _fixed(datetime.combine(day, time(), ZONE))


def _following(start: datetime, resolution: str) -> datetime:
    if resolution in _STEPS:                             # whole-hour offsets: a fixed step in UTC
        return _fixed((start + _STEPS[resolution]).astimezone(ZONE))
    day = start.date()                                   # its local date: `start` is local wall time
    if resolution == "1d":
        return _midnight(day + timedelta(days=1))
    if resolution == "1w":
        return _midnight(day + timedelta(days=7))
    return _midnight(date(day.year + day.month // 12, day.month % 12 + 1, 1))


def _show(at: datetime) -> str:
    return at.astimezone(ZONE).isoformat(sep=" ")

"""Local report intervals: quarter-hours rolled up into local hours, days, weeks and months,
right on the days the clocks change (Europe/Oslo: 2026-03-29 and 2026-10-25)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.errors import BadPeriod
from reports.intervals import (RESOLUTIONS, ZONE, bucket, buckets, check_period, parse_local, parse_resolution,
                               quarter)

UTC = timezone.utc
SPRING = date(2026, 3, 29)          # 02:00 -> 03:00
AUTUMN = date(2026, 10, 25)         # 03:00 -> 02:00
ORDINARY = date(2026, 6, 15)


def day(d: date) -> tuple[datetime, datetime]:
    return parse_local(d.isoformat()), parse_local((d + timedelta(days=1)).isoformat())


def quarters(start: datetime, end: datetime) -> list[datetime]:
    """Every quarter-hour of [start, end), walked in UTC (independently of buckets)."""
    q, out = quarter(start), []
    while q < end:
        out.append(q)
        q += timedelta(minutes=15)
    return out


def wall(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M%z")


# --- resolutions -------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [("15m", "15m"), (" 1H ", "1h"), ("1d", "1d"), ("1W", "1w"),
                                            ("1mo", "1mo")])
def test_parse_resolution_accepts_the_five(text, expected):
    assert parse_resolution(text) == expected


@pytest.mark.parametrize("text", ["", "15", "1m", "1y", "30m", "1 h", "month"])
def test_parse_resolution_refuses_others_naming_the_choices(text):
    with pytest.raises(BadPeriod) as err:
        parse_resolution(text)
    assert isinstance(err.value, ValueError)
    assert repr(text) in str(err.value) and "15m, 1h, 1d, 1w, 1mo" in str(err.value)


def test_bucket_and_buckets_refuse_an_unknown_resolution():
    at = datetime(2026, 1, 5, tzinfo=UTC)
    with pytest.raises(BadPeriod):
        bucket(at, "1y")
    with pytest.raises(BadPeriod):
        buckets(at, at + timedelta(days=1), "30m")


# --- quarter -----------------------------------------------------------------------------

@pytest.mark.parametrize("at, expected", [
    (datetime(2026, 6, 15, 8, 14, 59, 999999, tzinfo=ZONE), datetime(2026, 6, 15, 6, 0, tzinfo=UTC)),
    (datetime(2026, 6, 15, 8, 15, tzinfo=ZONE), datetime(2026, 6, 15, 6, 15, tzinfo=UTC)),
    (datetime(2026, 1, 15, 23, 59, tzinfo=ZONE), datetime(2026, 1, 15, 22, 45, tzinfo=UTC)),
    (datetime(2026, 10, 25, 0, 31, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
])
def test_quarter_is_the_utc_start_of_the_quarter_hour(at, expected):
    got = quarter(at)
    assert got == expected and got.utcoffset() == timedelta(0)


def test_quarter_refuses_a_naive_time():
    with pytest.raises(BadPeriod, match="no time zone"):
        quarter(datetime(2026, 6, 15, 8, 0))
    with pytest.raises(BadPeriod):
        bucket(datetime(2026, 6, 15, 8, 0), "1h")
    with pytest.raises(BadPeriod):
        buckets(datetime(2026, 6, 15), datetime(2026, 6, 16, tzinfo=UTC), "1d")


# --- days with and without a clock change ------------------------------------------------

@pytest.mark.parametrize("d, expected", [(ORDINARY, 96), (SPRING, 92), (AUTUMN, 100)])
def test_a_local_day_has_96_quarters_92_in_spring_100_in_autumn(d, expected):
    start, end = day(d)
    got = buckets(start, end, "15m")
    assert len(got) == expected
    assert len({b.timestamp() for b in got}) == expected
    assert len(set(got)) == expected                      # distinct as dict keys too
    assert [b.astimezone(UTC) for b in got] == quarters(start, end)
    assert all(b.astimezone(ZONE).date() == d for b in got)


@pytest.mark.parametrize("d, expected", [(ORDINARY, 24), (SPRING, 23), (AUTUMN, 25)])
def test_a_local_day_has_24_hours_23_in_spring_25_in_autumn(d, expected):
    start, end = day(d)
    got = buckets(start, end, "1h")
    assert len(got) == expected and len(set(got)) == expected
    assert all(b.minute == 0 for b in got)
    assert all(later - earlier == timedelta(hours=1) for earlier, later in zip(got, got[1:]))
    assert buckets(start, end, "1d") == [start]


def test_the_spring_day_skips_two_oclock():
    start, end = day(SPRING)
    walls = [wall(b) for b in buckets(start, end, "15m")]
    assert "2026-03-29 01:45+0100" in walls and "2026-03-29 03:00+0200" in walls
    assert walls.index("2026-03-29 03:00+0200") == walls.index("2026-03-29 01:45+0100") + 1
    assert not [w for w in walls if w[11:13] == "02"]


def test_the_autumn_day_has_two_oclock_twice_as_distinct_instants():
    start, end = day(AUTUMN)
    hours = buckets(start, end, "1h")
    twos = [b for b in hours if b.hour == 2]
    assert [wall(b) for b in twos] == ["2026-10-25 02:00+0200", "2026-10-25 02:00+0100"]
    assert twos[1] - twos[0] == timedelta(hours=1) and twos[0] != twos[1]
    quarters_of_two = [wall(b) for b in buckets(start, end, "15m") if b.hour == 2]
    assert quarters_of_two == [f"2026-10-25 02:{m:02d}+0200" for m in (0, 15, 30, 45)] + \
        [f"2026-10-25 02:{m:02d}+0100" for m in (0, 15, 30, 45)]
    # a quarter in each 02:xx hour lands in its own hour
    assert bucket(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "1h") == twos[0]
    assert bucket(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "1h") == twos[1]
    assert bucket(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "15m").timestamp() == \
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("d", [SPRING, AUTUMN, ORDINARY])
def test_every_quarter_of_a_day_is_in_that_days_bucket(d):
    start, end = day(d)
    day_quarters = quarters(start, end)
    assert {bucket(q, "1d") for q in day_quarters} == {start}
    assert bucket(day_quarters[0] - timedelta(minutes=15), "1d") == day(d - timedelta(days=1))[0]
    assert bucket(end, "1d") == end


def test_bucket_starts_are_local_wall_time_with_the_offset_in_force():
    winter = bucket(datetime(2026, 1, 15, 12, 7, tzinfo=UTC), "1h")
    summer = bucket(datetime(2026, 7, 15, 12, 7, tzinfo=UTC), "1h")
    assert (wall(winter), wall(summer)) == ("2026-01-15 13:00+0100", "2026-07-15 14:00+0200")
    assert winter.tzname() == "CET" and summer.tzname() == "CEST"
    assert winter.utcoffset() == winter.astimezone(ZONE).utcoffset()


# --- weeks and months --------------------------------------------------------------------

def test_weeks_start_on_monday_local_midnight_across_the_clock_changes():
    start, end = parse_local("2026-03-01"), parse_local("2026-11-15")
    weeks = buckets(start, end, "1w")
    assert weeks[0] == parse_local("2026-02-23")          # the week that contains 1 March (a Sunday)
    assert all(w.weekday() == 0 and (w.hour, w.minute) == (0, 0) for w in weeks)
    assert all(w.astimezone(ZONE).weekday() == 0 and w.astimezone(ZONE).hour == 0 for w in weeks)
    assert len(weeks) == 38
    lengths = {following - w for w, following in zip(weeks, weeks[1:])}
    assert lengths == {timedelta(days=7), timedelta(days=7, hours=-1), timedelta(days=7, hours=1)}
    sunday_night = parse_local("2026-03-29T23:59")
    assert bucket(sunday_night, "1w") == parse_local("2026-03-23")
    assert bucket(parse_local("2026-03-30T00:00"), "1w") == parse_local("2026-03-30")


def test_a_year_has_twelve_month_buckets():
    months = buckets(parse_local("2026-01-01"), parse_local("2027-01-01"), "1mo")
    assert [(m.year, m.month, m.day, m.hour) for m in months] == [(2026, n, 1, 0) for n in range(1, 13)]
    assert [m.utcoffset() for m in months] == [timedelta(hours=1)] * 3 + [timedelta(hours=2)] * 7 + \
        [timedelta(hours=1)] * 2


def test_months_follow_local_time_not_utc():
    # 2026-12-31 23:00 UTC is New Year's midnight in Oslo; 2026-03-31 22:30 UTC is 1 April 00:30
    assert bucket(datetime(2026, 12, 31, 23, 0, tzinfo=UTC), "1mo") == parse_local("2027-01-01")
    assert bucket(datetime(2026, 12, 31, 22, 45, tzinfo=UTC), "1mo") == parse_local("2026-12-01")
    assert bucket(datetime(2026, 3, 31, 22, 30, tzinfo=UTC), "1mo") == parse_local("2026-04-01")
    assert bucket(datetime(2026, 3, 31, 22, 30, tzinfo=UTC), "1d") == parse_local("2026-04-01")


def test_buckets_start_with_the_interval_containing_start():
    start, end = parse_local("2026-06-15T08:07"), parse_local("2026-06-15T10:00")
    assert [wall(b) for b in buckets(start, end, "1h")] == ["2026-06-15 08:00+0200", "2026-06-15 09:00+0200"]
    assert [wall(b) for b in buckets(start, parse_local("2026-06-15T10:01"), "1h")][-1] == "2026-06-15 10:00+0200"
    assert buckets(end, start, "1h") == [] and buckets(start, start, "15m") == []


# --- periods -----------------------------------------------------------------------------

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def test_check_period_accepts_a_past_period_and_one_running_into_the_future():
    check_period(parse_local("2026-06-01"), parse_local("2026-06-02"), NOW)
    check_period(parse_local("2026-06-15"), parse_local("2026-06-16"), NOW)
    check_period(NOW, NOW + timedelta(minutes=15), NOW)
    check_period(NOW - timedelta(days=3700), NOW, NOW)


@pytest.mark.parametrize("start, end, now, message", [
    (parse_local("2026-06-02"), parse_local("2026-06-01"), NOW, "--to is before --from"),
    (parse_local("2026-06-02"), parse_local("2026-06-02"), NOW, "the period is empty"),
    (parse_local("2026-06-16"), parse_local("2026-06-17"), NOW, "--from is in the future"),
    (NOW - timedelta(days=3700, seconds=1), NOW, NOW, "at most 3700 days"),
    (datetime(2026, 6, 1), parse_local("2026-06-02"), NOW, "no time zone"),
    (parse_local("2026-06-01"), datetime(2026, 6, 2), NOW, "no time zone"),
    (parse_local("2026-06-01"), parse_local("2026-06-02"), datetime(2026, 6, 15), "no time zone"),
])
def test_check_period_refuses(start, end, now, message):
    with pytest.raises(BadPeriod, match=message):
        check_period(start, end, now)


def test_check_period_max_days_is_a_parameter():
    check_period(NOW - timedelta(days=7), NOW, NOW, max_days=7)
    with pytest.raises(BadPeriod, match="8 days long: at most 7 days"):
        check_period(NOW - timedelta(days=8), NOW, NOW, max_days=7)


# --- times from the command line ---------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2026-01-15", "2026-01-15 00:00+0100"),
    ("2026-07-15", "2026-07-15 00:00+0200"),
    (" 2026-07-15T08:15 ", "2026-07-15 08:15+0200"),
    ("2026-07-15 08:15", "2026-07-15 08:15+0200"),
    ("2026-07-15T06:15Z", "2026-07-15 08:15+0200"),
    ("2026-07-15T08:15+00:00", "2026-07-15 10:15+0200"),
    ("2026-03-29T03:00", "2026-03-29 03:00+0200"),
    ("2026-10-25T02:30", "2026-10-25 02:30+0200"),    # the repeated hour: the first of the two
    ("2026-10-25T02:30+01:00", "2026-10-25 02:30+0100"),
])
def test_parse_local(text, expected):
    got = parse_local(text)
    assert wall(got) == expected
    assert got.utcoffset() == got.astimezone(ZONE).utcoffset()


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "2026-02-30", "15.06.2026", "2026-06-15T25:00"])
def test_parse_local_refuses_what_is_not_iso_naming_the_text(text):
    with pytest.raises(BadPeriod) as err:
        parse_local(text)
    assert repr(text) in str(err.value) and "ISO 8601" in str(err.value)


def test_parse_local_refuses_a_time_the_spring_change_skips():
    with pytest.raises(BadPeriod, match="does not exist in Europe/Oslo"):
        parse_local("2026-03-29T02:30")


# --- properties --------------------------------------------------------------------------

CHANGES = [datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
           datetime(2027, 3, 28, 1, 0, tzinfo=UTC), datetime(2026, 12, 31, 23, 0, tzinfo=UTC)]
starts = st.one_of(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2032, 1, 1), timezones=st.just(UTC)),
    st.builds(lambda change, minutes: change + timedelta(minutes=minutes),
              st.sampled_from(CHANGES), st.integers(-3 * 24 * 60, 3 * 24 * 60)),
)


@settings(max_examples=60, deadline=None)
@given(start=starts, minutes=st.integers(1, 50 * 24 * 60), resolution=st.sampled_from(RESOLUTIONS))
def test_every_quarter_of_a_period_is_in_exactly_one_bucket(start, minutes, resolution):
    end = start + timedelta(minutes=minutes)
    got = buckets(start, end, resolution)
    assert got and got[0] <= start < (got[1] if len(got) > 1 else end + timedelta(days=32))
    assert all(earlier < later for earlier, later in zip(got, got[1:]))
    assert len({b.timestamp() for b in got}) == len(got) == len(set(got))
    assert all(b.utcoffset() == b.astimezone(ZONE).utcoffset() for b in got)
    if resolution == "15m":
        assert all(later - earlier == timedelta(minutes=15) for earlier, later in zip(got, got[1:]))
        assert [b.astimezone(UTC) for b in got] == quarters(start, end)
    index = {b: n for n, b in enumerate(got)}
    for q in quarters(start, end):
        b = bucket(q, resolution)
        n = index[b]                                  # in the list, once: the starts are distinct
        assert b <= q and (n + 1 == len(got) or q < got[n + 1])
        local = q.astimezone(ZONE)
        if resolution in ("1d", "1w", "1mo"):
            assert (b.hour, b.minute) == (0, 0) and b.date() <= local.date()
        if resolution == "1d":
            assert b.date() == local.date()
        elif resolution == "1w":
            assert b.weekday() == 0 and local.date() - b.date() < timedelta(days=7)
        elif resolution == "1mo":
            assert (b.year, b.month, b.day) == (local.year, local.month, 1)
        elif resolution == "1h":
            assert q - b < timedelta(hours=1) and b.minute == 0

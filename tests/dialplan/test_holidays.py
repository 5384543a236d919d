"""Norwegian public holidays computed from Easter."""
from __future__ import annotations

from datetime import date

import pytest

from dialplan.holidays import calendar_days, easter_sunday, norway


@pytest.mark.parametrize("year, easter", [(1961, date(1961, 4, 2)), (2000, date(2000, 4, 23)),
                                          (2019, date(2019, 4, 21)), (2024, date(2024, 3, 31)),
                                          (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)),
                                          (2038, date(2038, 4, 25)), (2285, date(2285, 3, 22))])
def test_easter_sunday(year, easter):
    assert easter_sunday(year) == easter


def test_norway_2026_has_its_twelve_holidays_in_order():
    days = norway(2026)
    assert [d.isoformat() for d in days] == [
        "2026-01-01", "2026-04-02", "2026-04-03", "2026-04-05", "2026-04-06", "2026-05-01",
        "2026-05-14", "2026-05-17", "2026-05-24", "2026-05-25", "2026-12-25", "2026-12-26"]
    assert days[date(2026, 5, 14)] == "Kristi himmelfartsdag"


def test_moving_feasts_may_coincide_with_fixed_ones():
    # 2008: Ascension Day fell on 1 May; the set has no duplicates, so 11 distinct days
    assert len(norway(2008)) == 11 and date(2008, 5, 1) in norway(2008)


def test_calendar_days_cover_the_years_asked():
    days = calendar_days("norway", range(2025, 2028))
    # 36 minus one: in 2027 Whit Monday is 17 May
    assert {d.year for d in days} == {2025, 2026, 2027} and len(days) == 35
    assert norway(2027)[date(2027, 5, 17)] == "Grunnlovsdag"

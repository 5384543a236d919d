"""Norwegian public holidays (the `holidays` library, Norwegian names)."""
from __future__ import annotations

from datetime import date

import pytest

from dialplan.holidays import calendar_days, norway


@pytest.mark.parametrize("year, easter", [(1961, date(1961, 4, 2)), (2000, date(2000, 4, 23)),
                                          (2019, date(2019, 4, 21)), (2024, date(2024, 3, 31)),
                                          (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)),
                                          (2038, date(2038, 4, 25))])
def test_easter_sunday_and_monday(year, easter):
    days = norway(year)
    assert days[easter] == "Første påskedag" and days[date.fromordinal(easter.toordinal() + 1)] == "Andre påskedag"


def test_norway_2026_has_its_twelve_holidays_in_order():
    days = norway(2026)
    assert [d.isoformat() for d in days] == [
        "2026-01-01", "2026-04-02", "2026-04-03", "2026-04-05", "2026-04-06", "2026-05-01",
        "2026-05-14", "2026-05-17", "2026-05-24", "2026-05-25", "2026-12-25", "2026-12-26"]
    assert days[date(2026, 5, 14)] == "Kristi himmelfartsdag"
    assert date(2026, 4, 12) not in days                    # a Sunday, not a holiday


def test_moving_feasts_may_coincide_with_fixed_ones():
    # 2008: Ascension Day fell on 1 May; the set has no duplicates, so 11 distinct days
    assert len(norway(2008)) == 11 and date(2008, 5, 1) in norway(2008)


def test_calendar_days_cover_the_years_asked():
    days = calendar_days("norway", range(2025, 2028))
    # 36 minus one: in 2027 Whit Monday is 17 May
    assert {d.year for d in days} == {2025, 2026, 2027} and len(days) == 35
    # a day that is two holidays carries both names (the library joins them)
    assert norway(2027)[date(2027, 5, 17)] == "Andre pinsedag; Grunnlovsdag"

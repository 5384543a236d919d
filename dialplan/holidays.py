"""Public-holiday calendars by name, from the `holidays` library (rules, no data files
to go stale; the library is pinned in setup.cfg).

Norway (lov om helligdager og helligdagsfred, plus 1 and 17 May): New Year's Day,
Maundy Thursday, Good Friday, Easter Sunday and Monday, Labour Day (1 May),
Constitution Day (17 May), Ascension Day, Whit Sunday and Monday, Christmas Day and
Boxing Day, with their Norwegian names. Sundays are not listed as holidays (the
library can, `include_sundays`): weekly opening hours already decide Sundays. The
library covers 1901-2100 (the loader asks for this year - 1 to + 10); a day that is two
holidays carries both names joined by "; ".
"""
from __future__ import annotations

from datetime import date

import holidays


def norway(year: int) -> dict[date, str]:
    days = holidays.Norway(years=year, language="no", include_sundays=False)
    return dict(sorted(days.items()))


CALENDARS = {"norway": norway}


def calendar_days(name: str, years: range) -> frozenset[date]:
    rule = CALENDARS[name]
    return frozenset(day for year in years for day in rule(year))

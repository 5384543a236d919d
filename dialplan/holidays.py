"""Public-holiday calendars computed from rules (no data files to go stale).

Norway (lov om helligdager og helligdagsfred, plus 1 and 17 May): New Year's Day,
Maundy Thursday, Good Friday, Easter Sunday and Monday, Labour Day (1 May),
Constitution Day (17 May), Ascension Day (Easter + 39), Whit Sunday and Monday
(Easter + 49, + 50), Christmas Day and Boxing Day. Easter by the anonymous Gregorian
algorithm (Meeus/Jones/Butcher).
"""
from __future__ import annotations

from datetime import date, timedelta


def easter_sunday(year: int) -> date:
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * j) // 451
    month, day = divmod(h + j - 7 * m + 114, 31)
    return date(year, month, day + 1)


def norway(year: int) -> dict[date, str]:
    easter = easter_sunday(year)
    moving = {-3: "Skjærtorsdag", -2: "Langfredag", 0: "Første påskedag", 1: "Andre påskedag",
              39: "Kristi himmelfartsdag", 49: "Første pinsedag", 50: "Andre pinsedag"}
    days = {easter + timedelta(days=offset): name for offset, name in moving.items()}
    days.update({date(year, 1, 1): "Første nyttårsdag", date(year, 5, 1): "Offentlig høytidsdag",
                 date(year, 5, 17): "Grunnlovsdag", date(year, 12, 25): "Første juledag",
                 date(year, 12, 26): "Andre juledag"})
    return dict(sorted(days.items()))


CALENDARS = {"norway": norway}


def calendar_days(name: str, years: range) -> frozenset[date]:
    rule = CALENDARS[name]
    return frozenset(day for year in years for day in rule(year))

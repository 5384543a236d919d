"""Which absence an event means: reason category and privacy (pure rules, in order).

1. STATUS:CANCELLED → no absence, whatever busy status the organiser's client left on it.
2. The busy status (X-MICROSOFT-CDO-BUSYSTATUS, else -INTENDEDSTATUS; Graph `showAs`),
   when present, wins over TRANSP and STATUS:
   FREE → no absence; WORKINGELSEWHERE → no absence (the person works, from elsewhere,
   and is reached on their usual numbers: nothing for the switchboard to tell);
   TENTATIVE → TENTATIVE; OOF → out of office (rule 5 may name the reason);
   BUSY → rules 4-6. An unknown value counts as absent.
3. Without a busy status: TRANSP:TRANSPARENT → no absence; STATUS:TENTATIVE (Thunderbird,
   Google, Apple) → TENTATIVE.
   TENTATIVE ("maybe in a meeting") is a busy state for presence, never "absent"; it
   keeps its category even when the subject names a reason ("Ferie?" stays tentative).
4. Private (CLASS:PRIVATE or CONFIDENTIAL, Graph sensitivity private/confidential):
   category BUSY, subject never kept — except an explicit out-of-office busy status,
   which stays OUT_OF_OFFICE, and a tentative event, which stays TENTATIVE (neither
   reveals the subject).
5. Keywords in CATEGORIES, then in SUMMARY (Norwegian and English, whole words,
   case-insensitive; Norwegian reason words also as the tail of a compound, "påskeferie"): vacation, sick, course, travel, out of office, meeting.
6. No keyword: BUSYSTATUS OOF → OUT_OF_OFFICE; an all-day (or ≥ 1 day) busy event →
   OUT_OF_OFFICE; any other busy event → MEETING.
The same rules serve iCalendar, CalDAV, Graph and Domino (their adapters map their
fields onto `EventTraits`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from engine.directory.model import AbsenceCategory

_KEYWORDS: tuple[tuple[AbsenceCategory, tuple[str, ...]], ...] = (
    (AbsenceCategory.SICK, ("syk", "sykdom", "sykemelding", "sykemeldt", "sick", "illness",
                            "egenmelding", "sykt barn")),
    (AbsenceCategory.VACATION, ("ferie", "vacation", "holiday", "holidays", "avspasering",
                                "fri", "day off", "permisjon", "leave", "pto")),
    (AbsenceCategory.COURSE, ("kurs", "course", "training", "opplæring", "seminar",
                              "konferanse", "conference", "workshop")),
    (AbsenceCategory.TRAVEL, ("reise", "tjenestereise", "travel", "business trip", "trip")),
    (AbsenceCategory.OUT_OF_OFFICE, ("out of office", "ooo", "oof", "borte", "ikke til stede",
                                     "fravær", "away")),
    (AbsenceCategory.MEETING, ("møte", "mote", "meeting", "call", "lunsj", "lunch")),
)
# Norwegian compounds put the reason last ("påskeferie", "sommerkurs", "ledermøte"):
# these words also match at the end of a longer word.
_COMPOUND_TAILS = frozenset({"ferie", "kurs", "reise", "møte", "permisjon", "fravær", "sykdom"})


def _pattern(words: tuple[str, ...]) -> re.Pattern:
    alts = [(re.escape(w) if w in _COMPOUND_TAILS else r"(?<!\w)" + re.escape(w)) for w in words]
    return re.compile(r"(?:" + "|".join(alts) + r")(?!\w)", re.IGNORECASE)


_PATTERNS = tuple((cat, _pattern(words)) for cat, words in _KEYWORDS)
_BUSY_STATUSES = frozenset({"FREE", "TENTATIVE", "BUSY", "OOF", "WORKINGELSEWHERE"})


@dataclass(frozen=True)
class EventTraits:
    """What the classifier looks at, independent of the protocol."""

    summary: str = ""
    categories: tuple[str, ...] = ()
    status: str = ""                 # CONFIRMED / TENTATIVE / CANCELLED
    transparent: bool = False        # TRANSP:TRANSPARENT
    busy_status: str = ""            # FREE / TENTATIVE / BUSY / OOF / WORKINGELSEWHERE
    private: bool = False
    all_day: bool = False


@dataclass(frozen=True)
class Classification:
    category: AbsenceCategory
    private: bool


def keyword_category(text: str) -> AbsenceCategory | None:
    for category, pattern in _PATTERNS:
        if pattern.search(text or ""):
            return category
    return None


def classify(t: EventTraits) -> Classification | None:
    """The absence an event means, or None when it is no absence (rules in the docstring)."""
    status = t.status.upper()
    busy = t.busy_status.upper()
    if busy not in _BUSY_STATUSES:
        busy = ""
    if status == "CANCELLED":
        return None
    if busy in ("FREE", "WORKINGELSEWHERE") or (not busy and t.transparent):
        return None
    if busy == "TENTATIVE" or (not busy and status == "TENTATIVE"):
        return Classification(AbsenceCategory.TENTATIVE, t.private)
    if t.private:
        category = AbsenceCategory.OUT_OF_OFFICE if busy == "OOF" else AbsenceCategory.BUSY
        return Classification(category, True)
    for text in (" ".join(t.categories), t.summary):
        found = keyword_category(text)
        if found is not None:
            return Classification(found, False)
    if busy == "OOF" or t.all_day:
        return Classification(AbsenceCategory.OUT_OF_OFFICE, False)
    return Classification(AbsenceCategory.MEETING, False)


def traits_of_vevent(event) -> EventTraits:
    """Map an icalendar VEVENT (one occurrence) onto EventTraits."""
    cats: list[str] = []
    raw = event.get("CATEGORIES")
    for item in raw if isinstance(raw, list) else ([raw] if raw is not None else []):
        cats.extend(str(c) for c in getattr(item, "cats", [item]))
    busy = str(event.get("X-MICROSOFT-CDO-BUSYSTATUS") or event.get("X-MICROSOFT-CDO-INTENDEDSTATUS")
               or "").strip()
    klass = str(event.get("CLASS") or "").upper()
    start = event.get("DTSTART")
    all_day = start is not None and not hasattr(start.dt, "hour")
    return EventTraits(
        summary=str(event.get("SUMMARY") or ""),
        categories=tuple(cats),
        status=str(event.get("STATUS") or ""),
        transparent=str(event.get("TRANSP") or "").upper() == "TRANSPARENT",
        busy_status=busy,
        private=klass in ("PRIVATE", "CONFIDENTIAL"),
        all_day=all_day,
    )

"""iCalendar → absences: recurrence, zones, classification, privacy, and broken input."""
from __future__ import annotations

import pathlib
from datetime import datetime, timezone

import pytest

from engine.directory.model import AbsenceCategory as C
from sync.calendar.errors import CalendarSyntaxError, CalendarTooLarge
from sync.calendar.expand import Window, absences_from_ics
from sync.calendar.ics import Limits

DATA = pathlib.Path(__file__).parent / "data"
UTC = timezone.utc
MARCH_APRIL = Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def absences(text, window=MARCH_APRIL, **kw):
    return absences_from_ics(text, window, tenant="hdir", person_id="kari", source="ical:kari", **kw)


def wrap(*events: str) -> str:
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" + "".join(
        "BEGIN:VEVENT\r\n" + e.strip().replace("\n", "\r\n") + "\r\nEND:VEVENT\r\n" for e in events
    ) + "END:VCALENDAR\r\n"


def test_given_a_real_calendar_then_each_occurrence_becomes_one_classified_utc_interval():
    got = absences((DATA / "kari.ics").read_bytes())
    rows = [(a.start, a.end, a.category, a.subject, a.private) for a in got]
    assert rows == [
        # weekly meeting at 09:00 Oslo: CET (UTC+1) before 29 March, CEST (UTC+2) after
        (utc(2026, 3, 16, 8), utc(2026, 3, 16, 9), C.MEETING, "Avdelingsmøte", False),
        # Windows TZID, private: busy, subject never kept
        (utc(2026, 3, 17, 13), utc(2026, 3, 17, 14), C.BUSY, "", True),
        # STATUS:TENTATIVE: "maybe in a meeting", a busy state the operator sees
        (utc(2026, 3, 18, 10), utc(2026, 3, 18, 11), C.TENTATIVE, "Maybe", False),
        # all-day sick day: Oslo midnight to midnight
        (utc(2026, 3, 18, 23), utc(2026, 3, 19, 23), C.SICK, "Syk", False),
        # OOF busy status, but the keyword says what it is
        (utc(2026, 3, 20, 8), utc(2026, 3, 20, 15), C.COURSE, "Workshop in Bergen", False),
        # 23 March is an EXDATE; 30 March moved to 12:00 by a RECURRENCE-ID override
        (utc(2026, 3, 30, 10), utc(2026, 3, 30, 11), C.MEETING, "Avdelingsmøte (flyttet)", False),
        (utc(2026, 3, 31, 22), utc(2026, 4, 2, 22), C.VACATION, "Påskeferie", False),
        (utc(2026, 4, 6, 7), utc(2026, 4, 6, 8), C.MEETING, "Avdelingsmøte", False),
    ]
    moved = got[5]
    assert moved.external_id == "weekly-1@20260330T070000Z"   # keeps the original start as id


def test_free_and_cancelled_events_are_no_absence():
    text = wrap("UID:b\nDTSTART:20260310T100000Z\nDTEND:20260310T110000Z\nTRANSP:TRANSPARENT",
                "UID:c\nDTSTART:20260310T100000Z\nDTEND:20260310T110000Z\nSTATUS:CANCELLED",
                "UID:e\nDTSTART:20260310T100000Z\nDTEND:20260310T110000Z\nX-MICROSOFT-CDO-BUSYSTATUS:FREE")
    assert absences(text) == []


def test_endless_rrule_is_expanded_only_inside_the_window():
    text = wrap("UID:daily\nDTSTART;TZID=Europe/Oslo:20200101T080000\n"
                "DTEND;TZID=Europe/Oslo:20200101T081500\nRRULE:FREQ=DAILY\nSUMMARY:Standup")
    week = Window(utc(2026, 3, 2), utc(2026, 3, 9))
    got = absences(text, week)
    assert len(got) == 7 and got[0].start == utc(2026, 3, 2, 7) and got[-1].start == utc(2026, 3, 8, 7)


def test_too_many_occurrences_in_the_window_is_refused():
    text = wrap("UID:h\nDTSTART:20260101T000000Z\nDTEND:20260101T000500Z\nRRULE:FREQ=HOURLY")
    with pytest.raises(CalendarTooLarge, match="ical:kari: more than 100 occurrences"):
        absences(text, limits=Limits(max_occurrences=100))


@pytest.mark.parametrize("text, line, fragment", [
    (wrap("UID:a\nDTSTART:20260310T100000Z").replace("END:VEVENT\r\n", ""), 7,
     "END:VCALENDAR but BEGIN:VEVENT (line 4) is still open"),
    (wrap("UID:a\nDTSTART:20260310T100000Z").split("END:VEVENT")[0], 4,   # truncated download
     "BEGIN:VEVENT is never closed"),
    (wrap("UID:a\nDTSTART:2026XX10T100000\nDTEND:20260310T110000Z"), 4, "DTSTART"),
    (wrap("UID:ok\nDTSTART:20260310T100000Z\nDTEND:20260310T110000Z",
          "UID:b\nDTSTART;TZID=Mars/Olympus:20260310T100000\nDTEND;TZID=Mars/Olympus:20260310T110000"),
     9, "unknown time zone TZID='Mars/Olympus'"),
    (wrap("UID:a\nDTSTART:20260310T100000Z\nRRULE:FREQ=SECONDLY"), 4, "FREQ=SECONDLY"),
    ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VTODO\r\nEND:VCALENDAR\r\n", 3,
     "END:VTODO but BEGIN:VEVENT (line 2) is still open"),
])
def test_broken_icalendar_names_source_and_line(text, line, fragment):
    with pytest.raises((CalendarSyntaxError, CalendarTooLarge)) as caught:
        absences(text)
    assert caught.value.source == "ical:kari" and caught.value.line == line
    assert fragment in str(caught.value) and f"line {line}" in str(caught.value)


def test_a_10_mb_attachment_is_dropped_with_a_warning_and_the_event_kept():
    blob = "A" * (10 * 1024 * 1024)
    text = wrap(f"UID:a\nDTSTART:20260310T100000Z\nDTEND:20260310T110000Z\nSUMMARY:Kurs\n"
                f"ATTACH;ENCODING=BASE64;VALUE=BINARY:{blob}")
    got = absences(text)
    assert [(a.category, a.start) for a in got] == [(C.COURSE, utc(2026, 3, 10, 10))]


def test_an_oversized_summary_or_feed_is_refused():
    huge = wrap("UID:a\nDTSTART:20260310T100000Z\nSUMMARY:" + "x" * 300_000)
    with pytest.raises(CalendarTooLarge, match=r"ical:kari, line 7: SUMMARY value"):
        absences(huge)
    with pytest.raises(CalendarTooLarge, match="exceeds the limit of 1000"):
        absences(huge, limits=Limits(max_bytes=1000))


def test_not_utf8_names_the_line():
    text = wrap("UID:a\nDTSTART:20260310T100000Z\nSUMMARY:ok").encode() + b"X-BAD:\xff\xfe\r\n"
    with pytest.raises(CalendarSyntaxError, match="line 10: not UTF-8"):
        absences(text)


def test_fast_occurrence_path_gives_the_same_absences_as_the_public_api(monkeypatch):
    from sync.calendar import expand
    fast = absences((DATA / "kari.ics").read_bytes())
    assert expand.fast_occurrences(__import__("recurring_ical_events").of(
        __import__("icalendar").Calendar.from_ical((DATA / "kari.ics").read_bytes())), MARCH_APRIL)
    monkeypatch.setattr(expand, "fast_occurrences", lambda *args: None)
    assert absences((DATA / "kari.ics").read_bytes()) == fast


def test_history_outside_the_window_is_skipped_before_parsing_without_changing_results():
    from sync.calendar.expand import absences_of
    from sync.calendar.ics import parse_ics
    history = [f"UID:old{i}\nDTSTART:2025{1 + i % 12:02d}10T100000Z\nDTEND:2025{1 + i % 12:02d}10T110000Z\n"
               f"SUMMARY:Gammelt møte" for i in range(30)]
    text = wrap(*history, "UID:now\nDTSTART:20260310T100000Z\nDTEND:20260310T110000Z\nSUMMARY:Kurs",
                "UID:series\nDTSTART:20250105T100000Z\nDTEND:20250105T110000Z\nRRULE:FREQ=MONTHLY\n"
                "SUMMARY:Månedsmøte")
    pruned = parse_ics(text, "ical:kari", window=(MARCH_APRIL.start, MARCH_APRIL.end))
    full = parse_ics(text, "ical:kari")
    assert len(pruned.event_lines) == 2 and len(full.event_lines) == 32
    kw = dict(tenant="hdir", person_id="kari", source="ical:kari")
    assert absences_of(pruned, MARCH_APRIL, **kw) == absences_of(full, MARCH_APRIL, **kw)
    assert len(absences_of(pruned, MARCH_APRIL, **kw)) == 3        # course + 5 March + 5 April

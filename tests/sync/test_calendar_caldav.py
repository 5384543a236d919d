"""CalDAV with RFC 6578 sync tokens against a real Radicale server."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from caldav import DAVClient

from engine.directory.model import AbsenceCategory as C
from sync.calendar.caldav_source import CalDavCalendar
from sync.calendar.errors import CalendarTooLarge
from sync.calendar.expand import Window
from sync.calendar.ics import Limits

UTC = timezone.utc
WINDOW = Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))


def event(uid: str, start: str, end: str, summary: str, extra: str = "") -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
            f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n")


@pytest.fixture
def kari_calendar(radicale):
    client = DAVClient(radicale.url, username="kari", password="x")
    calendar = client.principal().make_calendar(name="kari")
    yield calendar
    client.close()


def test_first_round_full_then_only_changes_by_sync_token(kari_calendar):
    kari_calendar.save_event(event("m1", "20260316T080000Z", "20260316T090000Z", "Ledermøte",
                                   "RRULE:FREQ=WEEKLY;COUNT=3\r\n"))
    kari_calendar.save_event(event("f1", "20260401T000000Z", "20260403T000000Z", "Påskeferie"))
    source = CalDavCalendar(str(kari_calendar.url), tenant="hdir", person_id="kari",
                            username="kari", password="x", name="caldav:kari")

    first = source.fetch(WINDOW)
    assert first.full and first.state["token"]
    assert [(a.start.day, a.category) for a in first.absences] == [
        (16, C.MEETING), (23, C.MEETING), (30, C.MEETING), (1, C.VACATION)]

    unchanged = source.fetch(WINDOW, first.state)
    assert not unchanged.changed and not unchanged.full

    kari_calendar.save_event(event("s1", "20260318T070000Z", "20260318T150000Z", "Syk"))
    kari_calendar.event_by_uid("f1").delete()
    delta = source.fetch(WINDOW, first.state)
    assert not delta.full and delta.state["token"] != first.state["token"]
    assert [(a.start.day, a.category) for a in delta.absences] == [
        (16, C.MEETING), (18, C.SICK), (23, C.MEETING), (30, C.MEETING)]


def test_broken_object_fails_the_round_naming_it_and_keeps_the_token(kari_calendar):
    source = CalDavCalendar(str(kari_calendar.url), tenant="hdir", person_id="kari",
                            username="kari", password="x", name="caldav:kari",
                            limits=Limits(max_line=2000))
    kari_calendar.save_event(event("ok", "20260316T080000Z", "20260316T090000Z", "Møte"))
    first = source.fetch(WINDOW)
    kari_calendar.save_event(event("bad", "20260317T080000Z", "20260317T090000Z", "x" * 5000))
    with pytest.raises(CalendarTooLarge) as caught:
        source.fetch(WINDOW, first.state)
    message = str(caught.value)
    assert message.startswith("caldav:kari http") and "bad.ics, line " in message and "SUMMARY value of 5008 bytes" in message
    kari_calendar.event_by_uid("bad").delete()      # fixed at the source
    again = source.fetch(WINDOW, first.state)       # the last good token still works
    assert not again.changed and again.state["token"] != first.state["token"]

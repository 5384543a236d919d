"""CalDAV with RFC 6578 sync tokens against a real Radicale server."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests

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


class Calendar:
    """A calendar collection on the Radicale server, written with plain WebDAV requests."""

    def __init__(self, url: str):
        self.url, self.auth = url, ("kari", "x")
        root = url.rsplit("/", 2)[0] + "/"
        requests.request("PROPFIND", root, auth=self.auth, headers={"Depth": "0"}, timeout=10)
        made = requests.request("MKCALENDAR", url, auth=self.auth, timeout=10)
        assert made.status_code == 201, made.text

    def save_event(self, ics: str, uid: str | None = None):
        uid = uid or ics.split("UID:", 1)[1].split("\r\n", 1)[0]
        put = requests.put(f"{self.url}{uid}.ics", data=ics.encode(), auth=self.auth, timeout=10,
                           headers={"Content-Type": "text/calendar; charset=utf-8"})
        assert put.status_code in (201, 204), put.text

    def delete(self, uid: str):
        assert requests.delete(f"{self.url}{uid}.ics", auth=self.auth, timeout=10).status_code in (200, 204)


@pytest.fixture
def kari_calendar(radicale):
    return Calendar(f"{radicale.url}/kari/calendar/")


def test_first_round_full_then_only_changes_by_sync_token(kari_calendar):
    kari_calendar.save_event(event("m1", "20260316T080000Z", "20260316T090000Z", "Ledermøte",
                                   "RRULE:FREQ=WEEKLY;COUNT=3\r\n"))
    kari_calendar.save_event(event("f1", "20260401T000000Z", "20260403T000000Z", "Påskeferie"))
    source = CalDavCalendar(kari_calendar.url, tenant="hdir", person_id="kari",
                            username="kari", password="x", name="caldav:kari")

    first = source.fetch(WINDOW)
    assert first.full and first.state["token"]
    assert [(a.start.day, a.category) for a in first.absences] == [
        (16, C.MEETING), (23, C.MEETING), (30, C.MEETING), (1, C.VACATION)]

    unchanged = source.fetch(WINDOW, first.state)
    assert not unchanged.changed and not unchanged.full

    kari_calendar.save_event(event("s1", "20260318T070000Z", "20260318T150000Z", "Syk"))
    kari_calendar.delete("f1")
    delta = source.fetch(WINDOW, first.state)
    assert not delta.full and delta.state["token"] != first.state["token"]
    assert [(a.start.day, a.category) for a in delta.absences] == [
        (16, C.MEETING), (18, C.SICK), (23, C.MEETING), (30, C.MEETING)]


def test_broken_object_fails_the_round_naming_it_and_keeps_the_token(kari_calendar):
    source = CalDavCalendar(kari_calendar.url, tenant="hdir", person_id="kari",
                            username="kari", password="x", name="caldav:kari",
                            limits=Limits(max_line=2000))
    kari_calendar.save_event(event("ok", "20260316T080000Z", "20260316T090000Z", "Møte"))
    first = source.fetch(WINDOW)
    kari_calendar.save_event(event("bad", "20260317T080000Z", "20260317T090000Z", "x" * 5000))
    with pytest.raises(CalendarTooLarge) as caught:
        source.fetch(WINDOW, first.state)
    message = str(caught.value)
    assert message.startswith("caldav:kari /kari/calendar/bad.ics, line ") and "bad.ics, line " in message and "SUMMARY value of 5008 bytes" in message
    kari_calendar.delete("bad")      # fixed at the source
    again = source.fetch(WINDOW, first.state)       # the last good token still works
    assert not again.changed and again.state["token"] != first.state["token"]


def test_a_token_the_server_no_longer_knows_gives_one_full_round(kari_calendar):
    kari_calendar.save_event(event("m1", "20260316T080000Z", "20260316T090000Z", "Møte"))
    source = CalDavCalendar(kari_calendar.url, tenant="hdir", person_id="kari",
                            username="kari", password="x", name="caldav:kari")
    first = source.fetch(WINDOW)
    stale = {**first.state, "token": "http://radicale.org/ns/sync/0000000000000000"}
    again = source.fetch(WINDOW, stale)
    assert again.full and [a.external_id for a in again.absences] == ["m1@20260316T080000Z"]

"""Busy status, TRANSP and STATUS → absence kind, and what a tentative event shows as presence.

Calendar file: tests/sync/data/rfc5545/busy-status.ics (Outlook, Thunderbird and Google
styles, written for these tests).
"""
from __future__ import annotations

import pathlib
from datetime import datetime, timedelta, timezone

from engine.directory.model import Absence
from engine.directory.model import AbsenceCategory as C
from engine.directory.model import PresenceState as S
from engine.presence import combine
from sync.calendar.expand import Window, absences_from_ics

DATA = pathlib.Path(__file__).parent / "data" / "rfc5545"
UTC = timezone.utc
MARCH = Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def kinds():
    got = absences_from_ics((DATA / "busy-status.ics").read_bytes(), MARCH, tenant="hdir",
                            person_id="kari", source="ical:kari")
    return {a.external_id.split("@")[0]: (a.category, a.subject, a.private) for a in got}


def test_given_busy_status_then_it_wins_over_transp_and_status():
    assert kinds() == {
        # Outlook tentative (STATUS:CONFIRMED, TRANSP:OPAQUE): the busy status decides
        "outlook-tentative": (C.TENTATIVE, "Budsjettgjennomgang", False),
        # Thunderbird/Google/Apple: no busy status, STATUS:TENTATIVE
        "thunderbird-tentative": (C.TENTATIVE, "Kanskje lunsj med kunde", False),
        # BUSY over TRANSP:TRANSPARENT
        "outlook-busy-but-transparent": (C.MEETING, "Styremøte", False),
        # OOF over STATUS:TENTATIVE
        "outlook-oof-but-tentative-status": (C.OUT_OF_OFFICE, "Hos tannlegen", False),
        # the subject still names the reason ("Ferie", "Permisjon")
        "outlook-ferie": (C.VACATION, "Ferie", False),
        "permisjon": (C.VACATION, "Permisjon", False),
        # private and tentative: tentative, subject never kept
        "private-tentative": (C.TENTATIVE, "", True),
        # left out: FREE over TRANSP:OPAQUE, WORKINGELSEWHERE, STATUS:CANCELLED
    }


def test_given_a_tentative_event_then_the_operator_sees_busy_tentative_never_absent():
    tentative = Absence("hdir", "kari", utc(2026, 3, 9, 9), utc(2026, 3, 9, 10), C.TENTATIVE,
                        source="ical:kari", external_id="t", subject="Budsjettgjennomgang")
    p = combine([tentative], [], utc(2026, 3, 9, 9, 30))
    assert (p.state, p.category, p.back_at, p.detail) == (
        S.BUSY, C.TENTATIVE, utc(2026, 3, 9, 10), "Budsjettgjennomgang")
    assert "busy (tentative)" in p.label


def test_given_a_confirmed_meeting_and_a_longer_tentative_one_then_the_meeting_is_shown():
    meeting = Absence("hdir", "kari", utc(2026, 3, 9, 9), utc(2026, 3, 9, 10), C.MEETING,
                      source="ical:kari", external_id="m", subject="Ledermøte")
    tentative = Absence("hdir", "kari", utc(2026, 3, 9, 9), utc(2026, 3, 9, 12), C.TENTATIVE,
                        source="ical:kari", external_id="t", subject="Kanskje workshop")
    vacation = Absence("hdir", "kari", utc(2026, 3, 9, 9), utc(2026, 3, 9, 9, 45), C.VACATION,
                       source="ical:kari", external_id="v")
    now = utc(2026, 3, 9, 9, 30)
    assert combine([tentative, meeting], [], now).category is C.MEETING
    assert combine([tentative, meeting, vacation], [], now).state is S.ABSENT
    assert combine([tentative], [], now + timedelta(hours=1)).category is C.TENTATIVE

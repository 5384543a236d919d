"""Presence at an instant from absences of several sources."""
from datetime import datetime, timedelta, timezone

from engine.directory.model import AbsenceCategory as C, PresenceState as S
from engine.directory.presence import presence_at
from tests.directory.conftest import an_absence

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)


def test_given_no_absence_now_then_free():
    later = an_absence("p1", T0 + 5 * H, T0 + 6 * H)
    assert presence_at([later], T0).state is S.FREE


def test_given_meeting_now_then_busy_until_its_end():
    p = presence_at([an_absence("p1", T0 - H, T0 + H, C.MEETING, subject="Budsjett")], T0)
    assert (p.state, p.category, p.back_at, p.detail) == (S.BUSY, C.MEETING, T0 + H, "Budsjett")


def test_given_meeting_and_vacation_overlap_then_absent_wins():
    items = [an_absence("p1", T0 - H, T0 + H, C.MEETING), an_absence("p1", T0 - H, T0 + 48 * H, C.VACATION)]
    p = presence_at(items, T0)
    assert (p.state, p.category, p.back_at) == (S.ABSENT, C.VACATION, T0 + 48 * H)


def test_given_course_followed_directly_by_vacation_then_back_after_the_vacation():
    items = [an_absence("p1", T0 - H, T0 + 8 * H, C.COURSE), an_absence("p1", T0 + 8 * H, T0 + 100 * H, C.VACATION)]
    assert presence_at(items, T0).back_at == T0 + 100 * H


def test_given_private_event_then_only_busy_and_no_subject():
    p = presence_at([an_absence("p1", T0 - H, T0 + H, C.MEETING, private=True, subject="Lege")], T0)
    assert (p.state, p.category, p.detail) == (S.BUSY, C.BUSY, "")


def test_given_explicit_back_at_then_it_is_told():
    p = presence_at([an_absence("p1", T0 - H, T0 + H, C.SICK, back_at=T0 + 30 * H)], T0)
    assert p.back_at == T0 + 30 * H


def test_given_end_is_exclusive_then_free_at_the_end():
    assert presence_at([an_absence("p1", T0 - H, T0)], T0).state is S.FREE


def test_given_gone_person_then_gone_regardless_of_absences():
    assert presence_at([an_absence("p1", T0 - H, T0 + H)], T0, gone=True).state is S.GONE

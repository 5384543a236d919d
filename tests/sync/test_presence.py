"""Presence for operators: calendar + web registrations + line state, and change facts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.directory.model import Absence, AbsenceCategory as C, PersonKey, PresenceState as S
from engine.presence import LineState, PresenceBoard, combine, next_change

T0 = datetime(2026, 3, 16, 9, 0, tzinfo=timezone.utc)
KARI = PersonKey("hdir", "kari")


def an_absence(start_h, end_h, category=C.MEETING, source="ical:kari", subject="Møte",
               private=False, day=0):
    base = T0.replace(hour=0) + timedelta(days=day)
    return Absence("hdir", "kari", base + timedelta(hours=start_h), base + timedelta(hours=end_h),
                   category=category, source=source, subject=subject, private=private)


def test_given_a_meeting_now_then_busy_in_a_meeting_back_at_its_end():
    p = combine([an_absence(8, 10)], [], T0)
    assert (p.state, p.category, p.back_at, p.detail) == (S.BUSY, C.MEETING, T0 + timedelta(hours=1), "Møte")


def test_given_a_private_event_then_busy_without_subject():
    p = combine([an_absence(8, 10, subject="", private=True, category=C.BUSY)], [], T0)
    assert (p.state, p.category, p.detail) == (S.BUSY, C.BUSY, "")


def test_given_a_web_registration_then_it_wins_over_the_calendar_meeting():
    sick = an_absence(0, 24, C.SICK, source="web", subject="")
    p = combine([an_absence(8, 10)], [sick], T0)
    assert (p.state, p.category, p.source) == (S.ABSENT, C.SICK, "web")


def test_given_vacation_touching_a_course_then_back_at_follows_the_chain():
    course = an_absence(0, 24, C.COURSE)
    vacation = an_absence(0, 24 * 5, C.VACATION, day=1)
    p = combine([course, vacation], [], T0)
    assert p.state is S.ABSENT and p.back_at == T0.replace(hour=0) + timedelta(days=6)


def test_given_no_absence_then_the_line_state_decides():
    assert combine([], [], T0, LineState.IN_CALL).state is S.BUSY
    assert combine([], [], T0, LineState.IN_CALL).source == "line"
    assert combine([], [], T0, LineState.RINGING).state is S.FREE
    assert combine([an_absence(8, 10, C.VACATION)], [], T0, LineState.IN_CALL).state is S.ABSENT
    assert combine([an_absence(8, 10)], [], T0, gone=True).state is S.GONE


def test_tentative_calendar_entries_reach_presence_as_busy_never_as_absent():
    # the sync keeps tentative events as TENTATIVE ("maybe in a meeting"); a free calendar is FREE
    p = combine([an_absence(8, 10, C.TENTATIVE, subject="Kanskje")], [], T0)
    assert (p.state, p.category, p.detail) == (S.BUSY, C.TENTATIVE, "Kanskje")
    assert combine([], [], T0).state is S.FREE


def test_board_publishes_only_changes_and_next_change_is_the_next_boundary():
    board = PresenceBoard()
    meeting = an_absence(8, 10)
    first = board.update(KARI, combine([meeting], [], T0))
    assert [n.topic for n in first] == ["presence_changed"]
    assert first[0].payload["state"] == "busy" and first[0].payload["back_at"] == "2026-03-16T10:00:00+00:00"
    assert board.update(KARI, combine([meeting], [], T0 + timedelta(minutes=30))) == []
    wake = next_change([meeting], T0)
    assert wake == T0 + timedelta(hours=1)
    after = board.update(KARI, combine([meeting], [], wake))
    assert after[0].payload["state"] == "free" and board.current(KARI).state is S.FREE

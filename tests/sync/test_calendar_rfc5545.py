"""iCalendar as real servers write it (RFC 5545): octet folding, DURATION across DST,
streams of several VCALENDAR objects, and the half-open absences window.

Each calendar file is in tests/sync/data/rfc5545/ (written for these tests).
"""
from __future__ import annotations

import pathlib
from datetime import datetime, timezone

from engine.directory.model import AbsenceCategory as C
from sync.calendar import expand
from sync.calendar.expand import Window, absences_from_ics

DATA = pathlib.Path(__file__).parent / "data" / "rfc5545"
UTC = timezone.utc
MARCH_APRIL = Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def absences(name: str, window: Window = MARCH_APRIL):
    return absences_from_ics((DATA / name).read_bytes(), window, tenant="hdir", person_id="kari",
                             source=f"ical:{name}", default_tz="Europe/Oslo")


def test_given_a_utf8_character_split_by_octet_folding_then_the_line_is_unfolded_before_decoding():
    raw = (DATA / "folded-utf8.ics").read_bytes()
    assert b"p\xc3\r\n \xa5" in raw and b"l\xc3\r\n \xb8" in raw      # "å" and "ø" really split
    got = absences("folded-utf8.ics")
    assert [(a.start, a.category, a.subject) for a in got] == [
        (utc(2026, 3, 13, 7), C.VACATION,                 # "Permisjon": the subject still decides
         "Permisjon – flytting fra Majorstua til ny leilighet på Grünerløkka, nås på mobil ved "
         "behov, hilsen Øystein"),
        (utc(2026, 3, 31, 22), C.VACATION,
         "Påskeferie – hele familien drar på hytta i Hemsedal, tilbake på jobb tirsdag etter påske"),
    ]


def test_given_duration_across_spring_forward_then_hours_are_exact_and_days_nominal():
    # Europe/Oslo moves from +01:00 to +02:00 on 2026-03-29 at 02:00.
    got = {(a.external_id.split("@")[0], a.start): a.end for a in absences("dst-durations.ics")}
    start = utc(2026, 3, 28, 11)                           # 12:00 CET
    assert got[("vakt-exact", start)] == utc(2026, 3, 29, 11)      # PT24H: 24 h → 13:00 CEST
    assert got[("vakt-nominal", start)] == utc(2026, 3, 29, 10)    # P1D: 12:00 CEST, 23 h
    assert got[("kurs-mixed", start)] == utc(2026, 3, 29, 12)      # P1DT2H: a nominal day + 2 h
    series = sorted((s, e) for (uid, s), e in got.items() if uid == "daglig-vakt")
    assert series == [                                              # 20:00 local, 24 h each
        (utc(2026, 3, 27, 19), utc(2026, 3, 28, 19)),
        (utc(2026, 3, 28, 19), utc(2026, 3, 29, 19)),
        (utc(2026, 3, 29, 18), utc(2026, 3, 30, 18)),
        (utc(2026, 3, 30, 18), utc(2026, 3, 31, 18)),
    ]


def test_given_duration_across_dst_then_the_public_expansion_path_agrees(monkeypatch):
    fast = absences("dst-durations.ics")
    monkeypatch.setattr(expand, "fast_occurrences", lambda *args: None)
    assert absences("dst-durations.ics") == fast


def test_given_a_stream_of_three_vcalendar_objects_then_all_their_events_are_read():
    got = absences("stream-three-objects.ics")
    assert [(a.start, a.end, a.category, a.subject) for a in got] == [
        (utc(2026, 3, 10, 8), utc(2026, 3, 10, 9), C.MEETING, "Ledermøte"),
        (utc(2026, 3, 31, 22), utc(2026, 4, 2, 22), C.VACATION, "Ferie"),
        (utc(2026, 4, 6, 7), utc(2026, 4, 6, 7, 30), C.MEETING, "Avdelingsmøte"),
        (utc(2026, 4, 13, 7), utc(2026, 4, 13, 7, 30), C.MEETING, "Avdelingsmøte"),
    ]


def test_given_events_touching_the_window_edges_then_the_window_is_half_open():
    # [10 March 00:00, 14 March 00:00) Oslo time = [09 23:00Z, 13 23:00Z)
    window = Window(utc(2026, 3, 9, 23), utc(2026, 3, 13, 23))
    got = [(a.external_id.split("@")[0], a.start, a.end) for a in absences("window-edges.ics", window)]
    assert got == [
        ("overlaps-start", utc(2026, 3, 9, 22, 59), utc(2026, 3, 9, 23, 1)),
        ("ends-at-start-series", utc(2026, 3, 10, 22), utc(2026, 3, 10, 23)),
        ("ends-at-start-series", utc(2026, 3, 11, 22), utc(2026, 3, 11, 23)),
        ("ends-at-start-series", utc(2026, 3, 12, 22), utc(2026, 3, 12, 23)),
        ("ends-at-start-series", utc(2026, 3, 13, 22), utc(2026, 3, 13, 23)),  # ends at the end: in
        # floating 23:30 local on 13 March = 22:30Z: inside, although 23:30 "UTC" would not be
        ("floating-inside-before-end", utc(2026, 3, 13, 22, 30), utc(2026, 3, 13, 23, 30)),
    ]
    # left out: ends-at-start-{utc,allday,floating} (end == window start) and
    # starts-at-end-{utc,allday} (start == window end)

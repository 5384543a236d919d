"""Hostile or huge iCalendar input is refused early, in bounded memory, with short messages.

The 50 MB inputs are written to a file here (in chunks) and read and parsed in a fresh
interpreter, as a downloaded feed would be, so that its peak RSS (VmHWM) is the
parse's own: imports + the 50 MB body + what parsing adds. Goal: < 200 MB for any input.
Measured on the 2-core test machine (Python 3.11): see docs/sync.md "Limits".
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest
from werkzeug import Response

from sync.calendar.caldav_source import CalDavCalendar
from sync.calendar.domino import DominoCalendar
from sync.calendar.errors import CalendarSyntaxError, CalendarTooLarge
from sync.calendar.expand import Window, absences_from_ics
from sync.calendar.feed import IcsFeed
from sync.calendar.ics import Limits

UTC = timezone.utc
WINDOW = Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
MB = 1024 * 1024
FEED = 50 * MB
SERIES, SINGLES = 250, 4_000              # 250 daily series × 61 days + 4,000 = 19,250 absences
HEAD = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Sentral tests//big//EN\r\n"
TAIL = b"END:VCALENDAR\r\n"


def an_event(i: int, day: bytes) -> bytes:
    """A realistic Outlook-style event of about 400 bytes (organiser, attendee, description)."""
    return (b"BEGIN:VEVENT\r\nUID:big-%d@sentral.test\r\nDTSTAMP:20260101T000000Z\r\n"
            b"DTSTART;TZID=Europe/Oslo:%sT090000\r\nDTEND;TZID=Europe/Oslo:%sT100000\r\n"
            b"SUMMARY:M\xc3\xb8te nummer %d\r\nORGANIZER;CN=Kari Nordmann:mailto:kari@example.no\r\n"
            b"ATTENDEE;CN=Ola Nordmann;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:ola@example.no\r\n"
            b"DESCRIPTION:Agenda:\\n1. Status\\n2. Videre arbeid\\n3. Eventuelt\r\n"
            b"END:VEVENT\r\n") % (i, day, day, i)


def write_feed(path, shape: str) -> int:
    """Write a ~50 MB calendar of one shape in chunks (the test process never holds it)."""
    with open(path, "wb") as out:
        if shape == "single-line":                 # one 50 MB line, no separator at all
            for _ in range(FEED // MB):
                out.write(b"X" * MB)
            return FEED
        out.write(HEAD)
        size = len(HEAD) + len(TAIL)
        if shape == "folded-summary":              # one 50 MB SUMMARY folded at 75 octets
            out.write(b"BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260310T100000Z\r\nSUMMARY:")
            chunk = b"y" * 74 + b"\r\n "
            for _ in range((FEED - 200) // len(chunk)):
                out.write(chunk)
            out.write(b"y\r\nEND:VEVENT\r\n")
        else:
            i = 0
            if shape == "worst-accepted":          # just under the limits, then history
                for j in range(SERIES):
                    series = an_event(10**6 + j, b"20260201").replace(
                        b"END:VEVENT", b"RRULE:FREQ=DAILY\r\nEND:VEVENT")
                    out.write(series)
                    size += len(series)
                for j in range(SINGLES):
                    single = an_event(2 * 10**6 + j, b"202603%02d" % (1 + j % 28))
                    out.write(single)
                    size += len(single)
            while True:
                if shape == "in-window":           # every event in March 2026
                    day = b"202603%02d" % (1 + i % 28)
                else:                              # history: 2020-2024
                    day = b"20%02d%02d%02d" % (20 + i % 5, 1 + i % 12, 1 + i % 28)
                event = an_event(i, day)
                if size + len(event) > FEED:
                    break
                out.write(event)
                size += len(event)
                i += 1
        out.write(TAIL)
    return path.stat().st_size


MEASURE = textwrap.dedent("""
    import json, resource, sys, time
    from datetime import datetime, timezone
    from sync.calendar.expand import Window, absences_from_ics
    window = Window(datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 5, 1, tzinfo=timezone.utc))
    body = open(sys.argv[1], "rb").read()           # as a download would hold it
    t0 = time.perf_counter()
    try:
        got = absences_from_ics(body, window, tenant="t", person_id="p", source="ical:big")
        result = {"absences": len(got)}
    except Exception as exc:
        result = {"error": type(exc).__name__, "message": str(exc)}
    result["seconds"] = time.perf_counter() - t0
    # VmHWM: this process's peak RSS. ru_maxrss would do, but Linux carries it over
    # execve from the parent (a pytest process that already grew large).
    with open("/proc/self/status") as status:
        hwm = [line.split()[1] for line in status if line.startswith("VmHWM:")]
    result["peak_mb"] = int(hwm[0]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
""")


def measure(tmp_path, shape: str) -> dict:
    path = tmp_path / f"{shape}.ics"
    write_feed(path, shape)
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                          text=True, timeout=300, cwd=pytest_root())
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{shape}: {result}")
    return result


def pytest_root() -> str:
    import pathlib
    return str(pathlib.Path(__file__).resolve().parents[2])


@pytest.mark.parametrize("shape, outcome", [
    ("in-window", "refused"),       # valid, 125,000 events in the window: too many to parse
    ("history", "accepted"),        # valid, 125,000 past events: pre-scanned, none parsed
    ("worst-accepted", "accepted"),  # 4,250 events parsed, 19,250 occurrences, + history
    ("single-line", "refused"),
    ("folded-summary", "refused"),
])
def test_given_a_50_mb_feed_then_it_is_handled_quickly_in_bounded_memory(tmp_path, shape, outcome):
    result = measure(tmp_path, shape)
    assert result["peak_mb"] < 200
    assert result["seconds"] < 20
    if outcome == "accepted":
        assert result["absences"] == (SERIES * 61 + SINGLES if shape == "worst-accepted" else 0)
    else:
        assert result["error"] == "CalendarTooLarge"
        message = result["message"]
        assert len(message) < 200 and "X" * 41 not in message and "y" * 41 not in message


def test_given_a_huge_line_without_separator_then_the_message_quotes_40_characters():
    with pytest.raises(CalendarTooLarge) as caught:
        absences_from_ics(b"Z" * (2 * MB), WINDOW, tenant="t", person_id="p", source="ical:kari",
                          limits=Limits(max_line=1000))
    assert str(caught.value) == (f"ical:kari, line 1: {'Z' * 40!r}… value of {2 * MB} bytes exceeds "
                                 f"the limit of 1000")


def test_given_nesting_or_too_many_events_then_refused_before_parsing():
    deep = HEAD + b"BEGIN:X\r\n" * 100_000
    with pytest.raises(CalendarSyntaxError, match="line 11: components nested deeper than 8"):
        absences_from_ics(deep, WINDOW, tenant="t", person_id="p", source="ical:kari")
    many = HEAD + b"".join(an_event(i, b"20260310") for i in range(30)) + TAIL
    with pytest.raises(CalendarTooLarge, match="more than 20 events in and around the window"):
        absences_from_ics(many, WINDOW, tenant="t", person_id="p", source="ical:kari",
                          limits=Limits(max_events=20))


def test_given_an_icalendar_error_then_the_message_does_not_echo_the_input():
    text = HEAD + b"BEGIN:VEVENT\r\nUID:a\r\nDTSTART:" + b"9" * 5000 + b"\r\nEND:VEVENT\r\n" + TAIL
    with pytest.raises(CalendarSyntaxError) as caught:
        absences_from_ics(text, WINDOW, tenant="t", person_id="p", source="ical:kari")
    assert len(str(caught.value)) < 200 and "9" * 81 not in str(caught.value)


def test_given_an_endless_http_feed_then_reading_stops_at_the_limit(httpserver):
    sent = []

    def endless():
        while True:
            sent.append(64 * 1024)
            yield b"X-FILL:" + b"x" * (64 * 1024 - 9) + b"\r\n"

    httpserver.expect_request("/endless.ics").respond_with_handler(
        lambda request: Response(endless(), content_type="text/calendar"))
    httpserver.expect_request("/declared.ics").respond_with_handler(
        lambda request: Response(b"x" * (2 * MB), content_type="text/calendar"))
    limits = Limits(max_bytes=1 * MB)
    feed = IcsFeed(httpserver.url_for("/endless.ics"), tenant="t", person_id="p", name="ical:endless",
                   limits=limits)
    with pytest.raises(CalendarTooLarge, match="ical:endless: response larger than the limit"):
        feed.fetch(WINDOW)
    declared = IcsFeed(httpserver.url_for("/declared.ics"), tenant="t", person_id="p",
                       name="ical:declared", limits=limits)
    with pytest.raises(CalendarTooLarge, match=f"response of {2 * MB} bytes exceeds the limit"):
        declared.fetch(WINDOW)


def test_given_a_huge_caldav_answer_then_it_is_refused_while_streaming(httpserver):
    def multistatus():
        yield b'<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">'
        while True:
            yield b"<d:response><d:href>/c/x.ics</d:href>" + b" " * 60_000 + b"</d:response>"

    httpserver.expect_request("/dav/kari/", method="REPORT").respond_with_handler(
        lambda request: Response(multistatus(), status=207, content_type="application/xml"))
    source = CalDavCalendar(httpserver.url_for("/dav/kari/"), tenant="t", person_id="p",
                            name="caldav:kari", limits=Limits(max_bytes=1 * MB))
    with pytest.raises(CalendarTooLarge, match="caldav:kari: response larger than the limit"):
        source.fetch(WINDOW)


def test_given_a_domino_json_answer_above_16_mb_then_it_is_refused_before_json_parsing(httpserver):
    httpserver.expect_request("/mail/ola.nsf/api/calendar/events").respond_with_data(
        b" " * (17 * MB), content_type="application/json")
    das = DominoCalendar(httpserver.url_for("/mail/ola.nsf"), tenant="t", person_id="p",
                         mode="json", name="domino:ola")
    with pytest.raises(CalendarTooLarge, match=f"domino:ola: response of {17 * MB} bytes exceeds "
                                               f"the limit of {16 * MB}"):
        das.fetch(WINDOW)

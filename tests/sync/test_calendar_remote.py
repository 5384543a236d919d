"""HTTP iCalendar feeds (ETag), Microsoft Graph delta and Domino DAS, over real local HTTP.

Graph and Domino are REPLAYS: recorded/emulated JSON responses served by a local
pytest-httpserver; no Exchange or Domino server can run here.
"""
from __future__ import annotations

import json
import pathlib
from datetime import datetime, timezone

import pytest
from werkzeug import Response

from engine.directory.model import AbsenceCategory as C
from sync.calendar.domino import DominoCalendar
from sync.calendar.errors import CalendarFetchError, CalendarSyntaxError
from sync.calendar.expand import Window
from sync.calendar.feed import IcsFeed
from sync.calendar.graph import GraphCalendar

DATA = pathlib.Path(__file__).parent / "data"
UTC = timezone.utc
WINDOW = Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))


def utc(*args):
    return datetime(*args, tzinfo=UTC)


class FeedServer:
    """Serves one iCalendar body with a strong ETag; counts 200s and 304s."""

    def __init__(self, body: bytes):
        self.body, self.etag, self.ok, self.not_modified, self.status = body, '"v1"', 0, 0, 200

    def __call__(self, request):
        if self.status != 200:
            return Response("boom", status=self.status)
        if request.headers.get("If-None-Match") == self.etag:
            self.not_modified += 1
            return Response(status=304)
        self.ok += 1
        return Response(self.body, headers={"ETag": self.etag, "Content-Type": "text/calendar"})

    def publish(self, body: bytes, etag: str):
        self.body, self.etag = body, etag


def test_http_feed_is_polled_with_etag_and_broken_text_keeps_the_old_state(httpserver):
    server = FeedServer((DATA / "kari.ics").read_bytes())
    httpserver.expect_request("/kari.ics").respond_with_handler(server)
    feed = IcsFeed(httpserver.url_for("/kari.ics"), tenant="hdir", person_id="kari", name="ical:kari")

    first = feed.fetch(WINDOW)
    assert first.changed and len(first.absences) == 8 and first.state["etag"] == '"v1"'
    second = feed.fetch(WINDOW, first.state)
    assert not second.changed and server.not_modified == 1

    server.publish(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n", '"v2"')
    with pytest.raises(CalendarSyntaxError, match="ical:kari, line 2: BEGIN:VEVENT is never closed"):
        feed.fetch(WINDOW, second.state)
    server.status = 503
    with pytest.raises(CalendarFetchError, match="ical:kari: HTTP 503"):
        feed.fetch(WINDOW, second.state)


def graph_replay(httpserver, base: str):
    """Serve the recorded pages; the round-2 deltaLink answers 410 once asked to."""
    calls = []
    expired = {"now": False}

    def page(name):
        return json.loads((DATA / name).read_text().replace("{base}", base))

    def handler(request):
        calls.append(request.query_string.decode())
        assert request.headers["Authorization"] == "Bearer t0k3n"
        assert "odata.maxpagesize=" in request.headers["Prefer"]
        q = request.args
        if "startDateTime" in q:
            assert (q["startDateTime"], q["endDateTime"]) == ("2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z")
            body = page("graph-kari-round1-page1.json")
        elif q.get("$skiptoken") == "R0usmcCM996atia_page2":
            body = page("graph-kari-round1-page2.json")
        elif q.get("$deltatoken") == "R0usmci39OQxqJrxK4_round1":
            body = page("graph-kari-round2.json")
        elif q.get("$deltatoken") == "R0usmci39OQxqJrxK4_round2":
            if expired["now"]:
                return Response(json.dumps({"error": {"code": "SyncStateNotFound"}}), status=410)
            body = page("graph-kari-round3-empty.json")
        else:
            return Response("unexpected", status=400)
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/v1.0/users/kari@hdir.no/calendarView/delta").respond_with_handler(handler)
    return calls, expired


def test_graph_delta_replay_pages_removals_and_410_full_resync(httpserver):
    base = httpserver.url_for("/v1.0").rstrip("/")
    calls, expired = graph_replay(httpserver, base)
    graph = GraphCalendar("kari@hdir.no", tenant="hdir", person_id="kari", token=lambda: "t0k3n",
                          base_url=base, page_size=2)

    first = graph.fetch(WINDOW)
    assert first.full and len(calls) == 2                         # two pages, then deltaLink
    assert [(a.start, a.category, a.subject, a.private) for a in first.absences] == [
        (utc(2026, 3, 16, 8), C.MEETING, "Ledermøte", False),
        (utc(2026, 3, 17, 13), C.BUSY, "", True),                 # Windows zone, private
        (utc(2026, 3, 18, 11), C.TENTATIVE, "Kanskje lunsj", False),   # showAs tentative
        (utc(2026, 3, 23), C.VACATION, "Ferie", False),
    ]

    second = graph.fetch(WINDOW, first.state)
    assert not second.full
    assert [(a.external_id, a.category) for a in second.absences] == [
        ("AAMkAGI2TGuLAAB=", C.BUSY), ("AAMkAGI2TGuLAAD=", C.TENTATIVE), ("AAMkAGI2TGuLAAE=", C.COURSE),
        ("AAMkAGI2TGuLAAC=", C.VACATION)]

    third = graph.fetch(WINDOW, second.state)
    assert not third.changed                                      # empty delta page

    expired["now"] = True
    fourth = graph.fetch(WINDOW, second.state)                    # deltaLink now answers 410
    assert fourth.full and fourth.changed
    assert calls[-2].startswith("startDateTime=")                 # started over with the window
    assert len(fourth.absences) == 4


def test_domino_das_json_replay_and_ics_export(httpserver):
    base = httpserver.url_for("/mail/ola.nsf").rstrip("/")
    body = (DATA / "domino-ola-events.json").read_bytes()
    httpserver.expect_request("/mail/ola.nsf/api/calendar/events",
                              query_string={"since": "2026-03-01T00:00:00Z",
                                            "before": "2026-05-01T00:00:00Z"}).respond_with_data(
        body, content_type="application/json")
    httpserver.expect_request("/mail/ola.nsf/api/calendar/events",
                              query_string={"since": "2026-03-01T00:00:00Z",
                                            "before": "2026-05-01T00:00:00Z",
                                            "format": "icalendar"}).respond_with_data(
        (DATA / "kari.ics").read_bytes(), content_type="text/calendar")

    das = DominoCalendar(base, tenant="hdir", person_id="ola", mode="json", name="domino:ola")
    got = das.fetch(WINDOW).absences
    assert [(a.start, a.end, a.category, a.subject) for a in got] == [
        (utc(2026, 3, 10, 13), utc(2026, 3, 10, 14), C.BUSY, ""),                   # private
        (utc(2026, 3, 11, 8), utc(2026, 3, 11, 9), C.MEETING, "Staff meeting"),
        (utc(2026, 3, 11, 23), utc(2026, 3, 13, 23), C.VACATION, "Sommerferie"),   # all-day, Oslo
    ]
    assert got[1].external_id.endswith("@20260311T080000Z")

    export = DominoCalendar(base, tenant="hdir", person_id="ola", name="domino:ola")
    assert len(export.fetch(WINDOW).absences) == 8                 # the iCalendar path


def test_domino_broken_json_is_a_named_error(httpserver):
    httpserver.expect_request("/mail/ola.nsf/api/calendar/events").respond_with_data(
        '{"events": [\n{"id": 1,\n', content_type="application/json")
    das = DominoCalendar(httpserver.url_for("/mail/ola.nsf"), tenant="hdir", person_id="ola",
                         mode="json", name="domino:ola")
    with pytest.raises(CalendarSyntaxError, match="domino:ola, line 3: not JSON"):
        das.fetch(WINDOW)

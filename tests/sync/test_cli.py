"""`sentral calendar absences` and `sentral sync run|status` as a support engineer uses them."""
from __future__ import annotations

import json
import pathlib

from sentral.cli import main

DATA = pathlib.Path(__file__).parent / "data"


def test_calendar_absences_prints_utc_intervals_kind_and_privacy(capsys):
    assert main(["calendar", "absences", str(DATA / "kari.ics"), "--from", "2026-03-01",
                 "--to", "2026-03-18", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["start"], r["kind"], r["private"], r["subject"]) for r in rows] == [
        ("2026-03-16T08:00:00+00:00", "meeting", False, "Avdelingsmøte"),
        ("2026-03-17T13:00:00+00:00", "busy", True, ""),
    ]


def test_calendar_absences_over_http_as_a_table(httpserver, capsys):
    httpserver.expect_request("/kari.ics").respond_with_data((DATA / "kari.ics").read_bytes())
    assert main(["calendar", "absences", httpserver.url_for("/kari.ics"), "--from",
                 "2026-03-30T00:00+02:00", "--to", "2026-04-03"]) == 0
    out = capsys.readouterr().out
    assert "2026-03-31 22:00  2026-04-02 22:00  vacation" in out and "2 absence interval(s)" in out


def test_calendar_absences_on_broken_input_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.ics"
    bad.write_text("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:2026XX01T100000\nEND:VEVENT\nEND:VCALENDAR\n")
    assert main(["calendar", "absences", str(bad), "--from", "2026-03-01", "--to", "2026-04-01"]) == 1
    err = capsys.readouterr().err
    assert f"error [calendar.syntax]: {bad}, line 2: DTSTART" in err


def test_sync_run_then_status(tmp_path, httpserver, capsys):
    httpserver.expect_request("/kari.ics").respond_with_data((DATA / "kari.ics").read_bytes())
    sources = tmp_path / "sources.yaml"
    sources.write_text("tenants:\n  hdir:\n    sources:\n      - kind: ical\n        name: ical:hdir\n"
                       f"        calendars: {{kari: '{httpserver.url_for('/kari.ics')}'}}\n")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["sync", "run", str(sources), "--url", url]) == 0
    out = capsys.readouterr().out
    assert "[1/1] hdir ical:hdir (ical) ..." in out and "ok: ical:hdir: 1 calendars, 1 changed" in out
    assert main(["sync", "status", "--url", url]) == 0
    assert "ical:hdir" in capsys.readouterr().out

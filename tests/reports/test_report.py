"""Reports (reports/report.py, reports/output.py) and `sentral report` on a stored journal:
intervals in local time, totals that add up, the formats billing systems read, and bad
input refused in one line with nothing written."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine import events as ev
from reports import output
from reports.figures import count
from reports.intervals import ZONE
from reports.report import build
from tests.engine.builders import T0 as SCENARIO_T0
from tests.engine.builders import Scenario, a_deployment, a_queue, an_agent
from tests.engine.test_transfer import moved_to_another_agency

ROOT = Path(__file__).resolve().parents[2]


def a_day_of_calls():
    """acme's sales answers c1 and moves it to vest's orders (bob answers after 30 s, talks
    100 s, wraps up 60 s); a second caller abandons acme's sales after 3 s."""
    s = moved_to_another_agency(10, 60)
    s.advance(30)
    s.send(ev.AgentResume("bob", s.now))
    s.talk("c1", "bob")
    s.advance(100)
    s.hangup("c1")
    s.advance(100)
    s.send(ev.AgentPause("alice", "break", s.now))
    s.call("c2", queue="sales")
    s.advance(3)
    s.hangup("c2")
    return s


def hour_of(s):
    start = s.journal[0].at.replace(minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=1)


def test_the_agency_report_counts_each_agencys_part_and_its_total_row_is_the_sum():
    s = a_day_of_calls()
    start, end = hour_of(s)
    table = build("agency", s.journal, start, end, "15m")
    by_agency = {r["agency"]: r for r in table.rows}
    assert by_agency["acme"]["calls"] == 2 and by_agency["vest"]["calls"] == 0
    assert (by_agency["acme"]["offered"], by_agency["acme"]["transferred_out"]) == (2, 1)
    assert (by_agency["vest"]["offered"], by_agency["vest"]["transferred_in"]) == (1, 1)
    assert by_agency["acme"]["abandoned"] == by_agency["acme"]["short_abandoned"] == 1
    assert by_agency["vest"]["asa"] == 30.0 and by_agency["vest"]["aht"] == 160.0
    for name in ("calls", "offered", "answered", "abandoned", "transferred_in", "transferred_out"):
        assert table.total[name] == sum(r[name] for r in table.rows)
    # the ratio of the total is computed from the sums, not averaged
    assert table.total["service_level"] == 1 / 2


def test_the_traffic_report_has_every_interval_of_a_dst_day_and_staffing_per_interval():
    spring, after_spring = datetime(2026, 3, 29, tzinfo=ZONE), datetime(2026, 3, 30, tzinfo=ZONE)
    autumn, after_autumn = datetime(2026, 10, 25, tzinfo=ZONE), datetime(2026, 10, 26, tzinfo=ZONE)
    assert len(build("traffic", [], spring, after_spring, "15m").rows) == 92
    assert len(build("traffic", [], autumn, after_autumn, "15m").rows) == 100
    assert len(build("traffic", [], autumn, after_autumn, "1h").rows) == 25
    s = a_day_of_calls()
    start, end = hour_of(s)
    busy = [r for r in build("traffic", s.journal, start, end, "15m").rows if r["offered"]]
    assert busy and all(r["agents_needed"] >= 1 for r in busy)


def test_a_call_counts_in_the_quarter_its_segment_started_even_when_answered_in_the_next():
    s = Scenario(a_deployment(queues=[a_queue("sales", max_wait=3600)], agents=[an_agent("alice")]))
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    s.advance(14 * 60)
    s.call("c1", queue="sales")                          # 10:14 UTC
    s.advance(2 * 60)
    s.send(ev.AgentResume("alice", s.now))               # answered at 10:16
    s.talk("c1", "alice")
    figures = count(s.journal)
    answered = {q: c["answered"] for (q, _, queue), c in figures.queues.items() if c.get("answered")}
    assert answered == {SCENARIO_T0: 1}
    assert figures.queues[(SCENARIO_T0, "acme", "sales")]["wait_answered"] == 120_000


def test_csv_and_json_carry_local_iso_times_with_offset_and_plain_numbers():
    s = a_day_of_calls()
    start, end = hour_of(s)
    table = build("queue", s.journal, start, end, "1h")
    text = io.StringIO()
    output.write_csv(table, text)
    rows = list(csv.DictReader(io.StringIO(text.getvalue())))
    assert rows[-1]["interval"] == "total" and len(rows) == len(table.rows) + 1
    assert datetime.fromisoformat(rows[0]["interval"]).utcoffset() == timedelta(hours=1)    # November: CET
    assert rows[-1]["service_level"] == "0.5"
    lines = io.StringIO()
    output.write_json(table, lines)
    assert [json.loads(line)["queue"] for line in lines.getvalue().splitlines()] == ["sales", "orders", ""]


def test_the_text_table_writes_numbers_the_norwegian_way():
    s = a_day_of_calls()
    start, end = hour_of(s)
    out = io.StringIO()
    output.write_text(build("agency", s.journal, start, end, "15m"), out)
    total = out.getvalue().splitlines()[-1]
    assert "50,0 %" in total and "160,0" in out.getvalue()


# -- the command ------------------------------------------------------------------------------
@pytest.fixture
def stored(tmp_path):
    from sentral.process import open_store

    s = a_day_of_calls()
    url = f"sqlite:///{tmp_path / 'r.db'}"
    store = open_store(url)
    try:
        store.append_journal(s.journal)
    finally:
        store.close()
    return url, s


def report(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sentral.cli", "report", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd or ROOT)


def test_the_cli_gives_the_same_figures_as_the_library(stored, tmp_path):
    url, s = stored
    start, end = hour_of(s)
    out = report("agency", "--from", start.isoformat(), "--to", end.isoformat(), "--db", url, "--format", "csv")
    assert out.returncode == 0, out.stderr
    expected = io.StringIO()
    output.write_csv(build("agency", s.journal, start, end, "15m"), expected)
    assert out.stdout == expected.getvalue()
    xlsx = tmp_path / "r.xlsx"
    done = report("queue", "--from", start.isoformat(), "--to", end.isoformat(), "--db", url,
                  "--format", "xlsx", "--out", str(xlsx), "--interval", "1d")
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(xlsx) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "orders" in strings and "transferred_in" in strings and "<row" in sheet
    pdf = tmp_path / "r.pdf"
    drawn = report("traffic", "--from", start.isoformat(), "--to", end.isoformat(), "--db", url,
                   "--format", "pdf", "--out", str(pdf))
    assert drawn.returncode == 0, drawn.stderr
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 2000


@pytest.mark.parametrize("args, message", [
    (["agency", "--from", "2026-12-04T12:00", "--to", "2026-12-04T08:00"], "before"),
    (["agency", "--from", "2010-01-01", "--to", "2026-01-01"], "days"),
    (["agency", "--from", "yesterday"], "yesterday"),
    (["agency", "--from", "2026-12-04", "--interval", "5m"], "5m"),
    (["queue", "--from", "2026-12-04", "--format", "xlsx"], "--out"),
])
def test_bad_input_is_one_line_and_writes_nothing(stored, tmp_path, args, message):
    url, _ = stored
    out = report(*args, "--db", url, cwd=tmp_path)
    assert out.returncode == 1 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and message in out.stderr, out.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "r.db"]


def test_an_agency_the_configuration_does_not_have_is_refused(stored):
    url, _ = stored
    out = report("agency", "--from", "2026-11-25", "--to", "2026-11-26", "--db", url, "--tenant", "nowhere",
                 "--config", str(ROOT / "dialplan/examples/demo.yaml"))
    assert out.returncode == 1 and "no agency 'nowhere'" in out.stderr and "nordlys" in out.stderr

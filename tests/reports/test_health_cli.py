"""`sentral report faults|uptime` as an operator uses it: table, CSV and JSON lines."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sentral.cli import main
from store import Store
from store.system_events import SystemEvent

S = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)


def _database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'sentral.db'}"
    store = Store(url, migrate=True)
    try:
        beats = [SystemEvent(S + timedelta(seconds=t), "engine", "heartbeat", {"interval": 60.0})
                 for t in range(0, 3600, 60)]
        store.append_system_events([SystemEvent(S - timedelta(seconds=1), "engine", "started", {"interval": 60.0}),
                                    *beats,
                                    SystemEvent(S - timedelta(seconds=1), "node:fs1", "connected", {}),
                                    SystemEvent(S + timedelta(minutes=10), "node:fs1", "lost", {"reason": "reset"}),
                                    SystemEvent(S + timedelta(minutes=15), "node:fs1", "connected", {})])
    finally:
        store.close()
    return url


def test_uptime_as_json_lines_has_a_row_per_source_and_a_total(tmp_path, capsys):
    url = _database(tmp_path)
    assert main(["report", "uptime", "--from", "2026-12-03T08:00Z", "--to", "2026-12-03T09:00Z",
                 "--db", url, "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["source"] for r in rows] == ["engine", "node:fs1", "total"]
    assert (rows[1]["down_seconds"], rows[1]["outages"], rows[1]["longest_outage"]) == (300, 1, 300)
    assert rows[0]["share_up"] == 1 and rows[2]["outages"] == 1


def test_faults_as_csv_and_table(tmp_path, capsys):
    url = _database(tmp_path)
    assert main(["report", "faults", "--from", "2026-12-03T09:00+01:00", "--to", "2026-12-03T10:00+01:00",
                 "--db", url, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "at,kind,source,detail"
    assert lines[1] == "2026-12-03T09:10:00+01:00,node_lost,node:fs1,reset"
    assert lines[-1].startswith("total,1")
    assert main(["report", "faults", "--from", "2026-12-03T09:00", "--to", "2026-12-03T10:00", "--db", url]) == 0
    assert "node_lost" in capsys.readouterr().out


def test_bad_period_or_format_is_one_line_and_exit_1(tmp_path, capsys):
    url = _database(tmp_path)
    assert main(["report", "uptime", "--from", "2026-12-03T10:00", "--to", "2026-12-03T09:00", "--db", url]) == 1
    err = capsys.readouterr().err
    assert "--to is before --from" in err and len(err.strip().splitlines()) == 1
    assert main(["report", "faults", "--from", "2026-12-03T09:00", "--db", url, "--format", "xlsx",
                 "--out", str(tmp_path / "x.xlsx")]) == 1
    assert "table, csv or json" in capsys.readouterr().err

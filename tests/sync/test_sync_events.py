"""`sentral sync run` writes each round's outcome to the system event log as well
('sync:<tenant>/<source>' heartbeat or failed), which the uptime and fault reports read."""
from __future__ import annotations

import pathlib

from sentral.cli import main
from store import Store

DATA = pathlib.Path(__file__).parent / "data"


def test_sync_rounds_write_heartbeat_and_failed_events(tmp_path, httpserver, capsys):
    httpserver.expect_request("/kari.ics").respond_with_data((DATA / "kari.ics").read_bytes())
    httpserver.expect_request("/gone.ics").respond_with_data("not here", status=404)
    sources = tmp_path / "sources.yaml"
    sources.write_text("tenants:\n  hdir:\n    sources:\n"
                       "      - kind: ical\n        name: ical:hdir\n"
                       f"        calendars: {{kari: '{httpserver.url_for('/kari.ics')}'}}\n"
                       "      - kind: ical\n        name: ical:gone\n"
                       f"        calendars: {{ola: '{httpserver.url_for('/gone.ics')}'}}\n")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["sync", "run", str(sources), "--url", url]) == 1     # one source failed
    capsys.readouterr()
    store = Store(url)
    try:
        events = {e.source: e for e in store.system_events()}
    finally:
        store.close()
    assert set(events) == {"sync:hdir/ical:hdir", "sync:hdir/ical:gone"}
    ok, failed = events["sync:hdir/ical:hdir"], events["sync:hdir/ical:gone"]
    assert ok.kind == "heartbeat" and ok.data["interval"] > 0
    assert failed.kind == "failed" and "404" in failed.data["error"]

"""The engine process writes the system event log (store/system_events.py) that the uptime
and fault reports read: engine started/stopped, node connected, lost (with the reason) and
connected again after the switch restarts."""
from __future__ import annotations

from datetime import timedelta

from reports.health import faults, uptime
from sentral.app import EngineProcess
from sentral.process import open_store
from tests.acd.conftest import a_deployment
from tests.helpers import until


def _events(store):
    return [(e.source, e.kind) for e in store.system_events()]


def test_a_switch_restart_writes_node_lost_and_connected_and_a_stop_writes_engine_stopped(simulator, pg_url):
    deployment = a_deployment(simulator.port, agents=("1000",), database_url=pg_url)
    store = open_store(pg_url)
    proc = EngineProcess(deployment, store, login_all=True).start(ready_timeout=10)
    try:
        until(lambda: ("node:fs1", "connected") in _events(store), timeout=10, message="first connection written")
        assert _events(store)[0] == ("engine", "started")
        connections = proc.pool["fs1"].connections
        simulator.restart(keep_channels=True)
        until(lambda: proc.pool["fs1"].connections > connections, timeout=15, message="reconnected")
        until(lambda: _events(store).count(("node:fs1", "connected")) == 2, timeout=10,
              message=lambda: f"lost and connected written: {_events(store)}")
        node = [e for e in store.system_events() if e.source == "node:fs1"]
        assert [e.kind for e in node] == ["connected", "lost", "connected"]
        assert node[1].data["reason"], "the reason of the loss is kept"
        assert node[0].at <= node[1].at <= node[2].at
    finally:
        proc.stop()
    kinds = _events(store)
    assert kinds[-2:] == [("engine", "stopped"), ("node:fs1", "stopped")]   # stopping is no outage of the node
    # the reports read it: the node was down between 'lost' and 'connected', one outage
    events = store.system_events()
    start, end = events[0].at, events[-1].at + timedelta(microseconds=1)
    fs1 = {u.source: u for u in uptime(store, start, end, now=end)}["node:fs1"]
    lost, back = node[1].at, node[2].at
    assert fs1.outages == 1 and fs1.down_seconds == (back - lost).total_seconds()
    assert [f.kind for f in faults(store, start, end, now=end) if f.source == "node:fs1"] == ["node_lost"]
    store.close()

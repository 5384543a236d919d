"""Fault and uptime reports (reports/health.py) and the system event log under them
(store/system_events.py, store/system_event_writer.py), on PostgreSQL and SQLite."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import gevent
import pytest
import sqlalchemy as sa

from engine.effects import Journal
from reports.health import faults, uptime
from store.recordings import RecordingRecord
from store.system_event_writer import SystemEventWriter
from store.system_events import SystemEvent
from tests.helpers import until
from tests.recordings.store_fixtures import (  # noqa: F401
    cheap_password_hashing, migrated_databases, migrated_url, store,
)

S = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)      # the period [S, E)
E = S + timedelta(hours=1)
NOW = E + timedelta(days=1)


def at(seconds: float) -> datetime:
    return S + timedelta(seconds=seconds)


def ev(seconds: float, source: str, kind: str, **data) -> SystemEvent:
    return SystemEvent(at(seconds), source, kind, data)


def engine_run(first: float, last: float, *, started: bool = True, stopped: bool = False) -> list[SystemEvent]:
    """The engine's events: 'started' at `first`, a heartbeat every 60 s up to `last`."""
    out = [ev(first, "engine", "started", interval=60.0)] if started else []
    t = first + 60
    while t <= last:
        out.append(ev(t, "engine", "heartbeat", interval=60.0))
        t += 60
    if stopped:
        out.append(ev(last, "engine", "stopped"))
    return out


def by_source(store, now=NOW):
    return {u.source: u for u in uptime(store, S, E, now=now)}


# -- the event log ---------------------------------------------------------------------
def test_events_are_read_per_period_in_time_order_with_each_sources_last_event_before(store):
    store.append_system_events([ev(-120, "node:fs1", "connected"), ev(-60, "node:fs1", "lost", reason="x"),
                                ev(-30, "engine", "heartbeat", interval=60.0), ev(10, "node:fs1", "connected"),
                                ev(5, "engine", "heartbeat", interval=60.0), ev(3600, "engine", "heartbeat")])
    inside = store.system_events(S, E)
    assert [(e.at, e.source, e.kind) for e in inside] == [(at(5), "engine", "heartbeat"),
                                                          (at(10), "node:fs1", "connected")]
    assert inside[0].data == {"interval": 60.0} and inside[0].at.tzinfo is not None
    before = store.last_system_events(S)
    assert {s: (e.kind, e.at) for s, e in before.items()} == {"node:fs1": ("lost", at(-60)),
                                                              "engine": ("heartbeat", at(-30))}
    assert before["node:fs1"].data == {"reason": "x"}


def test_the_event_log_is_append_only(store):
    store.append_system_events([ev(0, "engine", "started")])
    for statement in ("UPDATE system_events SET kind = 'stopped'", "DELETE FROM system_events"):
        with pytest.raises(sa.exc.DBAPIError):
            with store.transaction() as conn:
                conn.execute(sa.text(statement))
    assert [e.kind for e in store.system_events()] == ["started"]


# -- uptime ----------------------------------------------------------------------------------
def test_a_node_outage_spanning_the_period_start_counts_from_the_start(store):
    store.append_system_events(engine_run(-600, 3600) + [
        ev(-590, "node:fs1", "connected"), ev(-300, "node:fs1", "lost", reason="esl.connection_lost: reset"),
        ev(300, "node:fs1", "connected"), ev(1800, "node:fs1", "lost", reason="r"), ev(1860, "node:fs1", "connected")])
    u = by_source(store)
    assert (u["engine"].up_seconds, u["engine"].down_seconds, u["engine"].outages) == (3600, 0, 0)
    node = u["node:fs1"]
    assert (node.up_seconds, node.down_seconds, node.unknown_seconds) == (3600 - 360, 360, 0)
    assert (node.outages, node.longest_outage) == (2, 300)
    assert node.share_up == pytest.approx(3240 / 3600)
    assert list(u) == ["engine", "node:fs1"]


def test_a_crash_is_found_by_missing_heartbeats_and_its_nodes_are_unknown_meanwhile(store):
    # started before the period, last heartbeat at +600, no 'stopped'; started again at +1800
    store.append_system_events(engine_run(-120, 600) + engine_run(1800, 3600) + [
        ev(-119, "node:fs1", "connected"), ev(1801, "node:fs1", "connected")])
    u = by_source(store)
    engine = u["engine"]
    assert (engine.down_seconds, engine.outages, engine.longest_outage) == (1200, 1, 1200)
    assert engine.up_seconds == 2400 and engine.unknown_seconds == 0
    node = u["node:fs1"]   # unknown while the engine is down, and from its start to the node's 'connected'
    assert (node.up_seconds, node.unknown_seconds, node.down_seconds) == (2399, 1201, 0)
    missing = [f for f in faults(store, S, E, now=NOW) if f.kind == "heartbeat_missing"]
    assert [(f.at, f.source) for f in missing] == [(at(600), "engine")]


def test_a_restart_within_two_heartbeats_is_an_outage_from_the_last_heartbeat(store):
    store.append_system_events(engine_run(-120, 1200) + engine_run(1250, 3600))
    engine = by_source(store)["engine"]
    assert (engine.down_seconds, engine.outages) == (50, 1)      # 1200 (last beat) .. 1250 (started)


def test_heartbeats_stopping_before_the_period_end_are_down_at_the_end(store):
    store.append_system_events(engine_run(-120, 2940))
    engine = by_source(store)["engine"]
    assert (engine.up_seconds, engine.down_seconds, engine.outages) == (2940, 660, 1)   # last beat at 2940


def test_a_planned_stop_is_down_for_the_engine_and_unknown_for_its_nodes(store):
    store.append_system_events(engine_run(-120, 1000, stopped=True) + engine_run(2000, 3600) + [
        ev(-99, "node:fs1", "connected"), ev(1000, "node:fs1", "stopped", reason="node stopped"),
        ev(2001, "node:fs1", "connected")])
    u = by_source(store)
    assert (u["engine"].down_seconds, u["engine"].outages) == (1000, 1)
    assert (u["node:fs1"].down_seconds, u["node:fs1"].unknown_seconds) == (0, 1001)
    assert not [f for f in faults(store, S, E, now=NOW) if f.kind == "heartbeat_missing"]


def test_without_events_before_the_period_a_source_is_unknown_until_its_first_and_after_now(store):
    store.append_system_events(engine_run(600, 3600))
    engine = by_source(store, now=at(1800))["engine"]
    assert (engine.unknown_seconds, engine.up_seconds, engine.down_seconds) == (600 + 1800, 1200, 0)
    assert engine.share_up == 1.0
    assert by_source(store, now=at(1800))["engine"].outages == 0
    empty = uptime(store, S - timedelta(days=9), S - timedelta(days=8), now=NOW)
    assert [(u.source, u.unknown_seconds, u.share_up) for u in empty] == [("engine", 86400, None)]


def test_a_sync_source_is_down_from_a_failed_round_to_the_next_good_one(store):
    src = "sync:hdir/ldap:hdir"
    store.append_system_events(engine_run(-100, 3600) + [
        ev(-10, src, "heartbeat", interval=600.0), ev(600, src, "failed", interval=600.0, error="ldap down"),
        ev(1200, src, "heartbeat", interval=600.0), ev(1800, src, "heartbeat", interval=600.0),
        ev(2400, src, "heartbeat", interval=600.0), ev(3000, src, "heartbeat", interval=600.0)])
    sync = by_source(store)[src]
    assert (sync.up_seconds, sync.down_seconds, sync.outages) == (3000, 600, 1)


# -- faults ------------------------------------------------------------------------------------
def test_faults_come_from_each_source_in_time_order_and_only_the_periods(store):
    store.append_journal([
        Journal("ix-1", 1, "entered_queue", at(10), "hdir", queue="q1"),
        Journal("ix-1", 2, "offer_failed", at(20), "hdir", queue="q1", agent="a1000",
                data={"cause": "USER_NOT_REGISTERED"}),
        Journal("ix-0", 1, "offer_failed", at(-20), "hdir", queue="q1", agent="a1000", data={"cause": "x"}),
        Journal("ix-gap", 1, "entered_queue", at(30), "hdir", queue="q1"),
        Journal("ix-gap", 3, "ended", at(40), "hdir", queue="q1"),
        Journal("ix-oldgap", 1, "entered_queue", at(-900), "hdir"),
        Journal("ix-oldgap", 3, "ended", at(-800), "hdir"),
    ])
    store.append_system_events(engine_run(-100, 3600) + [
        ev(-99, "node:fs1", "connected"), ev(50, "node:fs1", "lost", reason="esl.remote: connection reset"),
        ev(-50, "node:fs1", "lost", reason="before"),
        ev(60, "sync:hdir/ldap", "failed", interval=600.0, error="bind refused")])
    store.create_recording(RecordingRecord("rec-1", "ix-1", "hdir", at(15), node="fs1"))
    store.change_recording("rec-1", "fault", fault="plaintext missing: /spool/x.wav", ended_at=at(70))
    store.create_recording(RecordingRecord("rec-2", "ix-1", "hdir", at(16), node="fs1"))   # fine
    found = faults(store, S, E, now=NOW)
    assert [(f.at, f.kind, f.source) for f in found] == [
        (at(20), "offer_failed", "agent:a1000"),
        (at(30), "journal_gap", "interaction:ix-gap"),
        (at(50), "node_lost", "node:fs1"),
        (at(60), "sync_failed", "sync:hdir/ldap"),
        (at(70), "recording_fault", "recording:rec-1"),
    ]
    details = [f.detail for f in found]
    assert "USER_NOT_REGISTERED" in details[0] and "ix-1" in details[0]
    assert "missing [2]" in details[1]
    assert details[2] == "esl.remote: connection reset" and details[3] == "bind refused"
    assert "plaintext missing" in details[4]


# -- the writer: never blocks, bounded, survives an outage ---------------------------------------
class _FlakyStore:
    def __init__(self, store):
        self.store, self.down, self.calls = store, True, 0

    def append_system_events(self, events):
        self.calls += 1
        if self.down:
            raise sa.exc.OperationalError("INSERT", {}, Exception("connection refused"))
        return self.store.append_system_events(events)


def test_writer_keeps_the_newest_events_bounded_while_the_database_is_down_then_writes_them(store):
    flaky = _FlakyStore(store)
    writer = SystemEventWriter(flaky, limit=5, retry_initial=0.001, retry_max=0.002).start()
    try:
        for n in range(8):
            writer.put("engine", "heartbeat", at=at(n), n=n)     # returns at once: nothing waits
        until(lambda: flaky.calls >= 2, message="the writer tried (and failed) more than once")
        assert writer.pending == 5 and writer.dropped == 3 and store.system_events() == []
        flaky.down = False
        assert writer.flush(timeout=10)
        assert [e.data["n"] for e in store.system_events()] == [3, 4, 5, 6, 7]
        writer.put("engine", "stopped", at=at(9))
    finally:
        assert writer.stop(timeout=10) == 0
    assert [e.kind for e in store.system_events()][-1] == "stopped"


def test_writer_put_does_not_yield_to_the_writer(store):
    """put() only queues: the calling greenlet is never switched out."""
    flaky = _FlakyStore(store)
    writer = SystemEventWriter(flaky).start()
    gevent.sleep(0)
    writer.put("engine", "started", at=at(0))
    assert flaky.calls == 0        # nothing happened in the put itself
    flaky.down = False
    assert writer.flush(timeout=10)
    writer.stop()
    assert [e.kind for e in store.system_events()] == ["started"]

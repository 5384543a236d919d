"""The gevent journal writer: batches, flushes everything, survives a database outage."""
from __future__ import annotations

import gevent
import pytest
import sqlalchemy as sa

from engine.effects import Journal
from store import AgentStateRecord, InteractionRecord
from store.gevent_support import make_psycopg2_blocking, make_psycopg2_green
from store.writer import JournalWriter
from tests.conftest import PG_ADMIN_URL
from tests.helpers import until
from tests.store.builders import T0, a_call_journal


@pytest.fixture
def green_psycopg2():
    make_psycopg2_green()
    yield
    make_psycopg2_blocking()


def test_given_many_calls_when_writer_stopped_then_every_row_is_committed_in_batches(store, green_psycopg2):
    writer = JournalWriter(store).start()

    def call_traffic(first):
        for n in range(first, first + 50):
            for row in a_call_journal(f"call-{n}", n=10):
                writer.put(row)
                gevent.sleep(0)          # interleave with the other producers and the writer
            writer.put(AgentStateRecord(f"agent-{n % 7}", "wrap_up", T0, calls_answered=n))
            writer.put(InteractionRecord(f"call-{n}", "helsedir", "ended", T0, ended_at=T0))

    gevent.joinall([gevent.spawn(call_traffic, k * 50) for k in range(4)], raise_error=True)
    assert writer.stop(timeout=60) == 0
    assert len(store.journal()) == 2000 and writer.new_journal_rows == 2000
    assert store.verify_journal() == []
    assert set(store.load_agent_states()) == {f"agent-{k}" for k in range(7)}
    assert store.interaction("call-199").state == "ended" and store.open_interactions() == []
    assert writer.batches < 220, f"rows were written in batches of ~10+, not one by one ({writer.batches})"


def test_flush_waits_for_rows_already_put(store, green_psycopg2):
    writer = JournalWriter(store, linger=0).start()
    writer.put_many(a_call_journal("call-f", n=3))
    assert writer.flush(timeout=30)
    assert [r.seq for r in store.journal(interaction="call-f")] == [1, 2, 3]
    writer.stop()


def test_given_an_invalid_row_then_it_is_set_aside_and_the_rest_written(store, green_psycopg2):
    writer = JournalWriter(store).start()
    bad = Journal("call-bad", 0, "entered_queue", T0, "helsedir")
    writer.put_many(a_call_journal("call-a", n=4) + [bad] + a_call_journal("call-b", n=4))
    assert writer.stop(timeout=30) == 0
    assert writer.rejected == [bad]
    assert len(store.journal()) == 8 and store.verify_journal() == []


def test_psycopg2_green_lets_other_greenlets_run_during_a_query(empty_pg_url):
    pg_url = empty_pg_url
    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            gevent.sleep(0.01)

    def ticks_during_slow_query(engine):
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            before = len(ticks)
            conn.exec_driver_sql("SELECT pg_sleep(0.3)")
            return len(ticks) - before

    make_psycopg2_blocking()             # start from psycopg2's own behaviour, whatever ran before
    engine = sa.create_engine(pg_url)
    tick = gevent.spawn(ticker)
    try:
        blocked = gevent.spawn(ticks_during_slow_query, engine).get(timeout=30)
        engine.dispose()
        make_psycopg2_green()
        try:
            green = gevent.spawn(ticks_during_slow_query, engine).get(timeout=30)
        finally:
            engine.dispose()
            make_psycopg2_blocking()
    finally:
        tick.kill()
    assert blocked == 0, "without the wait callback psycopg2 blocks the hub"
    assert green > 0, "with the wait callback other greenlets run while PostgreSQL works"


def _set_connections_allowed(database: str, allowed: bool) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
            if not allowed:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": database})
    finally:
        admin.dispose()


def test_given_database_outage_then_writer_retries_and_loses_no_row(pg_url, green_psycopg2):
    from store import Store, migrate

    migrate(pg_url)
    database = sa.engine.make_url(pg_url).database
    store = Store(pg_url)
    writer = JournalWriter(store, retry_initial=0.01, retry_max=0.1).start()
    try:
        writer.put_many(a_call_journal("call-before", n=5))
        assert writer.flush(timeout=30)

        _set_connections_allowed(database, False)
        writer.put_many(a_call_journal("call-during", n=5))
        until(lambda: writer.errors >= 2, timeout=30, message="writer saw the outage")
        assert writer.last_error
        assert not writer.flush(timeout=0.05)
        assert {r.interaction for r in writer.pending_items()} == {"call-during"}

        _set_connections_allowed(database, True)
        assert writer.flush(timeout=30)
        assert writer.last_error == ""
        assert writer.stop(timeout=30) == 0
        assert [r.seq for r in store.journal(interaction="call-during")] == [1, 2, 3, 4, 5]
        assert store.verify_journal() == []
    finally:
        _set_connections_allowed(database, True)
        writer.stop(timeout=1)
        store.close()


def test_writer_refuses_what_it_cannot_store_at_put_time(store):
    writer = JournalWriter(store)
    with pytest.raises(TypeError):
        writer.put({"interaction": "call-1"})
    assert writer.pending == 0


def test_on_written_gets_each_committed_batchs_journal_rows_and_its_failure_changes_nothing(store, green_psycopg2):
    seen: list = []
    stored_then: list = []

    def follower(rows):
        stored_then.append(len(store.journal(interaction=rows[0].interaction)))   # committed already
        seen.extend(rows)
        if len(seen) <= 3:
            raise RuntimeError("a follower's bug")

    writer = JournalWriter(store, linger=0, on_written=follower).start()
    writer.put_many(a_call_journal("call-o", n=3))
    assert writer.flush(timeout=30)
    writer.put(AgentStateRecord("agent-1", "available", T0))          # no journal row: not passed on
    writer.put_many(a_call_journal("call-p", n=2))
    assert writer.stop(timeout=30) == 0
    assert sorted((r.interaction, r.seq) for r in seen) == [("call-o", 1), ("call-o", 2), ("call-o", 3),
                                                            ("call-p", 1), ("call-p", 2)]
    assert all(n >= 1 for n in stored_then) and len(store.journal()) == 5 and writer.errors == 0

"""The recordings' access log is append-only (triggers on PostgreSQL and SQLite) and
hash-chained (a row changed or removed behind the triggers' back is found)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from store.recordings import RecordingRecord
from tests.recordings.store_fixtures import empty_pg_url, migrated_databases, migrated_url, store  # noqa: F401

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def a_recording(rid="rec-1", tenant="nordlys", **kw) -> RecordingRecord:
    return RecordingRecord(id=rid, interaction=kw.pop("interaction", "ix-1"), tenant=tenant, started_at=T0, **kw)


def three_entries(store):
    store.create_recording(a_recording())
    store.audit_recording("system:recorder", "recording.stored", "rec-1", "nordlys", {"size": 1234})
    store.audit_recording("web:kari", "recording.listen", "rec-1", "nordlys", {"range": "bytes=0-"})
    store.audit_recording("web:kari", "recording.search", "", "nordlys", {"caller": "9152", "found": 1})


@pytest.mark.parametrize("statement", ["UPDATE recording_audit SET actor = 'x'", "DELETE FROM recording_audit"])
def test_given_audit_entries_when_changed_or_deleted_in_sql_then_the_database_refuses(store, statement):
    three_entries(store)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with store.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert len(store.recording_audit()) == 3


def test_postgresql_refuses_truncate_of_the_access_log(empty_pg_url):
    from store import Store

    s = Store(empty_pg_url)
    try:
        three_entries(s)
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with s.engine.begin() as conn:
                conn.execute(sa.text("TRUNCATE recording_audit"))
    finally:
        s.close()


def test_given_entries_then_each_is_chained_to_the_previous_and_the_chain_verifies(store):
    three_entries(store)
    rows = store.recording_audit()
    assert [r.action for r in rows] == ["recording.stored", "recording.listen", "recording.search"]
    assert rows[0].prev_hash == "" and rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert store.verify_recording_audit() == []
    assert [r.action for r in store.recording_audit(recording="rec-1")] == ["recording.stored", "recording.listen"]


@pytest.fixture(params=["postgresql", "sqlite"])
def own_store(request, tmp_path):
    """A store on a database of its own: these tests drop the triggers (the shared
    PostgreSQL database must keep them), so PostgreSQL gets a fresh, migrated one."""
    from store import Store, migrate

    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else f"sqlite:///{tmp_path}/own.db"
    migrate(url)
    s = Store(url)
    yield s
    s.close()


def _drop_triggers(conn) -> None:
    """What someone owning the schema could do: the triggers are gone, the chain is not."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("DROP TRIGGER recording_audit_no_change ON recording_audit"))
    else:
        conn.execute(sa.text("DROP TRIGGER recording_audit_no_update"))
        conn.execute(sa.text("DROP TRIGGER recording_audit_no_delete"))


def test_given_triggers_dropped_when_a_row_is_changed_then_verify_names_it(own_store):
    three_entries(own_store)
    second = own_store.recording_audit()[1]
    with own_store.engine.begin() as conn:
        _drop_triggers(conn)
        conn.execute(sa.text("UPDATE recording_audit SET actor = 'web:nobody' WHERE id = :id"), {"id": second.id})
    assert own_store.verify_recording_audit() == [second.id]


def test_given_triggers_dropped_when_a_row_is_deleted_then_verify_names_the_next_one(own_store):
    three_entries(own_store)
    rows = own_store.recording_audit()
    with own_store.engine.begin() as conn:
        _drop_triggers(conn)
        conn.execute(sa.text("DELETE FROM recording_audit WHERE id = :id"), {"id": rows[1].id})
    assert own_store.verify_recording_audit() == [rows[2].id]


def test_given_a_rewritten_detail_with_its_hash_recomputed_then_the_next_row_still_breaks(own_store):
    from store.recording_audit import entry_hash

    three_entries(own_store)
    rows = own_store.recording_audit()
    forged = entry_hash(rows[0].prev_hash, rows[0].at, rows[0].actor, rows[0].action, rows[0].recording,
                        rows[0].tenant, {"size": 1})
    with own_store.engine.begin() as conn:
        _drop_triggers(conn)
        conn.execute(sa.text("UPDATE recording_audit SET detail = :d, hash = :h WHERE id = :id"),
                     {"d": '{"size": 1}', "h": forged, "id": rows[0].id})
    assert own_store.verify_recording_audit() == [rows[1].id]


def test_given_a_hold_then_it_is_audited_with_its_reason_and_release_lifts_it(store):
    store.create_recording(a_recording())
    held = store.hold_recording("rec-1", "case 2026/77", by="cli:ola")
    assert held.legal_hold and held.hold_reason == "case 2026/77" and held.hold_by == "cli:ola"
    released = store.release_recording("rec-1", by="cli:ola")
    assert not released.legal_hold
    assert [(r.action, r.detail) for r in store.recording_audit(recording="rec-1")] == [
        ("recording.hold", {"reason": "case 2026/77"}), ("recording.release", {})]


def test_search_filters_by_tenant_time_queue_agent_caller_and_interaction(store):
    store.create_recording(a_recording("r1", "nordlys", queue="nl-sw", agents=("kari",), caller_number="4791520431"))
    store.create_recording(a_recording("r2", "fjordvik", queue="fv-sw", agents=("ola",), caller_number="4790000000",
                                       interaction="ix-2"))
    store.add_recording_agent("r1", "ola")
    assert {r.id for r in store.search_recordings(None)} == {"r1", "r2"}
    assert [r.id for r in store.search_recordings({"nordlys"})] == ["r1"]
    assert store.search_recordings(set()) == []
    assert [r.id for r in store.search_recordings(None, agent="ola")] == ["r1", "r2"] or \
        {r.id for r in store.search_recordings(None, agent="ola")} == {"r1", "r2"}
    assert [r.id for r in store.search_recordings(None, agent="kari")] == ["r1"]
    assert [r.id for r in store.search_recordings(None, caller="9152")] == ["r1"]
    assert [r.id for r in store.search_recordings(None, queue="fv-sw")] == ["r2"]
    assert [r.id for r in store.search_recordings(None, interaction="ix-2")] == ["r2"]
    assert store.search_recordings(None, since=T0 + timedelta(seconds=1)) == []
    assert store.recording("r1").agents == ("kari", "ola")


def test_status_moves_only_along_the_table(store):
    from store.recordings import IllegalRecordingChange

    store.create_recording(a_recording())
    with pytest.raises(IllegalRecordingChange, match="rec-1: recording -\\[deleted\\]-> refused"):
        store.change_recording("rec-1", "deleted")
    assert store.change_recording("rec-1", "stopped").status == "stopped"
    assert store.change_recording("rec-1", "fault", fault="disk full").fault == "disk full"
    assert store.change_recording("rec-1", "fault", fault="again").fault == "again"
    assert store.change_recording("rec-1", "stored").status == "stored"

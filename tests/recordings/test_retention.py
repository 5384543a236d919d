"""Retention: past the CURRENT policy's period -> file deleted (checked), row deleted, one
audit entry each; legal hold kept; dry run changes nothing."""
from __future__ import annotations

import os
from datetime import timedelta

from recordings.retention import purge
from tests.helpers import until
from tests.recordings.recorder_builders import T0, a_deployment, spool_file, started, stopped
from tests.recordings.store_fixtures import migrated_databases, migrated_url, store  # noqa: F401
from tests.recordings.test_service import a_recorder, keys  # noqa: F401


def three_stored(store, tmp_path, recipient):
    recorder = a_recorder(store, tmp_path, recipient)
    for rid in ("old", "held", "young"):
        path = spool_file(tmp_path, rid)
        at = T0 - timedelta(days=40) if rid != "young" else T0
        recorder.handle("recording_started", dict(started(rid, path, recipient, at=at).payload))
        recorder.handle("recording_stopped", dict(stopped(rid, path, at=at + timedelta(minutes=2)).payload))
    until(lambda: all(store.recording(r).status == "stored" for r in ("old", "held", "young")), timeout=20)
    store.hold_recording("held", "complaint 2026-14", by="web:siri")
    return recorder


def test_given_a_30_day_policy_today_then_older_recordings_go_except_the_held_one(store, tmp_path, keys):
    _, recipient = keys
    recorder = three_stored(store, tmp_path, recipient)      # recorded under a 90-day policy
    shorter = a_deployment(tmp_path, recipient, retention_days=30)
    location = store.recording("old").location
    dry = purge(store, recorder.storage, shorter, T0 + timedelta(days=1), dry_run=True)
    assert [p.id for p in dry.deleted] == ["old"] and store.recording("old").status == "stored"
    report = purge(store, recorder.storage, shorter, T0 + timedelta(days=1))
    assert [p.id for p in report.deleted] == ["old"] and [p.id for p in report.held] == ["held"]
    assert report.deleted[0].retention_days == 30 and not report.failed
    old = store.recording("old")
    assert old.status == "deleted" and old.deleted_at == T0 + timedelta(days=1)
    assert not recorder.storage.exists(location) and recorder.storage.exists(store.recording("held").location)
    assert [(a.actor, a.action) for a in store.recording_audit(action="recording.deleted")] == [
        ("system:retention", "recording.deleted")]
    assert store.verify_recording_audit() == []
    assert purge(store, recorder.storage, shorter, T0 + timedelta(days=1)).deleted == []   # idempotent


def test_given_a_tenant_no_longer_configured_then_the_rows_own_period_applies(store, tmp_path, keys):
    _, recipient = keys
    recorder = three_stored(store, tmp_path, recipient)
    other = a_deployment(tmp_path, recipient, tenant="fjordvik", retention_days=1)
    assert purge(store, recorder.storage, other, T0 + timedelta(days=1)).deleted == []      # 90 days of the row
    assert [p.id for p in purge(store, recorder.storage, other, T0 + timedelta(days=51)).deleted] == ["old"]


def test_given_a_file_that_will_not_go_then_failed_audited_and_the_row_unchanged(store, tmp_path, keys):
    _, recipient = keys
    recorder = three_stored(store, tmp_path, recipient)

    class Stuck:
        def __init__(self, inner):
            self.inner = inner

        def exists(self, key):
            return True

        def delete(self, key):
            pass

    report = purge(store, Stuck(recorder.storage), a_deployment(tmp_path, recipient, retention_days=30),
                   T0 + timedelta(days=1))
    assert [p.id for p, _ in report.failed] == ["old"] and "still holds" in report.failed[0][1]
    assert store.recording("old").status == "stored"
    assert [a.action for a in store.recording_audit(recording="old")][-1] == "recording.delete_failed"
    assert os.path.exists(tmp_path / "store")

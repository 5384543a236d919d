"""Retention: recordings older than their retention period are deleted, except under legal hold.

Rules:
- The period is the CURRENT deployment's `policy(tenant, queue).retention_days` (a shorter
  period decided today applies to old recordings too); a tenant no longer configured
  falls back to the row's own `retention_days`, written when it was recorded.
- A recording is due when `started_at + days <= now`; only `stored` and `fault` rows are
  purged (a recording still being written or encrypted waits for its next run).
- Legal hold wins: the row is listed in the report as held and nothing is touched.
- Deletion is checked: the storage must no longer hold the file and the spool must no
  longer hold a plaintext, then the row becomes `deleted` with `deleted_at` (metadata
  kept: the audit log and the report still name it) and one audit entry is written.
  A deletion that does not take is reported as failed and audited; the row is unchanged,
  so the next run tries again.
- `dry_run` reports what would be deleted and changes nothing (no audit entries either).
Scheduled once an hour in the engine process (recordings.service.Recorder, PURGE_EVERY);
`sentral recordings purge [--dry-run]` runs it by hand.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.config import Deployment
from engine.recording import policy
from recordings.errors import RecordingError

log = logging.getLogger(__name__)

ACTOR = "system:retention"


@dataclass(frozen=True)
class Purged:
    id: str
    tenant: str
    started_at: datetime
    retention_days: int
    location: str


@dataclass
class PurgeReport:
    dry_run: bool
    deleted: list[Purged] = field(default_factory=list)   # (would be, with dry_run) deleted
    held: list[Purged] = field(default_factory=list)      # due, kept by a legal hold
    failed: list[tuple[Purged, str]] = field(default_factory=list)


def retention_days(deployment: Deployment, record) -> int:
    if record.tenant in deployment.tenants:
        return policy(deployment, record.tenant, record.queue).retention_days
    return record.retention_days


def purge(store, storage, deployment: Deployment, now: datetime, dry_run: bool = False,
          actor: str = ACTOR) -> PurgeReport:
    report = PurgeReport(dry_run)
    for record in store.search_recordings(None, statuses=("stored", "fault"), until=now, limit=None):
        days = retention_days(deployment, record)
        if record.started_at + timedelta(days=days) > now:
            continue
        item = Purged(record.id, record.tenant, record.started_at, days, record.location)
        if record.legal_hold:
            report.held.append(item)
            continue
        if dry_run:
            report.deleted.append(item)
            continue
        problem = _delete_files(storage, record)
        if problem:
            report.failed.append((item, problem))
            store.audit_recording(actor, "recording.delete_failed", record.id, record.tenant,
                                  {"reason": problem, "retention_days": days})
            continue
        store.change_recording(record.id, "deleted", deleted_at=now)
        store.audit_recording(actor, "recording.deleted", record.id, record.tenant,
                              {"retention_days": days, "started_at": record.started_at.isoformat(),
                               "location": record.location, "sha256": record.sha256})
        report.deleted.append(item)
    if report.deleted or report.failed:
        log.info("retention%s: %d deleted, %d failed, %d held", " (dry run)" if dry_run else "",
                 len(report.deleted), len(report.failed), len(report.held))
    return report


def _delete_files(storage, record) -> str:
    """'' when neither the stored file nor a plaintext is left, else what is left and why."""
    try:
        if record.location:
            if storage.exists(record.location):
                storage.delete(record.location)
            if storage.exists(record.location):
                return f"the storage still holds {record.location}"
        if record.spool_path and os.path.exists(record.spool_path):
            os.unlink(record.spool_path)
            if os.path.exists(record.spool_path):
                return f"the plaintext {record.spool_path} is still there"
    except (OSError, RecordingError) as exc:
        return f"{exc.__class__.__name__}: {exc}"
    return ""

"""After a crash (even SIGKILL mid-encryption): no plaintext stays behind, no row lies.

`recover(recorder, live_paths)` runs at every start of the engine process, before new
notices are handled:
1. every `*.part` under the spool is removed (an encryption that never finished: its
   ciphertext is incomplete, the plaintext is still there);
2. rows `stopped` or `fault` whose plaintext exists are encrypted again (the ordinary
   job: stored, or a fault again with the plaintext kept); a `stopped` row without its
   plaintext becomes a fault (a `fault` one stays as it is, reported once);
3. a plaintext whose row is `stored` (the crash fell between the row's update and the
   unlink) is removed once the storage is seen to hold the ciphertext; one whose row is
   `deleted` is removed;
4. rows `recording` are left to the engine (FreeSWITCH may still be writing the file; the
   engine sends recording_stopped, with cause "unseen" when the channel is gone), unless
   `live_paths` is given and does not name their file: then they are stopped here;
5. a plaintext without a row (the process died before the start was written) is adopted
   when `live_paths` says it is not being written: a row from its path (tenant, id) and
   the file's times, then the ordinary job.

`reconcile(store, storage, spool_root)` reports, without changing anything, stored rows
whose file is missing, stored files without a (live) row, and plaintext without a row.
"""
from __future__ import annotations

import logging
import os
import pathlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

from recordings.errors import RecordingError
from store.recordings import RecordingRecord

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    parts_removed: list[str] = field(default_factory=list)
    encrypted: list[str] = field(default_factory=list)       # ids stored now
    faults: list[str] = field(default_factory=list)          # ids left in fault
    plaintext_removed: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)         # plaintext without a row, now with one
    queued: list[str] = field(default_factory=list)          # ids handed to the recorder's workers (defer)


def _spool_files(root: str, suffix: str) -> list[pathlib.Path]:
    folder = pathlib.Path(root)
    return sorted(folder.rglob(f"*{suffix}")) if folder.is_dir() else []


def recover(recorder, live_paths: set[str] | None = None, defer: bool = False) -> RecoveryReport:
    """`defer`: the files to encrypt go to the running recorder's workers (`submit`) instead
    of being encrypted here, so a start-up backlog never holds back the new calls' notices;
    the decisions (what is stopped, adopted, removed) are all made before any new notice."""
    store, report = recorder.store, RecoveryReport()

    def encrypt(record) -> None:
        if defer:
            recorder.submit(record)
            report.queued.append(record.id)
            return
        outcome = recorder.encrypt(record)
        (report.encrypted if outcome.status == "stored" else report.faults).append(record.id)
    for part in _spool_files(recorder.spool_root, ".part"):
        part.unlink(missing_ok=True)
        report.parts_removed.append(str(part))
    rows = store.search_recordings(None, statuses=("recording", "stopped", "fault"), limit=None)
    active = {os.path.abspath(r.spool_path) for r in rows if r.spool_path}
    live = {os.path.abspath(p) for p in live_paths} if live_paths is not None else None
    for record in rows:
        plaintext = bool(record.spool_path) and os.path.exists(record.spool_path)
        if record.status == "recording":
            if live is None or os.path.abspath(record.spool_path) in live:
                continue
            ended = _mtime(record.spool_path) if plaintext else recorder.clock()
            record = store.change_recording(record.id, "stopped", ended_at=ended,
                                            duration=max(0.0, (ended - record.started_at).total_seconds()))
        if not plaintext and record.status == "fault":
            report.faults.append(record.id)     # already reported once; an operator looks at it
            continue
        encrypt(record)
    # plaintext the rows above do not account for: the spool is small, the table is not
    for wav in _spool_files(recorder.spool_root, ".wav"):
        path = os.path.abspath(wav)
        if path in active or (live is not None and path in live):
            continue
        record = store.recording(wav.stem)
        if record is not None and record.spool_path and os.path.abspath(record.spool_path) != path:
            record = None   # another file of that name: not this row's
        if record is not None and record.status in ("stored", "deleted"):
            if record.status == "deleted" or _stored(recorder.storage, record.location):
                wav.unlink(missing_ok=True)     # the crash fell between the row's update and the unlink
                report.plaintext_removed.append(record.id)
        elif record is None and live is not None:
            record = _adopt(store, wav, recorder)
            report.adopted.append(record.id)
            encrypt(record)
    if any((report.parts_removed, report.encrypted, report.faults, report.plaintext_removed, report.adopted,
            report.queued)):
        log.info("recording recovery: %s", report)
    return report


def _mtime(path: str) -> datetime:
    return datetime.fromtimestamp(os.path.getmtime(path), tz=timezone.utc)


def _stored(storage, key: str) -> bool:
    try:
        return bool(key) and storage.exists(key)
    except (RecordingError, OSError):
        return False


def _adopt(store, wav: pathlib.Path, recorder) -> RecordingRecord:
    """A row for a plaintext nobody wrote a row for: `<spool>/<tenant>/<id>.wav`."""
    tenant = wav.parent.name
    at = _mtime(str(wav))
    record = store.create_recording(RecordingRecord(
        id=wav.stem, interaction="", tenant=tenant, started_at=at, status="recording", spool_path=str(wav),
        storage=recorder.storage_kind, fault="adopted by recovery: no metadata was written at its start"))
    store.audit_recording("system:recorder", "recording.adopted", record.id, tenant, {"spool_path": str(wav)})
    return store.change_recording(record.id, "stopped", ended_at=at, duration=0.0)


@dataclass
class ReconcileReport:
    rows_without_file: list[str] = field(default_factory=list)     # recording ids
    files_without_row: list[str] = field(default_factory=list)     # storage keys
    plaintext_without_row: list[str] = field(default_factory=list)  # spool paths

    @property
    def clean(self) -> bool:
        return not (self.rows_without_file or self.files_without_row or self.plaintext_without_row)


def reconcile(store, storage, spool_root: str) -> ReconcileReport:
    report = ReconcileReport()
    rows = store.search_recordings(None, limit=None)
    live_locations = {r.location for r in rows if r.status != "deleted" and r.location}
    for record in rows:
        if record.status == "stored" and not _stored(storage, record.location):
            report.rows_without_file.append(record.id)
    for key in storage.keys():
        if key not in live_locations and not key.endswith(".part"):
            report.files_without_row.append(key)
    spooled = {os.path.abspath(r.spool_path) for r in rows if r.spool_path}
    for wav in _spool_files(spool_root, ".wav"):
        if os.path.abspath(wav) not in spooled:
            report.plaintext_without_row.append(str(wav))
    return report

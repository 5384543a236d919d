"""The recorder in the engine process: notices -> metadata row -> encrypted, stored file,
plaintext gone; faults kept and audited; recovery after SIGKILL mid-encryption."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from recordings.crypto import decrypt_stream
from recordings.recovery import reconcile, recover
from recordings.service import Recorder
from recordings.storage import LocalStorage
from tests.helpers import until
from tests.recordings.recorder_builders import a_deployment, party, spool_file, started, stopped
from tests.recordings.store_fixtures import migrated_databases, migrated_url, store  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def keys():
    from pyrage import x25519

    identity = x25519.Identity.generate()
    return identity, str(identity.to_public())


def a_recorder(store, tmp_path, recipient, **kw) -> Recorder:
    deployment = a_deployment(tmp_path, recipient, **kw)
    # the store's first connection made here, before the recorder's greenlets share it: the
    # pool's first-connect lock is a thread lock that a greenlet could hold across a switch
    store.recording("warm-up")
    return Recorder(store, LocalStorage(tmp_path / "store"), lambda: deployment, purge_every=None)


def plaintext_of(storage, key, identity) -> bytes:
    out = io.BytesIO()
    with storage.open(key) as src:
        decrypt_stream(src, out, [identity])
    return out.getvalue()


def test_given_a_recorded_call_when_it_stops_then_the_file_is_encrypted_stored_and_the_plaintext_gone(
        store, tmp_path, keys):
    identity, recipient = keys
    recorder = a_recorder(store, tmp_path, recipient).start()
    path = spool_file(tmp_path, "rec-1")
    original = open(path, "rb").read()
    for notice in (started("rec-1", path, recipient), party("rec-1", "ola"), stopped("rec-1", path)):
        recorder.notice(notice)
    record = until(lambda: (r := store.recording("rec-1")) and r.status == "stored" and r, timeout=20)
    recorder.stop()
    assert record.agents == ("kari", "ola") and record.duration == 180.0 and record.size == len(original)
    assert record.location == "nordlys/2026/12/rec-1.wav.age" and record.caller_number == "4791520431"
    assert plaintext_of(recorder.storage, record.location, identity) == original
    assert not os.path.exists(path) and not os.path.exists(path + ".age.part")
    import hashlib
    assert record.sha256 == hashlib.sha256(original).hexdigest()
    assert [(a.actor, a.action) for a in store.recording_audit(recording="rec-1")] == [
        ("system:recorder", "recording.stored")]


def test_given_the_plaintext_is_missing_at_stop_then_a_fault_audited_never_silent(store, tmp_path, keys):
    _, recipient = keys
    recorder = a_recorder(store, tmp_path, recipient).start()
    path = os.path.join(tmp_path, "spool", "nordlys", "rec-2.wav")      # the node never wrote it
    recorder.notice(started("rec-2", path, recipient))
    recorder.notice(stopped("rec-2", path))
    record = until(lambda: (r := store.recording("rec-2")) and r.status == "fault" and r, timeout=20)
    recorder.stop()
    assert "plaintext missing" in record.fault
    [entry] = store.recording_audit(recording="rec-2")
    assert (entry.actor, entry.action) == ("system:recorder", "recording.fault")
    assert "plaintext missing" in entry.detail["fault"]


def test_given_a_full_disk_when_encrypting_then_fault_plaintext_kept_and_recover_retries(store, tmp_path, keys):
    identity, recipient = keys
    recorder = a_recorder(store, tmp_path, recipient).start(recover=False)   # recover would remove the link
    path = spool_file(tmp_path, "rec-3")
    original = open(path, "rb").read()
    os.symlink("/dev/full", path + ".age.part")     # every write of the ciphertext: ENOSPC
    recorder.notice(started("rec-3", path, recipient))
    recorder.notice(stopped("rec-3", path))
    record = until(lambda: (r := store.recording("rec-3")) and r.status == "fault" and r, timeout=20)
    recorder.stop()
    assert "No space left" in record.fault and os.path.exists(path)
    assert not os.path.lexists(path + ".age.part")                   # the partial ciphertext is removed
    report = recover(a_recorder(store, tmp_path, recipient))          # the next start: disk freed
    assert report.encrypted == ["rec-3"]
    record = store.recording("rec-3")
    assert record.status == "stored" and not os.path.exists(path)
    assert plaintext_of(recorder.storage, record.location, identity) == original
    assert [a.action for a in store.recording_audit(recording="rec-3")] == ["recording.fault", "recording.stored"]


CHILD = textwrap.dedent("""
    import os, sys
    from store import Store
    from recordings import service
    from recordings.service import Recorder
    from recordings.storage import LocalStorage
    from tests.recordings.recorder_builders import a_deployment

    url, root, recipient, where = sys.argv[1:5]
    signal_fd = int(sys.argv[5])
    store = Store(url)
    deployment = a_deployment(root, recipient)
    storage = LocalStorage(os.path.join(root, "store"))

    def hold():
        os.write(signal_fd, b"x")     # the parent kills us now: we are mid-way
        sys.stdin.read()              # never returns before the SIGKILL

    class Slow:
        def __init__(self, src):
            self.src, self.chunks = src, 0
        def read(self, n=-1):
            self.chunks += 1
            if self.chunks == 2 and where == "encrypting":   # reads may be 8 KiB or 1 MiB: the file has 4 MiB
                hold()
            return self.src.read(n)

    real_encrypt, real_put = service.encrypt_stream, storage.put_file
    service.encrypt_stream = lambda src, dst, r: real_encrypt(Slow(src), dst, r)
    def put_then_hold(key, path):
        real_put(key, path)
        hold()
    if where == "storing":
        storage.put_file = put_then_hold
    recorder = Recorder(store, storage, lambda: deployment, purge_every=None)
    recorder.encrypt(store.recording("rec-k"))
""")


@pytest.mark.parametrize("where", ["encrypting", "storing"])
def test_given_sigkill_mid_encryption_then_recover_leaves_no_plaintext_and_a_good_recording(
        store, migrated_url, tmp_path, keys, where):
    identity, recipient = keys
    recorder = a_recorder(store, tmp_path, recipient)
    path = spool_file(tmp_path, "rec-k", size=4 * 1024 * 1024)
    original = open(path, "rb").read()
    recorder.handle("recording_started", dict(started("rec-k", path, recipient).payload))
    store.change_recording("rec-k", "stopped")
    read_end, write_end = os.pipe()
    child = subprocess.Popen([sys.executable, "-c", CHILD, migrated_url, str(tmp_path), recipient, where,
                              str(write_end)], pass_fds=(write_end,), stdin=subprocess.PIPE, cwd=ROOT)
    os.close(write_end)
    try:
        assert os.read(read_end, 1) == b"x", "the child ended before it was mid-way"
        assert os.path.exists(path + ".age.part")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        os.close(read_end)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert store.recording("rec-k").status == "stopped" and os.path.exists(path)
    report = recover(recorder)
    record = store.recording("rec-k")
    assert report.encrypted == ["rec-k"] and record.status == "stored"
    assert not os.path.exists(path) and not list((tmp_path / "spool").rglob("*.part"))
    assert plaintext_of(recorder.storage, record.location, identity) == original
    assert reconcile(store, recorder.storage, recorder.spool_root).clean


def test_given_rows_and_files_that_do_not_match_then_reconcile_reports_both_sides(store, tmp_path, keys):
    identity, recipient = keys
    recorder = a_recorder(store, tmp_path, recipient)
    for rid in ("rec-a", "rec-b"):
        path = spool_file(tmp_path, rid)
        recorder.handle("recording_started", dict(started(rid, path, recipient).payload))
        recorder.handle("recording_stopped", dict(stopped(rid, path).payload))
    until(lambda: all(store.recording(r).status == "stored" for r in ("rec-a", "rec-b")), timeout=20)
    recorder.storage.delete(store.recording("rec-a").location)              # metadata without a file
    with open(tmp_path / "x.age", "wb") as f:
        f.write(b"age")
    recorder.storage.put_file("nordlys/2026/12/stray.wav.age", tmp_path / "x.age")   # a file without metadata
    stray = spool_file(tmp_path, "stray-plain")                              # plaintext without a row
    report = reconcile(store, recorder.storage, recorder.spool_root)
    assert report.rows_without_file == ["rec-a"]
    assert report.files_without_row == ["nordlys/2026/12/stray.wav.age"]
    assert report.plaintext_without_row == [stray]


def test_given_a_recording_no_longer_live_and_a_plaintext_without_row_then_recover_stores_both(
        store, tmp_path, keys):
    identity, recipient = keys
    recorder = a_recorder(store, tmp_path, recipient)
    path = spool_file(tmp_path, "rec-live")
    recorder.handle("recording_started", dict(started("rec-live", path, recipient).payload))
    orphan = spool_file(tmp_path, "rec-orphan")
    still = spool_file(tmp_path, "rec-still-recording")
    report = recover(recorder, live_paths={still})
    assert sorted(report.encrypted) == ["rec-live", "rec-orphan"] and report.adopted == ["rec-orphan"]
    assert store.recording("rec-orphan").status == "stored" and not os.path.exists(orphan)
    assert os.path.exists(still)      # FreeSWITCH is still writing it
    assert recover(recorder, live_paths=None).encrypted == []     # without live paths: nothing is guessed


def test_given_every_encryption_worker_busy_then_the_next_calls_notices_are_still_handled_at_once(
        store, tmp_path, keys):
    """A long file's encryption (an hour of stereo, a slow object store) must not hold back
    the rows of the calls that start meanwhile: their notices never wait for a worker."""
    import threading

    from recordings import service

    identity, recipient = keys
    recorder = a_recorder(store, tmp_path, recipient)
    release = threading.Event()
    real_put = recorder.storage.put_file

    def slow_put(key, path):                 # runs in a worker thread of gevent's pool
        release.wait(60)
        real_put(key, path)
    recorder.storage.put_file = slow_put
    recorder.start(recover=False)
    try:
        busy = [f"rec-{i}" for i in range(service.ENCRYPTIONS + 1)]
        for rid in busy:
            path = spool_file(tmp_path, rid)
            recorder.notice(started(rid, path, recipient))
            recorder.notice(stopped(rid, path))
        later = spool_file(tmp_path, "rec-later")
        recorder.notice(started("rec-later", later, recipient))
        recorder.notice(party("rec-later", "ola"))
        row = until(lambda: (r := store.recording("rec-later")) and r.agents == ("kari", "ola") and r, timeout=20,
                    message="the later call's row while every worker waits for the storage")
        assert row.status == "recording"
        assert {store.recording(r).status for r in busy} == {"stopped"} and not recorder.idle()
    finally:
        release.set()
    until(lambda: all(store.recording(r).status == "stored" for r in busy), timeout=30, message="all stored")
    until(recorder.idle, timeout=10, message="recorder idle")
    recorder.stop()


def test_given_a_start_up_backlog_then_new_calls_get_their_rows_while_it_is_encrypted(store, tmp_path, keys):
    """Start-up recovery decides first, then hands its files to the workers: a crash's
    backlog of stopped files never holds back the rows of the calls recorded after it."""
    import threading

    identity, recipient = keys
    recorder = a_recorder(store, tmp_path, recipient)
    backlog = [f"old-{i}" for i in range(4)]
    for rid in backlog:                                   # what a crashed engine left: stopped, not stored
        path = spool_file(tmp_path, rid)
        recorder.handle("recording_started", dict(started(rid, path, recipient).payload))
        store.change_recording(rid, "stopped")
    release = threading.Event()
    real_put = recorder.storage.put_file

    def slow_put(key, path):
        release.wait(60)
        real_put(key, path)
    recorder.storage.put_file = slow_put
    recorder.start(recover=True)
    try:
        later = spool_file(tmp_path, "rec-new")
        recorder.notice(started("rec-new", later, recipient))
        until(lambda: store.recording("rec-new") is not None, timeout=20,
              message="the new call's row while the backlog waits for the storage")
        assert {store.recording(r).status for r in backlog} == {"stopped"}
    finally:
        release.set()
    until(lambda: all(store.recording(r).status == "stored" for r in backlog), timeout=30, message="backlog stored")
    recorder.stop()

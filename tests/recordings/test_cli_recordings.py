"""`sentral recordings ...` on a real database and a real local storage."""
from __future__ import annotations

import json
import os
import stat

import pytest

from sentral.cli import main
from store import Store
from tests.helpers import until
from tests.recordings.recorder_builders import spool_file, started, stopped
from tests.recordings.test_service import a_recorder, keys  # noqa: F401


@pytest.fixture
def stored(tmp_path, keys, monkeypatch):
    """One stored recording `rec-1` (nordlys); the CLI finds it through the environment."""
    identity, recipient = keys
    url = f"sqlite:///{tmp_path}/db.sqlite"
    store = Store(url, migrate=True)
    recorder = a_recorder(store, tmp_path, recipient)
    path = spool_file(tmp_path, "rec-1")
    original = open(path, "rb").read()
    recorder.handle("recording_started", dict(started("rec-1", path, recipient).payload))
    recorder.handle("recording_stopped", dict(stopped("rec-1", path).payload))
    until(lambda: store.recording("rec-1").status == "stored", timeout=20)
    monkeypatch.setenv("SENTRAL_DATABASE_URL", url)
    monkeypatch.setenv("SENTRAL_RECORDINGS_DIR", str(tmp_path))
    key = tmp_path / "nordlys.key"
    key.write_text(f"{identity}\n")
    key.chmod(0o600)
    yield store, original, key, recorder
    store.close()


def test_list_json_gives_one_object_per_recording(stored, capsys):
    assert main(["recordings", "list", "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    row = json.loads(line)
    assert {k: row[k] for k in ("id", "interaction", "tenant", "duration", "path", "status")} == {
        "id": "rec-1", "interaction": "ix-rec-1", "tenant": "nordlys", "duration": 180.0,
        "path": "nordlys/2026/12/rec-1.wav.age", "status": "stored"}
    assert row["start"] == "2026-12-01T09:00:00+00:00" and len(row["sha256"]) == 64


def test_get_verifies_then_writes_the_plaintext_and_audits_it(stored, tmp_path, capsys):
    store, original, key, _ = stored
    out = tmp_path / "out.wav"
    assert main(["recordings", "get", "rec-1", "--identity", str(key), "--out", str(out)]) == 0
    assert out.read_bytes() == original and "verified" in capsys.readouterr().out
    [entry] = store.recording_audit(action="recording.download")
    assert entry.actor.startswith("cli:") and entry.recording == "rec-1"


@pytest.mark.parametrize("case,error_id", [("unknown", "store.unknown_recording"),
                                           ("other-key", "recording-key-missing"),
                                           ("tampered", "recording-tampered"),
                                           ("no-key-file", "recording-key-bad")])
def test_get_refuses_with_a_typed_error_and_writes_nothing(stored, tmp_path, capsys, case, error_id):
    from pyrage import x25519

    store, _, key, recorder = stored
    rid = "nope" if case == "unknown" else "rec-1"
    if case == "other-key":
        key = tmp_path / "other.key"
        key.write_text(f"{x25519.Identity.generate()}\n")
    if case == "no-key-file":
        key = tmp_path / "missing.key"
    if case == "tampered":
        path = recorder.storage.root / store.recording("rec-1").location
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 1
        path.write_bytes(bytes(data))
    out = tmp_path / "out.wav"
    assert main(["recordings", "get", rid, "--identity", str(key), "--out", str(out)]) == 1
    assert f"[{error_id}]" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "out.wav.part").exists()


def test_keygen_prints_the_public_key_line_and_keeps_the_private_key_0600(tmp_path, capsys):
    assert main(["recordings", "keygen", "--tenant", "nordlys", "--identities", str(tmp_path / "ids")]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "public_key:" in ln)
    assert line.strip().startswith("public_key: age1")
    [path] = (tmp_path / "ids").glob("nordlys-*.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_hold_release_purge_reconcile_and_audit_verify(stored, capsys):
    store, *_ = stored
    assert main(["recordings", "hold", "rec-1", "--reason", "case 14"]) == 0
    assert store.recording("rec-1").legal_hold
    assert main(["recordings", "purge", "--dry-run"]) == 0
    assert "0 would delete" in capsys.readouterr().out           # 90 days have not passed... or held
    assert main(["recordings", "release", "rec-1"]) == 0
    assert main(["recordings", "reconcile"]) == 0 and "consistent" in capsys.readouterr().out
    assert main(["recordings", "audit-verify"]) == 0
    assert "hash chain verified" in capsys.readouterr().out
    assert [a.action for a in store.recording_audit(recording="rec-1")] == [
        "recording.stored", "recording.hold", "recording.release"]


def test_export_writes_one_archive_for_the_recipient(stored, tmp_path, capsys):
    from pyrage import x25519

    store, _, key, _ = stored
    ids = tmp_path / "ids"
    ids.mkdir(mode=0o700)
    os.replace(key, ids / "nordlys.key")
    recipient = x25519.Identity.generate().to_public()
    out = tmp_path / "export.age"
    assert main(["recordings", "export", "rec-1", "--recipient", str(recipient), "--out", str(out),
                 "--identities", str(ids)]) == 0, capsys.readouterr().err
    assert out.stat().st_size > 0
    assert [a.action for a in store.recording_audit(recording="rec-1")][-1] == "recording.export"

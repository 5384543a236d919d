"""Export (R9): one age file to the recipient, holding manifest.json and the WAVs; the
receiver decrypts it with their identity and every member matches the manifest's SHA-256.
Nothing decrypted is written to disk; a tampered recording aborts the export."""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from datetime import datetime, timezone

import pytest
from pyrage import x25519

from recordings.crypto import Keyring, MissingKey, Tampered, decrypt_stream, encrypt_stream, generate
from recordings.export import MANIFEST, export
from recordings.storage import LocalStorage
from store.recordings import RecordingRecord


def _a_stored_recording(storage, tmp_path, recipient, kid, rid, tenant="north", size=300_000, mangle=None):
    plain = os.urandom(size)
    enc = io.BytesIO()
    digest = encrypt_stream(io.BytesIO(plain), enc, [recipient])
    key = f"{tenant}/2026/12/{rid}.wav.age"
    src = tmp_path / "upload.age"
    src.write_bytes(enc.getvalue() if mangle is None else mangle(enc.getvalue()))
    storage.put_file(key, src)
    src.unlink()
    record = RecordingRecord(id=rid, interaction="i-" + rid, tenant=tenant,
                             started_at=datetime(2026, 12, 4, 10, 0, size % 60, tzinfo=timezone.utc),
                             status="stored", duration=size / 32000, size=digest.size, sha256=digest.sha256,
                             key_id=kid, location=key)
    return record, plain


@pytest.fixture
def setup(tmp_path):
    recipient, kid, _ = generate("north", tmp_path / "ids")
    storage = LocalStorage(tmp_path / "store")
    return storage, Keyring.load(tmp_path / "ids", environ={}), recipient, kid


def _open_archive(path, identity):
    plain = io.BytesIO()
    with open(path, "rb") as src:
        decrypt_stream(src, plain, [identity])
    plain.seek(0)
    with tarfile.open(fileobj=plain, mode="r:") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_given_recordings_when_exported_then_the_receiver_checks_every_member_against_the_manifest(setup, tmp_path):
    storage, ring, recipient, kid = setup
    items = [_a_stored_recording(storage, tmp_path, recipient, kid, f"rec-{n}", size=s)
             for n, s in enumerate((300_000, 1, 0, 2_000_017))]
    receiver = x25519.Identity.generate()
    seen = []
    result = export([r for r, _ in items], storage, ring, str(receiver.to_public()), tmp_path / "out.age",
                    progress=lambda item, done, total: seen.append((item.id, done, total)))
    assert seen == [(f"rec-{n}", n + 1, 4) for n in range(4)]
    members = _open_archive(tmp_path / "out.age", receiver)
    listed = json.loads(members.pop(MANIFEST))
    assert listed == result and len(listed["recordings"]) == 4
    for entry, (record, plain) in zip(listed["recordings"], items):
        assert entry["id"] == record.id and entry["size"] == len(plain)
        assert hashlib.sha256(members[entry["name"]]).hexdigest() == entry["sha256"]
        assert members[entry["name"]] == plain
    assert set(members) == {e["name"] for e in listed["recordings"]}


def test_given_an_export_then_nothing_decrypted_is_left_on_disk(setup, tmp_path):
    storage, ring, recipient, kid = setup
    record, plain = _a_stored_recording(storage, tmp_path, recipient, kid, "rec-1")
    export([record], storage, ring, recipient, tmp_path / "out.age")
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["ids/" + next((tmp_path / "ids").iterdir()).name, "out.age", "store/north/2026/12/rec-1.wav.age"]
    assert plain[:4096] not in (tmp_path / "out.age").read_bytes()


@pytest.mark.parametrize("mangle", [lambda b: b[:-100], lambda b: b[:150] + bytes([b[150] ^ 1]) + b[151:]])
def test_given_a_tampered_recording_then_the_export_fails_and_leaves_no_file(setup, tmp_path, mangle):
    storage, ring, recipient, kid = setup
    good, _ = _a_stored_recording(storage, tmp_path, recipient, kid, "rec-1")
    bad, _ = _a_stored_recording(storage, tmp_path, recipient, kid, "rec-2", mangle=mangle)
    with pytest.raises(Tampered):
        export([good, bad], storage, ring, recipient, tmp_path / "out.age")
    assert not list(tmp_path.glob("out.age*"))


def test_given_metadata_that_disagrees_with_the_file_then_tampered(setup, tmp_path):
    storage, ring, recipient, kid = setup
    record, _ = _a_stored_recording(storage, tmp_path, recipient, kid, "rec-1")
    for wrong in (dict(sha256="0" * 64), dict(size=record.size + 10), dict(size=record.size - 10)):
        with pytest.raises(Tampered):
            export([record.__class__(**{**record.__dict__, **wrong})], storage, ring, recipient, tmp_path / "o.age")
    assert not list(tmp_path.glob("o.age*"))


def test_given_a_recording_whose_key_is_missing_then_nothing_is_written(setup, tmp_path):
    storage, ring, recipient, _ = setup
    other = x25519.Identity.generate()
    record, _ = _a_stored_recording(storage, tmp_path, str(other.to_public()), "feedfeedfeedfeed", "rec-1")
    with pytest.raises(MissingKey):
        export([record], storage, ring, recipient, tmp_path / "out.age")
    assert not list(tmp_path.glob("out.age*"))

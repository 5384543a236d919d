"""Playback decrypts in a worker thread into a pipe read cooperatively: any Range equals
the same slice of the plaintext, a tampered or truncated file raises instead of playing,
the hub keeps running while a file is decrypted, and nothing is written to disk."""
from __future__ import annotations

import hashlib
import io
import os

import gevent
import pytest
from pyrage import x25519

from recordings.crypto import MissingKey, Tampered, encrypt_stream
from recordings.errors import BadRange
from recordings.playback import plaintext, verify
from recordings.storage import LocalStorage, NotStored

KEY = "north/2026/12/rec-7.wav.age"
AUDIO = os.urandom(1_000_003)


def _store(storage, tmp_path, recipient, plain=AUDIO, mangle=None):
    enc = io.BytesIO()
    encrypt_stream(io.BytesIO(plain), enc, [recipient])
    data = enc.getvalue() if mangle is None else mangle(bytearray(enc.getvalue()))
    src = tmp_path / "upload.age"
    src.write_bytes(bytes(data))
    storage.put_file(KEY, src)
    src.unlink()
    return storage


@pytest.fixture
def stored(tmp_path, key_pair):
    return _store(LocalStorage(tmp_path / "store"), tmp_path, key_pair[1])


def test_given_a_stored_recording_then_playback_yields_the_plaintext(stored, key_pair):
    assert b"".join(plaintext(stored, KEY, key_pair[0])) == AUDIO


@pytest.mark.parametrize("start,end", [(0, 0), (0, 99), (1, 1), (65_535, 65_537), (100_000, 700_000),
                                       (999_000, None), (0, None), (1_000_002, 1_000_002), (999_999, 5_000_000),
                                       (2_000_000, None)])
def test_given_a_range_then_the_bytes_are_that_slice_of_the_plaintext(stored, key_pair, start, end):
    got = b"".join(plaintext(stored, KEY, key_pair[0], start, end))
    assert got == AUDIO[start:None if end is None else end + 1]


def test_given_a_bad_range_then_refused(stored, key_pair):
    with pytest.raises(BadRange):
        plaintext(stored, KEY, key_pair[0], 10, 9)


def test_given_a_flipped_byte_then_playback_raises_tampered(tmp_path, key_pair):
    storage = _store(LocalStorage(tmp_path / "store"), tmp_path, key_pair[1],
                     mangle=lambda b: (b.__setitem__(500_000, b[500_000] ^ 0x40), b)[1])
    got = bytearray()
    with pytest.raises(Tampered):
        for piece in plaintext(storage, KEY, key_pair[0]):
            got += piece
    assert len(got) < 500_000 and AUDIO.startswith(bytes(got)), "only authenticated chunks came out"


def test_given_a_truncated_file_then_playback_raises_tampered(tmp_path, key_pair):
    storage = _store(LocalStorage(tmp_path / "store"), tmp_path, key_pair[1], mangle=lambda b: b[:-1000])
    with pytest.raises(Tampered):
        b"".join(plaintext(storage, KEY, key_pair[0]))


def test_given_the_wrong_identity_then_the_call_itself_raises(stored):
    with pytest.raises(MissingKey):
        plaintext(stored, KEY, x25519.Identity.generate())


def test_given_no_such_recording_then_not_stored(stored, key_pair):
    with pytest.raises(NotStored):
        plaintext(stored, KEY.replace("rec-7", "rec-8"), key_pair[0])


def test_given_a_listener_that_stops_early_then_the_worker_thread_ends(tmp_path, key_pair):
    big = os.urandom(8 * 1024 * 1024)
    storage = _store(LocalStorage(tmp_path / "store"), tmp_path, key_pair[1], plain=big)
    pool = gevent.get_hub().threadpool
    pieces = plaintext(storage, KEY, key_pair[0])
    assert big.startswith(next(pieces))
    pieces.close()
    with gevent.Timeout(10):
        pool.join()  # would hang if the decrypting thread stayed blocked on the pipe


def test_given_a_long_decryption_then_other_greenlets_keep_running(tmp_path, key_pair):
    big = os.urandom(16 * 1024 * 1024)
    storage = _store(LocalStorage(tmp_path / "store"), tmp_path, key_pair[1], plain=big)
    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            gevent.sleep(0.001)  # timer-driven like the engine; a busy loop would starve the thread of the GIL

    other = gevent.spawn(ticker)
    try:
        sha = hashlib.sha256()
        for piece in plaintext(storage, KEY, key_pair[0]):
            sha.update(piece)
    finally:
        other.kill()
    assert sha.hexdigest() == hashlib.sha256(big).hexdigest()
    assert len(ticks) > 10, "the hub ran other greenlets while the file was decrypted"


def test_given_nothing_on_disk_but_the_encrypted_file_after_playback(stored, key_pair, tmp_path):
    b"".join(plaintext(stored, KEY, key_pair[0]))
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["store/" + KEY]


def test_verify_checks_the_recorded_sha256(stored, key_pair):
    good = hashlib.sha256(AUDIO).hexdigest()
    assert verify(stored, KEY, key_pair[0], good).size == len(AUDIO)
    with pytest.raises(Tampered):
        verify(stored, KEY, key_pair[0], "0" * 64)


def test_given_s3_storage_then_ranges_are_served_too(s3_storage, tmp_path, key_pair):
    _store(s3_storage, tmp_path, key_pair[1])
    assert b"".join(plaintext(s3_storage, KEY, key_pair[0], 300_000, 400_000)) == AUDIO[300_000:400_001]

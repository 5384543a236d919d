"""Encryption at rest: a round trip gives the same bytes and digest; a flipped byte, a
cut-off tail or the wrong key never yields a recording; key files are checked; a rotated
key leaves old recordings readable with the old identity."""
from __future__ import annotations

import hashlib
import io
import os

import pytest
from pyrage import x25519

from recordings.crypto import (BadKey, Digest, Keyring, MissingKey, Tampered, decrypt_stream, encrypt_stream,
                               generate, key_id)

AUDIO = os.urandom(300_000)  # several 64 KiB age chunks, the last one partial


def _encrypted(plain: bytes, recipient: str) -> bytes:
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(plain), out, [recipient])
    return out.getvalue()


def test_given_a_recording_when_encrypted_and_decrypted_then_bytes_and_digest_match(key_pair):
    identity, recipient = key_pair
    out = io.BytesIO()
    digest = encrypt_stream(io.BytesIO(AUDIO), out, [recipient])
    assert digest == Digest(hashlib.sha256(AUDIO).hexdigest(), len(AUDIO))
    assert out.getvalue().startswith(b"age-encryption.org/v1\n") and AUDIO[:64] not in out.getvalue()
    back = io.BytesIO()
    assert decrypt_stream(io.BytesIO(out.getvalue()), back, [identity]) == digest
    assert back.getvalue() == AUDIO


def test_given_an_empty_recording_then_it_round_trips(key_pair):
    identity, recipient = key_pair
    back = io.BytesIO()
    assert decrypt_stream(io.BytesIO(_encrypted(b"", recipient)), back, [identity]).size == 0
    assert back.getvalue() == b""


@pytest.mark.parametrize("where", [200, 70_000, -10])  # header, a middle chunk, the last chunk's tag
def test_given_a_flipped_byte_when_decrypted_then_tampered(key_pair, where):
    identity, recipient = key_pair
    data = bytearray(_encrypted(AUDIO, recipient))
    data[where] ^= 0x01
    with pytest.raises(Tampered):
        decrypt_stream(io.BytesIO(bytes(data)), None, [identity])


@pytest.mark.parametrize("cut", [1, 17, 65_536 + 16, 200_000])
def test_given_a_truncated_file_when_decrypted_then_tampered(key_pair, cut):
    identity, recipient = key_pair
    data = _encrypted(AUDIO, recipient)
    with pytest.raises(Tampered):
        decrypt_stream(io.BytesIO(data[:-cut]), None, [identity])


def test_given_not_an_age_file_then_tampered(key_pair):
    with pytest.raises(Tampered):
        decrypt_stream(io.BytesIO(b"RIFF....WAVEfmt " * 100), None, [key_pair[0]])


def test_given_the_wrong_identity_then_missing_key(key_pair):
    with pytest.raises(MissingKey):
        decrypt_stream(io.BytesIO(_encrypted(AUDIO, key_pair[1])), None, [x25519.Identity.generate()])


def test_given_an_error_of_the_destination_then_it_is_not_called_tampering(key_pair):
    class Full(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as raised:
        decrypt_stream(io.BytesIO(_encrypted(AUDIO, key_pair[1])), Full(), [key_pair[0]])
    assert raised.value.errno == 28 and not isinstance(raised.value, Tampered)


def test_given_an_error_of_the_source_when_encrypting_then_that_error_is_raised(key_pair):
    class Dropped:
        def read(self, n=-1):
            raise ConnectionResetError(104, "reset by peer")

    with pytest.raises(ConnectionResetError):
        encrypt_stream(Dropped(), io.BytesIO(), [key_pair[1]])


def test_given_a_bad_recipient_then_bad_key():
    with pytest.raises(BadKey):
        encrypt_stream(io.BytesIO(b"x"), io.BytesIO(), ["age1notakey"])


def test_given_a_generated_key_then_the_keyring_finds_it_by_key_id(tmp_path):
    recipient, kid, path = generate("north", tmp_path / "ids")
    assert kid == key_id(recipient) and path.name == f"north-{kid}.key"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    ring = Keyring.load(tmp_path / "ids", environ={})
    plain = io.BytesIO()
    decrypt_stream(io.BytesIO(_encrypted(AUDIO, recipient)), plain, [ring.identity(kid)])
    assert plain.getvalue() == AUDIO
    with pytest.raises(MissingKey) as raised:
        ring.identity("0123456789abcdef")
    assert raised.value.key_id == "0123456789abcdef"


def test_given_a_key_file_readable_by_others_then_bad_key(tmp_path):
    _, _, path = generate("north", tmp_path)
    path.chmod(0o644)
    with pytest.raises(BadKey, match="chmod 600"):
        Keyring.load(tmp_path, environ={})


def test_given_a_key_file_that_is_not_a_key_then_bad_key(tmp_path):
    bad = tmp_path / "x.key"
    bad.write_text("hello\n")
    bad.chmod(0o600)
    with pytest.raises(BadKey):
        Keyring.load(tmp_path, environ={})


def test_given_a_key_in_the_environment_then_the_keyring_has_it(key_pair):
    identity, recipient = key_pair
    ring = Keyring.load(None, environ={"SENTRAL_RECORDING_KEY_north": str(identity), "OTHER": "x"})
    assert ring.key_ids() == [key_id(recipient)]


def test_given_a_rotated_key_then_old_recordings_open_with_the_old_identity(tmp_path):
    old_recipient, old_id, _ = generate("north", tmp_path)
    before = _encrypted(b"before rotation", old_recipient)
    new_recipient, new_id, _ = generate("north", tmp_path)  # rotation: a new pair, the old file stays
    after = _encrypted(b"after rotation", new_recipient)
    ring = Keyring.load(tmp_path, environ={})
    assert set(ring.key_ids()) == {old_id, new_id}
    for data, kid, plain in ((before, old_id, b"before rotation"), (after, new_id, b"after rotation")):
        out = io.BytesIO()
        decrypt_stream(io.BytesIO(data), out, [ring.identity(kid)])
        assert out.getvalue() == plain
    with pytest.raises(MissingKey):  # the new key does not open the old recording
        decrypt_stream(io.BytesIO(before), None, [ring.identity(new_id)])

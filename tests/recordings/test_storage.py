"""Storage backends: the local folder (default) and S3 over HTTP against moto's server,
including a multipart upload; keys that could escape the store are refused."""
from __future__ import annotations

import os

import pytest

from recordings.storage import BadStorageKey, LocalStorage, NotStored, check_key

KEY = "north/2026/12/rec-1.wav.age"


@pytest.mark.parametrize("key", ["../x", "north/../../etc/passwd", "/etc/passwd", "north//a", "", "north/.hidden",
                                 "a\\..\\b", "north/2026/12/a b", "north/..", "north/./x", "x\x00y"])
def test_given_a_key_that_could_escape_then_refused(key, tmp_path):
    with pytest.raises(BadStorageKey):
        check_key(key)
    with pytest.raises(BadStorageKey):
        LocalStorage(tmp_path).open(key)


def test_given_a_symlink_out_of_the_store_then_refused(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_bytes(b"s")
    (tmp_path / "store" / "north").symlink_to(tmp_path / "outside")
    with pytest.raises(BadStorageKey):
        LocalStorage(tmp_path / "store").open("north/secret")


def _exercise(storage, tmp_path, size):
    src = tmp_path / "src.age"
    data = os.urandom(size)
    src.write_bytes(data)
    assert not storage.exists(KEY)
    storage.put_file(KEY, src)
    assert storage.exists(KEY) and storage.size(KEY) == size
    with storage.open(KEY) as stream:
        assert stream.read() == data
    assert list(storage.keys("north/")) == [KEY] and list(storage.keys("south/")) == []
    storage.delete(KEY)
    assert not storage.exists(KEY)
    with pytest.raises(NotStored):
        storage.open(KEY)
    with pytest.raises(NotStored):
        storage.size(KEY)
    storage.delete(KEY)  # deleting twice is fine (a retention run that is repeated)


def test_local_put_open_delete(tmp_path):
    storage = LocalStorage(tmp_path / "store")
    _exercise(storage, tmp_path, 100_000)
    assert not list((tmp_path / "store").rglob("*.part"))


def test_s3_put_open_delete(s3_storage, tmp_path):
    _exercise(s3_storage, tmp_path, 100_000)


def test_s3_multipart_upload_of_a_large_file(s3_storage, tmp_path):
    import boto3

    src = tmp_path / "big.age"
    data = os.urandom(12 * 1024 * 1024 + 123)  # above the 5 MiB threshold: three parts
    src.write_bytes(data)
    s3_storage.put_file(KEY, src)
    raw = boto3.client("s3", endpoint_url=s3_storage._client.meta.endpoint_url, region_name="us-east-1")
    head = raw.head_object(Bucket=s3_storage.bucket, Key="sentral/" + KEY)
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3"), "a multipart upload's ETag names its part count"
    with s3_storage.open(KEY) as stream:
        got = b"".join(iter(lambda: stream.read(1 << 20), b""))
    assert got == data


def test_s3_refuses_traversal_keys(s3_storage):
    with pytest.raises(BadStorageKey):
        s3_storage.open("../other-tenant/x.wav.age")

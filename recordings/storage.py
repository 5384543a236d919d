"""Where encrypted recordings live: a folder (default) or an S3-compatible bucket.

Rules: keys look like "<tenant>/<YYYY>/<MM>/<id>.wav.age" and are checked before any file
or object is touched (no "..", no absolute paths, a small character set), so a key taken
from a URL or a database row cannot reach outside the store. Only ciphertext passes
through here; a put is all-or-nothing (a local put lands under a temporary name and is
renamed; an S3 put is one object or multipart upload that completes or is aborted).
"""
from __future__ import annotations

import os
import pathlib
import re
import shutil
from typing import BinaryIO, Iterator, Protocol

from recordings.errors import BadStorageKey, NotStored

__all__ = ["BadStorageKey", "LocalStorage", "NotStored", "S3Storage", "Storage", "check_key",
           "storage_for"]

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
DEFAULT_MULTIPART_THRESHOLD = 64 * 1024 * 1024


def check_key(key: str) -> str:
    """The key itself, or BadStorageKey: relative, "/"-separated segments of letters,
    digits, ".", "_", "-", none starting with "." (so neither ".." nor hidden files)."""
    parts = key.split("/") if isinstance(key, str) else []
    if not parts or len(key) > 512 or not all(_SEGMENT.fullmatch(p) for p in parts):
        raise BadStorageKey(f"not a recording storage key: {key!r}")
    return key


def _check_prefix(prefix: str) -> str:
    if prefix:
        check_key(prefix.rstrip("/"))
    return prefix


class Storage(Protocol):
    def put_file(self, key: str, path: str | os.PathLike) -> None: ...
    def open(self, key: str) -> BinaryIO: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def keys(self, prefix: str = "") -> Iterator[str]: ...


class LocalStorage:
    """Files under `root`, one per key."""

    def __init__(self, root: str | os.PathLike):
        self.root = pathlib.Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> pathlib.Path:
        path = (self.root / check_key(key)).resolve()
        # A symlinked folder inside the store could still lead out: the resolved path decides.
        if self.root not in path.parents:
            raise BadStorageKey(f"key leaves the store: {key!r}")
        return path

    def put_file(self, key: str, path: str | os.PathLike) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        shutil.copyfile(path, part)
        with open(part, "rb") as written:
            os.fsync(written.fileno())
        os.replace(part, target)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise NotStored(f"no recording stored under {key!r}") from None

    def delete(self, key: str) -> None:
        """Removes the file; a key that is already gone is not an error (retention re-runs)."""
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise NotStored(f"no recording stored under {key!r}") from None

    def keys(self, prefix: str = "") -> Iterator[str]:
        _check_prefix(prefix)
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key


class S3Storage:
    """Objects in an S3-compatible bucket (AWS, MinIO, a provider's store) through boto3.
    Credentials come only from boto3's usual sources (AWS_ACCESS_KEY_ID, profiles, roles);
    none are configured here. Files above `multipart_threshold` go up in parts."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str = "", region: str = "",
                 multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD, client=None):
        import boto3  # only deployments that use S3 pay for importing it
        from boto3.s3.transfer import TransferConfig

        if not bucket:
            raise BadStorageKey("S3 storage needs a bucket")
        self.bucket, self.prefix = bucket, _check_prefix(prefix.strip("/") + "/" if prefix.strip("/") else "")
        self._client = client or boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None)
        chunk = max(5 * 1024 * 1024, multipart_threshold)  # S3 refuses parts under 5 MiB but the last
        self._transfer = TransferConfig(multipart_threshold=multipart_threshold, multipart_chunksize=chunk,
                                        use_threads=False)

    def __repr__(self) -> str:
        return f"S3Storage({self.bucket!r}, {self.prefix!r})"

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _missing(self, exc) -> bool:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        return code in ("404", "NoSuchKey", "NotFound")

    def put_file(self, key: str, path: str | os.PathLike) -> None:
        self._client.upload_file(os.fspath(path), self.bucket, self._name(key), Config=self._transfer)

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            return self._client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
        except ClientError as exc:
            if self._missing(exc):
                raise NotStored(f"no recording stored under {key!r}") from None
            raise

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotStored:
            return False
        return True

    def size(self, key: str) -> int:
        from botocore.exceptions import ClientError

        try:
            return self._client.head_object(Bucket=self.bucket, Key=self._name(key))["ContentLength"]
        except ClientError as exc:
            if self._missing(exc):
                raise NotStored(f"no recording stored under {key!r}") from None
            raise

    def keys(self, prefix: str = "") -> Iterator[str]:
        _check_prefix(prefix)
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                       Prefix=self.prefix + prefix)
        for page in pages:
            for item in page.get("Contents", ()):
                yield item["Key"][len(self.prefix):]


def storage_for(deployment) -> Storage:
    """The storage a deployment configures: `recordings.storage: local` keeps files under
    `<recordings.dir>/store` (next to the recorder's `spool/`), `s3` the configured bucket."""
    conf = deployment.recordings_storage
    if conf.kind == "s3":
        return S3Storage(conf.bucket, conf.prefix, conf.endpoint_url, conf.region)
    if conf.kind != "local":
        raise BadStorageKey(f"unknown recordings storage kind {conf.kind!r} (local or s3)")
    return LocalStorage(pathlib.Path(deployment.recordings_dir) / "store")


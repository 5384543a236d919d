"""Fixtures of the recordings tests: age key pairs and a real S3 endpoint (moto's standalone
server on 127.0.0.1, a port the OS chose, started here and stopped by its PID)."""
from __future__ import annotations

import os
import pathlib
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

from tests.helpers import until

BIN = pathlib.Path(sys.executable).parent


@pytest.fixture
def key_pair():
    from pyrage import x25519

    identity = x25519.Identity.generate()
    return identity, str(identity.to_public())


def _listening_port(proc: subprocess.Popen, timeout: float = 30.0) -> int:
    """The port werkzeug announces on stderr (" * Running on http://127.0.0.1:PORT")."""
    deadline, seen = time.monotonic() + timeout, b""
    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
        if ready:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
            if m := re.search(rb"Running on http://127\.0\.0\.1:(\d+)", seen):
                return int(m.group(1))
    raise AssertionError(f"moto_server did not announce its port: {seen.decode(errors='replace')}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status < 500
    except OSError:
        return False


@pytest.fixture(scope="session")
def moto_url():
    """Fails loudly if moto's server cannot start (it is in the venv: moto[server])."""
    exe = BIN / "moto_server"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]
    proc = subprocess.Popen([*cmd, "-H", "127.0.0.1", "-p", "0"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        url = f"http://127.0.0.1:{_listening_port(proc)}"
        until(lambda: _answers(url + "/moto-api/"), timeout=30, message="moto_server answers HTTP")
        proc.stderr.close()  # nothing reads it from here on: do not let a full pipe block the server
        yield url
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def s3_env(monkeypatch):
    """Dummy credentials, in this test's environment only."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def s3_storage(moto_url, s3_env):
    """An S3Storage on a fresh bucket; multipart above 5 MiB so a few-MB file uses parts."""
    import boto3

    from recordings.storage import S3Storage

    bucket = "rec-" + uuid.uuid4().hex[:12]
    boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1").create_bucket(Bucket=bucket)
    return S3Storage(bucket, "sentral/", endpoint_url=moto_url, region="us-east-1",
                     multipart_threshold=5 * 1024 * 1024)

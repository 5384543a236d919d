"""Several console processes share events through Redis (SocketIO message_queue): a command
on process A's socket changes the engine there, and the agent's console connected to
process B receives the new state. The machine's Redis (scripts/services), a fresh channel
name and a random DB number per run; the apps run in a child process monkey-patched by
gevent like `sentral run` (a Redis listener must not block the test's own thread)."""
from __future__ import annotations

import json
import os
import pathlib
import random
import re
import subprocess
import sys
import uuid

import pytest
import requests

from tests.console.conftest import PASSWORDS
from tests.helpers import stop_process, until

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
REDIS = os.environ.get("SENTRAL_TEST_REDIS_URL", "redis://127.0.0.1:6379")


@pytest.fixture
def pair(tmp_path):
    import redis

    url = f"{REDIS}/{random.randint(1, 15)}"
    redis.Redis.from_url(url).ping()           # fails loudly without Redis: scripts/services starts it
    channel = "sentral-test-" + uuid.uuid4().hex[:10]
    out = tmp_path / "pair.log"
    with open(out, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "tests.console.redis_pair", url, channel,
                                 str(tmp_path / "pair.db")], cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                                env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        line = until(lambda: next((l for l in out.read_text().splitlines() if l.startswith("{")), None)
                     or (proc.poll() is not None and "exited"), timeout=60, message="apps serving")
        assert line != "exited", out.read_text()[-3000:]
        ports = json.loads(line)
        yield {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
    finally:
        stop_process(proc)


def session_for(base: str, user: str) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert s.post(f"{base}/login", data={"username": user, "password": PASSWORDS[user], "csrf_token": token},
                  allow_redirects=False).status_code == 302
    return s


def console_client(base: str, http: requests.Session, states: list):
    import socketio

    client = socketio.Client(http_session=http, reconnection=False)
    client.on("console", lambda s: states.append(s), namespace="/console")
    client.connect(base, namespaces=["/console"], transports=["polling"], wait_timeout=10)
    return client


def test_a_change_made_through_process_a_reaches_the_agents_console_on_process_b(pair):
    on_a, on_b = [], []
    a = console_client(pair["a"], session_for(pair["a"], "kari"), on_a)
    b = console_client(pair["b"], session_for(pair["b"], "kari"), on_b)
    try:
        until(lambda: on_a and on_b, timeout=10, message="both consoles got their first state")
        assert on_b[0]["agent"]["state"] == "logged_out"
        reply = a.call("command", {"name": "login", "queues": ["helsedir-main"]}, namespace="/console", timeout=10)
        assert reply == {"ok": True}
        until(lambda: any(s["agent"]["state"] == "available" for s in on_b), timeout=10,
              message="process B's console saw the change made on process A")
        assert all(s["agent"]["id"] == "a1000" for s in on_b)
    finally:
        a.disconnect()
        b.disconnect()


def test_process_b_alone_cannot_reach_the_engine(pair):
    on_b = []
    b = console_client(pair["b"], session_for(pair["b"], "ola"), on_b)
    try:
        until(lambda: on_b, timeout=10, message="first state")
        reply = b.call("command", {"name": "login", "queues": []}, namespace="/console", timeout=10)
        assert reply["ok"] is False and reply["error"] == "console.engine_down"
        assert reply["message"] == "Motoren kjører ikke."
    finally:
        b.disconnect()

"""A whole call driven through the REST API alone, against `sentral run`'s composition on the
simulator in a child process (tests/api/live_stack.py, PostgreSQL): a token is made with
`sentral api token create`, a webhook with `sentral api webhook add`; over real HTTP the
client logs agent a1000 in and makes it available, a simulated caller calls, the offer
arrives on the Socket.IO event stream (python-socketio client) and at the webhook receiver
(signed), the client answers, transfers to a number, and sees the interaction end."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import pathlib
import socket
import subprocess
import sys

import pytest
import requests
import socketio

from tests.helpers import until

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SECRET = "webhook-secret-0123456789"


def cli(*args, **env):
    out = subprocess.run([sys.executable, "-m", "sentral.cli", "api", *args], capture_output=True, text=True,
                         timeout=120, cwd=ROOT, env={**os.environ, **env}, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def hooked(pg_url, httpserver):
    """The webhook receiver's (signature, body) list; the webhook is added before the engine
    starts (a running web process reads the webhooks every api_webhooks.REFRESH seconds)."""
    got = []
    httpserver.expect_request("/events", method="POST").respond_with_handler(
        lambda request: got.append((request.headers.get("X-Sentral-Signature"), request.get_data()))
        or __import__("werkzeug").Response("", 204))
    from store.store import Store

    Store(pg_url, migrate=True).close()
    cli("webhook", "add", httpserver.url_for("/events"), "--tenant", "helsedir", "--db", pg_url,
        SENTRAL_WEBHOOK_SECRET=SECRET)
    return got


@pytest.fixture
def stack(pg_url, hooked):
    from store.store import Store
    from tests.console.conftest import users

    store = Store(pg_url)
    users(store)
    store.close()
    child = subprocess.Popen([sys.executable, "-m", "tests.api.live_stack", pg_url], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        while line and not line.startswith("{"):         # start_run's listener lines come first
            line = child.stdout.readline()
        assert line, f"the stack did not start: {child.stderr.read()[-3000:]}"
        ports = json.loads(line)
        control = socket.create_connection(("127.0.0.1", ports["control"]), timeout=10).makefile("rw")
        yield f"http://127.0.0.1:{ports['web']}", control
    finally:
        child.kill()
        child.wait(timeout=10)


def ask(control, line: str) -> str:
    control.write(line + "\n")
    control.flush()
    return control.readline().strip()


def test_a_call_is_worked_through_the_rest_api_alone(stack, pg_url, hooked):
    base, control = stack
    token = cli("token", "create", "--tenant", "helsedir", "--role", "supervisor", "--name", "crm",
                "--db", pg_url).strip().splitlines()[-1]
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"

    events: list[dict] = []
    sio = socketio.Client()
    sio.on("event", events.append, namespace="/api/events")
    sio.connect(base, namespaces=["/api/events"], socketio_path="socket.io", auth={"token": token},
                transports=["websocket"])
    try:
        def kinds(kind, **data):
            return [e for e in events if e["kind"] == kind and all(e["data"].get(k) == v for k, v in data.items())]

        until(lambda: next((a for a in api.get(f"{base}/api/v1/tenants/helsedir/agents").json()["agents"]
                            if a["id"] == "a1000" and a["registered"]), None), timeout=15, message="phone registered")
        assert api.post(f"{base}/api/v1/agents/a1000/login", json={"queues": ["helsedir-main"]}).status_code == 202
        until(lambda: kinds("agent.state", agent="a1000", state="available"), timeout=10, message="available")

        caller = ask(control, "call 4722241600")
        offer = until(lambda: kinds("interaction.offered"), timeout=15,
                      message=lambda: [e["kind"] for e in events])[0]
        ix = offer["data"]["interaction"]
        until(lambda: kinds("agent.state", agent="a1000", state="offered", interaction=ix), timeout=10,
              message="a1000 offered the call")
        assert offer["tenant"] == "helsedir" and offer["data"]["caller_number"] == "4722241600"
        calls = api.get(f"{base}/api/v1/tenants/helsedir/calls").json()["calls"]
        assert [c["id"] for c in calls] == [ix]

        assert api.post(f"{base}/api/v1/agents/a1000/answer").status_code == 202
        until(lambda: kinds("interaction.answered", interaction=ix), timeout=15, message="answered")
        agent = next(a for a in api.get(f"{base}/api/v1/tenants/helsedir/agents").json()["agents"] if a["id"] == "a1000")
        assert agent["state"] == "on_call" and agent["call"]["id"] == ix

        answer = api.post(f"{base}/api/v1/agents/a1000/transfer", json={"target": "22334455", "kind": "number"})
        assert answer.status_code == 202
        until(lambda: kinds("interaction.ended", interaction=ix), timeout=30,
              message=lambda: [(e["kind"], e["data"].get("state")) for e in events if e["data"].get("interaction") == ix])
        until(lambda: caller not in json.loads(ask(control, "channels")), timeout=15, message="caller gone")

        signed = until(lambda: [(s, b) for s, b in hooked if json.loads(b)["kind"] == "interaction.offered"],
                       timeout=15, message="offer at the webhook")
        signature, body = signed[0]
        assert signature == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert json.loads(body)["data"]["interaction"] == ix
    finally:
        sio.disconnect()

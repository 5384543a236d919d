"""Supervisor wallboard: per-tenant, per-role access; JSON and Socket.IO snapshots from a
real (pure) engine; the vendor route serves only its allow-list."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from engine import events as ev
from engine.core import Engine
from sentral import web
from store.store import Store
from tests.acd.conftest import a_deployment

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


class Proc:
    """What sentral.web reads from an EngineProcess: the live engine and deployment."""

    def __init__(self, engine):
        self.engine = engine
        self.deployment = engine.deployment


@pytest.fixture
def board(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'w.db'}", migrate=True)
    deployment = a_deployment(8021, agents=("1000", "1001"))
    engine = Engine(deployment)
    for ext in ("1000", "1001"):
        engine.handle(ev.RegistrationChanged(ext, True, NOW))
        engine.handle(ev.AgentLogin(f"a{ext}", NOW))
    engine.handle(ev.CallParked("fs1", "c1", "22001000", "4791234567", "Ola", NOW, "helsedir", "helsedir-main"))
    store.create_user("sup", "pw-sup-123456", roles=[("helsedir", "supervisor")])
    store.create_user("other", "pw-other-123456", roles=[("nav", "supervisor")])
    store.create_user("emp", "pw-emp-123456", roles=[("helsedir", "employee")])
    app, socketio = web.build_app(store, lambda: deployment, lambda: engine, secure_cookies=False)
    app.testing = True
    yield app, socketio, engine
    store.close()


def login(client, user, password):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": user, "password": password, "csrf_token": token})


def test_given_anonymous_when_opening_wallboard_then_sent_to_login(board):
    app, _, _ = board
    client = app.test_client()
    assert client.get("/wallboard").status_code == 302
    assert client.get("/api/wallboard").status_code == 302


@pytest.mark.parametrize("user,password", [("other", "pw-other-123456"), ("emp", "pw-emp-123456")])
def test_given_no_supervisor_role_for_any_tenant_then_forbidden(board, user, password):
    app, _, _ = board
    client = app.test_client()
    login(client, user, password)
    assert client.get("/api/wallboard").status_code == 403


def test_given_tenant_supervisor_then_snapshot_shows_own_queues_and_agents(board):
    app, _, _ = board
    client = app.test_client()
    login(client, "sup", "pw-sup-123456")
    page = client.get("/wallboard")
    assert page.status_code == 200 and b"wallboard.js" in page.data
    data = client.get("/api/wallboard").get_json()
    assert [q["queue"] for q in data["queues"]] == ["helsedir-main"]
    assert {a["agent"] for a in data["agents"]} == {"a1000", "a1001"}
    assert sum(data["agent_states"].values()) == 2
    assert data["queues"][0]["logged_in"] == 2


def test_vendor_route_serves_only_its_allow_list(board):
    app, _, _ = board
    client = app.test_client()
    assert client.get("/vendor/chart.umd.js").status_code == 200
    for bad in ("../../setup.cfg", "%2e%2e%2fsetup.cfg", "socket.io.js", "..%2f..%2fREADME.md"):
        assert client.get(f"/vendor/{bad}").status_code == 404


def test_given_socketio_client_with_supervisor_session_then_snapshot_pushed(board):
    app, socketio, _ = board
    flask_client = app.test_client()
    login(flask_client, "sup", "pw-sup-123456")
    sio = socketio.test_client(app, namespace="/wallboard", flask_test_client=flask_client)
    assert sio.is_connected("/wallboard")
    received = sio.get_received("/wallboard")
    snapshots = [m["args"][0] for m in received if m["name"] == "wallboard"]
    assert snapshots and snapshots[0]["queues"][0]["queue"] == "helsedir-main"


def test_given_anonymous_socketio_client_then_refused(board):
    app, socketio, _ = board
    sio = socketio.test_client(app, namespace="/wallboard")
    assert not sio.is_connected("/wallboard")


def test_given_last_wallboard_client_leaves_then_its_room_is_forgotten(board):
    app, socketio, _ = board
    flask_client = app.test_client()
    login(flask_client, "sup", "pw-sup-123456")
    first = socketio.test_client(app, namespace="/wallboard", flask_test_client=flask_client)
    second = socketio.test_client(app, namespace="/wallboard", flask_test_client=flask_client)
    assert first.is_connected("/wallboard") and second.is_connected("/wallboard")
    assert set(socketio.wallboard_rooms) == {"helsedir"}
    first.disconnect(namespace="/wallboard")
    assert set(socketio.wallboard_rooms) == {"helsedir"}, "the other viewer still watches helsedir"
    second.disconnect(namespace="/wallboard")
    assert socketio.wallboard_rooms == {}, "no viewer left: nothing computed for them any more"


def test_a_wallboard_opened_now_gets_the_last_ten_minutes_of_waiting_callers(board):
    from datetime import timedelta
    app, socketio, engine = board
    for uuid in ("c2", "c3"):                        # three callers wait (two ringing an agent)
        engine.handle(ev.CallParked("fs1", uuid, "22001000", "4791234568", "Kari", NOW, "helsedir", "helsedir-main"))
    for uuid in ("c1", "c2", "c3"):                  # the recording notice played: into the queue
        engine.handle(ev.PlaybackFinished("fs1", uuid, "sentral/recording-notice.wav", NOW))
    history = socketio.wallboard_history
    sampled = [NOW - timedelta(minutes=m) for m in (15, 9, 5, 0)]
    for at in sampled:
        history.sample(engine, at)
    client = app.test_client()
    login(client, "sup", "pw-sup-123456")
    sio = socketio.test_client(app, namespace="/wallboard", flask_test_client=client)
    first = [m["args"][0] for m in sio.get_received("/wallboard") if m["name"] == "wallboard"][0]
    mine = {at: n for at, n in first["history"] if at in {t.isoformat() for t in sampled}}
    assert sorted(mine) == [t.isoformat() for t in sampled[1:]]     # 15 min ago is out of the window
    assert set(mine.values()) == {3}
    assert {n for _, n in history.series({"nav"})} == {0}          # another agency's board: its own callers

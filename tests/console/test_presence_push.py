"""Presence changes pushed to a console over Socket.IO (issue 4, item 6)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.core import Engine
from engine.directory.model import Absence, AbsenceCategory, Person
from sentral import web
from store.directory_store import DirectoryStore
from store.store import Store
from tests.acd.conftest import a_deployment
from tests.console.test_wallboard import login
from tests.helpers import until


@pytest.fixture
def console(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'p.db'}", migrate=True)
    directory = DirectoryStore(store.engine)
    with directory.batch() as w:
        w.upsert_persons("helsedir", [Person("helsedir", "p1", "Kari", "Nordmann"),
                                      Person("helsedir", "p2", "Ola", "Hansen")], "import")
    store.create_user("op", "pw-operator-1234", roles=[("*", "operator")])
    store.create_user("navsup", "pw-navsup-1234", roles=[("nav", "supervisor")])
    deployment = a_deployment(8021)
    app, socketio = web.build_app(store, lambda: deployment, lambda: Engine(deployment), secure_cookies=False)
    app.testing = True
    yield app, socketio, directory
    store.close()


def _changes(sio):
    return [m["args"][0] for m in sio.get_received("/presence") if m["name"] == "presence_changed"]


def test_given_watched_persons_then_current_presence_then_change_pushed_when_absence_starts(console):
    app, socketio, directory = console
    now = datetime.now(timezone.utc)
    directory.add_absence(Absence("helsedir", "p1", now - timedelta(hours=1), now + timedelta(hours=2),
                                  AbsenceCategory.MEETING, source="ical:feed", external_id="m1"))
    # Ola registers a vacation on the web that starts in a moment: presence must flip on time
    directory.add_absence(Absence("helsedir", "p2", now + timedelta(seconds=1.5), now + timedelta(days=3),
                                  AbsenceCategory.VACATION, source="web", created_by="ola"))
    client = app.test_client()
    login(client, "op", "pw-operator-1234")
    sio = socketio.test_client(app, namespace="/presence", flask_test_client=client)
    assert sio.is_connected("/presence")
    ack = sio.emit("watch", [{"tenant": "helsedir", "person_id": "p1"}, {"tenant": "helsedir", "person_id": "p2"}],
                   namespace="/presence", callback=True)
    assert ack == {"ok": True, "watching": 2, "refused": 0}
    first = {c["person_id"]: c for c in _changes(sio)}
    assert first["p1"]["state"] == "busy" and first["p1"]["category"] == "meeting"
    assert first["p2"]["state"] == "free"
    later = until(lambda: [c for c in _changes(sio) if c["person_id"] == "p2"], timeout=10,
                  message="vacation start pushed")
    assert later[-1]["state"] == "absent" and later[-1]["category"] == "vacation"
    assert later[-1]["back_at"]


def test_given_anonymous_client_then_presence_refused(console):
    app, socketio, _ = console
    sio = socketio.test_client(app, namespace="/presence")
    assert not sio.is_connected("/presence")


def test_given_bad_watch_list_then_typed_refusal(console):
    app, socketio, _ = console
    client = app.test_client()
    login(client, "op", "pw-operator-1234")
    sio = socketio.test_client(app, namespace="/presence", flask_test_client=client)
    ack = sio.emit("watch", {"tenant": "x"}, namespace="/presence", callback=True)
    assert ack["ok"] is False


def test_given_user_of_another_agency_then_cannot_watch_this_agencys_persons(console):
    app, socketio, _ = console
    client = app.test_client()
    login(client, "navsup", "pw-navsup-1234")
    sio = socketio.test_client(app, namespace="/presence", flask_test_client=client)
    ack = sio.emit("watch", [{"tenant": "helsedir", "person_id": "p1"}], namespace="/presence", callback=True)
    assert ack == {"ok": True, "watching": 0, "refused": 1}
    assert _changes(sio) == []

"""Live statistics of today in the app `sentral run` serves (sentral.web.run_apps) over a
stored journal: GET /api/v1/tenants/{tenant}/statistics/today gives an agency's figures
of today (seeded from the journal, then the rows as they are written) to operators and up
of that agency only; the wallboard's "today" line per agency shows the same numbers, in
its JSON, its Socket.IO push and its page (bokmål by default, English on request)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.core import Engine
from engine.effects import Journal
from sentral import live_statistics
from tests.web.conftest import logged_in
from tests.web.test_reports import T, a_call, the_mornings_calls, web_over_journal

TODAY = "/api/v1/tenants/nordlys/statistics/today"


class Proc:
    """What sentral.web reads from an EngineProcess: deployment, engine and live figures."""

    def __init__(self, deployment):
        self.deployment, self.engine, self.live = deployment, Engine(deployment), None


def after_hours(n: int, tenant: str, at) -> list[Journal]:
    ix = f"closed-{tenant}-{n}"
    return [Journal(ix, 1, "arrived", at, tenant, "", "", {"number": "4791520431"}),
            Journal(ix, 2, "overflowed", at, tenant, "", "", {"reason": "after_hours"}),
            Journal(ix, 3, "ended", at + timedelta(seconds=20), tenant, "", "", {"reason": "caller"})]


@pytest.fixture
def site(tmp_path, web_template, clock):
    rows = (the_mornings_calls()
            + a_call(5, "nordlys", "nordlys-switchboard", T - timedelta(days=1), 5.0)   # yesterday
            + after_hours(1, "nordlys", T - timedelta(hours=2)))
    app, store, proc = web_over_journal(tmp_path, web_template, clock, rows, proc_of=Proc)
    app.testing = True
    yield app, store, proc
    store.close()


def bearer(store, tenant: str, role: str) -> dict:
    return {"Authorization": f"Bearer {store.create_token('wall', tenant, role, created_by='test')[1]}"}


def test_the_api_gives_todays_figures_from_the_journal_then_the_rows_as_written(site, clock):
    app, store, proc = site
    api = app.test_client()
    auth = bearer(store, "nordlys", "operator")
    down = api.get(TODAY, headers=auth)
    assert down.status_code == 503 and down.get_json()["error"] == "action.engine_down"
    proc.live = live_statistics.seeded(store, lambda: proc.deployment, clock)
    got = api.get(TODAY, headers=auth)
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert (body["tenant"], body["date"]) == ("nordlys", "2026-03-10")
    assert {k: body[k] for k in ("calls", "offered", "answered", "answered_in_sl", "service_level", "abandoned",
                                 "short_abandoned", "after_hours", "direct_dial", "in_progress")} == {
        "calls": 4, "offered": 3, "answered": 2, "answered_in_sl": 1, "service_level": 0.5, "abandoned": 1,
        "short_abandoned": 1, "after_hours": 1, "direct_dial": 0, "in_progress": 0}
    assert (body["asa"], body["aht"], body["longest_wait"]) == (28.5, 95.0, 45.0)
    assert [q["queue"] for q in body["queues"]] == ["nordlys-switchboard"] and body["queues"][0]["answered"] == 2
    assert (body["queues"][0]["channel"], body["queues"][0]["service_level_target"]) == ("voice", 20.0)
    assert [(c["channel"], c["calls"], c["answered"]) for c in body["channels"]] == [("voice", 4, 2)]

    # a call is written while the page is open: the writer hands its rows on after the commit
    rows = a_call(6, "nordlys", "nordlys-switchboard", T + timedelta(hours=1), 4.0)
    store.append_journal(rows[:3])
    proc.live.add(rows[:3])
    now = api.get(TODAY, headers=auth).get_json()
    assert (now["calls"], now["answered"], now["answered_in_sl"], now["in_progress"]) == (5, 3, 2, 0)
    assert now["service_level"] == pytest.approx(2 / 3)
    proc.live.add(rows)                               # the same rows again, and the rest
    assert api.get(TODAY, headers=auth).get_json()["answered"] == 3

    assert api.get(TODAY, headers=bearer(store, "nordlys", "employee")).status_code == 403
    assert api.get(TODAY, headers=bearer(store, "fjordvik", "operator")).status_code == 403
    assert api.get(TODAY).status_code == 401
    fjordvik = api.get("/api/v1/tenants/fjordvik/statistics/today", headers=bearer(store, "fjordvik", "supervisor"))
    assert (fjordvik.get_json()["calls"], fjordvik.get_json()["answered"]) == (1, 1)


def test_the_wallboard_shows_a_today_line_per_agency(site, clock):
    app, store, proc = site
    proc.live = live_statistics.seeded(store, lambda: proc.deployment, clock)
    centre = logged_in(app, "centre")
    lines = {t["tenant"]: t for t in centre.get("/api/wallboard").get_json()["today"]}
    assert set(lines) == set(proc.deployment.tenants)
    nordlys = lines["nordlys"]
    assert {k: nordlys[k] for k in ("calls", "answered", "service_level", "abandoned", "after_hours")} == {
        "calls": 4, "answered": 2, "service_level": 0.5, "abandoned": 1, "after_hours": 1}
    assert nordlys["name"] == proc.deployment.tenants["nordlys"].name
    assert (lines["fjordvik"]["calls"], lines["fjordvik"]["after_hours"]) == (1, 0)

    siri = logged_in(app, "nl-super")
    assert [t["tenant"] for t in siri.get("/api/wallboard").get_json()["today"]] == ["nordlys"]
    socketio = app.extensions["socketio"]
    sio = socketio.test_client(app, namespace="/wallboard", flask_test_client=siri)
    pushed = [m for m in sio.get_received("/wallboard") if m["name"] == "wallboard"]
    assert pushed and pushed[0]["args"][0]["today"][0]["calls"] == 4
    sio.disconnect(namespace="/wallboard")

    page = siri.get("/wallboard").get_data(as_text=True)
    assert 'data-testid="today"' in page and ">I dag<" in page and ">Utenfor åpningstid<" in page
    english = siri.get("/wallboard?lang=en").get_data(as_text=True)
    assert ">Today<" in english and ">After hours<" in english

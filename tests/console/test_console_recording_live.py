"""Pausing a recording from the console and the REST API against a real engine process on the
simulator (over TCP, PostgreSQL), through the apps `sentral run` serves (sentral.web.run_apps):
the caller hears the notice, is answered by kari, the switch records; kari's console pauses
(the simulator's file is masked, the card says "Opptak pauset"), an API token resumes it
(unmasked), an employee's token is refused; the journal has both, with kari as the agent.
The recorder is left out (recordings=False): tests/acd/test_recording_sim.py covers the
notices it gets."""
from __future__ import annotations

import dataclasses

import pytest

from sentral.process import open_store
from tests.acd.conftest import MAIN_NUMBER, PASSWORD, sim_dialplan
from tests.api.conftest import bearer
from tests.console.conftest import console_deployment, live_console, login, received
from tests.console.test_console_recording import KEY, NOTICE
from tests.helpers import until

NS = "/console"


def recorded_deployment(port: int, recordings_dir: str, database_url: str = ""):
    d = console_deployment(port, database_url=database_url, ring_timeout=30)
    tenants = {tid: dataclasses.replace(t, record_calls=True, recording_notice=NOTICE, recording_key=KEY)
               for tid, t in d.tenants.items()}
    return dataclasses.replace(d, tenants=tenants, recordings_dir=recordings_dir)


@pytest.fixture
def sim():
    from tests.acd.test_recording_sim import answering_sim

    yield from answering_sim(sim_dialplan(recorded_deployment(0, "")))


@pytest.fixture
def live(sim, pg_url, tmp_path):
    deployment = recorded_deployment(sim.port, str(tmp_path / "rec"), pg_url)
    yield from live_console(deployment, open_store(pg_url), recordings=False)


def pushed_call(sio, masked: bool):
    def match():
        states = [s for s in received(sio, "console") if s.get("call")]
        call = states[-1]["call"] if states else None
        return call if call and call["recording"] and call["recording_masked"] is masked else None
    return match


def test_the_console_pauses_and_the_api_resumes_the_switchs_recording(sim, live):
    app, socketio, proc, store = live
    client = app.test_client()
    login(client, "kari")
    sio = socketio.test_client(app, namespace=NS, flask_test_client=client)
    assert sio.is_connected(NS)
    until(lambda: proc.engine.agents["a1000"].registered, timeout=10, message="phone registered")
    assert sio.emit("command", {"name": "login", "queues": ["helsedir-main"]}, namespace=NS, callback=True)["ok"]
    until(lambda: proc.engine.agents["a1000"].state.value == "available", timeout=10, message="available")

    caller = sim.place_call(MAIN_NUMBER, caller_number="4722241600", talk=None)
    ixid = until(lambda: proc.engine.by_leg.get(caller.uuid), timeout=10, message="call known")
    path = until(lambda: proc.engine.calls[ixid].recording_path, timeout=20, message="recording started")
    channel = sim.channels[caller.uuid]
    until(lambda: path in channel.recordings, timeout=10, message="the switch records")
    assert channel.recordings[path][1]["masked"] is False
    card = until(pushed_call(sio, False), timeout=10, message="recorded call pushed")
    assert card["recording_label"] == "Opptak"

    assert sio.emit("command", {"name": "recording_pause"}, namespace=NS, callback=True) == {"ok": True}
    until(lambda: channel.recordings[path][1]["masked"], timeout=10, message="the switch masks the file")
    card = until(pushed_call(sio, True), timeout=10, message="paused pushed")
    assert card["recording_label"] == "Opptak pauset"

    api = app.test_client()
    employee = bearer(store.create_token("x", "helsedir", "employee", "test")[1])
    assert api.post("/api/v1/agents/a1000/recording/resume", headers=employee).status_code == 403
    assert channel.recordings[path][1]["masked"] is True
    operator = bearer(store.create_token("crm", "helsedir", "operator", "test")[1])
    assert api.post("/api/v1/agents/a1000/recording/resume", headers=operator).status_code == 202
    until(lambda: not channel.recordings[path][1]["masked"], timeout=10, message="unmasked")
    until(pushed_call(sio, False), timeout=10, message="resumed pushed")
    assert received(sio, "refused") == []

    sim.hangup(caller.uuid)
    until(lambda: "recording_stopped" in [r.kind for r in store.journal(interaction=ixid)], timeout=20,
          message="journal has the stop")
    rows = [r for r in store.journal(interaction=ixid) if r.kind.startswith("recording_")]
    assert [(r.kind, r.agent) for r in rows] == [
        ("recording_started", "a1000"), ("recording_paused", "a1000"), ("recording_resumed", "a1000"),
        ("recording_stopped", "")]

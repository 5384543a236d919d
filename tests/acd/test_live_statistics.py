"""Live statistics end to end: a real engine process on the simulator writes its journal to
PostgreSQL; the API's figures of today (the app `sentral run` serves) show an answered call
within a second of the engine's decision, and a new engine process on the same database
shows the same figures at once (seeded from the journal), which are a report's of today."""
from __future__ import annotations

import time

import pytest

from engine.clock import utcnow
from reports.aggregate import limits_of
from reports.live import day_bounds
from reports.report import build
from sentral import web
from sentral.app import EngineProcess
from sentral.process import open_store
from tests.acd.conftest import MAIN_NUMBER, a_deployment
from tests.helpers import until

FIGURES = ("calls", "offered", "answered", "answered_in_sl", "service_level", "abandoned", "short_abandoned",
           "after_hours", "direct_dial", "asa", "aht", "longest_wait", "in_progress")


def api_of(store, proc, deployment):
    apps = {name: app for name, _, app in web.run_apps(store, proc, deployment,
                                                       web.WebOptions(web=("127.0.0.1", 0)))}
    client = apps["web"].test_client()
    auth = {"Authorization": f"Bearer {store.create_token('wallboard', 'helsedir', 'operator', 'test')[1]}"}

    def today() -> dict:
        answer = client.get("/api/v1/tenants/helsedir/statistics/today", headers=auth)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()
    return today


@pytest.fixture
def running(simulator, pg_url):
    deployment = a_deployment(simulator.port, agents=("1000",), database_url=pg_url)
    simulator.add_user("1000", action="answer", ring=1.0)
    stores, procs = [], []

    def start():
        store = open_store(pg_url)
        proc = EngineProcess(deployment, store, login_all=True).start(ready_timeout=10)
        stores.append(store)
        procs.append(proc)
        until(lambda: proc.engine.agents["a1000"].state.value == "available", message="agent available")
        return store, proc, api_of(store, proc, deployment)
    try:
        yield deployment, start
    finally:
        for proc in procs:
            proc.stop()
        for store in stores:
            store.close()


def test_an_answered_call_is_in_todays_figures_within_a_second_and_after_a_restart(simulator, running, capsys):
    deployment, start = running
    store, proc, today = start()
    before = today()
    assert (before["calls"], before["answered"]) == (0, 0)

    caller = simulator.place_call(MAIN_NUMBER, caller_number="4791234567", talk=None)
    until(lambda: caller.uuid in proc.engine.by_leg, message="engine took the call")
    ixid = proc.engine.by_leg[caller.uuid]
    until(lambda: proc.engine.calls[ixid].answered_at is not None, timeout=10, message="agent answered")
    decided = time.monotonic()                      # the engine decided; the row goes through the writer
    shown = until(lambda: (f := today())["answered"] == 1 and f, timeout=1.0,
                  message="the API shows the answer within a second")
    latency = time.monotonic() - decided
    answered = next(r for r in store.journal(interaction=ixid) if r.kind == "answered")
    since_row = (utcnow() - answered.at).total_seconds()
    with capsys.disabled():
        print(f"\nlive figures: answered shown {latency * 1000:.0f} ms after the engine's answer "
              f"(journal row at -> API: <= {since_row * 1000:.0f} ms)")
    assert (shown["calls"], shown["offered"], shown["in_progress"]) == (1, 1, 0)

    simulator.hangup(caller.uuid)
    until(lambda: "ended" in [r.kind for r in store.journal(interaction=ixid)], timeout=10, message="call ended")
    ended = until(lambda: (f := today())["aht"] is not None and f, timeout=1.0, message="talk counted")
    figures = {name: ended[name] for name in FIGURES}
    assert figures["answered"] == 1 and figures["aht"] > 0

    start_, end = day_bounds(utcnow())
    report = build("agency", store.journal_of_period(start_, end), start_, end, "1d",
                   limits_of(deployment), tenant="helsedir").total
    assert figures == {name: report[name] for name in FIGURES}, "the same as a report of today"

    proc.stop()
    store2, proc2, today2 = start()                 # a new engine process on the same database
    assert proc2 is not proc and proc2.live is not proc.live
    assert {name: today2()[name] for name in FIGURES} == figures

"""Today's counts survive a restart and equal the journal: calls run through the real stack
(simulator over TCP, PostgreSQL), the engine process stops, a new one starts on the same
store and shows the same answered / abandoned / service level."""
from __future__ import annotations

from engine import views
from sentral.app import EngineProcess
from sentral.process import open_store
from tests.acd.conftest import MAIN_NUMBER, a_deployment
from tests.helpers import until

QUEUE = "helsedir-main"


def _figures(proc) -> tuple:
    v = views.queue(proc.engine, QUEUE)
    return v["answered"], v["abandoned"], v["service_level"]


def _start(deployment, store) -> EngineProcess:
    proc = EngineProcess(deployment, store, login_all=True).start(ready_timeout=10)
    until(lambda: proc.engine.agents["a1000"].state.value == "available", message="agent available")
    return proc


def test_given_answered_and_abandoned_calls_when_engine_restarts_then_counts_equal_the_journal(simulator, pg_url):
    deployment = a_deployment(simulator.port, agents=("1000",), database_url=pg_url)
    simulator.add_user("1000", action="answer", ring=1.0)
    store = open_store(pg_url)
    proc = _start(deployment, store)
    try:
        talking = simulator.place_call(MAIN_NUMBER, caller_number="4791234567", talk=None)
        until(lambda: any(ix.bridged for ix in proc.engine.calls.values()), timeout=10, message="first call bridged")
        waiting = simulator.place_call(MAIN_NUMBER, caller_number="4792222222", talk=None)
        until(lambda: any(ix.uuid == waiting.uuid and ix.state.value == "queued" for ix in proc.engine.calls.values()),
              timeout=10, message="second caller queued behind the first")
        simulator.hangup(waiting.uuid)                    # abandoned in the queue
        simulator.hangup(talking.uuid)
        until(lambda: not proc.engine.calls, timeout=10, message="both calls over")
        until(lambda: sum(1 for r in store.journal() if r.kind == "ended") == 2, timeout=10, message="journal written")
        before = _figures(proc)
        assert before[:2] == (1, 1)
    finally:
        proc.stop()
    proc = _start(deployment, store)
    try:
        assert _figures(proc) == before
        rows = store.journal()
        assert _figures(proc)[:2] == (sum(1 for r in rows if r.kind == "answered"),
                                      sum(1 for r in rows if r.kind == "abandoned" and r.data.get("stage") != "arrived"))
    finally:
        proc.stop()
        store.close()

"""The engine process folds its journal into the stored report aggregates by itself
(reports/aggregate.Folder, every `fold_every` seconds): calls run through the real stack
(simulator over TCP, PostgreSQL) show up in figures_between from the stored figures, with
nothing left to fold."""
from __future__ import annotations

from datetime import timedelta

from reports.aggregate import figures_between, limits_of, nonzero
from reports.figures import count
from sentral.app import EngineProcess
from sentral.process import open_store
from store import report_figures as rf
from tests.acd.conftest import MAIN_NUMBER, a_deployment
from tests.helpers import until


def _position(store) -> int:
    with store.engine.connect() as conn:
        position = rf.read_position(conn)
        return position.journal_id if position else 0


def _last_id(store) -> int:
    with store.engine.connect() as conn:
        return rf.max_journal_id(conn)


def test_the_engine_process_folds_its_calls_into_the_report_aggregates(simulator, pg_url):
    deployment = a_deployment(simulator.port, agents=("1000",), database_url=pg_url)
    simulator.add_user("1000", action="answer", ring=1.0)
    store = open_store(pg_url)
    proc = EngineProcess(deployment, store, login_all=True, fold_every=0.05).start(ready_timeout=10)
    try:
        until(lambda: proc.engine.agents["a1000"].state.value == "available", message="agent available")
        call = simulator.place_call(MAIN_NUMBER, caller_number="4791234567", talk=None)
        until(lambda: any(ix.bridged for ix in proc.engine.calls.values()), timeout=10, message="call bridged")
        simulator.hangup(call.uuid)
        until(lambda: any(r.kind == "ended" for r in store.journal()), timeout=10, message="call ended")
        # the stored position moves at the fold's commit; the folder counts its rows just after
        until(lambda: _position(store) == _last_id(store) and proc.folder.rows >= len(store.journal()),
              timeout=10, message="the engine folded its journal")
        assert proc.folder.errors == 0
    finally:
        proc.stop()
    rows = store.journal()
    start, end = rows[0].at - timedelta(hours=1), rows[-1].at + timedelta(hours=1)
    limits = limits_of(deployment)
    with store.engine.connect() as conn:
        stored = conn.execute(rf.FIGURES_TABLE.select().where(rf.FIGURES_TABLE.c.scope == "agency")).all()
    assert [(r.tenant, r.calls, r.answered) for r in stored] == [("helsedir", 1, 1)]
    assert figures_between(store, start, end, limits) == nonzero(count(rows, limits), start, end)
    assert proc.folder._greenlet.dead
    store.close()

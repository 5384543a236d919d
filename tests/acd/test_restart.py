"""Restart without losing a call: a real `sentral run` process is SIGKILLed while calls
wait and talk in the simulator, then started again (issue 3, item 6)."""
from __future__ import annotations

import signal

import pytest

from store.store import Store
from tests.acd.conftest import MAIN_NUMBER
from tests.acd.engine_proc import CONFIG, EngineProc
from tests.helpers import until


@pytest.fixture
def engine_proc(simulator, pg_url, tmp_path):
    proc = EngineProc(simulator.port, pg_url, tmp_path / "engine.log")
    try:
        yield proc
    finally:
        proc.stop()


def _talking(sim, callers):
    return [c for c in callers if sim.channels.get(c.uuid) is not None and sim.channels[c.uuid].bridged is not None]


def test_given_calls_waiting_and_talking_when_engine_sigkilled_and_restarted_then_no_call_lost(
        simulator, engine_proc, pg_url):
    simulator.add_user("1000", action="answer", ring=0.5)
    simulator.add_user("1001", action="answer", ring=0.5)
    engine_proc.start()
    callers = []
    for i in range(5):
        callers.append(simulator.place_call(MAIN_NUMBER, caller_number=f"479000000{i}"))
        if i < 2:  # the first two reach an agent, in order; the other three queue behind them
            until(lambda: len(_talking(simulator, callers)) == i + 1, timeout=20, message=f"caller {i} talking")
    store = Store(pg_url)
    try:
        until(lambda: sum(1 for r in store.open_interactions() if r.state == "queued") == 3,
              timeout=20, message=lambda: f"three callers queued: {[r.state for r in store.open_interactions()]}")
        waiting_before = {r.caller_uuid: r.entered_at for r in store.open_interactions() if r.state == "queued"}

        engine_proc.kill()
        assert all(c.uuid in simulator.channels for c in callers), "a call died with the engine"
        engine_proc.start()
        assert "1 agent" not in engine_proc.log()  # sanity: the log is the new process's too
        waiting_after = {r.caller_uuid: r.entered_at for r in store.open_interactions() if r.state == "queued"}
        assert waiting_after == waiting_before, "waiting callers kept their place and wait time"

        # the first talking caller hangs up: its agent wraps up and takes the longest waiting caller
        simulator.hangup(callers[0].uuid)
        until(lambda: callers[2] in _talking(simulator, callers), timeout=20, message="oldest waiting caller served")
        assert callers[3] not in _talking(simulator, callers) and callers[4] not in _talking(simulator, callers)
        for c in callers[1:]:
            simulator.hangup(c.uuid)
        until(lambda: not store.open_interactions(), timeout=20, message="every interaction closed")
        assert all(c.uuid not in simulator.channels for c in callers)
        assert store.verify_journal() == []
        rows = store.journal()
        per_call = {}
        for row in rows:
            per_call.setdefault(row.interaction, []).append(row.kind)
        assert len(per_call) == 5
        for kinds in per_call.values():
            assert kinds.count("entered_queue") == 1 and kinds.count("ended") == 1, kinds
        assert sum(k.count("answered") for k in per_call.values()) == 3
        assert sum(k.count("abandoned") for k in per_call.values()) == 2
        assert not [ch for ch in simulator.channels.values() if ch.variables.get("cc_caller_uuid")], "ghost agent legs"
    finally:
        store.close()


def test_given_running_engine_when_config_reloaded_by_sighup_then_calls_untouched_and_bad_file_refused(
        simulator, pg_url, tmp_path):
    config = tmp_path / "deployment.yaml"
    config.write_text(CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    proc = EngineProc(simulator.port, pg_url, tmp_path / "engine.log", config)
    simulator.add_user("1000", action="answer", ring=0.2)
    simulator.add_user("1002", action="answer", ring=0.2)
    try:
        proc.start()
        first = simulator.place_call(MAIN_NUMBER, caller_number="4790000001")
        until(lambda: len(_talking(simulator, [first])) == 1, timeout=20, message="first caller talking")
        second = simulator.place_call(MAIN_NUMBER, caller_number="4790000002")
        # a new agent arrives in the file; the waiting caller reaches them once they log in
        text = config.read_text(encoding="utf-8")
        config.write_text(text + '  - {id: a1002, name: Agent 1002, extension: "1002", '
                                 'a1_hash: 00000000000000000000000000000002, queues: [helsedir-main]}\n',
                          encoding="utf-8")
        proc.proc.send_signal(signal.SIGHUP)
        until(lambda: "agent a1002 added" in proc.log(), timeout=20, message="reload logged")
        assert len(_talking(simulator, [first])) == 1, "the talking call was not touched"
        config.write_text("version: 1\ntenants: [{id: x}]\nnonsense: true\n", encoding="utf-8")
        proc.proc.send_signal(signal.SIGHUP)
        until(lambda: "reload refused" in proc.log(), timeout=20, message="bad file refused")
        assert proc.proc.poll() is None
        simulator.hangup(first.uuid)
        until(lambda: len(_talking(simulator, [second])) == 1, timeout=20, message="second caller served")
        simulator.hangup(second.uuid)
    finally:
        proc.stop()

"""A whole call through the real stack: simulator over TCP -> node pool -> engine ->
executor -> simulator, journal on PostgreSQL."""
from __future__ import annotations

import pytest

from sentral.app import EngineProcess
from sentral.process import open_store
from tests.acd.conftest import MAIN_NUMBER, a_deployment
from tests.helpers import until


def _kinds(store, interaction):
    return [row.kind for row in store.journal(interaction=interaction)]


@pytest.fixture
def one_agent(simulator, pg_url):
    """The engine process with agent 1000 (answers after 1 s, scaled) available: (store, proc)."""
    deployment = a_deployment(simulator.port, agents=("1000",), database_url=pg_url)
    simulator.add_user("1000", action="answer", ring=1.0)
    store = open_store(pg_url)
    proc = EngineProcess(deployment, store, login_all=True).start(ready_timeout=10)
    try:
        until(lambda: proc.engine.agents["a1000"].state.value == "available", message="agent available")
        yield store, proc
    finally:
        proc.stop()
        store.close()


def test_given_free_agent_when_caller_dials_main_number_then_bridged_and_journal_exact(simulator, one_agent):
    store, proc = one_agent
    caller = simulator.place_call(MAIN_NUMBER, caller_number="4791234567", talk=None)
    until(lambda: caller.uuid in proc.engine.by_leg, message="engine took the call")
    ixid = proc.engine.by_leg[caller.uuid]
    until(lambda: "answered" in _kinds(store, ixid), timeout=10, message="agent answered")
    agent_leg = proc.engine.calls[ixid].agent_leg
    assert simulator.channels[agent_leg].variables.get("cc_caller_uuid") == caller.uuid
    simulator.hangup(caller.uuid)
    until(lambda: ixid not in proc.engine.calls, timeout=10, message="call ended")
    until(lambda: "ended" in _kinds(store, ixid), timeout=10, message="journal closed")
    kinds = _kinds(store, ixid)
    assert kinds[0] == "entered_queue" or "entered_queue" in kinds
    assert kinds.count("answered") == 1 and kinds.count("ended") == 1
    assert store.verify_journal(ixid) == []
    until(lambda: store.interaction(ixid).ended_at is not None, message="record closed")
    record = store.interaction(ixid)
    assert (record.caller_uuid, record.agent_uuid) == (caller.uuid, agent_leg)   # kept after the call
    until(lambda: agent_leg not in simulator.channels, message="no ghost agent leg")


def test_given_agent_ringing_when_caller_hangs_up_then_agent_leg_cancelled_over_tcp(simulator, pg_url):
    deployment = a_deployment(simulator.port, agents=("1000",), database_url=pg_url, ring_timeout=30)
    simulator.add_user("1000", action="answer", ring=500.0)  # 10 s at the fixture's time factor
    store = open_store(pg_url)
    proc = EngineProcess(deployment, store, login_all=True).start(ready_timeout=10)
    try:
        until(lambda: proc.engine.agents["a1000"].state.value == "available", message="agent available")
        caller = simulator.place_call(MAIN_NUMBER, caller_number="4791234567")
        until(lambda: proc.engine.agents["a1000"].state.value == "offered", timeout=10, message="agent rings")
        agent_legs = lambda: [ch for ch in simulator.channels.values()
                              if ch.variables.get("cc_caller_uuid") == caller.uuid]
        until(agent_legs, message="agent leg exists in the switch")
        simulator.hangup(caller.uuid)
        until(lambda: not agent_legs(), timeout=10, message="agent leg cancelled: no ghost call")
        until(lambda: proc.engine.agents["a1000"].state.value == "available", timeout=10, message="agent free")
        ixid = store.journal()[0].interaction
        until(lambda: "ended" in _kinds(store, ixid), timeout=10, message="journal closed")
        kinds = _kinds(store, ixid)
        assert "abandoned" in kinds and "answered" not in kinds
        assert store.verify_journal(ixid) == []
    finally:
        proc.stop()
        store.close()


def test_given_waiting_caller_when_switch_connection_restarts_then_node_lost_resynced_and_caller_served(
        simulator, pg_url):
    deployment = a_deployment(simulator.port, agents=("1000",), database_url=pg_url)
    simulator.add_user("1000", action="answer", ring=5.0)
    store = open_store(pg_url)
    proc = EngineProcess(deployment, store, login_all=True).start(ready_timeout=10)
    try:
        until(lambda: proc.engine.agents["a1000"].state.value == "available", message="agent available")
        simulator.unregister("1000")   # nobody can take the call yet: it waits
        until(lambda: proc.engine.agents["a1000"].registered is False, message="phone unregistered")
        caller = simulator.place_call(MAIN_NUMBER, caller_number="4791234567")
        until(lambda: caller.uuid in proc.engine.by_leg, message="call queued")
        ixid = proc.engine.by_leg[caller.uuid]
        connections = proc.pool["fs1"].connections
        simulator.add_user("1000", action="answer", ring=5.0)   # registers again while we are away
        simulator.restart(keep_channels=True)
        until(lambda: proc.pool["fs1"].connections > connections, timeout=15, message="reconnected")
        until(lambda: caller.uuid in simulator.channels and simulator.channels[caller.uuid].bridged is not None,
              timeout=15, message="the waiting caller reached the agent after the resync")
        assert proc.engine.by_leg[caller.uuid] == ixid, "same interaction: place kept across the reconnect"
        simulator.hangup(caller.uuid)
        until(lambda: "ended" in _kinds(store, ixid), timeout=10, message="journal closed")
        assert store.verify_journal(ixid) == []
    finally:
        proc.stop()
        store.close()


def test_given_a_talking_call_when_the_connection_drops_during_the_resync_then_the_call_is_kept(simulator, one_agent):
    """A snapshot whose uuid_dumps fail because the Event Socket dropped again must not be
    taken for 'no channels': the talking call would be closed (and hung up) while alive."""
    store, proc = one_agent
    caller = simulator.place_call(MAIN_NUMBER, caller_number="4791234567", talk=None)
    until(lambda: caller.uuid in proc.engine.by_leg and proc.engine.calls[proc.engine.by_leg[caller.uuid]].bridged,
          timeout=10, message="caller talking")
    ixid = proc.engine.by_leg[caller.uuid]
    node = proc.pool["fs1"]
    before = node.connections
    simulator.faults.drop("uuid_dump")          # the next resync's first dump: the connection drops
    simulator.disconnect_all()
    until(lambda: node.connections >= before + 1 and node.connected and not proc.engine.down_nodes,
          timeout=20, message="resynced on a good connection")
    assert not simulator.faults.drops, "the resync met the dropped dump"
    ix = proc.engine.calls.get(ixid)
    assert ix is not None and ix.state.value == "connected", "the talking call was closed"
    assert caller.uuid in simulator.channels and simulator.channels[caller.uuid].bridged is not None
    assert "talk_ended" not in _kinds(store, ixid)
    simulator.hangup(caller.uuid)
    until(lambda: "ended" in _kinds(store, ixid), timeout=10, message="journal closed")
    assert _kinds(store, ixid).count("talk_ended") == 1

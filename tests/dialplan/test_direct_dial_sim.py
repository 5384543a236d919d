"""Direct dial through the whole stack: the simulator runs the routes compiled from the
configuration (dialplan.simulated), the engine process serves the fallback.

A caller dials an employee's direct number; the employee's phone (behind the agency's
PBX trunk) does not answer or is busy, so the call falls back to the agency's
switchboard queue, tagged, and is offered to the operator. An answered direct call
never reaches the engine."""
from __future__ import annotations

import pytest

from dialplan.loader import load
from dialplan.simulated import sim_dialplan
from sentral.app import EngineProcess
from sentral.process import open_store
from tests.dialplan.files import write
from tests.helpers import until

PASSWORD = "test-secret"
CONFIG = """\
trunks:
  - {name: fjordvik-pbx, proxy: "192.0.2.20"}
tenants:
  - id: fjordvik
    name: Fjordvik kommune
    numbers: ["22001000"]
    recording: {enabled: false}
    direct_dial:
      ring_timeout: 10s
      numbers:
        - {pattern: '^(2200\\d\\d\\d\\d)$', trunk: fjordvik-pbx, dial: "$1"}
    queues:
      - {id: fjordvik-switchboard, ring_timeout: 20s, wrapup: 1s, announcements: {every: 0}}
agents:
  - {id: kari, name: Kari, extension: "1000", queues: {fjordvik-switchboard: 1}}
"""


@pytest.fixture
def stack(tmp_path, pg_url):
    from esl.sim.server import Simulator

    deployment = load(write(tmp_path, CONFIG), {})
    sim = Simulator(password=PASSWORD, time_factor=0.05, heartbeat_interval=1.0, dialplan=sim_dialplan(deployment))
    sim.start()
    sim.add_user("1000", action="answer", ring=1.0)
    import dataclasses

    from engine.config import NodeConfig
    deployment = dataclasses.replace(deployment, database_url=pg_url,
                                     nodes=(NodeConfig("fs1", "127.0.0.1", sim.port, PASSWORD),))
    store = open_store(pg_url)
    proc = EngineProcess(deployment, store, login_all=True).start(ready_timeout=10)
    try:
        until(lambda: proc.engine.agents["kari"].state.value == "available", message="operator available")
        yield sim, store, proc
    finally:
        proc.stop()
        store.close()
        sim.stop()


@pytest.mark.parametrize("phone, cause", [("noanswer", "NO_ANSWER"), ("busy", "USER_BUSY")])
def test_given_employee_does_not_answer_when_direct_dialled_then_call_lands_in_the_switchboard_queue(
        stack, phone, cause):
    sim, store, proc = stack
    sim.add_phone("22001234", action=phone, ring=2.0)
    caller = sim.place_call("22001234", caller_number="4791234567", talk=None)
    until(lambda: caller.uuid in proc.engine.by_leg, timeout=15, message="the fallback reached the engine")
    ixid = proc.engine.by_leg[caller.uuid]
    call = proc.engine.calls[ixid]
    assert (call.tenant, call.queue, call.destination) == ("fjordvik", "fjordvik-switchboard", "22001234")
    assert caller.variables["cc_direct_dial"] == "22001234"
    assert caller.variables["cc_direct_cause"] == cause
    assert "hangup_after_bridge" not in caller.variables and "continue_on_fail" not in caller.variables
    until(lambda: "answered" in [r.kind for r in store.journal(interaction=ixid)], timeout=15,
          message="the operator answered the fallback")
    arrived = [r for r in store.journal(interaction=ixid) if r.kind == "arrived"]
    assert len(arrived) == 1 and arrived[0].data.get("destination") == "22001234"
    assert arrived[0].data.get("direct_dial") == "22001234" and arrived[0].data.get("direct_cause") == cause
    sim.hangup(caller.uuid)
    until(lambda: ixid not in proc.engine.calls, timeout=10, message="call ended")


@pytest.mark.parametrize("who_ends", ["caller", "employee"])
def test_given_employee_answers_when_direct_dialled_then_engine_never_sees_the_call(stack, who_ends):
    sim, store, proc = stack
    sim.add_phone("22001235", action="answer", ring=1.0, talk=None if who_ends == "caller" else 20.0)
    caller = sim.place_call("22001235", caller_number="4791234567", talk=None)
    until(lambda: caller.bridged is not None, timeout=10, message="caller talks to the employee")
    assert "22001235" in caller.bridged.name
    if who_ends == "caller":
        sim.hangup(caller.uuid)
    until(lambda: caller.uuid not in sim.channels, timeout=10, message="direct call over")
    assert caller.hangup_cause == "NORMAL_CLEARING"
    assert caller.uuid not in proc.engine.by_leg and store.journal() == []

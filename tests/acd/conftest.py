"""ACD over real TCP: the simulator in this process (gevent), the engine's composition
root in this process or as a real `sentral run` process, PostgreSQL as the store."""
from __future__ import annotations

import pytest

from dialplan.compile import entry_variables
from engine.config import (AgentConfig, Deployment, EntryPoint, NodeConfig, OpeningHours, Overflow,
                           OverflowKind, QueueConfig, Strategy, TenantConfig)

PASSWORD = "test-secret"
MAIN_NUMBER = "22001000"


def a_deployment(port: int, *, agents=("1000", "1001"), ring_timeout=5.0, wrapup=0.2,
                 strategy=Strategy.LONGEST_IDLE, max_wait=600.0, database_url="") -> Deployment:
    tenant = TenantConfig("helsedir", "Helsedirektoratet", caller_id_name="Helsedir",
                          opening_hours=OpeningHours(always_open=True),
                          recording_notice="sentral/recording-notice.wav", record_calls=False)
    queue = QueueConfig("helsedir-main", "helsedir", "Sentralbord", strategy=strategy,
                        ring_timeout=ring_timeout, wrapup=wrapup, max_wait=max_wait,
                        announce_every=0, overflow=Overflow(OverflowKind.MESSAGE, prompt="sentral/closed.wav"))
    return Deployment(
        tenants={"helsedir": tenant}, queues={queue.id: queue},
        agents={f"a{ext}": AgentConfig(f"a{ext}", f"Agent {ext}", ext, {queue.id: 1}) for ext in agents},
        entry_points={MAIN_NUMBER: EntryPoint(MAIN_NUMBER, "helsedir", queue.id)},
        nodes=(NodeConfig("fs1", "127.0.0.1", port, PASSWORD),), database_url=database_url,
    )


def sim_dialplan(deployment: Deployment) -> dict:
    return {number: entry_variables(entry) for number, entry in deployment.entry_points.items()}


@pytest.fixture
def simulator():
    from esl.sim.server import Simulator

    sim = Simulator(password=PASSWORD, time_factor=0.02, heartbeat_interval=1.0,
                    dialplan=sim_dialplan(a_deployment(0)))
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()

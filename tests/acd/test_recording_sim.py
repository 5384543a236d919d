"""A recorded call through the real stack: the simulator over TCP (racing as the real switch,
or in chaos mode) -> node pool -> engine -> executor -> simulator; PostgreSQL as the store.

The story: a caller hears the notice and is answered; the engine starts a stereo
recording on the caller's leg (RECORD_START reaches it), the operator pauses and resumes
it (the switch's file is masked, then not), the caller hangs up: RECORD_STOP reaches the
engine and its `recording_stopped` notice names the file the switch wrote, two channels.
The recorder itself is left out (recordings=False): what is checked is what the engine
tells it.
"""
from __future__ import annotations

import wave

import pytest

from engine import events as ev
from engine import handlers
from engine.clock import utcnow
from engine.config import (AgentConfig, Deployment, EntryPoint, NodeConfig, OpeningHours, QueueConfig,
                           TenantConfig)
from engine.recording import key_id
from esl.sim.server import Simulator
from esl.sim.timing import Timing
from sentral.app import EngineProcess
from sentral.process import open_store
from tests.acd.conftest import MAIN_NUMBER, PASSWORD, sim_dialplan
from tests.helpers import until

KEY = "age1gjtn8gq6l2vkgfvsujjkwzru9etqmsdjdjn0dj92vudcnmxu5guqnv4zgh"   # tests/data/acd's test-only key
NOTICE = "sentral/recording-notice.wav"


def recorded_deployment(port: int, recordings_dir: str, database_url: str = "") -> Deployment:
    tenant = TenantConfig("helsedir", "Helsedirektoratet", opening_hours=OpeningHours(always_open=True),
                          recording_notice=NOTICE, recording_key=KEY, recording_retention_days=30)
    queue = QueueConfig("helsedir-main", "helsedir", "Sentralbord", ring_timeout=5.0, wrapup=0.2, announce_every=0)
    return Deployment(tenants={"helsedir": tenant}, queues={queue.id: queue},
                      agents={"a1000": AgentConfig("a1000", "Agent 1000", "1000", {queue.id: 1})},
                      entry_points={MAIN_NUMBER: EntryPoint(MAIN_NUMBER, "helsedir", queue.id)},
                      nodes=(NodeConfig("fs1", "127.0.0.1", port, PASSWORD),), database_url=database_url,
                      recordings_dir=recordings_dir)


@pytest.fixture(params=["race", "chaos-3", "chaos-11"])
def sim(request):
    mode = request.param
    kwargs = {"timing": Timing.real()} if mode == "race" else {"chaos": int(mode.split("-")[1])}
    yield from answering_sim(sim_dialplan(recorded_deployment(0, "")), **kwargs)


def answering_sim(dialplan, **kwargs):
    """A simulator with the notice's play time and agent 1000 answering (fixture body)."""
    s = Simulator(password=PASSWORD, time_factor=0.02, heartbeat_interval=1.0, prompts={NOTICE: 10},
                  dialplan=dialplan, **kwargs).start()
    s.add_user("1000", action="answer", ring=10)          # 0.2 s at time_factor 0.02; talks until hung up
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def seen_starts(monkeypatch):
    """RecordingStarted events as the engine's handler receives them."""
    seen: list = []
    original = handlers.HANDLERS[ev.RecordingStarted]

    def spy(eng, e):
        seen.append(e)
        original(eng, e)
    monkeypatch.setitem(handlers.HANDLERS, ev.RecordingStarted, spy)
    return seen


def test_a_recorded_call_starts_pauses_resumes_and_stops_with_the_notices_the_recorder_needs(
        sim, pg_url, tmp_path, seen_starts):
    notices: list = []
    deployment = recorded_deployment(sim.port, str(tmp_path / "rec"), pg_url)
    store = open_store(pg_url)
    proc = EngineProcess(deployment, store, login_all=True, notify=notices.append, recordings=False)
    proc.start(ready_timeout=10)
    try:
        def topic(name):
            return [dict(n.payload) for n in notices if n.topic == name]

        until(lambda: proc.engine.agents["a1000"].state.value == "available", message="agent available")
        caller = sim.place_call(MAIN_NUMBER, caller_number="4791234567", talk=None)
        (started,) = until(lambda: topic("recording_started"), timeout=20, message="recording started")
        path = started["path"]
        assert path == f"{tmp_path}/rec/spool/helsedir/{started['id']}.wav"
        assert (started["uuid"], started["agent"], started["tenant"], started["queue"]) == (
            caller.uuid, "a1000", "helsedir", "helsedir-main")
        assert (started["key_id"], started["public_key"], started["retention_days"]) == (key_id(KEY), KEY, 30)
        assert started["interaction"] == proc.engine.by_leg[caller.uuid]
        until(lambda: [e for e in seen_starts if e.path == path and e.uuid == caller.uuid], timeout=10,
              message="RECORD_START reached the engine")
        channel = sim.channels[caller.uuid]
        assert channel.variables.get("RECORD_STEREO") == "true"
        assert channel.variables.get("cc_recording") == started["id"]

        proc.runtime.post(ev.RecordingPause("a1000", utcnow()))
        until(lambda: channel.recordings[path][1]["masked"], timeout=10, message="the switch masks the file")
        proc.runtime.post(ev.RecordingResume("a1000", utcnow()))
        until(lambda: not channel.recordings[path][1]["masked"], timeout=10, message="unmasked")

        sim.hangup(caller.uuid)
        (stopped,) = until(lambda: topic("recording_stopped"), timeout=20, message="RECORD_STOP reached the engine")
        assert (stopped["id"], stopped["path"], stopped["node"], stopped["cause"]) == (
            started["id"], path, "fs1", "success-silence")
        assert stopped["ended_at"] >= started["started_at"]
        with wave.open(path) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)
        ixid = started["interaction"]
        until(lambda: "recording_stopped" in [r.kind for r in store.journal(interaction=ixid)], timeout=10,
              message="journal has the stop")
        kinds = [r.kind for r in store.journal(interaction=ixid)]
        assert kinds.index("notice_played") < kinds.index("bridged") < kinds.index("recording_started")
        assert [k for k in kinds if k.startswith("recording_")] == [
            "recording_started", "recording_paused", "recording_resumed", "recording_stopped"]
    finally:
        proc.stop()
        store.close()

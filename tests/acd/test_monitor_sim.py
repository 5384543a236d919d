"""Supervisor monitoring over real TCP: `sentral run`'s composition as a child process
(tests/acd/console_engine.py: supervisor commands posted into its inbox as agent_ui.actions
does) against the simulator in this process, PostgreSQL as the store; the simulator races as
the real switch (Timing.real()) or in chaos mode (two seeds).

The story (agents a1000 and a1001 serve the queue, both logged in; either is the other's
supervisor): a caller is answered by agent X; Y listens, whispers, barges (the simulator's
eavesdrop on X's leg switches 0 -> 2 -> 3); a second caller meanwhile is not offered to Y;
Y hangs up (the call goes on) and is offered that caller at once; Y monitors again and the
call ends (the eavesdrop ends, Y's leg goes); a monitor survives an engine SIGKILL and
restart (adopted: a mode change reaches the same leg; MonitorEnd hangs it up); last, a
CallbackCreate: an agent is offered the callback and, answered, the number is dialled.
At the end the journal verifies and no channel is left.
"""
from __future__ import annotations

import pytest

from esl.sim.server import Simulator
from esl.sim.timing import Timing
from store.store import Store
from tests.acd.conftest import MAIN_NUMBER, PASSWORD, sim_dialplan, a_deployment
from tests.acd.engine_proc import CONFIG, EngineProc
from tests.acd.test_chaos_control import Console
from tests.helpers import until

AGENTS = ("1000", "1001")
CALLBACK_NUMBER = "4791234567"
QUEUE = "helsedir-main"


@pytest.fixture(params=["race", "chaos-3", "chaos-11"])
def sim(request):
    mode = request.param
    kwargs = {"timing": Timing.real()} if mode == "race" else {"chaos": int(mode.split("-")[1])}
    s = Simulator(password=PASSWORD, time_factor=0.02, heartbeat_interval=1.0,
                  dialplan=sim_dialplan(a_deployment(0)), **kwargs).start()
    for ext in AGENTS:
        s.add_user(ext, action="answer", ring=10)          # 0.2 s at time_factor 0.02; talk until hung up
    s.add_phone(CALLBACK_NUMBER, "answer", ring=10)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def engine(sim, pg_url, tmp_path):
    proc = EngineProc(sim.port, pg_url, tmp_path / "engine.log", CONFIG, console=True)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


class Story:
    def __init__(self, sim, engine, pg_url):
        self.sim, self.engine = sim, engine
        self.store = Store(pg_url)
        self.console = Console(engine)
        self.ids: dict[str, str] = {}

    # the switch --------------------------------------------------------------------------
    def live(self, uuid: str) -> bool:
        ch = self.sim.channels.get(uuid)
        return ch is not None and not ch.hanging

    def partner(self, uuid: str):
        ch = self.sim.channels.get(uuid)
        return ch.bridged if ch is not None and not ch.hanging else None

    def answered_by(self, caller: str) -> tuple[str, str]:
        """The agent (a1000/a1001) and their leg talking with `caller`."""
        leg = until(lambda: self.partner(caller), timeout=20, message=f"caller {caller[:8]} talking")
        return leg.variables["cc_agent"], leg.uuid

    def monitor_legs(self, target: str) -> list:
        return [ch for ch in list(self.sim.channels.values())
                if ch.variables.get("cc_monitor") == target and not ch.hanging]

    def eavesdrop_on(self, target: str):
        """The one running eavesdrop on `target` (its leg rung, answered and listening)."""
        def running():
            legs = [ch for ch in self.monitor_legs(target) if getattr(ch, "eavesdrop", None) is not None]
            return legs[0] if len(legs) == 1 else None
        return until(running, timeout=20, message=lambda: f"eavesdrop on {target[:8]}: {self.monitor_legs(target)}")

    def mode(self, leg) -> tuple:
        state = getattr(leg, "eavesdrop", None)
        return (state.mode, state.speaks_to_target, state.speaks_to_other) if state is not None else None

    def phone_legs(self, agent: str) -> list[str]:
        """Live legs ringing or talking on `agent`'s phone that are calls (not eavesdrops)."""
        return [ch.uuid for ch in list(self.sim.channels.values())
                if ch.variables.get("cc_agent") == agent and "cc_monitor" not in ch.variables and not ch.hanging]

    # the engine ----------------------------------------------------------------------------
    def send(self, command: str, **fields) -> None:
        self.console.send(command, **fields)

    def kinds(self, caller: str) -> list[str]:
        ixid = self.interaction(caller)
        return [r.kind for r in self.store.journal(interaction=ixid)]

    def rows(self, caller: str, kind: str) -> list[dict]:
        return [dict(r.data) for r in self.store.journal(interaction=self.interaction(caller)) if r.kind == kind]

    def interaction(self, caller: str) -> str:
        """The caller's interaction id (the engine's cc_interaction_id on the caller's leg)."""
        if caller not in self.ids:
            self.ids[caller] = until(lambda: next((r.id for r in self.store.open_interactions()
                                                   if r.caller_uuid == caller), None),
                                     timeout=10, message=f"interaction of {caller[:8]}")
        return self.ids[caller]

    def wait_kind(self, caller: str, kind: str, count: int = 1) -> None:
        until(lambda: self.kinds(caller).count(kind) >= count, timeout=20,
              message=lambda: f"{kind} x{count} in {self.kinds(caller)}")

    def restart(self) -> None:
        self.console.close()
        self.engine.kill()
        self.engine.start()
        self.console = Console(self.engine)

    def close(self) -> None:
        self.console.close()
        self.store.close()


def switches(mode: str) -> tuple:
    return {"listen": ("0", False, False), "whisper": ("2", True, False), "barge": ("3", True, True)}[mode]


def test_listen_whisper_barge_hang_up_call_end_restart_and_a_created_callback(sim, engine, pg_url):
    s = Story(sim, engine, pg_url)
    try:
        # -- a caller answered by X; Y listens, whispers, barges --------------------------------
        first = sim.place_call(MAIN_NUMBER, caller_number="4790000001").uuid
        x, x_leg = s.answered_by(first)
        y = "a1001" if x == "a1000" else "a1000"
        s.send("Monitor", supervisor=y, agent=x, mode="listen", by="test")
        leg = s.eavesdrop_on(x_leg)
        until(lambda: s.mode(leg) == switches("listen"), timeout=10, message="listening")
        assert leg.eavesdrop.target == x_leg and leg.variables["cc_supervisor"] == y
        s.wait_kind(first, "monitor_started")
        second = None
        for mode in ("whisper", "barge"):
            if mode == "barge":                      # a caller arrives while Y monitors: not offered to Y
                second = sim.place_call(MAIN_NUMBER, caller_number="4790000002").uuid
                s.wait_kind(second, "entered_queue")
            s.send("Monitor", supervisor=y, agent=x, mode=mode, by="test")
            until(lambda: s.mode(leg) == switches(mode), timeout=10, message=f"{mode}: {s.mode(leg)}")
        assert s.phone_legs(y) == [], "a call was offered to a supervisor who monitors"
        assert s.partner(first) is sim.channels[x_leg]                   # the call is untouched
        until(lambda: [r["mode"] for r in s.rows(first, "monitor_changed")] == ["whisper", "barge"], timeout=10,
              message=lambda: f"monitor_changed rows {s.rows(first, 'monitor_changed')}")
        assert leg.variables["cc_monitor_mode"] == "barge"

        # -- Y hangs up: the call goes on, and the waiting caller is offered to Y at once -----------
        sim.hangup(leg.uuid)
        until(lambda: s.rows(first, "monitor_ended"), timeout=10, message="monitor_ended")
        assert s.rows(first, "monitor_ended")[0]["cause"] == "supervisor"
        assert s.partner(first) is sim.channels[x_leg]
        assert s.answered_by(second)[0] == y
        sim.hangup(second)
        until(lambda: "ended" in s.kinds(second), timeout=20, message="second call ended")
        until(lambda: s.phone_legs(y) == [], timeout=20, message="Y's leg gone")

        # -- Y monitors again; the call ends: the eavesdrop ends and Y's leg is gone ---------------
        def monitor_again():
            if not s.monitor_legs(x_leg):
                s.send("Monitor", supervisor=y, agent=x, mode="whisper", by="test")   # refused in wrap-up: again
            return [ch for ch in s.monitor_legs(x_leg) if getattr(ch, "eavesdrop", None) is not None]
        until(monitor_again, timeout=20, interval=0.3, message="second monitor runs")
        leg = s.eavesdrop_on(x_leg)
        until(lambda: s.mode(leg) == switches("whisper"), timeout=10, message="whispering")
        sim.hangup(first)
        until(lambda: not s.live(leg.uuid), timeout=20, message="the monitor leg ends with the call")
        until(lambda: s.rows(first, "monitor_ended")[1:], timeout=20, message="second monitor_ended")
        assert s.rows(first, "monitor_ended")[1]["cause"] == "call_ended"
        until(lambda: "ended" in s.kinds(first), timeout=20, message="first call ended (after its wrap-up)")
        kinds = s.kinds(first)
        assert len(kinds) - 1 - kinds[::-1].index("monitor_ended") < kinds.index("ended")

        # -- a monitor running through an engine SIGKILL and restart is adopted ---------------------
        third = sim.place_call(MAIN_NUMBER, caller_number="4790000003").uuid
        z, z_leg = s.answered_by(third)
        w = "a1001" if z == "a1000" else "a1000"
        until(monitor_again_for(s, w, z, z_leg), timeout=30, interval=0.3, message="third monitor runs")
        leg = s.eavesdrop_on(z_leg)
        s.wait_kind(third, "monitor_started")
        s.restart()
        assert s.live(leg.uuid) and s.partner(third) is sim.channels[z_leg]
        s.send("Monitor", supervisor=w, agent=z, mode="barge", by="test")
        until(lambda: s.mode(leg) == switches("barge"), timeout=20, message="the adopted monitor barges")
        assert s.monitor_legs(z_leg) == [leg], "one eavesdrop leg: the same one, adopted"
        s.send("MonitorEnd", supervisor=w, by="test")
        until(lambda: not s.live(leg.uuid), timeout=20, message="MonitorEnd hangs the adopted leg up")
        assert s.partner(third) is sim.channels[z_leg]
        sim.hangup(third)
        until(lambda: "ended" in s.kinds(third), timeout=20, message="third call ended")

        # -- a callback a supervisor creates: an agent is offered it, then the number is dialled ----
        until(lambda: all(not s.phone_legs(a) for a in ("a1000", "a1001")), timeout=20, message="phones free")
        s.send("CallbackCreate", queue=QUEUE, number=CALLBACK_NUMBER, origin="", by="test")

        def dialled():
            return next((ch for ch in list(sim.channels.values()) if CALLBACK_NUMBER in ch.name
                         and ch.bridged is not None and ch.bridged.variables.get("cc_agent")), None)
        callee = until(dialled, timeout=30, message=lambda: f"callback dialled: {list(sim.channels)}")
        agent_leg = callee.bridged
        assert agent_leg.variables["cc_agent"] in ("a1000", "a1001")
        ixid = agent_leg.variables.get("cc_interaction_id")
        kinds = [r.kind for r in s.store.journal(interaction=ixid)]
        assert kinds[:2] == ["entered_queue", "callback_requested"], kinds
        sim.hangup(callee.uuid)
        until(lambda: not s.store.open_interactions(), timeout=30,
              message=lambda: f"open: {[r.state for r in s.store.open_interactions()]}")
        until(lambda: not [c for c in sim.channels.values() if not c.hanging], timeout=20,
              message=lambda: f"channels left: {[c.name for c in sim.channels.values()]}")
        assert s.store.verify_journal() == []
    finally:
        s.close()


def monitor_again_for(s: Story, supervisor: str, agent: str, target: str):
    def running():
        if not s.monitor_legs(target):
            s.send("Monitor", supervisor=supervisor, agent=agent, mode="listen", by="test")
        return [ch for ch in s.monitor_legs(target) if getattr(ch, "eavesdrop", None) is not None]
    return running

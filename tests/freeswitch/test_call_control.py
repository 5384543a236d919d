"""The operator's call control on a REAL FreeSWITCH: blind transfer (answered, and not
answered -> recall), park and pick-up, park timeout -> recall, consult (complete, cancel),
hold. The engine runs in this process (EngineProcess, PostgreSQL journal); the console's
commands are posted into its inbox as the console would; sipp plays every phone.

Runs only when SENTRAL_TEST_FREESWITCH=HOST:PORT:PASSWORD names a switch prepared as
tests/freeswitch/README.md says (load.yaml compiled), with SENTRAL_TEST_FREESWITCH_SIP
(trunk) and SENTRAL_TEST_FREESWITCH_REGISTRAR (agents); the transfer to a number needs
the lab route of README.md "Call control" (5550<ext> -> user/<ext> in the site's public
routes) and skips without SENTRAL_TEST_FREESWITCH_NUMBER_ROUTE=1.

Phones (one sipp UAS each group, SIP users of load.yaml): 1000 (the operator) and 1001
(a second agent) answer after 300 ms and talk until the switch hangs up; 1002 is a
transfer target that answers the same way; 1003 rings and never answers. The caller is
tests/freeswitch/sipp/caller_stay.xml through the trunk into 22009000.

Each test checks what the switch did (our own Event Socket observer: who is bridged to
whom, which leg is gone, the hold music's playback), what the engine holds, and the
journal; and at its end: the call ended once, `verify_journal` clean, no channel left.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import time

import pytest

from tests.freeswitch.lab import EslApi, Observer, Sipp, register, wait_bound
from tests.helpers import free_port, until

TARGET = os.environ.get("SENTRAL_TEST_FREESWITCH", "")
TRUNK = os.environ.get("SENTRAL_TEST_FREESWITCH_SIP", "127.0.0.1:5080")
REGISTRAR = os.environ.get("SENTRAL_TEST_FREESWITCH_REGISTRAR", "127.0.0.1:5060")
NUMBER_ROUTE = os.environ.get("SENTRAL_TEST_FREESWITCH_NUMBER_ROUTE", "") == "1"

CONFIG = pathlib.Path(__file__).resolve().parent.parent / "data" / "freeswitch" / "load.yaml"
NUMBER = "22009000"
DOMAIN = "127.0.0.1"
SIP_PASSWORD = "sentral-load"
OPERATOR, AGENT2, ANSWERS, SILENT = "1000", "1001", "1002", "1003"
TRANSFER_TIMEOUT = 4.0     # the agency's transfer timeout (load.yaml's default is 20 s)
PARK_TIMEOUT = 4.0
RING_GRACE = 2.0           # engine.offers.RING_GRACE
WRAPUP = 60.0              # long: the operator is seen in wrap-up after a move
LONG = 600000              # ms: the phones talk, the caller stays, the silent phone rings

pytestmark = [
    pytest.mark.freeswitch,
    pytest.mark.slow,
    pytest.mark.skipif(not TARGET, reason="set SENTRAL_TEST_FREESWITCH=HOST:PORT:PASSWORD to run against a real FreeSWITCH"),
]


def _addr(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host, int(port)


def _deployment(host: str, port: int, password: str):
    from dialplan.loader import load

    d = load(str(CONFIG), {"SENTRAL_FREESWITCH_PASSWORD": password})
    (node,) = d.nodes
    tenants = {k: dataclasses.replace(t, transfer_timeout=TRANSFER_TIMEOUT, park_timeout=PARK_TIMEOUT)
               for k, t in d.tenants.items()}
    queues = {k: dataclasses.replace(q, wrapup=WRAPUP) for k, q in d.queues.items()}
    return dataclasses.replace(d, nodes=(dataclasses.replace(node, host=host, port=port, password=password),),
                               tenants=tenants, queues=queues)


class Lab:
    """The switch, the phones, the engine and the journal of one test."""

    def __init__(self, host, port, password, pg_url, tmp_path):
        self.tmp = tmp_path
        self.api = EslApi(host, port, password)
        assert "FreeSWITCH" in self.api.api("status")
        self.obs = Observer(host, port, password, NUMBER, tmp_path / "fs-events.jsonl")
        self.obs.start()
        self.sipps: list[Sipp] = []
        self.registered: list[str] = []
        self.notices: list = []
        self.proc = self.store = None
        self.deployment = _deployment(host, port, password)

    # -- set-up ---------------------------------------------------------------------------
    def phones(self, name: str, exts, ring_ms: int) -> None:
        port = free_port()
        self.sipps.append(Sipp(name, "agent.xml", self.tmp,
                               ["-i", "127.0.0.1", "-p", str(port), "-aa", "-nostdin", "-max_recv_loops", "1000"],
                               ring_ms=ring_ms, talk_ms=LONG))
        wait_bound(port)
        for ext in exts:
            assert register(_addr(REGISTRAR), ext, SIP_PASSWORD, DOMAIN, "*", 0) == 200    # a former run's contacts
            assert register(_addr(REGISTRAR), ext, SIP_PASSWORD, DOMAIN, f"sip:{ext}@127.0.0.1:{port}", 600) == 200
            self.registered.append(ext)

    def start_engine(self, pg_url: str, *agents: str) -> None:
        from sentral.app import EngineProcess
        from sentral.process import open_store

        self.store = open_store(pg_url)
        self.proc = EngineProcess(self.deployment, self.store, notify=self.notices.append).start(ready_timeout=20)
        for ext in agents:
            self.login(ext)

    def login(self, ext: str) -> None:
        from engine import events as ev

        self.post(ev.AgentLogin, agent=f"a{ext}")
        until(lambda: self.agent(ext).state.value == "available" and self.agent(ext).registered,
              timeout=10, message=f"agent {ext} available and registered")

    # -- what is going on -------------------------------------------------------------------
    @property
    def engine(self):
        return self.proc.engine

    def post(self, cls, **fields) -> None:
        self.proc.runtime.post(cls(at=self.proc.clock(), **fields))

    def agent(self, ext: str):
        return self.engine.agents[f"a{ext}"]

    def ix(self, ixid: str):
        return self.engine.calls.get(ixid)

    def kinds(self, ixid: str) -> list[str]:
        return [r.kind for r in self.store.journal(interaction=ixid)]

    def rows(self, ixid: str, kind: str) -> list[dict]:
        return [dict(r.data) for r in self.store.journal(interaction=ixid) if r.kind == kind]

    def partner(self, uuid: str) -> str:
        with self.obs.lock:
            return self.obs.partner.get(uuid, "")

    def gone(self, uuid: str) -> bool:
        ch = self.obs.channels.get(uuid)
        return ch is not None and ch["hangup"] is not None

    def ext_of(self, leg: str) -> str:
        return self.obs.legs.get(leg, {}).get("ext", "")

    def human_pace(self, seconds: float = 1.0) -> None:
        """The operator talks (or looks at the screen) this long before the next command.
        Not a synchronisation: a person's pace, which two findings on the real switch need
        (README.md "Call control"): a uuid_hold 20 ms after the bridge gives the caller no
        hold music, and a bridge within BRIDGE_GAP of the last is refused (engine.too_soon)."""
        start = self.obs.now()
        until(lambda: self.obs.now() - start >= seconds, timeout=seconds + 5, interval=0.05)

    def diagnose(self, ixid: str) -> str:
        """The engine's refusals, the call's journal and the switch's events of its legs."""
        ix = self.ix(ixid)
        legs = {u for u in (ix.uuid, ix.agent_leg, ix.consult_leg, ix.target_leg) if u} if ix else set()
        events = [line for line in (self.tmp / "fs-events.jsonl").read_text().splitlines() if any(u in line for u in legs)]
        return (f"\nrefusals {self.refusals()}\njournal {[(r.kind, dict(r.data)) for r in self.store.journal(interaction=ixid)]}"
                f"\nswitch:\n" + "\n".join(events[-40:]))

    def refusals(self) -> list:
        return [n for n in self.notices if n.topic in ("command_refused", "engine_error")]

    # -- a call -----------------------------------------------------------------------------
    def call(self) -> tuple[str, str]:
        """A caller through the trunk, answered by the operator: (caller uuid, interaction)."""
        known = set(self.obs.callers)
        self.sipps.append(Sipp(f"caller{len(self.sipps)}", "caller_stay.xml", self.tmp,
                               [TRUNK, "-i", "127.0.0.1", "-p", str(free_port()), "-s", NUMBER, "-m", "1", "-l", "1",
                                "-nostdin", "-timeout", "900"], stay_ms=LONG))
        caller = until(lambda: next(iter(set(self.obs.callers) - known), None), timeout=10, message="the call arrives")
        ixid = until(lambda: self.engine.by_leg.get(caller), timeout=10, message="the engine takes the call")
        until(lambda: self.talking(ixid, OPERATOR), timeout=15, message="the operator answers and talks")
        return caller, ixid

    def talking(self, ixid: str, ext: str) -> bool:
        """The caller is bridged (on the switch) to `ext`'s answered leg, and the engine agrees."""
        ix = self.ix(ixid)
        if ix is None or not ix.agent_leg or not ix.bridged or ix.agent != f"a{ext}":
            return False
        return self.partner(ix.uuid) == ix.agent_leg and self.ext_of(ix.agent_leg) == ext

    def hang_up_and_check(self, caller: str, ixid: str, reason: str) -> None:
        """The caller hangs up (the switch's BYE to the sipp caller); then one `ended`, a clean
        journal, no channel left, no refusal or engine error."""
        from engine import events as ev

        self.api.api(f"uuid_kill {caller}")
        until(lambda: self.ix(ixid) is None or self.ix(ixid).state.value == "wrap_up", timeout=10,
              message="the talk ended")
        if self.ix(ixid) is not None:           # the operator's wrap-up: ended from the console
            self.post(ev.WrapUpEnd, agent=self.ix(ixid).agent, result="")
        until(lambda: self.ix(ixid) is None, timeout=10, message="the engine closed the call")
        until(lambda: "ended" in self.kinds(ixid), timeout=10, message="journal: ended")
        kinds = self.kinds(ixid)
        assert kinds.count("ended") == 1, kinds
        assert self.rows(ixid, "ended")[0]["reason"] == reason, kinds
        assert self.store.verify_journal(ixid) == []
        self.no_channel_left()
        assert not self.refusals(), self.refusals()

    def no_channel_left(self) -> None:
        until(lambda: all(ch["hangup"] is not None for ch in self.obs.channels.values()), timeout=15,
              message=lambda: f"channels up: {[(u, c['name']) for u, c in self.obs.channels.items() if c['hangup'] is None]}")
        left = [u for u in self.obs.channels if self.api.exists(u)]
        assert not left, f"channels left in the switch: {left}"

    def close(self) -> None:
        try:
            if self.proc is not None:
                self.proc.stop()
            if self.store is not None:
                self.store.close()
        finally:
            for sipp in self.sipps:
                sipp.stop()
            for ext in self.registered:
                register(_addr(REGISTRAR), ext, SIP_PASSWORD, DOMAIN, "*", 0)
            self.obs.stop()
            for uuid, ch in list(self.obs.channels.items()):     # never leave a channel of ours behind
                if ch["hangup"] is None and self.api.exists(uuid):
                    self.api.api(f"uuid_kill {uuid}")
            self.api.close()


@pytest.fixture
def lab(pg_url, tmp_path):
    host, port, password = TARGET.rsplit(":", 2)
    lab = Lab(host, int(port), password, pg_url, tmp_path)
    try:
        lab.phones("phones", [OPERATOR, AGENT2, ANSWERS], ring_ms=300)
        lab.phones("silent", [SILENT], ring_ms=LONG)
        lab.start_engine(pg_url, OPERATOR)
        yield lab
    finally:
        lab.close()


def _number_route():
    return pytest.param("number", "5550" + ANSWERS, marks=pytest.mark.skipif(
        not NUMBER_ROUTE, reason="set SENTRAL_TEST_FREESWITCH_NUMBER_ROUTE=1 with the lab's 5550<ext> route"))


@pytest.mark.parametrize("kind,target", [("user", ANSWERS), _number_route()], ids=["user", "number"])
def test_blind_transfer_answered_bridges_caller_and_target_and_frees_the_operator(lab, kind, target):
    from engine import events as ev

    caller, ixid = lab.call()
    operator_leg = lab.ix(ixid).agent_leg
    lab.post(ev.CallTransfer, agent=f"a{OPERATOR}", target=target, kind=kind, name="Kari Target")
    until(lambda: lab.gone(operator_leg), timeout=5, message="the operator's leg is hung up")
    assert lab.agent(OPERATOR).state.value == "wrap_up"
    until(lambda: lab.ix(ixid).transferred and lab.ix(ixid).agent_leg
          and lab.partner(caller) == lab.ix(ixid).agent_leg, timeout=10, message="caller bridged to the target")
    target_leg = lab.ix(ixid).agent_leg
    assert not lab.gone(caller) and not lab.gone(target_leg)
    if kind == "user":
        assert lab.ext_of(target_leg) == ANSWERS
    else:   # our leg is the loopback's A leg; its B leg bridged the SIP phone (the codec fix)
        assert lab.obs.channels[target_leg]["name"].startswith("loopback/")
        phone = [u for u, ch in lab.obs.channels.items() if ch["name"].startswith(f"sofia/internal/{ANSWERS}@")]
        assert phone and not lab.gone(phone[-1])
    kinds = lab.kinds(ixid)
    assert kinds.index("transfer_started") < kinds.index("transfer_answered"), kinds
    assert lab.rows(ixid, "transfer_answered")[0]["leg"] == target_leg
    lab.hang_up_and_check(caller, ixid, "transferred")
    assert lab.agent(OPERATOR).state.value == "wrap_up"      # the transfer's end is no new call of theirs


def test_blind_transfer_not_answered_recalls_the_operator_who_talks_to_the_caller_again(lab):
    from engine import events as ev

    caller, ixid = lab.call()
    operator_leg = lab.ix(ixid).agent_leg
    sent = time.monotonic()
    lab.post(ev.CallTransfer, agent=f"a{OPERATOR}", target=SILENT, kind="user", name="Nobody")
    until(lambda: lab.gone(operator_leg), timeout=5, message="the operator's leg is hung up")
    until(lambda: lab.ix(ixid).target_leg and lab.ext_of(lab.ix(ixid).target_leg) == SILENT,
          timeout=5, message="the target rings")
    assert lab.agent(OPERATOR).state.value == "wrap_up"
    until(lambda: "recalled" in lab.kinds(ixid), timeout=TRANSFER_TIMEOUT + RING_GRACE + 3, interval=0.02,
          message="recalled")
    recalled_after = time.monotonic() - sent
    print(f"\nrecalled {recalled_after:.2f} s after the transfer (transfer timeout {TRANSFER_TIMEOUT:g} s)")
    assert recalled_after <= TRANSFER_TIMEOUT + RING_GRACE + 1.0, recalled_after
    assert not lab.gone(caller), "the caller waited through the recall"
    until(lambda: lab.talking(ixid, OPERATOR), timeout=10, message="the operator talks to the caller again")
    assert lab.ix(ixid).agent_leg != operator_leg
    assert lab.rows(ixid, "transfer_failed")[0]["target"] == SILENT
    assert lab.ix(ixid).recall_agent == f"a{OPERATOR}"
    silent_legs = [u for u, ch in lab.obs.channels.items() if ch["name"].startswith(f"sofia/internal/{SILENT}@")]
    assert silent_legs, "the silent phone was rung"
    until(lambda: all(lab.gone(u) for u in silent_legs), timeout=5, message="the target's ringing leg was cancelled")
    lab.hang_up_and_check(caller, ixid, "completed")


def _music_on(lab, uuid: str, since: float) -> bool:
    """`uuid` ran a playback (the hold music, or the queue's music) after `since`."""
    with lab.obs.lock:
        return any(u == uuid and t >= since and "playback" in app for t, u, app, _ in lab.obs.executes)


def test_park_then_pick_up_by_another_agent_then_park_timeout_recalls_who_parked(lab):
    from engine import events as ev

    lab.login(AGENT2)
    caller, ixid = lab.call()
    operator_leg = lab.ix(ixid).agent_leg
    parked_at = lab.obs.now()
    lab.post(ev.CallPark, agent=f"a{OPERATOR}")
    until(lambda: lab.gone(operator_leg), timeout=5, message="the operator's leg is hung up")
    until(lambda: lab.ix(ixid).state.value == "parked" and not lab.partner(caller), timeout=5,
          message="the caller is parked, bridged to nobody")
    until(lambda: _music_on(lab, caller, parked_at), timeout=5, message="the parked caller hears music")
    assert lab.agent(OPERATOR).state.value == "wrap_up" and "parked" in lab.kinds(ixid)

    lab.post(ev.ParkedPickUp, agent=f"a{AGENT2}", interaction=ixid)
    until(lambda: lab.talking(ixid, AGENT2), timeout=10, message="the second agent picked the call up")
    assert "picked_up" in lab.kinds(ixid) and not lab.gone(caller)

    # the second agent parks it and nobody picks it up: back to them after the park timeout
    agent2_leg = lab.ix(ixid).agent_leg
    lab.post(ev.CallPark, agent=f"a{AGENT2}")
    parked = time.monotonic()
    until(lambda: lab.gone(agent2_leg), timeout=5, message="the second agent's leg is hung up")
    until(lambda: lab.kinds(ixid).count("recalled") == 1, timeout=PARK_TIMEOUT + 3, interval=0.02,
          message="recalled after the park timeout")
    waited = time.monotonic() - parked
    print(f"\npark recall {waited:.2f} s after the park (park timeout {PARK_TIMEOUT:g} s)")
    assert PARK_TIMEOUT - 0.5 <= waited <= PARK_TIMEOUT + 1.5, waited
    until(lambda: lab.talking(ixid, AGENT2), timeout=10, message="the agent who parked talks to the caller again")
    assert lab.kinds(ixid).count("parked") == 2
    lab.hang_up_and_check(caller, ixid, "completed")


def _consulting(lab):
    """A call whose operator consults the target that answers: (caller, interaction,
    operator leg, consult leg) once the operator talks to the target."""
    from engine import events as ev

    caller, ixid = lab.call()
    operator_leg = lab.ix(ixid).agent_leg
    lab.post(ev.ConsultStart, agent=f"a{OPERATOR}", target=ANSWERS, kind="user", name="Kari Target")
    until(lambda: lab.ix(ixid).consult_leg, timeout=5, message="consult leg")
    consult_leg = lab.ix(ixid).consult_leg
    until(lambda: lab.partner(operator_leg) == consult_leg, timeout=10, message="the operator talks to the target")
    return caller, ixid, operator_leg, consult_leg


def test_consult_then_complete_bridges_caller_and_target(lab):
    from engine import events as ev

    caller, ixid, operator_leg, consult_leg = _consulting(lab)
    until(lambda: not lab.partner(caller), timeout=5, message="the caller waits, bridged to nobody")
    assert lab.ext_of(consult_leg) == ANSWERS and not lab.gone(caller)
    assert "consult_answered" in lab.kinds(ixid)

    lab.human_pace()
    lab.post(ev.ConsultComplete, agent=f"a{OPERATOR}")
    until(lambda: lab.partner(caller) == consult_leg, timeout=10,
          message=lambda: f"caller bridged to the target {lab.diagnose(ixid)}")
    until(lambda: lab.gone(operator_leg), timeout=5, message="the operator's leg is hung up")
    until(lambda: lab.agent(OPERATOR).state.value == "wrap_up", timeout=5, message="the operator in wrap-up")
    assert "consult_completed" in lab.kinds(ixid)
    lab.hang_up_and_check(caller, ixid, "transferred")


def test_consult_then_cancel_drops_the_target_and_the_operator_talks_to_the_caller(lab):
    from engine import events as ev

    caller, ixid, operator_leg, consult_leg = _consulting(lab)
    lab.human_pace()
    lab.post(ev.ConsultCancel, agent=f"a{OPERATOR}")
    until(lambda: lab.gone(consult_leg), timeout=5, message=lambda: f"the target's leg is hung up {lab.diagnose(ixid)}")
    until(lambda: lab.partner(caller) == operator_leg, timeout=10, message="the operator talks to the caller again")
    assert lab.talking(ixid, OPERATOR) and not lab.ix(ixid).consult_leg
    assert "consult_cancelled" in lab.kinds(ixid)
    lab.hang_up_and_check(caller, ixid, "completed")


def test_hold_plays_the_hold_music_to_the_caller_and_unhold_gives_the_operator_back(lab):
    from engine import events as ev

    caller, ixid = lab.call()
    operator_leg = lab.ix(ixid).agent_leg
    lab.human_pace()
    held_at = lab.obs.now()
    lab.post(ev.CallHold, agent=f"a{OPERATOR}", on=True)
    until(lambda: operator_leg in lab.obs.held, timeout=5, message="the operator's leg is held")
    until(lambda: _music_on(lab, caller, held_at), timeout=5,
          message=lambda: f"the caller (its partner) hears the hold music {lab.diagnose(ixid)}")
    music = [d for t, u, app, d in list(lab.obs.executes) if u == caller and t >= held_at and "playback" in app]
    assert music[0] == lab.api.api(f"uuid_getvar {caller} hold_music").strip(), music
    assert lab.partner(caller) == operator_leg and lab.ix(ixid).held
    lab.post(ev.CallHold, agent=f"a{OPERATOR}", on=False)
    until(lambda: operator_leg not in lab.obs.held and not lab.ix(ixid).held, timeout=5, message="unheld")
    assert lab.talking(ixid, OPERATOR)
    assert [k for k in lab.kinds(ixid) if k in ("hold", "unhold")] == ["hold", "unhold"]
    lab.hang_up_and_check(caller, ixid, "completed")


def test_blind_transfer_ringing_taken_back_cancels_the_target_and_bridges_the_operator_again(lab):
    """"Hent tilbake": the target rings (it never answers), the operator takes the call back
    before the transfer timeout: the target's leg is cancelled on the switch, the call rings
    the operator's phone alone and the caller talks to them again; no transfer_failed."""
    from engine import events as ev

    caller, ixid = lab.call()
    operator_leg = lab.ix(ixid).agent_leg
    sent = time.monotonic()
    lab.post(ev.CallTransfer, agent=f"a{OPERATOR}", target=SILENT, kind="user", name="Nobody")
    until(lambda: lab.gone(operator_leg), timeout=5, message="the operator's leg is hung up")
    until(lambda: lab.ix(ixid).target_leg and lab.ext_of(lab.ix(ixid).target_leg) == SILENT
          and lab.obs.channels.get(lab.ix(ixid).target_leg), timeout=5, message="the target rings")
    target_leg = lab.ix(ixid).target_leg
    until(lambda: not lab.agent(OPERATOR).leg_up, timeout=5, message="the operator's moved leg reported gone")
    lab.human_pace(1.0)                                    # the operator sees it ring, changes their mind
    assert lab.ix(ixid).state.value == "transferring" and not lab.gone(target_leg)
    lab.post(ev.CallRecall, agent=f"a{OPERATOR}", interaction=ixid)
    until(lambda: lab.gone(target_leg), timeout=5, message="the target's ringing leg is cancelled")
    until(lambda: lab.talking(ixid, OPERATOR), timeout=10, message=lambda: "the operator talks to the caller again"
          + lab.diagnose(ixid))
    back_after = time.monotonic() - sent
    print(f"\ntaken back and bridged {back_after:.2f} s after the transfer (transfer timeout {TRANSFER_TIMEOUT:g} s)")
    assert lab.ix(ixid).agent_leg not in (operator_leg, target_leg)
    assert not lab.gone(caller), "the caller waited through the take-back"
    assert lab.partner(caller) == lab.ix(ixid).agent_leg
    until(lambda: lab.kinds(ixid)[-1] == "bridged" and "recalled" in lab.kinds(ixid), timeout=5,
          message="journal: the operator bridged again")
    kinds = lab.kinds(ixid)
    assert "transfer_failed" not in kinds and "transfer_answered" not in kinds, kinds
    assert kinds.index("transfer_started") < kinds.index("taken_back") < kinds.index("recalled"), kinds
    (taken,) = lab.rows(ixid, "taken_back")
    assert (taken["moved"], taken["leg"], taken["target"]) == ("transferring", target_leg, SILENT)
    assert lab.rows(ixid, "recalled")[0]["reason"] == "taken_back"
    assert lab.obs.channels[target_leg]["hangup"] is not None
    silent_legs = [u for u, ch in lab.obs.channels.items() if ch["name"].startswith(f"sofia/internal/{SILENT}@")]
    assert silent_legs and all(lab.gone(u) for u in silent_legs)
    lab.human_pace(TRANSFER_TIMEOUT + RING_GRACE - back_after + 0.5)   # past the old deadline: nothing fires
    assert lab.talking(ixid, OPERATOR) and lab.kinds(ixid) == kinds
    lab.hang_up_and_check(caller, ixid, "completed")

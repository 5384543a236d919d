"""Supervisor monitoring on a REAL FreeSWITCH: a sipp caller talking to the operator
(1000), the supervisor's softphone (1002, the agent a1002 of load.yaml) rung into
`eavesdrop` of the operator's leg; listen, whisper and barge switched; the call's end
ends the monitor. Lab and phones as test_call_control.py (tests/freeswitch/README.md).

What the switch reports and this test checks: the supervisor's leg is answered and runs
the application `eavesdrop <operator leg>` (CHANNEL_EXECUTE); a mode switch is DTMF
queued on that leg (`uuid_recv_dtmf`); the switch fires a DTMF event only when a digit
is DEQUEUED (switch_channel.c switch_channel_dequeue_dtmf), and while eavesdrop runs on
the leg it is the one reader (its loop dequeues a digit and switches the mode on it:
switch_ivr_async.c), so the DTMF event of the supervisor's leg is the switch saying the
eavesdrop took the switch; when the caller hangs up the
operator's leg ends, eavesdrop returns and the supervisor's leg is hung up.
"""
from __future__ import annotations

import json
import socket
import threading

import pytest

from tests.freeswitch.lab import _connect, _read_message
from tests.freeswitch.test_call_control import ANSWERS, OPERATOR, TARGET, lab  # noqa: F401 (the fixture)
from tests.helpers import until

SUPERVISOR = ANSWERS           # 1002 answers after 300 ms and stays on the line

pytestmark = [
    pytest.mark.freeswitch,
    pytest.mark.slow,
    pytest.mark.skipif(not TARGET, reason="set SENTRAL_TEST_FREESWITCH=HOST:PORT:PASSWORD to run against a real FreeSWITCH"),
]


class Dtmf(threading.Thread):
    """The switch's DTMF events, by channel."""

    def __init__(self):
        super().__init__(daemon=True, name="fs-dtmf")
        host, port, password = TARGET.rsplit(":", 2)
        self.sock, self.f = _connect(host, int(port), password)
        self.sock.settimeout(None)
        self.sock.sendall(b"event json DTMF\n\n")
        self.digits: dict[str, list[str]] = {}
        self.lock = threading.Lock()

    def run(self) -> None:
        try:
            while True:
                headers, body = _read_message(self.f)
                if headers.get("Content-Type") == "text/event-json":
                    e = json.loads(body)
                    with self.lock:
                        self.digits.setdefault(e.get("Unique-ID", ""), []).append(e.get("DTMF-Digit", ""))
        except (OSError, ValueError):
            return

    def of(self, uuid: str) -> list[str]:
        with self.lock:
            return list(self.digits.get(uuid, []))

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def _monitor(lab, mode: str):
    from engine import events as ev
    from engine import monitor

    lab.post(ev.Monitor, supervisor=f"a{SUPERVISOR}", agent=f"a{OPERATOR}", mode=mode, by="lab")
    until(lambda: [m for m in monitor.active(lab.engine) if m["answered"]], timeout=10,
          message=lambda: f"the supervisor answers {lab.refusals()}")
    return lab.engine.monitors[f"a{SUPERVISOR}"]


def test_listen_whisper_barge_and_the_call_end_ends_the_monitor(lab):
    from engine import events as ev

    dtmf = Dtmf()
    dtmf.start()
    try:
        caller, ixid = lab.call()
        agent_leg = lab.ix(ixid).agent_leg
        m = _monitor(lab, "listen")
        sup_leg = m.leg
        until(lambda: any(u == sup_leg and app == "eavesdrop" and data == agent_leg
                          for _, u, app, data in lab.obs.executes), timeout=5,
              message="eavesdrop runs on the supervisor's leg, on the operator's leg")
        assert lab.api.api(f"uuid_getvar {sup_leg} cc_monitor").strip() == agent_leg
        assert lab.api.api(f"uuid_getvar {sup_leg} eavesdrop_enable_dtmf").strip() == "true"
        assert not lab.gone(sup_leg) and lab.partner(caller) == agent_leg     # the call is untouched
        for mode, digit in (("whisper", "2"), ("barge", "3"), ("listen", "0")):
            lab.human_pace(0.5)
            lab.post(ev.Monitor, supervisor=f"a{SUPERVISOR}", agent=f"a{OPERATOR}", mode=mode, by="lab")
            until(lambda: dtmf.of(sup_leg)[-1:] == [digit], timeout=5,
                  message=lambda: f"DTMF {digit} on the supervisor's leg: {dtmf.of(sup_leg)}")
            until(lambda: lab.api.api(f"uuid_getvar {sup_leg} cc_monitor_mode").strip() == mode, timeout=5,
                  message=f"cc_monitor_mode {mode}")
        assert not lab.gone(sup_leg) and lab.partner(caller) == agent_leg     # eavesdrop still runs
        until(lambda: lab.kinds(ixid).count("monitor_changed") == 3, timeout=5, message="journal: 3 changes")
        assert [r["mode"] for r in lab.rows(ixid, "monitor_changed")] == ["whisper", "barge", "listen"]
        lab.hang_up_and_check(caller, ixid, "completed")
        assert lab.gone(sup_leg)
        kinds = lab.kinds(ixid)
        assert kinds.index("monitor_started") < kinds.index("monitor_ended") < kinds.index("ended")
        assert lab.rows(ixid, "monitor_ended")[0]["cause"] == "call_ended"
    finally:
        dtmf.close()


def test_supervisor_hangs_up_and_the_call_goes_on(lab):
    from engine import monitor

    caller, ixid = lab.call()
    m = _monitor(lab, "whisper")
    lab.api.api(f"uuid_kill {m.leg}")
    until(lambda: monitor.active(lab.engine) == [], timeout=5, message="the monitor ends")
    until(lambda: "monitor_ended" in lab.kinds(ixid), timeout=5, message="journal: monitor_ended")
    assert lab.rows(ixid, "monitor_ended")[0]["cause"] == "supervisor"
    assert not lab.gone(caller) and lab.talking(ixid, OPERATOR)
    lab.hang_up_and_check(caller, ixid, "completed")


def test_monitor_of_an_agent_without_a_call_is_refused_and_nothing_rings(lab):
    from engine import events as ev

    created = len(lab.obs.channels)
    lab.post(ev.Monitor, supervisor=f"a{SUPERVISOR}", agent=f"a{OPERATOR}", mode="listen", by="lab")
    until(lambda: lab.refusals(), timeout=5, message="refused")
    assert lab.refusals()[0].payload["error_id"] == "monitor.no_call"
    lab.notices.clear()
    assert len(lab.obs.channels) == created

"""A simulated channel: its state, caller profile and variables, and the events it emits
with FreeSWITCH's header sets (headers.py) and values from this model.

State rules (FreeSWITCH's): ``Channel-State`` CS_* moves NEW/INIT -> ROUTING -> EXECUTE
(-> HANGUP -> REPORTING -> DESTROY); ``Channel-Call-State`` DOWN -> RINGING|EARLY ->
ACTIVE <-> HELD -> HANGUP; ``Answer-State`` ringing|early|answered|hangup. A hangup emits
CHANNEL_HANGUP at once; the rest of the teardown (HANGUP_COMPLETE, DESTROY) follows when
the running application has unwound (apps.py).
"""
from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

import gevent
import gevent.event

from esl.sim.bus import SimEvent
from esl.sim.headers import (CALLSTATE_NUMBER, CHANNEL, CHANNEL_OPTIONAL, LEADING, OTHER_LEG,
                             STATE_NUMBER, TRAILING)

if TYPE_CHECKING:
    from esl.sim.switch import Switch

TIME_KEYS = ("created", "answered", "progress", "progress_media", "hangup", "transfer",
             "resurrect", "bridged", "last_hold", "hold_accum")


def usec(t: float | None) -> str:
    return str(int(t * 1_000_000)) if t else "0"


class Channel:
    def __init__(self, switch: "Switch", uuid: str, name: str, direction: str, *,
                 caller_name: str = "", caller_number: str = "", destination: str = "",
                 context: str = "default", source: str = "mod_sofia", dialplan: str = "XML",
                 network_addr: str = "", username: str = "", variables: dict | None = None):
        self.switch = switch
        self.uuid = uuid
        self.name = name
        self.direction = direction
        self.sofia = source == "mod_sofia"
        self.profile = {
            "caller_name": caller_name, "caller_number": caller_number,
            "orig_name": caller_name, "orig_number": caller_number,
            "callee_name": "", "callee_number": "", "destination": destination,
            "context": context, "source": source, "dialplan": dialplan,
            "network_addr": network_addr, "username": username, "transfer_source": "",
            "rdnis": "",
        }
        now = time.time()
        self.times = dict.fromkeys(TIME_KEYS, 0.0)
        self.times["created"] = now
        self.state = "CS_NEW"
        self.callstate = "DOWN"
        self.answer_state = "ringing" if direction == "inbound" else "ringing"
        self.hangup_cause = ""
        # loopback and null legs carry L16 from the start; SIP legs get a codec with media (answer/183)
        self.codec: tuple[str, str, str] | None = ("L16", "8000", "128000") if source in ("mod_loopback", "mod_null") else None
        self.other_leg: "Channel | None" = None  # Other-Leg-* source (originator / bridge peer)
        self.bridged: "Channel | None" = None
        self.held = False
        self.hanging = False
        self.profile_ready = True
        self.destroyed = False
        self.current_app = ""
        self.current_app_data = ""
        self.queue: deque = deque()  # (app, arg, app_uuid, on_done)
        self.signal = gevent.event.Event()
        self.interrupt = ""  # "break" | "break_all" | "transfer" | "bridge" | ""
        self.recordings: dict[str, tuple[float, object]] = {}
        self.watchers: list = []  # callables(channel, what) for hangup/answer notifications
        self.read_locks = 0       # other legs holding this session (a running eavesdrop on it)
        self.lock_released = gevent.event.Event()
        self.job = None  # races.Job: the originate that created this leg, while it runs
        self.remote_answer = False  # its phone answers a NOTIFY "Event: talk" (uuid_phone_event)
        self.variables: dict[str, str] = {
            "direction": direction, "uuid": uuid, "session_id": str(switch.next_session_id()),
            "channel_name": name, "call_uuid": uuid,
        }
        for k, v in (variables or {}).items():
            self.variables[k] = str(v)

    # ------------------------------------------------------------------ header building
    def _value(self, key: str) -> str | None:
        return self._fields().get(key)

    def _fields(self) -> dict[str, str | None]:
        """Every channel header's current value (built once per event, not once per header)."""
        p = self.profile
        t = self.times
        codec = self.codec
        table = {
            "Channel-State": self.state, "Channel-Call-State": self.callstate,
            "Channel-State-Number": str(STATE_NUMBER.get(self.state, 0)),
            "Channel-Name": self.name, "Unique-ID": self.uuid,
            "Call-Direction": self.direction, "Presence-Call-Direction": self.direction,
            "Channel-HIT-Dialplan": "true" if self.direction == "inbound" or self.state != "CS_NEW" else "false",
            "Channel-Presence-ID": self.variables.get("presence_id") or None,
            "Channel-Call-UUID": self.uuid, "Answer-State": self.answer_state,
            "Hangup-Cause": self.hangup_cause or None,
            "Channel-Read-Codec-Name": codec[0] if codec else None,
            "Channel-Read-Codec-Rate": codec[1] if codec else None,
            "Channel-Read-Codec-Bit-Rate": codec[2] if codec else None,
            "Channel-Write-Codec-Name": codec[0] if codec else None,
            "Channel-Write-Codec-Rate": codec[1] if codec else None,
            "Channel-Write-Codec-Bit-Rate": codec[2] if codec else None,
            "Caller-Direction": self.direction, "Caller-Logical-Direction": self.direction,
            "Caller-Username": p["username"] or None, "Caller-Dialplan": p["dialplan"] or None,
            "Caller-Caller-ID-Name": p["caller_name"] or None,
            "Caller-Caller-ID-Number": p["caller_number"],
            "Caller-Orig-Caller-ID-Name": (p["orig_name"] or None) if self.sofia else None,
            "Caller-Orig-Caller-ID-Number": p["orig_number"],
            "Caller-Network-Addr": p["network_addr"] or None,
            "Caller-Callee-ID-Name": p["callee_name"] or None,
            "Caller-Callee-ID-Number": p["callee_number"] or None,
            "Caller-ANI": p["caller_number"], "Caller-Destination-Number": p["destination"],
            "Caller-Unique-ID": self.uuid, "Caller-Source": p["source"],
            "Caller-Transfer-Source": p["transfer_source"] or None, "Caller-Context": p["context"],
            "Caller-RDNIS": p["rdnis"] or None, "Caller-Channel-Name": self.name,
            "Caller-Profile-Index": "1", "Caller-Profile-Created-Time": usec(t["created"]),
            "Caller-Channel-Created-Time": usec(t["created"]),
            "Caller-Channel-Answered-Time": usec(t["answered"]),
            "Caller-Channel-Progress-Time": usec(t["progress"]),
            "Caller-Channel-Progress-Media-Time": usec(t["progress_media"]),
            "Caller-Channel-Hangup-Time": usec(t["hangup"]),
            "Caller-Channel-Transfer-Time": usec(t["transfer"]),
            "Caller-Channel-Resurrect-Time": usec(t["resurrect"]),
            "Caller-Channel-Bridged-Time": usec(t["bridged"]),
            "Caller-Channel-Last-Hold": usec(t["last_hold"]),
            "Caller-Channel-Hold-Accum": str(int(t["hold_accum"] * 1_000_000)),
            "Caller-Screen-Bit": "true", "Caller-Privacy-Hide-Name": "false",
            "Caller-Privacy-Hide-Number": "false",
        }
        return table

    def channel_block(self) -> list[tuple[str, str]]:
        out = []
        fields = self._fields()
        bare = not self.profile_ready  # a new SIP leg before its caller profile is attached
        for key in CHANNEL:
            if bare and (key.startswith("Caller-") or key == "Channel-Presence-ID"):
                continue
            value = fields.get(key)
            if value is None:
                if key in CHANNEL_OPTIONAL:
                    continue
                value = ""
            out.append((key, value))
        return out

    def other_leg_block(self) -> list[tuple[str, str]]:
        other = self.other_leg
        if other is None:
            return []
        mine = dict(other.channel_block())
        out = [("Other-Type", "originatee" if self.direction == "inbound" else "originator")]
        for key in OTHER_LEG[1:]:
            src = key.replace("Other-Leg-", "Caller-", 1)
            if src == "Caller-Channel-Name":
                value = other.name
            else:
                value = mine.get(src)
            if value is None:
                continue
            out.append((key, value))
        return out

    def variable_block(self) -> list[tuple[str, str]]:
        return [("variable_" + k, v) for k, v in self.variables.items()]

    def emit(self, name: str, values: dict[str, str] | None = None, body: str = "",
             other: bool = True, lead=(), after_core=()) -> SimEvent:
        """Fire a channel event: [lead], CORE, [after_core], leading, channel, Other-Leg-*,
        trailing, variables (``lead``/``after_core``: a PRIVATE_COMMAND's message headers)."""
        values = values or {}
        bus = self.switch.bus
        headers = [*lead, *bus.core(name), *after_core]
        headers += [(k, values.get(k, "")) for k in LEADING.get(name, ()) if k in values]
        headers += self.channel_block()
        if other:
            headers += self.other_leg_block()
        headers += [(k, values[k]) for k in TRAILING.get(name, ()) if k in values]
        headers += self.variable_block()
        return bus.publish(SimEvent(name, headers, body))

    # ------------------------------------------------------------------ transitions
    def set_state(self, state: str) -> None:
        self.state = state
        self.emit("CHANNEL_STATE")

    def set_callstate(self, callstate: str) -> None:
        old, self.callstate = self.callstate, callstate
        self.emit("CHANNEL_CALLSTATE", {"Original-Channel-Call-State": old,
                                        "Channel-Call-State-Number": str(CALLSTATE_NUMBER[callstate])})

    def ring(self) -> None:
        if self.times["progress"] or self.hanging:
            return
        self.times["progress"] = time.time()
        self.emit("CHANNEL_PROGRESS")
        self.set_callstate("RINGING")
        self.notify("ring")

    def early_media(self) -> None:
        if self.times["progress_media"] or self.hanging:
            return
        self.times["progress_media"] = time.time()
        self.answer_state = "early"
        self.codec = self.codec or ("PCMA", "8000", "64000")
        self.emit("CHANNEL_PROGRESS_MEDIA")
        self.set_callstate("EARLY")

    def answer(self) -> bool:
        if self.hanging:
            return False
        if self.answer_state == "answered":
            return True
        if self.sofia and self.direction == "inbound" and not self.times["progress_media"]:
            self.early_media()  # sofia answers an inbound call with 183 + SDP first
        self.times["answered"] = time.time()
        self.answer_state = "answered"
        self.codec = self.codec or ("PCMA", "8000", "64000")
        self.variables.setdefault("endpoint_disposition", "ANSWER")
        if self.job is not None:
            self.switch.races.held_answer(self)
        self.emit("CHANNEL_ANSWER")
        self.presence("confirmed")  # a SIP caller's dialog is confirmed before the call state moves
        self.set_callstate("ACTIVE")
        self.notify("answer")
        return True

    def presence(self, state: str) -> None:
        """PRESENCE_IN of a SIP caller's dialog (sofia inbound legs: alerting, confirmed, terminated)."""
        if not (self.sofia and self.direction == "inbound" and self.variables.get("presence_id")):
            return
        self.emit("PRESENCE_IN", {
            "proto": "any", "login": "src/switch_channel.c", "from": self.variables["presence_id"],
            "rpid": "unknown", "status": self.state if state == "alerting" else "Answered" if state == "confirmed" else "Hangup",
            "event_type": "presence", "alt_event_type": "dialog", "presence-call-info-state": state,
            "presence-call-direction": self.direction, "event_count": "0",
            "Presence-Calling-File": "src/switch_core_state_machine.c",
            "Presence-Calling-Function": "check_presence", "Presence-Calling-Line": "521"})

    def notify(self, what: str) -> None:
        for fn in list(self.watchers):
            fn(self, what)

    def wake(self, reason: str = "") -> None:
        if reason and not self.interrupt:
            self.interrupt = reason
        self.signal.set()

    def wait(self, timeout: float | None = None) -> str:
        """Block the channel's application until woken; returns why (or 'timeout')."""
        if self.hanging:
            return "hangup"
        if self.interrupt or self.queue:
            return "hangup" if self.hanging else (self.interrupt or "msg")
        self.signal.clear()
        fired = self.signal.wait(timeout)
        if self.hanging:
            # FreeSWITCH's session thread unwinds a hangup ~20 ms after CHANNEL_HANGUP
            gevent.sleep(self.switch.hangup_latency)
            return "hangup"
        if not fired:
            return "timeout"
        return self.interrupt or ("msg" if self.queue else "wake")

    def hangup(self, cause: str = "NORMAL_CLEARING") -> bool:
        if self.hanging:
            return False
        self.hanging = True
        self.hangup_cause = cause
        self.times["hangup"] = time.time()
        self.answer_state = "hangup"
        self.variables["hangup_cause"] = cause
        self.emit("CHANNEL_HANGUP")
        self.notify("hangup")
        self.signal.set()
        return True

    def teardown(self) -> None:
        """After the application unwound: the reporting/destroy tail of a hangup."""
        if self.destroyed:
            return
        self.set_state("CS_HANGUP")
        self.set_callstate("HANGUP")
        if self.recordings:
            self.switch.recorder.stop(self, "all")  # media bugs close in the hangup state
        self.presence("terminated")
        self.set_state("CS_REPORTING")
        self.emit("CHANNEL_HANGUP_COMPLETE")
        self.destroyed = True
        self.notify("complete")
        session = getattr(self, "socket_session", None)
        if session is not None and session.linger and not session.closed:
            session.closed_event.wait()  # a lingering outbound socket holds the channel
        while self.read_locks:  # FreeSWITCH destroys a session only once nobody holds it (corpus 17)
            self.lock_released.clear()
            self.lock_released.wait()
        self.switch.forget(self)
        self.emit("CHANNEL_DESTROY")
        self.set_state("CS_DESTROY")
        self.notify("destroy")

"""The `eavesdrop <uuid>` application (mod_dptools, switch_ivr_async.c) as the real switch
behaves in tests/data/esl-corpus/17-eavesdrop.jsonl (FACTS.md section 17).

Rules:
* the eavesdropper listens to the target leg; it is never bridged (no Other-Leg on its
  events) and the target's bridge is untouched. A target that does not exist (or is
  hanging up) gives nothing to listen to: the application returns at once;
* two switches say who hears the eavesdropper: `mux_read` (mixed into what the target
  sends its bridge: the other side hears it) and `mux_write` (mixed into what the
  target's own phone hears: a whisper). Start: `eavesdrop_whisper_aleg=true` sets
  mux_read, `eavesdrop_whisper_bleg=true` mux_write; `three_way` starts with both;
* DTMF: `uuid_recv_dtmf` queues digits on the eavesdropper's own channel (`feed`); the
  loop dequeues them one by one and fires each DTMF event (DTMF-Source APP) when it does,
  after the command's reply, as the switch does. With `eavesdrop_enable_dtmf` (on unless
  set false) a digit switches: 0 listen, 1 mux_read only, 2 mux_write only, 3 both,
  `*` ends the eavesdrop. No event says which mode is on (17: none does);
* the end: the target hangs up, `*`, the eavesdropper's own hangup or a transfer. With no
  application after it the leg then hangs up NORMAL_CLEARING (apps.run). While it runs
  it holds the target's session (a read lock): the target's CHANNEL_DESTROY waits for the
  eavesdrop's end, which comes after the target's CHANNEL_HANGUP (17 parts A and C).

`Channel.eavesdrop` is the running state (None when not eavesdropping): what a test
asks the simulator (`mode`, `speaks_to_target`, `speaks_to_other`, `target`).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from esl.sim import apps

SWITCHES = {"0": (False, False), "1": (True, False), "2": (False, True), "3": (True, True)}


@dataclass
class Eavesdrop:
    target: str
    mux_read: bool = False       # the target's bridge partner hears the eavesdropper
    mux_write: bool = False      # the target's own phone hears the eavesdropper
    dtmf: bool = True
    pending: deque = field(default_factory=deque)   # (digit, DTMF-Source) queued, not yet read
    done: bool = False

    @property
    def mode(self) -> str:
        """The DTMF digit that selects the current switches: 0, 1, 2 or 3."""
        return next(d for d, flags in SWITCHES.items() if flags == (self.mux_read, self.mux_write))

    @property
    def speaks_to_target(self) -> bool:
        return self.mux_write

    @property
    def speaks_to_other(self) -> bool:
        return self.mux_read


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("true", "yes", "on", "1")


def feed(ch, digits: str, source: str = "APP") -> bool:
    """Digits for a leg running eavesdrop (uuid_recv_dtmf: APP; its phone: RTP), queued
    for its loop. False when the leg runs no eavesdrop (the caller fires the DTMF event)."""
    state = getattr(ch, "eavesdrop", None)
    if state is None or state.done:
        return False
    state.pending.extend((d, source) for d in digits)
    ch.wake("dtmf")
    return True


def run(ch, arg: str, both: bool = False) -> str:
    target = ch.switch.channels.get(arg.strip())
    if target is None or target.hanging or target is ch:
        return apps.NONE
    v = ch.variables
    state = Eavesdrop(target.uuid, mux_read=both or _true(v.get("eavesdrop_whisper_aleg")),
                      mux_write=both or _true(v.get("eavesdrop_whisper_bleg")),
                      dtmf=v.get("eavesdrop_enable_dtmf", "true").lower() not in ("false", "no", "off", "0"))
    ch.eavesdrop = state

    def target_gone(_target, what: str) -> None:
        if what == "hangup":
            ch.wake("eavesdrop_end")
    target.watchers.append(target_gone)
    target.read_locks += 1      # switch_core_session_locate's read lock: the target is not destroyed under it
    try:
        while not state.done:
            why = ch.wait()
            if why in ("hangup", "transfer", "eavesdrop_end") or target.hanging:
                break
            if why == "msg" and ch.queue:
                apps.execute(ch, *ch.queue.popleft())
                continue
            if ch.interrupt in ("dtmf", why):
                ch.interrupt = ""       # consumed (dtmf, or a break with nothing to break)
            _read_digits(ch, state)
    finally:
        state.done = True
        ch.eavesdrop = None
        if ch.interrupt == "eavesdrop_end":
            ch.interrupt = ""
        if target_gone in target.watchers:
            target.watchers.remove(target_gone)
        target.read_locks -= 1
        target.lock_released.set()
    return apps.NONE


def _read_digits(ch, state: Eavesdrop) -> None:
    while state.pending and not state.done and not ch.hanging:
        digit, source = state.pending.popleft()
        ch.emit("DTMF", {"DTMF-Digit": digit, "DTMF-Duration": "2000", "DTMF-Source": source})
        if not state.dtmf:
            continue
        if digit == "*":
            state.done = True
        elif digit in SWITCHES:
            state.mux_read, state.mux_write = SWITCHES[digit]


apps.APPS["eavesdrop"] = run
apps.APPS["three_way"] = lambda ch, arg: run(ch, arg, both=True)

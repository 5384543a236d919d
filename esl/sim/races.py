"""The races of a real switch (timing.py), played out on the simulated one.

With ``Timing.ideal()`` every method here is a pass-through and the simulator behaves as
it always did. Otherwise (tests/data/esl-corpus/FACTS.md, "Timing facts (09-12)"):

* 09: an originate job stays open ``job_after_answer`` after its SIP leg answered (the
  far end's answer reaches the originating thread on its next 20 ms turn; a null leg
  answers inside the originate and its result is at once, 11). A
  uuid_bridge of that leg meanwhile either cancels the job (`-ERR ORIGINATOR_CANCEL` at
  the end of the window; the leg never parks; the bridge is made all the same) or ends
  it at once (`+OK`, then park, then the bridge).
* 10: uuid_bridge answers `+OK <b>` at once; the legs unpark one tick later and the
  bridge is up ``bridge_setup`` after the reply. A second uuid_bridge of the pair inside
  ``double_bridge_window`` while that is under way kills both legs
  DESTINATION_OUT_OF_ORDER two ticks after it; sooner it is absorbed (one bridge); once
  the bridge is up it unbridges and bridges the pair again.
* 11: `show channels|calls` lag behind the channel table by ``show_lag`` both ways.
"""
from __future__ import annotations

import logging
import random
import time

import gevent
import gevent.event

from esl.sim import apps
from esl.sim.timing import Timing

log = logging.getLogger(__name__)
ORIGINATOR_CANCEL = "ORIGINATOR_CANCEL"


class Job:
    """One running originate (api or bgapi) as the races see it."""

    def __init__(self, delay: float, first: bool = False):
        self.delay = delay          # answer -> result
        self.first = first          # chaos: the result reaches the wire before the answer
        self.open = False           # answered, result not yet out: an early bridge races it
        self.cancelled = False
        self.cut = gevent.event.Event()  # an early bridge that ends the job at once
        self.held: str | None = None     # the leg whose answer events are held (first)


class Bridging:
    """One uuid_bridge of a pair being set up (or up)."""

    def __init__(self, at: float):
        self.at = at
        self.failed_at: float | None = None
        self.up = False
        self.done = gevent.event.Event()


class Races:
    def __init__(self, switch, timing: Timing | None = None, chaos=None):
        self.switch = switch
        self.timing = timing or Timing.ideal()
        self.chaos = chaos
        self.rng = chaos.rng if chaos is not None else random.Random(0)
        self.bridging: dict[frozenset, Bridging] = {}
        self.gates: dict[str, Bridging] = {}
        self.gone: dict[str, object] = {}  # uuid -> Channel, hung up, still in `show` (lag)
        self.lags: dict[str, float] = {}

    def note(self, kind: str, what: str) -> None:
        if self.chaos is not None:
            self.chaos.note(kind, what)
        log.debug("race: %s", what)

    # ------------------------------------------------------------------ 09 originate
    def new_job(self) -> Job:
        base = self.timing.job_after_answer
        if self.chaos is None:
            return Job(base)
        delay = self.chaos.job_delay(base)
        return Job(0.0, first=True) if delay is None else Job(delay)

    def held_answer(self, ch) -> None:
        """Channel.answer: a job that goes first holds its leg's events back."""
        job = ch.job
        if job is not None and job.first and job.held is None:
            job.held = ch.uuid
            self.switch.bus.hold(ch.uuid)

    def job_window(self, ch, job: Job) -> str | None:
        """Once the leg answered: keep the job open; returns a cause if it was cancelled."""
        if job.first:
            self.note("job_first", f"originate {ch.uuid[:8]}: job before the answer on the wire")
            return None
        if job.delay <= 0 or not ch.sofia:
            return None  # a null/loopback leg answers inside the originate: no window (11)
        if self.chaos is not None:
            self.note("job_after", f"originate {ch.uuid[:8]}: job {job.delay * 1000:.0f} ms after the answer")
        wait = job.delay
        tick = self.timing.tick
        if tick:  # counted from the tick that delivers the answer, so the wire shows the gap
            wait += tick - (gevent.get_hub().loop.now() % tick)
        job.open = True
        try:
            job.cut.wait(wait)
        finally:
            job.open = False
        return ORIGINATOR_CANCEL if job.cancelled else None

    def job_over(self, job: Job) -> None:
        """The job's result is being reported: release what it held (after the report)."""
        if job.held is not None:
            gevent.spawn(self.switch.bus.release, job.held)
            job.held = None

    # ------------------------------------------------------------------ 10 uuid_bridge
    def uuid_bridge(self, a, b) -> None:
        t = self.timing
        if not (t.bridge_setup or t.job_after_answer or t.double_bridge_window or self.chaos):
            self.switch.bridge(a, b)
            return
        now = time.monotonic()
        for leg in (a, b):
            job = leg.job
            if job is not None and job.open:
                if self.rng.random() < t.cancel_on_early_bridge:
                    job.cancelled = True
                    self.note("cancel", f"uuid_bridge {a.uuid[:8]} {b.uuid[:8]}: originate of {leg.uuid[:8]} cancelled")
                else:
                    job.cut.set()
                    self.note("no_cancel", f"uuid_bridge {a.uuid[:8]} {b.uuid[:8]}: originate of {leg.uuid[:8]} ends +OK at once")
        key = frozenset((a.uuid, b.uuid))
        current = self.bridging.get(key)
        if current is not None and not current.up and not current.done.is_set():
            lo, hi = t.double_bridge_window or (float("inf"), float("inf"))
            gap = now - current.at
            if lo <= gap < hi and current.failed_at is None:
                current.failed_at = now
                self.note("double_bridge", f"uuid_bridge {a.uuid[:8]} {b.uuid[:8]} again after {gap * 1000:.0f} ms: both legs lost")
            return  # sooner: the same bridge (FreeSWITCH answers +OK all the same)
        if current is not None and current.up and a.bridged is b and b.bridged is a:
            self.bridging[key] = again = Bridging(now)
            gevent.spawn(self._rebridge, a, b, again)
            return
        self.bridging[key] = pending = Bridging(now)
        self.gates[a.uuid] = self.gates[b.uuid] = pending
        gevent.spawn(self._set_up, a, b, pending)

    def _tick(self) -> float:
        return self.timing.tick or 0.02

    def _set_up(self, a, b, pending: Bridging) -> None:
        try:
            gevent.sleep(self._tick())  # the legs leave what they run one tick after the reply
            if a.hanging or b.hanging:
                for leg in (a, b):  # a leg whose cancelled originate left it without an application
                    if not leg.hanging and getattr(leg, "runner", None) is None and not leg.queue:
                        leg.hangup("ORIGINATOR_CANCEL")
                        apps.start_runner(leg)
                return
            self.switch.bridge(a, b)  # unpark; their uuid_bridge application waits in gate()
            while True:
                target = (pending.failed_at + 2 * self._tick() if pending.failed_at is not None
                          else pending.at + self.timing.bridge_setup)
                left = target - time.monotonic()
                if left <= 0:
                    break
                gevent.sleep(left)
            if pending.failed_at is not None:
                for leg in (b, a):
                    leg.hangup("DESTINATION_OUT_OF_ORDER")
                    apps.start_runner(leg)
            else:
                pending.up = True
        finally:
            pending.done.set()

    def gate(self, ch) -> bool:
        """apps: a leg's uuid_bridge application waits here until the bridge is up; False
        if the leg is gone meanwhile (the double-bridge failure)."""
        pending = self.gates.get(ch.uuid)
        if pending is not None:
            pending.done.wait()
        return not ch.hanging

    def _rebridge(self, a, b, again: Bridging) -> None:
        """The pair is bridged already: CHANNEL_UNBRIDGE, then the same pair bridged again."""
        try:
            if not a.bridge_a:
                a, b = b, a
            gevent.sleep(self._tick())
            if a.hanging or b.hanging:
                return
            for state in ("CS_HIBERNATE", "CS_RESET"):
                b.set_state(state)
            a.emit("CHANNEL_UNBRIDGE", {"Bridge-A-Unique-ID": a.uuid, "Bridge-B-Unique-ID": b.uuid})
            a.set_state("CS_RESET")
            a.set_state("CS_SOFT_EXECUTE")
            b.set_state("CS_SOFT_EXECUTE")
            gevent.sleep(self._tick())
            if a.hanging or b.hanging:
                return
            a.emit("CHANNEL_EXECUTE", {"Application": "uuid_bridge", "Application-Data": b.uuid})
            b.emit("CHANNEL_EXECUTE", {"Application": "uuid_bridge", "Application-Data": a.uuid})
            a.emit("CHANNEL_BRIDGE", {"Bridge-A-Unique-ID": a.uuid, "Bridge-B-Unique-ID": b.uuid})
            b.set_state("CS_EXCHANGE_MEDIA")
            again.up = True
        finally:
            again.done.set()

    # ------------------------------------------------------------------ 11 show lag
    def lag(self, ch) -> float:
        if self.chaos is None:
            return self.timing.show_lag
        lag = self.lags.get(ch.uuid)
        if lag is None:
            lag = self.lags[ch.uuid] = self.chaos.show_lag()
            self.note("show_lag", f"channel {ch.uuid[:8]}: listed {lag * 1000:.0f} ms late")
        return lag

    @property
    def lagging(self) -> bool:
        return bool(self.timing.show_lag) or self.chaos is not None

    def listed(self, channels) -> list:
        """The channels `show channels|calls` lists now."""
        if not self.lagging:
            return list(channels)
        now = time.time()
        out = [ch for ch in channels if now - ch.times["created"] >= self.lag(ch)]
        for uuid, ch in list(self.gone.items()):
            if now - ch.times["hangup"] < self.lag(ch):
                out.append(ch)
            else:
                del self.gone[uuid]
                self.lags.pop(uuid, None)
        return out

    def exists(self, ch) -> bool:
        """uuid_exists/uuid_dump: right at once (a hung-up channel is gone) when lagging."""
        return ch is not None and not (self.lagging and ch.hanging)

    def forget(self, ch) -> None:
        self.gates.pop(ch.uuid, None)
        if self.lagging:
            self.gone[ch.uuid] = ch
            if len(self.gone) > 64:  # nobody asked `show` for a while: drop what it no longer lists
                self.listed(())
        for key in [k for k in self.bridging if ch.uuid in k]:
            if self.bridging[key].done.is_set():
                del self.bridging[key]

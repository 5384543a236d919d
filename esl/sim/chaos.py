"""Chaos mode: per call, a seeded pick among the orders a real FreeSWITCH can produce
(tests/data/esl-corpus/FACTS.md "Timing facts"), plus Event Socket drops at random moments.

Picks (each logged): per originate, the job comes after the answer (mostly, by 10-30 ms)
or before it on the wire (the answer's events held back until the job is out); per
early uuid_bridge, whether the running originate job is cancelled; per channel, its
`show channels` lag (80-200 ms); per event batch, a tick of delivery jitter (counted
only). Drops (``drop_every`` seconds apart on average, 0 = none): every client connection
gets the disconnect notice and EOF; channels and running jobs live on. Engine kills are
the test's business, not the simulator's.
"""
from __future__ import annotations

import logging
import random
import time
from collections import Counter

import gevent

log = logging.getLogger(__name__)

JOB_BEFORE_ANSWER = 0.1  # share of originates whose job reaches the wire before the answer


class Chaos:
    def __init__(self, seed: int, drop_every: float = 0.0):
        self.seed = seed
        # one stream per kind of pick, so that how often ticks or drops happen (which depends
        # on the machine's timing) does not shift the per-call picks of the same script
        self.rng = random.Random(f"{seed}:calls")
        self._lags = random.Random(f"{seed}:lags")
        self._ticks = random.Random(f"{seed}:ticks")
        self._drops = random.Random(f"{seed}:drops")
        self.drop_every = drop_every
        self.log: list[tuple[float, str]] = []  # (seconds since start, what happened)
        self.counts: Counter = Counter()
        self.started = time.monotonic()
        self._dropper = None

    def note(self, kind: str, what: str) -> None:
        self.counts[kind] += 1
        self.log.append((round(time.monotonic() - self.started, 4), what))
        log.debug("chaos: %s", what)

    # ------------------------------------------------------------ per-call picks
    def job_delay(self, base: float) -> float | None:
        """Seconds from answer to job (None: the job goes first on the wire)."""
        if self.rng.random() < JOB_BEFORE_ANSWER:
            return None
        base = base or 0.02
        return self.rng.uniform(0.5 * base, 1.5 * base)

    def show_lag(self) -> float:
        return self._lags.uniform(0.08, 0.2)

    def late_tick(self) -> bool:
        late = self._ticks.random() < 0.25
        if late:
            self.counts["tick_late"] += 1
        return late

    # ------------------------------------------------------------ Event Socket drops
    def start(self, sim) -> None:
        if self.drop_every > 0 and self._dropper is None:
            self._dropper = gevent.spawn(self._drop_loop, sim)

    def stop(self) -> None:
        if self._dropper is not None:
            self._dropper.kill(block=False)
            self._dropper = None

    def _drop_loop(self, sim) -> None:
        while True:
            gevent.sleep(self._drops.expovariate(1.0 / self.drop_every))
            n = len(sim.sessions)
            self.note("drop", f"Event Socket drop: {n} connection(s) closed")
            sim.disconnect_all()

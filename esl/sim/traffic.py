"""Caller traffic: one caller's patience and talk time, a scripted list, a Poisson stream.

A caller not bridged within ``patience`` (scaled) seconds hangs up: abandoned. A bridged
caller hangs up ``talk`` seconds after the bridge. ``Poisson`` places calls with
exponential gaps (``calls_per_minute``, scaled) and keeps counts (placed, abandoned,
served) for tests and the demo.
"""
from __future__ import annotations

import random

import gevent

from esl.sim import apps


def watch_caller(sim, ch, patience, talk, stats=None):
    tf = sim.switch.time_factor

    def run():
        waited = 0.0
        step = 0.01
        while not ch.hanging:
            if ch.bridged is not None:
                if stats is not None:
                    stats["served"] += 1
                if talk is not None:
                    gevent.sleep(talk * tf)
                    if not ch.hanging:
                        ch.hangup("NORMAL_CLEARING")
                        apps.start_runner(ch)
                return
            if patience is not None and waited >= patience * tf:
                if stats is not None:
                    stats["abandoned"] += 1
                ch.hangup("ORIGINATOR_CANCEL" if ch.answer_state != "answered" else "NORMAL_CLEARING")
                apps.start_runner(ch)
                return
            gevent.sleep(step)
            waited += step
    return gevent.spawn(run)


def scripted(sim, calls):
    """calls: iterable of dicts (at=seconds, destination, caller_number, patience, talk)."""
    def run():
        t = 0.0
        for c in sorted(calls, key=lambda c: c.get("at", 0)):
            gevent.sleep(max(0.0, c.get("at", 0) - t) * sim.switch.time_factor)
            t = c.get("at", 0)
            sim.place_call(c["destination"], c.get("caller_number", "4790000000"),
                           patience=c.get("patience"), talk=c.get("talk"))
    return gevent.spawn(run)


class Poisson:
    def __init__(self, sim, destination, calls_per_minute, patience, talk, seed=None, limit=None):
        self.sim = sim
        self.destination = destination
        self.rate = calls_per_minute / 60.0
        self.patience = patience
        self.talk = talk
        self.rng = random.Random(seed)
        self.limit = limit
        self.stats = {"placed": 0, "abandoned": 0, "served": 0}
        self.greenlet = None

    def start(self):
        self.greenlet = gevent.spawn(self._run)

    def stop(self):
        if self.greenlet is not None:
            self.greenlet.kill(block=False)

    def _run(self):
        n = 0
        while self.limit is None or n < self.limit:
            gevent.sleep(self.rng.expovariate(self.rate) * self.sim.switch.time_factor)
            n += 1
            number = f"479{self.rng.randrange(10**7):07d}"
            ch = self.sim.place_call(self.destination, number)
            self.stats["placed"] += 1
            watch_caller(self.sim, ch, self.patience, self.talk, self.stats)

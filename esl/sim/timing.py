"""WHEN the simulated switch says things: the races a real FreeSWITCH produces, as data.

``Timing.ideal()`` (the default) is the simulator's original, instantaneous behaviour;
``Timing.real()`` is FreeSWITCH as measured in tests/data/esl-corpus/FACTS.md, section
"Timing facts (09-12)". Every field is in REAL seconds: ``time_factor`` (which scales the
durations the simulator invents: ring, talk, prompts) does not apply to these races.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    # 09 A: an originate's result (BACKGROUND_JOB `+OK <uuid>`) comes this long AFTER its
    # SIP leg's CHANNEL_ANSWER (null legs: at once, 11); the leg's CHANNEL_EXECUTE park / CHANNEL_PARK right after it.
    job_after_answer: float = 0.0
    # 09 B: probability that a uuid_bridge of a leg whose originate job is still running
    # ends that job `-ERR ORIGINATOR_CANCEL` (the leg never parks; the bridge is made anyway).
    cancel_on_early_bridge: float = 0.0
    # 10: a second uuid_bridge of the same pair this many seconds (lo <= gap < hi) after the
    # first, while that bridge is being set up, hangs both legs up DESTINATION_OUT_OF_ORDER.
    double_bridge_window: tuple[float, float] | None = None
    # 10: uuid_bridge of two parked legs: they unpark one tick after the reply and the
    # bridge (CHANNEL_EXECUTE uuid_bridge, CHANNEL_BRIDGE) is up this long after it.
    bridge_setup: float = 0.0
    # 11: `show channels|calls` list a channel this long after it was created and keep a
    # killed one listed this long after its hangup; uuid_exists/uuid_dump are right at once.
    show_lag: float = 0.0
    # 12: jobs always outlive their Event Socket and their BACKGROUND_JOB goes to every
    # subscriber (the simulator always did that). True adds the real socket's end: after
    # `exit` (answered `+OK bye` at once) or the client's EOF, the disconnect notice and
    # the close wait until the jobs that connection started have ended.
    jobs_outlive_socket: bool = False
    # events reach each Event Socket in batches every `tick` seconds and Event-Date-Timestamp
    # has that resolution (0 = each event at once, microsecond stamps).
    tick: float = 0.0

    @classmethod
    def ideal(cls) -> "Timing":
        return cls()

    @classmethod
    def real(cls) -> "Timing":
        return cls(job_after_answer=0.02, cancel_on_early_bridge=0.25,
                   double_bridge_window=(0.005, 0.075), bridge_setup=0.06, show_lag=0.1,
                   jobs_outlive_socket=True, tick=0.02)

    @property
    def racy(self) -> bool:
        """Any race modelled at all (the ideal profile takes none of the new paths)."""
        return self != Timing()

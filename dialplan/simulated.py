"""The routing configuration as the simulator's dialplan (esl.sim: a callable
`(destination, channel) -> variables | [(application, data)] | None`).

Rules: the same decisions as the compiled XML, from the same functions: a main number
(exact first, then patterns, as compile orders them) gets `entry_variables` and parks;
a direct-dial number gets `direct.actions()` with what FreeSWITCH substitutes when it
picks the extension (captures, `${destination_number}`) substituted here. The
simulator stands in for the outside world: a trunk's gateway reaches the simulated
phones by number (`sofia/gateway/<trunk>/<number>` is resolved by the simulator to the
phone `<number>`). Anything else returns None, so the simulator's own defaults apply.
"""
from __future__ import annotations

from typing import Callable

from dialplan import direct, patterns
from dialplan.compile import entry_variables
from engine.config import Deployment

LOOPBACK_LEG = "loopback_leg"


def sim_dialplan(deployment: Deployment) -> Callable:
    exact = {e.number: e for e in deployment.entry_points.values() if not e.pattern}
    by_pattern = [e for e in deployment.entry_points.values() if e.pattern]

    def route(destination: str, channel=None):
        if destination in exact:
            return entry_variables(exact[destination])
        for entry in by_pattern:
            if patterns.matches(entry.pattern, destination):
                return entry_variables(entry)
        for _, rule in direct.matching(deployment, destination):
            variables = getattr(channel, "variables", {}) or {}
            return direct.for_simulator(rule, deployment.trunks, destination,
                                        variables.get(LOOPBACK_LEG) == direct.LOOPBACK_B)
        return None

    return route

"""Domain facts the engine announces (engine.effects.Notify) on their way to the consoles.

The engine's runtime publishes every Notify here (`Notices.publish`, never blocking, never
raising); the Socket.IO side subscribes. Rules:
* the store snapshots (`agent_changed`, `interaction_changed`) are not notices: the
  runtime writes them to the store and the wallboard reads the engine; only subscribers
  that ask for them (`subscribe(fn, snapshots=True)`: the agent console, which pushes a
  fresh view to the agent concerned) receive them;
* `engine_error` is logged at ERROR (error id and message only, never caller data) and
  goes to no console: it is for whoever runs the engine;
* every other notice names the tenants it concerns (`tenants_of`): the agent's queues'
  tenants, or the notice's own `tenant`; a console receives it only for tenants it may see.
"""
from __future__ import annotations

import logging
from typing import Callable

log = logging.getLogger(__name__)

SNAPSHOTS = frozenset({"agent_changed", "interaction_changed"})


class Notices:
    def __init__(self):
        self._subscribers: list[Callable] = []
        self._snapshot_subscribers: list[Callable] = []
        self.published = 0

    def subscribe(self, fn: Callable, snapshots: bool = False) -> None:
        """`fn(notice)` for every notice; with `snapshots` also for the store snapshots."""
        (self._snapshot_subscribers if snapshots else self._subscribers).append(fn)

    def publish(self, notice) -> None:
        if notice.topic in SNAPSHOTS:
            self._deliver(self._snapshot_subscribers, notice)
            return
        self.published += 1
        if notice.topic == "engine_error":
            log.error("engine error %s: %s", notice.payload.get("error_id", ""), notice.payload.get("message", ""))
            return
        self._deliver(self._subscribers + self._snapshot_subscribers, notice)

    @staticmethod
    def _deliver(subscribers: list[Callable], notice) -> None:
        for fn in list(subscribers):
            try:
                fn(notice)
            except Exception:  # a console's fault must never reach the engine's runtime
                log.exception("a notice subscriber failed on %s", notice.topic)


def tenants_of(notice, deployment) -> set[str]:
    """The tenants a notice concerns (empty: nobody's console gets it)."""
    payload = notice.payload
    if payload.get("tenant"):
        return {str(payload["tenant"])}
    agent = deployment.agents.get(str(payload.get("agent", "")))
    if agent is None:
        return set()
    return {deployment.queues[q].tenant for q in agent.queues if q in deployment.queues}

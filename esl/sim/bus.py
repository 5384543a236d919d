"""The event bus: numbers every event (``Event-Sequence`` grows across all events, as in
FreeSWITCH), stamps the CORE headers, and hands the event to every listener
synchronously, in emission order. Listeners (ESL sessions) filter and queue; they never
block the bus.
"""
from __future__ import annotations

import itertools
import logging
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Callable

from esl.sim.headers import CALLING

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SimEvent:
    """One event: headers in wire order (values NOT url-encoded) and an optional body."""

    name: str  # Event-Name, or the subclass for CUSTOM events
    headers: list[tuple[str, str]]
    body: str = ""
    lookup: dict[str, str] = field(default_factory=dict)
    frames: dict[str, bytes] = field(default_factory=dict)  # serialised per format (session.py)

    def get(self, name: str, default: str = "") -> str:
        if not self.lookup:
            self.lookup = dict(self.headers)
        return self.lookup.get(name, default)


def date_headers(now: float) -> list[tuple[str, str]]:
    local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
    gmt = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))
    return [("Event-Date-Local", local), ("Event-Date-GMT", gmt),
            ("Event-Date-Timestamp", str(int(now * 1_000_000)))]


class EventBus:
    def __init__(self, hostname: str = "sentral-sim", ipv4: str = "127.0.0.1"):
        self.core_uuid = str(uuidlib.uuid4())
        self.hostname = hostname
        self.ipv4 = ipv4
        self._seq = itertools.count(1)
        self._listeners: list[Callable[[SimEvent], None]] = []
        self.resolution = 0.0  # Event-Date-Timestamp grid in seconds (Timing.tick; 0 = microseconds)
        self.held: dict[str, list[SimEvent]] = {}  # Unique-ID -> events held back (races.py)

    def listen(self, fn: Callable[[SimEvent], None]) -> None:
        self._listeners.append(fn)

    def unlisten(self, fn: Callable[[SimEvent], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def core(self, name: str, calling_key: str | None = None, now: float | None = None) -> list[tuple[str, str]]:
        now = time.time() if now is None else now
        if self.resolution:
            now -= now % self.resolution
        file, func, line = CALLING.get(calling_key or name, ("switch_event.c", "switch_event_fire", "0"))
        return [("Event-Name", name), ("Core-UUID", self.core_uuid),
                ("FreeSWITCH-Hostname", self.hostname), ("FreeSWITCH-Switchname", self.hostname),
                ("FreeSWITCH-IPv4", self.ipv4), ("FreeSWITCH-IPv6", "::1"),
                *date_headers(now),
                ("Event-Calling-File", file), ("Event-Calling-Function", func),
                ("Event-Calling-Line-Number", line), ("Event-Sequence", str(next(self._seq)))]

    def fire(self, name: str, extra: list[tuple[str, str]] = (), body: str = "",
             subclass: str | None = None) -> SimEvent:
        """A non-channel event: CORE headers then ``extra``."""
        if subclass:
            headers = [("Event-Subclass", subclass), *self.core("CUSTOM", subclass), *extra]
        else:
            key = "PRESENCE_IN_REGISTER" if name == "PRESENCE_IN" else name
            headers = [*self.core(name, key), *extra]
        return self.publish(SimEvent(subclass or name, headers, body))

    def hold(self, uuid: str) -> None:
        """Hold back one channel's events (numbered as they happen) until ``release``."""
        self.held.setdefault(uuid, [])

    def release(self, uuid: str) -> None:
        for event in self.held.pop(uuid, []):
            self._deliver(event)

    def publish(self, event: SimEvent) -> SimEvent:
        if self.held:
            held = self.held.get(event.get("Unique-ID"))
            if held is not None:
                held.append(event)
                return event
        return self._deliver(event)

    def _deliver(self, event: SimEvent) -> SimEvent:
        for fn in list(self._listeners):
            try:
                fn(event)
            except Exception:  # a broken listener must not stop the switch
                log.exception("event listener failed on %s", event.name)
        return event

"""Duplicate detection by gateway message id, with bounded memory: the newest ``size``
ids are remembered. Mark an id only once the item was handed on, so a redelivery after a
failed hand-over is processed again (nothing lost) and one after success is dropped.

An id may carry a lifetime: SMPP gives a mobile-originated message no id, so the SMPP
link falls back to a digest of the message, and the same text from the same sender an
hour later is a new message, not a duplicate. The clock is injected."""
from __future__ import annotations

import time
from collections import OrderedDict


class SeenIds:
    def __init__(self, size: int = 100_000, clock=time.monotonic):
        self._ids: OrderedDict[str, float | None] = OrderedDict()
        self._size = size
        self._clock = clock

    def __contains__(self, message_id: str) -> bool:
        if message_id not in self._ids:
            return False
        expires = self._ids[message_id]
        return expires is None or self._clock() < expires

    def add(self, message_id: str, lifetime: float | None = None) -> None:
        self._ids[message_id] = None if lifetime is None else self._clock() + lifetime
        self._ids.move_to_end(message_id)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)

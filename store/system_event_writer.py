"""A gevent greenlet that writes the engine process's system events (store/system_events.py):
engine started/stopped/heartbeat, node connected/lost.

Rules:
- `put()` never blocks and never touches the database: call handling hands an event
  over and goes on.
- The queue is bounded (`limit` events): while the database is down the oldest events are
  dropped (counted in `dropped`, one log line per outage), so an outage never grows the
  engine's memory and never stops it. Once the database answers again the events kept are
  written with their own times.
- A failed write is retried with exponential backoff (up to `retry_max` s); one warning
  per outage, not one per try. An event the store refuses (`InvalidRecord`) is logged and
  dropped: retrying cannot help.
- `stop(timeout)` writes what is queued if it can within `timeout`, then ends.
"""
from __future__ import annotations

import collections
import logging
from datetime import datetime
from typing import Callable

import gevent
import gevent.event

from engine.clock import utcnow
from store.errors import InvalidRecord
from store.system_events import SystemEvent

log = logging.getLogger(__name__)


class SystemEventWriter:
    def __init__(self, store, *, limit: int = 1000, max_batch: int = 200, retry_initial: float = 0.5,
                 retry_max: float = 30.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.limit = limit
        self.max_batch = max_batch
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.clock = clock
        self._queue: collections.deque[SystemEvent] = collections.deque()
        self._wake = gevent.event.Event()
        self._idle = gevent.event.Event()
        self._idle.set()
        self._greenlet: gevent.Greenlet | None = None
        self.written = 0
        self.dropped = 0         # oldest events dropped because the queue was full
        self.rejected = 0        # events the store refused as invalid
        self.errors = 0          # failed write attempts
        self.last_error = ""
        self._failing = False    # in an outage: warned once already

    # -- producer side ---------------------------------------------------------
    def put(self, source: str, kind: str, at: datetime | None = None, **data) -> None:
        """Queue one event (never blocks, never raises for a full queue)."""
        if len(self._queue) >= self.limit:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("system events: %d dropped so far, the database is not writable (%s)",
                          self.dropped, self.last_error or "no error yet")
        self._queue.append(SystemEvent(at or self.clock(), source, kind, data))
        self._idle.clear()
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> "SystemEventWriter":
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)
            self._greenlet.name = "system-events"
        return self

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the queue is written; False on timeout."""
        return self._idle.wait(timeout) if self._queue or not self._idle.is_set() else True

    def stop(self, timeout: float = 5.0) -> int:
        """Write what is queued (at most `timeout` s), end; returns events left unwritten."""
        if self._greenlet is None:
            return len(self._queue)
        if not self.flush(timeout):
            log.warning("system events: %d not written at stop (%s)", len(self._queue), self.last_error)
        self._greenlet.kill()
        self._greenlet = None
        return len(self._queue)

    # -- the greenlet ------------------------------------------------------------
    def _run(self) -> None:
        delay = self.retry_initial
        while True:
            if not self._queue:
                self._idle.set()
                self._wake.wait()
                self._wake.clear()
                continue
            batch = [self._queue[i] for i in range(min(len(self._queue), self.max_batch))]
            try:
                self.store.append_system_events(batch)
            except InvalidRecord as exc:
                self._drop_invalid(batch, exc)
                continue
            except Exception as exc:  # noqa: BLE001 - the database is away: keep the events, back off
                self.errors += 1
                self.last_error = f"{exc.__class__.__name__}: {exc}"[:300]
                if not self._failing:
                    self._failing = True
                    log.warning("system events: not written (%s); retrying, %d queued (at most %d kept)",
                                self.last_error, len(self._queue), self.limit)
                gevent.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            self._written(batch)
            if self._failing:
                log.info("system events: written again after %d failed attempt(s)", self.errors)
            self._failing = False
            delay = self.retry_initial

    def _written(self, batch: list[SystemEvent]) -> None:
        """Remove the written events (those dropped meanwhile from the left are gone already)."""
        for event in batch:
            if self._queue and self._queue[0] is event:
                self._queue.popleft()
        self.written += len(batch)

    def _drop_invalid(self, batch: list[SystemEvent], exc: Exception) -> None:
        for event in batch:   # find the bad ones one by one (rare: a producer bug)
            try:
                self.store.append_system_events([event])
                self.written += 1
            except InvalidRecord:
                self.rejected += 1
                log.error("system events: refused %s/%s: %s", event.source, event.kind, exc)
            except Exception:  # noqa: BLE001 - went away meanwhile: the loop retries the rest
                return
            if self._queue and self._queue[0] is event:
                self._queue.popleft()

"""A gevent greenlet that writes the engine's journal rows (and state upserts) in batches.

Rules:
- `put()` never blocks and never touches the database: the engine's single writer
  greenlet hands rows over and goes on deciding.
- The writer takes the first waiting item, then everything else already queued (up to
  `max_batch`), lingering at most `linger` seconds for more: latency is bounded by
  linger + one commit, and batches grow by themselves under load.
- One batch = one transaction (`Store.write`). A database error (any error but
  `InvalidRecord`) never drops a row: the same batch is retried with exponential
  backoff (idempotent: the journal ignores a row it already has, upserts are
  last-wins) and logged.
- A row the store refuses as invalid (`InvalidRecord`, a producer bug) cannot succeed by
  retrying: the batch is split to isolate it, it is logged and kept in `rejected`,
  the valid rows are written.
- `flush()` waits until everything put so far is committed; `stop()` flushes and ends.
- `on_written(rows)` (optional) gets each committed batch's journal rows right after the
  commit, in the writer greenlet (reports/live.LiveFigures keeps today's figures from
  them): it must not block; an exception in it is logged and changes nothing of writing.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import gevent
import gevent.event
import gevent.queue

from engine.effects import Journal
from store.errors import InvalidRecord
from store.records import AgentStateRecord, InteractionRecord

log = logging.getLogger(__name__)

_STOP = object()
_KINDS = {Journal: "journal", InteractionRecord: "interactions", AgentStateRecord: "agent_states"}


class JournalWriter:
    def __init__(self, store, *, max_batch: int = 1000, linger: float = 0.005,
                 retry_initial: float = 0.05, retry_max: float = 5.0,
                 on_written: Callable[[list], None] | None = None) -> None:
        self.store = store
        self.on_written = on_written
        self.max_batch = max_batch
        self.linger = linger
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._queue: gevent.queue.Queue = gevent.queue.Queue()
        self._progress = gevent.event.Event()
        self._greenlet: gevent.Greenlet | None = None
        self._inflight: list = []
        self.accepted = 0        # items put
        self.done = 0            # items committed (or rejected)
        self.new_journal_rows = 0
        self.batches = 0
        self.errors = 0          # failed attempts (each retried)
        self.last_error = ""     # "" while healthy; the last failure's class and text otherwise
        self.rejected: list = []
        self.warn_pending = 50_000  # log once when this many items wait (database down or too slow)
        self._warned = False

    # -- producer side ---------------------------------------------------------
    def put(self, item) -> None:
        if type(item) not in _KINDS:
            raise TypeError(f"the writer takes Journal, InteractionRecord, AgentStateRecord; got {type(item).__name__}")
        self.accepted += 1
        self._queue.put(item)
        if not self._warned and self.pending >= self.warn_pending:
            self._warned = True
            log.error("journal writer: %d items waiting to be written (last error: %s)",
                      self.pending, self.last_error or "none")

    def put_many(self, items) -> None:
        for item in items:
            self.put(item)

    @property
    def pending(self) -> int:
        return self.accepted - self.done

    def pending_items(self) -> list:
        """What is not committed yet (the batch in flight first), e.g. to dump at a failed stop."""
        return list(self._inflight) + [i for i in list(self._queue.queue) if i is not _STOP]

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> "JournalWriter":
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)
        return self

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every item put before this call is committed; False on timeout."""
        if self._greenlet is None and self.pending:
            raise RuntimeError("journal writer not started: call start() first")
        target = self.accepted
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.done < target:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self._progress.clear()
            self._progress.wait(remaining)
        return True

    def stop(self, timeout: float | None = None) -> int:
        """Flush, then end the greenlet. Returns how many items are still not written (0 = all)."""
        if self._greenlet is None:
            return self.pending
        flushed = self.flush(timeout)
        if not flushed:
            log.error("journal writer stopping with %d unwritten items (database unavailable?)", self.pending)
            self._greenlet.kill()
        else:
            self._queue.put(_STOP)
            self._greenlet.join()
        self._greenlet = None
        return self.pending

    # -- the greenlet ------------------------------------------------------------
    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._inflight = batch
            self._write_retrying(batch)
            self._inflight = []
            self.done += len(batch)
            self.batches += 1
            self._progress.set()

    def _next_batch(self) -> list | None:
        first = self._queue.get()
        if first is _STOP:
            return None
        batch = [first]
        deadline = time.monotonic() + self.linger
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except gevent.queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except gevent.queue.Empty:
                    break
            if item is _STOP:
                self._queue.put(_STOP)  # end after this batch
                break
            batch.append(item)
        return batch

    def _write_retrying(self, batch: list) -> None:
        delay = self.retry_initial
        while True:
            try:
                self._write(batch)
                self.last_error = ""
                self._warned = self._warned and self.pending >= self.warn_pending // 2
                return
            except InvalidRecord:
                self._write_isolating(batch)
                return
            except Exception as exc:  # noqa: BLE001 - a row is never dropped: log, back off, retry
                self.errors += 1
                self.last_error = f"{exc.__class__.__name__}: {exc}"[:500]
                log.warning("journal writer: batch of %d not written (%s); retrying in %.2fs",
                            len(batch), exc.__class__.__name__, delay, exc_info=self.errors == 1)
                gevent.sleep(delay)
                delay = min(delay * 2, self.retry_max)

    def _write(self, batch: list) -> None:
        groups = {"journal": [], "interactions": [], "agent_states": []}
        for item in batch:
            groups[_KINDS[type(item)]].append(item)
        self.new_journal_rows += self.store.write(**groups)
        if self.on_written is not None and groups["journal"]:
            try:
                self.on_written(groups["journal"])
            except Exception:  # noqa: BLE001 - the rows are written: a follower's failure is only logged
                log.exception("journal writer: on_written failed for a batch of %d rows", len(groups["journal"]))

    def _write_isolating(self, batch: list) -> None:
        if len(batch) == 1:
            log.error("journal writer: the store refused %s; kept in writer.rejected", _describe(batch[0]))
            self.rejected.append(batch[0])
            return
        half = len(batch) // 2
        for part in (batch[:half], batch[half:]):
            self._write_retrying(part)


def _describe(item) -> str:
    """An item's identity for logs, without its personal data (numbers, names)."""
    if isinstance(item, Journal):
        return f"journal row {item.interaction}/{item.seq} ({item.kind})"
    if isinstance(item, InteractionRecord):
        return f"interaction {item.id}"
    return f"agent state {item.agent}"

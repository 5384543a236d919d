"""The engine's runtime under gevent: one inbox, one writer greenlet, effects released
only after their journal rows are durable.

Rules:
* single writer: ESL events, console commands and timers all enter through
  `post()`; one greenlet calls `engine.handle()`; nothing else touches the engine;
* write-ahead: the journal rows and state snapshots an event produced are handed to the
  store writer, and that event's call-control effects, timers and notifications are
  performed only once the writer has committed them. A SIGKILL therefore never leaves
  a FreeSWITCH action without its journal row; after a restart the nodes' channels and
  the store tell the engine where every call is (engine/recovery.py);
* call-control effects of one call run in order (a worker per hash of the call's uuid);
  an originate runs in its own greenlet because FreeSWITCH answers it only when the
  agent answers or the attempt fails.
"""
from __future__ import annotations

import logging
import zlib
from datetime import datetime
from typing import Callable, Iterable, Mapping

import gevent
import gevent.event
import gevent.pool
import gevent.queue

from engine import effects as fx
from engine import events as ev
from store.records import AgentStateRecord, InteractionRecord
from engine.clock import utcnow

log = logging.getLogger(__name__)

_STOP = object()



def _time(value) -> datetime | None:
    if not value:
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _jsonable(snap: Mapping) -> dict:
    """The engine's snapshot as JSON-safe data (times as ISO strings) for the store's data column."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in snap.items()}


def interaction_record(snap: Mapping, at: datetime) -> InteractionRecord:
    return InteractionRecord(
        id=snap["id"], tenant=snap.get("tenant", ""), state=snap.get("state", ""), kind=snap.get("kind", "call"),
        entered_at=_time(snap.get("entered_at")) or at, queue=snap.get("queue", ""),
        node=snap.get("node", ""), caller_uuid=snap.get("origin_uuid") or snap.get("caller_uuid", ""),
        caller_number=snap.get("caller_number", ""), caller_name=snap.get("caller_name", ""),
        destination=snap.get("destination", ""), priority=int(snap.get("priority", 0)),
        queue_entered_at=_time(snap.get("queue_entered_at")), agent=snap.get("agent", ""),
        agent_uuid=snap.get("agent_uuid") or snap.get("served_leg", ""), answered_at=_time(snap.get("answered_at")),
        ended_at=(_time(snap.get("ended_at")) or at) if snap.get("ended") else None,
        end_reason=snap.get("end_reason", ""), data=_jsonable(snap),
    )


def agent_record(snap: Mapping, at: datetime) -> AgentStateRecord:
    return AgentStateRecord(
        agent=snap["agent"], state=snap.get("state", ""), since=_time(snap.get("since")) or at,
        reason=snap.get("reason", ""), no_answer_count=int(snap.get("no_answer_count", 0)),
        last_call_end=_time(snap.get("last_call_end")), calls_answered=int(snap.get("calls_answered", 0)),
        talk_time=float(snap.get("talk_time", 0.0)), interaction=snap.get("interaction", ""),
        data=_jsonable(snap),
    )


class Runtime:
    def __init__(self, engine, *, executor, writer, notify: Callable[[fx.Notify], None] | None = None,
                 clock: Callable[[], datetime] = utcnow, workers: int = 32,
                 send_written: Callable[[fx.SendWritten], None] | None = None):
        self.engine = engine
        self.send_written = send_written     # the channel sender (channels/sender.py): never blocks
        self.executor = executor
        self.writer = writer
        self.notify = notify or (lambda n: None)
        self.clock = clock
        self.inbox: gevent.queue.Queue = gevent.queue.Queue()
        self._held: list[list] = []
        self._held_ready = gevent.event.Event()
        self._timers: dict[str, gevent.Greenlet] = {}
        self._workers = [gevent.queue.Queue() for _ in range(workers)]
        self._greenlets: list[gevent.Greenlet] = []
        self._loop_greenlet: gevent.Greenlet | None = None
        self._originates = gevent.pool.Group()
        self.handled = 0
        self.errors = 0

    # -- producers ----------------------------------------------------------------
    def post(self, item) -> None:
        if item is not None:
            self.inbox.put(item)

    # -- lifecycle ----------------------------------------------------------------
    def start(self, initial_effects: Iterable = ()) -> "Runtime":
        self._dispatch(list(initial_effects))
        self._loop_greenlet = gevent.spawn(self._loop)
        self._greenlets = [gevent.spawn(self._releaser)]
        self._greenlets += [gevent.spawn(self._worker, q) for q in self._workers]
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """No new decisions, then everything decided is committed, then nothing more acts."""
        self.inbox.put(_STOP)
        if self._loop_greenlet is not None:
            self._loop_greenlet.join(timeout)
        self.writer.flush(timeout)
        gevent.killall(self._greenlets, timeout=timeout)
        self._originates.kill(timeout=timeout)
        for timer in list(self._timers.values()):
            timer.kill(block=False)
        self._timers.clear()

    # -- the single writer -----------------------------------------------------------
    def _loop(self) -> None:
        while True:
            item = self.inbox.get()
            if item is _STOP:
                return
            try:  # a bug in one decision must not stop the switchboard
                self._dispatch(self.engine.handle(item))
                self.handled += 1
            except Exception:
                self.errors += 1
                log.exception("engine failed on %s", type(item).__name__)  # no caller data in logs

    def _call_key(self, effect) -> str:
        """Effects of one call share a worker: keyed by the interaction owning the leg."""
        uuid = getattr(effect, "uuid", None) or getattr(effect, "a_uuid", None) or getattr(effect, "leg_uuid", "")
        return self.engine.by_leg.get(uuid, uuid)

    def _dispatch(self, effects: list) -> None:
        rows, actions = [], []
        at = self.engine.now
        for effect in effects:
            if isinstance(effect, fx.Journal):
                rows.append(effect)
            elif isinstance(effect, fx.Notify) and effect.topic in ("interaction_changed", "item_changed"):
                rows.append(interaction_record(effect.payload, at))
                actions.append((effect, ""))
            elif isinstance(effect, fx.Notify) and effect.topic == "agent_changed":
                rows.append(agent_record(effect.payload, at))
                actions.append((effect, ""))
            elif isinstance(effect, fx.CALL_CONTROL):
                actions.append((effect, self._call_key(effect)))
            else:
                actions.append((effect, ""))
        if rows:
            self.writer.put_many(rows)
        if actions:
            self._held.append(actions)
            self._held_ready.set()

    def _releaser(self) -> None:
        """Performs held effects once everything put before them is committed."""
        while True:
            self._held_ready.wait()
            self._held_ready.clear()
            groups, self._held = self._held, []
            while not self.writer.flush(timeout=30.0):
                log.warning("store writer has not committed for 30 s; call-control effects held")
            for actions in groups:
                for effect, key in actions:
                    try:
                        self._perform(effect, key)
                    except Exception:
                        log.exception("performing %s failed", type(effect).__name__)

    def _perform(self, effect, key: str) -> None:
        if isinstance(effect, fx.ScheduleTimer):
            self._schedule(effect)
        elif isinstance(effect, fx.CancelTimer):
            timer = self._timers.pop(effect.key, None)
            if timer is not None:
                timer.kill(block=False)
        elif isinstance(effect, fx.Notify):
            self.notify(effect)
        elif isinstance(effect, (fx.Originate, fx.Eavesdrop)):
            # registered now, in effect order, so a Hangup of this leg queued after it knows
            # the originate is in flight; the job itself waits for the answer in its own greenlet
            self.executor.begin(effect)
            self._originates.spawn(self.executor.run, effect)
        elif isinstance(effect, fx.SendWritten):
            if self.send_written is not None:
                self.send_written(effect)
            else:
                log.warning("no channel sender: reply %s stays queued", effect.message)
        elif isinstance(effect, fx.CALL_CONTROL):
            self._workers[zlib.crc32(key.encode()) % len(self._workers)].put(effect)
        else:
            log.warning("no performer for %s", type(effect).__name__)

    def _schedule(self, effect: fx.ScheduleTimer) -> None:
        old = self._timers.pop(effect.key, None)
        if old is not None:
            old.kill(block=False)
        delay = max(0.0, (effect.at - self.clock()).total_seconds())

        def fire():
            self._timers.pop(effect.key, None)
            self.post(ev.TimerFired(effect.key, effect.at))

        self._timers[effect.key] = gevent.spawn_later(delay, fire)

    def _worker(self, queue: gevent.queue.Queue) -> None:
        while True:
            effect = queue.get()
            try:
                self.executor.run(effect)
            except Exception:
                log.exception("executing %s failed", type(effect).__name__)

    # -- views ------------------------------------------------------------------------
    @property
    def pending_timers(self) -> int:
        return len(self._timers)

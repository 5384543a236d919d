"""Named FreeSWITCH nodes kept connected: the supervisor of one node and the pool of all.

``Node`` runs one supervisor greenlet through a state table::

    CONNECTING -> (connect, auth, subscribe, resync ok) -> UP -> (stream ends) -> BACKOFF
    CONNECTING -> (any failure) -> BACKOFF -> (delay) -> CONNECTING;  any -> (stop) -> STOPPED

Rules:
* after every (re)connect, before the node is UP, the resync hook gets the node's live
  channels from ``show channels as json`` (FreeSWITCH is the source of truth);
* events are subscribed from one explicit list (``esl.adapter.SUBSCRIPTIONS`` by default,
  plus BACKGROUND_JOB and HEARTBEAT, which this layer needs); ``event plain`` only;
* every event goes into the pool's one inbox as ``NodeEvent(node, event)``;
* watchdog while UP: no byte from FreeSWITCH for ``heartbeat_misses`` x the HEARTBEAT
  interval, or a command unanswered for ``reply_stall`` seconds -> reset the connection;
* backoff between attempts: first FAST_TRIES attempts every 0.1 s (a `reload
  mod_event_socket` or a FreeSWITCH restart is back within a second or two and every
  second without the socket is a second without routing), then 0.5 s doubling to 30 s;
  each delay drawn in [d/2, d] (jitter); back to the fast steps after a successful connection;
* connect, auth, subscribe, disconnect, each reconnect attempt and each resync are logged
  once at INFO; the password never is.
"""
from __future__ import annotations

import enum
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import gevent
import gevent.event
import gevent.queue

from esl.adapter import SUBSCRIPTIONS
from esl.channels import parse_show_channels
from esl.connection import ESLConnection
from esl.errors import AuthFailed, ConnectionLost, ESLError, NotConnected, ReplyTimeout
from esl.protocol import Event

log = logging.getLogger(__name__)

# Events this layer itself needs, whatever the engine subscribes to.
REQUIRED_EVENTS = ("BACKGROUND_JOB", "HEARTBEAT")

ResyncHook = Callable[[str, list[dict]], None]


class State(enum.Enum):
    CONNECTING = "connecting"
    UP = "up"
    BACKOFF = "backoff"
    STOPPED = "stopped"


class Step(enum.Enum):
    READY = "ready"      # connected, authenticated, subscribed, resynced
    FAILED = "failed"    # an attempt failed or the stream ended
    WAITED = "waited"    # the backoff delay is over
    STOP = "stop"


TRANSITIONS: dict[State, dict[Step, State]] = {
    State.CONNECTING: {Step.READY: State.UP, Step.FAILED: State.BACKOFF, Step.STOP: State.STOPPED},
    State.UP: {Step.FAILED: State.BACKOFF, Step.STOP: State.STOPPED},
    State.BACKOFF: {Step.WAITED: State.CONNECTING, Step.STOP: State.STOPPED},
    State.STOPPED: {Step.STOP: State.STOPPED},
}


@dataclass(frozen=True)
class NodeSpec:
    name: str
    host: str
    port: int
    password: str

    def __repr__(self) -> str:  # never show the password
        return f"NodeSpec({self.name!r}, {self.host!r}, {self.port})"


@dataclass(frozen=True, slots=True)
class NodeEvent:
    """One FreeSWITCH event, tagged with the name of the node that sent it."""

    node: str
    event: Event


FAST_TRIES = 20          # attempts at FAST_STEP before the exponential backoff starts
FAST_STEP = 0.1


def backoff_delay(attempt: int, low: float = 0.5, high: float = 30.0,
                  rand: Callable[[], float] = random.random, fast: tuple[int, float] = (FAST_TRIES, FAST_STEP)) -> float:
    """Fast steps first (attempts below fast[0] -> [fast[1]/2, fast[1]]), then capped
    exponential backoff with jitter: next attempt -> [low/2, low], ... -> [high/2, high]."""
    tries, step = fast
    if attempt < tries:
        return min(step, low) / 2 + rand() * min(step, low) / 2
    attempt -= tries
    ceiling = min(high, low * (2 ** min(attempt, 30)))
    return ceiling / 2 + rand() * ceiling / 2


class Node:
    """One FreeSWITCH, kept connected by a supervisor greenlet; ``api``/``bgapi`` go to
    its current connection (NotConnected at once while it is down; a bgapi job already
    sent outlives a dropped connection: its result may come on the next one)."""

    def __init__(self, spec: NodeSpec, inbox: gevent.queue.Queue, *,
                 subscriptions: Iterable[str] = SUBSCRIPTIONS, on_resync: ResyncHook | None = None,
                 on_down: Callable[[str], None] | None = None,
                 timeout: float = 5.0, heartbeat_interval: float = 20.0, heartbeat_misses: float = 3,
                 reply_stall: float = 60.0, backoff: tuple[float, float] = (0.5, 30.0),
                 fast_backoff: tuple[int, float] = (FAST_TRIES, FAST_STEP),
                 rand: Callable[[], float] = random.random):
        self.spec = spec
        self.name = spec.name
        self.inbox = inbox
        self.subscriptions = tuple(dict.fromkeys([*subscriptions, *REQUIRED_EVENTS]))
        self.on_resync = on_resync
        self.on_down = on_down  # called with the node's name when a connection that was UP ends
        self.timeout = timeout
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_misses = heartbeat_misses
        self.reply_stall = reply_stall
        self.backoff = backoff
        self.fast_backoff = fast_backoff
        self._rand = rand
        self.state = State.STOPPED
        self.connections = 0  # successful (re)connections so far
        self.down_reason = ""  # why the last connection that was UP ended (for on_down)
        self._jobs: dict = {}  # Job-UUID -> result, across sessions: a job outlives its connection
        self._session: ESLConnection | None = None  # the session being set up or in use
        self._conn: ESLConnection | None = None     # the same, once authenticated and subscribed
        self._up = gevent.event.Event()
        self._wake = gevent.event.Event()
        self._stopping = False
        self._greenlet: gevent.Greenlet | None = None

    # ------------------------------------------------------------ public API
    def start(self) -> "Node":
        if self._greenlet is None or self._greenlet.dead:
            self._stopping = False
            self._wake.clear()
            self._greenlet = gevent.spawn(self._supervise)
            self._greenlet.name = f"esl-node-{self.name}"
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._wake.set()
        conn = self._session
        if conn is not None:
            conn.close(ConnectionLost(f"{self.name}: node stopped"))
        if self._greenlet is not None:
            self._greenlet.join(timeout)

    @property
    def connected(self) -> bool:
        return self.state is State.UP

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._up.wait(timeout)

    def connection(self) -> ESLConnection:
        conn = self._conn
        if conn is None or conn.closed.is_set():
            raise NotConnected(f"{self.name}: not connected ({self.state.value})")
        return conn

    def api(self, command: str, timeout: float = 10.0) -> str:
        return self.connection().api(command, timeout)

    def bgapi(self, command: str, timeout: float = 30.0) -> str:
        return self.connection().bgapi(command, timeout)

    def reset(self, reason: str = "reset requested") -> None:
        """Drop the current connection (the supervisor reconnects and resyncs)."""
        conn = self._session
        if conn is not None:
            conn.close(ConnectionLost(f"{self.name}: {reason}"))

    # ------------------------------------------------------------ supervisor
    def _move(self, step: Step) -> None:
        self.state = TRANSITIONS[self.state][step]
        if self.state is State.UP:
            self._up.set()
        else:
            self._up.clear()

    def _supervise(self) -> None:
        self.state = State.CONNECTING
        attempt = 0
        while not self._stopping:
            if self._connect_once(attempt):
                attempt = 0
            if self._stopping:
                break
            delay = backoff_delay(attempt, *self.backoff, rand=self._rand, fast=self.fast_backoff)
            attempt += 1
            log.info("esl %s: reconnecting in %.2f s (attempt %d)", self.name, delay, attempt + 1)
            self._wake.wait(delay)
            if not self._stopping:
                self._move(Step.WAITED)
        self._move(Step.STOP)
        log.info("esl %s: stopped", self.name)

    def _connect_once(self, attempt: int) -> bool:
        """One session: connect .. UP .. end. True if it got UP."""
        spec = self.spec
        log.info("esl %s: connecting to %s:%s (attempt %d)", self.name, spec.host, spec.port, attempt + 1)
        conn = ESLConnection(spec.host, spec.port, spec.password, name=self.name,
                             post=self._post, timeout=self.timeout, jobs=self._jobs)
        self._session = conn
        got_up = False
        try:
            conn.connect()
            conn.subscribe(self.subscriptions)
            self._conn = conn  # api/bgapi usable from here on (the resync hook may use them)
            self._resync(conn)
            if self._stopping:
                return False
            self.connections += 1
            self._move(Step.READY)
            got_up = True
            reason = self._watch(conn)
            log.info("esl %s: disconnected (%s): %s", self.name, reason.error_id, reason)
        except AuthFailed as exc:
            log.error("esl %s: authentication failed: %s", self.name, exc)
        except ESLError as exc:
            log.info("esl %s: connection attempt failed (%s): %s", self.name, exc.error_id, exc)
        except Exception:  # a bug must not end the supervisor: log it, back off, retry
            log.exception("esl %s: unexpected failure in the session", self.name)
        finally:
            conn.close(ConnectionLost(f"{self.name}: session over"))
            self._conn = self._session = None
            if self.state is not State.STOPPED and not self._stopping:
                self._move(Step.FAILED)
            if got_up:
                reason = conn.close_reason
                self.down_reason = f"{reason.error_id}: {reason}" if reason is not None else "closed"
            if got_up and self.on_down is not None:
                try:
                    self.on_down(self.name)
                except Exception:  # the hook is the engine's; its bug must not stop reconnection
                    log.exception("esl %s: down hook failed", self.name)
        return got_up

    def _resync(self, conn: ESLConnection) -> None:
        channels = parse_show_channels(conn.api("show channels as json", timeout=max(self.timeout, 10.0)))
        log.info("esl %s: resync: %d live channel(s)", self.name, len(channels))
        if self.on_resync is None:
            return
        try:
            self.on_resync(self.name, channels)
        except ESLError:
            raise        # the connection failed during the snapshot: this session ends, the next resyncs
        except Exception:  # the hook is the engine's; its bug must not stop reconnection
            log.exception("esl %s: resync hook failed", self.name)

    def _watch(self, conn: ESLConnection) -> ESLError:
        silence_limit = self.heartbeat_interval * self.heartbeat_misses
        tick = max(min(silence_limit / 4, self.reply_stall / 4, 1.0), 0.01)
        while not conn.closed.wait(tick):
            silent = time.monotonic() - conn.last_rx
            if silent > silence_limit:
                log.warning("esl %s: nothing received for %.1f s (HEARTBEAT every %s s): reset",
                            self.name, silent, self.heartbeat_interval)
                conn.close(ReplyTimeout(f"{self.name}: no HEARTBEAT or event for {silent:.1f} s"))
            elif conn.oldest_pending_age() > self.reply_stall:
                log.warning("esl %s: a command unanswered for over %s s: reset", self.name, self.reply_stall)
                conn.close(ReplyTimeout(f"{self.name}: a reply stalled over {self.reply_stall} s"))
        return conn.close_reason

    def _post(self, event: Event) -> None:
        self.inbox.put(NodeEvent(self.name, event))


class NodePool(Mapping):
    """Several named FreeSWITCH nodes, one inbox of ``NodeEvent``s. A Mapping name -> Node
    (what ``esl.executor.Executor`` takes)."""

    def __init__(self, specs: Iterable[NodeSpec | tuple[str, str, int, str]], *,
                 inbox: gevent.queue.Queue | None = None, on_resync: ResyncHook | None = None,
                 on_down: Callable[[str], None] | None = None,
                 **node_options):
        self.inbox = inbox if inbox is not None else gevent.queue.Queue()
        self._nodes: dict[str, Node] = {}
        for spec in specs:
            spec = spec if isinstance(spec, NodeSpec) else NodeSpec(*spec)
            if spec.name in self._nodes:
                raise ValueError(f"two nodes named {spec.name!r}")
            self._nodes[spec.name] = Node(spec, self.inbox, on_resync=on_resync, on_down=on_down, **node_options)

    def __getitem__(self, name: str) -> Node:
        return self._nodes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def start(self) -> "NodePool":
        for node in self._nodes.values():
            node.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        for node in self._nodes.values():
            node.stop(timeout)

    def wait_connected(self, timeout: float | None = None) -> bool:
        """True once every node is UP (False after ``timeout``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for node in self._nodes.values():
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if not node.wait_connected(left):
                return False
        return True

    def api(self, node: str, command: str, timeout: float = 10.0) -> str:
        return self._nodes[node].api(command, timeout)

    def bgapi(self, node: str, command: str, timeout: float = 30.0) -> str:
        return self._nodes[node].bgapi(command, timeout)

"""The composition root of the engine process: builds the node pool, the store
and its writer, the engine (recovered from the nodes' channels and the store), the
executor and the runtime, and wires them. No domain logic here.

Start-up order (restart without losing a call):
1. connect to every node; each connection's resync hook reads the node's live channels
   (`show channels as json`, then `uuid_dump <uuid> json` for each channel's cc_* variables)
   and the registered softphones (`sofia status profile internal reg`);
2. `engine.recovery.recover()` rebuilds the engine from those channels plus the stored
   agent states and open interactions;
3. the runtime starts, then receives what the nodes said since their snapshot;
4. the written channels start (channels/service.py): stored messages no item filed yet are
   posted again, replies left queued or sending are sent, the mailboxes and the SMPP link
   are read; the runtime hands every SendWritten to their sender.

Ordering rule: a resync is a marker put into the node's own event stream at the moment
the snapshot starts, and the pump delivers it there. Events FreeSWITCH sent before it are
superseded by the snapshot; events after it follow it, so a hangup during the snapshot
can never be undone by the snapshot (no ghost call). A node going down is a marker too
(NodeLost after that node's last event).

System events (store/system_events.py, for the uptime and fault reports): 'engine started'
at start, a 'heartbeat' every HEARTBEAT_SECONDS, 'engine stopped' at stop; 'node:<name>
connected' when a node's snapshot is delivered, 'node:<name> lost' (with the reason) when
a connection that was up ends, 'node:<name> stopped' when the engine closes it at stop.
They go through `SystemEventWriter` (queued, bounded, its own greenlet): a database outage
never blocks or stops call handling.

`show channels` lags: FreeSWITCH lists a new channel 80-200 ms after it exists and keeps
a dead one listed as long, while `uuid_dump` is right at once (tests/data/esl-corpus/FACTS.md "11"). So the
snapshot is completed with a `uuid_dump` of every uuid the node spoke of in the last
SEEN_WINDOW seconds and of every leg the engine (or, at start-up, the store) knows on
that node; and LATE_LOOK seconds later a second `show channels` adds what the first one
could not list yet (ChannelsFound: additive, it never declares a channel gone).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Collection

import gevent
import gevent.event
import gevent.pool

from engine import effects as fx
from engine import events as ev
from engine.agents import AgentState
from engine.config import Deployment
from engine.interactions import Interaction
from engine.recovery import recover
from esl import adapter, commands
from esl.channels import parse_show_channels
from esl.errors import CommandFailed, ESLError
from esl.executor import Executor
from esl.node import NodeEvent, NodePool, NodeSpec
from reports.aggregate import FOLD_EVERY, Folder, limits_of
from sentral import live_statistics
from sentral.runtime import Runtime
from store import journal_stats
from store.system_event_writer import SystemEventWriter
from store.system_events import HEARTBEAT_SECONDS
from store.writer import JournalWriter
from engine.clock import utcnow

log = logging.getLogger(__name__)



@dataclass
class _Resync:
    """Marker in a node's event stream: its snapshot (set when the dumps are done)."""

    node: str
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


@dataclass
class _LateLook:
    """Marker in a node's event stream: a second `show channels` after a snapshot."""

    node: str
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


@dataclass(frozen=True)
class _Down:
    node: str


SEEN_WINDOW = 5.0     # s: uuids a node spoke of this recently are looked up at its resync
LATE_LOOK = 0.3       # s after a snapshot: `show channels` again (it lags new channels by up to ~0.2 s)


class EngineProcess:
    def __init__(self, deployment: Deployment, store, *, login_all: bool = False,
                 login_except: Collection[str] = (), notify: Callable[[fx.Notify], None] | None = None, notices=None,
                 clock: Callable[[], datetime] = utcnow, node_options: dict | None = None,
                 recordings: bool = True, fold_every: float | None = FOLD_EVERY, channels: bool = True,
                 channel_options: dict | None = None):
        self.deployment = deployment
        self.store = store
        self.login_all = login_all
        self.login_except = frozenset(login_except)   # agents login_all leaves logged out
        # what the engine announces: to `notify` if given, else to the consoles' hub
        from agent_ui.notices import Notices
        self.notices = notices if notices is not None else Notices()
        self.clock = clock
        # the recorder (recordings/service.py) gets the recording_* notices; it only queues
        # them, its database and file work runs in its own greenlets and thread pool
        self.recorder = self._recorder(store, deployment, clock) if recordings else None
        publish = notify or self.notices.publish
        self.notify = publish if self.recorder is None else self._notify_recorder(publish)
        self.pool = NodePool([NodeSpec(n.name, n.host, n.port, n.password) for n in deployment.nodes],
                             on_resync=self._on_resync, on_down=self._on_down, **(node_options or {}))
        self.runtime: Runtime | None = None
        self.writer: JournalWriter | None = None
        self._buffer: list = []                      # what the nodes said before the runtime existed
        self._resynced: set[str] = set()             # nodes with a snapshot so far
        self._resynced_changed = gevent.event.Event()
        self._registered: dict[str, set[str]] = {}   # node -> SIP users registered there
        self._seen: dict[str, dict[str, float]] = {}   # node -> uuid -> when it was last heard of
        self._stored_calls: list[dict] = []             # open interactions at start-up (legs to look up)
        self._pump: gevent.Greenlet | None = None
        self.ready_at: float | None = None
        self.live = None     # today's figures from the journal (reports/live.py), seeded at start
        # the stored report aggregates follow the journal (reports/aggregate.py); None: not here
        self.fold_every = fold_every
        self.folder: Folder | None = None
        self.events = SystemEventWriter(store, clock=clock)   # the system event log (never blocks)
        self.heartbeat_seconds = HEARTBEAT_SECONDS
        self._heartbeat: gevent.Greenlet | None = None
        self._stopping = False
        # written channels (channels/service.py): mailboxes, the SMS link, the reply sender
        self.channels = self._channels(channel_options or {}) if channels else None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, ready_timeout: float = 30.0) -> "EngineProcess":
        started = time.monotonic()
        self.events.put("engine", "started", interval=self.heartbeat_seconds,
                        nodes=[n.name for n in self.deployment.nodes])
        self._stored_calls = [r.data for r in self.store.open_interactions() if r.data]
        # its greenlet starts once the store has connected: SQLAlchemy's first connect holds
        # a thread lock that a second greenlet must not wait on (tests run unpatched)
        self.events.start()
        self._pump = gevent.spawn(self._pump_events)
        self.pool.start()
        deadline = started + ready_timeout
        while len(self._resynced) < len(self.pool) and time.monotonic() < deadline:
            self._resynced_changed.wait(max(0.0, deadline - time.monotonic()))
            self._resynced_changed.clear()
        missing = [n for n in self.pool if n not in self._resynced]
        if missing:
            log.warning("starting without node(s) %s: their calls wait for them", ", ".join(missing))
        stored_agents = [r.data for r in self.store.load_agent_states().values() if r.data]
        stored_calls, self._stored_calls = self._stored_calls, []
        counted_today = journal_stats.today(self.store, self.clock())   # read before the no-yield part
        self.live = live_statistics.seeded(self.store, lambda: self.deployment, self.clock)
        closed = self._closed(stored_calls)
        # from here to `self.runtime = ...` nothing yields: the pump cannot slip in between
        buffered, self._buffer = self._buffer, []
        first: dict[str, ev.NodeResynced] = {}
        later = []
        for item in buffered:
            if isinstance(item, ev.NodeResynced) and item.node not in first:
                first[item.node] = item
            else:
                later.append(item)
        engine, effects = recover(self.deployment, {n: r.channels for n, r in first.items()},
                                  agents=stored_agents, interactions=stored_calls, at=self.clock(), closed=closed)
        # today's counts: the journal's rows stored before this start, plus what the
        # recovery just counted and is about to write (they survive a restart)
        engine.stats.seed(counted_today, engine.deployment.queues, engine.now)
        self.writer = JournalWriter(self.store, on_written=self.live.add).start()
        if self.fold_every:
            self.folder = Folder(self.store, lambda: limits_of(self.deployment), every=self.fold_every).start()
        runtime = Runtime(engine, executor=Executor(self.pool, post=self._post, clock=self.clock),
                          writer=self.writer, notify=self.notify, clock=self.clock,
                          send_written=self.channels.send if self.channels is not None else None)
        runtime.start(effects)
        self.runtime = runtime
        for item in later:
            runtime.post(item)
        if self.login_all:
            for aid, agent in engine.agents.items():
                if agent.state is AgentState.LOGGED_OUT and aid not in self.login_except:
                    runtime.post(ev.AgentLogin(aid, self.clock()))
        if self.recorder is not None:
            self.recorder.start()      # recover() first: what a crash left in the spool
        if self.channels is not None:
            self.channels.start()      # unfiled messages posted again, pending replies sent, mailboxes read
        self.ready_at = time.monotonic() - started
        self._heartbeat = gevent.spawn(self._beat)
        log.info("engine ready in %.2f s: %d call(s) and %d agent record(s) recovered",
                 self.ready_at, len(engine.calls), len(stored_agents))
        return self

    def _closed(self, stored_calls: list[dict]) -> set[str]:
        """Interactions the store has ended that the nodes' snapshots still name on a channel
        (a caller kept by park_after_bridge whose hang-up died with the previous process:
        engine.recovery hangs it up instead of adopting it)."""
        named = {c.variables.get("cc_interaction_id", "") for item in self._buffer
                 if isinstance(item, ev.NodeResynced) for c in item.channels}
        named -= {c.get("id", "") for c in stored_calls} | {""}
        return {ixid for ixid in named
                if (record := self.store.interaction(ixid)) is not None and record.ended_at is not None}

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        if self._heartbeat is not None:
            self._heartbeat.kill(block=False)
        self.events.put("engine", "stopped")
        if self._pump is not None:
            self._pump.kill(block=False)
        if self.channels is not None:
            self.channels.stop(timeout)
        if self.runtime is not None:
            self.runtime.stop(timeout)
        if self.recorder is not None:
            self.recorder.stop(timeout)
        if self.folder is not None:
            self.folder.stop(timeout)
        if self.writer is not None:
            self.writer.stop(timeout)
        self.pool.stop(timeout)
        self.events.stop(timeout)       # last: the nodes' 'stopped' events are queued by pool.stop

    def reload(self, deployment: Deployment) -> None:
        """A new valid configuration: served at once to FreeSWITCH (xml_curl), applied by the
        engine through its inbox (calls in progress are not touched: engine/reload.py)."""
        if [(n.name, n.host, n.port) for n in deployment.nodes] != [(n.name, n.host, n.port) for n in self.deployment.nodes]:
            log.warning("FreeSWITCH node changes take effect at the next restart")
        self.deployment = deployment
        self._post(ev.ConfigReloaded(deployment, self.clock()))

    @property
    def engine(self):
        return self.runtime.engine if self.runtime else None

    # -- wiring -------------------------------------------------------------------------
    def _recorder(self, store, deployment: Deployment, clock):
        from recordings.service import Recorder
        from recordings.storage import storage_for

        return Recorder(store, storage_for(deployment), lambda: self.deployment, clock=clock,
                        storage_kind=deployment.recordings_storage.kind)

    def _channels(self, options: dict):
        from channels.service import ChannelService

        return ChannelService(lambda: self.deployment, self.store, self._post, fault=self.events.put,
                              clock=self.clock, **options)

    def _notify_recorder(self, publish: Callable[[fx.Notify], None]) -> Callable[[fx.Notify], None]:
        recorder = self.recorder

        def notify(notice: fx.Notify) -> None:
            recorder.notice(notice)     # queues recording_* notices, ignores the rest
            publish(notice)
        return notify

    def _post(self, item) -> None:
        if self.runtime is not None:
            self.runtime.post(item)

    def _deliver(self, node: str, items: list, resync: bool = False) -> None:
        if self.runtime is not None:
            for item in items:
                self.runtime.post(item)
            return
        if resync:
            self._resynced.add(node)
            self._resynced_changed.set()
        if node in self._resynced:  # before a node's first snapshot, its events are superseded by it
            self._buffer.extend(items)

    def _pump_events(self) -> None:
        inbox = self.pool.inbox
        while True:
            item = inbox.get()
            try:
                if isinstance(item, NodeEvent):
                    self._heard(item.node, item.event.headers.get("Unique-ID", ""))
                    translated = adapter.translate(item.node, item.event, self.clock)
                    if translated is not None:
                        self._deliver(item.node, [translated])
                elif isinstance(item, _Resync):
                    resynced, registered = item.result.get()
                    try:
                        resynced = self._complete(resynced)
                    except ESLError as exc:   # the connection failed meanwhile: a whole new resync
                        log.warning("resync %s incomplete (%s): reconnecting", item.node, exc.error_id)
                        self.pool[item.node].reset("resync incomplete")
                        continue
                    self._registered[item.node] = registered
                    self._deliver(item.node, [resynced, *self._registrations()], resync=True)
                    self.events.put(f"node:{item.node}", "connected", channels=len(resynced.channels))
                    gevent.spawn_later(LATE_LOOK, self._late_look, item.node, {c.uuid for c in resynced.channels})
                elif isinstance(item, _LateLook):
                    found = item.result.get(timeout=30.0)
                    if found.channels:
                        self._deliver(item.node, [found])
                elif isinstance(item, _Down):
                    self._registered.pop(item.node, None)
                    self._deliver(item.node, [ev.NodeLost(item.node, self.clock()), *self._registrations()])
            except Exception:  # one bad event or snapshot must not stop the stream
                log.exception("could not deliver %s", type(item).__name__)

    def _heard(self, node: str, uuid: str) -> None:
        if not uuid:
            return
        seen = self._seen.setdefault(node, {})
        now = time.monotonic()
        seen.pop(uuid, None)
        seen[uuid] = now                             # insertion order = age order
        while seen:
            oldest, at = next(iter(seen.items()))
            if now - at <= SEEN_WINDOW:
                break
            del seen[oldest]

    def _known_legs(self, node: str) -> set[str]:
        """Every leg of the node's calls the engine knows (or the store, before the engine exists)."""
        engine = self.engine
        calls = list(engine.calls.values()) if engine is not None else \
            [Interaction.restore(c) for c in self._stored_calls]
        return {leg for ix in calls if ix.node == node for leg in ix.channels}

    def _dump_all(self, node_name: str, uuids) -> tuple[ev.ChannelSnapshot, ...]:
        node = self.pool[node_name]

        def dump(uuid: str):
            try:
                return adapter.snapshot_from_dump(node_name, node.api(commands.uuid_dump_json(uuid)))
            except CommandFailed as exc:  # -ERR: the channel ended (or never existed)
                log.debug("resync %s: %s not there (%s)", node_name, uuid, exc.error_id)
            except ValueError:
                log.warning("resync %s: unreadable uuid_dump of %s; its hangup or park will tell", node_name, uuid)
            return None

        # any other failure (the connection dropped meanwhile) raises: a snapshot missing
        # live channels would close their calls, so it is retried on the next connection
        return tuple(s for s in gevent.pool.Pool(64).imap(dump, list(uuids)) if s is not None)

    def _complete(self, resynced: ev.NodeResynced) -> ev.NodeResynced:
        """The snapshot plus every channel it could not list yet that we heard of or know."""
        listed = {c.uuid for c in resynced.channels}
        missing = (set(self._seen.get(resynced.node, {})) | self._known_legs(resynced.node)) - listed
        if not missing:
            return resynced
        extra = self._dump_all(resynced.node, sorted(missing))
        if extra:
            log.info("resync %s: %d channel(s) not listed by show channels yet, found by uuid_dump",
                     resynced.node, len(extra))
        return ev.NodeResynced(resynced.node, resynced.channels + extra, resynced.at)

    def _late_look(self, node_name: str, had: set[str]) -> None:
        marker = _LateLook(node_name)
        self.pool.inbox.put(marker)  # in the node's stream: what follows it is newer than the look
        try:
            rows = parse_show_channels(self.pool[node_name].api("show channels as json", timeout=10.0))
            known = had | self._known_legs(node_name) | set(self._seen.get(node_name, {}))
            new = [row["uuid"] for row in rows if row.get("uuid") and row["uuid"] not in known]
            marker.result.set(ev.ChannelsFound(node_name, self._dump_all(node_name, new), self.clock()))
        except Exception as exc:  # the node went away again: its next resync will look anew
            log.info("resync %s: second look failed: %s", node_name, exc)
            marker.result.set(ev.ChannelsFound(node_name, (), self.clock()))

    def _registrations(self) -> list[ev.RegistrationChanged]:
        """Every agent's phone: registered on any node that is up (several nodes: the union)."""
        now = self.clock()
        registered = set().union(*self._registered.values()) if self._registered else set()
        return [ev.RegistrationChanged(a.sip_user, a.sip_user in registered, now)
                for a in self.deployment.agents.values()]

    def _on_down(self, node_name: str) -> None:
        self.pool.inbox.put(_Down(node_name))
        reason = getattr(self.pool[node_name], "down_reason", "") or "connection ended"
        self.events.put(f"node:{node_name}", "stopped" if self._stopping else "lost", reason=reason)

    def _beat(self) -> None:
        """The engine's heartbeat in the system event log (a crash writes no 'stopped': the
        uptime report sees the heartbeats stop)."""
        while True:
            gevent.sleep(self.heartbeat_seconds)
            self.events.put("engine", "heartbeat", interval=self.heartbeat_seconds)

    def _on_resync(self, node_name: str, rows: list[dict]) -> None:
        marker = _Resync(node_name)
        self.pool.inbox.put(marker)  # here in the node's stream: later events follow the snapshot
        try:
            marker.result.set(self._snapshot(node_name, rows))
        except BaseException as exc:
            marker.result.set_exception(exc)
            raise

    def _snapshot(self, node_name: str, rows: list[dict]) -> tuple[ev.NodeResynced, set[str]]:
        node = self.pool[node_name]
        snapshots = self._dump_all(node_name, [row["uuid"] for row in rows if row.get("uuid")])
        try:
            registered = adapter.registered_users(node.api(commands.sofia_registrations()))
        except CommandFailed as exc:  # no such profile: nobody registered there
            log.warning("resync %s: registrations unknown (%s)", node_name, exc.error_id)
            registered = set()
        return ev.NodeResynced(node_name, snapshots, self.clock()), registered

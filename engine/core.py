"""The engine facade: one object, `handle(event) -> list of effects` (single writer).

Rules:
* every input (ESL events, console commands, timers) enters through `handle`; the
  clock is the event's `at` (or the injected clock for events without one), never
  the wall clock;
* a handler changes state and appends effects; routing that a change makes possible
  (a call queued, an agent freed) is queued and run once the handler is done, so
  decisions never nest;
* after each event, one Notify per changed agent (`agent_changed`) and interaction
  (`interaction_changed`) carries its snapshot: the runtime upserts them into the store
  for recovery and pushes them to consoles;
* a console command that the agent's state forbids is refused with a
  Notify("command_refused") carrying the error id, never an exception into the caller;
  a channel or timer event that breaks a table rule (a bug) is logged with its traceback
  and reported as Notify("engine_error"); the tests fail on any such notice.
"""
from __future__ import annotations

import logging
import random
import uuid as uuidlib
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Callable

from engine import effects as fx
from engine import events as ev
from engine.agents import EPOCH, Agent
from engine.config import Deployment
from engine.interactions import Interaction
from engine.errors import DomainError
from engine.machine import IllegalTransition
from engine.queues import QueueIndex
from engine.written import WorkItem, WrittenIndex
from engine.statistics import Statistics

log = logging.getLogger(__name__)


COMMANDS = ev.CONSOLE_COMMANDS


def _new_uuid(kind: str) -> str:
    return str(uuidlib.uuid4())


LEG_DOWN_WAIT = 5.0   # s: an agent leg we hung up and never heard end is taken as gone after this


class Engine:
    def __init__(self, deployment: Deployment, *, rng: random.Random | None = None,
                 new_id: Callable[[str], str] = _new_uuid,
                 clock: Callable[[], datetime] | None = None):
        self.deployment = deployment
        self.rng = rng or random.Random()
        self.new_id = new_id                     # new_id("leg") / new_id("interaction")
        self.clock = clock
        self.agents = {aid: Agent(cfg) for aid, cfg in deployment.agents.items()}
        self.by_sip = {cfg.sip_user: aid for aid, cfg in deployment.agents.items()}
        self.calls: dict[str, Interaction] = {}
        self.items: dict = {}                    # open written items (engine.written.WorkItem) by id
        self.cases: dict[str, str] = {}          # case -> its open item
        self.filed: dict[str, str] = {}          # stored message ids of open items -> item
        self.written = WrittenIndex()            # waiting written items per queue
        self.written_members: dict[str, list] = {}   # written queue -> active members (cache)
        self.recently_closed: OrderedDict[str, tuple[str, str, str]] = OrderedDict()
        # ^ closed written items -> (agent who held it, tenant, queue): their late send results
        self.by_leg: dict[str, str] = {}         # caller, agent and callback legs -> interaction
        self.cancelled: dict[str, str] = {}      # legs we hung up while they rang -> node
        self.closing: dict[str, str] = {}        # agent legs we hung up, until FreeSWITCH confirms -> agent
        self.closed: set[str] = set()            # interactions the store had ended at recovery (engine.recovery)
        self.monitors: dict = {}                 # supervisor -> engine.monitor.Monitoring
        self.index = QueueIndex(deployment, self.rng)
        self.stats = Statistics(lambda: self.now)     # today's figures roll over at local midnight
        self.down_nodes: set[str] = set()
        self.now: datetime = EPOCH
        self.arrivals = 0
        self._out: list = []
        self._route_calls: dict[str, None] = {}
        self._route_agents: dict[str, None] = {}
        self._route_items: dict[str, None] = {}
        self._route_written: dict[str, None] = {}
        self._touched_agents: dict[str, None] = {}
        self._touched_calls: dict[str, Interaction] = {}

    # the one entry ----------------------------------------------------------------
    def handle(self, event) -> list:
        from engine.handlers import HANDLERS
        at = getattr(event, "at", None)
        self.now = at if at is not None else (self.clock() if self.clock else self.now)
        self._out = []
        handler = HANDLERS.get(type(event))
        if handler is None:
            log.debug("ignored %s", type(event).__name__)
            return []
        try:
            handler(self, event)
        except DomainError as exc:
            if not isinstance(event, COMMANDS):
                # a fact the tables did not foresee: keep the single writer alive, say so loudly
                log.exception("event %r broke a rule", event)
                self.emit(fx.Notify("engine_error", {"error_id": exc.error_id, "message": str(exc),
                                                     "event": type(event).__name__}))
                self.run_routing()
                return self._flush()
            log.warning("refused %s: %s", type(event).__name__, exc)
            detail = {"error_id": exc.error_id, "agent": event.agent, "message": str(exc)}
            if isinstance(exc, IllegalTransition):
                detail.update(state=exc.state.value, event=exc.event.value)
            self.emit(fx.Notify("command_refused", detail))
        self.run_routing()
        return self._flush()

    def _flush(self) -> list:
        for aid in self._touched_agents:
            self._out.append(fx.Notify("agent_changed", self.agents[aid].snapshot()))
        for ix in self._touched_calls.values():
            topic = "item_changed" if isinstance(ix, WorkItem) else "interaction_changed"
            self._out.append(fx.Notify(topic, ix.snapshot()))
        self._touched_agents.clear()
        self._touched_calls.clear()
        out, self._out = self._out, []
        return out

    def run_routing(self) -> None:
        """Calls first, then written items (engine.written): a freed agent gets a waiting
        call before a written item."""
        from engine import offers, written
        while self._route_calls or self._route_agents or self._route_items or self._route_written:
            if self._route_items and not (self._route_calls or self._route_agents):
                item_id = next(iter(self._route_items))
                del self._route_items[item_id]
                item = self.items.get(item_id)
                if item is not None:
                    written.route_item(self, item)
            elif self._route_written and not (self._route_calls or self._route_agents):
                aid = next(iter(self._route_written))
                del self._route_written[aid]
                written.route_agent(self, self.agents[aid])
            elif self._route_calls:
                ixid = next(iter(self._route_calls))
                del self._route_calls[ixid]
                ix = self.calls.get(ixid)
                if ix is not None:
                    offers.route_call(self, ix)
            else:
                aid = next(iter(self._route_agents))
                del self._route_agents[aid]
                offers.route_agent(self, self.agents[aid])

    # helpers for handlers ------------------------------------------------------------
    def emit(self, *effects) -> None:
        self._out.extend(effects)

    def journal(self, ix: Interaction, kind: str, agent: str = "", **data) -> None:
        self._out.append(ix.journal(kind, self.now, agent=agent, **data))
        self._touched_calls[ix.id] = ix

    def end(self, ix: Interaction, reason: str) -> None:
        if self.monitors and not ix.ended:       # a monitor of the call ends before its `ended` row
            from engine import monitor
            monitor.call_ending(self, ix)
        if ix.recording and not ix.ended:        # its RECORD_STOP may come after the interaction is gone
            from engine import call_recording
            call_recording.call_ended(self, ix)
        row = ix.end(self.now, reason)
        if row is not None:
            self._out.append(row)
            self._touched_calls[ix.id] = ix

    def touch_agent(self, agent: Agent) -> None:
        if agent.active_queues != self.index.chosen.get(agent.id, ()):
            self.written_members.clear()         # her queues change: the written members with them
        self.index.sync(agent)
        self._touched_agents[agent.id] = None
        self._route_written[agent.id] = None

    def touch_call(self, ix: Interaction) -> None:
        self._touched_calls[ix.id] = ix

    def want_route_call(self, ix: Interaction) -> None:
        self._route_calls[ix.id] = None

    def want_route_agent(self, agent: Agent) -> None:
        self._route_agents[agent.id] = None

    def want_route_item(self, item) -> None:
        self._route_items[item.id] = None

    def schedule(self, key: str, seconds: float) -> None:
        self.emit(fx.ScheduleTimer(key, self.now + timedelta(seconds=seconds)))

    def forget(self, ix: Interaction) -> None:
        self.index.remove_call(ix)
        self.calls.pop(ix.id, None)
        for leg in ix.channels:
            if self.by_leg.get(leg) == ix.id:
                del self.by_leg[leg]
        self._touched_calls[ix.id] = ix

    def hang_up_agent_leg(self, node: str, leg: str, agent_id: str, cause: str = "NORMAL_CLEARING") -> None:
        """Hang up an agent's leg; the agent gets no new call until the leg is gone (its
        CHANNEL_HANGUP, a resync without it, or LEG_DOWN_WAIT): a phone is never offered a
        call while a call of ours is still up on it."""
        self.emit(fx.Hangup(node, leg, cause))
        agent = self.agents.get(agent_id)
        if agent is None:
            return
        self.closing[leg] = agent_id
        agent.leg_up = leg
        self.index.sync(agent)
        self._touched_agents[agent.id] = None
        self.schedule(f"legdown:{agent_id}", LEG_DOWN_WAIT)

    def agent_leg_gone(self, leg: str) -> None:
        """FreeSWITCH reports a leg we were hanging up gone."""
        agent = self.agents.get(self.closing.pop(leg, ""))
        if agent is not None and agent.leg_up == leg:
            self.release_agent(agent)

    def release_agent(self, agent: Agent) -> None:
        """The agent's last leg is gone (or taken as gone): they may get calls again."""
        self.closing.pop(agent.leg_up, None)
        agent.leg_up = ""
        self.emit(fx.CancelTimer(f"legdown:{agent.id}"))
        self.touch_agent(agent)
        self.want_route_agent(agent)

    def queue_of(self, ix: Interaction):
        return self.deployment.queues[ix.queue]

    def tenant_of(self, ix: Interaction):
        return self.deployment.tenants.get(ix.tenant)

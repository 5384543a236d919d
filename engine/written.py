"""Written interactions (e-mail, SMS, web-form tasks): items, capacity and their routing.

Rules:
* a written item lives in a written queue (`QueueConfig.channel` email / sms / task) and
  follows ITEM_TABLE: queued -> offered (to one agent, on her console) -> open (hers)
  -> closed. It is offered to one agent at a time and leaves the waiting index in the
  same step, so it is never offered twice at once; declined, not accepted within the
  queue's `ring_timeout`, or given back (the agent logs out, or pauses while it is only
  offered) it waits again at its old place;
* capacity (`config.Capacity`, per agent): an agent holds written items up to
  `written` units, each costing its channel's cost; offered and open items both count.
  A call is offered only while her written units are at most `calls_up_to` (None: a call
  always may interrupt written work: `Agent.routable`); a new written item reaches her
  during a call only with `written_during_call`. Paused or logged-out agents get none;
* routing uses the queue's strategy key (engine.routing) over the queue's active members
  that can take the item, its tiers (levels widen with the item's wait), skills, the
  queue priority across queues, and the item's place: operators' transfers first
  (`front`), then priority, then the original arrival. A freed agent gets a waiting call
  before a written item (calls are routed first in each engine step). An item an agent
  declined or missed goes to another agent if one can take it, and comes back to her
  only when no other item waits for her;
* items wait for hours or days: the service level is the queue's `service_level`
  (seconds, e.g. 4 h), the `answered` row's `waited` is the time to acceptance; a
  written queue's max wait moves the item on only with a queue overflow (nothing is
  ever dropped); the item's timers (offer, max wait, tiers) come back from stored times
  after a restart (`rearm`); an item whose queue left the configuration meanwhile goes
  to the first written queue of its agency and channel (`transferred` by configuration,
  `entered_queue`), or with none stays in its old queue, kept bare (`restore`);
* a message of a case whose item is still open is added to it (`message_added`), never a
  second item; a message filed once is never filed again (its id is in the item);
* the journal is the calls' journal with the same row kinds, so reports and the
  wallboard count every channel: `arrived` (with `channel`), `entered_queue`, `offered`,
  `no_answer` / `offer_declined`, `answered` (accepted, `waited`), `reply_queued`,
  `replied` (`via` email / sms, or none: a task's answer with no contact to send it to) /
  `reply_failed`, `transferred` (`to_queue`, `talk`), `talk_ended` (handling
  time as `talk`) and `ended` (reason `closed`, with the result code);
* a transfer goes only to a queue of the item's channel (else `item.refused`); to another
  agency's queue (or an overflow there) the case now belongs to the new agency: the item's
  tenant becomes the queue's, and its rows from `entered_queue` on carry the new agency;
* the item's record is plain data (`snapshot()` / `restore()`), stored like a call's by
  the runtime (Notify `item_changed`).
"""
from __future__ import annotations

import dataclasses
import enum
import logging
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine import effects as fx
from engine import events as ev
from engine.agents import Agent, AgentState
from engine.config import OverflowKind, QueueConfig
from engine.effects import Journal
from engine.errors import CommandRefused
from engine.machine import step
from engine.routing import STRATEGY_KEYS, eligible, next_widening

log = logging.getLogger(__name__)
SCAN_LIMIT = 200          # waiting items looked at per queue for one agent
RECENTLY_CLOSED = 10_000  # closed items remembered for their replies' late send results


class ItemState(enum.Enum):
    QUEUED = "queued"
    OFFERED = "offered"
    OPEN = "open"
    CLOSED = "closed"


class ItemEvent(enum.Enum):
    OFFER = "offer"
    ACCEPT = "accept"
    DECLINE = "decline"        # declined, not accepted in time, or given back by a pause
    RETURN = "return"          # the agent logged out while it was hers
    MOVE = "move"              # to another queue: a transfer or a max-wait overflow
    CLOSE = "close"


S, E = ItemState, ItemEvent
ITEM_TABLE: dict[ItemState, dict[ItemEvent, ItemState]] = {
    S.QUEUED: {E.OFFER: S.OFFERED, E.MOVE: S.QUEUED, E.CLOSE: S.CLOSED},
    S.OFFERED: {E.ACCEPT: S.OPEN, E.DECLINE: S.QUEUED, E.RETURN: S.QUEUED, E.CLOSE: S.CLOSED},
    S.OPEN: {E.MOVE: S.QUEUED, E.RETURN: S.QUEUED, E.CLOSE: S.CLOSED},
    S.CLOSED: {},
}
del S, E


class NoSuchItem(CommandRefused):
    error_id = "item.not_found"


class NotYourItem(CommandRefused):
    error_id = "item.not_yours"


class ItemRefused(CommandRefused):
    error_id = "item.refused"


@dataclass(slots=True)
class WorkItem:
    id: str
    channel: str
    tenant: str
    queue: str
    case: str
    sender: str
    sender_name: str
    subject: str
    arrived_at: datetime
    position_at: datetime                  # place in queue (kept across transfers and overflow)
    queue_entered_at: datetime
    priority: int = 0
    skills: frozenset[str] = frozenset()
    automatic: bool = False                # auto-reply, bounce, bulk: never answered automatically
    state: ItemState = ItemState.QUEUED
    seq: int = 0
    order: int = 0
    agent: str = ""                        # offered to / held by
    offered_at: datetime | None = None
    accepted_at: datetime | None = None
    deadline: datetime | None = None       # the offer's end (rescheduled after a restart)
    last_agent: str = ""                   # the agent who declined or missed it last
    messages: list[str] = field(default_factory=list)   # stored message ids, in and out
    front: bool = False                    # transferred or given back: ahead of newer items
    hops: int = 0
    replies: int = 0
    result: str = ""
    ended: bool = False
    ended_at: datetime | None = None
    end_reason: str = ""

    kind = property(lambda self: self.channel)

    def apply(self, event: ItemEvent) -> ItemState:
        self.state = step(ITEM_TABLE, f"item {self.id}", self.state, event)
        return self.state

    def journal(self, kind: str, at: datetime, agent: str = "", **data) -> Journal:
        self.seq += 1
        return Journal(interaction=self.id, seq=self.seq, kind=kind, at=at, tenant=self.tenant,
                       queue=self.queue, agent=agent, data={k: str(v) for k, v in data.items()})

    def waited(self, at: datetime) -> float:
        return max(0.0, (at - self.position_at).total_seconds())

    def sort_key(self) -> tuple:
        return (not self.front, -self.priority, self.position_at, self.order, self.id)

    def snapshot(self) -> dict:
        return {"id": self.id, "kind": self.channel, "tenant": self.tenant, "queue": self.queue,
                "case": self.case, "caller_number": self.sender, "caller_name": self.sender_name,
                "subject": self.subject, "arrived_at": self.arrived_at, "entered_at": self.position_at,
                "queue_entered_at": self.queue_entered_at, "priority": self.priority,
                "skills": ",".join(sorted(self.skills)), "automatic": self.automatic,
                "state": self.state.value, "last_seq": self.seq, "order": self.order, "agent": self.agent,
                "offered_at": self.offered_at, "answered_at": self.accepted_at, "deadline": self.deadline,
                "last_agent": self.last_agent, "messages": list(self.messages), "front": self.front,
                "hops": self.hops, "replies": self.replies, "result": self.result, "ended": self.ended,
                "ended_at": self.ended_at, "end_reason": self.end_reason}

    @classmethod
    def restore(cls, stored: dict) -> "WorkItem":
        t = _parse
        return cls(
            id=stored["id"], channel=stored.get("kind", "email"), tenant=stored.get("tenant", ""),
            queue=stored.get("queue", ""), case=stored.get("case", ""),
            sender=stored.get("caller_number", ""), sender_name=stored.get("caller_name", ""),
            subject=stored.get("subject", ""), arrived_at=t(stored.get("arrived_at") or stored["entered_at"]),
            position_at=t(stored["entered_at"]),
            queue_entered_at=t(stored.get("queue_entered_at") or stored["entered_at"]),
            priority=int(stored.get("priority", 0)),
            skills=frozenset(s for s in stored.get("skills", "").split(",") if s),
            automatic=bool(stored.get("automatic", False)), state=ItemState(stored.get("state", "queued")),
            seq=int(stored.get("last_seq", 0)), order=int(stored.get("order", 0)),
            agent=stored.get("agent", ""), offered_at=t(stored.get("offered_at")),
            accepted_at=t(stored.get("answered_at")), deadline=t(stored.get("deadline")),
            last_agent=stored.get("last_agent", ""), messages=list(stored.get("messages", ())),
            front=bool(stored.get("front", False)), hops=int(stored.get("hops", 0)),
            replies=int(stored.get("replies", 0)), result=stored.get("result", ""),
            ended=bool(stored.get("ended", False)), ended_at=t(stored.get("ended_at")),
            end_reason=stored.get("end_reason", ""))


def _parse(value) -> datetime | None:
    if isinstance(value, datetime) or value is None:
        return value
    return datetime.fromisoformat(value) if value else None


class WrittenIndex:
    """Waiting items per written queue, sorted by place (`WorkItem.sort_key`)."""

    def __init__(self):
        self.waiting: dict[str, list[tuple]] = {}
        self.items: dict[str, dict[str, WorkItem]] = {}

    def add(self, item: WorkItem) -> None:
        insort(self.waiting.setdefault(item.queue, []), item.sort_key())
        self.items.setdefault(item.queue, {})[item.id] = item

    def remove(self, item: WorkItem) -> None:
        keys = self.waiting.get(item.queue, [])
        key = item.sort_key()
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            del keys[i]
            del self.items[item.queue][item.id]

    def head(self, queue: str):
        keys = self.waiting.get(queue, ())
        items = self.items.get(queue, {})
        for n, key in enumerate(keys):
            if n >= SCAN_LIMIT:
                return
            yield items[key[-1]]

    def count(self, queue: str) -> int:
        return len(self.waiting.get(queue, ()))

    def oldest(self, queue: str) -> WorkItem | None:
        """The longest waiting item (by arrival, whatever the order of service)."""
        items = self.items.get(queue, {})
        return min(items.values(), key=lambda it: it.position_at, default=None)


# -- capacity ---------------------------------------------------------------------------

def load(agent: Agent) -> float:
    return sum(agent.written.values())


def can_take(agent: Agent, channel: str) -> bool:
    cap = agent.config.capacity
    if agent.state in (AgentState.LOGGED_OUT, AgentState.PAUSED) or agent.monitoring:
        return False
    if agent.state is not AgentState.AVAILABLE and not cap.written_during_call:
        return False
    return load(agent) + cap.cost(channel) <= cap.written + 1e-9


# -- inputs -----------------------------------------------------------------------------

def arrived(eng, e: ev.WrittenArrived) -> None:
    if e.message in eng.filed:
        return                                            # filed already (a duplicate delivery)
    open_id = eng.cases.get(e.case, "")
    item = eng.items.get(open_id)
    if item is not None and not item.ended:
        item.messages.append(e.message)
        eng.filed[e.message] = item.id
        eng.journal(item, "message_added", agent=item.agent, message=e.message, channel=e.channel)
        return
    q = eng.deployment.queues.get(e.queue)
    if q is None or not q.written:                         # the intake checks; a reload may have removed it
        log.warning("message %s: no written queue %r; not filed", e.message, e.queue)
        eng.emit(fx.Notify("written_refused", {"message": e.message, "queue": e.queue, "tenant": e.tenant}))
        return
    eng.arrivals += 1
    item = WorkItem(id=eng.new_id("interaction"), channel=e.channel, tenant=q.tenant, queue=q.id,
                    case=e.case, sender=e.sender, sender_name=e.sender_name, subject=e.subject,
                    arrived_at=eng.now, position_at=eng.now, queue_entered_at=eng.now,
                    priority=e.priority, skills=frozenset(e.skills) | q.required_skills,
                    automatic=e.automatic, order=eng.arrivals, messages=[e.message])
    eng.items[item.id] = item
    eng.cases[item.case] = item.id
    eng.filed[e.message] = item.id
    eng.journal(item, "arrived", channel=item.channel, case=item.case, message=e.message,
                **({"automatic": 1} if item.automatic else {}))
    _enter(eng, item, q)


def _enter(eng, item: WorkItem, q: QueueConfig, **data) -> None:
    item.queue = q.id
    item.tenant = q.tenant                                 # another agency's queue: its case now
    item.queue_entered_at = eng.now
    eng.journal(item, "entered_queue", channel=item.channel, agency=q.tenant, **data)
    _wait(eng, item)


def _wait(eng, item: WorkItem) -> None:
    """Into the waiting index, with its max-wait and tier timers."""
    q = eng.deployment.queues[item.queue]
    eng.written.add(item)
    if q.overflow.kind is OverflowKind.QUEUE and q.overflow.target in eng.deployment.queues:
        due = item.queue_entered_at + timedelta(seconds=q.max_wait)
        eng.emit(fx.ScheduleTimer(f"itemwait:{item.id}", max(due, eng.now)))
    widen = next_widening(q, item.waited(eng.now))
    if widen is not None:
        eng.emit(fx.ScheduleTimer(f"itemtier:{item.id}", item.position_at + timedelta(seconds=widen)))
    eng.want_route_item(item)


def _unwait(eng, item: WorkItem) -> None:
    eng.written.remove(item)
    eng.emit(fx.CancelTimer(f"itemwait:{item.id}"), fx.CancelTimer(f"itemtier:{item.id}"))


def _item(eng, item_id: str, agent: str = "") -> WorkItem:
    item = eng.items.get(item_id)
    if item is None or item.ended:
        raise NoSuchItem(agent, f"no open written item {item_id!r}")
    if agent and item.agent != agent:
        raise NotYourItem(agent, f"item {item_id} is not {agent}'s")
    return item


def _release(eng, item: WorkItem) -> None:
    """The item is no longer the agent's: her capacity is freed."""
    agent = eng.agents.get(item.agent)
    item.agent = ""
    item.offered_at = None
    item.deadline = None
    eng.emit(fx.CancelTimer(f"itemoffer:{item.id}"))
    if agent is not None and agent.written.pop(item.id, None) is not None:
        eng.touch_agent(agent)
        eng.want_route_agent(agent)                       # she may take calls again


def accept(eng, e: ev.ItemAccept) -> None:
    item = _item(eng, e.item, e.agent)
    if item.state is ItemState.OPEN:
        return
    item.apply(ItemEvent.ACCEPT)
    item.accepted_at = eng.now
    item.deadline = None
    eng.emit(fx.CancelTimer(f"itemoffer:{item.id}"))
    q = eng.deployment.queues[item.queue]
    waited = item.waited(eng.now)
    eng.journal(item, "answered", agent=e.agent, waited=f"{waited:.3f}", channel=item.channel)
    eng.stats.answered(item.queue, waited, q.service_level_seconds)
    eng.touch_agent(eng.agents[e.agent])


def decline(eng, e: ev.ItemDecline) -> None:
    item = _item(eng, e.item, e.agent)
    if item.state is not ItemState.OFFERED:
        raise ItemRefused(e.agent, f"item {item.id} is {item.state.value}, not offered")
    _back(eng, item, ItemEvent.DECLINE, "offer_declined")


def offer_timeout(eng, item: WorkItem) -> None:
    if item.state is ItemState.OFFERED and not item.ended:
        _back(eng, item, ItemEvent.DECLINE, "no_answer")


def _back(eng, item: WorkItem, event: ItemEvent, row: str) -> None:
    """Offered or held, back to its place in the queue (before everything newer)."""
    agent = item.agent
    item.apply(event)
    eng.journal(item, row, agent=agent, channel=item.channel)
    item.last_agent = agent
    if event is ItemEvent.RETURN:
        item.front = True
    _release(eng, item)
    _wait(eng, item)


def give_back(eng, item: WorkItem) -> None:
    """An offered or open item back to its queue, first in line (its agent logged out or
    was removed from the configuration)."""
    _back(eng, item, ItemEvent.RETURN, "returned")


def reply(eng, e: ev.ItemReply) -> None:
    item = _item(eng, e.item, e.agent)
    if item.state is not ItemState.OPEN:
        raise ItemRefused(e.agent, f"item {item.id} is not open (accept it first)")
    if e.message in item.messages:
        return
    item.messages.append(e.message)
    item.replies += 1
    eng.journal(item, "reply_queued", agent=e.agent, message=e.message, channel=item.channel)
    eng.emit(fx.SendWritten(item.id, e.message, item.channel, item.tenant, item.queue))


def sent(eng, e: ev.WrittenSent) -> None:
    """A reply went out. After the item was closed (reply then close at once is the usual
    flow) no journal row follows its `ended`: the store's message status records it."""
    item = eng.items.get(e.item)
    if item is not None:
        eng.journal(item, "replied", message=e.message, external_id=e.external_id, via=e.via)


def send_failed(eng, e: ev.WrittenSendFailed) -> None:
    """A reply did not go out: the agent who held the item is told, even when she has
    closed it meanwhile (`Engine.recently_closed`); a closed item gets no journal row after
    its `ended` (the store's message status records the failure)."""
    item = eng.items.get(e.item)
    if item is not None:
        eng.journal(item, "reply_failed", agent=item.agent, message=e.message, error=e.error,
                    permanent=int(e.permanent))
        agent, tenant, queue = item.agent or item.last_agent, item.tenant, item.queue
    else:
        agent, tenant, queue = eng.recently_closed.get(e.item, ("", "", ""))
    eng.emit(fx.Notify("written_send_failed", {"item": e.item, "message": e.message, "error": e.error,
                                               "permanent": e.permanent, "agent": agent,
                                               "tenant": tenant, "queue": queue}))


def transfer(eng, e: ev.ItemTransfer) -> None:
    item = _item(eng, e.item, e.agent)
    target = eng.deployment.queues.get(e.queue)
    if target is None or not target.written:
        raise ItemRefused(e.agent, f"no written queue {e.queue!r}")
    if target.channel != item.channel:
        raise ItemRefused(e.agent, f"queue {target.id} is a {target.channel} queue, not {item.channel}")
    if target.id == item.queue and item.state is ItemState.QUEUED:
        return
    handled = (eng.now - item.accepted_at).total_seconds() if item.state is ItemState.OPEN and item.accepted_at else 0.0
    if item.state is ItemState.QUEUED:
        _unwait(eng, item)
    eng.journal(item, "transferred", agent=item.agent, to_queue=target.id, talk=f"{handled:.3f}",
                channel=item.channel, **({"by": e.by} if e.by else {}))
    if item.state is not ItemState.QUEUED:
        item.apply(ItemEvent.MOVE if item.state is ItemState.OPEN else ItemEvent.DECLINE)
        _release(eng, item)
    item.last_agent = ""
    item.front = True
    item.accepted_at = None
    _enter(eng, item, target)


def close(eng, e: ev.ItemClose) -> None:
    item = _item(eng, e.item, e.agent)
    codes = {r.id for r in eng.deployment.result_codes}
    if codes and e.result not in codes:
        raise ItemRefused(e.agent, f"no result code {e.result!r}")
    if item.state is ItemState.QUEUED:
        _unwait(eng, item)
    elif item.state is ItemState.OFFERED and e.agent:
        raise ItemRefused(e.agent, f"item {item.id} is offered: accept it first")
    if item.state is ItemState.OPEN and item.accepted_at is not None:
        handled = (eng.now - item.accepted_at).total_seconds()
        eng.journal(item, "talk_ended", agent=item.agent, talk=f"{handled:.3f}", channel=item.channel)
        eng.stats.handled(item.queue, handled)
    agent = item.agent
    item.apply(ItemEvent.CLOSE)
    _release(eng, item)
    item.result = e.result
    item.ended, item.ended_at, item.end_reason = True, eng.now, "closed"
    eng.journal(item, "ended", agent=agent, reason="closed", result=e.result, channel=item.channel,
                **({"by": e.by} if e.by else {}))
    eng.items.pop(item.id, None)
    eng.recently_closed[item.id] = (agent or item.last_agent, item.tenant, item.queue)
    while len(eng.recently_closed) > RECENTLY_CLOSED:
        eng.recently_closed.popitem(last=False)
    if eng.cases.get(item.case) == item.id:
        del eng.cases[item.case]
    for message in item.messages:
        eng.filed.pop(message, None)


def max_wait(eng, item: WorkItem) -> None:
    q = eng.deployment.queues[item.queue]
    if item.state is not ItemState.QUEUED or q.overflow.kind is not OverflowKind.QUEUE:
        return
    target = eng.deployment.queues.get(q.overflow.target)
    if target is None or not target.written or item.hops >= 5:
        return
    _unwait(eng, item)
    item.hops += 1
    eng.journal(item, "overflowed", to_queue=target.id, channel=item.channel, waited=f"{item.waited(eng.now):.3f}")
    _enter(eng, item, target)


def widen(eng, item: WorkItem) -> None:
    if item.state is ItemState.QUEUED:
        q = eng.deployment.queues[item.queue]
        later = next_widening(q, item.waited(eng.now))
        if later is not None:
            eng.emit(fx.ScheduleTimer(f"itemtier:{item.id}", item.position_at + timedelta(seconds=later)))
        eng.want_route_item(item)


def timer(eng, kind: str, key: str) -> bool:
    """A written item's timer; False when the key is not one of ours."""
    item = eng.items.get(key)
    if kind not in ("itemoffer", "itemwait", "itemtier"):
        return False
    if item is not None:
        {"itemoffer": offer_timeout, "itemwait": max_wait, "itemtier": widen}[kind](eng, item)
    return True


# -- routing ----------------------------------------------------------------------------

def route_item(eng, item: WorkItem) -> None:
    if item.state is not ItemState.QUEUED or item.ended:
        return
    q = eng.deployment.queues[item.queue]
    waited = item.waited(eng.now)
    best, best_key, fallback, fallback_key = None, None, None, None
    key_of = STRATEGY_KEYS[q.strategy]
    for aid, level in members(eng, q.id):
        agent = eng.agents[aid]
        if not eligible(q, level, waited) or not item.skills <= agent.config.skills:
            continue
        if not can_take(agent, item.channel):
            continue
        key = (level, load(agent)) + key_of(agent, q.id, eng.index.order.get(aid, 0), eng.rng)
        if aid == item.last_agent:
            if fallback_key is None or key < fallback_key:
                fallback, fallback_key = agent, key
        elif best_key is None or key < best_key:
            best, best_key = agent, key
    if best is not None:
        offer(eng, item, best)
    elif fallback is not None:                            # she declined or missed it last:
        offer(eng, next_item(eng, fallback) or item, fallback)   # another waiting item first


def members(eng, queue: str) -> list[tuple[str, int]]:
    """The queue's active members (agent, level), from the queue indexes' membership."""
    cached = eng.written_members.get(queue)
    if cached is None:
        cached = eng.written_members[queue] = [
            (aid, level) for aid, lst in eng.index.members.items() for qid, level in lst if qid == queue]
    return cached


def queues_of(eng, agent: Agent) -> list[tuple[str, int]]:
    return [(qid, level) for qid, level in eng.index.members.get(agent.id, ())
            if eng.deployment.queues[qid].written]


def next_item(eng, agent: Agent) -> WorkItem | None:
    """Across the agent's written queues: queue priority, then the item's place. An item she
    declined or missed last is hers again only when nothing else waits for her."""
    best, best_rank = None, None
    for qid, level in queues_of(eng, agent):
        q = eng.deployment.queues[qid]
        for item in eng.written.head(qid):
            if (not eligible(q, level, item.waited(eng.now)) or not item.skills <= agent.config.skills
                    or not can_take(agent, item.channel)):
                continue
            mine = item.last_agent == agent.id
            rank = (mine, -q.priority) + item.sort_key()
            if best_rank is None or rank < best_rank:
                best, best_rank = item, rank
            if not mine:
                break                                     # the queue's first one for her
    return best


def route_agent(eng, agent: Agent) -> None:
    _settle(eng, agent)
    while True:
        item = next_item(eng, agent)
        if item is None:
            return
        offer(eng, item, agent)


def _settle(eng, agent: Agent) -> None:
    """Items of an agent who paused or left: offers go back; a logout gives back all. An id
    of an item that is gone is dropped from her holding (her record changes)."""
    if agent.state not in (AgentState.LOGGED_OUT, AgentState.PAUSED):
        return
    for item_id in list(agent.written):
        item = eng.items.get(item_id)
        if item is None:
            agent.written.pop(item_id, None)
            eng.touch_agent(agent)
        elif agent.state is AgentState.LOGGED_OUT and item.state in (ItemState.OFFERED, ItemState.OPEN):
            give_back(eng, item)
        elif item.state is ItemState.OFFERED:
            _back(eng, item, ItemEvent.DECLINE, "offer_declined")


def offer(eng, item: WorkItem, agent: Agent) -> None:
    q = eng.deployment.queues[item.queue]
    _unwait(eng, item)
    item.apply(ItemEvent.OFFER)
    item.agent = agent.id
    item.offered_at = eng.now
    item.deadline = eng.now + timedelta(seconds=q.ring_timeout)
    agent.written[item.id] = agent.config.capacity.cost(item.channel)
    eng.journal(item, "offered", agent=agent.id, channel=item.channel)
    eng.emit(fx.ScheduleTimer(f"itemoffer:{item.id}", item.deadline))
    eng.touch_agent(agent)


# -- recovery ---------------------------------------------------------------------------

def restore(eng, stored: dict) -> None:
    """An open item from the store, back into the engine (engine.recovery)."""
    item = WorkItem.restore(stored)
    if item.ended:
        return
    if item.queue not in eng.deployment.queues:
        _requeue_removed(eng, item)
    eng.items[item.id] = item
    eng.cases[item.case] = item.id
    for message in item.messages:
        eng.filed[message] = item.id
    eng.arrivals = max(eng.arrivals, item.order)
    agent = eng.agents.get(item.agent)
    if item.state in (ItemState.OFFERED, ItemState.OPEN) and agent is not None:
        agent.written[item.id] = agent.config.capacity.cost(item.channel)
    elif item.state in (ItemState.OFFERED, ItemState.OPEN):
        item.state, item.agent = ItemState.QUEUED, ""     # her record is gone: it waits again
    if item.state is ItemState.QUEUED:
        eng.written.add(item)


def _requeue_removed(eng, item: WorkItem) -> None:
    """Its queue left the configuration while the engine was down; its messages are filed,
    so it must stay: into the first written queue of its agency and channel, as a transfer
    `by` configuration (it waits there, first in line), or, with none, in its old queue
    kept as a bare written queue (no members: a supervisor transfers or closes it)."""
    target = next((q for q in eng.deployment.queues.values()
                   if q.written and q.tenant == item.tenant and q.channel == item.channel), None)
    if target is None:
        from engine.queues import QueueRuntime
        kept = QueueConfig(id=item.queue, tenant=item.tenant, name=item.queue, channel=item.channel)
        eng.deployment = dataclasses.replace(eng.deployment, queues={**eng.deployment.queues, kept.id: kept})
        eng.index.queues[kept.id] = QueueRuntime(kept)
        log.warning("item %s: queue %s removed, no %s queue of %s: kept as it was",
                    item.id, item.queue, item.channel, item.tenant)
        return
    handled = (eng.now - item.accepted_at).total_seconds() if item.state is ItemState.OPEN and item.accepted_at else 0.0
    eng.journal(item, "transferred", agent=item.agent, to_queue=target.id, talk=f"{handled:.3f}",
                channel=item.channel, by="configuration")
    item.state, item.agent, item.offered_at, item.deadline, item.accepted_at = ItemState.QUEUED, "", None, None, None
    item.last_agent = ""
    item.front = True
    item.queue, item.tenant, item.queue_entered_at = target.id, target.tenant, eng.now
    eng.journal(item, "entered_queue", channel=item.channel, agency=target.tenant)


def rearm(eng) -> None:
    """After a restart: every item's timers again from its stored times (passed ones fire
    at once), and routing for the waiting ones."""
    for item in list(eng.items.values()):
        if item.state is ItemState.OFFERED:
            due = item.deadline or eng.now
            eng.emit(fx.ScheduleTimer(f"itemoffer:{item.id}", max(due, eng.now)))
        elif item.state is ItemState.QUEUED:
            eng.written.remove(item)
            _wait(eng, item)


HANDLERS = {
    ev.WrittenArrived: arrived,
    ev.ItemAccept: accept,
    ev.ItemDecline: decline,
    ev.ItemReply: reply,
    ev.ItemTransfer: transfer,
    ev.ItemClose: close,
    ev.WrittenSent: sent,
    ev.WrittenSendFailed: send_failed,
}

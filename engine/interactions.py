"""Interactions (calls): the call state machine as a table, the runtime record, its journal.

Rules:
* the caller leg's life in the ACD follows CALL_TABLE; terminal states are ENDED,
  ABANDONED and OVERFLOWED (the caller leg may still play a closing prompt there);
* every journal row of an interaction comes from `Interaction.journal`, which numbers
  rows per interaction (`seq` from 1). The engine only journals on a state change it
  accepted, so a duplicated or late event writes nothing and a replay of the same
  decisions writes the same (interaction, seq);
* every interaction gets exactly one final `ended` row;
* `position_at` is the caller's place in the queue: it survives an overflow to another
  queue and a callback request; `queue_entered_at` restarts the max-wait clock;
* a call an operator moved (engine.transfer, engine.park) and that came back (a recall,
  a pick-up) or was sent to a queue is `front`: ahead of every caller in its queue;
* a connected call with `transferred` set has no agent: its `agent_leg` is the transfer
  target's leg, and its end is TRANSFER_END (no wrap-up);
* a blind transfer asked with camp-on whose target is busy waits CAMPED (music, no
  target leg) until its next try (RETRY: TRANSFERRING again) or its camp-on time ends
  (RECALL): engine.campon.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from engine.effects import Journal
from engine.machine import step


class CallState(enum.Enum):
    ARRIVED = "arrived"
    NOTICE = "notice"                      # recording notice playing
    QUEUED = "queued"
    OFFERING = "offering"                  # agent leg(s) ringing
    CONNECTED = "connected"
    WRAP_UP = "wrap_up"                    # talk over, agent in wrap-up
    ENDED = "ended"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    CALLBACK = "callback"                  # caller hung up, a callback keeps the place
    CALLBACK_OFFERING = "callback_offering"
    CALLING_BACK = "calling_back"          # agent on the line, caller's phone rings
    TRANSFERRING = "transferring"          # supervised blind transfer: the target rings, the caller hears music
    PARKED = "parked"                      # parked by an agent: music until picked up or its timer recalls it
    CAMPED = "camped"                      # camp-on: the transfer target was busy, the caller waits for its next try


class CallEvent(enum.Enum):
    PLAY_NOTICE = "play_notice"
    ENQUEUE = "enqueue"
    MOVE = "move"                          # overflow to another queue
    OFFER = "offer"
    ANSWER = "answer"
    OFFER_FAILED = "offer_failed"
    CALLER_LEFT = "caller_left"
    OVERFLOW = "overflow"
    CLOSED = "closed"                      # after hours
    REQUEST_CALLBACK = "request_callback"
    TALK_END = "talk_end"
    AGENT_LEFT = "agent_left"              # the agent's leg ended before the bridge was made
    WRAP_END = "wrap_end"
    CALLBACK_FAILED = "callback_failed"
    LOST = "lost"                          # gone from the node at resync / restart
    TRANSFER = "transfer"                  # the agent started a supervised blind transfer
    TARGET_ANSWER = "target_answer"        # the transfer target answered: caller and target talk
    RECALL = "recall"                      # the target did not answer / park timed out: back to the agent
    PARK = "park"
    TRANSFER_END = "transfer_end"          # a transferred call (no agent on it) ended
    TRANSFER_QUEUE = "transfer_queue"      # the agent sent the caller to a queue (at its front)
    CAMP = "camp"                          # the target was busy and the transfer asked for camp-on
    RETRY = "retry"                        # camp-on: the busy target is tried again


C, V = CallState, CallEvent
CALL_TABLE: dict[CallState, dict[CallEvent, CallState]] = {
    C.ARRIVED: {V.PLAY_NOTICE: C.NOTICE, V.ENQUEUE: C.QUEUED, V.CLOSED: C.OVERFLOWED,
                V.OVERFLOW: C.OVERFLOWED, V.CALLER_LEFT: C.ABANDONED, V.LOST: C.ENDED},
    C.NOTICE: {V.ENQUEUE: C.QUEUED, V.CLOSED: C.OVERFLOWED, V.OVERFLOW: C.OVERFLOWED,
               V.CALLER_LEFT: C.ABANDONED, V.LOST: C.ENDED},
    C.QUEUED: {V.OFFER: C.OFFERING, V.MOVE: C.QUEUED, V.OVERFLOW: C.OVERFLOWED,
               V.REQUEST_CALLBACK: C.CALLBACK, V.CALLER_LEFT: C.ABANDONED, V.LOST: C.ENDED},
    C.OFFERING: {V.ANSWER: C.CONNECTED, V.OFFER_FAILED: C.QUEUED, V.CALLER_LEFT: C.ABANDONED,
                 V.LOST: C.ENDED},
    C.CONNECTED: {V.TALK_END: C.WRAP_UP, V.AGENT_LEFT: C.QUEUED, V.LOST: C.ENDED,
                  V.TRANSFER: C.TRANSFERRING, V.PARK: C.PARKED, V.TRANSFER_END: C.ENDED,
                  V.TRANSFER_QUEUE: C.QUEUED},
    C.TRANSFERRING: {V.TARGET_ANSWER: C.CONNECTED, V.RECALL: C.QUEUED, V.CALLER_LEFT: C.ENDED,
                     V.LOST: C.ENDED, V.CAMP: C.CAMPED},
    C.CAMPED: {V.RETRY: C.TRANSFERRING, V.RECALL: C.QUEUED, V.CALLER_LEFT: C.ENDED, V.LOST: C.ENDED},
    C.PARKED: {V.RECALL: C.QUEUED, V.CALLER_LEFT: C.ENDED, V.LOST: C.ENDED},
    C.WRAP_UP: {V.WRAP_END: C.ENDED},
    C.CALLBACK: {V.OFFER: C.CALLBACK_OFFERING, V.LOST: C.ENDED},
    C.CALLBACK_OFFERING: {V.ANSWER: C.CALLING_BACK, V.OFFER_FAILED: C.CALLBACK, V.LOST: C.ENDED},
    C.CALLING_BACK: {V.ANSWER: C.CONNECTED, V.CALLBACK_FAILED: C.ENDED, V.LOST: C.ENDED},
    C.ENDED: {},
    C.ABANDONED: {},
    C.OVERFLOWED: {},
}
del C, V

WAITING = frozenset({CallState.QUEUED, CallState.OFFERING, CallState.CALLBACK, CallState.CALLBACK_OFFERING})
ROUTABLE = frozenset({CallState.QUEUED, CallState.CALLBACK})
TERMINAL = frozenset({CallState.ENDED, CallState.ABANDONED, CallState.OVERFLOWED})


@dataclass(slots=True)
class Interaction:
    id: str
    node: str
    uuid: str                              # the caller leg ("" once it is gone)
    tenant: str
    queue: str
    caller_number: str
    caller_name: str
    destination: str
    arrived_at: datetime
    position_at: datetime                  # place in queue (kept across overflow/callback)
    queue_entered_at: datetime | None = None
    priority: int = 0
    skills: frozenset[str] = frozenset()   # required by this call on top of the queue's
    state: CallState = CallState.ARRIVED
    seq: int = 0                           # last journal row written
    order: int = 0                         # tie-break of equal places (arrival order)
    agent: str = ""                        # the connected agent
    agent_leg: str = ""                    # the connected agent leg
    legs: dict[str, str] = field(default_factory=dict)  # ringing agent legs -> agent
    answered_at: datetime | None = None
    bridged: bool = False
    bridge_at: datetime | None = None      # when the last uuid_bridge of this interaction was asked
    bridges: int = 0                       # uuid_bridges asked so far (the effects' idempotency keys)
    origin_uuid: str = ""                  # the first caller leg (kept when `uuid` is gone)
    served_leg: str = ""                   # the last agent leg that answered (kept when `agent_leg` is gone)
    playing: str = ""                      # the prompt we expect to finish next
    playlist: list[str] = field(default_factory=list)   # prompts after `playing`
    then: tuple = ()                       # after the last prompt: ("moh",) ("continue",) ("hangup",) ("transfer", dest, context)
    overflow_due: bool = False             # max wait passed while an agent leg rang
    callback_leg: str = ""                 # the leg calling the caller back
    ended: bool = False                    # the final `ended` row is written
    ended_at: datetime | None = None
    end_reason: str = ""
    hops: int = 0                          # overflows to another queue (loop guard)
    last_agent: str = ""                   # the agent whose offer just failed
    # call control from the console (engine/transfer.py, engine/control.py)
    transferred: bool = False              # the connected party is a transfer target, not an agent (agent_leg = its leg)
    target: str = ""                       # transfer / consult target: number, SIP user or queue id
    target_kind: str = ""                  # "number" | "user" | "queue"
    target_name: str = ""                  # who the target is (console, journal)
    target_leg: str = ""                   # the ringing transfer target's leg
    deadline: datetime | None = None       # transfer ring, park timer's end, camp-on's next try (rescheduled after a restart)
    recall_agent: str = ""                 # a recall goes to this agent first
    recall_reason: str = ""                # no_answer | busy | rejected | unregistered | failed | park_timeout | campon_timeout
    recalls: int = 0
    consult_leg: str = ""                  # announced transfer: the target's leg
    talking_to: str = ""                   # consult: "caller" | "target" | "both" (conference)
    held: bool = False                     # the caller is on hold (uuid_hold)
    dropped_leg: str = ""                  # the operator's leg hung up by a transfer/park, until FreeSWITCH reports it gone
    front: bool = False                    # recalled or sent to a queue by an operator: ahead of every caller there
    camp_on: bool = False                  # the blind transfer camps on a busy target (engine.campon)
    camp_until: datetime | None = None     # camp-on started: its end (then the recall)
    camp_tries: int = 0                    # camp-on: the busy target's tries so far
    # recording (engine/call_recording.py): only the leg that heard the notice is recorded
    noticed_leg: str = ""                  # the caller leg that heard the recording notice
    recording: str = ""                    # the running recording's id ("" = none, or stopped)
    recording_path: str = ""               # its file on the node (the media bug is on the caller leg)
    recording_masked: bool = False         # paused from the console (silence written meanwhile)
    recording_agents: tuple[str, ...] = ()  # the agents heard in it so far

    def apply(self, event: CallEvent, at: datetime) -> CallState:
        self.state = step(CALL_TABLE, f"interaction {self.id}", self.state, event)
        return self.state

    def journal(self, kind: str, at: datetime, agent: str = "", **data) -> Journal:
        self.seq += 1
        row = Journal(interaction=self.id, seq=self.seq, kind=kind, at=at, tenant=self.tenant,
                      queue=self.queue, agent=agent,
                      data={k: str(v) for k, v in data.items()})
        return row

    def end(self, at: datetime, reason: str) -> Journal | None:
        if self.ended:
            return None
        self.ended, self.ended_at, self.end_reason = True, at, reason
        return self.journal("ended", at, agent=self.agent, reason=reason)

    @property
    def channels(self) -> tuple[str, ...]:
        """Every leg of this interaction the switch may still have: caller, connected agent,
        callback and ringing agent legs."""
        return tuple(leg for leg in (self.uuid, self.agent_leg, self.callback_leg, self.target_leg,
                                     self.consult_leg, self.dropped_leg, *self.legs) if leg)

    def waited(self, at: datetime) -> float:
        return max(0.0, (at - self.position_at).total_seconds())

    def sort_key(self) -> tuple:
        """Place in the queue: recalls and operators' transfers first, then caller priority,
        then the original entry time. (Change `front` or `priority` only while the call is
        out of the queue index: the index finds a call by this key.)"""
        return (not self.front, -self.priority, self.position_at, self.order, self.id)

    def snapshot(self) -> dict:
        """Everything needed to rebuild this record after a restart (the store keeps it)."""
        return {"id": self.id, "node": self.node, "caller_uuid": self.uuid, "tenant": self.tenant,
                "queue": self.queue, "state": self.state.value, "priority": self.priority,
                "arrived_at": self.arrived_at, "entered_at": self.position_at,
                "queue_entered_at": self.queue_entered_at, "answered_at": self.answered_at,
                "agent": self.agent, "agent_uuid": self.agent_leg, "legs": dict(self.legs),
                "callback_leg": self.callback_leg, "last_seq": self.seq, "order": self.order,
                "caller_number": self.caller_number, "caller_name": self.caller_name,
                "destination": self.destination, "skills": ",".join(sorted(self.skills)),
                "hops": self.hops, "bridged": self.bridged, "bridge_at": self.bridge_at,
                "bridges": self.bridges, "origin_uuid": self.origin_uuid or self.uuid,
                "served_leg": self.served_leg or self.agent_leg, "ended": self.ended,
                "ended_at": self.ended_at, "end_reason": self.end_reason,
                "transferred": self.transferred, "target": self.target, "target_kind": self.target_kind,
                "target_name": self.target_name, "target_leg": self.target_leg, "deadline": self.deadline,
                "recall_agent": self.recall_agent, "recall_reason": self.recall_reason,
                "recalls": self.recalls, "consult_leg": self.consult_leg, "talking_to": self.talking_to,
                "held": self.held, "dropped_leg": self.dropped_leg,
                "front": self.front, "camp_on": self.camp_on, "camp_until": self.camp_until,
                "camp_tries": self.camp_tries, "noticed_leg": self.noticed_leg, "recording": self.recording,
                "recording_path": self.recording_path, "recording_masked": self.recording_masked,
                "recording_agents": list(self.recording_agents)}

    @classmethod
    def restore(cls, stored: dict) -> "Interaction":
        return cls(
            id=stored["id"], node=stored.get("node", ""), uuid=stored.get("caller_uuid", ""),
            tenant=stored.get("tenant", ""), queue=stored.get("queue", ""),
            caller_number=stored.get("caller_number", ""), caller_name=stored.get("caller_name", ""),
            destination=stored.get("destination", ""),
            arrived_at=_parse(stored.get("arrived_at") or stored["entered_at"]),
            position_at=_parse(stored["entered_at"]),
            queue_entered_at=_parse(stored.get("queue_entered_at")),
            answered_at=_parse(stored.get("answered_at")),
            priority=int(stored.get("priority", 0)), state=CallState(stored.get("state", "arrived")),
            seq=int(stored.get("last_seq", 0)), order=int(stored.get("order", 0)),
            agent=stored.get("agent", ""), agent_leg=stored.get("agent_uuid", ""),
            legs=dict(stored.get("legs", {})), callback_leg=stored.get("callback_leg", ""),
            skills=frozenset(s for s in stored.get("skills", "").split(",") if s),
            hops=int(stored.get("hops", 0)), bridged=bool(stored.get("bridged", False)),
            bridge_at=_parse(stored.get("bridge_at")), bridges=int(stored.get("bridges", 0)),
            origin_uuid=stored.get("origin_uuid", "") or stored.get("caller_uuid", ""),
            served_leg=stored.get("served_leg", "") or stored.get("agent_uuid", ""),
            ended=bool(stored.get("ended", False)),
            transferred=bool(stored.get("transferred", False)), target=stored.get("target", ""),
            target_kind=stored.get("target_kind", ""), target_name=stored.get("target_name", ""),
            target_leg=stored.get("target_leg", ""), deadline=_parse(stored.get("deadline")),
            recall_agent=stored.get("recall_agent", ""), recall_reason=stored.get("recall_reason", ""),
            recalls=int(stored.get("recalls", 0)), consult_leg=stored.get("consult_leg", ""),
            talking_to=stored.get("talking_to", ""), held=bool(stored.get("held", False)),
            dropped_leg=stored.get("dropped_leg", ""),
            front=bool(stored.get("front", False)), camp_on=bool(stored.get("camp_on", False)),
            camp_until=_parse(stored.get("camp_until")), camp_tries=int(stored.get("camp_tries", 0)),
            noticed_leg=stored.get("noticed_leg", ""), recording=stored.get("recording", ""),
            recording_path=stored.get("recording_path", ""),
            recording_masked=bool(stored.get("recording_masked", False)),
            recording_agents=tuple(stored.get("recording_agents", ())))


def _parse(value) -> datetime | None:
    if isinstance(value, datetime) or value is None:
        return value
    return datetime.fromisoformat(value) if value else None

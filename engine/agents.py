"""Agents: the agent state machine as a table, and the runtime record of one agent.

Rules:
* one state per agent, shared by every queue the agent serves (wrap-up too);
* `routable` is the only question routing asks: available, softphone registered, not
  inside a reject/busy/no-answer delay and not monitoring a call (engine.monitor sets
  `monitoring`, runtime only: a restart re-adopts the monitor). The queue indexes mirror
  it (engine.queues);
* a pause or logout asked for during a call is kept as `pending` and applied when the
  call's wrap-up ends (the call is never cut);
* the record is plain data (`snapshot()` / `restore()`), stored by the runtime for
  recovery (engine.recovery);
* `written` holds the written items offered to or held by the agent (engine.written),
  runtime only: a restart rebuilds it from the items. Above the agent's `calls_up_to`
  written units she is not routable for calls;
* `active_queues` are the queues chosen at login for this shift (empty = every queue
  the agent is configured for); the queue indexes make the agent a member of only those.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone

from engine.config import AgentConfig
from engine.machine import step

NO_ANSWER_REASON = "no answer"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class AgentState(enum.Enum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    OFFERED = "offered"          # a leg rings on the agent's phone
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"            # with a reason


class AgentEvent(enum.Enum):
    LOGIN = "login"
    LOGOUT = "logout"
    PAUSE = "pause"
    RESUME = "resume"
    OFFER = "offer"
    ANSWER = "answer"
    NO_ANSWER = "no_answer"
    NO_ANSWER_LIMIT = "no_answer_limit"   # the N-th consecutive no-answer: paused "no answer"
    REJECT = "reject"
    BUSY = "busy"
    FAIL = "fail"                         # the originate failed for another cause
    CANCEL = "cancel"                     # we hung the ringing leg up (caller left, another agent won)
    CALL_END = "call_end"
    WRAPUP_END = "wrapup_end"


A, E = AgentState, AgentEvent
AGENT_TABLE: dict[AgentState, dict[AgentEvent, AgentState]] = {
    A.LOGGED_OUT: {E.LOGIN: A.AVAILABLE},
    A.AVAILABLE: {E.OFFER: A.OFFERED, E.PAUSE: A.PAUSED, E.LOGOUT: A.LOGGED_OUT},
    A.OFFERED: {E.ANSWER: A.ON_CALL, E.NO_ANSWER: A.AVAILABLE, E.NO_ANSWER_LIMIT: A.PAUSED,
                E.REJECT: A.AVAILABLE, E.BUSY: A.AVAILABLE, E.FAIL: A.AVAILABLE,
                E.CANCEL: A.AVAILABLE, E.PAUSE: A.PAUSED, E.LOGOUT: A.LOGGED_OUT},
    A.ON_CALL: {E.CALL_END: A.WRAP_UP},
    A.WRAP_UP: {E.WRAPUP_END: A.AVAILABLE, E.PAUSE: A.PAUSED, E.LOGOUT: A.LOGGED_OUT},
    A.PAUSED: {E.RESUME: A.AVAILABLE, E.PAUSE: A.PAUSED, E.LOGOUT: A.LOGGED_OUT},
}
del A, E


@dataclass(slots=True)
class Agent:
    config: AgentConfig
    state: AgentState = AgentState.LOGGED_OUT
    reason: str = ""
    since: datetime = EPOCH
    registered: bool = False
    no_answers: int = 0                     # consecutive
    idle_since: datetime = EPOCH            # last call end (or login): longest-idle key
    calls_answered: int = 0
    talk_time: float = 0.0                  # seconds
    interaction: str = ""                   # offered / on-call / wrap-up interaction
    leg: str = ""                           # the agent leg's uuid while offered / on call
    leg_up: str = ""                        # a leg of theirs we hung up, not yet gone: no new offer until it is
    ready_at: datetime | None = None        # inside a reject/busy/no-answer delay until then
    pending: tuple[str, str] | None = None  # ("pause", reason) or ("logout", "") after the call
    turns: dict[str, int] = field(default_factory=dict)  # round-robin: last turn per queue
    active_queues: tuple[str, ...] = ()     # chosen at login (sorted); () = all configured queues
    monitoring: bool = False                # a supervisor monitoring a call (engine.monitor): no offers
    wrapup_queue: str = ""                  # the queue of the call ended last: its wrap-up (engine.talk)
    written: dict[str, float] = field(default_factory=dict)  # written items offered / open -> their cost (engine.written)

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def routable(self) -> bool:
        limit = self.config.capacity.calls_up_to
        return (self.state is AgentState.AVAILABLE and self.registered and self.ready_at is None
                and not self.leg_up and not self.monitoring
                and (limit is None or not self.written or sum(self.written.values()) <= limit + 1e-9))

    @property
    def staffed(self) -> bool:
        """Logged in (registered or not): what "no agents logged in" counts."""
        return self.state is not AgentState.LOGGED_OUT

    def apply(self, event: AgentEvent, at: datetime, reason: str = "") -> AgentState:
        self.state = step(AGENT_TABLE, f"agent {self.id}", self.state, event)
        self.since = at
        self.reason = reason if self.state is AgentState.PAUSED else ""
        if self.state in (AgentState.AVAILABLE, AgentState.PAUSED, AgentState.LOGGED_OUT):
            self.interaction = ""
            self.leg = ""
        return self.state

    def snapshot(self) -> dict:
        return {
            "agent": self.id, "state": self.state.value, "reason": self.reason,
            "since": self.since, "registered": self.registered,
            "no_answer_count": self.no_answers, "last_call_end": self.idle_since,
            "calls_answered": self.calls_answered, "talk_time": self.talk_time,
            "interaction": self.interaction, "leg": self.leg, "leg_up": self.leg_up,
            "active_queues": list(self.active_queues), "wrapup_queue": self.wrapup_queue,
            "ready_at": self.ready_at, "written_units": round(sum(self.written.values()), 3),
        }

    @classmethod
    def restore(cls, config: AgentConfig, stored: dict) -> "Agent":
        return cls(
            config=config, state=AgentState(stored.get("state", "logged_out")),
            reason=stored.get("reason", ""),
            since=_time(stored.get("since")), registered=bool(stored.get("registered", False)),
            no_answers=int(stored.get("no_answer_count", 0)),
            idle_since=_time(stored.get("last_call_end")),
            calls_answered=int(stored.get("calls_answered", 0)),
            talk_time=float(stored.get("talk_time", 0.0)),
            interaction=stored.get("interaction", ""), leg=stored.get("leg", ""),
            leg_up=stored.get("leg_up", ""),
            active_queues=tuple(sorted(stored.get("active_queues") or ())),
            wrapup_queue=stored.get("wrapup_queue", ""),
            ready_at=_time(stored["ready_at"]) if stored.get("ready_at") else None,
        )


def _time(value) -> datetime:
    if isinstance(value, datetime):
        return value
    if value:
        return datetime.fromisoformat(value)
    return EPOCH

"""What a person or an integration may do to agents and calls: the one place where the
supervisor page, the console's supervisor tools and the REST API turn a request into an
engine event, after checking role and tenant, with an audit entry.

Rules:
- An `Actor` is who asks: a logged-in web user (`Actor.of_user`) or an API token
  (`Actor.of_token`), with roles per tenant (tenant "*" = every tenant) and, for a
  person, the agent they are bound to (their softphone).
- Acting *as* an agent (queue login, available, pause, answer, transfer, park...) is
  allowed to the user bound to that agent, and to an actor with a working role
  (operator, supervisor, tenant_admin, admin) in **every** tenant whose queues the agent
  serves. The event carries the agent id the check was made for; nothing in a request
  can name another.
- Steering an agent (force a pause, make available, log out, end a wrap-up) needs a
  steering role (supervisor, tenant_admin, admin) in every tenant the agent serves: a
  team lead of one agency cannot pause an operator who also answers another agency.
- Listening, whispering and barging need a steering role in the tenant of the call the
  agent is on, and a phone to listen from (the actor's bound agent, or for a token the
  `phone` agent it names: an agent of queues only in tenants where the actor steers, or
  a phone of no queue (a supervisor's softphone) for an actor who steers every tenant).
- A callback through a queue needs a steering role in the queue's tenant; so does closing
  a written item that waits in a queue (spam: `close_item`, the engine's ItemClose with
  no agent and `by` the actor), with one of the configured result codes.
- Every allowed supervisor action and every administrative change is written to the
  audit log (who, what, whom, tenant, when) *before* the event is posted; a refusal is
  an `ActionDenied` (HTTP 403), a malformed request an `ActionInvalid` (400), the engine
  not running `EngineDown` (503). Refusals of supervisor actions are audited too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from engine import events as ev

WORKING = frozenset({"operator", "supervisor", "tenant_admin", "admin"})
STEERING = frozenset({"supervisor", "tenant_admin", "admin"})
ALL = "*"


class ActionError(Exception):
    status = 400
    error_id = "action.invalid"

    def __init__(self, error_id: str | None = None, message: str = ""):
        super().__init__(message or error_id or self.error_id)
        if error_id:
            self.error_id = error_id
        self.message = message or self.error_id


class ActionInvalid(ActionError):
    status = 400


class ActionDenied(ActionError):
    status = 403
    error_id = "action.denied"


class ActionNotFound(ActionError):
    status = 404
    error_id = "action.not_found"


class EngineDown(ActionError):
    status = 503
    error_id = "action.engine_down"


@dataclass(frozen=True)
class Actor:
    name: str                                    # username, or "token:<id>"
    roles: frozenset = frozenset()               # {(tenant, role)}
    agent: str = ""                              # the bound agent (a person's softphone)

    @classmethod
    def of_user(cls, record) -> "Actor":
        return cls(record.username, frozenset(record.roles), record.agent or "")

    @classmethod
    def of_token(cls, token_id, tenant: str, role: str) -> "Actor":
        return cls(f"token:{token_id}", frozenset({(tenant, role)}))

    def tenants_with(self, roles: frozenset, known: Iterable[str]) -> set[str]:
        """The tenants (of `known`) in which this actor has one of `roles`."""
        known = set(known)
        out: set[str] = set()
        for tenant, role in self.roles:
            if role in roles:
                out |= known if tenant == ALL else {tenant} & known
        return out

    def may(self, roles: frozenset, tenants: Iterable[str], known: Iterable[str]) -> bool:
        """True if the actor has one of `roles` in every tenant of `tenants` (none: False)."""
        tenants = set(tenants)
        return bool(tenants) and tenants <= self.tenants_with(roles, known)


@dataclass
class Actions:
    """The actions, bound to the running engine (`engine_source()`, None while it starts),
    its inbox (`post`), the store's audit log (`audit(actor, action, kind, id, tenant=,
    detail=)`) and the clock."""

    engine_source: Callable
    post: Callable | None
    audit: Callable
    clock: Callable

    # -- what the checks read ---------------------------------------------------------
    def engine(self):
        engine = self.engine_source() if self.engine_source else None
        if engine is None or self.post is None:
            raise EngineDown("action.engine_down", "the engine is not running")
        return engine

    @staticmethod
    def agent_tenants(engine, agent_id: str) -> set[str]:
        config = engine.deployment.agents.get(agent_id)
        if config is None:
            raise ActionNotFound("action.unknown_agent", f"no agent {agent_id!r}")
        queues = engine.deployment.queues
        return {queues[q].tenant for q in config.queues if q in queues}

    @staticmethod
    def call_of(engine, agent_id: str):
        from engine import views
        return views.current_call(engine, agent_id) if agent_id in engine.agents else None

    def _deny(self, actor: Actor, action: str, kind: str, target: str, tenant: str, why: str, audited: bool):
        if audited:
            self.audit(actor.name, action + ".denied", kind, target, tenant=tenant, detail={"reason": why})
        raise ActionDenied("action.denied", why)

    # -- acting as an agent -----------------------------------------------------------
    def as_agent(self, actor: Actor, agent_id: str, message: dict):
        """A console command (`agent_ui.console_socket.to_event`'s message format) for
        `agent_id`; returns the event posted."""
        from agent_ui.console_socket import BadCommand, to_event
        engine = self.engine()
        tenants = self.agent_tenants(engine, agent_id)
        if actor.agent != agent_id and not actor.may(WORKING, tenants, engine.deployment.tenants):
            self._deny(actor, "agent.command", "agent", agent_id, ",".join(sorted(tenants)),
                       "not this agent's user and no working role in every tenant the agent serves", audited=False)
        try:
            event = to_event(agent_id, message, self.clock())
        except BadCommand as exc:
            raise ActionInvalid("action.bad_command", f"bad or missing field: {exc}") from exc
        if actor.agent != agent_id:            # someone else acting for the agent: traced
            self.audit(actor.name, "agent.command", "agent", agent_id, tenant=",".join(sorted(tenants)),
                       detail={"command": message.get("name", "")})
        self.post(event)
        return event

    # -- steering an agent ------------------------------------------------------------
    STEER = {"pause", "available", "logout", "wrapup_end"}

    def steer(self, actor: Actor, agent_id: str, what: str, reason: str = ""):
        """A supervisor sets an agent's state: pause (with a reason), available, logout,
        wrapup_end (a forced end of the wrap-up)."""
        if what not in self.STEER:
            raise ActionInvalid("action.bad_state", f"unknown state change {what!r}")
        engine = self.engine()
        tenants = self.agent_tenants(engine, agent_id)
        label = ",".join(sorted(tenants))
        if not actor.may(STEERING, tenants, engine.deployment.tenants):
            self._deny(actor, f"agent.{what}", "agent", agent_id, label,
                       "no supervisor role in every tenant the agent serves", audited=True)
        now = self.clock()
        if what == "pause":
            reasons = {r.id for r in engine.deployment.pause_reasons}
            if reasons and reason not in reasons:
                raise ActionInvalid("action.bad_reason", f"unknown pause reason {reason!r}")
            event = ev.AgentPause(agent_id, reason or "supervisor", now)
        elif what == "available":
            event = ev.AgentResume(agent_id, now)
        elif what == "logout":
            event = ev.AgentLogout(agent_id, now)
        else:
            event = ev.WrapUpEnd(agent_id, now, forced=True)
        self.audit(actor.name, f"agent.{what}", "agent", agent_id, tenant=label,
                   detail={"reason": reason} if reason else {})
        self.post(event)
        return event

    # -- listening --------------------------------------------------------------------
    def monitor(self, actor: Actor, agent_id: str, mode: str, phone: str = ""):
        """Listen to / whisper to / barge into the call `agent_id` is on, from `phone` (an
        agent id; default the actor's bound agent)."""
        if mode not in ev.MONITOR_MODES:
            raise ActionInvalid("action.bad_mode", f"mode must be one of {', '.join(ev.MONITOR_MODES)}")
        engine = self.engine()
        if agent_id not in engine.deployment.agents:
            raise ActionNotFound("action.unknown_agent", f"no agent {agent_id!r}")
        phone = phone or actor.agent
        if not phone:
            raise ActionInvalid("action.no_phone", "no phone to listen from: bind the user to an agent (softphone)")
        if phone not in engine.deployment.agents:
            raise ActionNotFound("action.unknown_phone", f"no agent {phone!r} to listen from")
        known = engine.deployment.tenants
        if not self.agent_tenants(engine, agent_id) & actor.tenants_with(STEERING, known):
            # before the call is looked up: a stranger to the agent's tenants learns nothing of its calls
            self._deny(actor, f"call.{mode}", "agent", agent_id, "",
                       "no supervisor role in a tenant the agent serves", audited=True)
        call = self.call_of(engine, agent_id)
        if call is None:
            raise ActionNotFound("action.no_call", "the agent is not on a call")
        if not actor.may(STEERING, {call.tenant}, known):
            self._deny(actor, f"call.{mode}", "agent", agent_id, call.tenant,
                       "no supervisor role in the call's tenant", audited=True)
        if phone != actor.agent and not self.may_use_phone(actor, engine, phone):
            self._deny(actor, f"call.{mode}", "agent", agent_id, call.tenant,
                       "the phone belongs to an agent of another tenant", audited=True)
        self.audit(actor.name, f"call.{mode}", "agent", agent_id, tenant=call.tenant,
                   detail={"interaction": call.id, "phone": phone})
        event = ev.Monitor(phone, agent_id, mode, self.clock(), by=actor.name)
        self.post(event)
        return event

    def may_use_phone(self, actor: Actor, engine, phone: str) -> bool:
        """Someone else's phone (an API token names one): an agent of queues only in tenants
        where the actor steers; a phone of no queue (a supervisor's own softphone) only for
        an actor who steers every tenant ("*"), so one agency cannot ring another's
        supervisor."""
        known = engine.deployment.tenants
        tenants = self.agent_tenants(engine, phone)
        steers = actor.tenants_with(STEERING, known)
        return tenants <= steers if tenants else any(t == ALL and r in STEERING for t, r in actor.roles)

    def monitor_end(self, actor: Actor, phone: str = ""):
        phone = phone or actor.agent
        if not phone:
            raise ActionInvalid("action.no_phone", "no phone to stop listening on")
        engine = self.engine()
        if phone not in engine.deployment.agents:
            raise ActionNotFound("action.unknown_phone", f"no agent {phone!r}")
        running = getattr(engine, "monitors", {}).get(phone)      # the monitored call's tenant, if any
        call = engine.calls.get(running.interaction) if running is not None else None
        if phone != actor.agent:
            # someone else's phone: stopping it listening to a call of an agency the actor
            # steers is always allowed (that agency's call is protected); otherwise only a
            # phone the actor may use at all
            allowed = actor.may(STEERING, {call.tenant}, engine.deployment.tenants) if call is not None \
                else self.may_use_phone(actor, engine, phone)
            if not allowed:
                self._deny(actor, "call.monitor_end", "agent", phone, call.tenant if call is not None else "",
                           "not the actor's phone, nor a call of the actor's agencies", audited=True)
        self.audit(actor.name, "call.monitor_end", "agent", phone, tenant=call.tenant if call is not None else "")
        event = ev.MonitorEnd(phone, self.clock(), by=actor.name)
        self.post(event)
        return event

    # -- call back --------------------------------------------------------------------
    def callback(self, actor: Actor, queue: str, number: str, origin: str = ""):
        """Call `number` back through `queue` (an abandoned call `origin`)."""
        engine = self.engine()
        config = engine.deployment.queues.get(queue)
        if config is None:
            raise ActionNotFound("action.unknown_queue", f"no queue {queue!r}")
        number = (number or "").strip()
        digits = number[1:] if number.startswith("+") else number
        if not digits or len(number) > 32 or not (digits.isascii() and digits.isdigit()):
            raise ActionInvalid("action.bad_number", "the number must be digits, optionally after a +")
        if not actor.may(STEERING, {config.tenant}, engine.deployment.tenants):
            self._deny(actor, "call.callback", "queue", queue, config.tenant,
                       "no supervisor role in the queue's tenant", audited=True)
        self.audit(actor.name, "call.callback", "queue", queue, tenant=config.tenant,
                   detail={"number": number, "origin": origin})
        event = ev.CallbackCreate(queue, number, self.clock(), origin=origin, by=actor.name)
        self.post(event)
        return event

    # -- written items ----------------------------------------------------------------
    def close_item(self, actor: Actor, item_id: str, result: str):
        """Close written item `item_id` while it waits in its queue (spam, a duplicate)."""
        engine = self.engine()
        item = getattr(engine, "items", {}).get(item_id)
        if item is None or item.ended:
            raise ActionNotFound("action.unknown_item", f"no open written item {item_id!r}")
        if not actor.may(STEERING, {item.tenant}, engine.deployment.tenants):
            self._deny(actor, "item.close", "item", item_id, item.tenant,
                       "no supervisor role in the item's tenant", audited=True)
        if item.state.value != "queued":
            raise ActionInvalid("action.item_not_waiting", f"item {item_id} is {item.state.value}, not waiting")
        codes = {r.id for r in engine.deployment.result_codes}
        if codes and result not in codes:
            raise ActionInvalid("action.bad_result", f"unknown result code {result!r}")
        self.audit(actor.name, "item.close", "item", item_id, tenant=item.tenant,
                   detail={"reason": result, "queue": item.queue})
        event = ev.ItemClose("", item_id, result, self.clock(), by=actor.name)
        self.post(event)
        return event

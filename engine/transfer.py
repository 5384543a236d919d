"""The operator moves a call: supervised blind transfer, transfer to a queue, park, recall, pick-up.

Rules:
* every move acts only on the asking agent's own connected, bridged call (no consult on
  it, not already moved on: engine.control.talking); a target is checked before anything
  reaches FreeSWITCH: a SIP user `[0-9A-Za-z_.-]{1,40}`, a number `+?[0-9]{2,20}`, or
  an existing queue id; anything else is refused (InvalidTarget);
* the operator's part ends at once: their leg is hung up (no new call until FreeSWITCH
  reports it gone) and they go to wrap-up; the transfer's rows name them
  (`transfer_started`, `transferred`, `parked` with their talk seconds). The caller
  stays: `park_after_bridge=true` on the caller leg (set when it was connected, and again
  before the hang-up) makes FreeSWITCH park it when the operator's leg leaves the bridge
  (tests/data/esl-corpus/FACTS.md);
* the caller hears music from the moment it is parked again (its CHANNEL_PARK) or the
  operator's leg is reported gone, whichever comes first, and once: `ix.playing` says
  music is on;
* blind transfer: the target rings with the caller's number and name for the agency's
  `transfer_timeout`; our `xfer:<ix>` timer backs it (+ offers.RING_GRACE). Answered:
  the interaction goes on as a transferred call (no agent; its "agent leg" is the
  target's), bridged on the target leg's park exactly as an agent leg. It ends when
  either side hangs up: the other is hung up, `talk_ended` (by caller / target) and
  `ended` reason "transferred". A failed originate job after the answer changes nothing;
* no answer, busy, rejected, unregistered or any other failure (or our timer) is a
  recall: `transfer_failed` (reason, cause), then `recalled` and Notify("recall"). A
  target answering after the recall is hung up again and changes nothing;
* a recall goes back to the operator who moved the call: in wrap-up, the wrap-up is
  ended for it (a pause or logout they asked for then applies); if they can take it
  now it rings on their phone alone (marked `cc_recall=<reason>`), otherwise it waits
  at the front of its queue for anyone, and goes to them first if they are freed
  first. A recall not answered by the operator is routed like any call (still first in
  line); its max-wait clock starts again at the recall;
* transfer to a queue: the caller joins that queue at its front (ahead of every caller:
  `Interaction.front`), `transferred` then `entered_queue`; the operator is not
  preferred (another agent is tried first);
* park: the caller waits with music for the agency's `park_timeout` (`park:<ix>`), then
  is recalled ("park_timeout"); Notify("parked") tells the consoles. An agent who serves
  the agency (a member of one of its queues), available or in wrap-up (ended for it),
  registered and with no leg of theirs still up, picks it up: `picked_up`, then it rings
  on their phone alone; not answered -> front of its queue;
* the caller hanging up while the target rings or while parked: the target leg is
  cancelled, `transfer_abandoned` / `park_abandoned` and `ended` reason "caller_left";
* everything needed after an engine restart is in the interaction's snapshot and on
  the caller's channel (`channel_tags`); engine.recovery rebuilds from them.
"""
from __future__ import annotations

import logging
import re
from datetime import timedelta

from engine import callflow, control, offers, talk
from engine import effects as fx
from engine import events as ev
from engine.agents import Agent, AgentState
from engine.errors import InvalidTarget, NoCall, NotYourCall, WrongCallState
from engine.interactions import CallEvent, CallState, Interaction

log = logging.getLogger(__name__)

TARGETS = {"user": re.compile(r"[0-9A-Za-z_.-]{1,40}"), "number": re.compile(r"\+?[0-9]{2,20}")}
MOVED = frozenset({CallState.TRANSFERRING, CallState.PARKED})   # no agent, the caller waits with music
_CHANNEL_STATE = {CallState.TRANSFERRING: "transferring", CallState.PARKED: "parked", CallState.QUEUED: "queued",
                  CallState.OFFERING: "queued", CallState.CONNECTED: "transferred"}


# -- commands ----------------------------------------------------------------------------
def transfer(eng, e: ev.CallTransfer) -> None:
    agent, ix = _movable(eng, e.agent)
    if e.kind == "queue":
        if e.target not in eng.deployment.queues:
            raise InvalidTarget(agent.id, f"no queue {e.target!r}")
        _to_queue(eng, ix, agent, e.target, e.name)
        return
    pattern = TARGETS.get(e.kind)
    if pattern is None or not isinstance(e.target, str) or not pattern.fullmatch(e.target):
        raise InvalidTarget(agent.id, f"not a {e.kind} to transfer to: {e.target!r}")
    _blind(eng, ix, agent, e.target, e.kind, e.name)


def park(eng, e: ev.CallPark) -> None:
    agent, ix = _movable(eng, e.agent)
    seconds = eng.tenant_of(ix).park_timeout
    talked = _talk_seconds(eng, ix)
    ix.apply(CallEvent.PARK, eng.now)
    ix.deadline = eng.now + timedelta(seconds=seconds)
    eng.journal(ix, "parked", agent=agent.id, talk=f"{talked:.3f}")
    _release_operator(eng, ix, agent, talked)
    eng.schedule(f"park:{ix.id}", seconds)
    eng.emit(fx.Notify("parked", {"tenant": ix.tenant, "interaction": ix.id, "agent": agent.id,
                                  "caller": ix.caller_number, "name": ix.caller_name,
                                  "until": ix.deadline.isoformat()}))


def pick_up(eng, e: ev.ParkedPickUp) -> None:
    agent = control.agent_of(eng, e.agent)
    ix = eng.calls.get(e.interaction)
    if ix is None:
        raise NoCall(agent.id, f"no interaction {e.interaction!r}")
    if ix.state is not CallState.PARKED:
        raise WrongCallState(agent.id, f"interaction {ix.id} is {ix.state.value}, not parked")
    if not serves(eng, agent, ix.tenant):
        raise NotYourCall(agent.id, f"interaction {ix.id} is a call of a tenant the agent does not serve")
    if agent.state not in (AgentState.AVAILABLE, AgentState.WRAP_UP) or agent.pending \
            or not agent.registered or agent.leg_up:
        raise WrongCallState(agent.id, f"agent is {agent.state.value}: cannot take a call now")
    if agent.state is AgentState.WRAP_UP:
        talk.wrapup_end(eng, agent)
    agent.ready_at = None                       # a deliberate pick-up overrides a reject/busy delay
    eng.emit(fx.CancelTimer(f"park:{ix.id}"), fx.CancelTimer(f"ready:{agent.id}"))
    ix.apply(CallEvent.RECALL, eng.now)
    ix.deadline = None
    eng.journal(ix, "picked_up", agent=agent.id)
    _queue_front(eng, ix)
    eng.touch_agent(agent)
    if agent.routable:
        offers.offer(eng, ix, [agent])
    else:
        eng.want_route_call(ix)


def serves(eng, agent: Agent, tenant: str) -> bool:
    """The agent is a member (in this shift) of a queue of `tenant`."""
    queues = eng.deployment.queues
    return any(queues[qid].tenant == tenant for qid, _ in eng.index.members.get(agent.id, ()) if qid in queues)


def _movable(eng, aid: str) -> tuple[Agent, Interaction]:
    agent, ix = control.talking(eng, aid)
    if ix.consult_leg:
        from engine.errors import ConsultInProgress
        raise ConsultInProgress(agent.id, "cancel or complete the announced transfer first")
    if not ix.bridged or not ix.uuid or ix.callback_leg:
        raise WrongCallState(agent.id, f"interaction {ix.id} is not bridged to the caller yet")
    if ix.queue not in eng.deployment.queues or eng.tenant_of(ix) is None:
        raise WrongCallState(agent.id, f"interaction {ix.id}: its queue or tenant is gone from the configuration")
    return agent, ix


# -- the operator leaves, the caller stays -------------------------------------------------
def _talk_seconds(eng, ix: Interaction) -> float:
    return (eng.now - ix.answered_at).total_seconds() if ix.answered_at else 0.0


def _release_operator(eng, ix: Interaction, agent: Agent, talked: float) -> None:
    """Hang up the operator's leg (the caller parks: park_after_bridge) and send them to
    wrap-up; the leg stays known as `dropped_leg` until FreeSWITCH reports it gone."""
    leg = ix.agent_leg
    ix.recall_agent, ix.recall_reason = agent.id, ""
    if ix.dropped_leg:
        eng.by_leg.pop(ix.dropped_leg, None)
    ix.dropped_leg, ix.agent_leg = leg, ""
    ix.bridged, ix.bridge_at = False, None
    ix.playing, ix.playlist, ix.then = "", [], ()
    eng.emit(fx.CancelTimer(f"bridge:{ix.id}"))
    if ix.held:
        ix.held = False
        eng.emit(fx.Hold(ix.node, ix.uuid, on=False))
    eng.emit(fx.SetVariables(ix.node, ix.uuid, channel_tags(ix)))   # before the hang-up it must survive
    eng.hang_up_agent_leg(ix.node, leg, agent.id)
    talk.agent_call_end(eng, ix, talked)
    ix.agent = ""
    eng.touch_call(ix)


def operator_leg_gone(eng, ix: Interaction) -> None:
    """FreeSWITCH reports the operator's leg gone: the bridge is broken, music if not yet."""
    eng.by_leg.pop(ix.dropped_leg, None)
    ix.dropped_leg = ""
    eng.touch_call(ix)
    caller_music(eng, ix)


def caller_parked(eng, ix: Interaction) -> None:
    """The caller's channel parked again (park_after_bridge after the operator left)."""
    caller_music(eng, ix)


def caller_music(eng, ix: Interaction) -> None:
    """What a caller no one talks to hears, started once (`ix.playing` set = it plays):
    after a move to a queue or a recall the queue's prompts and music, else music."""
    if ix.playing or not ix.uuid or ix.node in eng.down_nodes or ix.queue not in eng.deployment.queues:
        return
    if ix.state in (CallState.QUEUED, CallState.OFFERING):
        callflow.play(eng, ix, list(ix.playlist), ix.then or ("moh",))
    elif ix.state in MOVED:
        ix.playing, ix.playlist, ix.then = eng.queue_of(ix).moh, [], ()
        eng.emit(fx.Play(ix.node, ix.uuid, ix.playing, loop=True))
    eng.touch_call(ix)


def channel_tags(ix: Interaction) -> dict[str, str]:
    """The caller channel's variables for a moved call (engine.recovery reads them back)."""
    tags = {"park_after_bridge": "true", "cc_agent": ix.agent, "cc_agent_uuid": ix.agent_leg,
            "cc_target_uuid": ix.target_leg, "cc_target": ix.target, "cc_target_kind": ix.target_kind,
            "cc_deadline": ix.deadline.isoformat() if ix.deadline else "",
            "cc_recall_agent": ix.recall_agent, "cc_recall_reason": ix.recall_reason,
            "cc_recalls": str(ix.recalls), "cc_front": "1" if ix.front else "", "cc_seq": str(ix.seq)}
    if ix.state in _CHANNEL_STATE:
        tags["cc_state"] = _CHANNEL_STATE[ix.state]
    return tags


# -- blind transfer -------------------------------------------------------------------------
def _blind(eng, ix: Interaction, agent: Agent, target: str, kind: str, name: str) -> None:
    tenant = eng.tenant_of(ix)
    talked = _talk_seconds(eng, ix)
    ix.apply(CallEvent.TRANSFER, eng.now)
    leg = eng.new_id("leg")
    wait = tenant.transfer_timeout + offers.RING_GRACE
    ix.target, ix.target_kind, ix.target_name, ix.target_leg = target, kind, name, leg
    ix.deadline = eng.now + timedelta(seconds=wait)
    eng.by_leg[leg] = ix.id
    eng.journal(ix, "transfer_started", agent=agent.id, target=target, target_kind=kind, name=name,
                talk=f"{talked:.3f}")
    _release_operator(eng, ix, agent, talked)
    variables = {"cc_caller_uuid": ix.uuid, "cc_interaction_id": ix.id, "cc_transfer": "1",
                 "cc_tenant": ix.tenant, "cc_queue": ix.queue}
    if kind == "user":
        eng.emit(fx.Originate(node=ix.node, leg_uuid=leg, sip_user=target, caller_id_number=ix.caller_number,
                              caller_id_name=ix.caller_name, timeout=tenant.transfer_timeout, variables=variables))
    else:
        eng.emit(fx.Originate(node=ix.node, leg_uuid=leg, sip_user="", destination=target,
                              context=eng.deployment.outbound_context, caller_id_number=ix.caller_number,
                              caller_id_name=ix.caller_name, timeout=tenant.transfer_timeout, variables=variables))
    eng.schedule(f"xfer:{ix.id}", wait)


def target_answered(eng, ix: Interaction) -> None:
    """The target answered: caller and target talk (bridged on the target leg's park)."""
    if ix.state is not CallState.TRANSFERRING:
        return
    leg, operator = ix.target_leg, ix.recall_agent
    eng.emit(fx.CancelTimer(f"xfer:{ix.id}"))
    ix.apply(CallEvent.TARGET_ANSWER, eng.now)
    ix.transferred, ix.agent, ix.agent_leg, ix.served_leg, ix.target_leg = True, "", leg, leg, ""
    ix.answered_at, ix.bridged, ix.bridge_at, ix.bridges = eng.now, False, None, 0
    ix.deadline, ix.recall_agent = None, ""
    ix.playing, ix.playlist, ix.then = "", [], ()
    eng.emit(fx.StopPlayback(ix.node, ix.uuid))
    eng.schedule(f"bridge:{ix.id}", offers.BRIDGE_SETTLE)   # bridged when the target leg parks
    eng.journal(ix, "transfer_answered", agent=operator, target=ix.target, target_kind=ix.target_kind,
                name=ix.target_name, leg=leg)
    eng.emit(fx.SetVariables(ix.node, ix.uuid, channel_tags(ix)))


def target_failed(eng, ix: Interaction, cause: str, reason: str = "", ringing: bool = False) -> None:
    """The target did not answer (busy, rejected, unregistered, failed; `ringing`: our
    timer, so the leg may still ring and is hung up)."""
    if ix.state is not CallState.TRANSFERRING:
        return
    leg = ix.target_leg
    eng.by_leg.pop(leg, None)
    ix.target_leg = ""
    if ringing and leg:
        eng.cancelled[leg] = ix.node
        eng.emit(fx.Hangup(ix.node, leg, "ORIGINATOR_CANCEL"))
    reason = reason or offers.failure_reason(cause)
    eng.emit(fx.CancelTimer(f"xfer:{ix.id}"))
    eng.journal(ix, "transfer_failed", agent=ix.recall_agent, target=ix.target, target_kind=ix.target_kind,
                reason=reason, cause=cause)
    recall(eng, ix, reason)


def transfer_timeout(eng, ix: Interaction) -> None:
    if ix.state is CallState.TRANSFERRING and ix.deadline is not None and ix.deadline <= eng.now:
        target_failed(eng, ix, "TIMEOUT", "no_answer", ringing=True)


def transfer_end(eng, ix: Interaction, by: str) -> None:
    """A transferred call ends: one side ("caller", "target"; "unseen") hung up."""
    for leg, gone in ((ix.uuid, by == "caller"), (ix.agent_leg, by == "target")):
        if leg:
            eng.by_leg.pop(leg, None)
            if not gone and by != "unseen":
                eng.cancelled[leg] = ix.node
                eng.emit(fx.Hangup(ix.node, leg))
    ix.uuid = ix.agent_leg = ""
    eng.emit(fx.CancelTimer(f"bridge:{ix.id}"))
    ix.apply(CallEvent.TRANSFER_END, eng.now)
    eng.journal(ix, "talk_ended", by=by, talk=f"{_talk_seconds(eng, ix):.3f}", target=ix.target)
    eng.end(ix, "transferred")
    eng.forget(ix)


# -- transfer to a queue ---------------------------------------------------------------------
def _to_queue(eng, ix: Interaction, agent: Agent, qid: str, name: str) -> None:
    talked = _talk_seconds(eng, ix)
    ix.apply(CallEvent.TRANSFER_QUEUE, eng.now)
    ix.front = True                               # out of the index since the answer: safe to change
    ix.target, ix.target_kind, ix.target_name = qid, "queue", name
    eng.journal(ix, "transferred", agent=agent.id, to_queue=qid, from_queue=ix.queue, name=name,
                talk=f"{talked:.3f}")
    _release_operator(eng, ix, agent, talked)
    ix.recall_agent, ix.last_agent = "", agent.id  # another agent of that queue first
    callflow.enqueue(eng, ix, qid, hear=False)   # heard once the caller is parked: caller_music


# -- park, recall ----------------------------------------------------------------------------
def park_timeout(eng, ix: Interaction) -> None:
    if ix.state is CallState.PARKED and ix.deadline is not None and ix.deadline <= eng.now:
        recall(eng, ix, "park_timeout")


def recall(eng, ix: Interaction, reason: str) -> None:
    """Back to the operator who moved the call, or to the front of its queue."""
    operator = ix.recall_agent
    eng.emit(fx.CancelTimer(f"park:{ix.id}"), fx.CancelTimer(f"xfer:{ix.id}"))
    ix.apply(CallEvent.RECALL, eng.now)
    ix.recall_reason, ix.recalls, ix.deadline = reason, ix.recalls + 1, None
    eng.journal(ix, "recalled", agent=operator, reason=reason)
    eng.emit(fx.Notify("recall", {"agent": operator, "interaction": ix.id, "tenant": ix.tenant,
                                  "reason": reason}))
    agent = eng.agents.get(operator)
    if agent is not None and agent.state is AgentState.WRAP_UP:
        talk.wrapup_end(eng, agent)
    _queue_front(eng, ix)
    q = eng.queue_of(ix)
    if agent is not None and agent.routable:
        offers.offer(eng, ix, [agent])
    elif not eng.index.queues[ix.queue].staffed:
        callflow.overflow(eng, ix, q.no_agents, "no_agents")
    else:
        eng.want_route_call(ix)


def _queue_front(eng, ix: Interaction) -> None:
    """A recalled or picked-up call waits first in its queue; max wait counts from now."""
    q = eng.queue_of(ix)
    eng.index.remove_call(ix)
    ix.front = True
    ix.queue_entered_at = eng.now
    eng.index.add_call(ix)
    eng.schedule(f"maxwait:{ix.id}", q.max_wait)
    if not ix.playing:
        ix.playlist, ix.then = [], ("moh",)
    eng.emit(fx.SetVariables(ix.node, ix.uuid, {**channel_tags(ix),
                                                "cc_queue_entered_at": eng.now.isoformat()}))
    if not ix.dropped_leg:                       # else the caller may still be in the old bridge:
        caller_music(eng, ix)                    # its park or the leg's end starts the music


def caller_left(eng, ix: Interaction, cause: str) -> None:
    """The caller hung up while the target rang or while parked."""
    state = ix.state
    leg = ix.target_leg
    if leg:
        eng.by_leg.pop(leg, None)
        eng.cancelled[leg] = ix.node
        eng.emit(fx.Hangup(ix.node, leg, "ORIGINATOR_CANCEL"))
        ix.target_leg = ""
    eng.emit(fx.CancelTimer(f"park:{ix.id}"), fx.CancelTimer(f"xfer:{ix.id}"))
    ix.uuid, ix.playing, ix.deadline = "", "", None
    ix.apply(CallEvent.CALLER_LEFT, eng.now)
    if state is CallState.TRANSFERRING:
        eng.journal(ix, "transfer_abandoned", agent=ix.recall_agent, target=ix.target, cause=cause)
    else:
        eng.journal(ix, "park_abandoned", agent=ix.recall_agent, cause=cause)
    eng.end(ix, "caller_left")
    eng.forget(ix)

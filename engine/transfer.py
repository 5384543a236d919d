"""The operator transfers a call: supervised blind transfer to a SIP user or a number, or
to a queue.

Rules (what all moves share, the recall included: engine.recall):
* a target is checked before anything reaches FreeSWITCH: a SIP user
  `[0-9A-Za-z_.-]{1,40}`, a number `+?[0-9]{2,20}` (dialled through the site's
  outbound context), or an existing queue id; anything else is refused (InvalidTarget);
* blind transfer: the target rings with the caller's number and name for the agency's
  `transfer_timeout`; our `xfer:<ix>` timer backs it (+ offers.RING_GRACE). Answered:
  the interaction goes on as a transferred call (no agent; its "agent leg" is the
  target's), bridged on the target leg's park exactly as an agent leg. It ends when
  either side hangs up: the other is hung up, `talk_ended` (by caller / target) and
  `ended` reason "transferred". A failed originate job after the answer changes nothing;
* no answer, busy, rejected, unregistered or any other failure (or our timer) is a
  recall: `transfer_failed` (reason, cause), then `recalled`. A target answering after
  the recall is hung up again (engine.cancelled) and changes nothing;
* a transfer asked with `camp_on` whose target is busy is not recalled: the caller
  camps on it (engine.campon: tried again every `campon_retry` s until `campon_timeout`);
* transfer to a queue: the caller joins that queue at its front (ahead of every caller),
  `transferred` then `entered_queue`; the operator is not preferred there (another agent
  is tried first); what the caller hears starts on its re-park.
"""
from __future__ import annotations

import re
from datetime import timedelta

from engine import callflow, campon, offers
from engine import effects as fx
from engine import events as ev
from engine.agents import Agent
from engine.errors import InvalidTarget
from engine.interactions import CallEvent, CallState, Interaction
from engine.recall import channel_tags, movable, recall, release_operator, talk_seconds

TARGETS = {"user": re.compile(r"[0-9A-Za-z_.-]{1,40}"), "number": re.compile(r"\+?[0-9]{2,20}")}


# -- the command ----------------------------------------------------------------------------
def transfer(eng, e: ev.CallTransfer) -> None:
    agent, ix = movable(eng, e.agent)
    if e.kind == "queue":
        if e.target not in eng.deployment.queues:
            raise InvalidTarget(agent.id, f"no queue {e.target!r}")
        _to_queue(eng, ix, agent, e.target, e.name)
        return
    pattern = TARGETS.get(e.kind)
    if pattern is None or not isinstance(e.target, str) or not pattern.fullmatch(e.target):
        raise InvalidTarget(agent.id, f"not a {e.kind} to transfer to: {e.target!r}")
    _blind(eng, ix, agent, e.target, e.kind, e.name, bool(e.camp_on))


# -- blind transfer -------------------------------------------------------------------------
def _blind(eng, ix: Interaction, agent: Agent, target: str, kind: str, name: str, camp_on: bool = False) -> None:
    talked = talk_seconds(eng, ix)
    ix.apply(CallEvent.TRANSFER, eng.now)
    ix.target, ix.target_kind, ix.target_name = target, kind, name
    ix.camp_on, ix.camp_until, ix.camp_tries = camp_on, None, 0
    leg = new_target_leg(eng, ix)
    extra = {"camp_on": "1"} if camp_on else {}
    eng.journal(ix, "transfer_started", agent=agent.id, target=target, target_kind=kind, name=name,
                talk=f"{talked:.3f}", **extra)
    release_operator(eng, ix, agent, talked)
    ring_target(eng, ix, leg)


def new_target_leg(eng, ix: Interaction) -> str:
    """A new leg for the target, known from now on; its ring time (`deadline`) starts."""
    leg = eng.new_id("leg")
    ix.target_leg = leg
    ix.deadline = eng.now + timedelta(seconds=eng.tenant_of(ix).transfer_timeout + offers.RING_GRACE)
    eng.by_leg[leg] = ix.id
    return leg


def ring_target(eng, ix: Interaction, leg: str) -> None:
    """Originate the target's leg (a SIP user, or a number through the outbound context)."""
    tenant, target, kind = eng.tenant_of(ix), ix.target, ix.target_kind
    wait = tenant.transfer_timeout + offers.RING_GRACE
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
    eng.emit(fx.CancelTimer(f"xfer:{ix.id}"), fx.CancelTimer(f"camponend:{ix.id}"))
    camped = {"camp_on_tries": str(ix.camp_tries)} if ix.camp_until is not None else {}
    ix.camp_until = None
    ix.apply(CallEvent.TARGET_ANSWER, eng.now)
    ix.transferred, ix.agent, ix.agent_leg, ix.served_leg, ix.target_leg = True, "", leg, leg, ""
    ix.answered_at, ix.bridged, ix.bridge_at, ix.bridges = eng.now, False, None, 0
    ix.deadline, ix.recall_agent = None, ""
    ix.playing, ix.playlist, ix.then = "", [], ()
    eng.emit(fx.StopPlayback(ix.node, ix.uuid))
    eng.schedule(f"bridge:{ix.id}", offers.BRIDGE_SETTLE)   # bridged when the target leg parks
    eng.journal(ix, "transfer_answered", agent=operator, target=ix.target, target_kind=ix.target_kind,
                name=ix.target_name, leg=leg, **camped)
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
    if campon.camps(eng, ix, cause):
        campon.wait(eng, ix, cause)
        return
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
    eng.journal(ix, "talk_ended", by=by, talk=f"{talk_seconds(eng, ix):.3f}", target=ix.target)
    eng.end(ix, "transferred")
    eng.forget(ix)


# -- transfer to a queue ---------------------------------------------------------------------
def _to_queue(eng, ix: Interaction, agent: Agent, qid: str, name: str) -> None:
    talked = talk_seconds(eng, ix)
    ix.apply(CallEvent.TRANSFER_QUEUE, eng.now)
    ix.front = True                               # out of the index since the answer: safe to change
    ix.target, ix.target_kind, ix.target_name = qid, "queue", name
    eng.journal(ix, "transferred", agent=agent.id, to_queue=qid, from_queue=ix.queue, name=name,
                talk=f"{talked:.3f}")
    release_operator(eng, ix, agent, talked)
    ix.recall_agent, ix.last_agent = "", agent.id  # another agent of that queue first
    callflow.enqueue(eng, ix, qid, hear=False)   # heard once the caller is parked: caller_music

"""Announced (consult) transfer: the agent calls a target while the caller waits, then
swaps, completes, cancels or holds a conference of the three.

Rules:
* a consult starts only on the agent's own connected, bridged call that is no transfer
  and has no consult yet; the target is a SIP user (`^[0-9A-Za-z_.-]{1,40}$`) or a number
  (`^\\+?[0-9]{2,20}$`), anything else is refused before it reaches FreeSWITCH;
* FreeSWITCH hangs up the other leg of a uuid_bridge when one leg is moved away, unless
  that leg has `park_after_bridge=true` (tests/data/esl-corpus/FACTS.md): caller, agent and
  target legs all get it, so a leg left by a new bridge parks instead of dying;
* while the target rings the caller is on hold and still bridged to the agent: the
  agent's leg is held, so its partner, the caller, hears the hold music (uuid_hold on a
  leg plays `hold_music` to the other side of its bridge: FACTS.md "13"); the consult rings for the agency's transfer timeout (+ offers.RING_GRACE for
  our own timer). Busy, rejected, unregistered, no answer or any other failure: the
  caller is taken off hold (the agent is still with them), `consult_failed` is journaled
  and the console told (Notify "consult_failed");
* the target answers and parks: the caller comes off hold, the agent is bridged to the
  target, and the caller, left by that bridge, parks and hears music (`caller_parked`);
  if the target's park is never reported the consult timer (BRIDGE_SETTLE after the
  answer) joins them anyway. A failed originate job after the answer changes nothing
  (its `-ERR ORIGINATOR_CANCEL` is not the leg's end); a target answering after the
  consult timed out is hung up again (engine.cancelled);
* swap bridges the agent to the party who waits; the one left parks with music;
  complete bridges caller and target, hangs up the agent's leg (the agent goes to
  wrap-up) and the interaction goes on as a transferred call (no agent on it; its
  end is the transfer's: engine.transfer); cancel hangs up the target and bridges the
  agent back to the caller if they were apart; conference moves the three legs into one
  room named after the interaction;
* two uuid_bridges of the same pair 10-40 ms apart hang up both legs: a command that
  would bridge (or move legs) within offers.BRIDGE_GAP of the call's last bridge is
  refused (TooSoon: a double click); the bridges made on events (a join, a hang-up)
  are always of a pair other than the last one bridged. Every bridge has its own
  idempotency key "<interaction>/consult/<journal seq>/<a>/<b>";
* hang-ups during a consult: the target hanging up after the join brings the agent back
  to the caller (`consult_ended`); the caller hanging up leaves the agent with the target
  (`consult_caller_left`) until either of them hangs up, and the interaction then ends as
  any talk does (`talk_ended`, wrap-up, one `ended`); the agent hanging up the phone
  after the join hands the caller over (as complete), before it ends the call as any
  agent hang-up does (the target's ringing leg is cancelled).
"""
from __future__ import annotations

import re
from datetime import timedelta

from engine import control, offers, talk
from engine import effects as fx
from engine import events as ev
from engine.errors import ConsultInProgress, InvalidTarget, NoConsult, TooSoon, WrongCallState
from engine.interactions import Interaction

TARGETS = {"user": re.compile(r"[0-9A-Za-z_.-]{1,40}"), "number": re.compile(r"\+?[0-9]{2,20}")}
PARK_AFTER_BRIDGE = {"park_after_bridge": "true"}


# -- where a consult stands --------------------------------------------------------------
def ringing(ix: Interaction) -> bool:
    return bool(ix.consult_leg) and ix.deadline is not None


def answered_apart(ix: Interaction) -> bool:
    """The target answered; the agent is not bridged to them yet (the caller is on hold)."""
    return bool(ix.consult_leg) and ix.deadline is None and ix.held


def joined(ix: Interaction) -> bool:
    return bool(ix.consult_leg) and ix.deadline is None and not ix.held


def stage(ix: Interaction) -> str:
    """For the console: "" (none), ringing, answered, caller, target, both (who the agent talks to)."""
    if not ix.consult_leg:
        return ""
    if ringing(ix):
        return "ringing"
    if answered_apart(ix):
        return "answered"
    return ix.talking_to


# -- commands ------------------------------------------------------------------------------
def start(eng, e: ev.ConsultStart) -> None:
    agent, ix = control.talking(eng, e.agent)
    if ix.consult_leg:
        raise ConsultInProgress(agent.id, f"interaction {ix.id} already has a consult")
    if not ix.bridged or not ix.uuid or not ix.agent_leg:
        raise WrongCallState(agent.id, f"interaction {ix.id} is not bridged")
    pattern = TARGETS.get(e.kind)
    if pattern is None or not pattern.fullmatch(e.target or ""):
        raise InvalidTarget(agent.id, f"not a {e.kind!r} target")
    tenant = eng.tenant_of(ix)
    timeout = tenant.transfer_timeout if tenant is not None else 20.0
    leg = eng.new_id("leg")
    eng.emit(fx.SetVariables(ix.node, ix.uuid, PARK_AFTER_BRIDGE),
             fx.SetVariables(ix.node, ix.agent_leg, PARK_AFTER_BRIDGE))
    if not ix.held:
        eng.emit(fx.Hold(ix.node, ix.agent_leg, True))
    user = e.kind == "user"
    eng.emit(fx.Originate(
        node=ix.node, leg_uuid=leg, sip_user=e.target if user else "",
        destination="" if user else e.target, context="" if user else eng.deployment.outbound_context,
        caller_id_number=ix.caller_number, caller_id_name=ix.caller_name or (tenant.name if tenant else ""),
        timeout=timeout,
        variables={"cc_caller_uuid": ix.uuid, "cc_interaction_id": ix.id, "cc_consult": "1",
                   "cc_tenant": ix.tenant, "cc_queue": ix.queue, **PARK_AFTER_BRIDGE}))
    ix.consult_leg, ix.target, ix.target_kind, ix.target_name = leg, e.target, e.kind, e.name
    ix.talking_to, ix.held = "caller", True
    ix.deadline = eng.now + timedelta(seconds=timeout)
    eng.by_leg[leg] = ix.id
    eng.schedule(_timer(ix), timeout + offers.RING_GRACE)
    eng.journal(ix, "consult_started", agent=agent.id, target=e.target, target_kind=e.kind, name=e.name, leg=leg)


def swap(eng, e: ev.ConsultSwap) -> None:
    agent, ix = _joined(eng, e.agent)
    if ix.talking_to == "target":
        eng.journal(ix, "consult_swapped", agent=agent.id, to="caller")
        _to_caller(eng, ix)
    elif ix.talking_to == "caller":
        eng.journal(ix, "consult_swapped", agent=agent.id, to="target")
        _to_target(eng, ix)
    else:
        raise WrongCallState(agent.id, "in a conference: complete or cancel")


def complete(eng, e: ev.ConsultComplete) -> None:
    agent, ix = _joined(eng, e.agent)
    _hand_over(eng, ix, agent_leg_up=True)


def cancel(eng, e: ev.ConsultCancel) -> None:
    agent, ix = control.talking(eng, e.agent)
    if not ix.consult_leg:
        raise NoConsult(agent.id, f"interaction {ix.id} has no consult")
    if joined(ix) and ix.talking_to == "target":
        _not_too_soon(eng, ix, agent.id)
    eng.journal(ix, "consult_cancelled", agent=agent.id, stage=stage(ix))
    _drop_target(eng, ix)


def conference(eng, e: ev.ConsultConference) -> None:
    agent, ix = _joined(eng, e.agent)
    if ix.talking_to == "both":
        return
    if ix.talking_to == "caller":
        eng.emit(fx.StopPlayback(ix.node, ix.consult_leg))
    _stop_caller_music(eng, ix)
    ix.bridge_at = eng.now
    eng.emit(fx.Conference(ix.node, (ix.uuid, ix.agent_leg, ix.consult_leg), room=ix.id))
    ix.talking_to = "both"
    eng.journal(ix, "conference", agent=agent.id)


# -- the target's leg (routed here by engine.handlers) ---------------------------------------
def leg_answered(eng, ix: Interaction) -> None:
    if not ringing(ix):
        return
    ix.deadline = None
    eng.emit(fx.CancelTimer(_timer(ix)))
    eng.schedule(_timer(ix), offers.BRIDGE_SETTLE)     # joined on its park, or then
    eng.touch_call(ix)


def leg_parked(eng, ix: Interaction) -> None:
    if ringing(ix):
        leg_answered(eng, ix)
    if answered_apart(ix):
        _join(eng, ix)
    elif joined(ix) and ix.talking_to == "caller":         # left by a swap: it waits
        eng.emit(fx.Play(ix.node, ix.consult_leg, _moh(eng, ix), loop=True))


def leg_failed(eng, ix: Interaction, cause: str) -> None:
    """The target's originate failed (job -ERR) or it hung up before answering. After its
    answer a job's -ERR is not the leg's end: nothing changes."""
    if ringing(ix):
        _failed(eng, ix, offers.failure_reason(cause), cause)


def leg_gone(eng, ix: Interaction, cause: str) -> None:
    if not ix.consult_leg:
        return
    if not joined(ix):
        _failed(eng, ix, offers.failure_reason(cause), cause)
        return
    eng.by_leg.pop(ix.consult_leg, None)
    eng.journal(ix, "consult_ended", agent=ix.agent, by="target", cause=cause)
    was = ix.talking_to
    _clear(eng, ix)
    if not ix.uuid:                                          # the caller left before: all over
        eng.hang_up_agent_leg(ix.node, ix.agent_leg, ix.agent)
        talk.talk_end(eng, ix, "target")
    elif was == "target":                                    # the agent's leg parked: back to the caller
        _to_caller(eng, ix)
        ix.talking_to = ""


def caller_parked(eng, ix: Interaction) -> None:
    """The caller was left by a bridge (the agent went to the target): music while they wait."""
    if joined(ix) and ix.talking_to == "target" and ix.uuid:
        moh = _moh(eng, ix)
        if ix.playing != moh:
            ix.playing = moh
            eng.emit(fx.Play(ix.node, ix.uuid, moh, loop=True))
            eng.touch_call(ix)


def timeout(eng, ix: Interaction) -> None:
    if ringing(ix) and ix.deadline <= eng.now + timedelta(seconds=offers.RING_GRACE):
        leg = ix.consult_leg
        eng.cancelled[leg] = ix.node
        eng.emit(fx.Hangup(ix.node, leg, "ORIGINATOR_CANCEL"))
        _failed(eng, ix, "no_answer", "NO_ANSWER")
    elif answered_apart(ix):
        _join(eng, ix)


def party_gone(eng, ix: Interaction, uuid: str, cause: str) -> None:
    """The caller or the agent hung up while a consult is on (see the Rules)."""
    if uuid == ix.uuid:
        eng.by_leg.pop(ix.uuid, None)
        ix.uuid, ix.playing = "", ""
        if not joined(ix):
            eng.journal(ix, "consult_cancelled", agent=ix.agent, stage=stage(ix), reason="caller_left")
            _drop_target(eng, ix)
            talk.talk_end(eng, ix, "caller")
            return
        eng.journal(ix, "consult_caller_left", agent=ix.agent, cause=cause)
        if ix.talking_to == "caller":
            _to_target(eng, ix)
        ix.talking_to = "target"
        eng.touch_call(ix)
        return
    eng.by_leg.pop(uuid, None)                               # the agent's leg
    if joined(ix) and ix.uuid:
        _hand_over(eng, ix, agent_leg_up=False)
        return
    eng.journal(ix, "consult_cancelled", agent=ix.agent, stage=stage(ix), reason="agent_left")
    _drop_target(eng, ix)
    talk.talk_end(eng, ix, "agent")


def route(handlers: dict) -> None:
    """Put the consult's own routing in front of engine.handlers' leg, park and timer
    handlers: events of the target's leg, the caller's re-park, and the hang-ups of the
    caller and the agent while a consult is on come here; everything else goes on to
    the handler that was there (legs we hung up ourselves too: engine.closing/cancelled)."""
    def ours(eng, uuid: str) -> Interaction | None:
        ix = eng.calls.get(eng.by_leg.get(uuid, ""))
        if ix is None or not ix.consult_leg or uuid in eng.closing or uuid in eng.cancelled:
            return None
        return ix

    def wrap(event_type, take):
        base = handlers[event_type]

        def handle(eng, e) -> None:
            if not take(eng, e):
                base(eng, e)
        handlers[event_type] = handle

    def answered(eng, e: ev.LegAnswered) -> bool:
        ix = ours(eng, e.uuid)
        if ix is None or e.uuid != ix.consult_leg:
            return False
        leg_answered(eng, ix)
        return True

    def parked(eng, e) -> bool:
        ix = ours(eng, e.uuid)
        if ix is not None and e.uuid == ix.consult_leg:
            leg_parked(eng, ix)
            return True
        if ix is not None and e.uuid == ix.uuid:
            caller_parked(eng, ix)
            return True
        return False

    def failed(eng, e: ev.LegFailed) -> bool:
        ix = ours(eng, e.uuid)
        if ix is None or e.uuid != ix.consult_leg:
            return False
        leg_failed(eng, ix, e.cause)
        return True

    def hung_up(eng, e: ev.LegHungUp) -> bool:
        ix = ours(eng, e.uuid)
        if ix is None:
            return False
        if e.uuid == ix.consult_leg:
            leg_gone(eng, ix, e.cause)
        elif e.uuid in (ix.uuid, ix.agent_leg):
            party_gone(eng, ix, e.uuid, e.cause)
        else:
            return False
        return True

    def fired(eng, e: ev.TimerFired) -> bool:
        kind, _, key = e.key.partition(":")
        if kind != "consult":
            return False
        ix = eng.calls.get(key)
        if ix is not None:
            timeout(eng, ix)
        return True

    wrap(ev.LegAnswered, answered)
    wrap(ev.LegParked, parked)
    wrap(ev.CallParked, parked)
    wrap(ev.LegFailed, failed)
    wrap(ev.LegHungUp, hung_up)
    wrap(ev.TimerFired, fired)


# -- steps ------------------------------------------------------------------------------------
def _joined(eng, aid: str):
    agent, ix = control.talking(eng, aid)
    if not ix.consult_leg:
        raise NoConsult(agent.id, f"interaction {ix.id} has no consult")
    if not joined(ix):
        raise WrongCallState(agent.id, "the target has not answered yet")
    _not_too_soon(eng, ix, agent.id)
    return agent, ix


def _not_too_soon(eng, ix: Interaction, aid: str) -> None:
    if ix.bridge_at is not None and (eng.now - ix.bridge_at).total_seconds() < offers.BRIDGE_GAP:
        raise TooSoon(aid, "the last bridge of this call was asked a moment ago")


def _join(eng, ix: Interaction) -> None:
    eng.emit(fx.CancelTimer(_timer(ix)), fx.Hold(ix.node, ix.agent_leg, False))
    ix.held = False
    eng.journal(ix, "consult_answered", agent=ix.agent, target=ix.target)
    _to_target(eng, ix)


def _to_target(eng, ix: Interaction) -> None:
    if ix.talking_to == "caller" and joined(ix):             # the target waited with music
        eng.emit(fx.StopPlayback(ix.node, ix.consult_leg))
    _bridge(eng, ix, ix.agent_leg, ix.consult_leg)
    ix.talking_to = "target"                                 # the caller parks: caller_parked


def _to_caller(eng, ix: Interaction) -> None:
    _stop_caller_music(eng, ix)
    _bridge(eng, ix, ix.uuid, ix.agent_leg)
    ix.talking_to = "caller"                                 # the target parks: leg_parked


def _hand_over(eng, ix: Interaction, agent_leg_up: bool) -> None:
    """Caller and target together, the agent out (to wrap-up), the call goes on transferred."""
    _stop_caller_music(eng, ix)
    if ix.talking_to == "caller":
        eng.emit(fx.StopPlayback(ix.node, ix.consult_leg))
    target_leg, agent_id = ix.consult_leg, ix.agent
    _bridge(eng, ix, ix.uuid, target_leg)
    eng.by_leg.pop(ix.agent_leg, None)
    if agent_leg_up:
        eng.hang_up_agent_leg(ix.node, ix.agent_leg, agent_id)
    spoke = (eng.now - ix.answered_at).total_seconds() if ix.answered_at else 0.0
    eng.journal(ix, "consult_completed", agent=agent_id, target=ix.target, target_kind=ix.target_kind,
                name=ix.target_name, talk=f"{spoke:.3f}")
    talk.agent_call_end(eng, ix, spoke)
    ix.transferred, ix.agent, ix.agent_leg = True, "", target_leg
    ix.consult_leg, ix.talking_to, ix.held = "", "", False
    ix.bridged = False                                       # confirmed by its CHANNEL_BRIDGE
    eng.schedule(f"bridge:{ix.id}", offers.BRIDGE_SETTLE)    # asked again if it never is
    eng.touch_call(ix)


def _drop_target(eng, ix: Interaction) -> None:
    """Hang up the target; the agent talks to the caller again."""
    leg, was_ringing, apart = ix.consult_leg, not joined(ix), joined(ix) and ix.talking_to == "target"
    if apart and ix.uuid:
        _to_caller(eng, ix)
    eng.by_leg.pop(leg, None)
    eng.cancelled[leg] = ix.node
    eng.emit(fx.Hangup(ix.node, leg, "ORIGINATOR_CANCEL" if was_ringing else "NORMAL_CLEARING"))
    if ix.held and ix.agent_leg:
        eng.emit(fx.Hold(ix.node, ix.agent_leg, False))
    _clear(eng, ix)


def _failed(eng, ix: Interaction, reason: str, cause: str) -> None:
    eng.by_leg.pop(ix.consult_leg, None)
    eng.emit(fx.CancelTimer(_timer(ix)))
    if ix.held and ix.agent_leg:
        eng.emit(fx.Hold(ix.node, ix.agent_leg, False))
    eng.journal(ix, "consult_failed", agent=ix.agent, target=ix.target, reason=reason, cause=cause)
    eng.emit(fx.Notify("consult_failed", {"agent": ix.agent, "interaction": ix.id, "reason": reason,
                                           "tenant": ix.tenant}))
    _clear(eng, ix)


def _clear(eng, ix: Interaction) -> None:
    eng.emit(fx.CancelTimer(_timer(ix)))
    ix.consult_leg = ix.target = ix.target_kind = ix.target_name = ""
    ix.talking_to = ""
    ix.deadline, ix.held = None, False
    eng.touch_call(ix)


def _bridge(eng, ix: Interaction, a: str, b: str) -> None:
    ix.bridge_at = eng.now
    # the pair is part of the key: a complete right after the join comes at the same seq,
    # and the executor performs a key once (the caller would never reach the target)
    eng.emit(fx.Bridge(ix.node, a, b, key=f"{ix.id}/consult/{ix.seq}/{a}/{b}"))


def _stop_caller_music(eng, ix: Interaction) -> None:
    if ix.playing and ix.uuid:
        eng.emit(fx.StopPlayback(ix.node, ix.uuid))
        ix.playing = ""


def _moh(eng, ix: Interaction) -> str:
    return eng.queue_of(ix).moh if ix.queue in eng.deployment.queues else "local_stream://moh"


def _timer(ix: Interaction) -> str:
    return f"consult:{ix.id}"


HANDLERS = {
    ev.ConsultStart: start,
    ev.ConsultSwap: swap,
    ev.ConsultComplete: complete,
    ev.ConsultCancel: cancel,
    ev.ConsultConference: conference,
}

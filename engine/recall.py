"""What the operator's call moves share (engine.transfer, engine.park): the operator
leaves the call, the caller waits with music, and the call comes back (a recall).

Rules:
* a move acts only on the asking agent's own connected, bridged call (no consult on it,
  not already moved on: engine.control.talking), else a typed refusal;
* the operator's part ends at once: their leg is hung up (no new call until FreeSWITCH
  reports it gone) and they go to wrap-up; the move's journal row names them with
  their talk seconds. The caller stays: `park_after_bridge=true` on the caller leg
  (set when it was connected, and again before the hang-up) makes FreeSWITCH park it
  when the operator's leg leaves the bridge (tests/data/esl-corpus/FACTS.md);
* the caller hears music from the moment it is parked again (its CHANNEL_PARK) or the
  operator's leg is reported gone, whichever comes first, and once: `ix.playing` says
  music is on;
* a recall (`recalled`, Notify("recall")) goes back to the operator who moved the call:
  in wrap-up, the wrap-up is ended for it (a pause or logout they asked for then
  applies); if they can take it now it rings on their phone alone (`cc_recall=<reason>`),
  otherwise it waits at the front of its queue (`Interaction.front`) for anyone, and
  goes to them first if they are freed first (engine.offers). A recall the operator does
  not answer is routed like any call, still first in line; its max-wait clock starts
  again; with nobody logged in to the queue it takes the queue's no-agents overflow;
* the caller hanging up while the target rings, while parked or camped on a busy target:
  the target leg is cancelled, `transfer_abandoned` / `park_abandoned` /
  `camp_on_abandoned` and `ended` reason "caller_left";
* the operator takes the call back (`CallRecall`, "hent tilbake": the caller changed
  their mind, the wrong person was chosen) while the target rings (its leg is cancelled:
  a late answer is hung up again and bridges nothing, engine.cancelled), while camped
  (no more tries) or parked (a pick-up by them): `taken_back`, then the recall path with
  reason "taken_back". Only the operator who moved it (`recall_agent`,
  `recall.not_yours`), only a moved call (`recall.not_moved`; a target that answered
  first keeps it: `recall.answered`), only when they can take a call now: available or
  in wrap-up (ended for it), phone registered, no pause or logout pending, not
  monitoring, their moved leg reported gone (a moment after the move); otherwise
  `recall.busy` and the move goes on untouched (a take-back that would hand the caller
  to a colleague is not what the operator asked for). A reject or busy delay is waived,
  as for a pick-up;
* everything needed after an engine restart is in the interaction's snapshot and on
  the caller's channel (`channel_tags`); engine.recovery rebuilds from them.
"""
from __future__ import annotations

from engine import callflow, control, offers, talk
from engine import effects as fx
from engine import events as ev
from engine.agents import Agent, AgentState
from engine.errors import (ConsultInProgress, NoCall, RecallAnswered, RecallBusy, RecallNotMoved,
                           RecallNotYours, WrongCallState)
from engine.interactions import CallEvent, CallState, Interaction

MOVED = frozenset({CallState.TRANSFERRING, CallState.PARKED, CallState.CAMPED})   # no agent, the caller waits with music
_CAMP_TIMERS = ("campon", "camponend")
_CHANNEL_STATE = {CallState.TRANSFERRING: "transferring", CallState.PARKED: "parked", CallState.QUEUED: "queued",
                  CallState.CAMPED: "camped",
                  CallState.OFFERING: "queued", CallState.CONNECTED: "transferred"}


def movable(eng, aid: str) -> tuple[Agent, Interaction]:
    """The asking agent and their own connected, bridged call that may be moved."""
    agent, ix = control.talking(eng, aid)
    if ix.consult_leg:
        raise ConsultInProgress(agent.id, "cancel or complete the announced transfer first")
    if not ix.bridged or not ix.uuid or ix.callback_leg:
        raise WrongCallState(agent.id, f"interaction {ix.id} is not bridged to the caller yet")
    if ix.queue not in eng.deployment.queues or eng.tenant_of(ix) is None:
        raise WrongCallState(agent.id, f"interaction {ix.id}: its queue or tenant is gone from the configuration")
    return agent, ix


# -- the operator leaves, the caller stays -------------------------------------------------
def talk_seconds(eng, ix: Interaction) -> float:
    return (eng.now - ix.answered_at).total_seconds() if ix.answered_at else 0.0


def release_operator(eng, ix: Interaction, agent: Agent, talked: float) -> None:
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
    elif ix.state in MOVED and ix.playlist:      # a camp-on prompt first (engine.campon), then music
        callflow.play(eng, ix, list(ix.playlist), ("moh",))
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
            "cc_recalls": str(ix.recalls), "cc_front": "1" if ix.front else "", "cc_seq": str(ix.seq),
            "cc_camp_on": "1" if ix.camp_on else "", "cc_camp_until": ix.camp_until.isoformat() if ix.camp_until else "",
            "cc_camp_tries": str(ix.camp_tries)}
    if ix.state in _CHANNEL_STATE:
        tags["cc_state"] = _CHANNEL_STATE[ix.state]
    return tags


# -- the call comes back -------------------------------------------------------------------
def recall(eng, ix: Interaction, reason: str) -> None:
    """Back to the operator who moved the call, or to the front of its queue."""
    operator = ix.recall_agent
    eng.emit(fx.CancelTimer(f"park:{ix.id}"), fx.CancelTimer(f"xfer:{ix.id}"),
             *(fx.CancelTimer(f"{kind}:{ix.id}") for kind in _CAMP_TIMERS))
    ix.camp_on, ix.camp_until = False, None
    ix.apply(CallEvent.RECALL, eng.now)
    ix.recall_reason, ix.recalls, ix.deadline, ix.last_agent = reason, ix.recalls + 1, None, ""
    eng.journal(ix, "recalled", agent=operator, reason=reason)
    eng.emit(fx.Notify("recall", {"agent": operator, "interaction": ix.id, "tenant": ix.tenant,
                                  "reason": reason}))
    agent = eng.agents.get(operator)
    if agent is not None and agent.state is AgentState.WRAP_UP:
        talk.wrapup_end(eng, agent)
    queue_front(eng, ix)
    q = eng.queue_of(ix)
    if agent is not None and agent.routable:
        offers.offer(eng, ix, [agent])
    elif not eng.index.queues[ix.queue].staffed:
        callflow.overflow(eng, ix, q.no_agents, "no_agents")
    else:
        eng.want_route_call(ix)


def queue_front(eng, ix: Interaction) -> None:
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
    eng.emit(fx.CancelTimer(f"park:{ix.id}"), fx.CancelTimer(f"xfer:{ix.id}"),
             *(fx.CancelTimer(f"{kind}:{ix.id}") for kind in _CAMP_TIMERS))
    ix.uuid, ix.playing, ix.deadline = "", "", None
    ix.apply(CallEvent.CALLER_LEFT, eng.now)
    if ix.camp_until is not None:
        eng.journal(ix, "camp_on_abandoned", agent=ix.recall_agent, target=ix.target, tries=ix.camp_tries,
                    cause=cause)
    elif state is CallState.TRANSFERRING:
        eng.journal(ix, "transfer_abandoned", agent=ix.recall_agent, target=ix.target, cause=cause)
    else:
        eng.journal(ix, "park_abandoned", agent=ix.recall_agent, cause=cause)
    eng.end(ix, "caller_left")
    eng.forget(ix)


# -- the operator takes it back --------------------------------------------------------------
def take_back(eng, e: ev.CallRecall) -> None:
    """`CallRecall`: the operator who moved the call takes it back now."""
    agent = control.agent_of(eng, e.agent)
    ix = eng.calls.get(e.interaction)
    if ix is None:
        raise NoCall(agent.id, f"no interaction {e.interaction!r}")
    if ix.state is CallState.CONNECTED and ix.transferred:
        from engine.park import serves          # engine.park imports this module
        if serves(eng, agent, ix.tenant):
            raise RecallAnswered(agent.id, f"interaction {ix.id}: the transfer target answered first")
        raise RecallNotYours(agent.id, f"interaction {ix.id} is not a call the agent moved")
    if ix.state not in MOVED:
        raise RecallNotMoved(agent.id, f"interaction {ix.id} is {ix.state.value}: not transferring, parked "
                                       "or camped")
    if ix.recall_agent != agent.id:
        raise RecallNotYours(agent.id, f"interaction {ix.id} was moved by another operator")
    if agent.state not in (AgentState.AVAILABLE, AgentState.WRAP_UP) or agent.pending \
            or not agent.registered or agent.monitoring or agent.leg_up:
        raise RecallBusy(agent.id, f"agent is {agent.state.value}: cannot take the call back now")
    state, leg = ix.state, ix.target_leg
    if leg:                                      # the target still rings: cancelled; its late answer
        eng.by_leg.pop(leg, None)                # finds no call and is hung up again (handlers.leg_answered)
        eng.cancelled[leg] = ix.node
        eng.emit(fx.Hangup(ix.node, leg, "ORIGINATOR_CANCEL"))
        ix.target_leg = ""
    agent.ready_at = None                        # a deliberate take-back overrides a reject/busy delay
    eng.emit(fx.CancelTimer(f"ready:{agent.id}"))
    eng.journal(ix, "taken_back", agent=agent.id, moved=state.value, target=ix.target,
                target_kind=ix.target_kind, **({"leg": leg} if leg else {}))
    eng.touch_agent(agent)
    recall(eng, ix, "taken_back")

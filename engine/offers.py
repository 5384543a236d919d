"""Offering calls to agents and everything that happens to agent legs.

Rules:
* an agent leg is originated with our own uuid to user/<sip_user>, showing the caller's
  number and "agency - queue" (never a "/": FreeSWITCH shows only what follows it), carrying cc_caller_uuid (the caller leg) and the
  interaction id; a ring timer backs FreeSWITCH's own originate timeout;
* an agent is offered one call at a time: offering takes it out of every queue index
  in the same step, so another queue cannot offer it at the same instant;
* the first agent leg to answer wins: playback stops, other ringing legs (ring-all) are
  hung up and journaled `offer_cancelled`; the legs are bridged when the agent leg parks
  (right after FreeSWITCH reports the originate), or by the bridge timer if that is lost;
* a leg we hung up is remembered until FreeSWITCH confirms its end: if it answers
  anyway (the caller left meanwhile) it is hung up again and changes nothing else;
* after a failed offer the call is routed before the failed agent gets a new call, so
  another available agent is preferred;
* a callback's offer reserves the leg that will call the caller back (the agent's leg
  names it as `cc_caller_uuid`); it is dialled only when the agent answers (state
  `calling_back`). Until then it is no channel: an offer that fails releases it and the
  callback waits again in state `callback` at its place;
* a recalled call (engine.recall) goes to its `recall_agent` alone when that agent is
  routable; once their offer failed (`last_agent`) it is routed like any call (from the
  front of its queue). An agent freed up takes a call recalled to them before any other
  waiting call of their queues. Recall offers carry `cc_recall=<reason>`; `recall_agent`
  stays on the call (the console marks it a recall) until the call is moved again;
* the caller leg gets `park_after_bridge=true` when connected: when the agent's leg
  leaves the bridge (transfer, park, consult) FreeSWITCH parks the caller instead of
  hanging it up (tests/data/esl-corpus/FACTS.md, "ACD-relevant call behaviour").
"""
from __future__ import annotations

import logging
from datetime import timedelta

from engine import callflow
from engine.talk import callback_failed
from engine import effects as fx
from engine.agents import NO_ANSWER_REASON, Agent, AgentEvent, AgentState
from engine.config import Strategy
from engine.interactions import ROUTABLE, CallEvent, CallState, Interaction
from engine.routing import eligible, max_level

log = logging.getLogger(__name__)
RING_GRACE = 2.0          # seconds after the originate timeout before our own ring timer acts
BRIDGE_SETTLE = 1.0       # seconds after which an asked bridge is made or failed (made in ~60 ms: tests/data/esl-corpus/FACTS.md 09)
BRIDGE_GAP = 0.1          # two uuid_bridges of a pair this far apart do no harm (80 ms and more: tests/data/esl-corpus/FACTS.md 10)
MAX_BRIDGES = 4           # uuid_bridges asked for one pair before giving up (each BRIDGE_SETTLE apart)
SCAN_LIMIT = 200          # waiting calls looked at per queue when an agent frees up

NO_ANSWER_CAUSES = frozenset({"NO_ANSWER", "NO_USER_RESPONSE", "ALLOTTED_TIMEOUT", "PROGRESS_TIMEOUT",
                              "RECOVERY_ON_TIMER_EXPIRE", "ORIGINATOR_CANCEL"})
UNREGISTERED_CAUSES = frozenset({"USER_NOT_REGISTERED", "SUBSCRIBER_ABSENT"})
NOT_SENT = "ESL_NOT_CONNECTED"    # esl.executor: the originate never reached the switch


def failure_reason(cause: str) -> str:
    """A target's hang-up cause as the console shows it (a recall's or a consult's reason)."""
    if cause == "USER_BUSY":
        return "busy"
    if cause == "CALL_REJECTED":
        return "rejected"
    if cause in NO_ANSWER_CAUSES:
        return "no_answer"
    if cause in UNREGISTERED_CAUSES:
        return "unregistered"
    return "failed"


def route_call(eng, ix: Interaction) -> None:
    if ix.state not in ROUTABLE or ix.node in eng.down_nodes:
        return
    if ix.state is CallState.CALLBACK and ix.uuid:
        return                                  # the caller is still hearing the confirmation
    if ix.recall_agent and ix.recall_agent != ix.last_agent and ix.state is CallState.QUEUED:
        agent = eng.agents.get(ix.recall_agent)
        if agent is not None and agent.routable:
            offer(eng, ix, [agent])
            return
    q = eng.queue_of(ix)
    top = max_level(q, ix.waited(eng.now))
    every = q.strategy is Strategy.RING_ALL and ix.state is CallState.QUEUED

    def accept(aid: str) -> bool:
        return aid != ix.last_agent and ix.skills <= eng.agents[aid].config.skills

    chosen = eng.index.pick(ix.queue, top, accept, every)
    if not chosen and ix.last_agent:
        chosen = eng.index.pick(ix.queue, top, lambda aid: ix.skills <= eng.agents[aid].config.skills, every)
    if chosen:
        offer(eng, ix, [eng.agents[aid] for aid in chosen])


def next_call(eng, agent: Agent) -> Interaction | None:
    """Across the agent's queues: highest queue priority, then caller priority, then place."""
    best, best_rank = None, None
    for qid, level in eng.index.members.get(agent.id, ()):
        q = eng.index.queues[qid]
        for n, key in enumerate(q.waiting):
            if n >= SCAN_LIMIT:
                break
            ix = q.calls[key[-1]]
            if (ix.state not in ROUTABLE or ix.node in eng.down_nodes
                    or (ix.state is CallState.CALLBACK and ix.uuid)
                    or not eligible(q.config, level, ix.waited(eng.now))
                    or not ix.skills <= agent.config.skills):
                continue
            mine = ix.recall_agent == agent.id and ix.last_agent != agent.id     # a recall back to them
            rank = (not mine, -q.config.priority) + key
            if best_rank is None or rank < best_rank:
                best, best_rank = ix, rank
            break
    return best


def route_agent(eng, agent: Agent) -> None:
    while agent.routable:
        ix = next_call(eng, agent)
        if ix is None:
            return
        if eng.queue_of(ix).strategy is Strategy.RING_ALL and ix.state is CallState.QUEUED:
            route_call(eng, ix)
        else:
            offer(eng, ix, [agent])
        if ix.state in ROUTABLE:
            return                              # no progress: do not spin


def offer(eng, ix: Interaction, agents: list[Agent]) -> None:
    q = eng.queue_of(ix)
    tenant = eng.tenant_of(ix)
    ix.apply(CallEvent.OFFER, eng.now)
    runtime = eng.index.queues[ix.queue]
    callback = ix.state is CallState.CALLBACK_OFFERING
    if callback:
        ix.callback_leg = eng.new_id("leg")
    recall = {"cc_recall": ix.recall_reason} if ix.recalls and ix.recall_reason else {}
    for agent in agents:
        leg = eng.new_id("leg")
        agent.apply(AgentEvent.OFFER, eng.now)
        agent.interaction, agent.leg = ix.id, leg
        runtime.turn += 1
        agent.turns[ix.queue] = runtime.turn
        eng.touch_agent(agent)
        ix.legs[leg] = agent.id
        eng.by_leg[leg] = ix.id
        eng.emit(fx.Originate(
            node=ix.node, leg_uuid=leg, sip_user=agent.config.sip_user,
            caller_id_number=ix.caller_number,
            caller_id_name=display_name(tenant.caller_id_name or tenant.name, q.name),
            timeout=q.ring_timeout,
            variables={"cc_caller_uuid": ix.callback_leg if callback else ix.uuid,
                       "cc_interaction_id": ix.id, "cc_agent": agent.id, "cc_queue": ix.queue,
                       "cc_tenant": ix.tenant, "cc_offered_at": eng.now.isoformat(),
                       **({"cc_callback": "1"} if callback else {}), **recall}))
        eng.schedule(f"ring:{leg}", q.ring_timeout + RING_GRACE)
        eng.journal(ix, "offered", agent=agent.id, leg=leg)


def display_name(agency: str, queue: str) -> str:
    """What the agent's phone shows: agency first (the operator greets in its name), then
    the queue. FreeSWITCH cuts an origination_caller_id_name at "/" ("LoadCo/Load" shows
    "Load"), so neither part may carry one."""
    agency, queue = agency.replace("/", "-").strip(), queue.replace("/", "-").strip()
    return f"{agency} - {queue}" if queue and queue != agency else agency


def leg_answered(eng, uuid: str) -> None:
    if uuid in eng.cancelled:                   # answered after we hung it up: again, nothing else
        eng.emit(fx.Hangup(eng.cancelled[uuid], uuid, "ORIGINATOR_CANCEL"))
        return
    ix = eng.calls.get(eng.by_leg.get(uuid, ""))
    if ix is None:
        return
    if uuid in ix.legs and ix.state is CallState.OFFERING:
        _connect(eng, ix, uuid)
    elif uuid in ix.legs and ix.state is CallState.CALLBACK_OFFERING:
        _call_back(eng, ix, uuid)
    elif uuid == ix.callback_leg and ix.state is CallState.CALLING_BACK:
        ix.apply(CallEvent.ANSWER, eng.now)
        ix.uuid, ix.callback_leg = uuid, ""
        eng.emit(fx.CancelTimer(f"ring:{uuid}"))
        eng.schedule(f"bridge:{ix.id}", BRIDGE_SETTLE)     # bridged when the callback leg parks
        eng.emit(fx.SetVariables(ix.node, uuid, {"cc_state": "connected", "cc_agent": ix.agent,
                                                 "cc_agent_uuid": ix.agent_leg, "cc_seq": str(ix.seq + 1),
                                                 "park_after_bridge": "true"}))
        eng.journal(ix, "callback_connected", agent=ix.agent)


def _take(eng, ix: Interaction, leg: str) -> Agent:
    """The winning leg: cancel the others, mark the agent on call."""
    aid = ix.legs.pop(leg)
    for other in list(ix.legs):
        cancel_leg(eng, ix, other, "answered_elsewhere")
    agent = eng.agents[aid]
    agent.apply(AgentEvent.ANSWER, eng.now)
    agent.no_answers = 0
    agent.calls_answered += 1
    eng.touch_agent(agent)
    ix.agent, ix.agent_leg, ix.served_leg, ix.answered_at = aid, leg, leg, eng.now
    eng.emit(fx.CancelTimer(f"ring:{leg}"))
    return agent


def _connect(eng, ix: Interaction, leg: str) -> None:
    agent = _take(eng, ix, leg)
    ix.apply(CallEvent.ANSWER, eng.now)
    eng.index.remove_call(ix)
    callflow.cancel_waiting_timers(eng, ix)
    q = eng.queue_of(ix)
    waited = ix.waited(eng.now)
    if not ix.front:                                       # a moved call's answer is not a new answer of the queue
        eng.stats.answered(ix.queue, waited, q.service_level_seconds)
    ix.playing, ix.playlist, ix.then = "", [], ()
    eng.emit(fx.StopPlayback(ix.node, ix.uuid))           # the caller stops hearing music at once
    eng.schedule(f"bridge:{ix.id}", BRIDGE_SETTLE)         # bridged when the leg parks (leg_parked)
    eng.journal(ix, "answered", agent=agent.id, waited=f"{waited:.3f}", leg=leg)
    eng.emit(fx.SetVariables(ix.node, ix.uuid, {
        "cc_state": "connected", "cc_agent": agent.id, "cc_agent_uuid": leg,
        "cc_answered_at": eng.now.isoformat(), "cc_seq": str(ix.seq), "park_after_bridge": "true"}))


def leg_parked(eng, uuid: str) -> None:
    """Our answered leg parked: bridge it now. A real FreeSWITCH reports the originate 20
    ms after CHANNEL_ANSWER and only then runs the leg's park; a uuid_bridge sent on the
    answer can unpark the caller into a bridge the leg never joins (then both legs are lost
    on the next uuid_bridge). So the answer stops the music, the park bridges."""
    ix = eng.calls.get(eng.by_leg.get(uuid, ""))
    if ix is None or ix.state is not CallState.CONNECTED or ix.bridged or ix.bridge_at is not None:
        return
    if uuid in (ix.uuid, ix.agent_leg) and ix.uuid and ix.agent_leg:
        bridge(eng, ix)


def bridge(eng, ix: Interaction, settle: float = BRIDGE_SETTLE) -> bool:
    """Ask FreeSWITCH to bridge the interaction's caller and agent legs, at most once per
    BRIDGE_SETTLE.

    A second `uuid_bridge` of legs still being bridged (10-40 ms after the first) hangs up
    both (tests/data/esl-corpus/FACTS.md "10"), so it is never repeated sooner. A bridge is confirmed by its
    CHANNEL_BRIDGE (or a snapshot showing the pair bridged); one not confirmed after
    BRIDGE_SETTLE (asked while the Event Socket dropped, say) is asked again, up to
    MAX_BRIDGES times. After a resync (`settle` = BRIDGE_GAP) an unconfirmed bridge is
    asked again as soon as the two commands cannot meet in FreeSWITCH: the first may never
    have been sent."""
    if ix.bridge_at is not None and (eng.now - ix.bridge_at).total_seconds() < settle:
        left = settle - (eng.now - ix.bridge_at).total_seconds()
        log.info("bridge of %s asked %.3f s ago: checked again in %.3f s", ix.id, settle - left, left)
        eng.schedule(f"bridge:{ix.id}", left)
        return False
    if ix.bridges >= MAX_BRIDGES:
        log.error("bridge of %s not confirmed after %d attempts: left to its channels", ix.id, ix.bridges)
        return False
    ix.bridge_at = eng.now
    ix.bridges += 1
    eng.touch_call(ix)
    # the key names the pair: after a transfer the caller is bridged to another leg (bridges restart at 1)
    eng.emit(fx.Bridge(ix.node, ix.uuid, ix.agent_leg, key=f"{ix.id}/bridge/{ix.agent_leg}/{ix.bridges}"))
    eng.schedule(f"bridge:{ix.id}", BRIDGE_SETTLE)
    return True


def bridge_check(eng, ix: Interaction) -> None:
    """BRIDGE_SETTLE after a bridge was asked: still not confirmed -> ask once more."""
    if ix.state is CallState.CONNECTED and not ix.bridged and ix.uuid and ix.agent_leg \
            and ix.node not in eng.down_nodes:
        log.warning("bridge of %s not confirmed: asking again", ix.id)
        bridge(eng, ix, settle=BRIDGE_GAP)                # the timer kept the settle time


def _call_back(eng, ix: Interaction, leg: str) -> None:
    agent = _take(eng, ix, leg)
    ix.apply(CallEvent.ANSWER, eng.now)
    eng.index.remove_call(ix)
    q, tenant = eng.queue_of(ix), eng.tenant_of(ix)
    eng.journal(ix, "answered", agent=agent.id, waited=f"{ix.waited(eng.now):.3f}", leg=leg, callback="1")
    eng.by_leg[ix.callback_leg] = ix.id
    eng.emit(fx.Originate(
        node=ix.node, leg_uuid=ix.callback_leg, sip_user="", destination=ix.caller_number,
        caller_id_number=ix.destination, caller_id_name=tenant.caller_id_name or tenant.name,
        timeout=q.ring_timeout * 2,
        variables={"cc_caller_uuid": leg, "cc_interaction_id": ix.id, "cc_tenant": ix.tenant,
                   "cc_queue": ix.queue, "cc_callback": "1", "cc_entered_at": ix.position_at.isoformat()}))
    eng.schedule(f"ring:{ix.callback_leg}", q.ring_timeout * 2 + RING_GRACE)


def cancel_leg(eng, ix: Interaction, leg: str, reason: str) -> None:
    aid = ix.legs.pop(leg)
    eng.by_leg.pop(leg, None)
    eng.cancelled[leg] = ix.node
    eng.hang_up_agent_leg(ix.node, leg, aid, "ORIGINATOR_CANCEL")
    eng.emit(fx.CancelTimer(f"ring:{leg}"))
    eng.journal(ix, "offer_cancelled", agent=aid, reason=reason)
    agent = eng.agents[aid]
    if agent.state is AgentState.OFFERED and agent.leg == leg:
        agent.apply(AgentEvent.CANCEL, eng.now)
        eng.touch_agent(agent)
        eng.want_route_agent(agent)


def leg_failed(eng, ix: Interaction, leg: str, cause: str) -> None:
    """A ringing agent leg ended without answer (busy, reject, no answer, failure)."""
    aid = ix.legs.pop(leg)
    eng.by_leg.pop(leg, None)
    eng.emit(fx.CancelTimer(f"ring:{leg}"))
    q = eng.queue_of(ix)
    agent = eng.agents[aid]
    delay = 0.0
    if cause == "USER_BUSY":
        kind, event, delay = "busy", AgentEvent.BUSY, q.busy_delay
    elif cause == "CALL_REJECTED":
        kind, event, delay = "rejected", AgentEvent.REJECT, q.reject_delay
    elif cause in NO_ANSWER_CAUSES:
        kind, event, delay = "no_answer", AgentEvent.NO_ANSWER, q.no_answer_delay
        agent.no_answers += 1
        if agent.no_answers >= q.max_no_answer:
            event = AgentEvent.NO_ANSWER_LIMIT
    elif cause == NOT_SENT:
        # the node's Event Socket is down: neither the agent's fault nor the caller's. No
        # back-off and no "last agent"; the node counts as down before its NodeLost arrives
        # (routing to it would only fail again) and its resync routes its calls again
        kind, event = "offer_failed", AgentEvent.FAIL
        eng.down_nodes.add(ix.node)
    else:
        kind, event, delay = "offer_failed", AgentEvent.FAIL, q.busy_delay
        if cause in UNREGISTERED_CAUSES:
            agent.registered = False
    eng.journal(ix, kind, agent=aid, cause=cause)
    if agent.state is AgentState.OFFERED and agent.leg == leg:
        agent.apply(event, eng.now, NO_ANSWER_REASON if event is AgentEvent.NO_ANSWER_LIMIT else "")
        if event is AgentEvent.NO_ANSWER_LIMIT:
            eng.emit(fx.Notify("agent_paused", {"agent": aid, "reason": NO_ANSWER_REASON}))
        elif delay > 0:
            agent.ready_at = eng.now + timedelta(seconds=delay)
            eng.schedule(f"ready:{aid}", delay)
        eng.touch_agent(agent)
        eng.want_route_agent(agent)
    if ix.legs:
        return
    if cause != NOT_SENT:
        ix.last_agent = aid
    offer_failed(eng, ix)
    eng.touch_call(ix)
    if ix.overflow_due and ix.state is CallState.QUEUED:
        ix.overflow_due = False
        callflow.overflow(eng, ix, q.overflow, "max_wait")
    else:
        route_call(eng, ix)


def offer_failed(eng, ix: Interaction) -> None:
    """The last ringing agent leg of an offer is gone unanswered: the call waits again. A
    callback's leg reserved at the offer was never dialled (it is dialled when the agent
    answers): it is released, not failed; the next offer reserves a new one."""
    if ix.state is CallState.CALLBACK_OFFERING and ix.callback_leg:
        if eng.by_leg.get(ix.callback_leg) == ix.id:
            del eng.by_leg[ix.callback_leg]
        ix.callback_leg = ""
    ix.apply(CallEvent.OFFER_FAILED, eng.now)


def ring_timeout(eng, leg: str) -> None:
    ix = eng.calls.get(eng.by_leg.get(leg, ""))
    if ix is None:
        return
    if leg in ix.legs:
        eng.hang_up_agent_leg(ix.node, leg, ix.legs[leg], "ORIGINATOR_CANCEL")
        eng.cancelled[leg] = ix.node
        leg_failed(eng, ix, leg, "NO_ANSWER")
    elif leg == ix.callback_leg and ix.state is CallState.CALLING_BACK:
        eng.emit(fx.Hangup(ix.node, leg, "ORIGINATOR_CANCEL"))
        eng.cancelled[leg] = ix.node
        callback_failed(eng, ix, "NO_ANSWER")

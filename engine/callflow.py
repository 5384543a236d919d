"""What the caller hears and where the call goes before and instead of an agent.

Rules:
* the recording notice (engine.recording.policy of the entry queue) plays before anything else; opening hours,
  holidays and queue entry are decided only once it finished;
* in the queue: position and estimated wait (live figures), then music on hold looped;
  periodic announcements interrupt the music and resume it; none of this ever delays an
  agent: an answering agent stops playback and is bridged at once (engine.offers);
* overflow (max wait, no agents logged in, after hours) goes to another queue keeping
  the caller's place, a voicemail or number (Transfer), a callback request, or a closing
  message then Hangup; overflow to another queue is followed at most MAX_HOPS times;
* a callback request keeps the caller's place in the queue; the caller leg is then
  released and the request waits as a call without a caller leg;
* a park of a caller we know (its own uuid) is not a new call: the caller was left by
  the operator's leg (transfer, park, recall: park_after_bridge) and now hears its
  music (engine.recall.caller_music), or it is a duplicated event.
"""
from __future__ import annotations

import logging
from datetime import datetime

from engine import effects as fx
from engine import events as ev
from engine import prompts
from engine.config import Overflow, OverflowKind
from engine.interactions import CallEvent, CallState, Interaction
from engine.recording import policy
from engine.routing import next_widening
from engine.statistics import estimated_wait

log = logging.getLogger(__name__)
MAX_HOPS = 5
CALLER_ON_LINE = frozenset({CallState.ARRIVED, CallState.NOTICE, CallState.QUEUED, CallState.OFFERING})


def timer_keys(ix: Interaction) -> tuple[str, ...]:
    return (f"maxwait:{ix.id}", f"announce:{ix.id}", f"tier:{ix.id}")


def cancel_waiting_timers(eng, ix: Interaction) -> None:
    eng.emit(*(fx.CancelTimer(k) for k in timer_keys(ix)))


def _entered_at(value: str, fallback: datetime) -> datetime:
    try:
        return datetime.fromisoformat(value) if value else fallback
    except ValueError:
        return fallback


def arrive(eng, e: ev.CallParked, adopted: bool = False) -> None:
    """A parked caller. `adopted`: found at resync/restart, so its cc_* variables (id,
    place, journal seq) are ours from before; a live park only takes the dialplan's
    cc_priority / cc_skills (a channel transferred back to us is a new interaction)."""
    if e.uuid in eng.cancelled:
        return                                      # one of our agent legs
    known = eng.calls.get(eng.by_leg.get(e.uuid, ""))
    if known is not None:
        if known.uuid == e.uuid and known.state is not CallState.OVERFLOWED:
            from engine import recall               # parked again when the operator's leg left its bridge
            if known.state in (CallState.TRANSFERRING, CallState.PARKED, CallState.CAMPED, CallState.QUEUED,
                               CallState.OFFERING):
                recall.caller_parked(eng, known)
            return                                  # otherwise a duplicated park
        if known.state is not CallState.OVERFLOWED or known.uuid != e.uuid:
            return
        eng.end(known, "transferred")               # transferred away, parked again: a new call
        eng.forget(known)
    v = e.variables if adopted else {k: e.variables[k] for k in ("cc_priority", "cc_skills") if k in e.variables}
    entry = eng.deployment.entry_points.get(e.destination)
    tenant = e.tenant or (entry.tenant if entry else "")
    queue = e.queue or (entry.queue if entry else "")
    ixid = v.get("cc_interaction_id") or eng.new_id("interaction")
    if ixid in eng.calls:
        return
    eng.arrivals += 1
    ix = Interaction(
        id=ixid, node=e.node, uuid=e.uuid, origin_uuid=e.uuid, tenant=tenant, queue=queue,
        caller_number=e.caller_number, caller_name=e.caller_name, destination=e.destination,
        arrived_at=e.at, position_at=_entered_at(v.get("cc_entered_at", ""), e.at),
        priority=_int(v.get("cc_priority", "0")), order=eng.arrivals,
        seq=_int(v.get("cc_seq", "0")),
        skills=frozenset(s for s in v["cc_skills"].split(",") if s) if v.get("cc_skills") else frozenset())
    eng.calls[ix.id] = ix
    eng.by_leg[e.uuid] = ix.id
    if not adopted:                                 # adopted after a restart: already journaled
        # a direct-dial fallback keeps its tags (the employee's number, why it fell back)
        direct = {k[3:]: e.variables[k] for k in ("cc_direct_dial", "cc_direct_cause") if e.variables.get(k)}
        eng.journal(ix, "arrived", number=e.caller_number, destination=e.destination, **direct)
    tenant_cfg = eng.deployment.tenants.get(tenant)
    if tenant_cfg is None or queue not in eng.deployment.queues:
        log.warning("call %s to %s: no tenant/queue configured", e.uuid, e.destination)
        ix.apply(CallEvent.OVERFLOW, eng.now)
        eng.journal(ix, "overflowed", reason="unknown_number", to="hangup")
        eng.emit(fx.Hangup(ix.node, ix.uuid, "UNALLOCATED_NUMBER"))
        return
    eng.emit(fx.Answer(ix.node, ix.uuid),
             fx.SetVariables(ix.node, ix.uuid, {"cc_interaction_id": ix.id, "cc_tenant": tenant,
                                                "cc_queue": queue, "cc_entered_at": ix.position_at.isoformat(),
                                                "cc_priority": str(ix.priority), "cc_seq": str(ix.seq)}))
    start(eng, ix)


def start(eng, ix: Interaction) -> None:
    """From `arrived`: the recording notice if the entry queue's policy records (the leg
    that hears it is the only one that may be recorded: engine.call_recording), else
    straight on."""
    rules = policy(eng.deployment, ix.tenant, ix.queue)
    if rules.record:
        ix.apply(CallEvent.PLAY_NOTICE, eng.now)
        ix.noticed_leg = ix.uuid
        eng.emit(fx.SetVariables(ix.node, ix.uuid, {"cc_noticed": "1"}))   # for engine.recovery
        play(eng, ix, [rules.notice], ("continue",))
    else:
        after_notice(eng, ix)


def after_notice(eng, ix: Interaction) -> None:
    tenant = eng.tenant_of(ix)
    if ix.state is CallState.NOTICE:
        eng.journal(ix, "notice_played", prompt=policy(eng.deployment, ix.tenant, ix.queue).notice)
    if not tenant.opening_hours.is_open(eng.now):
        overflow(eng, ix, tenant.after_hours, "after_hours")
        return
    if tenant.welcome_prompt:
        ix.playlist.insert(0, tenant.welcome_prompt)
    enqueue(eng, ix, ix.queue)


def enqueue(eng, ix: Interaction, qid: str, hear: bool = True) -> None:
    """Into queue `qid` (from arrival, an overflow, or an operator's transfer). `hear`
    False: the caller is still leaving a bridge, what it hears is kept for its re-park
    (engine.recall.caller_music)."""
    moving = ix.state is CallState.QUEUED
    ix.apply(CallEvent.MOVE if moving else CallEvent.ENQUEUE, eng.now)
    eng.index.remove_call(ix)
    ix.queue = qid
    ix.queue_entered_at = eng.now
    q = eng.queue_of(ix)
    eng.index.add_call(ix)
    position = eng.index.position(ix)
    # agency: the queue's own (a call moved to another agency's queue keeps its tenant)
    eng.journal(ix, "entered_queue", position=position, priority=ix.priority,
                entered_at=ix.position_at.isoformat(), agency=q.tenant)
    eng.emit(fx.SetVariables(ix.node, ix.uuid, {
        "cc_queue": qid, "cc_state": "queued", "cc_entered_at": ix.position_at.isoformat(),
        "cc_queue_entered_at": eng.now.isoformat(), "cc_seq": str(ix.seq)}))
    if not eng.index.queues[qid].staffed:
        overflow(eng, ix, q.no_agents, "no_agents")
        return
    eng.schedule(f"maxwait:{ix.id}", q.max_wait)
    if q.announce_every > 0:
        eng.schedule(f"announce:{ix.id}", q.announce_every)
    widen = next_widening(q, ix.waited(eng.now))
    if widen is not None:
        eng.schedule(f"tier:{ix.id}", widen - ix.waited(eng.now))
    welcome = list(ix.playlist)
    ix.playlist = []
    if not hear:
        ix.playing, ix.playlist, ix.then = "", welcome + live_prompts(eng, ix, position), ("moh",)
    else:
        if moving:
            eng.emit(fx.StopPlayback(ix.node, ix.uuid))
        play(eng, ix, welcome + live_prompts(eng, ix, position), ("moh",))
    eng.want_route_call(ix)


def live_prompts(eng, ix: Interaction, position: int | None = None) -> list[str]:
    q = eng.queue_of(ix)
    out = []
    position = position or eng.index.position(ix)
    if q.announce_position:
        out.append(prompts.position(position))
    if q.announce_wait_time:
        serving = len(eng.index.queues[ix.queue].staffed)
        aht = eng.stats.of(ix.queue).average_handle_time()
        out.append(prompts.wait_minutes(estimated_wait(position, aht, serving)))
    return out


def play(eng, ix: Interaction, items: list[str], then: tuple) -> None:
    """Play `items` in turn, then do `then` (("moh",), ("continue",), ("hangup",), ("transfer", dest, ctx))."""
    ix.then = then
    if items:
        ix.playing, ix.playlist = items[0], list(items[1:])
        eng.emit(fx.Play(ix.node, ix.uuid, items[0]))
    else:
        ix.playing, ix.playlist = "", []
        _then(eng, ix)


def playback_finished(eng, e: ev.PlaybackFinished) -> None:
    ix = eng.calls.get(eng.by_leg.get(e.uuid, ""))
    if ix is None or e.uuid != ix.uuid or not ix.playing:
        return
    moh = eng.queue_of(ix).moh if ix.queue in eng.deployment.queues else ""
    if ix.playing == moh or (e.prompt and e.prompt == moh):
        return                                    # music on hold stopped by us: nothing follows
    if ix.playlist:
        ix.playing = ix.playlist.pop(0)
        eng.emit(fx.Play(ix.node, ix.uuid, ix.playing))
        return
    ix.playing = ""
    _then(eng, ix)


def _then(eng, ix: Interaction) -> None:
    then, ix.then = ix.then, ()
    if not then:
        return
    if then[0] == "continue" and ix.state is CallState.NOTICE:
        after_notice(eng, ix)
    elif then[0] == "moh" and ix.state in (CallState.QUEUED, CallState.OFFERING, CallState.TRANSFERRING,
                                          CallState.CAMPED, CallState.PARKED):   # the last three: a camp-on prompt
        ix.playing = eng.queue_of(ix).moh
        eng.emit(fx.Play(ix.node, ix.uuid, ix.playing, loop=True))
    elif then[0] == "hangup" and ix.uuid:
        eng.emit(fx.Hangup(ix.node, ix.uuid))
    elif then[0] == "transfer" and ix.uuid:
        eng.emit(fx.Transfer(ix.node, ix.uuid, then[1], then[2]))
        eng.journal(ix, "transferred", destination=then[1], context=then[2])


def announce(eng, ix: Interaction) -> None:
    if ix.state not in (CallState.QUEUED, CallState.OFFERING) or not ix.uuid:
        return
    q = eng.queue_of(ix)
    items = ([q.periodic_prompt] if q.periodic_prompt else []) + live_prompts(eng, ix)
    if items:
        eng.emit(fx.StopPlayback(ix.node, ix.uuid))
        play(eng, ix, items, ("moh",))
    eng.schedule(f"announce:{ix.id}", q.announce_every)


def overflow(eng, ix: Interaction, target: Overflow, reason: str) -> None:
    """Send the call to its overflow target (max wait, no agents, after hours)."""
    cancel_waiting_timers(eng, ix)
    kind = target.kind
    if kind is OverflowKind.QUEUE and (target.target not in eng.deployment.queues or ix.hops >= MAX_HOPS):
        log.warning("interaction %s: overflow queue %r unusable, closing message instead", ix.id, target.target)
        kind = OverflowKind.MESSAGE
    eng.journal(ix, "overflowed", reason=reason, to=kind.value, target=target.target)
    if kind is OverflowKind.QUEUE:
        ix.hops += 1
        enqueue(eng, ix, target.target)
        return
    if kind is OverflowKind.CALLBACK:
        if ix.state is not CallState.QUEUED:
            enqueue_silently(eng, ix)
        request_callback(eng, ix, target.prompt or eng.queue_of(ix).callback_prompt)
        return
    eng.index.remove_call(ix)
    ix.apply(CallEvent.CLOSED if ix.state in (CallState.ARRIVED, CallState.NOTICE) else CallEvent.OVERFLOW, eng.now)
    if kind is OverflowKind.VOICEMAIL:
        then = ("transfer", target.target, "voicemail")
    elif kind is OverflowKind.TRANSFER:
        then = ("transfer", target.target, "default")
    else:
        then = ("hangup",)
    eng.emit(fx.StopPlayback(ix.node, ix.uuid),
             fx.SetVariables(ix.node, ix.uuid, {"cc_state": "overflowed", "cc_seq": str(ix.seq)}))
    play(eng, ix, [target.prompt] if target.prompt else [], then)


def enqueue_silently(eng, ix: Interaction) -> None:
    """Put a not-yet-queued call in its queue only to hold a callback's place."""
    ix.apply(CallEvent.ENQUEUE, eng.now)
    ix.queue_entered_at = eng.now
    eng.index.add_call(ix)
    eng.journal(ix, "entered_queue", position=eng.index.position(ix), priority=ix.priority,
                entered_at=ix.position_at.isoformat(), agency=eng.queue_of(ix).tenant)


def request_callback(eng, ix: Interaction, prompt: str) -> None:
    ix.apply(CallEvent.REQUEST_CALLBACK, eng.now)
    cancel_waiting_timers(eng, ix)
    eng.journal(ix, "callback_requested", number=ix.caller_number, position=eng.index.position(ix))
    eng.emit(fx.SetVariables(ix.node, ix.uuid, {"cc_state": "callback", "cc_seq": str(ix.seq)}),
             fx.StopPlayback(ix.node, ix.uuid))
    play(eng, ix, [prompt] if prompt else [], ("hangup",))


def digit(eng, e: ev.DigitPressed) -> None:
    ix = eng.calls.get(eng.by_leg.get(e.uuid, ""))
    if ix is None or e.uuid != ix.uuid or ix.state is not CallState.QUEUED:
        return
    q = eng.queue_of(ix)
    if q.callback_enabled and e.digit == q.callback_digit:
        request_callback(eng, ix, q.callback_prompt)


def max_wait(eng, ix: Interaction) -> None:
    q = eng.queue_of(ix)
    if ix.queue_entered_at is None or (eng.now - ix.queue_entered_at).total_seconds() < q.max_wait:
        return                                    # a stale timer (the call moved queue)
    if ix.state is CallState.QUEUED:
        overflow(eng, ix, q.overflow, "max_wait")
    elif ix.state is CallState.OFFERING:
        ix.overflow_due = True                    # decided when the ringing agent leg ends


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0

"""Coming back after a restart or an Event Socket reconnect without losing a call.

What is stored where:
* on the caller channel (SetVariables, survives the engine): cc_interaction_id,
  cc_tenant, cc_queue, cc_entered_at (the place in queue), cc_queue_entered_at,
  cc_priority, cc_state (queued / callback / connected / overflowed), cc_agent,
  cc_agent_uuid, cc_answered_at, cc_seq (journal rows written so far);
* on an agent leg (Originate variables): cc_caller_uuid, cc_interaction_id, cc_agent,
  cc_queue, cc_tenant, cc_offered_at;
* in the store (Notify agent_changed / interaction_changed snapshots, upserted by the
  runtime): every agent record and every open interaction, with its last journal seq.

Rules:
* the node's channels are the truth for calls: a leg the engine knows that is not on
  the node ended while we were away, and is closed through the same code as a hangup
  (so the journal gets exactly the rows a live hangup would, once);
* a leg we hung up (engine.cancelled) that the node still has is hung up again: the
  hang-up may have been lost with the Event Socket, and a caller kept by
  park_after_bridge would otherwise wait forever;
* a leg we took for ringing that the node shows answered is treated as answered;
* a connected call whose agent leg is gone while its caller lives (parked again by
  park_after_bridge) was a talk if the caller's channel names that leg as its bridge
  partner (`bridge_uuid`/`signal_bond` stay after the bridge): `bridged`, then the
  agent's hang-up; otherwise the agent left before the bridge (`agent_left`);
* a channel the engine does not know is adopted from its cc_* variables (place and
  entry time kept); one without them is a fresh parked call. A caller whose channel says
  it talked (cc_state connected / transferred) of an interaction the store has closed is
  hung up instead: the talk ended, the interaction was closed, and the process was
  killed before its hang-up of the caller (kept by park_after_bridge) reached the node;
* the journal continues at max(stored seq, channel cc_seq) so no row is duplicated;
* timers do not survive a restart: `recover` schedules them again from stored times;
* a callback being offered (`callback_offering`) has a callback leg reserved, not dialled
  (engine.offers): it is no channel, so its absence from the node is no failed call. If
  the agent's leg is gone the offer failed (`offer_failed`, the reserved leg released) and
  the callback waits in state `callback` at its place, offered again when an agent is
  free; if it still rings, her answer dials the reserved leg. Only a dialled callback leg
  (`calling_back`) found gone is `callback_failed`;
* calls moved by an operator (engine.transfer, engine.park): a transfer whose target leg is still on
  the node keeps ringing (answered meanwhile: connected and bridged now), one whose
  target leg is gone is recalled; a parked call waits for the rest of its time (recalled
  at once if it is over); the transfer's and the park's timers come back from the
  stored `deadline` (channel: `cc_deadline`); an operator's leg we hung up that is still
  up is hung up again. Without the store, `cc_state` transferring / parked / transferred
  and the `cc_target_uuid`, `cc_deadline`, `cc_recall_agent` tags rebuild them;
* a supervisor's monitor leg (cc_monitor: engine.monitor) is never a caller: adopted if
  its call is still connected on the agent leg it listens to, else hung up;
* a camp-on (engine.campon: `cc_state` camped, `cc_camp_on`, `cc_camp_until`,
  `cc_camp_tries`): its end and its next try are scheduled again from the stored times;
  passed while the engine was away, the end recalls at once, a try rings at once;
* recording (engine.call_recording): the caller's `cc_noticed` (it heard the notice),
  `cc_recording` and `cc_recording_path` are adopted with it; a recorded caller leg
  found gone sends `recording_stopped` with cause "unseen" (its RECORD_STOP was lost).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Collection, Iterable, Mapping, Sequence

from engine import call_recording, callflow, campon, monitor, offers, park, recall, talk, transfer, written
from engine import effects as fx
from engine import events as ev
from engine.agents import Agent, AgentEvent, AgentState
from engine.core import LEG_DOWN_WAIT
from engine.interactions import ROUTABLE, WAITING, CallState, Interaction

log = logging.getLogger(__name__)


def recover(deployment, channels: Mapping[str, Sequence[ev.ChannelSnapshot]],
            agents: Iterable[dict] = (), interactions: Iterable[dict] = (),
            at: datetime | None = None, closed: Collection[str] = (), **engine_options):
    """A new engine rebuilt from stored records and the nodes' live channels -> (engine, effects).
    `closed`: interactions the store has ended, among those the channels name (see the Rules)."""
    from engine.core import Engine
    eng = Engine(deployment, **engine_options)
    if at is None:  # the engine reads no clock: the caller says what time it is
        raise ValueError("recover() needs `at`, the time of the recovery")
    eng.now = at
    eng.closed = set(closed)
    for stored in agents:
        cfg = deployment.agents.get(stored.get("agent", ""))
        if cfg is not None:
            eng.agents[cfg.id] = Agent.restore(cfg, stored)
    for stored in interactions:
        if stored.get("kind", "call") != "call":
            written.restore(eng, stored)
            continue
        ix = Interaction.restore(stored)
        if ix.ended or ix.queue not in deployment.queues and ix.state in WAITING:
            continue
        _track(eng, ix)
        eng.arrivals = max(eng.arrivals, ix.order)
    for agent in eng.agents.values():
        eng.index.sync(agent)
        if agent.leg_up:
            eng.closing[agent.leg_up] = agent.id
    eng.down_nodes |= {ix.node for ix in eng.calls.values()} - set(channels)   # not seen yet
    effects = eng._flush()                          # rows of written items moved off a removed queue
    for node, chans in channels.items():
        effects += eng.handle(ev.NodeResynced(node, tuple(chans), eng.now))
    eng._out = []
    _resume_callers(eng)
    _settle_agents(eng)
    _rearm_timers(eng)
    for ix in [ix for ix in eng.calls.values() if ix.camp_until is not None or ix.state is CallState.CAMPED]:
        campon.overdue(eng, ix)                     # a camp-on's end or next try passed while we were away
    for ix in [ix for ix in eng.calls.values() if ix.deadline is not None and ix.deadline <= at]:
        if ix.state is CallState.PARKED:            # its time ran out while we were away: recall now
            park.park_timeout(eng, ix)
        elif ix.state is CallState.TRANSFERRING:
            transfer.transfer_timeout(eng, ix)
    written.rearm(eng)
    eng.run_routing()
    return eng, effects + eng._flush()


def resync(eng, e: ev.NodeResynced) -> None:
    was_down = e.node in eng.down_nodes
    eng.down_nodes.discard(e.node)
    live = {c.uuid: c for c in e.channels}
    for leg in [leg for leg, node in eng.cancelled.items() if node == e.node]:
        if leg not in live:
            del eng.cancelled[leg]
        else:                                           # our hang-up may have been lost with the socket
            eng.emit(fx.Hangup(e.node, leg, "NORMAL_CLEARING"))
    for agent in eng.agents.values():                   # agent legs we hung up that are gone now
        if agent.leg_up and agent.leg_up not in live:
            eng.release_agent(agent)
    for ix in [ix for ix in eng.calls.values() if ix.node == e.node]:
        _reconcile(eng, ix, live)
    _adopt(eng, e, live)
    monitor.resync(eng, e.node, e.channels)            # supervisors' eavesdrop legs: adopted or hung up
    for ix in eng.calls.values():                      # routing held back while the node was away
        if ix.node == e.node and ix.state in ROUTABLE:
            eng.want_route_call(ix)
    if was_down:
        # what we asked of this node while its Event Socket was down never reached it
        # (answer, variables, notice, music): ask again for every caller still waiting
        _resume_callers(eng, e.node, reassert=True)


def found(eng, e: ev.ChannelsFound) -> None:
    """Channels missed by the snapshot (show channels lag): adopted like the snapshot's
    unknown channels; a caller already talking is never adopted from a late look (its
    agent leg would have to be judged from a list that is not complete)."""
    if e.node in eng.down_nodes:
        return
    fresh = tuple(c for c in e.channels if c.uuid not in eng.by_leg and c.uuid not in eng.cancelled
                  and c.variables.get("cc_state") not in ("connected", "transferred", "transferring"))
    if not fresh:
        return
    log.info("resync %s: %d channel(s) found after the snapshot", e.node, len(fresh))
    _adopt(eng, ev.NodeResynced(e.node, fresh, e.at), {c.uuid: c for c in fresh})
    for ix in eng.calls.values():
        if ix.node == e.node and ix.state in ROUTABLE:
            eng.want_route_call(ix)


def _track(eng, ix: Interaction) -> None:
    eng.calls[ix.id] = ix
    if ix.callback_leg and ix.state is CallState.CALLBACK:
        ix.callback_leg = ""                            # reserved by a failed offer (older store): no leg
    for leg in ix.channels:
        if leg == ix.callback_leg and ix.state is not CallState.CALLING_BACK:
            continue                                    # reserved at the offer, not dialled: no channel
        eng.by_leg[leg] = ix.id
    if ix.state in WAITING and ix.queue in eng.index.queues:
        eng.index.add_call(ix)


def _seq_of(chan: ev.ChannelSnapshot | None) -> int:
    try:
        return int(chan.variables.get("cc_seq", "0")) if chan else 0
    except ValueError:
        return 0


def _reconcile(eng, ix: Interaction, live: Mapping[str, ev.ChannelSnapshot]) -> None:
    ix.seq = max(ix.seq, _seq_of(live.get(ix.uuid)))
    if ix.recording and ix.uuid and ix.uuid not in live:
        call_recording.gone_unseen(eng, ix)             # its RECORD_STOP went with the old connection
    for leg in list(ix.legs):
        chan = live.get(leg)
        if chan is None:
            log.info("resync %s: ringing leg %s of interaction %s is gone from the node", ix.node, leg, ix.id)
            offers.leg_failed(eng, ix, leg, "LOST")
        elif chan.answered and ix.id in eng.calls:
            offers.leg_answered(eng, leg)
    if ix.id not in eng.calls:
        return
    if ix.dropped_leg and ix.dropped_leg not in live:
        recall.operator_leg_gone(eng, ix)
    if ix.state is CallState.TRANSFERRING and ix.uuid in live:
        target = live.get(ix.target_leg)
        if target is None:
            log.info("resync %s: transfer target leg %s of %s is gone: recall", ix.node, ix.target_leg, ix.id)
            transfer.target_failed(eng, ix, "LOST")
        elif target.answered:
            transfer.target_answered(eng, ix)
    if ix.state is CallState.CONNECTED and not ix.bridged and ix.agent_leg and ix.agent_leg not in live \
            and ix.uuid in live and live[ix.uuid].bridged_to == ix.agent_leg:
        # the caller's channel still names the agent's leg as its bridge partner: they were
        # bridged, then the agent's leg ended while we could not see it, and the caller
        # (park_after_bridge) parked. A talk that took place, not an agent who left before it.
        from engine.handlers import confirm_bridge
        confirm_bridge(eng, ix)
    if ix.state is CallState.CONNECTED and ix.agent_leg in live and ix.uuid in live and not ix.bridged:
        if ix.uuid in (live[ix.agent_leg].bridged_to, ) or live[ix.uuid].bridged_to == ix.agent_leg:
            from engine.handlers import confirm_bridge
            confirm_bridge(eng, ix)                           # bridged while we were away
        else:
            # answered, not bridged (yet): the uuid_bridge may have been lost with the socket
            offers.bridge(eng, ix, settle=offers.BRIDGE_GAP)
    if ix.state is CallState.CONNECTED and ix.uuid and ix.agent_leg \
            and ix.uuid not in live and ix.agent_leg not in live:
        # both legs ended while we could not see them: the call is over, how it went is
        # unseen (a bridge made meanwhile left no trace: FreeSWITCH keeps no history)
        log.info("resync %s: both legs of interaction %s ended unseen", ix.node, ix.id)
        if ix.transferred:
            transfer.transfer_end(eng, ix, "unseen")
        else:
            talk.talk_end(eng, ix, "unseen")
    dialled = ix.callback_leg if ix.state is CallState.CALLING_BACK else ""   # else only reserved
    for leg in (dialled, ix.agent_leg, ix.uuid):
        if leg and leg not in live and ix.id in eng.calls:
            log.info("resync %s: leg %s of interaction %s is gone from the node", ix.node, leg, ix.id)
            from engine.handlers import leg_gone
            leg_gone(eng, ev.LegHungUp(ix.node, leg, "LOST", eng.now))
    if ix.id in eng.calls and not ix.uuid and ix.state not in (CallState.CALLBACK, CallState.CALLBACK_OFFERING,
                                                                CallState.CALLING_BACK, CallState.WRAP_UP):
        eng.end(ix, "lost")
        eng.forget(ix)


def _adopt(eng, e: ev.NodeResynced, live: Mapping[str, ev.ChannelSnapshot]) -> None:
    agent_legs: dict[str, list[ev.ChannelSnapshot]] = {}
    for chan in e.channels:
        if "cc_caller_uuid" in chan.variables:
            agent_legs.setdefault(chan.variables["cc_caller_uuid"], []).append(chan)
    for chan in e.channels:
        if chan.uuid in eng.by_leg or chan.uuid in eng.cancelled or "cc_caller_uuid" in chan.variables \
                or monitor.TAG in chan.variables:               # a supervisor's leg: engine.monitor.resync
            continue
        v = chan.variables
        if v.get("cc_interaction_id") in eng.closed and v.get("cc_state") in _TALKED:
            # a finished talk's caller, kept by park_after_bridge: our hang-up died with the old process
            log.info("resync %s: caller %s of closed interaction %s is still up: hanging up",
                     e.node, chan.uuid, v["cc_interaction_id"])
            eng.cancelled[chan.uuid] = e.node
            eng.emit(fx.Hangup(e.node, chan.uuid, "NORMAL_CLEARING"))
            continue
        if not v.get("cc_interaction_id"):
            if chan.destination in eng.deployment.entry_points and not chan.bridged_to:
                callflow.arrive(eng, ev.CallParked(e.node, chan.uuid, chan.destination, chan.caller_number,
                                                   chan.caller_name, eng.now, variables=dict(v)))
            continue
        _adopt_caller(eng, e.node, chan, agent_legs.get(chan.uuid, []), live)
    for caller, legs in agent_legs.items():
        for chan in legs:
            if chan.uuid not in eng.by_leg and chan.uuid not in eng.cancelled:
                log.info("agent leg %s is no call of ours (caller %s gone or served elsewhere): hanging up",
                         chan.uuid, caller)
                eng.cancelled[chan.uuid] = e.node
                eng.hang_up_agent_leg(e.node, chan.uuid, chan.variables.get("cc_agent", ""), "ORIGINATOR_CANCEL")


def _adopt_caller(eng, node: str, chan: ev.ChannelSnapshot, legs: list[ev.ChannelSnapshot],
                  live: Mapping[str, ev.ChannelSnapshot]) -> None:
    v = chan.variables
    state = v.get("cc_state", "")
    if v["cc_interaction_id"] in eng.calls or v.get("cc_queue") not in eng.deployment.queues:
        return
    if state not in _ADOPTED:
        callflow.arrive(eng, ev.CallParked(node, chan.uuid, chan.destination, chan.caller_number,
                                           chan.caller_name, chan.created_at, v.get("cc_tenant", ""),
                                           v.get("cc_queue", ""), dict(v)), adopted=True)
        return
    entered = _time(v.get("cc_entered_at")) or chan.created_at
    eng.arrivals += 1
    ix = Interaction(
        id=v["cc_interaction_id"], node=node, uuid=chan.uuid, origin_uuid=chan.uuid, tenant=v.get("cc_tenant", ""),
        queue=v["cc_queue"], caller_number=chan.caller_number, caller_name=chan.caller_name,
        destination=chan.destination, arrived_at=chan.created_at, position_at=entered,
        queue_entered_at=_time(v.get("cc_queue_entered_at")) or entered,
        priority=int(v.get("cc_priority", "0") or 0), seq=_seq_of(chan), order=eng.arrivals,
        state=_ADOPTED[state])
    _moved_from_tags(ix, v)
    _recording_from_tags(ix, v)
    if ix.state is CallState.CONNECTED:
        ix.agent, ix.agent_leg = v.get("cc_agent", ""), v.get("cc_agent_uuid", "") or chan.bridged_to
        ix.answered_at = _time(v.get("cc_answered_at")) or eng.now
        ix.bridged = bool(chan.bridged_to)
        ix.bridge_at = ix.answered_at                  # the bridge was asked when the agent answered
        agent = eng.agents.get(ix.agent)
        if agent is not None and not ix.transferred:
            agent.state, agent.interaction, agent.leg = AgentState.ON_CALL, ix.id, ix.agent_leg
            eng.touch_agent(agent)
    _track(eng, ix)
    eng.touch_call(ix)
    if ix.state in (CallState.CONNECTED, CallState.TRANSFERRING, CallState.PARKED, CallState.CAMPED):
        _reconcile(eng, ix, live)
        return
    for leg in legs:                                   # agent legs still ringing for this caller
        agent = eng.agents.get(leg.variables.get("cc_agent", ""))
        if agent is None or ix.state is not CallState.QUEUED or agent.state not in (
                AgentState.AVAILABLE, AgentState.OFFERED):
            continue
        ix.state = CallState.OFFERING
        ix.legs[leg.uuid] = agent.id
        eng.by_leg[leg.uuid] = ix.id
        agent.state, agent.interaction, agent.leg = AgentState.OFFERED, ix.id, leg.uuid
        eng.touch_agent(agent)
        if leg.answered:
            offers.leg_answered(eng, leg.uuid)
    if ix.state in ROUTABLE:
        eng.want_route_call(ix)


_TALKED = frozenset({"connected", "transferred"})   # cc_state of a caller who talked to someone
_ADOPTED = {"queued": CallState.QUEUED, "callback": CallState.CALLBACK, "connected": CallState.CONNECTED,
            "overflowed": CallState.OVERFLOWED, "transferring": CallState.TRANSFERRING,
            "parked": CallState.PARKED, "transferred": CallState.CONNECTED, "camped": CallState.CAMPED}


def _moved_from_tags(ix: Interaction, v: Mapping[str, str]) -> None:
    """A call an operator moved, rebuilt from its caller channel's tags (recall.channel_tags)."""
    ix.transferred = v.get("cc_state") == "transferred"
    ix.front = v.get("cc_front") == "1"
    ix.recall_agent, ix.recall_reason = v.get("cc_recall_agent", ""), v.get("cc_recall_reason", "")
    ix.recalls = int(v["cc_recalls"]) if v.get("cc_recalls", "").isdigit() else 0
    ix.target, ix.target_kind = v.get("cc_target", ""), v.get("cc_target_kind", "")
    if ix.state in (CallState.TRANSFERRING, CallState.PARKED, CallState.CAMPED):
        ix.deadline = _time(v.get("cc_deadline"))
    ix.camp_on, ix.camp_until = v.get("cc_camp_on") == "1", _time(v.get("cc_camp_until"))
    ix.camp_tries = int(v["cc_camp_tries"]) if v.get("cc_camp_tries", "").isdigit() else 0
    if ix.state is CallState.TRANSFERRING:
        ix.target_leg = v.get("cc_target_uuid", "")


def _recording_from_tags(ix: Interaction, v: Mapping[str, str]) -> None:
    """The notice heard and the running recording, from the caller channel's tags."""
    if v.get("cc_noticed") == "1" or v.get("cc_recording"):
        ix.noticed_leg = ix.uuid
    if v.get("cc_recording") and v.get("cc_recording_path"):
        ix.recording, ix.recording_path = v["cc_recording"], v["cc_recording_path"]
        ix.recording_agents = (v["cc_agent"],) if v.get("cc_agent") else ()


_CHANNEL_STATE = {CallState.QUEUED: "queued", CallState.OFFERING: "queued", CallState.CALLBACK: "callback",
                  CallState.CONNECTED: "connected", CallState.OVERFLOWED: "overflowed"}


def channel_variables(ix: Interaction) -> dict[str, str]:
    """Everything recovery reads back from the caller's channel (see the module header)."""
    v = {"cc_interaction_id": ix.id, "cc_tenant": ix.tenant, "cc_queue": ix.queue,
         "cc_entered_at": ix.position_at.isoformat(), "cc_priority": str(ix.priority), "cc_seq": str(ix.seq)}
    if ix.queue_entered_at:
        v["cc_queue_entered_at"] = ix.queue_entered_at.isoformat()
    if ix.state in _CHANNEL_STATE:
        v["cc_state"] = _CHANNEL_STATE[ix.state]
    if ix.noticed_leg and ix.noticed_leg == ix.uuid:
        v["cc_noticed"] = "1"
    return v


def _resume_callers(eng, node: str | None = None, reassert: bool = False) -> None:
    """What the caller hears was lost with the old process (or with the node's Event
    Socket): start it again. `reassert` also answers the caller and writes its channel
    variables again, for effects that may never have reached the node."""
    for ix in list(eng.calls.values()):
        if not ix.uuid or ix.node in eng.down_nodes or (node is not None and ix.node != node):
            continue
        if reassert and ix.state in (CallState.ARRIVED, CallState.NOTICE, CallState.QUEUED, CallState.OFFERING):
            eng.emit(fx.Answer(ix.node, ix.uuid), fx.SetVariables(ix.node, ix.uuid, channel_variables(ix)))
        if ix.state in (CallState.ARRIVED, CallState.NOTICE):
            ix.state, ix.playing, ix.playlist = CallState.ARRIVED, "", []
            callflow.start(eng, ix)                 # the notice must be heard: play it again
        elif ix.state in (CallState.QUEUED, CallState.OFFERING):
            ix.playing, ix.playlist, ix.then = eng.queue_of(ix).moh, [], ()
            eng.emit(fx.StopPlayback(ix.node, ix.uuid), fx.Play(ix.node, ix.uuid, ix.playing, loop=True))
        elif ix.state in recall.MOVED and not ix.dropped_leg and not ix.playing:
            ix.playing = eng.queue_of(ix).moh
            eng.emit(fx.StopPlayback(ix.node, ix.uuid), fx.Play(ix.node, ix.uuid, ix.playing, loop=True))
        if ix.dropped_leg:                          # its hang-up may never have reached the node
            eng.emit(fx.Hangup(ix.node, ix.dropped_leg))


def _settle_agents(eng) -> None:
    """Agents whose stored call is gone: back to a state the engine can continue from."""
    for agent in eng.agents.values():
        ix = eng.calls.get(agent.interaction)
        if agent.state is AgentState.OFFERED and (ix is None or agent.leg not in ix.legs):
            agent.apply(AgentEvent.CANCEL, eng.now)
        elif agent.state is AgentState.ON_CALL and (ix is None or ix.agent != agent.id
                                                    or ix.state is not CallState.CONNECTED):
            agent.apply(AgentEvent.CALL_END, eng.now)
            talk.wrapup_end(eng, agent)
        elif agent.state is AgentState.WRAP_UP and ix is not None and ix.state is CallState.CONNECTED \
                and ix.agent == agent.id:
            agent.state = AgentState.ON_CALL
        else:
            continue
        eng.touch_agent(agent)
        eng.want_route_agent(agent)
    for agent in eng.agents.values():
        eng.index.sync(agent)
        if agent.routable:
            eng.want_route_agent(agent)


def _rearm_timers(eng) -> None:
    now = eng.now
    for ix in eng.calls.values():
        q = eng.deployment.queues.get(ix.queue)
        if q is None:
            continue
        if ix.state is CallState.QUEUED and ix.queue_entered_at:
            eng.emit(fx.ScheduleTimer(f"maxwait:{ix.id}", max(now, ix.queue_entered_at + timedelta(seconds=q.max_wait))))
            if q.announce_every > 0:
                eng.schedule(f"announce:{ix.id}", q.announce_every)
        for leg in ix.legs:
            eng.schedule(f"ring:{leg}", q.ring_timeout + offers.RING_GRACE)
        if ix.state in (CallState.TRANSFERRING, CallState.PARKED, CallState.CAMPED) and ix.deadline is not None:
            kind = {CallState.TRANSFERRING: "xfer", CallState.PARKED: "park", CallState.CAMPED: "campon"}[ix.state]
            eng.emit(fx.ScheduleTimer(f"{kind}:{ix.id}", max(now, ix.deadline)))
        if ix.state in (CallState.TRANSFERRING, CallState.CAMPED) and ix.camp_until is not None:
            eng.emit(fx.ScheduleTimer(f"camponend:{ix.id}", max(now, ix.camp_until)))
    for agent in eng.agents.values():
        if agent.leg_up:
            eng.schedule(f"legdown:{agent.id}", LEG_DOWN_WAIT)
        if agent.ready_at is not None:            # her busy/reject/no-answer delay: the rest of it
            eng.emit(fx.ScheduleTimer(f"ready:{agent.id}", max(now, agent.ready_at)))
        if agent.state is AgentState.WRAP_UP:
            ix = eng.calls.get(agent.interaction)
            q = eng.deployment.queues.get(agent.wrapup_queue or (ix.queue if ix else ""))   # the queue answered in
            end = agent.since + timedelta(seconds=q.wrapup if q else 0)
            eng.emit(fx.ScheduleTimer(f"wrapup:{agent.id}", max(now, end)))


def _time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None

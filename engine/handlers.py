"""The engine's subscription list: which function handles which input event.

Rules: one entry per event class; leg events are routed by the leg's role (caller leg,
ringing agent leg, connected agent leg, callback leg, a transfer's target leg, the
operator's leg left by a transfer or park) found in `Engine.by_leg`; an event for a leg
the engine does not know (already ended, duplicated, or not ours) changes nothing and
journals nothing. A connected transferred call has no agent: its "agent leg" is the
target's, and either side's hang-up ends the transfer (engine.transfer), not a talk.
The announced transfer's legs are routed first by engine.consult.route.
"""
from __future__ import annotations

import logging

from engine import (call_recording, callflow, campon, core, desk, offers, park, recall, recovery, reload, talk,
                    transfer, written)
from engine import events as ev
from engine import effects as fx
from engine.effects import Hangup
from engine.interactions import CallEvent, CallState, Interaction

log = logging.getLogger(__name__)


def leg_answered(eng, e: ev.LegAnswered) -> None:
    ix = eng.calls.get(eng.by_leg.get(e.uuid, ""))
    if ix is not None and e.uuid == ix.target_leg and e.uuid not in eng.cancelled:
        transfer.target_answered(eng, ix)
        return
    offers.leg_answered(eng, e.uuid)


def leg_parked(eng, e: ev.LegParked) -> None:
    """Our originated leg parked (bridge now); a callback caller leg parked again after
    its operator left (a transfer or park: music)."""
    ix = eng.calls.get(eng.by_leg.get(e.uuid, ""))
    if ix is not None and e.uuid == ix.uuid and ix.state is not CallState.CONNECTED:
        recall.caller_parked(eng, ix)
        return
    offers.leg_parked(eng, e.uuid)


def _call_of_leg(eng, uuid: str) -> Interaction | None:
    """A leg ended (hangup or failed originate): an agent leg we were hanging up frees its
    agent; a leg we cancelled is forgotten; otherwise the interaction it belongs to."""
    if uuid in eng.closing:
        eng.agent_leg_gone(uuid)
    if uuid in eng.cancelled:
        del eng.cancelled[uuid]
        return None
    return eng.calls.get(eng.by_leg.get(uuid, ""))


def originate_failed(eng, e: ev.LegFailed) -> None:
    """An originate job ended `-ERR` (or was never sent). The job's reply is not the leg's
    life: FreeSWITCH ends the job `-ERR ORIGINATOR_CANCEL` when the leg is bridged before
    the job reports, and the leg lives on, bridged (tests/data/esl-corpus/FACTS.md 09). So it only decides for a
    leg that is still ringing (it may never have had a channel: USER_NOT_REGISTERED);
    an answered leg ends only by its own CHANNEL_HANGUP."""
    ix = _call_of_leg(eng, e.uuid)
    if ix is None:
        return
    if e.uuid in ix.legs:
        offers.leg_failed(eng, ix, e.uuid, e.cause)
    elif e.uuid == ix.target_leg:
        transfer.target_failed(eng, ix, e.cause)
    elif e.uuid == ix.callback_leg and ix.state is CallState.CALLING_BACK:
        talk.callback_failed(eng, ix, e.cause)
    else:
        log.info("originate of answered leg %s ended %s: the leg's own events decide", e.uuid, e.cause)


def leg_gone(eng, e: ev.LegHungUp) -> None:
    """A channel of ours hung up."""
    ix = _call_of_leg(eng, e.uuid)
    if ix is None:
        return
    if e.uuid == ix.uuid:
        caller_left(eng, ix, e.cause)
    elif e.uuid in ix.legs:
        offers.leg_failed(eng, ix, e.uuid, e.cause)
    elif e.uuid == ix.dropped_leg:
        recall.operator_leg_gone(eng, ix)
    elif e.uuid == ix.target_leg:
        transfer.target_failed(eng, ix, e.cause)            # hung up before it answered
    elif e.uuid == ix.agent_leg:
        if ix.state is CallState.CONNECTED and ix.transferred:
            transfer.transfer_end(eng, ix, "target")
        elif ix.state is CallState.CONNECTED and not ix.bridged and ix.uuid and not ix.callback_leg \
                and ix.queue in eng.deployment.queues and eng.tenant_of(ix) is not None:
            talk.agent_left_unbridged(eng, ix, e.cause)     # the caller never heard them: back in line
        elif ix.state is CallState.CONNECTED:
            talk.talk_end(eng, ix, "agent")
        elif ix.state is CallState.CALLING_BACK:
            eng.by_leg.pop(ix.agent_leg, None)
            ix.agent_leg = ""
            if ix.callback_leg:
                eng.cancelled[ix.callback_leg] = ix.node
                eng.emit(Hangup(ix.node, ix.callback_leg, "ORIGINATOR_CANCEL"))
            talk.callback_failed(eng, ix, "AGENT_HANGUP")
    elif e.uuid == ix.callback_leg and ix.state is CallState.CALLING_BACK:
        talk.callback_failed(eng, ix, e.cause)
    elif e.uuid == ix.callback_leg:
        log.info("callback leg %s of %s (%s) was never dialled: its end changes nothing",
                 e.uuid, ix.id, ix.state.value)


def caller_left(eng, ix: Interaction, cause: str) -> None:
    eng.by_leg.pop(ix.uuid, None)
    state = ix.state
    if state is CallState.CONNECTED and ix.transferred:
        transfer.transfer_end(eng, ix, "caller")
        return
    if state is CallState.CONNECTED:
        talk.talk_end(eng, ix, "caller")
        return
    if state in recall.MOVED:
        recall.caller_left(eng, ix, cause)
        return
    ix.uuid = ""
    eng.touch_call(ix)
    if state in (CallState.CALLBACK, CallState.CALLBACK_OFFERING):
        eng.want_route_call(ix)                   # the place is kept; now it may be called back
        return
    if state is CallState.OVERFLOWED:
        eng.end(ix, "overflowed")
        eng.forget(ix)
        return
    if state in (CallState.ARRIVED, CallState.NOTICE, CallState.QUEUED, CallState.OFFERING):
        for leg in list(ix.legs):
            offers.cancel_leg(eng, ix, leg, "caller_left")
        ix.apply(CallEvent.CALLER_LEFT, eng.now)
        callflow.cancel_waiting_timers(eng, ix)
        waited = ix.waited(eng.now)
        if ix.queue in eng.deployment.queues and state is not CallState.ARRIVED:
            eng.stats.abandoned(ix.queue, waited, eng.queue_of(ix).service_level_seconds)
        eng.journal(ix, "abandoned", waited=f"{waited:.3f}", cause=cause, stage=state.value)
        eng.end(ix, "abandoned")
        eng.forget(ix)


def timer(eng, e: ev.TimerFired) -> None:
    kind, _, key = e.key.partition(":")
    if written.timer(eng, kind, key):
        return
    if kind == "ring":
        offers.ring_timeout(eng, key)
    elif kind == "wrapup" and key in eng.agents:
        talk.wrapup_end(eng, eng.agents[key])
    elif kind == "ready" and key in eng.agents:
        desk.ready(eng, eng.agents[key])
    elif kind == "legdown" and key in eng.agents:
        leg = eng.agents[key].leg_up
        if leg:
            log.warning("agent %s: leg %s hung up %.0f s ago, never reported gone: taken as gone",
                        key, leg, core.LEG_DOWN_WAIT)
            eng.release_agent(eng.agents[key])
    elif kind == "bridge" and key in eng.calls:
        offers.bridge_check(eng, eng.calls[key])
    elif kind == "xfer" and key in eng.calls:
        transfer.transfer_timeout(eng, eng.calls[key])
    elif kind == "park" and key in eng.calls:
        park.park_timeout(eng, eng.calls[key])
    elif kind == "campon" and key in eng.calls:
        campon.retry(eng, eng.calls[key])
    elif kind == "camponend" and key in eng.calls:
        campon.timeout(eng, eng.calls[key])
    elif kind in ("maxwait", "announce", "tier") and key in eng.calls:
        ix = eng.calls[key]
        if kind == "maxwait":
            callflow.max_wait(eng, ix)
        elif kind == "announce":
            callflow.announce(eng, ix)
        else:
            _widen(eng, ix)


def _widen(eng, ix: Interaction) -> None:
    from engine.routing import next_widening
    q = eng.queue_of(ix)
    if ix.state is not CallState.QUEUED:
        return
    widen = next_widening(q, ix.waited(eng.now))
    if widen is not None:
        eng.schedule(f"tier:{ix.id}", widen - ix.waited(eng.now))
    eng.want_route_call(ix)


def bridged(eng, e: ev.Bridged) -> None:
    for uuid in (e.a_uuid, e.b_uuid):
        ix = eng.calls.get(eng.by_leg.get(uuid, ""))
        if ix is not None and {e.a_uuid, e.b_uuid} == {ix.uuid, ix.agent_leg}:
            confirm_bridge(eng, ix)
            return


def confirm_bridge(eng, ix: Interaction) -> None:
    """The pair is bridged (CHANNEL_BRIDGE, or a snapshot shows it): journaled once."""
    if ix.state is CallState.CONNECTED and not ix.bridged:
        ix.bridged = True
        eng.emit(fx.CancelTimer(f"bridge:{ix.id}"))
        eng.journal(ix, "bridged", agent=ix.agent)
        call_recording.bridged(eng, ix)           # the first bridge starts it; a later one adds a party


def node_lost(eng, e: ev.NodeLost) -> None:
    eng.down_nodes.add(e.node)


HANDLERS = {
    ev.CallParked: callflow.arrive,
    ev.LegAnswered: leg_answered,
    ev.LegParked: leg_parked,
    ev.LegFailed: originate_failed,
    ev.LegHungUp: leg_gone,
    ev.Bridged: bridged,
    ev.PlaybackFinished: callflow.playback_finished,
    ev.DigitPressed: callflow.digit,
    ev.RegistrationChanged: desk.registration,
    ev.TimerFired: timer,
    ev.AgentLogin: desk.login,
    ev.AgentLogout: desk.logout,
    ev.AgentPause: desk.pause,
    ev.AgentResume: desk.resume,
    ev.NodeLost: node_lost,
    ev.NodeResynced: recovery.resync,
    ev.ChannelsFound: recovery.found,
    ev.ConfigReloaded: reload.reload,
    ev.CallTransfer: transfer.transfer,
    ev.CallPark: park.park,
    ev.ParkedPickUp: park.pick_up,
    ev.CallRecall: recall.take_back,
}

# the console's commands on a call and the announced transfer (engine/control.py, engine/consult.py)
from engine import consult, control  # noqa: E402  (they import engine.talk/offers, not this module)
HANDLERS.update(control.HANDLERS)
HANDLERS.update(call_recording.HANDLERS)
HANDLERS.update(written.HANDLERS)
HANDLERS.update(consult.HANDLERS)
consult.route(HANDLERS)                # the consult's legs and hang-ups first (engine/consult.py)

# supervisors' commands: monitoring (engine/monitor.py) and callbacks they create (engine/callbacks.py)
from engine import callbacks, monitor  # noqa: E402
HANDLERS.update(monitor.HANDLERS)
HANDLERS.update(callbacks.HANDLERS)
monitor.route(HANDLERS)                # monitor legs first, and every event ends monitors whose call moved

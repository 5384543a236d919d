"""Supervisor monitoring: listen, whisper and barge on an agent's connected call.

Rules:
* a supervisor is an agent of the deployment (their softphone, `user/<sip_user>`, is the
  one that rings; logging in or serving queues is not needed). One monitor per
  supervisor; a Monitor for a supervisor already monitoring that agent changes the mode
  of the running one, for another agent it is refused (`monitor.busy`: end it first);
* the agent must be in a connected call of their own: talking, on hold or consulting
  (the eavesdrop is on the agent's leg, so it follows the agent to the consulted target
  and back). A call still ringing, calling back, or already moved on by a transfer, park
  or completed consult is no call to monitor (`monitor.no_call`). Refusals go out as
  Notify("command_refused", agent=<supervisor>, error_id=monitor.*): `monitor.no_phone`
  (no such supervisor), `monitor.self`, `monitor.mode`, `monitor.busy` (the supervisor is
  offered a call, on one, or monitors another agent), `monitor.none` (MonitorEnd without
  a monitor);
* start: the supervisor's phone is rung (fx.Eavesdrop) into FreeSWITCH's `eavesdrop <agent
  leg>` with DTMF switches on and the start mode set by channel variables; its answer is
  `monitor_started`. Its leg carries cc_monitor (the agent leg), cc_supervisor,
  cc_monitor_agent, cc_monitor_mode, cc_monitor_since and cc_interaction_id, never
  cc_caller_uuid: it is neither a caller nor an agent leg, and every event of it is
  taken here before engine.handlers sees it (`route`);
* a mode change of a running monitor is DTMF queued on the supervisor's leg
  (fx.EavesdropMode): eavesdrop reads it from its own channel (switch_ivr_async.c: 0 =
  listen, 1 = speak to the other leg, 2 = speak to the eavesdropped leg, 3 = both); we
  eavesdrop on the agent's leg, so whisper (to the agent) is 2 and barge 3. The leg's
  cc_monitor_mode follows, for a restart;
* the end: the supervisor hangs up (`monitor_ended`, cause `supervisor`), MonitorEnd
  (`stopped`), the monitored call ends (`call_ended`) or its agent leg changes or goes
  (transfer, park, completed consult: `call_moved`): the engine hangs the supervisor's leg
  up. A supervisor phone that never answers is `monitor_failed` (cause: the hang-up
  cause). An originate job's -ERR after the answer is not the leg's end (FACTS.md 09);
* journal rows on the monitored interaction: monitor_started, monitor_changed,
  monitor_ended (supervisor, mode, by); a call that ends writes monitor_ended before its
  one `ended` row (Engine.end asks `call_ending`);
* recovery (engine.recovery): a live leg with cc_monitor whose interaction is connected
  on that agent leg is adopted (mode and start from its variables); any other is hung up;
* a supervisor with a monitor (ringing or running) is offered no call: Agent.monitoring
  makes them unroutable (engine.agents) from the start to the end, then the calls waiting
  for them are routed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from engine import effects as fx
from engine import events as ev
from engine.agents import AgentState
from engine.interactions import CallState, Interaction

log = logging.getLogger(__name__)

MODES = ev.MONITOR_MODES
DIGIT = {"listen": "0", "whisper": "2", "barge": "3"}   # eavesdrop's DTMF switches, agent leg eavesdropped
RING_TIMEOUT = 30.0                                      # s the supervisor's phone rings
TAG = "cc_monitor"                                       # the monitor leg's mark: the agent leg it listens to


@dataclass(slots=True)
class Monitoring:
    supervisor: str
    agent: str
    mode: str
    interaction: str
    node: str
    leg: str                     # the supervisor's leg (runs eavesdrop)
    target: str                  # the agent's leg listened to
    since: datetime
    by: str = ""
    answered: bool = False
    rung_as: str = ""            # the mode the supervisor's leg was rung with (eavesdrop starts in it)

    def view(self) -> dict:
        return {"supervisor": self.supervisor, "agent": self.agent, "mode": self.mode,
                "interaction": self.interaction, "since": self.since.isoformat(),
                "answered": self.answered}


# -- the view -------------------------------------------------------------------------------
def active(eng) -> list[dict]:
    """Running monitors (answered or still ringing the supervisor), for pages and the API."""
    return [m.view() for m in sorted(eng.monitors.values(), key=lambda m: (m.since, m.supervisor))]


def of_leg(eng, uuid: str) -> Monitoring | None:
    for m in eng.monitors.values():
        if m.leg == uuid:
            return m
    return None


def _keep(eng, m: Monitoring) -> None:
    eng.monitors[m.supervisor] = m
    _offers(eng, m.supervisor, blocked=True)


def _offers(eng, supervisor: str, blocked: bool) -> None:
    """A monitoring supervisor is offered no call (Agent.routable); once the monitor ends
    they are routable again and the calls waiting for them are routed."""
    agent = eng.agents.get(supervisor)
    if agent is None or agent.monitoring == blocked:
        return
    agent.monitoring = blocked
    eng.touch_agent(agent)
    if not blocked:
        eng.want_route_agent(agent)


# -- commands ---------------------------------------------------------------------------------
def _refuse(eng, supervisor: str, error_id: str, message: str) -> None:
    log.warning("monitor refused for %s: %s (%s)", supervisor, error_id, message)
    eng.emit(fx.Notify("command_refused", {"error_id": error_id, "agent": supervisor, "message": message}))


def _watchable(eng, agent_id: str) -> Interaction | None:
    agent = eng.agents.get(agent_id)
    if agent is None or agent.state is not AgentState.ON_CALL:
        return None
    ix = eng.calls.get(agent.interaction)
    if ix is None or ix.state is not CallState.CONNECTED or ix.transferred or ix.agent != agent_id \
            or not ix.agent_leg:
        return None
    return ix


def start(eng, e: ev.Monitor) -> None:
    sup = eng.agents.get(e.supervisor)
    if sup is None:
        return _refuse(eng, e.supervisor, "monitor.no_phone", f"no agent {e.supervisor!r} with a softphone")
    if e.supervisor == e.agent:
        return _refuse(eng, e.supervisor, "monitor.self", "a supervisor cannot monitor their own call")
    if e.mode not in MODES:
        return _refuse(eng, e.supervisor, "monitor.mode", f"mode is one of {', '.join(MODES)}")
    running = eng.monitors.get(e.supervisor)
    if running is not None and running.agent == e.agent:
        return _change(eng, running, e)
    if running is not None or sup.state in (AgentState.OFFERED, AgentState.ON_CALL):
        return _refuse(eng, e.supervisor, "monitor.busy", "the supervisor's phone is busy")
    ix = _watchable(eng, e.agent)
    if ix is None:
        return _refuse(eng, e.supervisor, "monitor.no_call", f"agent {e.agent!r} is in no connected call")
    leg = eng.new_id("leg")
    m = Monitoring(e.supervisor, e.agent, e.mode, ix.id, ix.node, leg, ix.agent_leg, eng.now, e.by, rung_as=e.mode)
    _keep(eng, m)
    agent_cfg = eng.agents[e.agent].config
    eng.emit(fx.Eavesdrop(
        node=ix.node, leg_uuid=leg, sip_user=sup.config.sip_user, target=ix.agent_leg, mode=e.mode,
        caller_id_number=agent_cfg.sip_user, caller_id_name=agent_cfg.name or agent_cfg.id,
        timeout=RING_TIMEOUT, variables=_tags(m)))


def _tags(m: Monitoring) -> dict[str, str]:
    return {TAG: m.target, "cc_supervisor": m.supervisor, "cc_monitor_agent": m.agent,
            "cc_monitor_mode": m.mode, "cc_monitor_since": m.since.isoformat(), "cc_interaction_id": m.interaction}


def _change(eng, m: Monitoring, e: ev.Monitor) -> None:
    if m.mode == e.mode:
        return
    m.mode = e.mode
    eng.emit(fx.SetVariables(m.node, m.leg, {"cc_monitor_mode": m.mode}))
    if not m.answered:       # still ringing: switched when it answers (answered)
        m.by = e.by or m.by
        return
    eng.emit(fx.EavesdropMode(m.node, m.leg, m.mode))
    if (ix := _open_call(eng, m)) is not None:
        eng.journal(ix, "monitor_changed", **_fields(m, e.by))
    _notify(eng, m, "monitor_changed")


def stop(eng, e: ev.MonitorEnd) -> None:
    m = eng.monitors.get(e.supervisor)
    if m is None:
        return _refuse(eng, e.supervisor, "monitor.none", "the supervisor monitors no call")
    end(eng, m, "stopped", by=e.by)


# -- the end ------------------------------------------------------------------------------------
def end(eng, m: Monitoring, cause: str, by: str = "", hang_up: bool = True,
        topic: str = "monitor_ended") -> None:
    """Over: forget it, hang its leg up (unless it is gone), tell the consoles. Journaled
    only if it had started (answered)."""
    if eng.monitors.get(m.supervisor) is not m:
        return
    del eng.monitors[m.supervisor]
    _offers(eng, m.supervisor, blocked=False)
    if hang_up:
        eng.cancelled[m.leg] = m.node            # its answer or park from now on is nothing new
        eng.emit(fx.Hangup(m.node, m.leg, "NORMAL_CLEARING" if m.answered else "ORIGINATOR_CANCEL"))
    if m.answered and (ix := _open_call(eng, m)) is not None:
        eng.journal(ix, "monitor_ended", **_fields(m, by), cause=cause)
    _notify(eng, m, topic, cause=cause)


def call_ending(eng, ix: Interaction) -> None:
    """The interaction is about to write its `ended` row: its monitors end first."""
    for m in [m for m in eng.monitors.values() if m.interaction == ix.id]:
        end(eng, m, "call_ended")


def check(eng) -> None:
    """After every event: a monitor whose call ended or moved away from its agent leg ends."""
    for m in list(eng.monitors.values()):
        if m.node in eng.down_nodes:
            continue                             # nothing is known about that node's calls now
        ix = eng.calls.get(m.interaction)
        if ix is None:
            end(eng, m, "call_ended")
        elif ix.state is not CallState.CONNECTED or ix.transferred or ix.agent_leg != m.target:
            end(eng, m, "call_ended" if ix.state in (CallState.WRAP_UP, CallState.ENDED) else "call_moved")


# -- the supervisor's leg ---------------------------------------------------------------------------
def answered(eng, m: Monitoring) -> None:
    if m.answered:
        return
    m.answered = True
    if (ix := _open_call(eng, m)) is not None:
        eng.journal(ix, "monitor_started", **_fields(m, m.by))
    _notify(eng, m, "monitor_started")
    if m.mode != m.rung_as:                      # changed while it rang
        eng.emit(fx.EavesdropMode(m.node, m.leg, m.mode))


def failed(eng, m: Monitoring, cause: str) -> None:
    """The originate job ended -ERR: only a leg still ringing is over by it."""
    if not m.answered:
        end(eng, m, cause, hang_up=False, topic="monitor_failed")


def hung_up(eng, m: Monitoring, cause: str) -> None:
    if m.answered:
        end(eng, m, "supervisor", hang_up=False)
    else:
        end(eng, m, cause, hang_up=False, topic="monitor_failed")


# -- recovery ------------------------------------------------------------------------------------
def resync(eng, node: str, channels) -> None:
    """The node's live channels (engine.recovery): known monitors whose leg is gone end;
    monitor legs the engine does not know are adopted if their call is still connected on
    the agent leg they listen to, else hung up."""
    live = {c.uuid: c for c in channels}
    for m in [m for m in eng.monitors.values() if m.node == node]:
        chan = live.get(m.leg)
        if chan is None:
            end(eng, m, "lost", hang_up=False)
        elif chan.answered:
            answered(eng, m)
    for chan in channels:
        v = chan.variables
        if TAG not in v or of_leg(eng, chan.uuid) is not None or chan.uuid in eng.cancelled:
            continue
        ix = eng.calls.get(v.get("cc_interaction_id", ""))
        sup, aid = v.get("cc_supervisor", ""), v.get("cc_monitor_agent", "")
        ok = (ix is not None and ix.state is CallState.CONNECTED and not ix.transferred
              and ix.agent_leg == v[TAG] and ix.agent == aid and v[TAG] in live and sup in eng.agents
              and sup not in eng.monitors and chan.answered and v.get("cc_monitor_mode") in MODES)
        if not ok:
            log.info("resync %s: monitor leg %s (call %s) has no call to listen to: hanging up",
                     node, chan.uuid, v.get("cc_interaction_id", ""))
            eng.cancelled[chan.uuid] = node
            eng.emit(fx.Hangup(node, chan.uuid, "NORMAL_CLEARING"))
            continue
        since = _time(v.get("cc_monitor_since")) or chan.created_at
        m = Monitoring(sup, aid, v["cc_monitor_mode"], ix.id, node, chan.uuid, v[TAG], since, answered=True,
                       rung_as=v["cc_monitor_mode"])
        _keep(eng, m)
        log.info("resync %s: monitor of %s by %s adopted (%s)", node, aid, sup, m.mode)
        _notify(eng, m, "monitor_started", cause="recovered")


def _time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


# -- output -------------------------------------------------------------------------------------------
def _open_call(eng, m: Monitoring) -> Interaction | None:
    ix = eng.calls.get(m.interaction)
    return ix if ix is not None and not ix.ended else None


def _fields(m: Monitoring, by: str) -> dict:
    return {"agent": m.agent, "supervisor": m.supervisor, "mode": m.mode, "by": by}


def _notify(eng, m: Monitoring, topic: str, cause: str = "") -> None:
    ix = eng.calls.get(m.interaction)
    eng.emit(fx.Notify(topic, {"supervisor": m.supervisor, "agent": m.agent, "mode": m.mode,
                               "interaction": m.interaction, "cause": cause,
                               "tenant": ix.tenant if ix is not None else ""}))


# -- the subscription (engine.handlers) ----------------------------------------------------------------
def route(handlers: dict) -> None:
    """Put the monitor legs' own handling in front of every leg handler, and the end check
    after every handler (a transfer, a park, a hang-up, a timer, a resync may end a call)."""
    def wrap(event_type, take):
        base = handlers[event_type]

        def handle(eng, e) -> None:
            if take is None or not take(eng, e):
                base(eng, e)
            if eng.monitors:
                check(eng)
        handlers[event_type] = handle

    def leg_event(act):
        def take(eng, e) -> bool:
            m = of_leg(eng, e.uuid)
            if m is None:
                return False
            act(eng, m, e)
            return True
        return take

    takes = {
        ev.LegAnswered: leg_event(lambda eng, m, e: answered(eng, m)),
        ev.LegParked: leg_event(lambda eng, m, e: None),       # eavesdrop never parks; if it did: not a call
        ev.CallParked: leg_event(lambda eng, m, e: None),
        ev.LegFailed: leg_event(lambda eng, m, e: failed(eng, m, e.cause)),
        ev.LegHungUp: leg_event(lambda eng, m, e: hung_up(eng, m, e.cause)),
    }
    for event_type in list(handlers):
        wrap(event_type, takes.get(event_type))


HANDLERS = {
    ev.Monitor: start,
    ev.MonitorEnd: stop,
}

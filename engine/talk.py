"""After the answer: talk, hang-up of either side, wrap-up, and the end of a callback.

Rules:
* when one side of a connected call hangs up, the other is hung up by us (no half
  call left in park) and the agent goes into wrap-up (the queue's `wrapup` seconds); a
  caller we hang up is remembered (engine.cancelled) until FreeSWITCH reports it gone:
  with park_after_bridge it parks first, and that park is no new call;
* the operator's part of a call they transferred or parked ends the same way
  (`agent_call_end`: wrap-up) while the interaction goes on (engine.transfer); their
  wrap-up is the queue's they answered in (`Agent.wrapup_queue`, also when the caller
  went on to another agency's queue), and its end closes nothing: only the call's own
  agent's wrap-up closes an interaction, never that of the operator who moved it;
* wrap-up ends on its timer, or early on a pause/logout; a pending pause or logout
  asked for during the call is applied then; the interaction gets `wrapup_end` and its
  one `ended` row;
* talk time and handle time feed the agent's counters and the queue's rolling figures;
* an agent leg that ends before the bridge was made (the agent answered and hung up at
  once, or while the engine was away) never reached the caller: the caller goes back to
  the queue at the place they had, hears the music again and is offered to the next
  agent; the journal says `agent_left`.
"""
from __future__ import annotations

from engine import effects as fx
from engine.agents import Agent, AgentEvent, AgentState
from engine.interactions import CallEvent, CallState, Interaction


def callback_failed(eng, ix: Interaction, cause: str) -> None:
    eng.by_leg.pop(ix.callback_leg, None)
    ix.callback_leg = ""
    ix.apply(CallEvent.CALLBACK_FAILED, eng.now)
    eng.journal(ix, "callback_failed", agent=ix.agent, cause=cause)
    if ix.agent_leg:
        eng.hang_up_agent_leg(ix.node, ix.agent_leg, ix.agent)
        eng.by_leg.pop(ix.agent_leg, None)
        ix.agent_leg = ""
    agent_call_end(eng, ix, talk=0.0)
    eng.end(ix, "callback_failed")
    eng.forget(ix)


def talk_end(eng, ix: Interaction, by: str) -> None:
    """Either side of a connected call hung up ("caller", "agent"; "unseen": both ended while
    the engine could not see them): hang the other up, agent into wrap-up."""
    if by == "caller" and ix.agent_leg:
        eng.hang_up_agent_leg(ix.node, ix.agent_leg, ix.agent)
    elif by == "agent" and ix.uuid:
        eng.cancelled[ix.uuid] = ix.node        # its park_after_bridge re-park is no new call
        eng.emit(fx.Hangup(ix.node, ix.uuid))
    for leg in (ix.uuid, ix.agent_leg):
        if leg:
            eng.by_leg.pop(leg, None)
    ix.uuid = ix.agent_leg = ""
    talk = (eng.now - ix.answered_at).total_seconds() if ix.answered_at else 0.0
    ix.apply(CallEvent.TALK_END, eng.now)
    eng.journal(ix, "talk_ended", agent=ix.agent, by=by, talk=f"{talk:.3f}")
    agent_call_end(eng, ix, talk)


def agent_left_unbridged(eng, ix: Interaction, cause: str) -> None:
    from engine import callflow
    eng.by_leg.pop(ix.agent_leg, None)
    eng.emit(fx.CancelTimer(f"bridge:{ix.id}"))
    agent_id = ix.agent
    eng.journal(ix, "agent_left", agent=agent_id, cause=cause, stage="before_bridge")
    agent_call_end(eng, ix, talk=0.0)
    ix.agent = ix.agent_leg = ""
    ix.answered_at = ix.bridge_at = None
    ix.last_agent = agent_id
    ix.apply(CallEvent.AGENT_LEFT, eng.now)
    eng.index.add_call(ix)
    q = eng.queue_of(ix)
    eng.emit(fx.SetVariables(ix.node, ix.uuid, {"cc_state": "queued", "cc_agent": "", "cc_agent_uuid": "",
                                                "cc_seq": str(ix.seq)}))
    if ix.queue_entered_at is not None:
        left = q.max_wait - (eng.now - ix.queue_entered_at).total_seconds()
        eng.schedule(f"maxwait:{ix.id}", max(0.0, left))
    callflow.play(eng, ix, [], ("moh",))
    eng.touch_call(ix)
    eng.want_route_call(ix)


def agent_call_end(eng, ix: Interaction, talk: float) -> None:
    agent = eng.agents.get(ix.agent)
    if agent is None or agent.state is not AgentState.ON_CALL or agent.interaction != ix.id:
        return
    q = eng.queue_of(ix)
    agent.talk_time += talk
    agent.idle_since = eng.now
    agent.apply(AgentEvent.CALL_END, eng.now)
    agent.leg, agent.wrapup_queue = "", ix.queue   # a call moved on to another queue leaves this one's wrap-up
    eng.stats.handled(ix.queue, talk + q.wrapup)
    eng.touch_agent(agent)
    if q.wrapup > 0:
        eng.schedule(f"wrapup:{agent.id}", q.wrapup)
    else:
        wrapup_end(eng, agent)


def wrapup_end(eng, agent: Agent) -> None:
    """Wrap-up over (timer, pause or logout): close the interaction, apply a pending request."""
    if agent.state is not AgentState.WRAP_UP:
        return
    ix = eng.calls.get(agent.interaction)
    pending, agent.pending = agent.pending, None
    if pending and pending[0] == "pause":
        agent.apply(AgentEvent.PAUSE, eng.now, pending[1])
    elif pending and pending[0] == "logout":
        agent.apply(AgentEvent.LOGOUT, eng.now)
    else:
        agent.apply(AgentEvent.WRAPUP_END, eng.now)
        eng.want_route_agent(agent)
    eng.emit(fx.CancelTimer(f"wrapup:{agent.id}"))
    eng.touch_agent(agent)
    if ix is not None and ix.state is CallState.WRAP_UP and ix.agent == agent.id:   # not a moved call's next agent's
        ix.apply(CallEvent.WRAP_END, eng.now)
        eng.journal(ix, "wrapup_end", agent=agent.id)
        eng.end(ix, "completed")
        eng.forget(ix)

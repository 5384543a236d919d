"""The operator parks a call; another agent of the agency (or the operator) picks it up.

Rules (what all moves share, the recall included: engine.recall):
* park: the caller waits with music for the agency's `park_timeout` (`park:<ix>`), then
  is recalled ("park_timeout"); `parked` (agent, talk) and Notify("parked") tell the
  consoles;
* pick-up: the call must be parked and of an agency the agent serves (a member, in this
  shift, of one of its queues), the agent available or in wrap-up (ended for it),
  registered, with no pending pause/logout and no leg of theirs still up; a reject/busy
  delay is waived. `picked_up`, then it rings on their phone alone; not answered, it is
  routed from the front of its queue like a recall.
"""
from __future__ import annotations

from datetime import timedelta

from engine import control, offers, talk
from engine import effects as fx
from engine import events as ev
from engine.agents import Agent, AgentState
from engine.errors import NoCall, NotYourCall, WrongCallState
from engine.interactions import CallEvent, CallState, Interaction
from engine.recall import movable, queue_front, recall, release_operator, talk_seconds


def park(eng, e: ev.CallPark) -> None:
    agent, ix = movable(eng, e.agent)
    seconds = eng.tenant_of(ix).park_timeout
    talked = talk_seconds(eng, ix)
    ix.apply(CallEvent.PARK, eng.now)
    ix.deadline = eng.now + timedelta(seconds=seconds)
    eng.journal(ix, "parked", agent=agent.id, talk=f"{talked:.3f}")
    release_operator(eng, ix, agent, talked)
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
    queue_front(eng, ix)
    eng.touch_agent(agent)
    if agent.routable:
        offers.offer(eng, ix, [agent])
    else:
        eng.want_route_call(ix)


def serves(eng, agent: Agent, tenant: str) -> bool:
    """The agent is a member (in this shift) of a queue of `tenant`."""
    queues = eng.deployment.queues
    return any(queues[qid].tenant == tenant for qid, _ in eng.index.members.get(agent.id, ()) if qid in queues)


def park_timeout(eng, ix: Interaction) -> None:
    if ix.state is CallState.PARKED and ix.deadline is not None and ix.deadline <= eng.now:
        recall(eng, ix, "park_timeout")

"""Agent commands from the console (login, logout, pause, resume) and softphone registration.

Rules:
* commands are idempotent where that is harmless (login when logged in with the same
  queues, logout when logged out); a command the state table forbids raises
  IllegalTransition, a command the configuration forbids a typed CommandRefused; the
  facade turns both into Notify("command_refused");
* login chooses the shift's queues: a subset of the agent's configured queues (empty =
  all of them; several = blended); a queue that does not exist or is not the agent's is
  refused. A logged-in agent changes its queues with another login between calls
  (available, paused or in wrap-up; not while a call rings or is talked); a queue it
  leaves that has nobody logged in any more sends its waiting callers to its "no
  agents" overflow, as a logout does;
* with `pause_reasons` configured, a pause must give one of their ids (the engine's own
  "no answer" pause is always allowed); without them any reason text is taken;
* pause or logout during a call is kept as pending and applied at the end of wrap-up;
  during wrap-up it ends the wrap-up; while a leg rings it cancels the leg first;
* an unregistered softphone makes the agent unroutable but not logged out;
* when the last logged-in agent of a queue leaves, the queue's waiting callers go to
  its "no agents" overflow.
"""
from __future__ import annotations

from engine import callflow, offers, talk
from engine import events as ev
from engine.agents import NO_ANSWER_REASON, Agent, AgentEvent, AgentState
from engine.errors import AgentOnCall, QueueNotServed, UnknownAgent, UnknownPauseReason
from engine.interactions import CallState


def login(eng, e: ev.AgentLogin) -> None:
    agent = _agent(eng, e.agent)
    chosen = _chosen_queues(agent, e.queues, eng.deployment.queues)
    if agent.state is not AgentState.LOGGED_OUT:
        _change_queues(eng, agent, chosen)
        return
    agent.active_queues = chosen
    agent.apply(AgentEvent.LOGIN, eng.now)
    agent.idle_since = eng.now
    agent.no_answers = 0
    eng.touch_agent(agent)
    eng.want_route_agent(agent)


def logout(eng, e: ev.AgentLogout) -> None:
    agent = _agent(eng, e.agent)
    if agent.state is AgentState.LOGGED_OUT:
        return
    if _defer(agent, ("logout", "")):
        return
    _leave_call(eng, agent, "agent_logout")
    if agent.state is AgentState.WRAP_UP:
        agent.pending = ("logout", "")
        talk.wrapup_end(eng, agent)
    else:
        agent.apply(AgentEvent.LOGOUT, eng.now)
    agent.ready_at = None
    eng.touch_agent(agent)
    _unstaffed_queues(eng, agent)


def pause(eng, e: ev.AgentPause) -> None:
    agent = _agent(eng, e.agent)
    reasons = eng.deployment.pause_reasons
    if reasons and e.reason != NO_ANSWER_REASON and e.reason not in {r.id for r in reasons}:
        raise UnknownPauseReason(agent.id, f"no pause reason {e.reason!r}")
    if _defer(agent, ("pause", e.reason)):
        return
    _leave_call(eng, agent, "agent_pause")
    if agent.state is AgentState.WRAP_UP:
        agent.pending = ("pause", e.reason)
        talk.wrapup_end(eng, agent)
    else:
        agent.apply(AgentEvent.PAUSE, eng.now, e.reason)
    eng.touch_agent(agent)


def resume(eng, e: ev.AgentResume) -> None:
    agent = _agent(eng, e.agent)
    if agent.pending and agent.pending[0] == "pause":
        agent.pending = None
        return
    agent.apply(AgentEvent.RESUME, eng.now)
    agent.no_answers = 0
    eng.touch_agent(agent)
    eng.want_route_agent(agent)


def registration(eng, e: ev.RegistrationChanged) -> None:
    aid = eng.by_sip.get(e.sip_user)
    if aid is None:
        return
    agent = eng.agents[aid]
    if agent.registered == e.registered:
        return
    agent.registered = e.registered
    eng.touch_agent(agent)
    if e.registered:
        eng.want_route_agent(agent)


def ready(eng, agent: Agent) -> None:
    """The reject/busy/no-answer delay is over."""
    if agent.ready_at is not None and agent.ready_at <= eng.now:
        agent.ready_at = None
        eng.touch_agent(agent)
        eng.want_route_agent(agent)


def _chosen_queues(agent: Agent, queues, known) -> tuple[str, ...]:
    """The login's queue choice, normalised: sorted, () when it is every configured queue."""
    configured = set(agent.config.queues)
    chosen = set(queues)
    for qid in sorted(chosen):
        if qid not in known or qid not in configured:
            raise QueueNotServed(agent.id, f"queue {qid!r} is not one of the agent's queues")
    return () if not chosen or chosen == configured else tuple(sorted(chosen))


def _change_queues(eng, agent: Agent, chosen: tuple[str, ...]) -> None:
    if chosen == agent.active_queues:
        return
    if agent.state in (AgentState.OFFERED, AgentState.ON_CALL):
        raise AgentOnCall(agent.id, "queues are changed between calls")
    left = {qid for qid, _ in eng.index.members.get(agent.id, ())}
    agent.active_queues = chosen
    eng.touch_agent(agent)                      # the index moves the agent (engine.queues)
    left -= {qid for qid, _ in eng.index.members.get(agent.id, ())}
    _unstaffed(eng, sorted(left))
    eng.want_route_agent(agent)


def _agent(eng, aid: str) -> Agent:
    agent = eng.agents.get(aid)
    if agent is None:
        raise UnknownAgent(aid)
    return agent


def _defer(agent: Agent, request: tuple[str, str]) -> bool:
    if agent.state is AgentState.ON_CALL:
        agent.pending = request
        return True
    return False


def _leave_call(eng, agent: Agent, reason: str) -> None:
    if agent.state is AgentState.OFFERED:
        ix = eng.calls.get(agent.interaction)
        if ix is not None and agent.leg in ix.legs:
            leg = agent.leg
            offers.cancel_leg(eng, ix, leg, reason)
            if not ix.legs and ix.state in (CallState.OFFERING, CallState.CALLBACK_OFFERING):
                offers.offer_failed(eng, ix)        # a callback's reserved leg is released with it
                ix.last_agent = agent.id
                eng.want_route_call(ix)


def _unstaffed_queues(eng, agent: Agent) -> None:
    _unstaffed(eng, [qid for qid, _ in eng.index.members.get(agent.id, ())])


def _unstaffed(eng, queues) -> None:
    for qid in queues:
        q = eng.index.queues[qid]
        if q.staffed:
            continue
        for ix in [ix for ix in q.waiting_calls() if ix.state is CallState.QUEUED]:
            callflow.overflow(eng, ix, q.config.no_agents, "no_agents")

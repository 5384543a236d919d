"""The agent's own call from the console: answer, hang up, hold, DTMF, wrap-up end, message taken.

Rules:
* every command acts only on the asking agent's own call (`Agent.interaction`): no call
  -> NoCall, a call that is not theirs -> NotYourCall, their call in a state the command
  does not act on -> WrongCallState; the facade turns each into Notify("command_refused");
* answer: only a call ringing on the agent's phone, and only when their phone is marked
  as answering on the console's word (AgentConfig.auto_answer; otherwise NoRemoteAnswer
  and the console hides the button). FreeSWITCH cannot answer a ringing outbound leg
  itself (`uuid_answer` of it is a no-op, switch_channel.c): the engine asks it to send
  the phone a SIP NOTIFY "Event: talk" (fx.PhoneEvent = `uuid_phone_event <leg> talk`,
  mod_sofia), which such a phone honours by answering. The answer itself is the leg's
  CHANNEL_ANSWER, handled like an answer on the phone;
* hang-up of a ringing call is a rejection (the leg is hung up with CALL_REJECTED and
  handled exactly as the phone's reject: journal `rejected`, the reject delay, the call
  routed on); hang-up of a talking call hangs up both legs at once and ends the talk
  here (`talk_ended` by "agent", then wrap-up), so the legs' hangup events that follow
  find nothing and the journal keeps its one `ended` row; a call answered but not yet
  bridged goes back to the queue (the caller never heard the agent: `agent_left`);
  during an announced transfer the console uses cancel or complete instead;
* hold and resume put the caller on FreeSWITCH's hold (uuid_hold) on a bridged call;
  journaled `hold` / `unhold` (hold time is reported from them); asking for the state
  the call is already in does nothing;
* DTMF (`^[0-9*#A-Da-d]{1,32}$`, anything else refused before it reaches FreeSWITCH)
  goes to the party the agent talks to: the caller, or the consulted target; the
  journal counts the digits, never keeps them (they may be a PIN);
* wrap-up end: with result codes configured the agent gives one of their ids; a forced
  end (a supervisor) needs none. The result is journaled (`result`, code, forced) on the
  interaction before it closes;
* a message taken for an absent person is journaled (`message_taken`: person,
  recipient, delivered) while the interaction exists (during the call or its wrap-up);
  its text never enters the engine.
"""
from __future__ import annotations

import re

from engine import effects as fx
from engine import events as ev
from engine import offers, talk
from engine.agents import Agent, AgentState
from engine.errors import (ConsultInProgress, InvalidDigits, NoCall, NoRemoteAnswer, NotInWrapUp,
                           NotYourCall, UnknownAgent, UnknownResultCode, WrongCallState)
from engine.interactions import CallState, Interaction

DIGITS = re.compile(r"[0-9*#A-Da-d]{1,32}")


def agent_of(eng, aid: str) -> Agent:
    agent = eng.agents.get(aid)
    if agent is None:
        raise UnknownAgent(aid)
    return agent


def own_call(eng, agent: Agent, *states: AgentState) -> Interaction:
    """The agent's own interaction, the agent being in one of `states`."""
    ix = eng.calls.get(agent.interaction) if agent.interaction else None
    if ix is None or agent.state not in states:
        raise NoCall(agent.id, f"no call in state {'/'.join(s.value for s in states)}")
    return ix


def talking(eng, aid: str) -> tuple[Agent, Interaction]:
    """The agent's connected call, which must be theirs (not one they transferred on)."""
    agent = agent_of(eng, aid)
    ix = own_call(eng, agent, AgentState.ON_CALL)
    if ix.agent != agent.id or ix.transferred:
        raise NotYourCall(agent.id, f"interaction {ix.id} is not the agent's call")
    if ix.state is not CallState.CONNECTED:
        raise WrongCallState(agent.id, f"interaction {ix.id} is {ix.state.value}")
    return agent, ix


def answer(eng, e: ev.CallAnswer) -> None:
    agent = agent_of(eng, e.agent)
    ix = own_call(eng, agent, AgentState.OFFERED)
    if ix.legs.get(agent.leg) != agent.id:
        raise NotYourCall(agent.id, f"no leg of interaction {ix.id} rings for the agent")
    if not agent.config.auto_answer:
        raise NoRemoteAnswer(agent.id, "the agent's phone does not answer on the console's word: answer on the phone")
    eng.emit(fx.PhoneEvent(ix.node, agent.leg, "talk"))


def hangup(eng, e: ev.CallHangup) -> None:
    agent = agent_of(eng, e.agent)
    if agent.state is AgentState.OFFERED:
        _reject(eng, agent)
        return
    ix = own_call(eng, agent, AgentState.ON_CALL)
    if ix.agent != agent.id or ix.transferred:
        raise NotYourCall(agent.id, f"interaction {ix.id} is not the agent's call")
    if ix.consult_leg:
        raise ConsultInProgress(agent.id, "cancel or complete the announced transfer first")
    if ix.state is CallState.CALLING_BACK:
        eng.by_leg.pop(ix.callback_leg, None)
        eng.cancelled[ix.callback_leg] = ix.node
        eng.emit(fx.Hangup(ix.node, ix.callback_leg, "ORIGINATOR_CANCEL"))
        talk.callback_failed(eng, ix, "AGENT_HANGUP")
        return
    if ix.state is not CallState.CONNECTED:
        raise WrongCallState(agent.id, f"interaction {ix.id} is {ix.state.value}")
    leg = ix.agent_leg
    if not ix.bridged and ix.uuid and not ix.callback_leg and ix.queue in eng.deployment.queues \
            and eng.tenant_of(ix) is not None:
        eng.hang_up_agent_leg(ix.node, leg, agent.id)
        talk.agent_left_unbridged(eng, ix, "NORMAL_CLEARING")
        return
    if leg:
        eng.by_leg.pop(leg, None)
        eng.hang_up_agent_leg(ix.node, leg, agent.id)
    talk.talk_end(eng, ix, "agent")            # hangs up the caller, wrap-up


def _reject(eng, agent: Agent) -> None:
    """The console's reject of a ringing call: as the phone's CALL_REJECTED."""
    ix = own_call(eng, agent, AgentState.OFFERED)
    leg = agent.leg
    if ix.legs.get(leg) != agent.id:
        raise NotYourCall(agent.id, f"no leg of interaction {ix.id} rings for the agent")
    eng.hang_up_agent_leg(ix.node, leg, agent.id, "CALL_REJECTED")
    eng.cancelled[leg] = ix.node
    offers.leg_failed(eng, ix, leg, "CALL_REJECTED")


def hold(eng, e: ev.CallHold) -> None:
    agent, ix = talking(eng, e.agent)
    if ix.consult_leg:
        raise ConsultInProgress(agent.id, "the announced transfer holds the caller itself")
    if not ix.bridged or not ix.uuid:
        raise WrongCallState(agent.id, f"interaction {ix.id} is not bridged")
    if ix.held == e.on:
        return
    ix.held = e.on
    eng.emit(fx.Hold(ix.node, ix.agent_leg, e.on))   # its partner, the caller, hears the hold music
    if e.on:
        eng.journal(ix, "hold", agent=agent.id)
    else:
        eng.journal(ix, "unhold", agent=agent.id)


def digits(eng, e: ev.CallDigits) -> None:
    agent, ix = talking(eng, e.agent)
    if not DIGITS.fullmatch(e.digits or ""):
        raise InvalidDigits(agent.id, "DTMF digits are 0-9, *, #, A-D (1 to 32 of them)")
    to_target = bool(ix.consult_leg) and ix.deadline is None and ix.talking_to in ("target", "both")
    leg = ix.consult_leg if to_target else ix.uuid
    if not leg:
        raise WrongCallState(agent.id, f"interaction {ix.id} has nobody to send digits to")
    eng.emit(fx.SendDigits(ix.node, leg, e.digits))
    eng.journal(ix, "digits", agent=agent.id, to="target" if to_target else "caller", count=len(e.digits))


def wrapup_end(eng, e: ev.WrapUpEnd) -> None:
    agent = agent_of(eng, e.agent)
    if agent.state is not AgentState.WRAP_UP:
        raise NotInWrapUp(agent.id, f"agent is {agent.state.value}")
    codes = eng.deployment.result_codes
    if codes and not e.forced and e.result not in {c.id for c in codes}:
        raise UnknownResultCode(agent.id, f"no result code {e.result!r}")
    ix = eng.calls.get(agent.interaction)
    if ix is not None and (e.result or e.forced):
        if e.forced:
            eng.journal(ix, "result", agent=agent.id, code="", forced=1)
        else:
            eng.journal(ix, "result", agent=agent.id, code=e.result)
    talk.wrapup_end(eng, agent)


def message_taken(eng, e: ev.MessageTaken) -> None:
    agent = agent_of(eng, e.agent)
    ix = own_call(eng, agent, AgentState.ON_CALL, AgentState.WRAP_UP)
    if ix.id != e.interaction:
        raise NotYourCall(agent.id, f"interaction {e.interaction} is not the agent's call")
    eng.journal(ix, "message_taken", agent=agent.id, person=e.person, recipient=e.recipient,
                delivered=int(bool(e.delivered)))


HANDLERS = {
    ev.CallAnswer: answer,
    ev.CallHangup: hangup,
    ev.CallHold: hold,
    ev.CallDigits: digits,
    ev.WrapUpEnd: wrapup_end,
    ev.MessageTaken: message_taken,
}

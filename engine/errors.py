"""Typed domain errors of the ACD, each with a stable `error_id` (part of the API).

Rules: the facade turns these into Notify("command_refused", {"error_id": ...}) for
console commands; adapters map error ids to HTTP/Socket.IO replies in one place.
"""
from __future__ import annotations


class DomainError(Exception):
    error_id = "engine.error"


class UnknownAgent(DomainError):
    error_id = "engine.unknown_agent"

    def __init__(self, agent: str):
        self.agent = agent
        super().__init__(f"no agent {agent!r} in the deployment")


# -- refusals of the console's commands (engine/desk.py, engine/control.py, engine/consult.py)

class CommandRefused(DomainError):
    """A console command the agent's or the call's situation does not allow."""

    error_id = "engine.command_refused"

    def __init__(self, agent: str, message: str):
        self.agent = agent
        super().__init__(f"agent {agent!r}: {message}")


class NoCall(CommandRefused):
    error_id = "engine.no_call"


class NotYourCall(CommandRefused):
    error_id = "engine.not_your_call"


class WrongCallState(CommandRefused):
    """The agent's own call is not in a state this command acts on (not yet bridged, ...)."""

    error_id = "engine.call_state"


class InvalidDigits(CommandRefused):
    error_id = "engine.invalid_digits"


class InvalidTarget(CommandRefused):
    error_id = "engine.invalid_target"


class NoRemoteAnswer(CommandRefused):
    """The agent's phone is not configured to answer on the console's word (AgentConfig.auto_answer)."""

    error_id = "engine.no_remote_answer"


class QueueNotServed(CommandRefused):
    """A queue chosen at login that does not exist or that the agent is not configured for."""

    error_id = "engine.queue_not_served"


class UnknownPauseReason(CommandRefused):
    error_id = "engine.unknown_pause_reason"


class UnknownResultCode(CommandRefused):
    error_id = "engine.unknown_result_code"


class NotInWrapUp(CommandRefused):
    error_id = "engine.not_in_wrap_up"


class AgentOnCall(CommandRefused):
    """Queues are changed between calls, not while a call rings or is talked."""

    error_id = "engine.agent_on_call"


class ConsultInProgress(CommandRefused):
    error_id = "engine.consult_in_progress"


class NoConsult(CommandRefused):
    error_id = "engine.no_consult"


class TooSoon(CommandRefused):
    """A second uuid_bridge of a call this soon after the last one could hang up both
    legs (tests/data/esl-corpus/FACTS.md "10"): the command is refused, the console may ask again."""

    error_id = "engine.too_soon"


# -- the operator takes a moved call back (engine.recall.take_back) ------------------------

class RecallNotMoved(CommandRefused):
    """The call is not transferring, parked or camped on a busy target: nothing to take back."""

    error_id = "recall.not_moved"


class RecallNotYours(CommandRefused):
    """Only the operator who moved the call takes it back (others pick a parked call up)."""

    error_id = "recall.not_yours"


class RecallAnswered(CommandRefused):
    """The transfer target answered first: the call is theirs now."""

    error_id = "recall.answered"


class RecallBusy(CommandRefused):
    """The operator cannot take a call now (another call, paused, logged out, no phone, a
    pause or logout pending): the move goes on untouched."""

    error_id = "recall.busy"


# -- recording (engine/call_recording.py) --------------------------------------------------

class NoRecording(CommandRefused):
    """Pause/resume of a recording asked for a call that is not being recorded."""

    error_id = "engine.no_recording"

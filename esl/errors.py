"""Typed Event Socket errors.

Two families, so callers can decide what to do without parsing messages:

* ``LocalError``: *we* sent something invalid (a command with a newline in it, an
  unknown event format). Retrying will not help; it is a bug on our side.
* ``RemoteError``: FreeSWITCH refused (``-ERR ...``), did not answer in time, sent bytes
  that are not the Event Socket protocol, or went away. The connection layer resets and
  resyncs on the last three; a refusal is reported to the caller.

Every error has a stable ``error_id`` (part of the API, used in logs and replies).
"""
from __future__ import annotations


class ESLError(Exception):
    error_id = "esl"


class LocalError(ESLError):
    """We sent (or were about to send) something invalid."""

    error_id = "esl.local"


class InvalidCommand(LocalError):
    error_id = "esl.local.invalid_command"


class RemoteError(ESLError):
    """FreeSWITCH refused, timed out, sent garbage or went away."""

    error_id = "esl.remote"


class CommandFailed(RemoteError):
    """FreeSWITCH answered ``-ERR ...`` (command/reply) or an api body starting with ``-ERR``."""

    error_id = "esl.remote.command_failed"

    def __init__(self, command: str, reply: str):
        super().__init__(f"{command!r} -> {reply.strip()!r}")
        self.command = command
        self.reply = reply.strip()

    @property
    def cause(self) -> str:
        """The hangup cause of a failed originate (``-ERR USER_BUSY`` -> ``USER_BUSY``)."""
        text = self.reply
        if text.startswith("-ERR"):
            text = text[4:].strip()
        return text.split()[0] if text else ""


class AuthFailed(RemoteError):
    error_id = "esl.remote.auth_failed"


class ReplyTimeout(RemoteError):
    error_id = "esl.remote.timeout"


class ConnectionLost(RemoteError):
    error_id = "esl.remote.connection_lost"


class NotConnected(ConnectionLost):
    """Nothing was sent: there was no connection to send it on."""

    error_id = "esl.remote.not_connected"


class ProtocolError(RemoteError):
    """The peer sent bytes that are not a valid Event Socket frame."""

    error_id = "esl.remote.protocol"


class FrameTooLarge(ProtocolError):
    error_id = "esl.remote.frame_too_large"

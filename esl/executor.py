"""Engine effects -> FreeSWITCH commands (STYLE 5: the engine decides, adapters act).

`plan(effect)` is pure: it returns the api commands for one call-control effect, built
by esl.commands (the one escaping builder). `Executor.run(effect)` sends them to the
effect's node and turns an asynchronous failure into an engine event:
* the agent leg is originated with `bgapi` (FreeSWITCH's api originate blocks until
  answer); a `-ERR <CAUSE>` job result becomes LegFailed(cause) in the engine's inbox;
* any other refusal is logged with its error id: the channel events that follow (a
  hangup, no bridge) tell the engine what really happened, so nothing is guessed here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping, Protocol

from engine import effects as fx
from engine import events as ev
from esl import commands
from esl.errors import CommandFailed, ESLError

log = logging.getLogger(__name__)


class ApiPort(Protocol):
    def api(self, command: str, timeout: float = ...) -> str: ...

    def bgapi(self, command: str, timeout: float = ...) -> str: ...


@dataclass(frozen=True)
class Command:
    text: str
    background: bool = False  # bgapi (result arrives as BACKGROUND_JOB)


def plan(effect) -> list[Command]:
    if isinstance(effect, fx.Originate) and effect.destination:
        return [Command(commands.originate_number(
            effect.leg_uuid, effect.destination, caller_id_number=effect.caller_id_number,
            caller_id_name=effect.caller_id_name, timeout=effect.timeout,
            variables=effect.variables), background=True)]
    if isinstance(effect, fx.Originate):
        return [Command(commands.originate_user(
            effect.leg_uuid, effect.sip_user, caller_id_number=effect.caller_id_number,
            caller_id_name=effect.caller_id_name, timeout=effect.timeout,
            variables=effect.variables), background=True)]
    if isinstance(effect, fx.Bridge):
        return [Command(commands.uuid_bridge(effect.a_uuid, effect.b_uuid))]
    if isinstance(effect, fx.Play):
        return [Command(commands.uuid_broadcast(effect.uuid, effect.prompt, loop=effect.loop))]
    if isinstance(effect, fx.StopPlayback):
        return [Command(commands.uuid_break(effect.uuid))]
    if isinstance(effect, fx.Hangup):
        return [Command(commands.uuid_kill(effect.uuid, effect.cause))]
    if isinstance(effect, fx.SetVariables):
        return [Command(c) for c in commands.uuid_setvar_multi(effect.uuid, effect.variables)]
    if isinstance(effect, fx.Answer):
        return [Command(commands.uuid_answer(effect.uuid))]
    if isinstance(effect, fx.Transfer):
        return [Command(commands.uuid_transfer(effect.uuid, effect.destination, effect.context))]
    if isinstance(effect, fx.StartRecording):
        return [Command(commands.uuid_record(effect.uuid, "start", effect.path))]
    if isinstance(effect, fx.StopRecording):
        return [Command(commands.uuid_record(effect.uuid, "stop", effect.path))]
    raise TypeError(f"not a call-control effect: {effect!r}")


class Executor:
    def __init__(self, nodes: Mapping[str, ApiPort], post: Callable[[object], None],
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 timeout: float = 10.0):
        self._nodes = nodes
        self._post = post
        self._clock = clock
        self._timeout = timeout

    def run(self, effect) -> None:
        node = self._nodes.get(effect.node)
        if node is None:
            log.error("effect for unknown node %s: %r", effect.node, effect)
            return
        for command in plan(effect):
            try:
                if command.background:
                    result = node.bgapi(command.text, timeout=effect.timeout + self._timeout)
                    if result.startswith("-ERR"):
                        raise CommandFailed(command.text, result)
                else:
                    node.api(command.text, timeout=self._timeout)
            except CommandFailed as exc:
                if isinstance(effect, fx.Originate):
                    self._post(ev.LegFailed(effect.node, effect.leg_uuid, exc.cause or "UNKNOWN", self._clock()))
                elif isinstance(effect, fx.Hangup) and "No such channel" in exc.reply:
                    log.debug("hangup of %s: already gone", effect.uuid)  # the other leg's hangup took it
                else:
                    log.warning("%s refused on %s: %s", type(effect).__name__, effect.node, exc.reply)
            except ESLError as exc:
                log.warning("%s on %s failed (%s): %s", type(effect).__name__, effect.node, exc.error_id, exc)
                if isinstance(effect, fx.Originate):
                    self._post(ev.LegFailed(effect.node, effect.leg_uuid, "ESL_" + exc.error_id.rsplit(".", 1)[-1].upper(), self._clock()))
                return

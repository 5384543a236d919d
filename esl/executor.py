"""Engine effects -> FreeSWITCH commands: the engine decides, adapters act.

`plan(effect)` is pure: it returns the api commands for one call-control effect, built
by esl.commands (the one escaping builder). `Executor.run(effect)` sends them to the
effect's node and turns an asynchronous failure into an engine event:
* the agent leg is originated with `bgapi` (FreeSWITCH's api originate blocks until
  answer); a `-ERR <CAUSE>` job result becomes LegFailed(cause) in the engine's inbox,
  and so does an originate that was never sent (no connection); the engine decides
  what a job's reply means for a leg whose channel it has already seen answer;
* an originate whose job result is lost (the Event Socket dropped after it was sent) is
  NOT reported failed: FreeSWITCH runs the job on (tests/data/esl-corpus/FACTS.md "12"), so the leg's channel
  events, the resync's look-up of every known leg or the ring timer decide;
* every originate failure is logged with its cause;
* a Bridge is performed once per idempotency key, ever, and never within BRIDGE_SPACING
  of the pair's previous uuid_bridge (a repeated uuid_bridge of legs being bridged, 10-40
  ms after the first, hangs up both: tests/data/esl-corpus/FACTS.md "10");
* a supervisor's Eavesdrop is an originate like an agent leg (bgapi, the same failure
  reports); its EavesdropMode is `uuid_recv_dtmf` on the supervisor's own leg (the
  eavesdrop app reads DTMF from its channel, esl/commands.py);
* a Conference marks every leg park_after_bridge, then moves each (one leg gone does
  not keep the others out); a Hold, SendDigits or Conference refused is only logged;
* any other refusal is logged with its error id: the channel events that follow (a
  hangup, no bridge) tell the engine what really happened, so nothing is guessed here.
"""
from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Mapping, Protocol

from engine import effects as fx
from engine.clock import utcnow
from engine import events as ev
from esl import commands
from esl.errors import CommandFailed, ESLError, InvalidCommand, LocalError, NotConnected

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
            variables=effect.variables, context=effect.context or "public"), background=True)]
    if isinstance(effect, fx.Originate):
        return [Command(commands.originate_user(
            effect.leg_uuid, effect.sip_user, caller_id_number=effect.caller_id_number,
            caller_id_name=effect.caller_id_name, timeout=effect.timeout,
            variables=effect.variables), background=True)]
    if isinstance(effect, fx.Eavesdrop):
        return [Command(commands.originate_eavesdrop(
            effect.leg_uuid, effect.sip_user, effect.target, effect.mode,
            caller_id_number=effect.caller_id_number, caller_id_name=effect.caller_id_name,
            timeout=effect.timeout, variables=effect.variables), background=True)]
    if isinstance(effect, fx.EavesdropMode):
        return [Command(commands.eavesdrop_mode(effect.leg_uuid, effect.mode))]
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
    if isinstance(effect, fx.PhoneEvent):
        return [Command(commands.uuid_phone_event(effect.uuid, effect.event))]
    if isinstance(effect, fx.Transfer):
        return [Command(commands.uuid_transfer(effect.uuid, effect.destination, effect.context))]
    if isinstance(effect, fx.Hold):
        return [Command(commands.uuid_hold(effect.uuid, effect.on))]
    if isinstance(effect, fx.SendDigits):
        return [Command(commands.uuid_send_dtmf(effect.uuid, effect.digits))]
    if isinstance(effect, fx.Conference):
        return _conference(effect)
    if isinstance(effect, fx.StartRecording):
        # RECORD_STEREO is read when the media bug starts: the leg's own audio left, its partner's right
        stereo = [Command(commands.uuid_setvar(effect.uuid, "RECORD_STEREO", "true"))] if effect.stereo else []
        return stereo + [Command(commands.uuid_record(effect.uuid, "start", effect.path))]
    if isinstance(effect, fx.MaskRecording):
        return [Command(commands.uuid_record(effect.uuid, "mask" if effect.masked else "unmask", effect.path))]
    if isinstance(effect, fx.StopRecording):
        return [Command(commands.uuid_record(effect.uuid, "stop", effect.path))]
    raise TypeError(f"not a call-control effect: {effect!r}")


def _conference(effect: fx.Conference) -> list[Command]:
    """Every leg marked park_after_bridge first, then moved into the room one by one:
    moving one leg of a uuid_bridge ends the bridge, and its partner hangs up unless it
    parks after the bridge (tests/data/esl-corpus/FACTS.md "ACD-relevant"); parked, the
    partner is still there for its own move a moment later."""
    if not effect.uuids:
        raise InvalidCommand("a conference of no legs")
    marks = [Command(commands.uuid_setvar(uuid, "park_after_bridge", "true")) for uuid in effect.uuids]
    return marks + [Command(commands.conference_move(uuid, effect.room)) for uuid in effect.uuids]


class Executor:
    """Performs call-control effects on their node (one effect at a time per caller).

    Originates are tracked from `begin()` (called in effect order, before the originate's
    own greenlet starts) until FreeSWITCH answers the job: a Hangup of such a leg that
    finds no channel yet (the bgapi thread has not created it) is retried briefly and, if
    the originate still succeeds later, performed then — a caller who leaves while the
    agent's phone starts ringing never leaves a ringing phone behind.
    """

    def __init__(self, nodes: Mapping[str, ApiPort], post: Callable[[object], None],
                 clock: Callable[[], datetime] = utcnow,
                 timeout: float = 10.0, pause: Callable[[float], None] | None = None):
        self._nodes = nodes
        self._post = post
        self._clock = clock
        self._timeout = timeout
        self._pause = pause or _gevent_pause
        self._originating: dict[str, str] = {}  # leg uuid -> hangup cause asked meanwhile ("" = none)
        self._done_keys: OrderedDict[str, None] = OrderedDict()  # idempotency keys performed (bounded)
        self._bridge_sent: OrderedDict[frozenset, float] = OrderedDict()  # pair -> monotonic time of its last uuid_bridge

    KEYS_KEPT = 100_000
    BRIDGE_SPACING = 0.15  # s between two uuid_bridges of one pair (10-40 ms apart loses both legs)

    ORIGINATES = (fx.Originate, fx.Eavesdrop)   # bgapi jobs: a -ERR is the leg's LegFailed

    def begin(self, effect) -> None:
        if isinstance(effect, self.ORIGINATES):
            self._originating.setdefault(effect.leg_uuid, "")

    def run(self, effect) -> None:
        node = self._nodes.get(effect.node)
        if node is None:
            log.error("%s for unknown node %s", type(effect).__name__, effect.node)
            self._fail_originate(effect, "UNKNOWN_NODE")
            return
        try:
            planned = plan(effect)
        except LocalError as exc:  # our bug (e.g. an undiallable callback number): never silent
            log.error("%s on %s not sent (%s): %s", type(effect).__name__, effect.node, exc.error_id, exc)
            self._fail_originate(effect, "INVALID_NUMBER_FORMAT")
            return
        if isinstance(effect, fx.Bridge) and effect.key:
            if effect.key in self._done_keys:
                log.warning("bridge %s asked twice: performed once only", effect.key)
                return
            self._done_keys[effect.key] = None
            if len(self._done_keys) > self.KEYS_KEPT:
                self._done_keys.popitem(last=False)
        if isinstance(effect, fx.Bridge):
            self._space_bridges(effect)
        if isinstance(effect, self.ORIGINATES):
            self._originate(node, effect, planned[0])
        elif isinstance(effect, fx.Hangup):
            self._hangup(node, effect, planned[0])
        elif isinstance(effect, fx.Conference):
            for command in planned:  # a leg gone meanwhile does not keep the others out
                self._send(node, effect, command)
        else:
            for command in planned:
                if not self._send(node, effect, command):
                    return

    def _space_bridges(self, effect: fx.Bridge) -> None:
        """A uuid_bridge of a pair bridged less than BRIDGE_SPACING ago waits out the rest:
        the engine decides on event times, only here is it known when the first was sent."""
        pair = frozenset((effect.a_uuid, effect.b_uuid))
        now = time.monotonic()
        last = self._bridge_sent.pop(pair, None)
        if last is not None and now - last < self.BRIDGE_SPACING:
            log.info("uuid_bridge of a pair sent %.3f s ago: waiting before sending it again", now - last)
            self._pause(self.BRIDGE_SPACING - (now - last))
        self._bridge_sent[pair] = time.monotonic()
        while self._bridge_sent and now - next(iter(self._bridge_sent.values())) > 60:
            self._bridge_sent.popitem(last=False)

    def _send(self, node, effect, command: Command) -> bool:
        try:
            node.api(command.text, timeout=self._timeout)
            return True
        except CommandFailed as exc:
            log.warning("%s refused on %s: %s", type(effect).__name__, effect.node, exc.reply)
        except ESLError as exc:
            log.warning("%s on %s failed (%s): %s", type(effect).__name__, effect.node, exc.error_id, exc)
        return False

    def _originate(self, node, effect: fx.Originate | fx.Eavesdrop, command: Command) -> None:
        self.begin(effect)
        ok = False
        try:
            node.bgapi(command.text, timeout=effect.timeout + self._timeout)  # -ERR raises CommandFailed
            ok = True
        except CommandFailed as exc:
            log.info("originate of leg %s on %s ended %s", effect.leg_uuid, effect.node, exc.cause or exc.reply)
            self._post(ev.LegFailed(effect.node, effect.leg_uuid, exc.cause or "UNKNOWN", self._clock()))
        except NotConnected as exc:
            log.warning("originate of leg %s not sent: %s", effect.leg_uuid, exc)
            self._post(ev.LegFailed(effect.node, effect.leg_uuid, "ESL_NOT_CONNECTED", self._clock()))
        except ESLError as exc:
            # sent, result unknown: FreeSWITCH may be ringing (or connecting) this leg now
            log.warning("originate of leg %s on %s: result unknown (%s): %s; its channel decides",
                        effect.leg_uuid, effect.node, exc.error_id, exc)
        finally:
            cause = self._originating.pop(effect.leg_uuid, "")
        if ok and cause:
            log.info("leg %s answered after its hangup was asked: hanging up now", effect.leg_uuid)
            self._send(node, fx.Hangup(effect.node, effect.leg_uuid, cause),
                       Command(commands.uuid_kill(effect.leg_uuid, cause)))

    def _hangup(self, node, effect: fx.Hangup, command: Command, tries: int = 6) -> None:
        delay = 0.05
        for attempt in range(tries):
            try:
                node.api(command.text, timeout=self._timeout)
                return
            except CommandFailed as exc:
                if "No such channel" not in exc.reply:
                    log.warning("Hangup refused on %s: %s", effect.node, exc.reply)
                    return
                if effect.uuid not in self._originating:
                    log.debug("hangup of %s: already gone", effect.uuid)  # the other leg's hangup took it
                    return
                # the originate is in flight and its channel not created yet: remember, retry
                self._originating[effect.uuid] = effect.cause
                if attempt + 1 < tries:
                    self._pause(delay)
                    delay *= 2
            except ESLError as exc:
                log.warning("Hangup on %s failed (%s): %s", effect.node, exc.error_id, exc)
                return

    def _fail_originate(self, effect, cause: str) -> None:
        if isinstance(effect, self.ORIGINATES):
            self._originating.pop(effect.leg_uuid, None)
            self._post(ev.LegFailed(effect.node, effect.leg_uuid, cause, self._clock()))


def _gevent_pause(seconds: float) -> None:
    import gevent

    gevent.sleep(seconds)

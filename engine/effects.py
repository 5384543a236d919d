"""Outputs of the engine: what it wants done, as frozen dataclasses.

The engine returns these from its decisions; the executor in esl/ turns call-control
effects into FreeSWITCH commands, the runtime turns Journal/Notify/timer effects into
store writes, console pushes and timers. Effects never carry a FreeSWITCH command
string: the executor owns the one escaping builder.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping


@dataclass(frozen=True)
class Originate:
    """Call an agent's softphone (user/<sip_user>) into park, with our own leg UUID.

    `variables` go on the new leg (cc_caller_uuid names the caller leg); the phone shows
    caller_id_number / caller_id_name (the caller's number, the agency/queue name).
    """

    node: str
    leg_uuid: str
    sip_user: str
    caller_id_number: str
    caller_id_name: str
    timeout: float
    variables: Mapping[str, str] = field(default_factory=dict)
    destination: str = ""            # set for a callback or transfer: dial this number, not user/<sip_user>
    context: str = ""                # the dialplan context a `destination` is dialled through ("" = public)


@dataclass(frozen=True)
class Bridge:
    """uuid_bridge a b. `key` is the idempotency key ("<interaction>/bridge/<n>"): the
    executor performs a key once, ever (a second uuid_bridge of bridging legs 10-40 ms
    after the first hangs up both: tests/data/esl-corpus/FACTS.md "10")."""

    node: str
    a_uuid: str
    b_uuid: str
    key: str = field(default="", compare=False)


@dataclass(frozen=True)
class Play:
    """Play a prompt to a leg (uuid_broadcast ... aleg). `loop` for music on hold."""

    node: str
    uuid: str
    prompt: str
    loop: bool = False


@dataclass(frozen=True)
class StopPlayback:
    node: str
    uuid: str


@dataclass(frozen=True)
class Hangup:
    node: str
    uuid: str
    cause: str = "NORMAL_CLEARING"


@dataclass(frozen=True)
class SetVariables:
    node: str
    uuid: str
    variables: Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    node: str
    uuid: str


@dataclass(frozen=True)
class PhoneEvent:
    """uuid_phone_event <uuid> talk|hold: a SIP NOTIFY (Event: talk / hold) to the phone of
    that leg. `talk` makes a phone that allows it (Snom, Yealink, Polycom with remote
    control enabled) answer a ringing call: the console's Answer (engine.control)."""

    node: str
    uuid: str
    event: str = "talk"


@dataclass(frozen=True)
class Hold:
    """uuid_hold [off] <uuid>: the leg is held and the other side of its bridge hears
    `hold_music` (FACTS.md "13"): to hold the caller, hold the agent's leg."""

    node: str
    uuid: str
    on: bool = True


@dataclass(frozen=True)
class SendDigits:
    """uuid_send_dtmf <uuid> <digits>: DTMF towards that leg's far end."""

    node: str
    uuid: str
    digits: str


@dataclass(frozen=True)
class Conference:
    """Move legs into one conference room (uuid_transfer <leg> conference:<room> inline)."""

    node: str
    uuids: tuple[str, ...]
    room: str


@dataclass(frozen=True)
class Eavesdrop:
    """Ring a supervisor's softphone (user/<sip_user>) with our own leg UUID into
    FreeSWITCH's `eavesdrop <target>` (engine.monitor): DTMF mode switches on, started in
    `mode` (listen | whisper: speaks to the target leg only | barge: to both sides)."""

    node: str
    leg_uuid: str
    sip_user: str
    target: str                      # the leg listened to (the agent's)
    mode: str
    caller_id_number: str
    caller_id_name: str
    timeout: float
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EavesdropMode:
    """Switch a running eavesdrop on `leg_uuid` (the supervisor's leg) to `mode`."""

    node: str
    leg_uuid: str
    mode: str


@dataclass(frozen=True)
class Transfer:
    node: str
    uuid: str
    destination: str
    context: str = "default"


@dataclass(frozen=True)
class StartRecording:
    """Record the leg (uuid_record start) into `path` on its node; `stereo`: the leg's
    side on the left channel, its bridge partner's on the right (the executor sets the
    channel variable FreeSWITCH reads for that first)."""

    node: str
    uuid: str
    path: str
    stereo: bool = True


@dataclass(frozen=True)
class MaskRecording:
    """Pause (`masked`) or resume a running recording: FreeSWITCH writes silence while
    it is masked, so the file keeps the call's length (uuid_record mask|unmask)."""

    node: str
    uuid: str
    path: str
    masked: bool


@dataclass(frozen=True)
class StopRecording:
    node: str
    uuid: str
    path: str


@dataclass(frozen=True)
class SendWritten:
    """Send the stored outbound message `message` of written item `item` over its
    channel (the runtime's channel sender: SMTP, SMPP or the HTTP gateway); it answers
    with WrittenSent / WrittenSendFailed. Idempotent per message: sent at most once."""

    item: str
    message: str
    channel: str
    tenant: str
    queue: str


@dataclass(frozen=True)
class ScheduleTimer:
    key: str
    at: datetime


@dataclass(frozen=True)
class CancelTimer:
    key: str


@dataclass(frozen=True)
class Journal:
    """One append-only journal row. `seq` numbers an interaction's rows from 1, so a
    replayed decision produces the same (interaction, seq) and the store drops the copy."""

    interaction: str
    seq: int
    kind: str                        # entered_queue, offered, no_answer, answered, abandoned, ...
    at: datetime
    tenant: str
    queue: str = ""
    agent: str = ""
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Notify:
    """A domain fact for consoles and wallboards (agent_paused, queue_changed, ...)."""

    topic: str
    payload: Mapping[str, object] = field(default_factory=dict)


CALL_CONTROL = (Originate, Bridge, Play, StopPlayback, Hangup, SetVariables, Answer, Transfer,
                StartRecording, StopRecording, MaskRecording, Hold, SendDigits, Conference, PhoneEvent, Eavesdrop,
                EavesdropMode)

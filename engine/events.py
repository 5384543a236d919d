"""Inputs of the engine: facts that happened, as frozen dataclasses.

The ESL adapter (esl/) translates FreeSWITCH events into these, the console and the
timer service add theirs; everything enters the engine through one inbox (single
writer). No FreeSWITCH header name appears here. Times are aware datetimes
from the injected clock or the event itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping


@dataclass(frozen=True)
class CallParked:
    """A caller's channel was parked by the entry dialplan (or is found parked at resync)."""

    node: str
    uuid: str
    destination: str                 # the dialled main number
    caller_number: str
    caller_name: str
    at: datetime
    tenant: str = ""                 # cc_tenant set by the entry dialplan, if any
    queue: str = ""                  # cc_queue set by the entry dialplan, if any
    variables: Mapping[str, str] = field(default_factory=dict)  # cc_* variables found on the channel


@dataclass(frozen=True)
class LegAnswered:
    node: str
    uuid: str
    at: datetime


@dataclass(frozen=True)
class LegParked:
    """A leg we originated (agent or callback leg) answered and now runs its `park`: the
    moment it can be bridged. A uuid_bridge sent earlier, while the originate is still
    finishing, can leave the caller waiting in a bridge the leg never joins."""

    node: str
    uuid: str
    at: datetime


@dataclass(frozen=True)
class LegFailed:
    """An originate job ended `-ERR <cause>` (busy, no answer, rejected...) or was never sent.
    Decisive only for a leg still ringing: an answered leg ends by its own hangup."""

    node: str
    uuid: str
    cause: str                       # FreeSWITCH hangup cause, e.g. USER_BUSY, NO_ANSWER, CALL_REJECTED
    at: datetime


@dataclass(frozen=True)
class LegHungUp:
    node: str
    uuid: str
    cause: str
    at: datetime


@dataclass(frozen=True)
class Bridged:
    node: str
    a_uuid: str
    b_uuid: str
    at: datetime


@dataclass(frozen=True)
class RecordingStarted:
    """FreeSWITCH opened a recording file on a leg (its media bug is running)."""

    node: str
    uuid: str
    path: str
    at: datetime


@dataclass(frozen=True)
class RecordingStopped:
    """A recording file is closed (hang-up, stop, or a failure): `cause` as FreeSWITCH
    says it (success-silence, success-maxtime, ...), or "unseen" when a resync found the
    recorded leg gone."""

    node: str
    uuid: str
    path: str
    cause: str
    at: datetime


@dataclass(frozen=True)
class PlaybackFinished:
    node: str
    uuid: str
    prompt: str
    at: datetime


@dataclass(frozen=True)
class DigitPressed:
    node: str
    uuid: str
    digit: str
    at: datetime


@dataclass(frozen=True)
class RegistrationChanged:
    sip_user: str
    registered: bool
    at: datetime
    contact: str = ""


@dataclass(frozen=True)
class TimerFired:
    key: str
    at: datetime


@dataclass(frozen=True)
class AgentLogin:
    """The agent logs in (from the console). `queues`: the queues chosen for this shift,
    a subset of the agent's configured queues (empty = all of them; blended: several)."""

    agent: str
    at: datetime
    queues: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentLogout:
    agent: str
    at: datetime


@dataclass(frozen=True)
class AgentPause:
    agent: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class AgentResume:
    agent: str
    at: datetime


@dataclass(frozen=True)
class ConfigReloaded:
    """A new, valid routing configuration replaces the running one (engine/reload.py)."""

    deployment: object               # engine.config.Deployment (typed loosely: config imports nothing here)
    at: datetime


@dataclass(frozen=True)
class NodeLost:
    """The Event Socket to a node went away; its calls are unknown until resync."""

    node: str
    at: datetime


@dataclass(frozen=True)
class ChannelSnapshot:
    """One row of `show channels as json` plus the channel's cc_* variables."""

    node: str
    uuid: str
    state: str                       # CS_* / callstate as reported
    answered: bool
    destination: str
    caller_number: str
    caller_name: str
    created_at: datetime
    bridged_to: str = ""
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeResynced:
    """After (re)connect: the node's live channels are the source of truth."""

    node: str
    channels: tuple[ChannelSnapshot, ...]
    at: datetime


@dataclass(frozen=True)
class ChannelsFound:
    """Channels a second look found after a resync: `show channels` lists a new channel
    only 80-200 ms after it exists (tests/data/esl-corpus/FACTS.md "11"), so one created just before the
    snapshot can be in neither the snapshot nor the events before it. Additive only:
    channels the engine knows are left alone, and nothing is declared gone."""

    node: str
    channels: tuple[ChannelSnapshot, ...]
    at: datetime



# -- console commands on the agent's call (engine/control.py) --------------------------
# Each names the agent who asks; the engine acts only on that agent's own call, so an
# agent can never act on another agent's call. A command the call's state forbids is
# refused with Notify("command_refused") like the desk commands.

@dataclass(frozen=True)
class WrapUpEnd:
    """Wrap-up over from the console: the agent's result code ("" = none), or a
    supervisor's forced end (`forced`)."""

    agent: str
    at: datetime
    result: str = ""
    forced: bool = False


@dataclass(frozen=True)
class CallAnswer:
    """Answer the offered call from the console: only for an agent whose phone allows it
    (AgentConfig.auto_answer); FreeSWITCH is asked to tell the phone (uuid_phone_event talk)."""

    agent: str
    at: datetime


@dataclass(frozen=True)
class CallHangup:
    agent: str
    at: datetime


@dataclass(frozen=True)
class CallHold:
    agent: str
    on: bool
    at: datetime


@dataclass(frozen=True)
class CallDigits:
    """DTMF to the caller (e.g. an IVR of the agency's own PBX after a transfer)."""

    agent: str
    digits: str
    at: datetime


@dataclass(frozen=True)
class CallTransfer:
    """Blind transfer with supervision: the agent is free at once, the caller hears music
    while `target` rings; no answer in the agency's transfer timeout, busy, rejected or
    unregistered -> the call comes back to the agent (a recall).
    `kind`: "number" (dialled through the site's outbound context), "user" (a SIP user of
    this FreeSWITCH) or "queue" (a queue id: the caller joins it at the front)."""

    agent: str
    target: str
    at: datetime
    kind: str = "number"
    name: str = ""                   # who the target is, for the console and the journal
    camp_on: bool = False            # a busy target: the caller waits and it is tried again (engine.campon)


@dataclass(frozen=True)
class CallPark:
    """Park the caller (music); back to the agent after the queue's park timeout."""

    agent: str
    at: datetime


@dataclass(frozen=True)
class ParkedPickUp:
    """The agent takes a parked call of a tenant they serve."""

    agent: str
    interaction: str
    at: datetime


@dataclass(frozen=True)
class CallRecall:
    """The operator takes back a call they moved (transfer ringing, camp-on, park): the
    target leg is cancelled, the call rings on their phone alone (engine.recall.take_back)."""

    agent: str
    interaction: str
    at: datetime


@dataclass(frozen=True)
class ConsultStart:
    """Announced transfer: the caller waits with music, the agent talks to `target`."""

    agent: str
    target: str
    at: datetime
    kind: str = "number"
    name: str = ""


@dataclass(frozen=True)
class ConsultSwap:
    """Talk to the other party (caller <-> target); the one left waits with music."""

    agent: str
    at: datetime


@dataclass(frozen=True)
class ConsultComplete:
    """Join the caller and the target; the agent leaves."""

    agent: str
    at: datetime


@dataclass(frozen=True)
class ConsultCancel:
    """Drop the target; the agent talks to the caller again."""

    agent: str
    at: datetime


@dataclass(frozen=True)
class ConsultConference:
    """Caller, agent and target in one conference."""

    agent: str
    at: datetime


@dataclass(frozen=True)
class RecordingPause:
    """The agent pauses the recording of their call (a card number, health details)."""

    agent: str
    at: datetime


@dataclass(frozen=True)
class RecordingResume:
    agent: str
    at: datetime


@dataclass(frozen=True)
class MessageTaken:
    """The agent took a message for an absent person (sent by e-mail by the console);
    kept in the interaction's journal."""

    agent: str
    interaction: str
    recipient: str                   # the person's e-mail address
    person: str                      # their name
    at: datetime
    delivered: bool = True


CONSOLE_COMMANDS = (AgentLogin, AgentLogout, AgentPause, AgentResume, WrapUpEnd, CallAnswer,
                    CallHangup, CallHold, CallDigits, CallTransfer, CallPark, ParkedPickUp,
                    CallRecall, ConsultStart, ConsultSwap, ConsultComplete, ConsultCancel, ConsultConference,
                    MessageTaken, RecordingPause, RecordingResume)


# -- supervisor commands (engine/monitor.py, engine/callbacks.py) ------------------------
# Who may ask is decided before the event reaches the engine (agent_ui/actions.py: role
# and tenant, with an audit entry); the engine checks only that the call and phones exist.

MONITOR_MODES = ("listen", "whisper", "barge")


@dataclass(frozen=True)
class Monitor:
    """A supervisor listens to the connected call of `agent` from the softphone of the
    agent `supervisor` (an agent of the routing configuration, queues optional), through
    FreeSWITCH's eavesdrop: `listen` hears both sides, `whisper` also speaks to the agent
    only, `barge` speaks to both (three-way). A Monitor for a supervisor already
    monitoring that call changes the mode of the running one."""

    supervisor: str
    agent: str
    mode: str
    at: datetime
    by: str = ""                     # who asked (username or token), for the journal


@dataclass(frozen=True)
class MonitorEnd:
    """The supervisor stops monitoring (their eavesdrop leg is hung up)."""

    supervisor: str
    at: datetime
    by: str = ""


@dataclass(frozen=True)
class CallbackCreate:
    """Call `number` back through `queue`: a callback request waiting in the queue like
    a caller who asked for one (the agent is offered it, then the number is dialled),
    e.g. for an abandoned call (`origin`: that interaction)."""

    queue: str
    number: str
    at: datetime
    origin: str = ""
    by: str = ""


SUPERVISOR_COMMANDS = (Monitor, MonitorEnd, CallbackCreate)


# -- written channels (engine/written.py) ------------------------------------------------
# The channels' intake (channels/intake.py) stores each message first, then says so here;
# the message's text and attachments never enter the engine, only their stored id.

@dataclass(frozen=True)
class WrittenArrived:
    """A stored inbound message (e-mail, SMS, web-form task). `case`: the case it belongs
    to (threading found it, or a new one); a message of a case that has an item still
    open is added to that item, otherwise it makes a new item in `queue`. `automatic`
    (an auto-reply, a bounce, bulk mail) is filed but never answered automatically."""

    channel: str                     # email | sms | task
    tenant: str
    queue: str
    message: str                     # the stored message's id (idempotency: filed once)
    case: str
    at: datetime
    sender: str = ""                 # an e-mail address, an E.164 number, a form's contact
    sender_name: str = ""
    subject: str = ""
    priority: int = 0
    skills: tuple[str, ...] = ()
    automatic: bool = False


@dataclass(frozen=True)
class ItemAccept:
    """The agent takes the written item offered to her (it becomes hers, open)."""

    agent: str
    item: str
    at: datetime


@dataclass(frozen=True)
class ItemDecline:
    """The agent does not take the offered item: it goes back to its place in the queue."""

    agent: str
    item: str
    at: datetime


@dataclass(frozen=True)
class ItemReply:
    """The agent sends a reply (stored first as message `message`, direction out)."""

    agent: str
    item: str
    message: str
    at: datetime


@dataclass(frozen=True)
class ItemTransfer:
    """The agent (or a supervisor, `by`) sends the item to another queue (another
    agency's too): it waits there at its original place, before everything newer."""

    agent: str
    item: str
    queue: str
    at: datetime
    by: str = ""


@dataclass(frozen=True)
class ItemClose:
    """The agent closes the item with a result code (a supervisor may close a waiting
    one, e.g. spam: `agent` empty, `by` the supervisor)."""

    agent: str
    item: str
    result: str
    at: datetime
    by: str = ""


@dataclass(frozen=True)
class WrittenSent:
    """The channel sender delivered outbound message `message` of `item` to the gateway
    or SMTP server (`external_id`: its Message-ID or the gateway's message id); `via`:
    how ("email", "sms", or "none": a task's answer with no contact to send it to, kept in
    Sentral only)."""

    item: str
    message: str
    at: datetime
    external_id: str = ""
    via: str = ""


@dataclass(frozen=True)
class WrittenSendFailed:
    """Sending failed for good (`permanent`) or for now (the sender retries itself and
    reports only the first failure and the last)."""

    item: str
    message: str
    error: str
    permanent: bool
    at: datetime


WRITTEN_COMMANDS = (ItemAccept, ItemDecline, ItemReply, ItemTransfer, ItemClose)
CONSOLE_COMMANDS = CONSOLE_COMMANDS + WRITTEN_COMMANDS

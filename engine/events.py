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
    agent: str
    at: datetime


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


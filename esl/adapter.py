"""FreeSWITCH events -> engine events: the one place that reads FreeSWITCH header names
for call control, and the one list of events the engine consumes.

Rules:
* a caller leg is a channel parked by the entry dialplan; agent legs are recognised by
  the `cc_caller_uuid` variable we put on them at originate, so their park is not a call
  but the moment they can be bridged (LegParked);
* times come from `Event-Date-Timestamp` (µs since the epoch, FreeSWITCH's clock), so a
  replayed or delayed event keeps its real time;
* anything not listed here is ignored (returns None), never an error.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Callable, Mapping
from urllib.parse import unquote

from engine import events as ev
from esl.protocol import Event
from engine.clock import utcnow

# Every FreeSWITCH event the engine consumes; the connection subscribes to exactly these.
SUBSCRIPTIONS = (
    "CHANNEL_PARK",
    "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE",
    "CHANNEL_HANGUP",
    "PLAYBACK_STOP",
    "RECORD_START",
    "RECORD_STOP",
    "DTMF",
    "BACKGROUND_JOB",
    "HEARTBEAT",
    "CUSTOM",
    "sofia::register",
    "sofia::unregister",
)

AGENT_LEG_MARK = "cc_caller_uuid"
CC_PREFIX = "cc_"


def event_time(event_headers: Mapping[str, str], fallback: Callable[[], datetime]) -> datetime:
    stamp = event_headers.get("Event-Date-Timestamp", "")
    if stamp.isdigit():
        return datetime.fromtimestamp(int(stamp) / 1e6, tz=timezone.utc)
    return fallback()


def cc_variables(headers: Mapping[str, str]) -> dict[str, str]:
    return {k[9:]: v for k, v in headers.items() if k.startswith("variable_" + CC_PREFIX)}



def translate(node: str, event: Event, clock: Callable[[], datetime] = utcnow):
    """One FreeSWITCH event -> one engine event, or None if the engine does not care."""
    h = event.headers
    name = event.name
    at = event_time(h, clock)
    uuid = h.get("Unique-ID", "")
    if name == "CHANNEL_PARK":
        variables = cc_variables(h)
        if AGENT_LEG_MARK in variables:
            return ev.LegParked(node, uuid, at)            # our agent or callback leg, answered
        return ev.CallParked(
            node=node, uuid=uuid,
            destination=h.get("Caller-Destination-Number", ""),
            caller_number=h.get("Caller-Caller-ID-Number", ""),
            caller_name=h.get("Caller-Caller-ID-Name", ""),
            at=at, tenant=variables.get("cc_tenant", ""), queue=variables.get("cc_queue", ""),
            variables=variables,
        )
    if name == "CHANNEL_ANSWER":
        return ev.LegAnswered(node, uuid, at)
    if name == "CHANNEL_BRIDGE":
        return ev.Bridged(node, h.get("Bridge-A-Unique-ID", uuid), h.get("Bridge-B-Unique-ID", ""), at)
    if name == "CHANNEL_HANGUP":
        return ev.LegHungUp(node, uuid, h.get("Hangup-Cause", "NORMAL_CLEARING"), at)
    if name == "PLAYBACK_STOP":
        return ev.PlaybackFinished(node, uuid, h.get("Playback-File-Path", ""), at)
    if name == "RECORD_START":
        return ev.RecordingStarted(node, uuid, h.get("Record-File-Path", ""), at)
    if name == "RECORD_STOP":
        return ev.RecordingStopped(node, uuid, h.get("Record-File-Path", ""),
                                   h.get("Record-Completion-Cause", ""), at)
    if name == "DTMF":
        return ev.DigitPressed(node, uuid, h.get("DTMF-Digit", ""), at)
    if name in ("sofia::register", "sofia::unregister"):
        user = h.get("from-user") or h.get("username", "")
        return ev.RegistrationChanged(user, name == "sofia::register", at, h.get("contact", ""))
    return None


def parse_dump(text: str) -> dict[str, str]:
    """`uuid_dump <uuid> json` output (a flat JSON object), or the plain `Name: value` lines
    (URL-encoded values) some FreeSWITCH builds answer with; ValueError if neither."""
    text = text.strip()
    if text.startswith("{"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("uuid_dump json is not an object")
        return {str(k): str(v) for k, v in data.items()}
    out = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            out[name] = unquote(value)
    if "Unique-ID" not in out:
        raise ValueError("uuid_dump output without Unique-ID")
    return out


def snapshot_from_dump(node: str, dump: str | Mapping[str, str]) -> ev.ChannelSnapshot:
    """One channel's `uuid_dump` -> the snapshot recovery works from."""
    h = parse_dump(dump) if isinstance(dump, str) else dump
    created = h.get("Caller-Channel-Created-Time", "")
    created_at = (datetime.fromtimestamp(int(created) / 1e6, tz=timezone.utc)
                  if created.isdigit() and created != "0" else utcnow())
    bridged = h.get("Other-Leg-Unique-ID") or h.get("variable_bridge_uuid") or h.get("variable_signal_bond") or ""
    return ev.ChannelSnapshot(
        node=node, uuid=h.get("Unique-ID", ""),
        state=h.get("Channel-Call-State", h.get("Channel-State", "")),
        answered=h.get("Answer-State") == "answered",
        destination=h.get("Caller-Destination-Number", ""),
        caller_number=h.get("Caller-Caller-ID-Number", ""),
        caller_name=h.get("Caller-Caller-ID-Name", ""),
        created_at=created_at, bridged_to=bridged, variables=cc_variables(h),
    )


def registered_users(sofia_status_reg: str) -> set[str]:
    """Users in `sofia status profile internal reg` (lines `User: \\t1000@host`)."""
    users = set()
    for line in sofia_status_reg.splitlines():
        if line.startswith("User:"):
            users.add(line.split(":", 1)[1].strip().split("@", 1)[0])
    return users

"""The one builder of FreeSWITCH api command strings.

Every command the engine sends is made here. The value rules (what is a safe token,
path or variable list) are engine/fsvalues.py's, shared with dialplan/ so the XML it
writes and the commands agree; here a value breaking them raises InvalidCommand (a
LocalError: our bug or bad configuration, never sent).

Rules: identifiers and what a person types (numbers, DTMF, rooms) are validated, never
escaped; free text (caller-id names) only ever travels inside `{...}` originate
variables or as the last word of uuid_setvar, escaped by engine.fsvalues.
FreeSWITCH quirks handled here (mod_commands.c, read for this module):
* `uuid_hold <uuid>` puts that leg's far end on hold and plays `hold_music` to its
  bridge partner: to let a caller hear music, hold the operator's leg. It answers
  `+OK Success` for a uuid that does not exist and `-ERR Operation failed` for a leg
  already held (or, with `off`, not held).
* `uuid_send_dtmf` sends digits out to the leg's far end (no DTMF event on the switch).
* `uuid_answer` of a ringing outbound leg answers `+OK` and does nothing (switch_channel.c);
  `uuid_phone_event <uuid> talk` makes mod_sofia send that leg's phone a SIP NOTIFY
  "Event: talk" (also before the answer: only an unanswered INBOUND leg is refused), which
  a phone allowing remote control answers with; `hold` sends "Event: hold". It answers
  `+OK Success` when the channel exists, `-ERR Operation failed` otherwise (mod_commands.c).
* `eavesdrop <uuid>` (mod_dptools, switch_ivr_async.c) listens to that leg and both
  directions of its audio; with `eavesdrop_enable_dtmf=true` it reads DTMF queued on its
  OWN channel: 0 = listen only, 1 = speak to the other leg of the bridge, 2 = speak to the
  eavesdropped leg, 3 = both, `*` ends it. `uuid_recv_dtmf <uuid> <digits>` queues DTMF on
  a channel as if its phone had sent it (what the app reads); `uuid_send_dtmf` sends it
  out to the phone, which eavesdrop never sees. The start mode: `eavesdrop_whisper_bleg`
  = 2, `eavesdrop_whisper_aleg` = 1, both = 3 (mod_dptools eavesdrop_function);
* a conference is joined by moving the leg through the inline dialplan:
  `uuid_transfer <uuid> conference:<room>@default inline` (inline splits applications
  on `,` and an application from its argument on the first `:`).
"""
from __future__ import annotations

import functools
import re
from typing import Mapping

from engine import fsvalues
from esl.errors import InvalidCommand

_CAUSE = re.compile(r"^[A-Z_]+$")


def _invalid_command(rule):
    """One of engine.fsvalues' rules, raising InvalidCommand (a LocalError) here."""
    @functools.wraps(rule)
    def checked(*args, **kwargs):
        try:
            return rule(*args, **kwargs)
        except fsvalues.UnsafeValue as exc:
            raise InvalidCommand(str(exc)) from None
    return checked


token = _invalid_command(fsvalues.token)
dial_number = _invalid_command(fsvalues.number)
extension = _invalid_command(fsvalues.extension)
digits = _invalid_command(fsvalues.digits)
room = _invalid_command(fsvalues.room)
var_name = _invalid_command(fsvalues.var_name)
path = _invalid_command(fsvalues.path)
originate_vars = _invalid_command(fsvalues.originate_vars)
clean_text = fsvalues.clean_text
originate_value = fsvalues.originate_value


def _leg_variables(leg_uuid: str, caller_id_number: str, caller_id_name: str, timeout: float,
                   variables: Mapping[str, str] | None) -> dict[str, str]:
    merged = {
        "origination_uuid": token(leg_uuid, "leg uuid"),
        "origination_caller_id_number": caller_id_number,
        "origination_caller_id_name": caller_id_name,
        "originate_timeout": str(max(1, int(round(timeout)))),
        "ignore_early_media": "true",
        "hangup_after_bridge": "false",
    }
    merged.update(variables or {})
    return merged


def originate_user(leg_uuid: str, sip_user: str, *, caller_id_number: str, caller_id_name: str,
                   timeout: float, variables: Mapping[str, str] | None = None) -> str:
    """`originate {vars}user/<ext> &park()` — the agent leg rings, then parks when answered."""
    merged = _leg_variables(leg_uuid, caller_id_number, caller_id_name, timeout, variables)
    return f"originate {originate_vars(merged)}user/{extension(sip_user)} &park()"


def originate_number(leg_uuid: str, number: str, *, caller_id_number: str, caller_id_name: str,
                     timeout: float, variables: Mapping[str, str] | None = None,
                     context: str = "public") -> str:
    """`originate {vars}loopback/<number>/<context> &park()` — a number (a callback, a
    transfer target) dialled through the site's own dialplan, which owns the route to its
    SIP trunk. `loopback_bowout=false`: once both loopback legs are bridged, mod_loopback
    would otherwise bow out and bridge the caller straight to the far end, ending the leg
    the engine knows (mod_loopback.c, read for this)."""
    merged = _leg_variables(leg_uuid, caller_id_number, caller_id_name, timeout, variables)
    merged.setdefault("loopback_bowout", "false")
    dialled = dial_number(number)
    return f"originate {originate_vars(merged)}loopback/{dialled}/{token(context or 'public', 'context')} &park()"


EAVESDROP_DIGIT = {"listen": "0", "whisper": "2", "barge": "3"}   # the eavesdropped leg is the agent's
EAVESDROP_START = {"listen": {}, "whisper": {"eavesdrop_whisper_bleg": "true"},
                   "barge": {"eavesdrop_whisper_aleg": "true", "eavesdrop_whisper_bleg": "true"}}


def _eavesdrop_mode(mode: str) -> str:
    if mode not in EAVESDROP_DIGIT:
        raise InvalidCommand(f"not an eavesdrop mode: {mode!r} (one of {', '.join(EAVESDROP_DIGIT)})")
    return mode


def originate_eavesdrop(leg_uuid: str, sip_user: str, target: str, mode: str, *, caller_id_number: str,
                        caller_id_name: str, timeout: float, variables: Mapping[str, str] | None = None) -> str:
    """`originate {vars}user/<ext> &eavesdrop(<target>)` — the supervisor's phone rings and,
    answered, listens to `target` in `mode`; when `target` ends, eavesdrop returns and the
    leg hangs up (no application follows)."""
    merged = _leg_variables(leg_uuid, caller_id_number, caller_id_name, timeout, variables)
    merged.update({"eavesdrop_enable_dtmf": "true", **EAVESDROP_START[_eavesdrop_mode(mode)]})
    return f"originate {originate_vars(merged)}user/{extension(sip_user)} &eavesdrop({token(target, 'uuid')})"


def uuid_recv_dtmf(uuid: str, dtmf: str) -> str:
    """DTMF queued on the leg itself, as if its phone sent it (what a running app reads)."""
    return f"uuid_recv_dtmf {token(uuid, 'uuid')} {digits(dtmf)}"


def eavesdrop_mode(uuid: str, mode: str) -> str:
    """Switch the eavesdrop running on the supervisor's leg `uuid` to `mode`."""
    return uuid_recv_dtmf(uuid, EAVESDROP_DIGIT[_eavesdrop_mode(mode)])


def uuid_bridge(a: str, b: str) -> str:
    return f"uuid_bridge {token(a, 'uuid')} {token(b, 'uuid')}"


def uuid_broadcast(uuid: str, prompt: str, *, loop: bool = False, leg: str = "aleg") -> str:
    media = path(prompt)
    # local_stream:// (music on hold) never ends by itself; a file loops via endless_playback
    if loop and not media.startswith(("local_stream://", "tone_stream://")):
        media = f"endless_playback::{media}"
    return f"uuid_broadcast {token(uuid, 'uuid')} {media} {leg}"


def uuid_break(uuid: str) -> str:
    return f"uuid_break {token(uuid, 'uuid')} all"


def uuid_kill(uuid: str, cause: str = "NORMAL_CLEARING") -> str:
    if not _CAUSE.fullmatch(cause or ""):
        raise InvalidCommand(f"not a hangup cause: {cause!r}")
    return f"uuid_kill {token(uuid, 'uuid')} {cause}"


def uuid_setvar(uuid: str, name: str, value: str) -> str:
    return f"uuid_setvar {token(uuid, 'uuid')} {var_name(name)} {clean_text(value)}"


def uuid_setvar_multi(uuid: str, variables: Mapping[str, str]) -> list[str]:
    """One `uuid_setvar_multi` for plain values; values holding `;` (its separator) or
    spaces go through single `uuid_setvar` commands, whose value is the rest of the line."""
    simple, single = {}, []
    for k, v in variables.items():
        text = clean_text(v)
        if ";" in text or " " in text or not text:
            single.append(uuid_setvar(uuid, k, text))
        else:
            simple[var_name(k)] = text
    commands = []
    if simple:
        commands.append(f"uuid_setvar_multi {token(uuid, 'uuid')} " + ";".join(f"{k}={v}" for k, v in simple.items()))
    return commands + single


def uuid_answer(uuid: str) -> str:
    return f"uuid_answer {token(uuid, 'uuid')}"


PHONE_EVENTS = ("talk", "hold")


def uuid_phone_event(uuid: str, event: str = "talk") -> str:
    """`uuid_phone_event <uuid> talk|hold`: a NOTIFY to the leg's phone (talk = answer)."""
    if event not in PHONE_EVENTS:
        raise InvalidCommand(f"not a phone event: {event!r} (one of {', '.join(PHONE_EVENTS)})")
    return f"uuid_phone_event {token(uuid, 'uuid')} {event}"


def uuid_transfer(uuid: str, destination: str, context: str = "default") -> str:
    return f"uuid_transfer {token(uuid, 'uuid')} {token(destination, 'destination')} XML {token(context, 'context')}"


def uuid_hold(uuid: str, on: bool = True) -> str:
    """`uuid_hold [off] <uuid>`: its far end is held and its partner hears hold music."""
    return f"uuid_hold {token(uuid, 'uuid')}" if on else f"uuid_hold off {token(uuid, 'uuid')}"


def uuid_send_dtmf(uuid: str, dtmf: str) -> str:
    return f"uuid_send_dtmf {token(uuid, 'uuid')} {digits(dtmf)}"


def conference_move(uuid: str, conference_room: str, profile: str = "default") -> str:
    """Move a leg into a conference room (created by its first member)."""
    return (f"uuid_transfer {token(uuid, 'uuid')} conference:{room(conference_room)}@{room(profile)} inline")


RECORD_ACTIONS = ("start", "stop", "mask", "unmask")   # mask/unmask: FreeSWITCH 1.10, silence while masked


def uuid_record(uuid: str, action: str, file_path: str) -> str:
    if action not in RECORD_ACTIONS:
        raise InvalidCommand(f"uuid_record action must be {'|'.join(RECORD_ACTIONS)}, not {action!r}")
    return f"uuid_record {token(uuid, 'uuid')} {action} {path(file_path)}"


def uuid_dump_json(uuid: str) -> str:
    return f"uuid_dump {token(uuid, 'uuid')} json"


def sofia_registrations(profile: str = "internal") -> str:
    """`sofia status profile <p> reg`: the softphones registered on a SIP profile (the
    `show registrations` table stays empty on a stock build: tests/data/esl-corpus/FACTS.md)."""
    return f"sofia status profile {token(profile, 'profile')} reg"

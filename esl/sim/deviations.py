"""Where the simulator deliberately differs from the FreeSWITCH in the corpus, and why.

This list is data read by tests/test_sim_conformance.py: it skips exactly these items
and nothing else. Kinds:
* ``event``: events FreeSWITCH emits that the simulator does not (removed from both sides);
* ``header``: headers not compared (``event`` "*" = in every event);
* ``command``: commands whose reply is not compared (matched as a prefix of the command line);
* ``channel``: channels (by Channel-Name prefix) whose events are not compared.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Deviation:
    kind: str
    name: str
    reason: str
    event: str = "*"


DEVIATIONS = (
    # --- Sentral is the ACD: mod_callcenter is not simulated
    Deviation("command", "api callcenter_config", "mod_callcenter is not simulated: Sentral is the ACD"),
    Deviation("event", "callcenter::info", "mod_callcenter is not simulated: Sentral is the ACD"),
    Deviation("channel", "sofia/internal/5554000@", "corpus 05's caller runs the `callcenter` application (mod_callcenter, not simulated)"),
    Deviation("channel", "sofia/internal/agent1@", "corpus 05's agent leg is originated by mod_callcenter (not simulated)"),
    # --- media and codec machinery
    Deviation("event", "CODEC", "codec negotiation is not simulated (no media)"),
    Deviation("event", "MEDIA_BUG_START", "media bugs (recording, eavesdrop taps) are internal to FreeSWITCH's media path"),
    Deviation("event", "MEDIA_BUG_STOP", "media bugs are internal to FreeSWITCH's media path"),
    Deviation("event", "CALL_UPDATE", "SIP re-INVITE/caller-id flips have no simulated SIP stack"),
    Deviation("event", "CHANNEL_UUID", "loopback renames its A leg to origination_uuid; the simulator creates it with that uuid"),
    Deviation("event", "PRIVATE_COMMAND", "internal message bookkeeping; the simulator emits it only after uuid_broadcast"),
    # --- SIP registration details
    Deviation("event", "sofia::pre_register", "digest challenge steps are not simulated (simulated users register in one step)"),
    Deviation("event", "sofia::register_attempt", "digest challenge steps are not simulated"),
    Deviation("event", "sofia::register_failure", "wrong-password REGISTERs are not simulated"),
    Deviation("event", "MESSAGE_QUERY", "voicemail MWI query after REGISTER is not simulated"),
    Deviation("event", "PRESENCE_IN", "presence is emitted only on unregister; FreeSWITCH also sends it per call state"),
    # --- shutdown internals and timing
    Deviation("event", "MODULE_UNLOAD", "module unloading at shutdown has no meaning in the simulator"),
    Deviation("event", "UNPUBLISH", "mDNS/profile unpublishing at shutdown is not simulated"),
    Deviation("event", "HEARTBEAT", "wall-clock driven (every 20 s); covered by tests/test_sim_basics.py with a short interval"),
    Deviation("event", "RE_SCHEDULE", "follows HEARTBEAT (wall-clock driven)"),
    Deviation("event", "API", "fired for every api command; its position against channel events depends on thread timing"),
    Deviation("event", "CHANNEL_STATE", "intermediate core states (CS_HIBERNATE, CS_RESET, CS_SOFT_EXECUTE, CS_EXCHANGE_MEDIA, CS_CONSUME_MEDIA) depend on FreeSWITCH's threads; the simulator emits the main ones"),
    Deviation("event", "CHANNEL_CALLSTATE", "follows the core state machine's thread timing (e.g. HELD->ACTIVE->HELD on toggle)"),
    # --- outside calls the simulator cannot reproduce
    Deviation("channel", "sofia/internal/0000000000@", "FreeSWITCH dialling itself (sofia/internal/x@127.0.0.1) creates an inbound leg; the simulator answers NO_ROUTE_DESTINATION directly"),
    # --- header details driven by SIP/media state
    Deviation("header", "Caller-Callee-ID-Name", "depends on SIP caller-id flips (CALL_UPDATE) that are not simulated"),
    Deviation("header", "Caller-Caller-ID-Name", "empty for some endpoints after caller-id flips; not simulated"),
    Deviation("header", "Caller-Callee-ID-Number", "depends on SIP caller-id flips"),
    Deviation("header", "Caller-Orig-Caller-ID-Name", "depends on SIP caller-id flips"),
    Deviation("header", "Caller-Network-Addr", "SIP network address of the far end (no SIP stack)"),
    Deviation("header", "Caller-Username", "SIP From user (no SIP stack)"),
    Deviation("header", "Caller-Dialplan", "set by the endpoint module; differs between sofia/loopback legs"),
    Deviation("header", "Caller-Transfer-Source", "kept across later transfers by FreeSWITCH"),
    Deviation("header", "Channel-Read-Codec-Name", "codec headers appear once media is up; media is not simulated"),
    Deviation("header", "Channel-Read-Codec-Rate", "codec (no media)"),
    Deviation("header", "Channel-Read-Codec-Bit-Rate", "codec (no media)"),
    Deviation("header", "Channel-Write-Codec-Name", "codec (no media)"),
    Deviation("header", "Channel-Write-Codec-Rate", "codec (no media)"),
    Deviation("header", "Channel-Write-Codec-Bit-Rate", "codec (no media)"),
    Deviation("header", "Other-Leg-*", "the other leg's profile follows SIP caller-id flips"),
    Deviation("header", "Other-Type", "originator/originatee bookkeeping of FreeSWITCH's originate"),
)


def of_kind(kind: str) -> list[Deviation]:
    return [d for d in DEVIATIONS if d.kind == kind]

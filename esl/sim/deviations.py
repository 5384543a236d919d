"""Where the simulator deliberately differs from the FreeSWITCH in the corpus, and why.

This list is data read by tests/test_sim_conformance.py: it skips exactly these items
and nothing else. Kinds:
* ``event``: events FreeSWITCH emits that the simulator does not (removed from both sides);
* ``header``: headers not compared (``event`` "*" = in every event);
* ``command``: commands whose reply is not compared (matched as a prefix of the command line);
* ``channel``: channels (by Channel-Name prefix) whose events are not compared;
* ``event-where``: events of that name whose header matches ``event`` (``Header=value``);
* ``race``: corpus files (09-12, the timing races) replayed as races, not event by event:
  the scenario is driven again against ``Timing.real()`` and the facts tests/data/esl-corpus/FACTS.md states
  (orders, job results, bridge outcomes, lags) are compared; ``reason`` says why and
  what is not compared.
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
    Deviation("event-where", "PRESENCE_IN", "mod_callcenter's queue presence (not simulated)", "proto=callcenter"),
    Deviation("channel", "sofia/internal/5554000@", "corpus 05's caller runs the `callcenter` application (mod_callcenter, not simulated)"),
    Deviation("channel", "sofia/internal/agent1@", "corpus 05's agent leg is originated by mod_callcenter (not simulated)"),
    # --- media and codec machinery
    Deviation("event", "CODEC", "codec negotiation is not simulated (no media)"),
    Deviation("event", "MEDIA_BUG_START", "media bugs (recording, eavesdrop taps) are internal to FreeSWITCH's media path"),
    Deviation("event", "MEDIA_BUG_STOP", "media bugs are internal to FreeSWITCH's media path"),
    Deviation("event", "CALL_UPDATE", "SIP re-INVITE/caller-id flips have no simulated SIP stack"),
    # --- SIP registration details
    Deviation("event", "sofia::pre_register", "digest challenge steps are not simulated (simulated users register in one step)"),
    Deviation("event", "sofia::register_attempt", "digest challenge steps are not simulated"),
    Deviation("event", "sofia::register_failure", "wrong-password REGISTERs are not simulated"),
    Deviation("event", "MESSAGE_QUERY", "voicemail MWI query after REGISTER is not simulated"),
    # --- shutdown internals and timing
    Deviation("event", "MODULE_UNLOAD", "module unloading at shutdown has no meaning in the simulator"),
    Deviation("event", "UNPUBLISH", "mDNS/profile unpublishing at shutdown is not simulated"),
    Deviation("event", "HEARTBEAT", "wall-clock driven (every 20 s); covered by tests/test_sim_basics.py with a short interval"),
    Deviation("event", "RE_SCHEDULE", "follows HEARTBEAT (wall-clock driven)"),
    Deviation("event", "API", "emitted after every api command as FreeSWITCH does (corpus 06 matches when compared), but in corpus 03 the last command's API event raced with the client's exit and was never captured"),
    Deviation("event", "CHANNEL_CALLSTATE", "emitted and in the corpus' order except where FreeSWITCH's own thread timing varies within the corpus: a loopback A leg goes ACTIVE before its park in 03 but after it in 01, and ACTIVE follows CHANNEL_UNHOLD after `hold off` but precedes it after `hold toggle` (03)"),
    # --- outside calls the simulator cannot reproduce
    Deviation("channel", "sofia/internal/0000000000@", "FreeSWITCH dialling itself (sofia/internal/x@127.0.0.1) creates an inbound leg; the simulator answers NO_ROUTE_DESTINATION directly"),
    # --- header details driven by SIP/media state
    Deviation("header", "Caller-Callee-ID-Name", "on SIP legs it follows caller-id flips (CALL_UPDATE, not simulated) and changes at hangup; on legs originated from the api it is \"Outbound Call\" at creation, compared in tests/test_sim_fidelity.py"),
    Deviation("header", "Caller-Caller-ID-Name", "empty for some endpoints after caller-id flips; not simulated"),
    Deviation("header", "Caller-Callee-ID-Number", "follows SIP caller-id flips; the destination (loopback: its context) on legs originated from the api, compared in tests/test_sim_fidelity.py"),
    Deviation("header", "Caller-Orig-Caller-ID-Name", "depends on SIP caller-id flips"),
    Deviation("header", "Caller-Network-Addr", "SIP network address of the far end (no SIP stack)"),
    Deviation("header", "Caller-Username", "SIP From user (no SIP stack)"),
    Deviation("header", "Other-Leg-*", "the other leg's profile follows SIP caller-id flips"),
    Deviation("header", "Other-Type", "originator/originatee bookkeeping of FreeSWITCH's originate"),
    # --- the timing races, captured on the project's own FreeSWITCH configuration
    Deviation("race", "09-originate-answer-race.jsonl",
              "compared: per originate the wire order of the leg's CHANNEL_ANSWER, BACKGROUND_JOB, "
              "CHANNEL_EXECUTE park and CHANNEL_PARK, the job result, when uuid_bridge was sent, whether "
              "the pair bridged and whether the leg was lost; the corpus' dice (which 2 of 8 early "
              "bridges cancel the job) are replayed with cancel_on_early_bridge 1 or 0. Not compared: "
              "event by event (the capture's trunk profile, digest-auth directory users, MESSAGE_WAITING, "
              "PRESENCE_IN of user legs and the second CHANNEL_OUTGOING after the answer are not "
              "simulated), times (the simulator's bridge is up 60 ms after the reply, FreeSWITCH's "
              "42 ms after the answer when the bridge raced the job) and Event-Sequence order"),
    Deviation("race", "10-double-uuid-bridge.jsonl",
              "compared: per pair of uuid_bridge commands (gap, back to back, two connections, after "
              "the bridge) the replies, the hangup causes, the number of CHANNEL_BRIDGE and "
              "CHANNEL_UNBRIDGE; not compared: event by event (as 09) and the CHANNEL_STATE steps "
              "between unpark and hangup"),
    Deviation("race", "11-show-channels-lag.jsonl",
              "compared: uuid_exists/uuid_dump right at once (appear and gone), and the delay until "
              "`show channels [as json]` changes, within FreeSWITCH's range per kind of channel with "
              "one 20 ms poll either side; the simulator's lag is one value (0.1 s; chaos: 80-200 ms): "
              "the 2 of 6 inbound SIP calls FreeSWITCH listed at the first poll are inside that range "
              "only because of the others; the uuid_dump body (FreeSWITCH's starts with CHANNEL_DATA "
              "event headers) and the per-poll API and CHANNEL_DATA events are not compared"),
    Deviation("race", "12-job-outlives-socket.jsonl",
              "compared: per connection mode (stays open, closed, exit, half-close) who gets the "
              "BACKGROUND_JOB, that exit/half-close are held until the job ends and that nothing but "
              "the notice follows `+OK bye`; the 2 s ring is replayed as 300 ms and the sender's own "
              "copy arriving 18 ms before the other connection's is not modelled"),
)


def of_kind(kind: str) -> list[Deviation]:
    return [d for d in DEVIATIONS if d.kind == kind]


TITLES = {
    "event": "Events FreeSWITCH emits that the simulator does not (or not in a comparable order)",
    "event-where": "Events of some modules only",
    "header": "Headers not compared (driven by SIP/media state the simulator does not have)",
    "command": "Commands not simulated",
    "channel": "Corpus channels not reproduced",
    "race": "Timing races replayed by outcome, not event by event (Timing.real())",
}

CHOSEN = (
    "`user/<ext>` for an unknown user answers `-ERR SUBSCRIBER_ABSENT`; an unregistered one `-ERR USER_NOT_REGISTERED`.",
    "Simulated durations (ring, talk, patience, prompt play time, `sleep`) scale by `time_factor`; `originate_timeout` does not.",
    "`uuid_record` writes 8 kHz 16-bit silence of the real recorded length (`Record-Completion-Cause: success-silence`), two channels when the leg's `RECORD_STEREO` was true at the start; `mask`/`unmask` answer `+OK Success` for a file being recorded (`-ERR Cannot mask recording session!` otherwise) and change nothing in the silent file.",
    "`show registrations as json` stays `{\"row_count\": 0}` as FreeSWITCH's did while a user was registered; use `sofia status profile internal reg` / `sofia_contact`.",
    "Header values (hostname `sentral-sim`, IPv4 127.0.0.1, codec PCMA once answered) are the simulator's own; header names and order follow the corpus (headers.py).",
    "`log N` is acknowledged but no `log/data` is sent.",
    "`linger N` reports `Linger-Time: N` but, like plain `linger`, holds the socket until the client leaves.",
    "Digest authentication of REGISTER, SIP/RTP and media are not simulated; a simulated user registers in one step.",
    "`Timing.ideal()` (the default) is the simulator's original order: answer, job, bridge and `show` at once; `Timing.real()` is the measured one (timing.py).",
    "`Timing.real()`: the bridge is up `bridge_setup` (60 ms) after the uuid_bridge reply also when it raced an originate job (FreeSWITCH: about 42 ms after the answer), and the show lag is one value (0.1 s) where FreeSWITCH's varied 61-202 ms.",
    "`Timing.real()` with `tick`: every event waits for its connection's next 20 ms batch, so a null leg's events follow the `api originate` reply (in 11 FreeSWITCH sent them just before it).",
    "Chaos mode puts a job's result on the wire before its leg's answer for 1 in 10 originates: the protocol allows it (separate threads) but the corpus never showed it (0 of 13).",
    "`uuid_recv_dtmf` on a leg running no eavesdrop fires its DTMF event at once (FreeSWITCH: when an application dequeues it); with `eavesdrop_enable_dtmf=false` eavesdrop still reads the digits (DTMF events) but switches nothing.",
)


def markdown() -> str:
    """DEVIATIONS.md, generated: ``python -m esl.sim.deviations > esl/sim/DEVIATIONS.md``."""
    out = ["# Where the simulator differs from FreeSWITCH", "",
           "Generated from `deviations.py` (data): tests/test_sim_conformance.py skips exactly these",
           "items when it replays the corpus, and nothing else; then behaviour the corpus does not",
           "show (chosen, not observed).", ""]
    for kind, title in TITLES.items():
        out += [f"## {title}", ""]
        out += [f"* `{d.name}`" + (f" where `{d.event}`" if kind == "event-where" else "") + f": {d.reason}"
                for d in DEVIATIONS if d.kind == kind]
        out.append("")
    out += ["## Chosen where the corpus is silent", ""] + [f"* {c}" for c in CHOSEN] + [""]
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")

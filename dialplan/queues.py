"""Queue settings and overflow targets → keyword arguments of `QueueConfig` / `Overflow`.

Rules: a queue's settings are layered: the code's defaults (QueueConfig) → the file's
`defaults: {queue: ...}` → the queue's own keys. An overflow target is one mapping
with exactly one action key (queue, voicemail, callback, message, transfer, hangup)
and an optional `prompt`, or a bare word (`hangup`, `message`, `callback`). Queue
references are only recorded here (with their node, for the error's place); the
loader checks them once every queue is known.

Written queues (`channel: email | sms | task`; the default is `voice`): their own defaults
(WRITTEN_DEFAULTS: an offer waits 2 min for acceptance, an item 7 days, the service level
is 8 h, no wrap-up, no announcements) over the code's; from the file's `defaults: queue:`
they take only the channel-neutral keys (WRITTEN_FROM_DEFAULTS), as its durations are
written for calls. Voice-only keys on them (VOICE_ONLY; `no_agents` other than the
default `message`) are `voice-only` problems; their `overflow` is only `{queue: ID}`
(`bad-overflow`; that it is a written queue of the same channel is checked with the whole
configuration, checks.channels). `reply_from` and `mailbox` are for written queues only.
"""
from __future__ import annotations

import re

import yaml

from dialplan import yamlnodes as y
from engine.config import CHANNELS, VOICE, Overflow, OverflowKind, QueueAlarms, Strategy, TierRule

QUEUE_KEYS = ("id", "name", "strategy", "ring_timeout", "max_wait", "wrapup", "max_no_answer",
              "reject_delay", "busy_delay", "no_answer_delay", "music_on_hold", "announcements",
              "overflow", "no_agents", "tiers", "skills", "priority", "service_level", "callback", "alarms",
              "recording", "channel", "reply_from", "mailbox")
# `recording` is read with its tenant (dialplan/recording.py), so it has no file-wide default;
# a queue's channel, reply address and mailbox are its own.
DEFAULT_KEYS = tuple(k for k in QUEUE_KEYS if k not in ("id", "name", "recording", "channel", "reply_from", "mailbox"))
VOICE_ONLY = ("music_on_hold", "announcements", "callback", "recording", "no_agents")
WRITTEN_DEFAULTS = {"ring_timeout": 120.0, "max_wait": 7 * 86400.0, "service_level_seconds": 8 * 3600.0,
                    "wrapup": 0.0, "announce_every": 0.0, "announce_position": False, "announce_wait_time": False}
WRITTEN_FROM_DEFAULTS = ("strategy", "max_no_answer", "reject_delay", "busy_delay", "no_answer_delay",
                         "required_skills", "priority")
OVERFLOW_KINDS = tuple(k.value for k in OverflowKind)
_TARGETED = {OverflowKind.QUEUE, OverflowKind.VOICEMAIL, OverflowKind.TRANSFER}
_DIGIT = re.compile(r"^[0-9*#]$")
_TARGET = re.compile(r"^[A-Za-z0-9_.:@+\-]{1,80}$")   # what engine.fsvalues.token accepts
# Hold music that plays on any FreeSWITCH, with no sound file installed (a source build has
# none, and local_stream://moh is silence without music files): a 425 Hz tone, 1 s on and
# 4 s off, endless. This layer's default, over engine/config.py's local_stream://moh.
HOLD_TONE = "tone_stream://%(1000,4000,425);loops=-1"
BUILTIN = {"moh": HOLD_TONE}
_SECONDS = {"ring_timeout": ("ring_timeout", 1.0), "max_wait": ("max_wait", 1.0), "wrapup": ("wrapup", 0.0),
            "reject_delay": ("reject_delay", 0.0), "busy_delay": ("busy_delay", 0.0),
            "no_answer_delay": ("no_answer_delay", 0.0), "service_level": ("service_level_seconds", 1.0)}


def overflow(ctx, node, what: str, refs: list):
    """Parse an overflow target; a queue target is appended to `refs` as (node, queue id)."""
    if isinstance(node, yaml.ScalarNode):
        word = y.scalar(ctx, node, what)
        if word in ("hangup", "message", "callback"):
            return Overflow(OverflowKind(word))
        if word is not None:
            ctx.at(node, "bad-overflow", f"{what} is {word!r}",
                   "hangup, message, callback or a mapping like {queue: ID} / {transfer: NUMBER}")
        return None
    m = y.mapping(ctx, node, what, OVERFLOW_KINDS + ("prompt",))
    if m is None:
        return None
    kinds = [k for k in m if k != "prompt"]
    if len(kinds) != 1:
        ctx.at(node, "bad-overflow", f"{what} names {len(kinds)} actions ({', '.join(kinds) or 'none'})",
               "exactly one of: " + ", ".join(OVERFLOW_KINDS))
        return None
    kind = OverflowKind(kinds[0])
    target_node = m[kinds[0]][1]
    reader = y.prompt if kind in (OverflowKind.MESSAGE, OverflowKind.CALLBACK) else y.text
    target = reader(ctx, target_node, f"{what} {kind.value}", allow_empty=kind not in _TARGETED)
    prompt = y.prompt(ctx, m["prompt"][1], f"{what} prompt") if "prompt" in m else ""
    if target is None or prompt is None:
        return None
    if kind in (OverflowKind.MESSAGE, OverflowKind.CALLBACK) and target and "prompt" not in m:
        target, prompt = "", target     # {message: goodbye.wav} is the prompt itself
    if kind == OverflowKind.HANGUP:
        target = ""
    if kind in _TARGETED and not _TARGET.fullmatch(target):
        ctx.at(target_node, "bad-target", f"{what} {kind.value} target {target!r} is not allowed",
               "a number, mailbox or queue id: letters, digits and _ . : @ + - (no spaces)")
        return None
    if kind == OverflowKind.QUEUE:
        refs.append((target_node, target))
    return Overflow(kind, target, prompt)


def _announcements(ctx, node, out: dict) -> None:
    m = y.mapping(ctx, node, "announcements", ("every", "prompt", "position", "wait_time"))
    if m is None:
        return
    readers = {"every": ("announce_every", y.seconds), "prompt": ("periodic_prompt", y.prompt),
               "position": ("announce_position", y.boolean), "wait_time": ("announce_wait_time", y.boolean)}
    for key, (field_name, reader) in readers.items():
        if key in m and (value := reader(ctx, m[key][1], f"announcements {key}")) is not None:
            out[field_name] = value


def _tiers(ctx, node) -> tuple | None:
    rules = []
    for item in y.sequence(ctx, node, "tiers") or ():
        m = y.mapping(ctx, item, "a tier", ("level", "after"), ("level", "after"))
        if not m or "level" not in m or "after" not in m:
            continue
        level = y.integer(ctx, m["level"][1], "tier level", low=1, high=99)
        after = y.seconds(ctx, m["after"][1], "tier after")
        if level is not None and after is not None:
            if rules and (level <= rules[-1].level or after < rules[-1].after_seconds):
                ctx.at(item, "bad-tiers", f"tier level {level} after {after:g} s is out of order",
                       "levels rising and waiting times not falling, e.g. [{level: 1, after: 0}, {level: 2, after: 30}]")
            rules.append(TierRule(level, after))
    return tuple(rules)


def _callback(ctx, node, out: dict) -> None:
    if isinstance(node, yaml.ScalarNode):
        if (enabled := y.boolean(ctx, node, "callback")) is not None:
            out["callback_enabled"] = enabled
        return
    m = y.mapping(ctx, node, "callback", ("enabled", "digit", "prompt"))
    if m is None:
        return
    out["callback_enabled"] = True
    if "enabled" in m and (enabled := y.boolean(ctx, m["enabled"][1], "callback enabled")) is not None:
        out["callback_enabled"] = enabled
    if "digit" in m and (digit := y.scalar(ctx, m["digit"][1], "callback digit")) is not None:
        if _DIGIT.match(digit):
            out["callback_digit"] = digit
        else:
            ctx.at(m["digit"][1], "bad-value", f"callback digit is {digit!r}", "one of 0-9, * or #")
    if "prompt" in m and (prompt := y.prompt(ctx, m["prompt"][1], "callback prompt")) is not None:
        out["callback_prompt"] = prompt


def _alarms(ctx, node) -> QueueAlarms | None:
    """`alarms: {waiting: N, longest_wait: DURATION, service_level: PERCENT}`, each optional."""
    m = y.mapping(ctx, node, "alarms", ("waiting", "longest_wait", "service_level"))
    if m is None:
        return None
    values: dict = {}
    if "waiting" in m:
        values["waiting"] = y.integer(ctx, m["waiting"][1], "alarms waiting", low=1, high=10000)
    if "longest_wait" in m:
        values["longest_wait"] = y.seconds(ctx, m["longest_wait"][1], "alarms longest_wait", low=1.0)
    if "service_level" in m:
        level = y.integer(ctx, m["service_level"][1], "alarms service_level", low=1, high=100)
        values["service_level"] = float(level) if level is not None else None
    if any(values.get(k) is None for k in m):
        return None
    return QueueAlarms(**values)


def settings(ctx, m: dict, refs: list) -> dict:
    """The QueueConfig keyword arguments given in one mapping (a queue or the defaults)."""
    out: dict = {}
    for key, (field_name, low) in _SECONDS.items():
        if key in m and (value := y.seconds(ctx, m[key][1], key, low=low)) is not None:
            out[field_name] = value
    if "strategy" in m and (raw := y.scalar(ctx, m["strategy"][1], "strategy")) is not None:
        try:
            out["strategy"] = Strategy(raw)
        except ValueError:
            ctx.at(m["strategy"][1], "bad-value", f"unknown strategy {raw!r}",
                   "one of: " + ", ".join(s.value for s in Strategy))
    if "max_no_answer" in m and (value := y.integer(ctx, m["max_no_answer"][1], "max_no_answer", low=0)) is not None:
        out["max_no_answer"] = value
    if "priority" in m and (value := y.integer(ctx, m["priority"][1], "priority", low=-100, high=100)) is not None:
        out["priority"] = value
    if "music_on_hold" in m and (value := y.prompt(ctx, m["music_on_hold"][1], "music_on_hold")) is not None:
        out["moh"] = value
    if "announcements" in m:
        _announcements(ctx, m["announcements"][1], out)
    for key in ("overflow", "no_agents"):
        if key in m and (value := overflow(ctx, m[key][1], key, refs)) is not None:
            out[key] = value
    if "tiers" in m and (tiers := _tiers(ctx, m["tiers"][1])) is not None:
        out["tiers"] = tiers
    if "skills" in m and (skills := y.text_list(ctx, m["skills"][1], "skills", y.ident)) is not None:
        out["required_skills"] = frozenset(v for _, v in skills)
    if "callback" in m:
        _callback(ctx, m["callback"][1], out)
    if "alarms" in m and (alarms := _alarms(ctx, m["alarms"][1])) is not None:
        out["alarms"] = alarms
    return out


def channel(ctx, m: dict) -> str:
    """The queue's `channel` (voice unless written otherwise)."""
    if "channel" not in m or (value := y.scalar(ctx, m["channel"][1], "channel")) is None:
        return VOICE
    if value in CHANNELS:
        return value
    ctx.at(m["channel"][1], "bad-value", f"unknown channel {value!r}", "one of: " + ", ".join(CHANNELS))
    return VOICE


def written_defaults(defaults: dict) -> dict:
    """A written queue's starting point: WRITTEN_DEFAULTS and the file defaults' neutral keys."""
    return {**WRITTEN_DEFAULTS, **{k: v for k, v in defaults.items() if k in WRITTEN_FROM_DEFAULTS}}


def written_rules(ctx, m: dict, own: dict, channel_name: str) -> None:
    """Problems of a written queue's voice-only keys and of its overflow (not {queue: ID})."""
    for key in VOICE_ONLY:
        if key not in m:
            continue
        if key == "no_agents" and own.get("no_agents", _DEFAULT_NO_AGENTS) == _DEFAULT_NO_AGENTS:
            continue
        ctx.at(m[key][0], "voice-only", f"{key} on a {channel_name} queue: it is for calls only",
               "no " + key + " (a written item hears nothing; it waits for an agent, and overflow: {queue: ID} "
               "moves it on)")
    if "overflow" in own and own["overflow"].kind is not OverflowKind.QUEUE:
        ctx.at(m["overflow"][1], "bad-overflow", f"the overflow of a {channel_name} queue is "
               f"{own['overflow'].kind.value!r}", "{queue: ID} of another " + channel_name + " queue (nothing "
               "written is dropped)")


_DEFAULT_NO_AGENTS = Overflow(OverflowKind.MESSAGE)

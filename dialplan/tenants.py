"""One tenant (client agency) mapping → TenantConfig, its queues and its entry points.

Rules: queues are written under their tenant (so a queue always has one); a main number
is `"+4722000001"` (to the tenant's first voice queue) or `{number|pattern, queue, priority,
tags}`; numbers are digits with an optional leading `+`; a `pattern` must compile as a
regular expression (FreeSWITCH uses PCRE; Python's `re` accepts what we write).
Entry-point queues must be the tenant's own; other references are checked later.
`direct_dial` (employees' numbers with their fallback to the switchboard): dialplan/direct.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from dialplan import console, direct, hours, queues, recording, written
from dialplan import yamlnodes as y
from dialplan.patterns import PatternError, compile_pattern
from engine.config import VOICE, EntryPoint, QueueConfig, TenantConfig

TENANT_KEYS = ("id", "name", "caller_id_name", "timezone", "numbers", "hours", "holidays", "special_days",
               "after_hours", "recording", "welcome_prompt", "queues", "greeting", "transfer_timeout",
               "park_timeout", "message_from", "direct_dial", "campon_retry", "campon_timeout", "campon_prompt",
               "reply_templates")
NUMBER = re.compile(r"^\+?[0-9]{2,20}$")
TAG = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
RESERVED_TAGS = frozenset({"tenant", "queue", "entry", "priority", "agent", "caller_uuid", "direct_dial",
                           "direct_cause"})


@dataclass
class Parsed:
    """What the tenant files produced, with the nodes needed to place later problems."""

    tenants: dict = field(default_factory=dict)         # id -> TenantConfig
    queues: dict = field(default_factory=dict)          # id -> QueueConfig
    entries: dict = field(default_factory=dict)         # number or pattern -> EntryPoint
    places: dict = field(default_factory=dict)          # ("queue"|"tenant"|"number", id) -> (ctx, node)
    queue_refs: list = field(default_factory=list)      # (ctx, node, queue id, owner queue id or "")
    entry_refs: list = field(default_factory=list)      # (ctx, node, queue id, tenant id)
    direct: list = field(default_factory=list)          # (ctx, node, DirectDial, [(kind, node, name)])
    mailboxes: list = field(default_factory=list)       # (ctx, node, Mailbox) of email queues


def remember(parsed: Parsed, ctx, kind: str, key: str, node) -> bool:
    """Record where `key` was defined; a second definition is a `duplicate` problem."""
    if (kind, key) in parsed.places:
        first_ctx, first = parsed.places[(kind, key)]
        ctx.at(node, "duplicate", f"{kind} {key!r} is defined twice "
               f"(first at {first_ctx.file}:{first.start_mark.line + 1}:{first.start_mark.column + 1})",
               f"a unique {kind}")
        return False
    parsed.places[(kind, key)] = (ctx, node)
    return True


def _numbers(ctx, node, tenant_id: str, first_queue: str, parsed: Parsed) -> None:
    for item in y.sequence(ctx, node, "numbers") or ():
        if isinstance(item, yaml.ScalarNode):
            m = {"number": (item, item)}
        else:
            m = y.mapping(ctx, item, "a number entry", ("number", "pattern", "queue", "priority", "tags"))
            if m is None:
                continue
        if ("number" in m) == ("pattern" in m):
            ctx.at(item, "bad-number", "a number entry needs exactly one of 'number' or 'pattern'",
                   "{number: '+4722000001', queue: ID} or {pattern: '^\\+?4722\\d{6}$', queue: ID}")
            continue
        key_node = m.get("number", m.get("pattern"))[1]
        raw = y.scalar(ctx, key_node, "number")
        if raw is None:
            continue
        pattern = ""
        if "pattern" in m:
            try:
                compile_pattern(raw)
            except PatternError as exc:
                ctx.at(key_node, "bad-regex", f"pattern {raw!r} does not compile: {exc}",
                       "a regular expression RE2 accepts (no back-references or look-around)")
                continue
            if "${" in raw:
                ctx.at(key_node, "bad-regex", f"pattern {raw!r} holds '${{'", "a regular expression without FreeSWITCH variables")
                continue
            pattern = raw
        elif not NUMBER.match(raw):
            ctx.at(key_node, "bad-number", f"{raw!r} is not a phone number", "digits with an optional leading +")
            continue
        queue = y.ident(ctx, m["queue"][1], "number queue") if "queue" in m else first_queue
        if not queue:
            if "queue" not in m:
                ctx.at(item, "missing-key", f"number {raw!r} has no queue and the tenant has none", "a 'queue' key")
            continue
        priority = y.integer(ctx, m["priority"][1], "number priority", low=-100, high=100) if "priority" in m else 0
        tags = {}
        for tag_node, value_node in (y.items(ctx, m["tags"][1], "tags") or ()) if "tags" in m else ():
            if tag_node.value in RESERVED_TAGS:
                ctx.at(tag_node, "bad-id", f"tag name {tag_node.value!r} is reserved",
                       "a name other than " + ", ".join(sorted(RESERVED_TAGS)))
            elif not TAG.match(tag_node.value):
                ctx.at(tag_node, "bad-id", f"tag name {tag_node.value!r} is not allowed",
                       "lower-case letters, digits and _ (it becomes the channel variable cc_<name>)")
            elif (value := y.text(ctx, value_node, f"tag {tag_node.value}", allow_empty=True)) is not None:
                tags[tag_node.value] = value
        parsed.entry_refs.append((ctx, m["queue"][1] if "queue" in m else item, queue, tenant_id))
        if remember(parsed, ctx, "number", raw, key_node):
            parsed.entries[raw] = EntryPoint(raw, tenant_id, queue, pattern=pattern, priority=priority or 0, tags=tags)


def tenant(ctx, node, defaults: dict, years: range, parsed: Parsed, envr=None) -> None:
    """`envr` (source.EnvReader) notes the mailboxes' unset variables; none: a throwaway one."""
    if envr is None:
        from dialplan.source import EnvReader
        envr = EnvReader({}, require=False)
    m = y.mapping(ctx, node, "a tenant", TENANT_KEYS, ("id", "name"))
    if m is None or "id" not in m:
        return
    tenant_id = y.ident(ctx, m["id"][1], "tenant id")
    name = y.text(ctx, m["name"][1], "tenant name") if "name" in m else None
    if tenant_id is None or not remember(parsed, ctx, "tenant", tenant_id, m["id"][1]):
        return
    timezone = "Europe/Oslo"
    if "timezone" in m and (tz := y.scalar(ctx, m["timezone"][1], "timezone")) is not None:
        if hours.check_timezone(ctx, m["timezone"][1], tz):
            timezone = tz
    kwargs = {"opening_hours": hours.opening_hours(ctx, m, timezone, years), **console.tenant_settings(ctx, m)}
    if "caller_id_name" in m and (v := y.text(ctx, m["caller_id_name"][1], "caller_id_name")) is not None:
        kwargs["caller_id_name"] = v
    if "welcome_prompt" in m and (v := y.prompt(ctx, m["welcome_prompt"][1], "welcome_prompt")) is not None:
        kwargs["welcome_prompt"] = v
    if "after_hours" in m:
        refs: list = []
        if (v := queues.overflow(ctx, m["after_hours"][1], "after_hours", refs)) is not None:
            kwargs["after_hours"] = v
        parsed.queue_refs.extend((ctx, n, q, "") for n, q in refs)
    kwargs.update(recording.tenant_settings(ctx, m, tenant_id))
    parsed.tenants[tenant_id] = TenantConfig(tenant_id, name or tenant_id, **kwargs)
    first_queue = ""
    for queue_node in (y.sequence(ctx, m["queues"][1], "queues") or ()) if "queues" in m else ():
        queue_id = _queue(ctx, queue_node, tenant_id, defaults, parsed, envr)
        if queue_id and not first_queue and not parsed.queues[queue_id].written:
            first_queue = queue_id          # a main number without a queue: the first voice queue
    if "numbers" in m:
        _numbers(ctx, m["numbers"][1], tenant_id, first_queue, parsed)
    if "direct_dial" in m:
        own = [e.queue for e in parsed.entries.values() if e.tenant == tenant_id]
        direct.direct_dial(ctx, m["direct_dial"][1], tenant_id, own[0] if own else first_queue, parsed.direct)


def _queue(ctx, node, tenant_id: str, defaults: dict, parsed: Parsed, envr) -> str | None:
    m = y.mapping(ctx, node, "a queue", queues.QUEUE_KEYS, ("id",))
    if m is None or "id" not in m:
        return None
    queue_id = y.ident(ctx, m["id"][1], "queue id")
    name = y.text(ctx, m["name"][1], "queue name") if "name" in m else None
    refs: list = []
    own = queues.settings(ctx, m, refs)
    channel = queues.channel(ctx, m)
    if channel == VOICE:
        kwargs = {**queues.BUILTIN, **defaults, **own}
        if "recording" in m:
            kwargs["recording"] = recording.queue_recording(ctx, m["recording"][1], parsed.tenants.get(tenant_id))
        for key in ("reply_from", "mailbox"):
            if key in m:
                ctx.at(m[key][0], "wrong-channel", f"{key} on a voice queue",
                       "channel: email (or sms, for reply_from) on a queue of written items")
    else:
        queues.written_rules(ctx, m, own, channel)
        kwargs = {**queues.BUILTIN, **queues.written_defaults(defaults), **own, "channel": channel}
        if "reply_from" in m and (value := written.reply_from(ctx, m["reply_from"][1], channel)) is not None:
            kwargs["reply_from"] = value
        if "mailbox" in m and channel != "email":
            ctx.at(m["mailbox"][0], "wrong-channel", f"mailbox on a {channel} queue", "a mailbox only on an email queue")
    if queue_id is None or not remember(parsed, ctx, "queue", queue_id, m["id"][1]):
        return None
    if "mailbox" in m and channel == "email" and \
            (box := written.mailbox(ctx, m["mailbox"][1], queue_id, envr)) is not None:
        parsed.mailboxes.append((ctx, m["mailbox"][1], box))
    parsed.queue_refs.extend((ctx, n, q, queue_id) for n, q in refs)
    parsed.queues[queue_id] = QueueConfig(queue_id, tenant_id, name or queue_id, **kwargs)
    return queue_id

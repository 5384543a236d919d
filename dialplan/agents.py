"""Agents (operators) → AgentConfig, with their softphone's SIP credentials.

Rules: the SIP user is the extension (digits); the password is never in the file:
either `a1_hash` (md5 of "extension:domain:password", what FreeSWITCH's directory
accepts as `a1-hash`) or `password: {env: NAME}`, hashed here at load time. `queues`
maps queue id → level (1 = first offered); a plain list means level 1 everywhere.
`auto_answer: true`: the softphone answers when the console asks (uuid_phone_event talk).
`capacity` (written items beside calls, dialplan/written.py) is layered over the
deployment's `capacity`, key by key: AgentConfig.capacity is always the effective one.
Queue references are checked by the loader once all queues are known.
"""
from __future__ import annotations

import hashlib
import re

import yaml

from dialplan import written
from dialplan import yamlnodes as y
from dialplan.tenants import Parsed, remember
from engine.config import AgentConfig, Capacity

AGENT_KEYS = ("id", "name", "extension", "password", "a1_hash", "queues", "skills", "auto_answer", "capacity")
EXTENSION = re.compile(r"^[0-9]{2,10}$")
A1_HASH = re.compile(r"^[0-9a-f]{32}$")


def a1_hash(user: str, domain: str, password: str) -> str:
    return hashlib.md5(f"{user}:{domain}:{password}".encode()).hexdigest()


def agent(ctx, node, domain: str, env, parsed: Parsed, out: dict, agent_refs: list,
          capacity: Capacity = Capacity()) -> None:
    m = y.mapping(ctx, node, "an agent", AGENT_KEYS, ("id", "extension"))
    if m is None or "id" not in m or "extension" not in m:
        return
    agent_id = y.ident(ctx, m["id"][1], "agent id")
    name = y.text(ctx, m["name"][1], "agent name") if "name" in m else None
    extension = y.scalar(ctx, m["extension"][1], "extension")
    if extension is not None and not EXTENSION.fullmatch(extension):
        ctx.at(m["extension"][1], "bad-extension", f"extension {extension!r} is not allowed", "2 to 10 digits")
        extension = None
    if extension is not None:
        remember(parsed, ctx, "extension", extension, m["extension"][1])
        if extension in parsed.entries:
            number_ctx, number_node = parsed.places[("number", extension)]
            ctx.at(m["extension"][1], "duplicate", f"extension {extension} is also a main number (at "
                   f"{number_ctx.file}:{number_node.start_mark.line + 1}:{number_node.start_mark.column + 1})",
                   "a unique number")
    password_hash = ""
    if "password" in m and "a1_hash" in m:
        ctx.at(m["a1_hash"][0], "conflict", "an agent has both password and a1_hash", "one of them")
    elif "a1_hash" in m and (h := y.scalar(ctx, m["a1_hash"][1], "a1_hash")) is not None:
        if A1_HASH.fullmatch(h):
            password_hash = h
        else:
            ctx.at(m["a1_hash"][1], "bad-value", "a1_hash is not an md5 hex digest",
                   "32 lower-case hex digits: md5 of 'extension:domain:password'")
    elif "password" in m and (pw := env.value(ctx, m["password"][1], "agent password", secret=True)):
        password_hash = a1_hash(extension or "", domain, pw)
    levels = {}
    if "queues" in m:
        q_node = m["queues"][1]
        if isinstance(q_node, yaml.MappingNode):
            pairs = [(k, k.value, y.integer(ctx, v, f"level of queue {k.value}", low=1, high=99))
                     for k, v in y.items(ctx, q_node, "queues")]
        else:
            pairs = [(n, v, 1) for n, v in y.text_list(ctx, q_node, "queues", y.ident) or ()]
        for queue_node, queue_id, level in pairs:
            if level is not None:
                levels[queue_id] = level
                agent_refs.append((ctx, queue_node, queue_id))
    skills = frozenset(v for _, v in y.text_list(ctx, m["skills"][1], "skills", y.ident) or ()) if "skills" in m else frozenset()
    if "capacity" in m:
        capacity = written.capacity(ctx, m["capacity"][1], capacity, "agent capacity") or capacity
    if agent_id is None or extension is None or not remember(parsed, ctx, "agent", agent_id, m["id"][1]):
        return
    auto = y.boolean(ctx, m["auto_answer"][1], "auto_answer") if "auto_answer" in m else False
    out[agent_id] = AgentConfig(agent_id, name or agent_id, extension, levels, skills, password_hash,
                                auto_answer=bool(auto), capacity=capacity)

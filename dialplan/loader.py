"""Load a deployment file (and its tenant includes) into a validated `Deployment`.

    load(path, env=os.environ) -> Deployment      # raises ConfigError with ALL problems

Layers, later wins: the defaults in code (engine/config.py) → the file (and its
`defaults:` section for queues) → the environment (`SENTRAL_DATABASE_URL`,
`SENTRAL_FREESWITCH_HOST|PORT|PASSWORD` for the first node, `SENTRAL_RECORDINGS_DIR`,
`SENTRAL_ENGINE_URL`) → explicit overrides from the command line (`apply_overrides`).
Pure apart from reading the files; holidays are expanded for `today.year - 1` to
`today.year + 10`.
"""
from __future__ import annotations

import dataclasses
import os
from datetime import date
from typing import Mapping

from dialplan import agents, checks, tenants
from dialplan import yamlnodes as y
from dialplan.errors import ConfigError, Problem
from dialplan.queues import DEFAULT_KEYS, settings
from dialplan.source import EnvReader, compose_file, include_paths
from engine.config import Deployment, NodeConfig

TOP_KEYS = ("version", "freeswitch", "database", "recordings", "engine", "defaults", "include", "tenants", "agents")
ENV_OVERRIDES = ("SENTRAL_DATABASE_URL", "SENTRAL_FREESWITCH_HOST", "SENTRAL_FREESWITCH_PORT",
                 "SENTRAL_FREESWITCH_PASSWORD", "SENTRAL_RECORDINGS_DIR", "SENTRAL_ENGINE_URL")


def load(path: str, env: Mapping[str, str] | None = None, *, require_env: bool = True,
         today: date | None = None, unset_env: list | None = None) -> Deployment:
    """`unset_env`, if given, receives the names of `{env: NAME}` variables that were not
    set (only possible with `require_env=False`, e.g. for `sentral config check`)."""
    env = os.environ if env is None else env
    deployment = load_file(path, env, require_env=require_env, today=today, unset_env=unset_env)
    return apply_overrides(deployment, env=env)


def load_file(path: str, env: Mapping[str, str], *, require_env: bool = True, today: date | None = None,
              unset_env: list | None = None) -> Deployment:
    """The file's own content, validated (no environment overrides)."""
    problems: list = []
    doc = compose_file(path, problems)
    if doc is None:
        raise ConfigError(problems)
    ctx = y.Ctx(path, problems)
    today = today or date.today()
    years = range(today.year - 1, today.year + 11)
    envr = EnvReader(env, require_env, unset_env if unset_env is not None else [])
    m = y.mapping(ctx, doc.root, "the deployment file", TOP_KEYS) or {}
    if "version" in m:
        y.integer(ctx, m["version"][1], "version", low=1, high=1)
    top = _deployment_settings(ctx, m, envr)
    defaults: dict = {}
    if "defaults" in m and (d := y.mapping(ctx, m["defaults"][1], "defaults", ("queue",))) and "queue" in d:
        qm = y.mapping(ctx, d["queue"][1], "defaults queue", DEFAULT_KEYS) or {}
        refs: list = []
        defaults = settings(ctx, qm, refs)
    parsed = tenants.Parsed()
    if "defaults" in m and defaults:
        parsed.queue_refs.extend((ctx, n, q, "(defaults)") for n, q in refs)
    for node in (y.sequence(ctx, m["tenants"][1], "tenants") or ()) if "tenants" in m else ():
        tenants.tenant(ctx, node, defaults, years, parsed)
    base = os.path.dirname(path)
    for included in include_paths(ctx, m["include"][1], base) if "include" in m else ():
        sub = compose_file(included, problems)
        if sub is not None:
            tenants.tenant(y.Ctx(included, problems), sub.root, defaults, years, parsed)
    agent_map: dict = {}
    agent_refs: list = []
    for node in (y.sequence(ctx, m["agents"][1], "agents") or ()) if "agents" in m else ():
        agents.agent(ctx, node, top["sip_domain"], envr, parsed, agent_map, agent_refs)
    checks.references(parsed, agent_refs)
    checks.overflow_cycles(parsed)
    if problems:
        raise ConfigError(problems)
    return Deployment(tenants=parsed.tenants, queues=parsed.queues, agents=agent_map,
                      entry_points=parsed.entries, **top)


def _deployment_settings(ctx, m: dict, envr: EnvReader) -> dict:
    top: dict = {"sip_domain": "127.0.0.1"}
    if "freeswitch" in m and (fs := y.mapping(ctx, m["freeswitch"][1], "freeswitch", ("sip_domain", "nodes"))):
        if "sip_domain" in fs and (v := y.text(ctx, fs["sip_domain"][1], "sip_domain")):
            top["sip_domain"] = v
        nodes, names = [], set()
        for node in (y.sequence(ctx, fs["nodes"][1], "nodes") or ()) if "nodes" in fs else ():
            n = y.mapping(ctx, node, "a FreeSWITCH node", ("name", "host", "port", "password"), ("name",))
            if not n or "name" not in n:
                continue
            name = y.ident(ctx, n["name"][1], "node name")
            if name in names:
                ctx.at(n["name"][1], "duplicate", f"node {name!r} is defined twice", "unique node names")
            names.add(name)
            host = envr.value(ctx, n["host"][1], "node host") if "host" in n else "127.0.0.1"
            port = y.integer(ctx, n["port"][1], "node port", low=1, high=65535) if "port" in n else 8021
            password = envr.value(ctx, n["password"][1], "node password", secret=True) if "password" in n else ""
            if name and host is not None and port is not None and password is not None:
                nodes.append(NodeConfig(name, host, port, password))
        top["nodes"] = tuple(nodes)
    for key, field_name in (("database", "database_url"), ("engine", "engine_url")):
        if key in m and (sect := y.mapping(ctx, m[key][1], key, ("url",))) and "url" in sect:
            if (v := envr.value(ctx, sect["url"][1], f"{key} url")) is not None:
                top[field_name] = v
    if "recordings" in m and (sect := y.mapping(ctx, m["recordings"][1], "recordings", ("dir",))) and "dir" in sect:
        if (v := envr.value(ctx, sect["dir"][1], "recordings dir")) is not None:
            top["recordings_dir"] = v
    return top


def apply_overrides(deployment: Deployment, env: Mapping[str, str] | None = None, *,
                    database_url: str | None = None, freeswitch_host: str | None = None,
                    freeswitch_port: int | None = None, freeswitch_password: str | None = None,
                    recordings_dir: str | None = None, engine_url: str | None = None) -> Deployment:
    """Environment (then explicit arguments, e.g. from the CLI) over the file's values.
    FreeSWITCH overrides apply to the first node (one is created if the file has none)."""
    env = env or {}

    def pick(arg, name):
        return arg if arg is not None else env.get(name) or None

    changes: dict = {}
    if (v := pick(database_url, "SENTRAL_DATABASE_URL")) is not None:
        changes["database_url"] = v
    if (v := pick(recordings_dir, "SENTRAL_RECORDINGS_DIR")) is not None:
        changes["recordings_dir"] = v
    if (v := pick(engine_url, "SENTRAL_ENGINE_URL")) is not None:
        changes["engine_url"] = v
    node_changes: dict = {}
    if (v := pick(freeswitch_host, "SENTRAL_FREESWITCH_HOST")) is not None:
        node_changes["host"] = v
    if (v := pick(freeswitch_port, "SENTRAL_FREESWITCH_PORT")) is not None:
        try:
            node_changes["port"] = int(v)
        except ValueError as exc:
            raise ConfigError([Problem("$SENTRAL_FREESWITCH_PORT", 1, 1, "wrong-type",
                                       f"SENTRAL_FREESWITCH_PORT is {v!r}", "a port number")]) from exc
    if (v := pick(freeswitch_password, "SENTRAL_FREESWITCH_PASSWORD")) is not None:
        node_changes["password"] = v
    if node_changes:
        first = deployment.nodes[0] if deployment.nodes else NodeConfig("fs1")
        changes["nodes"] = (dataclasses.replace(first, **node_changes),) + tuple(deployment.nodes[1:])
    return dataclasses.replace(deployment, **changes) if changes else deployment


"""Load a deployment file (and its tenant includes) into a validated `Deployment`.

    load(path, env=os.environ) -> Deployment      # raises ConfigError with ALL problems

Layers, later wins: the defaults in code (engine/config.py) → the file (and its
`defaults:` section for queues) → the override directory (`<file>.d/*.yaml`, sorted: a
settings section there replaces the file's, `tenants`/`agents`/`include` are added) →
the environment (`SENTRAL_DATABASE_URL`,
`SENTRAL_FREESWITCH_HOST|PORT|PASSWORD` for the first node, `SENTRAL_RECORDINGS_DIR`,
`SENTRAL_RECORDINGS_IDENTITIES`, `SENTRAL_ENGINE_URL`) → explicit overrides from the command line (`apply_overrides`).
Pure apart from reading the files; holidays are expanded for `today.year - 1` to
`today.year + 10`.
"""
from __future__ import annotations

import dataclasses
import glob
import os
import re
from datetime import date
from typing import Mapping

from dialplan import agents, checks, console, tenants, trunks, written
from dialplan import yamlnodes as y
from dialplan.errors import ConfigError, Problem
from dialplan.queues import DEFAULT_KEYS, settings
from dialplan.source import EnvReader, compose_file, include_paths
from engine.config import Capacity, Deployment, NodeConfig, RecordingStorage

TOP_KEYS = ("version", "freeswitch", "database", "recordings", "engine", "console", "defaults", "include", "tenants",
            "agents", "trunks", "outbound_routes", "capacity", "sms")
OVERRIDE_KEYS = TOP_KEYS[1:]
LIST_KEYS = ("tenants", "include", "agents", "trunks", "outbound_routes")
# FreeSWITCH gets engine.url and sip_domain through its pre-processor's `set` (compile.vars_include),
# which ends a value at the first quote and expands `$${...}`: only plain URLs and host names pass.
ENGINE_URL = re.compile(r"^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$")
SIP_DOMAIN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
URL_EXPECTED = "http(s)://HOST[:PORT][/PATH] (letters, digits and . _ ~ / - in the path)"
ENV_OVERRIDES = ("SENTRAL_DATABASE_URL", "SENTRAL_FREESWITCH_HOST", "SENTRAL_FREESWITCH_PORT",
                 "SENTRAL_FREESWITCH_PASSWORD", "SENTRAL_RECORDINGS_DIR", "SENTRAL_ENGINE_URL",
                 "SENTRAL_RECORDINGS_IDENTITIES")


def load(path: str, env: Mapping[str, str] | None = None, *, require_env: bool = True,
         today: date | None = None, unset_env: list | None = None, override_dir: str | None = None,
         findings: y.Findings | None = None, extra: tuple[str, ...] = ()) -> Deployment:
    """`unset_env`, if given, receives the names of `{env: NAME}` variables that were not
    set (only possible with `require_env=False`, e.g. for `sentral config check`);
    `findings`, if given, receives the warnings and every prompt with its place.
    `override_dir` defaults to `<file without .yaml>.d/` next to the file, if it exists.
    `extra`: more override files read after the directory's, as if they were in it (a
    candidate checked with the whole configuration before it is written there)."""
    env = os.environ if env is None else env
    deployment = load_file(path, env, require_env=require_env, today=today, unset_env=unset_env,
                           override_dir=override_dir, findings=findings, extra=extra)
    return apply_overrides(deployment, env=env)


def override_files(path: str, override_dir: str | None) -> list[str]:
    folder = override_dir or os.path.splitext(path)[0] + ".d"
    if not os.path.isdir(folder):
        return []
    return sorted(glob.glob(os.path.join(folder, "*.yaml")) + glob.glob(os.path.join(folder, "*.yml")))


def _sections(path: str, override_dir: str | None, problems: list, findings: y.Findings | None = None,
              extra: tuple[str, ...] = ()):
    """The deployment file and its override files as sections: settings sections are
    replaced by a later file, `tenants`/`agents`/`include` are appended. Each section
    keeps the context (file) it came from, so problems point into the right file."""
    single: dict = {}
    lists: dict = {key: [] for key in LIST_KEYS}
    for index, file in enumerate([path, *override_files(path, override_dir), *extra]):
        doc = compose_file(file, problems)
        if doc is None:
            continue
        ctx = y.Ctx(file, problems, findings)
        what = "the deployment file" if index == 0 else "an override file"
        m = y.mapping(ctx, doc.root, what, TOP_KEYS if index == 0 else OVERRIDE_KEYS) or {}
        for key, (_, node) in m.items():
            if key in LIST_KEYS:
                lists[key].append((ctx, node, os.path.dirname(file)))
            else:
                single[key] = (ctx, node)
    return single, lists


def load_file(path: str, env: Mapping[str, str], *, require_env: bool = True, today: date | None = None,
              unset_env: list | None = None, override_dir: str | None = None,
              findings: y.Findings | None = None, extra: tuple[str, ...] = ()) -> Deployment:
    """The files' own content, validated (no environment overrides)."""
    problems: list = []
    single, lists = _sections(path, override_dir, problems, findings, extra)
    if problems and not single and not any(lists.values()):
        raise ConfigError(problems)
    today = today or date.today()
    years = range(today.year - 1, today.year + 11)
    envr = EnvReader(env, require_env, unset_env if unset_env is not None else [])
    if "version" in single:
        y.integer(*single["version"], "version", low=1, high=1)
    top = _deployment_settings(single, envr)
    parsed = tenants.Parsed()
    defaults: dict = {}
    if "defaults" in single:
        ctx, node = single["defaults"]
        d = y.mapping(ctx, node, "defaults", ("queue",)) or {}
        if "queue" in d:
            refs: list = []
            defaults = settings(ctx, y.mapping(ctx, d["queue"][1], "defaults queue", DEFAULT_KEYS) or {}, refs)
            parsed.queue_refs.extend((ctx, n, q, "(defaults)") for n, q in refs)
    for ctx, node, _ in lists["tenants"]:
        for item in y.sequence(ctx, node, "tenants") or ():
            tenants.tenant(ctx, item, defaults, years, parsed, envr)
    for ctx, node, base in lists["include"]:
        for included in include_paths(ctx, node, base):
            sub = compose_file(included, problems)
            if sub is not None:
                tenants.tenant(y.Ctx(included, problems, findings), sub.root, defaults, years, parsed, envr)
    agent_map: dict = {}
    agent_refs: list = []
    for ctx, node, _ in lists["agents"]:
        for item in y.sequence(ctx, node, "agents") or ():
            agents.agent(ctx, item, top["sip_domain"], envr, parsed, agent_map, agent_refs,
                         top.get("capacity", Capacity()))
    trunk_map: dict = {}
    trunk_places: dict = {}
    for ctx, node, _ in lists["trunks"]:
        trunks.trunks(ctx, node, envr, trunk_map, trunk_places)
    routes: list = []
    route_refs: list = []
    for ctx, node, _ in lists["outbound_routes"]:
        trunks.routes(ctx, node, routes, route_refs)
    sms, sms_refs = written.sms(*single["sms"], envr) if "sms" in single else (None, [])
    checks.references(parsed, agent_refs)
    checks.channels(parsed, sms_refs)
    checks.overflow_cycles(parsed)
    checks.trunk_references(parsed, route_refs, trunk_places)
    checks.routes_context(routes, top.get("outbound_context", "public"))
    checks.pattern_overlaps(parsed, routes)
    if problems:
        raise ConfigError(problems)
    return Deployment(tenants=parsed.tenants, queues=parsed.queues, agents=agent_map,
                      entry_points=parsed.entries, trunks=trunk_map,
                      outbound_routes=tuple(r for _, _, r in routes),
                      direct_dials=tuple(rule for _, _, rule, _ in parsed.direct),
                      mailboxes=tuple(box for _, _, box in parsed.mailboxes), sms=sms, **top)


def _deployment_settings(single: dict, envr: EnvReader) -> dict:
    top: dict = {"sip_domain": "127.0.0.1"}
    if "freeswitch" in single:
        ctx, node = single["freeswitch"]
        fs = y.mapping(ctx, node, "freeswitch", ("sip_domain", "nodes", "outbound_context")) or {}
        if "outbound_context" in fs and (v := y.ident(ctx, fs["outbound_context"][1], "outbound_context")):
            top["outbound_context"] = v
        if "sip_domain" in fs and (v := y.text(ctx, fs["sip_domain"][1], "sip_domain")):
            if SIP_DOMAIN.fullmatch(v):
                top["sip_domain"] = v
            else:
                ctx.at(fs["sip_domain"][1], "bad-value", f"sip_domain {v!r} is not a host name",
                       "a host name or IPv4 address, e.g. pbx.example.org")
        top["nodes"] = _nodes(ctx, fs["nodes"][1], envr) if "nodes" in fs else ()
    for key, field_name in (("database", "database_url"), ("engine", "engine_url")):
        if key in single:
            ctx, node = single[key]
            sect = y.mapping(ctx, node, key, ("url",)) or {}
            if "url" in sect and (v := envr.value(ctx, sect["url"][1], f"{key} url")) is not None:
                if key == "engine":
                    if v and not ENGINE_URL.fullmatch(v.rstrip("/")):
                        ctx.at(sect["url"][1], "bad-value", f"engine url {v!r} is not allowed", URL_EXPECTED)
                    elif v:                     # empty: an unset {env: NAME} while only checking
                        top[field_name] = v.rstrip("/")
                    continue
                top[field_name] = v
    if "console" in single:
        top.update(console.console(*single["console"]))
    if "recordings" in single:
        top.update(_recordings(*single["recordings"], envr))
    if "capacity" in single and (cap := written.capacity(*single["capacity"], Capacity())) is not None:
        top["capacity"] = cap
    return top


def _recordings(ctx, node, envr: EnvReader) -> dict:
    """`recordings: {dir, identities, storage: local|s3, s3: {bucket, prefix, endpoint_url, region}}`.
    S3 credentials are never here: boto3 reads its usual environment variables."""
    out: dict = {}
    sect = y.mapping(ctx, node, "recordings", ("dir", "identities", "storage", "s3")) or {}
    for key, field_name in (("dir", "recordings_dir"), ("identities", "recordings_identities")):
        if key in sect and (v := envr.value(ctx, sect[key][1], f"recordings {key}")) is not None:
            out[field_name] = v
    kind = "local"
    if "storage" in sect and (v := y.scalar(ctx, sect["storage"][1], "recordings storage")) is not None:
        if v in ("local", "s3"):
            kind = v
        else:
            ctx.at(sect["storage"][1], "bad-value", f"recordings storage is {v!r}", "local or s3")
    s3: dict = {}
    if "s3" in sect:
        m = y.mapping(ctx, sect["s3"][1], "recordings s3", ("bucket", "prefix", "endpoint_url", "region")) or {}
        for key, (_, value_node) in m.items():
            if (v := envr.value(ctx, value_node, f"recordings s3 {key}")) is not None:
                s3[key] = v
    if kind == "s3" and not s3.get("bucket"):
        ctx.at(sect["storage"][1], "missing-key", "recordings are stored in S3 but no bucket is named",
               "recordings: {s3: {bucket: NAME}}")
    if kind != "local" or s3:
        out["recordings_storage"] = RecordingStorage(kind=kind, **s3)
    return out


def _nodes(ctx, seq_node, envr: EnvReader) -> tuple:
    nodes, names = [], set()
    for node in y.sequence(ctx, seq_node, "nodes") or ():
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
    return tuple(nodes)


def apply_overrides(deployment: Deployment, env: Mapping[str, str] | None = None, *,
                    database_url: str | None = None, freeswitch_host: str | None = None,
                    freeswitch_port: int | None = None, freeswitch_password: str | None = None,
                    recordings_dir: str | None = None, engine_url: str | None = None,
                    recordings_identities: str | None = None) -> Deployment:
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
    if (v := pick(recordings_identities, "SENTRAL_RECORDINGS_IDENTITIES")) is not None:
        changes["recordings_identities"] = v
    if (v := pick(engine_url, "SENTRAL_ENGINE_URL")) is not None:
        if not ENGINE_URL.fullmatch(v.rstrip("/")):
            raise ConfigError([Problem("$SENTRAL_ENGINE_URL", 1, 1, "bad-value",
                                       f"the engine URL is {v!r}", URL_EXPECTED)])
        changes["engine_url"] = v.rstrip("/")
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
    # FreeSWITCH is told this path with each recording (a relative one would land under its
    # own recordings folder, out of the recorder's sight): absolute, from where Sentral runs
    if not os.path.isabs(rec := changes.get("recordings_dir", deployment.recordings_dir)):
        changes["recordings_dir"] = os.path.abspath(rec)
    if node_changes:
        first = deployment.nodes[0] if deployment.nodes else NodeConfig("fs1")
        changes["nodes"] = (dataclasses.replace(first, **node_changes),) + tuple(deployment.nodes[1:])
    return dataclasses.replace(deployment, **changes) if changes else deployment


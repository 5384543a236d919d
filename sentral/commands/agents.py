"""`sentral agents ...`: the operators of the routing configuration, without editing YAML.

    sentral agents add ID --config FILE --extension EXT [--name NAME] [--queue QUEUE[:LEVEL] ...]
                          [--skill SKILL ...] [--auto-answer] [--password-env NAME] [--db URL]
    sentral agents remove ID --config FILE [--db URL]
    sentral agents list --config FILE [--json]

Rules:
* an added agent is its own file in the override directory, `<FILE without .yaml>.d/
  agent-<ID>.yaml` (the loader appends every `agents` list found there); the main file is
  never rewritten;
* the work is dialplan.agent_files' (also used by the web and the REST API): the WHOLE
  configuration is loaded with the candidate before it is kept: a duplicate id or
  extension, an unknown queue, a bad extension is refused with the loader's file:line
  problems and nothing is left behind (the candidate is written beside the target,
  checked, then renamed into place);
* the softphone password is never in the file: `--password-env NAME` stores
  `password: {env: NAME}` (read by the engine at load time), otherwise the password comes
  from $SENTRAL_NEW_PASSWORD (or is asked twice) and only its a1 hash is stored
  (md5 of "extension:sip_domain:password", what FreeSWITCH's directory takes);
* `remove` deletes only a file this command wrote (it carries the MARKER line); an agent
  defined anywhere else is refused with the place it is defined;
* the running engine picks a change up on SIGHUP (`kill -HUP <pid>` of `sentral run`);
* a change is audited (`agent.add` / `agent.remove`, actor `cli:<login name>` as
  `sentral users`, the tenants of the agent's queues, extension and queues; never a
  password) when a database is named (`--db URL` or $SENTRAL_DATABASE_URL). Without one,
  or when it cannot be reached, stderr says so and the change stands: the file (and its
  removal) is the record.
Exit codes: 0 done, 1 refused (invalid configuration, unknown agent, not ours), 2 usage.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys

RELOAD_HINT = "the running engine picks it up on SIGHUP: kill -HUP <pid of sentral run>"
DB_HELP = "database URL for the audit entry (default: $SENTRAL_DATABASE_URL; none: no entry, said on stderr)"


def register(sub) -> None:
    p = sub.add_parser("agents", help="agents (operators) of the routing configuration: add, remove, list")
    asub = p.add_subparsers(dest="agents_command", metavar="ACTION")

    add = asub.add_parser("add", help="add an agent as its own file in the configuration's override directory")
    add.add_argument("id", help="agent id (letters, digits, - and _)")
    add.add_argument("--config", required=True, metavar="FILE", help="the deployment file (YAML)")
    add.add_argument("--extension", required=True, help="SIP user / extension (2 to 10 digits)")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--queue", action="append", default=[], metavar="QUEUE[:LEVEL]",
                     help="a queue the agent serves, with its level (1 = offered first); repeatable")
    add.add_argument("--skill", action="append", default=[], help="a skill; repeatable")
    add.add_argument("--auto-answer", action="store_true", help="the softphone answers when the console asks")
    add.add_argument("--password-env", metavar="NAME",
                     help="store `password: {env: NAME}` (else an a1 hash of $SENTRAL_NEW_PASSWORD or asked)")
    add.add_argument("--db", "--url", dest="db", help=DB_HELP)
    add.set_defaults(handler=add_command)

    rm = asub.add_parser("remove", help="remove an agent added by `sentral agents add`")
    rm.add_argument("id")
    rm.add_argument("--config", required=True, metavar="FILE")
    rm.add_argument("--db", "--url", dest="db", help=DB_HELP)
    rm.set_defaults(handler=remove_command)

    ls = asub.add_parser("list", help="the configuration's agents and where each is defined")
    ls.add_argument("--config", required=True, metavar="FILE")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=list_command)
    p.set_defaults(handler=lambda args: p.print_help() or 2)


def _refused(message: str) -> int:
    print(f"sentral agents: {message}", file=sys.stderr)
    return 1


def _queues(items: list[str]) -> dict[str, int]:
    levels = {}
    for item in items:
        queue, _, level = item.partition(":")
        if not queue or (level and not level.isdigit()):
            raise ValueError(f"--queue {item!r}: write QUEUE or QUEUE:LEVEL, e.g. fjordvik-switchboard:1")
        levels[queue] = int(level or 1)
    return levels


def _served(config: str, agent_id: str) -> tuple[str, dict[str, int], str]:
    """(extension, queues with levels, tenants comma-joined) of the agent in the configuration now."""
    from dialplan.agent_files import load
    from dialplan.errors import ConfigError

    try:
        deployment = load(config)
    except ConfigError:
        return "", {}, ""
    agent = deployment.agents.get(agent_id)
    queues = dict(sorted(agent.queues.items())) if agent else {}
    tenants = {deployment.queues[q].tenant for q in queues if q in deployment.queues}
    return (agent.sip_user if agent else ""), queues, ",".join(sorted(tenants))[:64]


def _audit(args, action: str, tenants: str, detail: dict) -> None:
    """The audit entry of a change already made; without a database, say so and go on."""
    url = args.db or os.environ.get("SENTRAL_DATABASE_URL")
    if not url:
        print(f"sentral agents: no database (--db or $SENTRAL_DATABASE_URL): {action} {args.id} is not in the "
              "audit log; the file change is the record", file=sys.stderr)
        return
    from sqlalchemy.exc import SQLAlchemyError

    from sentral.commands.users import _actor
    from sentral.process import open_store

    store = None
    try:
        store = open_store(url)
        store.audit(_actor(), action, "agent", args.id, tenant=tenants, detail=detail)
    except (SQLAlchemyError, OSError, ValueError, ImportError) as exc:   # the change stands; the operator is told
        print(f"sentral agents: the database cannot be reached or refused ({type(exc).__name__}): {action} "
              f"{args.id} is not in the audit log; the file change is the record", file=sys.stderr)
    finally:
        if store is not None:
            store.close()


def add_command(args) -> int:
    from dialplan.agent_files import AgentFileError, AgentSpec, add_agent
    from sentral.commands.users import _password

    try:
        spec = AgentSpec(args.id, args.extension, args.name, _queues(args.queue), tuple(args.skill),
                         args.auto_answer, args.password_env)
        if not args.password_env:
            dataclasses.replace(spec, password="x" * 8).check()     # a malformed agent before the password is asked
            spec = dataclasses.replace(spec, password=_password())
        path = add_agent(args.config, spec)
    except ValueError as exc:
        return _refused(str(exc))
    except AgentFileError as exc:
        if exc.problems:
            print(exc.report(), file=sys.stderr)
        return _refused(exc.message)
    _extension, queues, tenants = _served(args.config, args.id)
    _audit(args, "agent.add", tenants, {"extension": args.extension, "queues": queues, "file": path,
                                        "password": "env" if args.password_env else "a1_hash"})
    print(f"agent {args.id} added: {path}")
    print(RELOAD_HINT)
    return 0


def remove_command(args) -> int:
    from dialplan.agent_files import AgentFileError, remove_agent

    extension, queues, tenants = _served(args.config, args.id)
    try:
        path = remove_agent(args.config, args.id)
    except AgentFileError as exc:
        return _refused(exc.message)
    _audit(args, "agent.remove", tenants, {"extension": extension, "queues": queues, "file": path})
    print(f"agent {args.id} removed: {path} deleted")
    print(RELOAD_HINT)
    return 0


def list_command(args) -> int:
    from dialplan.agent_files import agent_places, load
    from dialplan.errors import ConfigError

    try:
        deployment = load(args.config)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return _refused(f"{args.config} is invalid ({len(exc.problems)} problem(s))")
    places = agent_places(args.config)
    rows = []
    for agent in sorted(deployment.agents.values(), key=lambda a: a.id):
        file, line = places.get(agent.id, ("?", 0))
        rows.append({"id": agent.id, "name": agent.name, "extension": agent.sip_user,
                     "queues": dict(sorted(agent.queues.items())), "defined_at": f"{file}:{line}"})
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    table = [("ID", "NAME", "EXTENSION", "QUEUES", "DEFINED AT")]
    table += [(r["id"], r["name"], r["extension"], ",".join(f"{q}:{lv}" for q, lv in r["queues"].items()) or "-",
               r["defined_at"]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0

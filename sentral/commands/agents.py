"""`sentral agents ...`: the operators of the routing configuration, without editing YAML.

    sentral agents add ID --config FILE --extension EXT [--name NAME] [--queue QUEUE[:LEVEL] ...]
                          [--skill SKILL ...] [--auto-answer] [--password-env NAME]
    sentral agents remove ID --config FILE
    sentral agents list --config FILE [--json]

Rules:
* an added agent is its own file in the override directory, `<FILE without .yaml>.d/
  agent-<ID>.yaml` (the loader appends every `agents` list found there); the main file is
  never rewritten;
* the WHOLE configuration is loaded with the candidate before it is kept (dialplan.loader.
  load): a duplicate id or extension, an unknown queue, a bad extension is refused with
  the loader's file:line problems and nothing is left behind (the candidate is written
  beside the target, checked, then renamed into place);
* the softphone password is never in the file: `--password-env NAME` stores
  `password: {env: NAME}` (read by the engine at load time), otherwise the password comes
  from $SENTRAL_NEW_PASSWORD (or is asked twice) and only its a1 hash is stored
  (md5 of "extension:sip_domain:password", what FreeSWITCH's directory takes);
* `remove` deletes only a file this command wrote (it carries the MARKER line); an agent
  defined anywhere else is refused with the place it is defined;
* the running engine picks a change up on SIGHUP (`kill -HUP <pid>` of `sentral run`).
Exit codes: 0 done, 1 refused (invalid configuration, unknown agent, not ours), 2 usage.
"""
from __future__ import annotations

import json
import os
import sys

MARKER = "# written by `sentral agents add`"
RELOAD_HINT = "the running engine picks it up on SIGHUP: kill -HUP <pid of sentral run>"


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
    add.set_defaults(handler=add_command)

    rm = asub.add_parser("remove", help="remove an agent added by `sentral agents add`")
    rm.add_argument("id")
    rm.add_argument("--config", required=True, metavar="FILE")
    rm.set_defaults(handler=remove_command)

    ls = asub.add_parser("list", help="the configuration's agents and where each is defined")
    ls.add_argument("--config", required=True, metavar="FILE")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=list_command)
    p.set_defaults(handler=lambda args: p.print_help() or 2)


def override_dir(config: str) -> str:
    return os.path.splitext(config)[0] + ".d"


def agent_file(config: str, agent_id: str) -> str:
    return os.path.join(override_dir(config), f"agent-{agent_id}.yaml")


def _refused(message: str) -> int:
    print(f"sentral agents: {message}", file=sys.stderr)
    return 1


def _load(config: str, extra: tuple[str, ...] = ()):
    from dialplan.loader import load

    return load(config, require_env=False, unset_env=[], extra=extra)


def _queues(items: list[str]) -> dict[str, int]:
    levels = {}
    for item in items:
        queue, _, level = item.partition(":")
        if not queue or (level and not level.isdigit()):
            raise ValueError(f"--queue {item!r}: write QUEUE or QUEUE:LEVEL, e.g. fjordvik-switchboard:1")
        levels[queue] = int(level or 1)
    return levels


def _document(args, password: dict) -> str:
    import yaml

    agent = {"id": args.id, "extension": args.extension}
    if args.name:
        agent["name"] = args.name
    agent.update(password)
    if args.queue:
        agent["queues"] = _queues(args.queue)
    if args.skill:
        agent["skills"] = list(args.skill)
    if args.auto_answer:
        agent["auto_answer"] = True
    body = yaml.safe_dump({"agents": [agent]}, allow_unicode=True, sort_keys=False, default_flow_style=False)
    return f"{MARKER}; remove with `sentral agents remove {args.id} --config ...`\n{body}"


def add_command(args) -> int:
    from dialplan.agents import EXTENSION, a1_hash
    from dialplan.errors import ConfigError
    from sentral.commands.users import _password

    if not os.path.isfile(args.config):
        return _refused(f"{args.config}: no such file")
    target = agent_file(args.config, args.id)
    if os.path.exists(target):
        return _refused(f"{target} exists (agent {args.id!r} was added before)")
    try:
        _queues(args.queue)
        deployment = _load(args.config)
    except ValueError as exc:
        return _refused(str(exc))
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return _refused(f"{args.config} is invalid as it stands ({len(exc.problems)} problem(s)); nothing written")
    if args.password_env:
        password = {"password": {"env": args.password_env}}
    else:
        if not EXTENSION.fullmatch(args.extension):
            return _refused(f"extension {args.extension!r} is not allowed (2 to 10 digits)")
        try:
            secret = _password()
        except ValueError as exc:
            return _refused(str(exc))
        if len(secret) < 8:
            return _refused("a softphone password has at least 8 characters")
        password = {"a1_hash": a1_hash(args.extension, deployment.sip_domain, secret)}
    try:
        text = _document(args, password)
    except ValueError as exc:
        return _refused(str(exc))
    return _keep_if_valid(args.config, target, text, f"agent {args.id} added")


def _keep_if_valid(config: str, target: str, text: str, done: str) -> int:
    """Write `text` beside `target`, load the whole configuration with it, rename it into
    place; on any problem remove it (and the override directory if this made it)."""
    from dialplan.errors import ConfigError

    folder = os.path.dirname(target)
    made = not os.path.isdir(folder)
    os.makedirs(folder, exist_ok=True)
    candidate = os.path.join(folder, "." + os.path.basename(target) + ".new")
    try:
        with open(candidate, "x", encoding="utf-8") as fh:
            fh.write(text)
        _load(config, extra=(candidate,))
        os.replace(candidate, target)
    except ConfigError as exc:
        print(exc.report().replace(candidate, target), file=sys.stderr)
        return _refused(f"refused: {len(exc.problems)} problem(s); nothing written")
    except FileExistsError:
        return _refused(f"{candidate} exists: another `sentral agents add` is running, or remove it")
    finally:
        if os.path.exists(candidate):
            os.unlink(candidate)
        if made and not os.listdir(folder):
            os.rmdir(folder)
    print(f"{done}: {target}")
    print(RELOAD_HINT)
    return 0


def agent_places(config: str) -> dict[str, tuple[str, int]]:
    """agent id -> (file, line) of its definition, in the main file and the override files."""
    import yaml

    from dialplan.loader import override_files
    from dialplan.source import compose_file

    places: dict[str, tuple[str, int]] = {}
    for file in [config, *override_files(config, None)]:
        doc = compose_file(file, [])
        if doc is None or not isinstance(doc.root, yaml.MappingNode):
            continue
        for key, value in doc.root.value:
            if key.value != "agents" or not isinstance(value, yaml.SequenceNode):
                continue
            for item in value.value:
                if not isinstance(item, yaml.MappingNode):
                    continue
                for k, v in item.value:
                    if k.value == "id" and isinstance(v, yaml.ScalarNode):
                        places.setdefault(v.value, (file, item.start_mark.line + 1))
    return places


def remove_command(args) -> int:
    target = agent_file(args.config, args.id)
    if os.path.isfile(target):
        with open(target, encoding="utf-8") as fh:
            ours = fh.readline().startswith(MARKER)
        if not ours:
            return _refused(f"{target} was not written by `sentral agents add`: edit or delete it yourself")
        os.unlink(target)
        print(f"agent {args.id} removed: {target} deleted")
        print(RELOAD_HINT)
        return 0
    where = agent_places(args.config).get(args.id)
    if where is None:
        return _refused(f"no agent {args.id!r} in {args.config} or its override directory")
    return _refused(f"agent {args.id!r} is defined at {where[0]}:{where[1]}, not by `sentral agents add`: "
                    "remove it there")


def list_command(args) -> int:
    from dialplan.errors import ConfigError

    try:
        deployment = _load(args.config)
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

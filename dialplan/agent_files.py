"""Agents as files of the routing configuration's override directory: add, remove, where.

Used by `sentral agents` and, through the composition root, by the web and the REST API.

Rules:
* an added agent is its own file `<FILE without .yaml>.d/agent-<ID>.yaml` (the loader
  appends every `agents` list found there); the main file is never rewritten;
* the WHOLE configuration is loaded with the candidate before it is kept: a duplicate id
  or extension, an unknown queue, a bad extension is refused (`ConfigInvalid` with the
  loader's file:line problems, naming the target file) and nothing is left behind (the
  candidate is written beside the target, checked, then renamed into place);
* the softphone password is never in the file: `password_env` stores `password: {env:
  NAME}`, a given password is hashed at once into `a1_hash` (md5 of
  "extension:sip_domain:password", what FreeSWITCH's directory takes);
* `remove_agent` deletes only a file this module wrote (its first line is MARKER); an
  agent defined anywhere else is refused with the place it is defined.
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from typing import Mapping

from dialplan.errors import ConfigError, Problem

MARKER = "# written by `sentral agents add`"
AGENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
SKILL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
MIN_PASSWORD = 8


class AgentFileError(Exception):
    """A refusal; `error_id` is stable, `problems` the loader's (file:line) if any."""
    error_id = "agents.refused"

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])

    def report(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class InvalidAgent(AgentFileError):
    error_id = "agents.invalid"


class ConfigInvalid(AgentFileError):
    error_id = "agents.config_invalid"


class AgentExists(AgentFileError):
    error_id = "agents.exists"


class UnknownAgent(AgentFileError):
    error_id = "agents.unknown"


class NotOurs(AgentFileError):
    """The agent is defined elsewhere; `place` is (file, line)."""
    error_id = "agents.not_ours"

    def __init__(self, message: str, place: tuple[str, int]):
        super().__init__(message)
        self.place = place


class Busy(AgentFileError):
    error_id = "agents.busy"


class NoConfig(AgentFileError):
    error_id = "agents.no_config"


@dataclass(frozen=True)
class AgentSpec:
    id: str
    extension: str
    name: str = ""
    queues: Mapping[str, int] = field(default_factory=dict)
    skills: tuple[str, ...] = ()
    auto_answer: bool = False
    password_env: str | None = None
    password: str | None = field(default=None, repr=False)   # hashed at once, never written

    def check(self) -> None:
        """InvalidAgent for a malformed spec (before any file is touched)."""
        if not isinstance(self.id, str) or not AGENT_ID.fullmatch(self.id):
            raise InvalidAgent(f"agent id {self.id!r} is not allowed (letters, digits, '_', '-', '.'; max 63)")
        from dialplan.agents import EXTENSION

        if not isinstance(self.extension, str) or not EXTENSION.fullmatch(self.extension):
            raise InvalidAgent(f"extension {self.extension!r} is not allowed (2 to 10 digits)")
        if not isinstance(self.name, str) or len(self.name) > 128 or "\n" in self.name:
            raise InvalidAgent("name is one line of at most 128 characters")
        for queue, level in self.queues.items():
            if not isinstance(queue, str) or not AGENT_ID.fullmatch(queue):
                raise InvalidAgent(f"queue {queue!r} is not a queue id")
            if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 99:
                raise InvalidAgent(f"queue {queue}: level {level!r} is not 1 to 99")
        for skill in self.skills:
            if not isinstance(skill, str) or not SKILL.fullmatch(skill):
                raise InvalidAgent(f"skill {skill!r} is not allowed")
        if self.password_env is not None:
            if not isinstance(self.password_env, str) or not ENV_NAME.fullmatch(self.password_env):
                raise InvalidAgent(f"password_env {self.password_env!r} is not an environment variable name")
            if self.password is not None:
                raise InvalidAgent("give password_env or password, not both")
        elif self.password is None:
            raise InvalidAgent("give a softphone password (or password_env)")
        elif not isinstance(self.password, str) or len(self.password) < MIN_PASSWORD:
            raise InvalidAgent(f"a softphone password has at least {MIN_PASSWORD} characters")


def override_dir(config: str) -> str:
    return os.path.splitext(config)[0] + ".d"


def agent_file(config: str, agent_id: str) -> str:
    return os.path.join(override_dir(config), f"agent-{agent_id}.yaml")


def load(config: str, extra: tuple[str, ...] = (), env: Mapping[str, str] | None = None):
    """The whole configuration (with `extra` override files); `env` None: `{env:}` values
    may be unset (the command line is not the engine's environment)."""
    from dialplan.loader import load as load_config

    if env is None:
        return load_config(config, require_env=False, unset_env=[], extra=extra)
    return load_config(config, env=env, extra=extra)


def document(spec: AgentSpec, password: dict) -> str:
    import yaml

    agent: dict = {"id": spec.id, "extension": spec.extension}
    if spec.name:
        agent["name"] = spec.name
    agent.update(password)
    if spec.queues:
        agent["queues"] = dict(spec.queues)
    if spec.skills:
        agent["skills"] = list(spec.skills)
    if spec.auto_answer:
        agent["auto_answer"] = True
    body = yaml.safe_dump({"agents": [agent]}, allow_unicode=True, sort_keys=False, default_flow_style=False)
    return f"{MARKER}; remove with `sentral agents remove {spec.id} --config ...`\n{body}"


def add_agent(config: str, spec: AgentSpec, env: Mapping[str, str] | None = None) -> str:
    """Write `spec` as its own override file once the whole configuration loads with it;
    returns the file's path. `env`: the environment the engine loads with (None: the
    command line's rule, `{env:}` values may be unset)."""
    if not os.path.isfile(config):
        raise NoConfig(f"{config}: no such file")
    spec.check()
    target = agent_file(config, spec.id)
    if os.path.exists(target):
        raise AgentExists(f"{target} exists (agent {spec.id!r} was added before)")
    try:
        deployment = load(config, env=env)
    except ConfigError as exc:
        raise ConfigInvalid(f"{config} is invalid as it stands ({len(exc.problems)} problem(s)); nothing written",
                            exc.problems) from exc
    if spec.password_env:
        password: dict = {"password": {"env": spec.password_env}}
    else:
        from dialplan.agents import a1_hash

        password = {"a1_hash": a1_hash(spec.extension, deployment.sip_domain, spec.password)}
    _keep_if_valid(config, target, document(spec, password), env)
    return target


def _keep_if_valid(config: str, target: str, text: str, env) -> None:
    """Write `text` beside `target`, load the whole configuration with it, rename it into
    place; on any problem remove it (and the override directory if this made it)."""
    folder = os.path.dirname(target)
    made = not os.path.isdir(folder)
    os.makedirs(folder, exist_ok=True)
    candidate = os.path.join(folder, "." + os.path.basename(target) + ".new")
    try:
        with open(candidate, "x", encoding="utf-8") as fh:
            fh.write(text)
        load(config, extra=(candidate,), env=env)
        os.replace(candidate, target)
    except ConfigError as exc:
        problems = [dataclasses.replace(p, file=target) if p.file == candidate else p for p in exc.problems]
        raise ConfigInvalid(f"refused: {len(problems)} problem(s); nothing written", problems) from exc
    except FileExistsError:
        raise Busy(f"{candidate} exists: another agent is being added, or remove it") from None
    finally:
        if os.path.exists(candidate):
            os.unlink(candidate)
        if made and not os.listdir(folder):
            os.rmdir(folder)


def written_here(path: str) -> bool:
    """True if `path` is a file this module wrote (its first line is MARKER)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.readline().startswith(MARKER)
    except OSError:
        return False


def remove_agent(config: str, agent_id: str) -> str:
    """Delete the agent's file if this module wrote it; returns the deleted path."""
    if not isinstance(agent_id, str) or not AGENT_ID.fullmatch(agent_id):
        raise InvalidAgent(f"agent id {agent_id!r} is not allowed")
    target = agent_file(config, agent_id)
    if os.path.isfile(target):
        if not written_here(target):
            raise NotOurs(f"{target} was not written by `sentral agents add`: edit or delete it yourself",
                          (target, 1))
        os.unlink(target)
        return target
    where = agent_places(config).get(agent_id)
    if where is None:
        raise UnknownAgent(f"no agent {agent_id!r} in {config} or its override directory")
    raise NotOurs(f"agent {agent_id!r} is defined at {where[0]}:{where[1]}, not by `sentral agents add`: "
                  "remove it there", where)


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

"""Adding and removing agents (operators' softphones) of the routing configuration, for a
person on the web (agent_ui.admin_agents) or an API token (agent_ui.api_admin): the one
place with the rules, the audit entry and the reload.

Rules:
- Who: an administrator of the tenant (agent_ui.user_rules). Every queue of the agent must be a queue
  of that tenant (a tenant_admin of A cannot make an agent that answers B's callers); an
  agent serving no queue, or queues of several tenants, is the `*` admin's to add or
  remove. Removing reads the agent's queues in the running configuration; an agent
  unknown to it is "not found" to everyone but `*` admins (no probing of ids). A queue
  unknown to the running configuration is left to the loader (400 with file:line).
- The file is written by `AgentFiles` (given by the composition root: dialplan.
  agent_files bound to the deployment file, which this package may not import), then
  the engine reloads the configuration as on SIGHUP (`AgentFiles.reload`); if the reload
  refuses, the change is taken back and the answer is 400 with the problems.
- A password given is hashed into `a1_hash` before anything is written; it is never
  stored, logged or audited.
- Audited before the answer: `agent.add` / `agent.remove` (actor, agent id, tenants of
  its queues; extension and queues in the detail).
- Without a configuration file (a deployment not from a file) every change is 501
  `api.agents_in_config`.
- The answer is the agent as the running engine sees it once the reload has reached it
  (waited for at most WAIT seconds; the engine applies reloads in its own greenlet).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol

import gevent

from agent_ui import user_rules as rules
from agent_ui.actions import ALL, ActionDenied, ActionError, ActionInvalid, ActionNotFound, Actor, EngineDown

log = logging.getLogger(__name__)
WAIT = 5.0


class AgentsNotHere(ActionError):
    status = 501
    error_id = "api.agents_in_config"


class AgentConflict(ActionError):
    status = 409
    error_id = "agents.conflict"


class AgentRefused(ActionError):
    """The configuration refused the change: `problems` are the loader's (file:line: ...)."""
    status = 400
    error_id = "agents.config_invalid"

    def __init__(self, message: str, problems: list[str]):
        super().__init__(self.error_id, message)
        self.problems = list(problems)


NOT_HERE = ("this deployment was not started from a configuration file: agents are added with "
            "`sentral agents add ID --config FILE ...` and the engine reloaded (kill -HUP <pid of sentral run>)")


@dataclass(frozen=True)
class NewAgent:
    id: str
    extension: str
    name: str = ""
    queues: Mapping[str, int] = field(default_factory=dict)
    skills: tuple[str, ...] = ()
    auto_answer: bool = False
    password_env: str | None = None
    password: str | None = field(default=None, repr=False)


class AgentFiles(Protocol):
    """The routing configuration's agents as files (sentral.agent_config)."""
    path: str

    def add(self, agent: NewAgent) -> str: ...             # the file written; ActionError on refusal
    def remove(self, agent_id: str) -> Callable[[], None]: ...  # deletes the file; returns its undo
    def places(self) -> dict[str, tuple[str, int]]: ...    # agent id -> (file, line)
    def ours(self, agent_id: str) -> bool: ...             # defined in a file that add() wrote
    def reload(self) -> list[str]: ...                     # apply as on SIGHUP; the problems ([] = applied)


@dataclass
class AgentChanges:
    files: AgentFiles | None
    engine_source: Callable
    audit: Callable                    # store.audit(actor, action, kind, id, tenant=, detail=)
    sleep: Callable[[float], None] = gevent.sleep     # lets the engine's greenlet apply the reload
    monotonic: Callable[[], float] = time.monotonic

    # -- who may -------------------------------------------------------------------------
    def _deployment(self):
        engine = self.engine_source()
        if engine is None:
            raise EngineDown("action.engine_down", "the engine is not running")
        return engine.deployment

    @staticmethod
    def queue_tenants(deployment, queues) -> set[str]:
        return {deployment.queues[q].tenant for q in queues if q in deployment.queues}

    def may_change(self, actor: Actor, queues, tenant: str | None = None) -> bool:
        """May `actor` add or remove an agent serving `queues` (in `tenant`, if given)?"""
        if rules.is_system_admin(actor):
            return True
        deployment = self._deployment()
        tenants = self.queue_tenants(deployment, queues)
        if not queues or len(tenants) > 1 or (tenant is not None and tenants - {tenant}):
            return False
        scope = tenants or ({tenant} if tenant else set())
        return bool(scope) and scope <= rules.administered(actor, deployment.tenants)

    def _files(self) -> AgentFiles:
        if self.files is None:
            raise AgentsNotHere("api.agents_in_config", NOT_HERE)
        return self.files

    # -- changes --------------------------------------------------------------------------
    def add(self, actor: Actor, agent: NewAgent, tenant: str | None = None) -> dict:
        files = self._files()
        if not self.may_change(actor, agent.queues, tenant):
            raise ActionDenied("action.denied", "an agent serving no queue, or queues of another or several "
                                                "tenants, is only the system administrator's to add")
        path = files.add(agent)
        problems = files.reload()
        if problems:
            files.remove(agent.id)
            raise AgentRefused(f"the running engine refused the configuration ({len(problems)} problem(s)); "
                               "nothing kept", problems)
        tenants = self.queue_tenants(self._deployment(), agent.queues)
        self.audit(actor.name, "agent.add", "agent", agent.id, tenant=",".join(sorted(tenants))[:64],
                   detail={"extension": agent.extension, "queues": dict(agent.queues), "file": path,
                           "password": "env" if agent.password_env else "a1_hash"})
        if self._await(lambda engine: agent.id in engine.agents):
            return self.view(agent.id)
        log.warning("agent %s kept and reloaded, not yet in the engine after %.0f s", agent.id, WAIT)
        return {"id": agent.id, "name": agent.name or agent.id, "extension": agent.extension,
                "queues": dict(sorted(agent.queues.items())), "skills": sorted(agent.skills),
                "auto_answer": agent.auto_answer, "state": "pending", "registered": False,
                "defined_at": f"{path}:2", "removable": True}

    def remove(self, actor: Actor, agent_id: str, tenant: str | None = None) -> str:
        files = self._files()
        config = self._deployment().agents.get(agent_id)
        if config is None and not rules.is_system_admin(actor):
            raise ActionNotFound("action.unknown_agent", f"no agent {agent_id!r} of this tenant")
        queues = dict(config.queues) if config else {}
        served = self.queue_tenants(self._deployment(), queues)
        if not rules.is_system_admin(actor) and tenant is not None and tenant not in served:
            raise ActionNotFound("action.unknown_agent", f"no agent {agent_id!r} of this tenant")
        if not self.may_change(actor, queues, tenant):
            raise ActionDenied("action.denied", "an agent serving queues of another or several tenants is only "
                                                "the system administrator's to remove")
        undo = files.remove(agent_id)
        problems = files.reload()
        if problems:
            undo()
            raise AgentRefused(f"the running engine refused the configuration ({len(problems)} problem(s)); "
                               "the agent stays", problems)
        self.audit(actor.name, "agent.remove", "agent", agent_id, tenant=",".join(sorted(served))[:64],
                   detail={"extension": config.sip_user if config else "", "queues": queues})
        self._await(lambda engine: agent_id not in engine.deployment.agents)
        return agent_id

    def _await(self, done: Callable) -> bool:
        """Wait (at most WAIT seconds) until `done(engine)`: the engine applies a reload in
        its own greenlet, after reload() has returned."""
        deadline = self.monotonic() + WAIT
        while True:
            engine = self.engine_source()
            if engine is not None and done(engine):
                return True
            if self.monotonic() >= deadline:
                return False
            self.sleep(0.02)

    # -- views ----------------------------------------------------------------------------
    def view(self, agent_id: str) -> dict:
        """The agent as the running engine sees it."""
        engine = self.engine_source()
        config = engine.deployment.agents.get(agent_id) if engine is not None else None
        if config is None:
            raise ActionNotFound("action.unknown_agent", f"no agent {agent_id!r} in the running engine")
        live = engine.agents.get(agent_id)
        places = self.files.places() if self.files is not None else {}
        file, line = places.get(agent_id, ("", 0))
        return {"id": config.id, "name": config.name, "extension": config.sip_user,
                "queues": dict(sorted(config.queues.items())), "skills": sorted(config.skills),
                "auto_answer": config.auto_answer, "state": live.state.value if live else "logged_out",
                "registered": bool(live.registered) if live else False,
                "defined_at": f"{file}:{line}" if file else "",
                "removable": bool(self.files is not None and self.files.ours(agent_id))}

    def listing(self, tenants: set[str]) -> list[dict]:
        """The running engine's agents serving a queue of `tenants` ({"*"}: every agent)."""
        engine = self.engine_source()
        if engine is None:
            return []
        deployment = engine.deployment
        out = []
        for aid, config in sorted(deployment.agents.items()):
            served = self.queue_tenants(deployment, config.queues)
            if ALL in tenants or served & tenants:
                out.append({**self.view(aid), "tenants": sorted(served)})
        return out


def parse_new_agent(data: Mapping) -> NewAgent:
    """A NewAgent from a JSON body or form fields already shaped as JSON; ActionInvalid."""
    def text(key: str, default: str = "") -> str:
        value = data.get(key, default)
        if not isinstance(value, str):
            raise ActionInvalid("agents.invalid", f"{key} is a string")
        return value.strip()

    queues = data.get("queues", {})
    if isinstance(queues, list) and all(isinstance(q, str) for q in queues):
        queues = {q: 1 for q in queues}
    if (not isinstance(queues, dict) or len(queues) > 64
            or not all(isinstance(q, str) and type(level) is int for q, level in queues.items())):
        raise ActionInvalid("agents.invalid", "queues is an object {queue id: level (a whole number)}")
    skills = data.get("skills", [])
    if not isinstance(skills, list) or len(skills) > 64 or not all(isinstance(k, str) for k in skills):
        raise ActionInvalid("agents.invalid", "skills is a list of skill ids")
    auto = data.get("auto_answer", False)
    if not isinstance(auto, bool):
        raise ActionInvalid("agents.invalid", "auto_answer is true or false")
    env = data.get("password_env")
    password = data.get("password")
    if env is not None and not isinstance(env, str) or password is not None and not isinstance(password, str):
        raise ActionInvalid("agents.invalid", "password_env and password are strings")
    return NewAgent(text("id"), text("extension"), text("name"), dict(queues), tuple(skills), auto, env, password)

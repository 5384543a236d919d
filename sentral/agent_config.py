"""The routing configuration's agent files for the web process (agent_ui.agent_changes'
`AgentFiles`): dialplan.agent_files bound to the deployment file, its refusals translated
into agent_ui's typed errors, and the reload that applies a change to the running engine.

Rules:
* a candidate is checked with the environment the engine loads with (os.environ; with
  `agents_reload`, the file's own rule, unset `{env:}` values allowed), so a kept file
  also loads at the reload that follows;
* `sentral run` gives its own reload (the SIGHUP Reloader: the whole file, as a SIGHUP
  does); a process that changed its deployment after loading it (`sentral demo`: its
  simulator node, scaled timers) gets `agents_reload`, which takes only the file's agents
  into the running deployment.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
from typing import Callable

from agent_ui.actions import ActionInvalid, ActionNotFound
from agent_ui.agent_changes import AgentConflict, AgentRefused, AgentsNotHere, NewAgent
from dialplan import agent_files as af

log = logging.getLogger(__name__)


def _problems(error) -> list[str]:
    return [str(p) for p in getattr(error, "problems", [])]


class ConfigAgents:
    def __init__(self, path: str, reload: Callable, env=os.environ):
        self.path = path
        self._reload = reload
        self._env = env          # None: `{env:}` values may be unset (agents_reload's rule)

    def add(self, agent: NewAgent) -> str:
        spec = af.AgentSpec(agent.id, agent.extension, agent.name, dict(agent.queues), tuple(agent.skills),
                            agent.auto_answer, agent.password_env, agent.password)
        try:
            return af.add_agent(self.path, spec, env=self._env)
        except af.InvalidAgent as exc:
            raise ActionInvalid(exc.error_id, exc.message) from None
        except af.ConfigInvalid as exc:
            raise AgentRefused(exc.message, _problems(exc)) from None
        except (af.AgentExists, af.Busy) as exc:
            raise AgentConflict(exc.error_id, exc.message) from None
        except af.NoConfig as exc:
            raise AgentsNotHere("api.agents_in_config", exc.message) from None

    def remove(self, agent_id: str) -> Callable[[], None]:
        target = af.agent_file(self.path, agent_id)
        text = None
        if af.written_here(target):
            with open(target, encoding="utf-8") as fh:
                text = fh.read()
        try:
            af.remove_agent(self.path, agent_id)
        except af.InvalidAgent as exc:
            raise ActionInvalid(exc.error_id, exc.message) from None
        except af.UnknownAgent as exc:
            raise ActionNotFound("action.unknown_agent", exc.message) from None
        except af.NotOurs as exc:
            raise AgentConflict(exc.error_id, exc.message) from None

        def undo() -> None:
            if text is not None:
                with open(target, "x", encoding="utf-8") as fh:
                    fh.write(text)
        return undo

    def places(self) -> dict[str, tuple[str, int]]:
        return af.agent_places(self.path)

    def ours(self, agent_id: str) -> bool:
        return af.written_here(af.agent_file(self.path, agent_id))

    def reload(self) -> list[str]:
        result = self._reload()
        return [] if result.ok else _problems(result.error)


def agents_reload(path: str, proc) -> Callable:
    """A reload that takes the file's agents into `proc`'s running deployment and keeps
    the rest as the process made it (returns a dialplan.reload.ReloadResult)."""
    from dialplan.errors import ConfigError
    from dialplan.reload import ReloadResult, diff

    lock = threading.Lock()

    def reload() -> ReloadResult:
        with lock:
            try:
                fresh = af.load(path)
            except ConfigError as exc:
                log.error("agents reload refused, the running configuration stays in force:\n%s", exc.report())
                return ReloadResult(False, error=exc)
            old = proc.deployment
            new = dataclasses.replace(old, agents=fresh.agents)
            changes = diff(old, new)
            for line in changes:
                log.info("agents reload: %s", line)
            if changes:
                proc.reload(new)
            return ReloadResult(True, changes)
    return reload

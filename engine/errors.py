"""Typed domain errors of the ACD, each with a stable `error_id` (part of the API).

Rules: the facade turns these into Notify("command_refused", {"error_id": ...}) for
console commands; adapters map error ids to HTTP/Socket.IO replies in one place.
"""
from __future__ import annotations


class DomainError(Exception):
    error_id = "engine.error"


class UnknownAgent(DomainError):
    error_id = "engine.unknown_agent"

    def __init__(self, agent: str):
        self.agent = agent
        super().__init__(f"no agent {agent!r} in the deployment")

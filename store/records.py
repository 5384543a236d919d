"""Plain frozen records the store reads and writes (besides the engine's `Journal` rows).

They mirror the tables column for column, so the runtime can build them from engine
state without knowing SQLAlchemy, and tests can compare them with `==`. Times are
aware datetimes (UTC on the way out).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Mapping


@dataclass(frozen=True)
class InteractionRecord:
    id: str
    tenant: str
    state: str                               # the engine's interaction state name
    entered_at: datetime
    kind: str = "call"
    queue: str = ""
    node: str = ""
    caller_uuid: str = ""
    caller_number: str = ""
    caller_name: str = ""
    destination: str = ""
    priority: int = 0
    queue_entered_at: datetime | None = None  # keeps the caller's place across restarts/overflow
    agent: str = ""
    agent_uuid: str = ""
    answered_at: datetime | None = None
    ended_at: datetime | None = None         # None = still open
    end_reason: str = ""
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentStateRecord:
    agent: str
    state: str                               # logged_out, available, offered, on_call, wrap_up, paused ...
    since: datetime
    reason: str = ""
    no_answer_count: int = 0
    last_call_end: datetime | None = None
    calls_answered: int = 0
    talk_time: float = 0.0                   # seconds
    interaction: str = ""
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class CallbackRecord:
    id: str
    tenant: str
    queue: str
    number: str
    requested_at: datetime
    position_at: datetime                    # the original queue entry time: the caller's place
    interaction: str = ""
    name: str = ""
    state: str = "pending"                   # pending, offered, done, failed, cancelled
    attempts: int = 0
    agent: str = ""
    done_at: datetime | None = None
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    display_name: str
    active: bool
    roles: frozenset[tuple[str, str]]        # {(tenant, role)}; tenant "*" = every tenant
    created_at: datetime
    last_login_at: datetime | None = None
    agent: str = ""                          # the engine agent this user works as ("" = none)


@dataclass(frozen=True)
class AuditRecord:
    at: datetime
    actor: str
    action: str
    target_kind: str
    target_id: str
    tenant: str = ""
    detail: Mapping[str, object] = field(default_factory=dict)


def to_params(record) -> dict:
    params = asdict(record)
    if "data" in params:
        params["data"] = dict(params["data"] or {})
    if "detail" in params:
        params["detail"] = dict(params["detail"] or {})
    return params


def from_row(cls, row):
    mapping = row._mapping
    return cls(**{f.name: mapping[f.name] for f in fields(cls) if f.name in mapping})

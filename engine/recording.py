"""Recording policy: whether a call is recorded, with which notice, to which key, kept
how long and heard by whom.

Rules: a queue's `recording` settings override its tenant's field by field (None = the
tenant's). `record` needs both `enabled` and a notice: no recording without the notice
(R6). Pure: the engine, the recorder and the web call `policy()` with the deployment
they run with now, so a reload changes the policy of the next call, not a stored one.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from engine.config import Deployment

DEFAULT_ROLES = frozenset({"supervisor", "tenant_admin"})


@dataclass(frozen=True)
class RecordingPolicy:
    record: bool
    notice: str
    public_key: str
    key_id: str
    retention_days: int
    roles: frozenset[str]


def key_id(recipient: str) -> str:
    """A short stable name of a public key (stored with each recording, names the private
    key that opens it): the first 16 hex digits of the recipient's SHA-256."""
    return hashlib.sha256(recipient.encode()).hexdigest()[:16]


def policy(deployment: Deployment, tenant_id: str, queue_id: str = "") -> RecordingPolicy:
    """The policy of a call of `tenant_id` entering `queue_id` ("" = the tenant's own).
    An unknown tenant records nothing."""
    tenant = deployment.tenants.get(tenant_id)
    if tenant is None:
        return RecordingPolicy(False, "", "", "", 90, DEFAULT_ROLES)
    enabled, notice = tenant.record_calls, tenant.recording_notice
    retention, roles = tenant.recording_retention_days, tenant.recording_roles
    queue = deployment.queues.get(queue_id)
    if queue is not None and queue.tenant == tenant_id and (own := queue.recording) is not None:
        enabled = enabled if own.enabled is None else own.enabled
        notice = notice if own.notice is None else own.notice
        retention = retention if own.retention_days is None else own.retention_days
        roles = roles if own.roles is None else own.roles
    key = tenant.recording_key
    return RecordingPolicy(record=bool(enabled and notice), notice=notice if enabled else "", public_key=key,
                           key_id=key_id(key) if key else "", retention_days=retention, roles=frozenset(roles))

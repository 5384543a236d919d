"""Who may find, hear and hold which call recording (issue 11, R8). Pure: the roles of the
user and the deployment running now in, a yes or no out.

Rules:
- Listening (search, play, download) needs a role listed in the recording's policy
  (`engine.recording.policy(deployment, tenant, queue).roles`: the queue's `listen_roles`,
  else the tenant's, default supervisor and tenant_admin) held in that tenant or in `*`.
  A system `admin` listens only where `admin` is listed: holding the system is not a right
  to hear citizens.
- A recording the user may not hear does not exist for them (the page answers 404, never
  403, so an id from another agency reveals nothing).
- Legal hold is set and lifted by the recording's tenant's `tenant_admin` or an `admin`
  (of that tenant or `*`), among the recordings they may see.
"""
from __future__ import annotations

from typing import Iterable

from engine.recording import policy

HOLDERS = frozenset({"tenant_admin", "admin"})
ALL = "*"


def _holds(roles: Iterable[tuple[str, str]], tenant: str, allowed: frozenset[str]) -> bool:
    return any(t in (tenant, ALL) and r in allowed for t, r in roles)


def may_listen(roles: Iterable[tuple[str, str]], deployment, tenant: str, queue: str = "") -> bool:
    """May a user with these (tenant, role) pairs hear a recording of `tenant`/`queue`?"""
    if tenant not in deployment.tenants:
        return False
    return _holds(roles, tenant, policy(deployment, tenant, queue).roles)


def listening_tenants(roles: Iterable[tuple[str, str]], deployment) -> set[str]:
    """Tenants where the user may hear some recording (the tenant's own roles or a queue's)."""
    roles = list(roles)
    found = set()
    for tenant in deployment.tenants:
        queues = [""] + [q for q, cfg in deployment.queues.items() if cfg.tenant == tenant]
        if any(may_listen(roles, deployment, tenant, q) for q in queues):
            found.add(tenant)
    return found


def may_hold(roles: Iterable[tuple[str, str]], tenant: str) -> bool:
    """May the user set or lift a legal hold on a recording of `tenant` (that they can see)?"""
    return _holds(roles, tenant, HOLDERS)

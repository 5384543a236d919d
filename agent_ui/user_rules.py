"""Who may manage which web user, grant which role and bind whom to which agent: the one
rule for the administration pages (agent_ui.admin_users, agent_ui.admin_agents), the
REST API (agent_ui.api_admin) and adding agents (agent_ui.agent_changes).

Rules:
- An actor administers tenant T when it has `admin` or `tenant_admin` in T and T is a
  tenant of the running configuration (`known`); `admin` in "*" administers every tenant
  (answered as {"*"}). Another role in "*" administers nothing (a token cannot have
  one; a person with `tenant_admin` in "*" is no system administrator).
- A user is managed (disabled, given a password, bound) only by an actor administering
  EVERY tenant the user has a role in; a user with a "*" role, or with none, only by a
  "*" admin; nobody manages themself (no self-lockout, no self-promotion).
- A role is granted only in a tenant the actor administers; a "*" role only by a "*"
  admin; the `admin` role only by an admin of that tenant (a tenant_admin grants
  tenant_admin and below). `refusal` names why not, each caller words it.
- Binding a user to an agent makes them act as the agent on every call it gets: the
  actor must administer every tenant whose queues the agent serves (an agent of no
  queue: a "*" admin's).
- Viewing: an administrator's tenants, plus those where the actor is `supervisor`
  (supervisor in "*": every user).
"""
from __future__ import annotations

from typing import Iterable

from agent_ui.actions import ALL, Actor

ADMIN = frozenset({"admin", "tenant_admin"})


def is_system_admin(actor: Actor) -> bool:
    return (ALL, "admin") in actor.roles


def administered(actor: Actor, known: Iterable[str]) -> set[str]:
    """Tenants the actor administers ({"*"} = every tenant)."""
    if is_system_admin(actor):
        return {ALL}
    return {t for t, r in actor.roles if r in ADMIN and t != ALL} & set(known)


def viewable(actor: Actor, known: Iterable[str]) -> set[str]:
    known = set(known)
    out = administered(actor, known)
    if ALL not in out:
        out |= {t for t, r in actor.roles if r == "supervisor" and t != ALL} & known
        if (ALL, "supervisor") in actor.roles:
            out.add(ALL)
    return out


def covers(tenants: set[str], tenant: str) -> bool:
    return ALL in tenants or tenant in tenants


def may_see(actor: Actor, record, known: Iterable[str]) -> bool:
    seen = viewable(actor, known)
    return bool(seen) and (ALL in seen or any(t in seen for t, _ in record.roles))


def may_manage(actor: Actor, roles, known: Iterable[str]) -> bool:
    """May `actor` manage a user holding `roles`?"""
    mine = administered(actor, known)
    tenants = {t for t, _ in roles}
    return ALL in mine or (bool(tenants) and tenants <= mine)


def may_change(actor: Actor, record, known: Iterable[str]) -> bool:
    return record.username != actor.name and may_manage(actor, record.roles, known)


def refusal(actor: Actor, tenant: str, role: str, known: Iterable[str]) -> str:
    """Why `actor` may not grant `role` in `tenant`: "all_tenants", "tenant" or "admin_role";
    "" when it may."""
    mine = administered(actor, known)
    if ALL in mine:
        return ""
    if tenant == ALL:
        return "all_tenants"
    if tenant not in mine:
        return "tenant"
    if role == "admin" and (tenant, "admin") not in actor.roles:
        return "admin_role"
    return ""


def kept_roles(actor: Actor, roles, known: Iterable[str]) -> set[tuple[str, str]]:
    """The roles of `roles` the actor does not administer: a change of roles keeps them."""
    mine = administered(actor, known)
    return {(t, r) for t, r in roles if not covers(mine, t)}


def may_bind(actor: Actor, served: set[str], known: Iterable[str]) -> bool:
    """May `actor` bind a user to an agent serving queues of the `served` tenants?"""
    mine = administered(actor, known)
    return ALL in mine or (bool(served) and served <= mine)

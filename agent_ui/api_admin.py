"""The API's administration: web users of a tenant, and the routing configuration's agents.

Rules:
- Only a token administering the tenant (admin or tenant_admin there; admin "*" = every
  tenant). Who manages which user and grants which role is agent_ui.user_rules' (as on
  the web pages): a user is managed only by a token administering EVERY tenant the user
  has a role in, so an agency's admin cannot disable or reset a person who also works for
  another agency, nor change their roles (stricter than the web page, which edits only
  its own agency's roles of such a person).
- A new user's password (and a reset one) is generated here and returned once; every
  change ends the user's sessions where the store says so, and is audited as
  `token:<id>`.
- Agents live in the routing configuration: adding and removing one is agent_ui.
  agent_changes' (its rules: the tenant's queues only, an agent of several tenants is the
  `*` admin's; written, reloaded, audited); 501 when the engine was not started from a
  configuration file.
"""
from __future__ import annotations

import secrets

from flask import current_app, jsonify

from agent_ui import user_rules as rules
from agent_ui.agent_changes import AgentRefused, parse_new_agent
from agent_ui.api import ApiError, actor, body, checked_id, ctx, route
from agent_ui.api_spec import BOOL, INT, STR, array, obj, ref
from store.accounts import ALL_TENANTS, ROLES
from store.errors import InvalidRecord, UnknownUser

TAG = "admin"
ROLE_LIST = array(obj({"tenant": STR, "role": {"type": "string", "enum": list(ROLES)}}, ("tenant", "role")))


def _known() -> set[str]:
    return set(ctx().deployment().tenants)


def _require_tenant(tenant: str) -> None:
    known = _known()
    if tenant not in known or not rules.covers(rules.administered(actor(), known), tenant):
        raise ApiError(403, "action.denied", "the token is no admin of this tenant")


def _roles(value) -> list[tuple[str, str]]:
    if not isinstance(value, list) or len(value) > 64:
        raise ApiError(400, "api.bad_roles", "roles is a list of {tenant, role}")
    out = []
    for item in value:
        if not isinstance(item, dict) or item.get("role") not in ROLES:
            raise ApiError(400, "api.bad_roles", f"each role is {{tenant, role}} with role one of {', '.join(ROLES)}")
        tenant = item.get("tenant")
        if tenant != ALL_TENANTS:
            checked_id(tenant, "tenant")
        out.append((tenant, item["role"]))
    me, known = actor(), _known()
    for tenant, role in out:
        why = rules.refusal(me, tenant, role, known)
        if why == "tenant":
            raise ApiError(403, "action.denied", f"the token is no admin of tenant {tenant!r}")
        if why:
            raise ApiError(403, "action.denied", f"the token may not grant {tenant}:{role}")
    return out


def _user_view(user) -> dict:
    return {"username": user.username, "display_name": user.display_name, "active": user.active,
            "agent": user.agent, "roles": [{"tenant": t, "role": r} for t, r in sorted(user.roles)]}


def _managed_user(username: str):
    user = ctx().store.user(username)
    if user is not None and rules.may_change(actor(), user, _known()):
        return user
    if user is None and rules.is_system_admin(actor()):
        raise ApiError(404, "api.unknown_user", f"no user {username!r}")
    # a stranger's account and a missing one get the same answer: no probing of names
    raise ApiError(403, "action.denied", f"no user {username!r} this token manages")


def _audit(action: str, username: str, detail: dict | None = None, roles=()) -> None:
    """Audited with the tenants of the user's roles (before and after the change)."""
    user = ctx().store.user(username)
    tenants = {t for t, _ in (user.roles if user is not None else ())} | {t for t, _ in roles}
    ctx().store.audit(actor().name, action, "user", username, tenant=",".join(sorted(tenants))[:64],
                      detail=detail or {})


@route("GET", "/v1/tenants/<tenant>/users", "The tenant's web users (a '*' role counts for every tenant)", TAG,
       obj({"users": array(ref("User"))}, ("users",)), errors=(401, 403, 429, 503))
def tenant_users(tenant):
    _require_tenant(tenant)
    return {"users": [_user_view(u) for u in ctx().store.users(tenant)]}


@route("POST", "/v1/tenants/<tenant>/users", "Create a web user with roles; returns a one-time password", TAG,
       ref("NewUser"), ok=201, errors=(400, 401, 403, 409, 429, 503),
       body=obj({"username": STR, "display_name": STR, "roles": ROLE_LIST}, ("username", "roles"),
                example={"username": "nina", "display_name": "Nina", "roles": [{"tenant": "helsedir",
                                                                                 "role": "operator"}]}))
def tenant_user_create(tenant):
    _require_tenant(tenant)
    data = body()
    username, display = data.get("username"), data.get("display_name", "")
    checked_id(username, "username")
    if not isinstance(display, str) or len(display) > 128:
        raise ApiError(400, "api.bad_body", "display_name is a string of at most 128 characters")
    roles = _roles(data.get("roles"))
    if tenant not in {t for t, _ in roles}:
        raise ApiError(400, "api.bad_roles", f"a user created in {tenant!r} has a role there")
    store = ctx().store
    if store.user(username) is not None:
        raise ApiError(409, "api.user_exists", f"user {username!r} exists")
    password = secrets.token_urlsafe(12)
    try:
        user = store.create_user(username, password, display_name=display, roles=roles)
    except InvalidRecord as exc:
        raise ApiError(400, "api.bad_body", str(exc)) from exc
    _audit("user.add", username, {"roles": ",".join(f"{t}:{r}" for t, r in roles)})
    return {"user": _user_view(user), "password": password}, 201


@route("POST", "/v1/users/<username>/disable", "Disable a user (ends their sessions)", TAG,
       obj({"user": ref("User")}, ("user",)), errors=(400, 401, 403, 404, 429, 503))
def user_disable(username):
    _managed_user(username)
    ctx().store.set_active(username, False)
    _audit("user.disable", username)
    return {"user": _user_view(ctx().store.user(username))}


@route("POST", "/v1/users/<username>/reset", "A new one-time password (ends the user's sessions)", TAG,
       ref("NewUser"), errors=(400, 401, 403, 404, 429, 503))
def user_reset(username):
    _managed_user(username)
    password = secrets.token_urlsafe(12)
    ctx().store.set_password(username, password)
    _audit("user.reset", username)
    return {"user": _user_view(ctx().store.user(username)), "password": password}


@route("PUT", "/v1/users/<username>/roles", "Replace a user's roles", TAG, obj({"user": ref("User")}, ("user",)),
       body=obj({"roles": ROLE_LIST}, ("roles",), example={"roles": [{"tenant": "helsedir", "role": "supervisor"}]}),
       errors=(400, 401, 403, 404, 429, 503))
def user_roles(username):
    user = _managed_user(username)
    roles = _roles(body().get("roles"))
    before = user.roles
    keep = rules.kept_roles(actor(), user.roles, _known())     # none: the user is wholly the token's
    try:
        ctx().store.set_roles(username, sorted(set(roles) | keep))
    except (InvalidRecord, UnknownUser) as exc:
        raise ApiError(400, "api.bad_roles", str(exc)) from exc
    _audit("user.roles", username, {"roles": ",".join(f"{t}:{r}" for t, r in roles)}, roles=before)
    return {"user": _user_view(ctx().store.user(username))}


# -- agents of the routing configuration --------------------------------------------------
CONFIGURED_AGENT = obj({"id": STR, "name": STR, "extension": STR, "queues": {"type": "object",
                        "additionalProperties": INT}, "skills": array(STR), "auto_answer": BOOL, "state": STR,
                        "registered": BOOL, "defined_at": STR, "removable": BOOL},
                       ("id", "name", "extension", "queues", "state", "defined_at", "removable"))
NEW_AGENT = obj({"id": STR, "extension": STR, "name": STR,
                 "queues": {"type": "object", "additionalProperties": INT,
                            "description": "queue id -> level (1 = offered first); queues of this tenant"},
                 "skills": array(STR), "auto_answer": BOOL,
                 "password_env": {"type": "string", "description": "store `password: {env: NAME}`"},
                 "password": {"type": "string", "description": "the softphone password (8+): only its a1 hash "
                                                               "is stored; give this or password_env"}},
                ("id", "extension", "queues"),
                example={"id": "a2001", "extension": "2001", "name": "Agent 2001", "queues": {"helsedir-main": 1},
                         "password_env": "A2001_SIP_PASSWORD"})
AGENT_ERRORS = (400, 401, 403, 404, 409, 429, 501, 503)


def _agents():
    return current_app.extensions["sentral_agents"]


def _refused(exc: AgentRefused):
    return jsonify(error=exc.error_id, message=exc.message, problems=exc.problems), exc.status


@route("POST", "/v1/tenants/<tenant>/agents", "Add an agent to the routing configuration; the engine reloads", TAG,
       CONFIGURED_AGENT, ok=201, errors=AGENT_ERRORS, body=NEW_AGENT,
       description="admin or tenant_admin of the tenant; every queue must be the tenant's (an agent of "
                   "several tenants or none: a `*` admin's). Written as `<config>.d/agent-<id>.yaml` once the "
                   "whole configuration loads with it, then applied as on SIGHUP; the answer is the agent as "
                   "the engine sees it. 400 `agents.config_invalid` carries `problems` (file:line: ...), "
                   "nothing is kept; 409 the agent's file exists; 501 `api.agents_in_config` when the engine "
                   "was not started from a configuration file.")
def tenant_agent_add(tenant):
    _require_tenant(tenant)
    agent = parse_new_agent(body())
    try:
        return _agents().add(actor(), agent, tenant), 201
    except AgentRefused as exc:
        return _refused(exc)


@route("DELETE", "/v1/tenants/<tenant>/agents/<agent_id>", "Remove an agent added here or by `sentral agents add`",
       TAG, obj({"removed": STR}, ("removed",)), errors=AGENT_ERRORS,
       description="The same rule as adding, over the agent's queues. Only agents in files written by "
                   "`sentral agents add` (or this API) are removed: another is 409 `agents.not_ours` naming "
                   "where it is defined; 501 without a configuration file.")
def tenant_agent_remove(tenant, agent_id):
    _require_tenant(tenant)
    try:
        return {"removed": _agents().remove(actor(), agent_id, tenant)}
    except AgentRefused as exc:
        return _refused(exc)

"""Web administration of users (R20): list, create, disable/enable, new password, roles,
agent binding. Audience: logged-in staff on the web listener.

Rules:
- Who administers which tenants: `admin` in "*" administers every tenant and may grant
  "*" roles; `admin` or `tenant_admin` in tenant T administers T. A `supervisor` of T
  may only view T's users. Anyone else gets 403, also for guessed URLs.
- A user is listed to a viewer who sees one of the user's tenants (an "*" role is seen
  only by "*" admins). A change to a user (disable, password, binding) needs the viewer
  to administer EVERY tenant the user has a role in: a tenant_admin of A cannot lock out
  or take over a user of B. Roles: the viewer sets only the roles in tenants they
  administer; the user's other roles are kept as they are; "*" only by "*" admins.
- A new password is made here (shown once, never stored plain, never in a URL or log)
  or typed by the admin (at least 10 characters); a new password and a disable end the
  user's sessions (store.users).
- Roles: the admin role only by an admin of that tenant (a tenant_admin grants
  tenant_admin and below, as in the API).
- Binding: the agent must be in the running configuration and serve queues only of
  tenants the viewer administers (`may_bind`; "*" admins: any agent): the bound user acts
  as the agent on every call it gets; one user per agent (store.users).
- Every change is audited (actor the viewer, action user.*, the tenants it touched).
"""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from agent_ui.app import config_and_services
from agent_ui.auth import login_required
from store.accounts import ALL_TENANTS, ROLES
from store.errors import InvalidRecord, StoreError

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")
ADMINS = frozenset({"admin", "tenant_admin"})
MIN_PASSWORD = 10


def administered(user) -> set[str]:
    """Tenants the user administers ({"*"} = every tenant)."""
    if not user:
        return set()
    if (ALL_TENANTS, "admin") in user.roles:
        return {ALL_TENANTS}
    return {t for t, r in user.roles if r in ADMINS and t != ALL_TENANTS}


def viewable(user) -> set[str]:
    out = administered(user)
    if user and ALL_TENANTS not in out:
        out |= {t for t, r in user.roles if r == "supervisor"}
        if (ALL_TENANTS, "supervisor") in user.roles:
            out.add(ALL_TENANTS)
    return out


def _covers(tenants: set[str], tenant: str) -> bool:
    return ALL_TENANTS in tenants or tenant in tenants


def may_see(viewer, record) -> bool:
    seen = viewable(viewer)
    return bool(seen) and (ALL_TENANTS in seen or any(t in seen for t, _ in record.roles))


def may_change(viewer, record) -> bool:
    mine = administered(viewer)
    if not mine or record.username == viewer.username:
        return False              # nobody administers themself here (no self-lockout, no self-promotion)
    return ALL_TENANTS in mine or (bool(record.roles) and all(t in mine for t, _ in record.roles))


def _services():
    return config_and_services()[1]


def _user_or_404(username: str):
    record = _services().users.user(username)
    if record is None or not may_see(g.user, record):
        abort(404)
    return record


def _require_change(record):
    if not may_change(g.user, record):
        abort(403, "You may not change this user.")


def _audit(action: str, record_name: str, tenants, detail: dict | None = None) -> None:
    _services().users.audit(g.user.username, action, "user", record_name,
                            tenant=",".join(sorted(tenants))[:64], detail=detail or {})


def _engine():
    source = _services().extra.get("engine")
    return source() if source else None


def _agents_for(viewer) -> list:
    """(id, name) of the agents the viewer may bind to."""
    engine = _engine()
    if engine is None:
        return []
    deployment = engine.deployment
    out = []
    for agent in deployment.agents.values():
        tenants = {deployment.queues[q].tenant for q in agent.queues if q in deployment.queues}
        if may_bind(viewer, tenants):
            out.append((agent.id, agent.name))
    return sorted(out)


def _parse_roles(text: str) -> list[tuple[str, str]]:
    roles = []
    for item in text.replace(",", " ").split():
        tenant, sep, role = item.partition(":")
        if not sep or not tenant or role not in ROLES:
            raise InvalidRecord(_("Write roles as TENANT:ROLE (roles: %(roles)s).", roles=", ".join(ROLES)))
        roles.append((tenant, role))
    return roles


def _allowed_roles(roles) -> None:
    mine = administered(g.user)
    for tenant, role in roles:
        if tenant == ALL_TENANTS and ALL_TENANTS not in mine:
            raise InvalidRecord(_("Only a system administrator grants roles in every tenant (*)."))
        if not _covers(mine, tenant):
            raise InvalidRecord(_("You do not administer the tenant %(tenant)s.", tenant=tenant))
        if role == "admin" and ALL_TENANTS not in mine and (tenant, "admin") not in g.user.roles:
            raise InvalidRecord(_("Only an admin grants the admin role."))


def may_bind(viewer, served: set[str]) -> bool:
    """May `viewer` bind a user to an agent serving the queues of `served` tenants? The
    bound user acts as the agent on all its calls, so the viewer must administer every
    one of them (an agent of no queue, or of several agencies: a "*" admin's)."""
    mine = administered(viewer)
    return ALL_TENANTS in mine or (bool(served) and served <= mine)


def _new_password(form) -> tuple[str, bool]:
    """(password, generated): the typed one, or a new random one to show once."""
    typed = form.get("password", "")
    if form.get("mode") == "set":
        if len(typed) < MIN_PASSWORD:
            raise InvalidRecord(_("A password has at least %(n)d characters.", n=MIN_PASSWORD))
        return typed, False
    return secrets.token_urlsafe(12), True


def _once(record, password: str):
    resp = make_response(render_template("admin/password.html", record=record, password=password))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/")
@login_required
def index():
    seen = viewable(g.user)
    if not seen:
        abort(403, "You may not administer users.")
    users = [u for u in _services().users.users() if may_see(g.user, u)]
    return render_template("admin/users.html", users=users, may_change=lambda u: may_change(g.user, u),
                           can_create=bool(administered(g.user)), roles=ROLES, error="")


@bp.post("/")
@login_required
def create():
    if not administered(g.user):
        abort(403, "You may not create users.")
    form = request.form
    username = form.get("username", "").strip()[:128]
    services = _services()
    try:
        roles = _parse_roles(form.get("roles", ""))
        if not roles:
            raise InvalidRecord(_("Give the new user at least one role."))
        _allowed_roles(roles)
        if not username:
            raise InvalidRecord(_("Give a username."))
        if services.users.user(username) is not None:
            raise InvalidRecord(_("The user %(name)s exists.", name=username))
        password, _generated = _new_password(form)
        record = services.users.create_user(username, password, display_name=form.get("name", "").strip()[:128],
                                            roles=roles)
    except StoreError as exc:
        users = [u for u in services.users.users() if may_see(g.user, u)]
        return render_template("admin/users.html", users=users, may_change=lambda u: may_change(g.user, u),
                               can_create=True, roles=ROLES, error=str(exc)), 400
    _audit("user.add", username, {t for t, _ in roles}, {"roles": [f"{t}:{r}" for t, r in roles]})
    return _once(record, password) if _generated else redirect(url_for(".user", username=username))


@bp.get("/<username>")
@login_required
def user(username):
    record = _user_or_404(username)
    return render_template("admin/user.html", record=record, may_change=may_change(g.user, record),
                           agents=_agents_for(g.user), roles=ROLES, error="",
                           mine=administered(g.user))


def _page_error(record, message: str):
    return render_template("admin/user.html", record=record, may_change=True, agents=_agents_for(g.user),
                           roles=ROLES, error=message, mine=administered(g.user)), 400


@bp.post("/<username>/active")
@login_required
def active(username):
    record = _user_or_404(username)
    _require_change(record)
    on = request.form.get("active") == "1"
    _services().users.set_active(username, on)
    _audit("user.enable" if on else "user.disable", username, {t for t, _ in record.roles})
    return redirect(url_for(".user", username=username))


@bp.post("/<username>/password")
@login_required
def password(username):
    record = _user_or_404(username)
    _require_change(record)
    try:
        new, generated = _new_password(request.form)
    except StoreError as exc:
        return _page_error(record, str(exc))
    _services().users.set_password(username, new)
    _audit("user.reset_password", username, {t for t, _ in record.roles}, {"generated": generated})
    return _once(record, new) if generated else redirect(url_for(".user", username=username))


@bp.post("/<username>/roles")
@login_required
def roles(username):
    record = _user_or_404(username)
    mine = administered(g.user)
    if not mine or record.username == g.user.username:
        abort(403, "You may not change this user's roles.")
    try:
        wanted = _parse_roles(request.form.get("roles", ""))
        _allowed_roles(wanted)
    except StoreError as exc:
        return _page_error(record, str(exc))
    kept = {(t, r) for t, r in record.roles if not _covers(mine, t) or (t == ALL_TENANTS and ALL_TENANTS not in mine)}
    new = sorted(kept | set(wanted))
    _services().users.set_roles(username, new)
    changed = {t for t, _ in set(record.roles) ^ set(new)}
    _audit("user.roles", username, changed, {"roles": [f"{t}:{r}" for t, r in new]})
    return redirect(url_for(".user", username=username))


@bp.post("/<username>/agent")
@login_required
def agent(username):
    record = _user_or_404(username)
    _require_change(record)
    agent_id = request.form.get("agent", "").strip()
    if agent_id and agent_id not in {a for a, _ in _agents_for(g.user)}:
        return _page_error(record, _("Unknown agent, or not an agent of your tenants."))
    try:
        _services().users.bind_agent(username, agent_id or None)
    except StoreError as exc:
        return _page_error(record, str(exc))
    _audit("user.bind", username, {t for t, _ in record.roles}, {"agent": agent_id})
    return redirect(url_for(".user", username=username))

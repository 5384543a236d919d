"""Web administration of users (R20): list, create, disable/enable, new password, roles,
agent binding. Audience: logged-in staff on the web listener.

Rules:
- Who administers, views, changes and binds which user, and grants which role, is
  agent_ui.user_rules' (shared with the REST API): a `supervisor` of T only views T's
  users; anyone who neither administers nor supervises gets 403, also for guessed URLs;
  a user one may not see is 404.
- Roles on this page: the viewer sets the roles in the tenants they administer; the
  user's other roles are kept as they are (`kept_roles`), so a tenant_admin edits their
  own agency's roles of a person who also works elsewhere (the API, stricter, changes
  only users it wholly manages).
- A new password is made here (shown once, never stored plain, never in a URL or log)
  or typed by the admin (at least 10 characters); a new password and a disable end the
  user's sessions (store.users).
- Binding: the agent must be in the running configuration (`may_bind`); one user per
  agent (store.users).
- Every change is audited (actor the viewer, action user.*, the tenants it touched).
"""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from agent_ui import user_rules as rules
from agent_ui.actions import Actor
from agent_ui.app import config_and_services
from agent_ui.auth import login_required
from store.accounts import ROLES
from store.errors import InvalidRecord, StoreError

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")
MIN_PASSWORD = 10


def known_tenants() -> set[str]:
    """The running configuration's tenants (none while the engine starts: then only "*"
    admins administer)."""
    engine = _engine()
    return set(engine.deployment.tenants) if engine is not None else set()


def me() -> Actor:
    return Actor.of_user(g.user)


def administered(user) -> set[str]:
    """Tenants the user administers ({"*"} = every tenant)."""
    return rules.administered(Actor.of_user(user), known_tenants()) if user else set()


def viewable(user) -> set[str]:
    return rules.viewable(Actor.of_user(user), known_tenants()) if user else set()


def may_change(viewer, record) -> bool:
    return rules.may_change(Actor.of_user(viewer), record, known_tenants())


def may_bind(viewer, served: set[str]) -> bool:
    return rules.may_bind(Actor.of_user(viewer), served, known_tenants())


def _services():
    return config_and_services()[1]


def _listed() -> list:
    actor, known = me(), known_tenants()
    return [u for u in _services().users.users() if rules.may_see(actor, u, known)]


def _user_or_404(username: str):
    record = _services().users.user(username)
    if record is None or not rules.may_see(me(), record, known_tenants()):
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


REFUSALS = {"all_tenants": lambda t: _("Only a system administrator grants roles in every tenant (*)."),
            "tenant": lambda t: _("You do not administer the tenant %(tenant)s.", tenant=t),
            "admin_role": lambda t: _("Only an admin grants the admin role.")}


def _allowed_roles(roles) -> None:
    actor, known = me(), known_tenants()
    for tenant, role in roles:
        why = rules.refusal(actor, tenant, role, known)
        if why:
            raise InvalidRecord(REFUSALS[why](tenant))


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
    users = _listed()
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
        users = _listed()
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
    new = sorted(rules.kept_roles(me(), record.roles, known_tenants()) | set(wanted))
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

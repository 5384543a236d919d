"""Web administration of agents (operators' softphones) at /admin/agents/: list, add,
remove, bind a user. Audience: logged-in staff on the web listener.

Rules:
- The list shows the agents serving a queue of a tenant the viewer administers or
  supervises (a `*` admin or supervisor: every agent): id, name, extension, queues with
  levels, state now, bound user, where it is defined. Supervisors only look.
- Adding and removing are agent_ui.agent_changes' (who may: admin or tenant_admin of the
  tenant, the tenant's queues only, an agent of several tenants or none is the `*`
  admin's; the whole configuration checked, applied at once, audited). Only agents in
  files written by `sentral agents add` or this page can be removed; the others show
  where they are defined.
- The SIP password of a new agent is made here, shown once (`Cache-Control: no-store`)
  and stored only as its a1 hash; it is in no URL, log or audit entry.
- Binding a user follows agent_ui.admin_users: the viewer must be allowed to change the
  user, and administer every tenant whose queues the agent serves (`may_bind`).
- POSTs carry the CSRF token (Flask-WTF, as every form of the app).
"""
from __future__ import annotations

import secrets
from dataclasses import replace

from flask import Blueprint, abort, current_app, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from agent_ui.actions import ALL, ActionError, Actor
from agent_ui.admin_users import administered, may_bind, may_change, viewable
from agent_ui.agent_changes import AgentChanges, AgentRefused, parse_new_agent
from agent_ui.app import config_and_services
from agent_ui.auth import login_required
from store.errors import StoreError

bp = Blueprint("admin_agents", __name__, url_prefix="/admin/agents")


def attach(app, files, engine_source, audit) -> AgentChanges:
    """Register the page; `files` is the configuration's AgentFiles (None: not from a file)."""
    changes = AgentChanges(files, engine_source, audit)
    app.extensions["sentral_agents"] = changes
    app.register_blueprint(bp)
    return changes


def _changes() -> AgentChanges:
    return current_app.extensions["sentral_agents"]


def _users():
    return config_and_services()[1].users


def _tenants_to_administer() -> list[str]:
    mine = administered(g.user)
    engine = _changes().engine_source()
    known = sorted(engine.deployment.tenants) if engine is not None else []
    return known if ALL in mine else [t for t in known if t in mine]


def _queues_of(tenants: list[str]) -> list[tuple[str, str, str]]:
    """(queue id, name, tenant) of the tenants' queues."""
    engine = _changes().engine_source()
    if engine is None:
        return []
    return sorted((q.id, q.name, q.tenant) for q in engine.deployment.queues.values() if q.tenant in tenants)


def _page(error: str = "", problems: tuple = (), status: int = 200, form=None):
    seen = viewable(g.user)
    if not seen:
        abort(403, "You may not administer agents.")
    changes = _changes()
    agents = changes.listing(seen)
    bound = {u.agent: u for u in _users().users() if u.agent}
    mine = administered(g.user)
    actor = Actor.of_user(g.user)
    bindable = [u for u in _users().users() if may_change(g.user, u)]
    tenants = _tenants_to_administer()
    html = render_template(
        "admin/agents.html", agents=agents, bound=bound, may_admin=bool(mine),
        may_remove=lambda a: a["removable"] and changes.may_change(actor, a["queues"]),
        may_bind=lambda a: may_bind(g.user, set(a["tenants"])),
        bindable=bindable, tenants=tenants, queues=_queues_of(tenants), from_file=changes.files is not None,
        error=error, problems=problems, form=form or {})
    return html, status


def _refusal(exc: ActionError) -> str:
    if exc.status == 403:
        return _("You may not add or remove this agent: an agent serving another agency's queues, several "
                 "agencies' or none is the system administrator's.")
    return exc.message


@bp.get("/")
@login_required
def index():
    return _page()


def _new_agent(form):
    levels = {}
    for key, value in form.items():
        if key.startswith("level-") and value.strip():
            if not (value.strip().isascii() and value.strip().isdigit()):
                raise ActionError("agents.invalid", _("A level is a whole number from 1 to 99."))
            levels[key[len("level-"):]] = int(value)
    return parse_new_agent({"id": form.get("id", ""), "extension": form.get("extension", ""),
                            "name": form.get("name", ""), "queues": levels,
                            "skills": form.get("skills", "").replace(",", " ").split(),
                            "auto_answer": form.get("auto_answer") == "1"})


@bp.post("/")
@login_required
def add():
    if not administered(g.user):
        abort(403, "You may not add agents.")
    tenant = request.form.get("tenant", "")
    if tenant not in _tenants_to_administer():
        return _page(_("Choose one of your tenants."), status=400, form=request.form)
    password = secrets.token_urlsafe(12)
    try:
        agent = _new_agent(request.form)
        view = _changes().add(Actor.of_user(g.user), replace(agent, password=password), tenant)
    except AgentRefused as exc:
        return _page(exc.message, tuple(exc.problems), exc.status, request.form)
    except ActionError as exc:
        return _page(_refusal(exc), status=exc.status, form=request.form)
    resp = make_response(render_template("admin/agent_password.html", agent=view, password=password))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/<agent_id>/remove")
@login_required
def remove(agent_id):
    if not administered(g.user):
        abort(403, "You may not remove agents.")
    try:
        _changes().remove(Actor.of_user(g.user), agent_id)
    except AgentRefused as exc:
        return _page(exc.message, tuple(exc.problems), exc.status)
    except ActionError as exc:
        return _page(_refusal(exc), status=exc.status)
    return redirect(url_for(".index"))


@bp.post("/<agent_id>/bind")
@login_required
def bind(agent_id):
    mine = administered(g.user)
    if not mine:
        abort(403, "You may not bind users.")
    changes = _changes()
    listed = {a["id"]: a for a in changes.listing(mine)}
    if agent_id not in listed or not may_bind(g.user, set(listed[agent_id]["tenants"])):
        return _page(_("Unknown agent, or not an agent of your tenants."), status=404)
    users = _users()
    username = request.form.get("username", "").strip()
    if username:
        record = users.user(username)
    else:                                     # unbind whoever works as the agent now
        holder = users.user_of_agent(agent_id)
        record = users.user(holder) if holder else None
    if record is None or not may_change(g.user, record):
        return _page(_("You may not change this user."), status=403)
    try:
        users.bind_agent(record.username, agent_id if username else None)
    except StoreError as exc:
        return _page(str(exc), status=400)
    users.audit(g.user.username, "user.bind", "user", record.username,
                tenant=",".join(sorted({t for t, _r in record.roles}))[:64],
                detail={"agent": agent_id if username else ""})
    return redirect(url_for(".index"))

"""Directory maintenance with a personal login (R19): the attributes that are not in
the daily transfer (operator notes, extra keywords, substitute) are maintained here.

Rules: only `admin`/`tenant_admin` of that tenant (or of "*") may see and change a
tenant's maintenance pages — anyone else gets 403, also for guessed URLs. Only the
local-only fields can be changed (source fields belong to the import/sync). Every
change is audited: who, which person, which fields.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from agent_ui.app import config_and_services
from agent_ui.auth import can_maintain, login_required
from engine.directory.model import PersonKey

bp = Blueprint("directory_manage", __name__, url_prefix="/directory/manage")
MAX_NOTES = 2000


def _require(tenant: str):
    if not can_maintain(g.user, tenant):
        abort(403, "You may not maintain this agency's directory.")


@bp.get("/")
@login_required
def tenants():
    _, services = config_and_services()
    allowed = [(t, n) for t, n in services.directory.tenants() if can_maintain(g.user, t)]
    return render_template("directory/manage_tenants.html", tenants=allowed)


@bp.get("/<tenant>/")
@login_required
def persons(tenant):
    _require(tenant)
    _, services = config_and_services()
    q = request.args.get("q", "")[:200]
    hits = services.directory.search(q, tenant=tenant, limit=50, now=services.clock()) if q.strip() else []
    return render_template("directory/manage_persons.html", tenant=tenant, q=q, hits=hits)


@bp.route("/<tenant>/<person_id>", methods=["GET", "POST"])
@login_required
def person(tenant, person_id):
    _require(tenant)
    _, services = config_and_services()
    key = PersonKey(tenant, person_id)
    current = services.directory.get_person(key)
    if current is None:
        abort(404)
    error = ""
    if request.method == "POST":
        notes = request.form.get("operator_notes", "").strip()
        keywords = tuple(k.strip() for k in request.form.get("local_keywords", "").split(",") if k.strip())
        substitute = request.form.get("local_substitute_id", "").strip() or None
        if len(notes) > MAX_NOTES:
            error = f"Operator notes are limited to {MAX_NOTES} characters."
        elif substitute and services.directory.get_person(PersonKey(tenant, substitute)) is None:
            error = "The substitute must be a person of the same agency (give their id)."
        else:
            new = {"operator_notes": notes, "local_keywords": keywords, "local_substitute_id": substitute}
            changed = sorted(k for k, v in new.items() if getattr(current, k) != v)
            if changed:
                services.directory.update_local(key, **new)
                services.users.audit(g.user.username, "directory.person.update", "person",
                                     f"{tenant}/{person_id}", tenant=tenant, detail={"fields": changed})
            flash("Saved." if changed else "No changes.")
            return redirect(url_for(".person", tenant=tenant, person_id=person_id))
    return render_template("directory/manage_person.html", person=current, error=error), (400 if error else 200)

"""Web maintenance of an agency's services ("tjeneste- og nummerinformasjon": Lønn,
Servicedesk): list, add, edit, delete, beside the directory maintenance pages.
Audience: the agency's admins, logged in.

Rules: only `admin`/`tenant_admin` of that tenant (or of "*") (auth.can_maintain, as for
directory_manage); anyone else gets 403, also for guessed URLs. A service made or edited
here has the source `web`, so an import (source `import`) never removes it; editing an
imported service makes it the web's (the next import of the same id takes it back).
Numbers are normalised to E.164 like the import's (a bad number is refused). CSRF on
every POST (the app's CSRFProtect). Every change is audited (directory.service.*).
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from agent_ui.app import config_and_services
from agent_ui.auth import can_maintain, login_required
from engine.directory.model import Service
from store.phones import PhoneNumberError, to_e164

bp = Blueprint("directory_services", __name__, url_prefix="/directory/manage")
SOURCE = "web"
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LIMITS = {"name": 200, "email": 200, "opening_hours": 200, "description": 2000, "keywords": 1000}


def _require(tenant: str):
    if not can_maintain(g.user, tenant):
        abort(403, "You may not maintain this agency's services.")


def _directory():
    return config_and_services()[1].directory


def _audit(action: str, tenant: str, service_id: str, detail: dict | None = None) -> None:
    config_and_services()[1].users.audit(g.user.username, action, "service", f"{tenant}/{service_id}",
                                         tenant=tenant, detail=detail or {})


def _from_form(tenant: str, service_id: str, form) -> Service:
    values = {k: form.get(k, "").strip() for k in ("name", "phone", "unit_id", "email", "opening_hours",
                                                    "description", "keywords")}
    for key, limit in LIMITS.items():
        if len(values[key]) > limit:
            raise ValueError(_("%(field)s is limited to %(n)d characters.", field=key, n=limit))
    if not values["name"]:
        raise ValueError(_("A service needs a name."))
    if values["email"] and ("@" not in values["email"] or " " in values["email"]):
        raise ValueError(_("Not an e-mail address: %(value)s", value=values["email"]))
    try:
        phone = to_e164(values["phone"])
    except PhoneNumberError:
        raise ValueError(_("Not a phone number: %(value)s", value=values["phone"])) from None
    unit = values["unit_id"] or None
    if unit and unit not in {u.external_id for u in _directory().units(tenant)}:
        raise ValueError(_("Unknown unit: %(value)s", value=unit))
    keywords = tuple(k.strip() for k in values["keywords"].split(",") if k.strip())
    return Service(tenant, service_id, values["name"], unit, phone, values["email"], values["opening_hours"],
                   values["description"], keywords, SOURCE)


@bp.get("/<tenant>/services/")
@login_required
def services(tenant):
    _require(tenant)
    return render_template("directory/manage_services.html", tenant=tenant, services=_directory().services(tenant),
                           service=None, error="")


@bp.post("/<tenant>/services/")
@login_required
def add(tenant):
    _require(tenant)
    service_id = request.form.get("id", "").strip()
    try:
        if not ID.fullmatch(service_id):
            raise ValueError(_("An id is letters, digits, '.', '_' and '-' (at most 128)."))
        if _directory().get_service(tenant, service_id) is not None:
            raise ValueError(_("The service %(id)s exists.", id=service_id))
        service = _from_form(tenant, service_id, request.form)
    except ValueError as exc:
        return render_template("directory/manage_services.html", tenant=tenant,
                               services=_directory().services(tenant), service=None, error=str(exc)), 400
    _directory().upsert_services(tenant, [service], SOURCE)
    _audit("directory.service.add", tenant, service_id, {"name": service.name})
    flash(_("Saved."))
    return redirect(url_for(".services", tenant=tenant))


@bp.route("/<tenant>/services/<service_id>", methods=["GET", "POST"])
@login_required
def edit(tenant, service_id):
    _require(tenant)
    current = _directory().get_service(tenant, service_id)
    if current is None:
        abort(404)
    error = ""
    if request.method == "POST":
        try:
            service = _from_form(tenant, service_id, request.form)
        except ValueError as exc:
            error = str(exc)
        else:
            changed = sorted(k for k in ("name", "phone", "unit_id", "email", "opening_hours", "description",
                                         "keywords") if getattr(current, k) != getattr(service, k))
            if changed:
                _directory().upsert_services(tenant, [service], SOURCE)
                _audit("directory.service.update", tenant, service_id, {"fields": changed})
            flash(_("Saved.") if changed else _("No changes."))
            return redirect(url_for(".services", tenant=tenant))
    return render_template("directory/manage_service.html", tenant=tenant, service=current,
                           error=error), (400 if error else 200)


@bp.post("/<tenant>/services/<service_id>/delete")
@login_required
def delete(tenant, service_id):
    _require(tenant)
    if not _directory().delete_service(tenant, service_id):
        abort(404)
    _audit("directory.service.delete", tenant, service_id)
    flash(_("Deleted."))
    return redirect(url_for(".services", tenant=tenant))

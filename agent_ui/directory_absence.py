"""Web absence registration (R20): each employee adds, changes and deletes their own
absence; a supervisor or operator of the agency (or an admin) can do so for others.

Rules:
- Times are entered in the configured time zone (Europe/Oslo) and stored in UTC.
  The end must be after the start; an absence lasts at most two years and lies within
  two years of today (start no more than two years back, end no more than two years
  ahead), so `0001-01-01` or a year 9999 is a 400 with a message, never a 500.
- An absence id is a positive 63-bit number (larger ones are 404 before the database).
- Only absences with source "web" are edited here; calendar absences are shown
  read-only (they belong to their source).
- Every add/change/delete is audited (who, whose absence, what interval). The reason
  (category) is health or personal data: it is never written to the audit log or the
  application log.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from agent_ui.app import config_and_services, text
from agent_ui.auth import ABSENCE_KEEPERS, can_keep_absence, has_role, login_required, own_person
from engine.directory.model import Absence, AbsenceCategory, PersonKey

bp = Blueprint("directory_absence", __name__, url_prefix="/directory/absence")
WEB = "web"
CATEGORIES = [AbsenceCategory.OUT_OF_OFFICE, AbsenceCategory.VACATION, AbsenceCategory.SICK,
              AbsenceCategory.TRAVEL, AbsenceCategory.COURSE, AbsenceCategory.MEETING, AbsenceCategory.OTHER]
MAX_SPAN = timedelta(days=731)
ABSENCE_ID = "int(min=1, max=9223372036854775807):absence_id"    # BIGINT range
MAX_INPUT = 40                      # characters of a date-time field


class FormError(ValueError):
    pass


@bp.get("/")
@login_required
def index():
    _, services = config_and_services()
    mine = own_person(g.user)
    tenant = request.args.get("tenant", "")
    q = request.args.get("q", "")[:200]
    hits = []
    if q.strip() and tenant:
        if not has_role(g.user, tenant, ABSENCE_KEEPERS):
            abort(403, text("Du kan bare registrere ditt eget fravær i denne etaten.",
                            "You may register absence only for yourself in this agency."))
        hits = services.directory.search(q, tenant=tenant, limit=25, now=services.clock())
    keeps = [t for t, _ in services.directory.tenants() if has_role(g.user, t, ABSENCE_KEEPERS)]
    return render_template("directory/absence_index.html", mine=mine, hits=hits, q=q, tenant=tenant, tenants=keeps)


def _person_or_403(tenant, person_id):
    if not can_keep_absence(g.user, tenant, person_id):
        abort(403, text("Du kan ikke registrere fravær for denne personen.",
                        "You may not register absence for this person."))
    _, services = config_and_services()
    person = services.directory.get_person(PersonKey(tenant, person_id))
    if person is None:
        abort(404)
    return person


@bp.get("/<tenant>/<person_id>")
@login_required
def person(tenant, person_id):
    p = _person_or_403(tenant, person_id)
    config, services = config_and_services()
    now = services.clock()
    rows = services.directory.web_absences(p.key)
    others = [a for a in services.directory.absences(p.key, start=now) if a.source != WEB]
    return render_template("directory/absence_person.html", person=p, rows=rows, others=others,
                           categories=CATEGORIES, tz=ZoneInfo(config.timezone), error="")


def _parse(form, tz: ZoneInfo, now: datetime):
    try:
        start = _local_time(form.get("start", ""), tz)
        end = _local_time(form.get("end", ""), tz)
    except (ValueError, OverflowError):
        raise FormError(text("Oppgi start og slutt som dato og klokkeslett.",
                             "Give start and end as date and time.")) from None
    try:
        category = AbsenceCategory(form.get("category", ""))
    except ValueError:
        raise FormError(text("Velg en årsak.", "Choose a reason.")) from None
    if category not in CATEGORIES:
        raise FormError(text("Velg en årsak.", "Choose a reason."))
    if end <= start:
        raise FormError(text("Slutten må være etter starten.", "The end must be after the start."))
    if end - start > MAX_SPAN:
        raise FormError(text("Et fravær kan vare høyst to år.", "An absence may last at most two years."))
    if start < now - MAX_SPAN or end > now + MAX_SPAN:
        raise FormError(text("Fraværet må ligge innenfor to år fra i dag.",
                             "An absence must lie within two years of today."))
    note = form.get("note", "").strip()[:200]
    return start, end, category, note


def _local_time(value: str, tz: ZoneInfo) -> datetime:
    """A form's date-time in the configured zone, as UTC; ValueError/OverflowError if none."""
    if not value or len(value) > MAX_INPUT:
        raise ValueError("no date-time")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        raise ValueError("give local time")
    return parsed.replace(tzinfo=tz).astimezone(timezone.utc)


def _audit(action, p, detail):
    _, services = config_and_services()
    services.users.audit(g.user.username, action, "person", f"{p.tenant}/{p.external_id}",
                         tenant=p.tenant, detail=detail)


def _row_or_404(p, absence_id):
    _, services = config_and_services()
    found = services.directory.absence_by_id(absence_id)
    if found is None or found[1].source != WEB or found[1].person_key != p.key:
        abort(404)
    return found[1]


def _render_error(p, message):
    config, services = config_and_services()
    rows = services.directory.web_absences(p.key)
    return render_template("directory/absence_person.html", person=p, rows=rows, others=[],
                           categories=CATEGORIES, tz=ZoneInfo(config.timezone), error=message), 400


@bp.post("/<tenant>/<person_id>/add")
@login_required
def add(tenant, person_id):
    p = _person_or_403(tenant, person_id)
    config, services = config_and_services()
    try:
        start, end, category, note = _parse(request.form, ZoneInfo(config.timezone), services.clock())
    except FormError as exc:
        return _render_error(p, str(exc))
    row_id = services.directory.add_absence(Absence(tenant, person_id, start, end, category, WEB,
                                                    subject=note, created_by=g.user.username))
    _audit("directory.absence.add", p, {"id": row_id, "start": start.isoformat(), "end": end.isoformat()})
    flash(text("Fravær registrert.", "Absence registered."))
    return redirect(url_for(".person", tenant=tenant, person_id=person_id))


@bp.post(f"/<tenant>/<person_id>/<{ABSENCE_ID}>/update")
@login_required
def update(tenant, person_id, absence_id):
    p = _person_or_403(tenant, person_id)
    old = _row_or_404(p, absence_id)
    config, services = config_and_services()
    try:
        start, end, category, note = _parse(request.form, ZoneInfo(config.timezone), services.clock())
    except FormError as exc:
        return _render_error(p, str(exc))
    services.directory.update_absence(absence_id, Absence(tenant, person_id, start, end, category, WEB,
                                                          subject=note, created_by=old.created_by))
    _audit("directory.absence.update", p, {"id": absence_id, "from": [old.start.isoformat(), old.end.isoformat()],
                                           "to": [start.isoformat(), end.isoformat()],
                                           "reason_changed": category != old.category})
    flash(text("Fravær endret.", "Absence changed."))
    return redirect(url_for(".person", tenant=tenant, person_id=person_id))


@bp.post(f"/<tenant>/<person_id>/<{ABSENCE_ID}>/delete")
@login_required
def delete(tenant, person_id, absence_id):
    p = _person_or_403(tenant, person_id)
    old = _row_or_404(p, absence_id)
    _, services = config_and_services()
    services.directory.delete_absence(absence_id)
    _audit("directory.absence.delete", p, {"id": absence_id, "start": old.start.isoformat(),
                                           "end": old.end.isoformat()})
    flash(text("Fravær slettet.", "Absence deleted."))
    return redirect(url_for(".person", tenant=tenant, person_id=person_id))

"""Personal logins for directory maintenance and absence registration; CSRF; roles.

Rules:
- Passwords are checked by the store (`Store.authenticate`, salted scrypt); the
  session holds only the username and a CSRF token, and is cleared on login (no
  session fixation) and logout. The user and roles are re-read on every request, so
  a deactivated user or a revoked role takes effect at once.
- Every POST must carry the session's CSRF token (form field `csrf_token` or header
  `X-CSRF-Token`): missing → 400, wrong → 403. Compared in constant time.
- Roles per tenant ("*" = every tenant): `admin`/`tenant_admin` maintain the directory;
  `supervisor`/`operator` (and the admins) register absence for others; every user
  registers their own absence. A user's own person is the one whose e-mail equals
  the username, in a tenant where the user has a role.
- Login attempts are rate-limited per address like the public search.
"""
from __future__ import annotations

import functools
import hmac
import logging
import secrets

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for

from agent_ui.app import config_and_services
from agent_ui.directory_guard import RateLimiter, too_many

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)

MAINTAINERS = frozenset({"admin", "tenant_admin"})
ABSENCE_KEEPERS = frozenset({"admin", "tenant_admin", "supervisor", "operator"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app) -> None:
    config, services = config_and_services(app)
    app.extensions["sentral_login_limiter"] = RateLimiter(config.login_rate, config.login_burst, services.monotonic)
    app.before_request(_load_user_and_check_csrf)
    app.context_processor(lambda: {"csrf_token": csrf_token, "current_user": g.get("user")})


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _load_user_and_check_csrf():
    _, services = config_and_services()
    g.user = None
    username = session.get("user")
    if username:
        user = services.users.user(username)
        if user is None or not user.active:
            session.clear()
        else:
            g.user = user
    if request.method not in SAFE_METHODS:
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
        if not sent:
            abort(400, "Missing CSRF token: reload the page and try again.")
        expected = session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            abort(403, "Invalid CSRF token: reload the page and try again.")


def has_role(user, tenant: str, roles) -> bool:
    return bool(user) and any(r in roles and t in (tenant, "*") for t, r in user.roles)


def can_maintain(user, tenant: str) -> bool:
    return has_role(user, tenant, MAINTAINERS)


def own_person(user):
    """The user's own PersonKey, or None."""
    if not user:
        return None
    _, services = config_and_services()
    from engine.directory.model import PersonKey
    for tenant in sorted({t for t, _ in user.roles if t != "*"}):
        ids = services.directory.person_ids_by_email(tenant, user.username)
        if ids:
            return PersonKey(tenant, ids[0])
    return None


def can_keep_absence(user, tenant: str, person_id: str) -> bool:
    if has_role(user, tenant, ABSENCE_KEEPERS):
        return True
    mine = own_person(user)
    return mine is not None and (mine.tenant, mine.external_id) == (tenant, person_id)


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)
    return wrapper


def _safe_next(target: str | None) -> str:
    # only local paths: no scheme, no host, no "//evil.example"
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("directory_public.search_page")


@bp.route("/login", methods=["GET", "POST"])
def login():
    from flask import current_app

    _, services = config_and_services()
    error = ""
    if request.method == "POST":
        wait = current_app.extensions["sentral_login_limiter"].take(request.remote_addr or "?")
        if wait:
            raise too_many(wait)
        username = request.form.get("username", "")[:128]
        user = services.users.authenticate(username, request.form.get("password", "")[:1024])
        if user is None:
            log.info("failed login from %s", request.remote_addr)
            error = "Wrong username or password."
        else:
            session.clear()
            session["user"] = user.username
            csrf_token()
            return redirect(_safe_next(request.form.get("next")))
    return render_template("directory/login.html", error=error, next=request.values.get("next", "")), \
        (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("directory_public.search_page"))

"""Personal logins for directory maintenance, absence registration and the wallboard;
roles.

Rules:
- Passwords are checked by the store (`Store.authenticate`, Argon2id; older scrypt
  hashes verify and are re-hashed at login).
- Sessions are Flask-Login's, backed by the server: at login a row is made in
  `web_sessions` (`store.sessions`) and the signed cookie carries only its random token.
  Logout deletes the row, so a copied cookie stops working too; a session ends after
  `WebConfig.session_idle` unused and `session_absolute` after login whatever happens,
  and when the password is changed or the account deactivated. The Flask session is
  cleared at login (no session fixation). The user and roles are re-read on every
  request, so a revoked role takes effect at once.
- CSRF: Flask-WTF's CSRFProtect on every POST (agent_ui.app).
- Login rate limits (Flask-Limiter): `login_limit` attempts per client address, and a
  stepped back-off per account that counts failed attempts only
  (`login_account_limit`, default 5 a minute, 20 an hour, 50 a day), so guessing one
  account's password from many addresses is slowed down too.
- After login the browser goes to `next` only if it is a plain local path: no scheme, no
  host, no `//` or backslash, no control characters or white space (browsers drop
  TAB/CR/LF inside URLs, so `/<TAB>/host` would become `//host`); else to the search page.
- Roles per tenant ("*" = every tenant): `admin`/`tenant_admin` maintain the directory;
  `supervisor`/`operator` (and the admins) register absence for others and see absence
  reasons; every user registers their own absence. A user's own person is the one whose
  e-mail equals the username, in a tenant where the user has a role.
"""
from __future__ import annotations

import logging
import re

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_login import login_required as _flask_login_required

from agent_ui.actions import STEERING
from engine.recording import DEFAULT_ROLES as DEFAULT_LISTENERS
from agent_ui.app import config_and_services, text

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)

MAINTAINERS = frozenset({"admin", "tenant_admin"})
ABSENCE_KEEPERS = frozenset({"admin", "tenant_admin", "supervisor", "operator"})
_UNSAFE_NEXT = re.compile(r"[\x00-\x20\x7f\\]")


class SessionUser(UserMixin):
    """Flask-Login's user: the stored record plus the token of this login session."""

    def __init__(self, record, token: str):
        self.record, self.token = record, token

    def get_id(self) -> str:
        return self.token


def init_app(app, limiter) -> None:
    config, services = config_and_services(app)
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.login_message = text("Logg inn for å se denne siden.", "Log in to see this page.")
    manager.user_loader(lambda token: _load(services, token))
    app.before_request(_set_g_user)
    app.context_processor(lambda: {"current_user": g.get("user"), "nav": _nav(app, g.get("user"))})
    limiter.limit(config.login_limit, methods=["POST"], exempt_when=lambda: request.endpoint != "auth.login")(bp)
    limiter.limit(config.login_account_limit, key_func=_account_key, methods=["POST"], scope="account",
                  exempt_when=lambda: request.endpoint != "auth.login",
                  deduct_when=lambda response: response.status_code == 401)(bp)


NAV = (  # (endpoint, label nb, label en, roles that open it; None: a login bound to an agent)
    ("console.page", "Konsoll", "Console", None),
    ("supervisor.page", "Veileder", "Supervisor", STEERING),
    ("wallboard.page", "Tavle", "Wallboard", STEERING),
    ("admin_users.index", "Brukere", "Users", STEERING),
    # the default listeners (engine.recording); other roles an agency lists reach /recordings/ by its address
    ("recordings.search", "Opptak", "Recordings", DEFAULT_LISTENERS),
    ("reports.page", "Rapporter", "Reports", frozenset({"supervisor", "tenant_admin", "admin"})),
)


def _nav(app, user) -> list[tuple[str, str]]:
    """(url, label) of the other pages this user may open, in the page's language; only
    pages this app serves (`sentral directory web` serves the directory alone)."""
    if user is None:
        return []
    from flask import url_for
    from agent_ui import i18n
    english = i18n.current() == "en"
    roles = {r for _, r in user.roles}
    return [(url_for(endpoint), en if english else nb) for endpoint, nb, en, opens in NAV
            if endpoint in app.view_functions and (bool(user.agent) if opens is None else bool(roles & opens))]


def _load(services, token):
    record = services.sessions.resolve(token)
    return SessionUser(record, token) if record is not None else None


def _set_g_user():
    g.user = current_user.record if current_user.is_authenticated else None


def _account_key() -> str:
    return "account:" + request.form.get("username", "")[:128].strip().casefold()


def web_user():
    """The logged-in UserRecord of this request (also in Socket.IO handlers), or None."""
    return current_user.record if current_user and current_user.is_authenticated else None


def login_required(view):
    return _flask_login_required(view)


def has_role(user, tenant: str, roles) -> bool:
    return bool(user) and any(r in roles and t in (tenant, "*") for t, r in user.roles)


def can_maintain(user, tenant: str) -> bool:
    return has_role(user, tenant, MAINTAINERS)


def own_person(user):
    """The user's own PersonKey, or None."""
    if not user:
        return None
    cache = g.setdefault("_own_person", {})
    if user.username not in cache:
        _, services = config_and_services()
        from engine.directory.model import PersonKey
        cache[user.username] = None
        for tenant in sorted({t for t, _ in user.roles if t != "*"}):
            ids = services.directory.person_ids_by_email(tenant, user.username)
            if ids:
                cache[user.username] = PersonKey(tenant, ids[0])
                break
    return cache[user.username]


def can_keep_absence(user, tenant: str, person_id: str) -> bool:
    if has_role(user, tenant, ABSENCE_KEEPERS):
        return True
    mine = own_person(user)
    return mine is not None and (mine.tenant, mine.external_id) == (tenant, person_id)


def may_see_absence_reason(user, tenant: str, person_id: str | None = None) -> bool:
    """Absence reasons (sick, vacation...) are health and personal data: only operators,
    the person's own agency's supervisors and admins, and the person themself see them."""
    if has_role(user, tenant, ABSENCE_KEEPERS):
        return True
    mine = own_person(user) if user and person_id else None
    return mine is not None and (mine.tenant, mine.external_id) == (tenant, person_id)


def safe_next(target: str | None) -> str:
    """`target` if it is a plain local path, else the search page."""
    if (isinstance(target, str) and 0 < len(target) <= 2000 and target.startswith("/")
            and not target.startswith("//") and not _UNSAFE_NEXT.search(target)):
        return target
    return url_for("directory_public.search_page")


@bp.route("/login", methods=["GET", "POST"])
def login():
    _, services = config_and_services()
    error = ""
    if request.method == "POST":
        username = request.form.get("username", "")[:128]
        user = services.users.authenticate(username, request.form.get("password", "")[:1024])
        if user is None:
            log.info("failed login from %s", request.remote_addr)
            error = text("Feil brukernavn eller passord.", "Wrong username or password.")
        else:
            session.clear()
            session.permanent = True
            login_user(SessionUser(user, services.sessions.open(user)))
            return redirect(safe_next(request.form.get("next")))
    return render_template("directory/login.html", error=error, next=safe_next(request.values.get("next"))
                           if request.values.get("next") else ""), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    _, services = config_and_services()
    if current_user.is_authenticated:
        services.sessions.close(current_user.token)
    logout_user()
    session.clear()
    return redirect(url_for("directory_public.search_page"))

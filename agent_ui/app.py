"""The Flask app factory: `create_app(config, services)` with one blueprint per area.

Rules:
- No globals: the configuration (`WebConfig`) and the services (`WebServices`) are
  passed in and kept on `app.extensions["sentral"]`; the composition root builds them.
- Logins are Flask-Login sessions backed by the server (`store.sessions`): the cookie
  (HttpOnly, SameSite=Lax, Secure unless `secure_cookies` is off for plain-HTTP
  development) holds a random token that is valid only while its row exists, within
  the idle and absolute lifetimes (`agent_ui.auth`).
- Every POST carries a CSRF token (Flask-WTF `CSRFProtect`; over HTTPS the Referer must
  be this host): missing → 400, wrong or expired → 403.
- Rate limits are Flask-Limiter's, keyed by the client address: the WSGI peer, or with
  `trusted_proxies` = N the address N reverse proxies put in X-Forwarded-For (werkzeug
  ProxyFix; never trust the header without a proxy of your own in front).
- Errors become small HTML pages (or JSON under /api/) with the status code and a
  message in Norwegian (bokmål) then English; no stack traces, no personal data in logs
  (queries, names and absence reasons are never logged).
- Page text is translated with Flask-Babel (agent_ui.i18n: bokmål by default, English
  second); the console's blueprint and Socket.IO namespace are added by sentral.web.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from flask import Flask, jsonify, render_template, request
from engine.clock import utcnow



LOOPBACK = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class WebConfig:
    secret_key: str
    public_networks: tuple[str, ...] = LOOPBACK          # CIDR allow-list of the public search
    search_limit: str = "30 per 15 seconds"               # public search, per client address
    login_limit: str = "10 per minute"                    # login attempts per client address
    login_account_limit: str = "5 per minute; 20 per hour; 50 per day"  # failed logins per account
    secure_cookies: bool = True
    trusted_proxies: int = 0          # reverse proxies in front that set X-Forwarded-For/-Proto (ProxyFix)
    session_idle: timedelta = timedelta(minutes=30)       # a login ends after this long unused
    session_absolute: timedelta = timedelta(hours=12)     # and this long after it began, whatever happens
    timezone: str = "Europe/Oslo"     # the time zone absence forms are entered in


@dataclass
class WebServices:
    directory: object                 # store.directory_store.DirectoryStore
    users: object                     # store.store.Store: users, roles, audit
    clock: Callable[[], datetime] = utcnow
    monotonic: Callable[[], float] = time.monotonic
    extra: dict = field(default_factory=dict)
    sessions: object | None = None    # store.sessions.WebSessions (default: on the users store's database)


def text(nb: str, en: str) -> str:
    """A message for the page: Norwegian (bokmål) first, English second."""
    return f"{nb} / {en}"


def create_app(config: WebConfig, services: WebServices) -> Flask:
    from flask_limiter import Limiter
    from flask_wtf.csrf import CSRFError, CSRFProtect
    from werkzeug.middleware.proxy_fix import ProxyFix

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=config.session_absolute,
        MAX_CONTENT_LENGTH=64 * 1024,
        WTF_CSRF_TIME_LIMIT=int(config.session_absolute.total_seconds()),
        WTF_CSRF_HEADERS=["X-CSRF-Token", "X-CSRFToken"],
        RATELIMIT_HEADERS_ENABLED=True,
    )
    if config.trusted_proxies:
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)
    if services.sessions is None:
        from store.sessions import WebSessions

        services.sessions = WebSessions(services.users.engine, services.clock, idle=config.session_idle,
                                        absolute=config.session_absolute)
    app.extensions["sentral"] = (config, services)
    tz = ZoneInfo(config.timezone)
    app.jinja_env.filters["local"] = lambda dt, fmt="%Y-%m-%d %H:%M": dt.astimezone(tz).strftime(fmt) if dt else ""
    from agent_ui.console_state import phone
    app.jinja_env.filters["phone"] = phone        # E.164 for people: 22 24 16 00, 915 20 431
    # a link only to pages this app serves (`sentral directory web` serves the directory alone)
    app.jinja_env.globals["serves"] = lambda endpoint: endpoint in app.view_functions

    from agent_ui import i18n

    i18n.init_app(app, config.timezone)
    CSRFProtect(app)
    limiter = Limiter(key_func=client_address, app=app, storage_uri="memory://", strategy="moving-window")
    app.extensions["sentral_limiter"] = limiter

    from agent_ui import auth, directory_absence, directory_manage, directory_public

    auth.init_app(app, limiter)
    directory_public.init_app(app, limiter)
    app.register_blueprint(auth.bp)
    app.register_blueprint(directory_public.bp)
    app.register_blueprint(directory_manage.bp)
    app.register_blueprint(directory_absence.bp)
    # every page's browser asks for it: an empty answer, not a 404 in the console
    app.add_url_rule("/favicon.ico", "favicon", lambda: ("", 204))

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Content-Security-Policy", "default-src 'self'; style-src 'self'")
        return resp

    for code in (400, 403, 404, 405, 413, 429, 503):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _csrf_refused)
    return app


def client_address() -> str:
    """The rate limits' key: the client address as ProxyFix (if configured) left it."""
    return request.remote_addr or "?"


_MESSAGES = {400: "Bad request", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
             413: "Request too large", 429: "Too many requests", 503: "Service unavailable"}
_DEFAULT_TEXT = {
    400: text("Ugyldig forespørsel.", "Bad request."),
    403: text("Ingen tilgang.", "Forbidden."),
    404: text("Finnes ikke.", "Not found."),
    405: text("Metoden er ikke tillatt.", "Method not allowed."),
    413: text("Forespørselen er for stor.", "Request too large."),
    429: text("For mange forespørsler; prøv igjen om litt.", "Too many requests; try again shortly."),
    503: text("Tjenesten er ikke tilgjengelig.", "Service unavailable."),
}


def _csrf_refused(exc):
    if exc.description == "The CSRF token is missing.":
        exc.code, exc.description = 400, text("CSRF-token mangler: last siden på nytt og prøv igjen.",
                                              "Missing CSRF token: reload the page and try again.")
    else:
        exc.code, exc.description = 403, text("Ugyldig CSRF-token: last siden på nytt og prøv igjen.",
                                              "Invalid CSRF token: reload the page and try again.")
    return _error_page(exc)


def _error_page(exc):
    from flask_limiter.errors import RateLimitExceeded

    code = getattr(exc, "code", 500) or 500
    description = getattr(exc, "description", "") or ""
    if isinstance(exc, RateLimitExceeded) or not description or description == getattr(type(exc), "description", None):
        description = _DEFAULT_TEXT.get(code, text("Feil.", "Error."))   # instead of werkzeug's own English text
    if request.path.startswith("/directory/api/") or request.path.startswith("/api/"):
        resp = jsonify(error=_MESSAGES.get(code, "error"), detail=description)
    else:
        from flask_babel import gettext   # the title and an abort()'s English text in the page's language
        resp = render_template("directory/error.html", code=code, title=gettext(_MESSAGES.get(code, "Error")),
                               text=gettext(description) if "%" not in description else description)
    return resp, code


def config_and_services(app: Flask | None = None) -> tuple[WebConfig, WebServices]:
    from flask import current_app

    return (app or current_app).extensions["sentral"]

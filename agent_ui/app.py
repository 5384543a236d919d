"""The Flask app factory: `create_app(config, services)` with one blueprint per area.

Rules:
- No globals: the configuration (`WebConfig`) and the services (`WebServices`) are
  passed in and kept on `app.extensions["sentral"]`; the composition root builds them.
- Session cookies are HttpOnly, SameSite=Lax and Secure (unless `secure_cookies` is
  switched off for plain-HTTP development); every POST carries a CSRF token
  (`agent_ui.auth`).
- Errors become small HTML pages (or JSON under /api/) with the status code; no stack
  traces, no personal data in logs (queries and names are never logged).
The console (a later issue) registers its blueprints on the same factory.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from flask import Flask, jsonify, render_template, request


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class WebConfig:
    secret_key: str
    public_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")  # CIDR allow-list of the public search
    search_rate: float = 2.0          # public search: tokens per second per client address
    search_burst: int = 30            # bucket size (search-as-you-type bursts)
    login_rate: float = 0.2           # login attempts per second per address
    login_burst: int = 10
    secure_cookies: bool = True
    timezone: str = "Europe/Oslo"     # the time zone absence forms are entered in


@dataclass
class WebServices:
    directory: object                 # store.directory.DirectoryStore
    users: object                     # store.store.Store: users, roles, audit
    clock: Callable[[], datetime] = _utcnow
    monotonic: Callable[[], float] = time.monotonic
    extra: dict = field(default_factory=dict)


def create_app(config: WebConfig, services: WebServices) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.extensions["sentral"] = (config, services)
    tz = ZoneInfo(config.timezone)
    app.jinja_env.filters["local"] = lambda dt, fmt="%Y-%m-%d %H:%M": dt.astimezone(tz).strftime(fmt) if dt else ""

    from agent_ui import auth, directory_absence, directory_manage, directory_public

    auth.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(directory_public.bp)
    app.register_blueprint(directory_manage.bp)
    app.register_blueprint(directory_absence.bp)

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Content-Security-Policy", "default-src 'self'; style-src 'self'")
        return resp

    for code in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(code, _error_page)
    return app


_MESSAGES = {400: "Bad request", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
             413: "Request too large", 429: "Too many requests"}


def _error_page(exc):
    code = getattr(exc, "code", 500) or 500
    text = getattr(exc, "description", "") or _MESSAGES.get(code, "Error")
    if request.path.startswith("/directory/api/"):
        resp = jsonify(error=_MESSAGES.get(code, "error"), detail=text)
    else:
        resp = render_template("directory/error.html", code=code, title=_MESSAGES.get(code, "Error"), text=text)
    headers = getattr(exc, "retry_after", None)
    response = (resp, code) if headers is None else (resp, code, {"Retry-After": str(headers)})
    return response


def config_and_services(app: Flask | None = None) -> tuple[WebConfig, WebServices]:
    from flask import current_app

    return (app or current_app).extensions["sentral"]

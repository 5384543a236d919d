"""mod_xml_curl responder: its own small WSGI app on its own listener (`make_app`).

FreeSWITCH POSTs form fields (`section`, `tag_name`, `key_name`, `key_value`, the
REQUEST_PARAMS event headers, and for a call the channel's `Caller-*`/`Hunt-*` fields;
for the directory `action`, `user`, `domain`, `key`). We answer:
* section=dialplan → the requested context (`Hunt-Context`, else `Caller-Context`) with
  the extensions matching the dialled number (`Hunt-Destination-Number`, else
  `Caller-Destination-Number`); a number we do not route → "not found" (FreeSWITCH then
  uses its static files, where a site may keep routes of its own);
* section=directory with a user → that agent's SIP user; without a user, the whole
  domain (group_call, gateways...); an unknown user or domain → "not found";
* anything else → the "not found" document, so FreeSWITCH falls back to its files.
The deployment is read through `current()` on every request, so a reload shows at once.

Access (the directory answer holds every agent's a1-hash, as good as the SIP password):
* the app is served on a listener of its own (engine.url, 127.0.0.1 by default), never
  on the web pages' listener, and has no sessions, cookies or CSRF: FreeSWITCH is its
  only client;
* a peer outside `XmlCurlAccess.networks` gets 403 before anything else;
* only POST (GET → 405), only with HTTP basic auth of `username`/`password`
  (constant-time comparison; 401 with a `WWW-Authenticate` challenge otherwise) — the
  credentials freeswitch-conf/autoload_configs/xml_curl.conf.xml sends as the binding's
  `gateway-credentials` with `auth-scheme` basic.
Refusals are logged with the peer address only (never the form, which may hold a user).
"""
from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, Flask, Response, abort, request

from dialplan import compile as compiler
from engine.config import Deployment
from engine.netaddr import NetworkAllowList

log = logging.getLogger(__name__)
ROUTE = "/freeswitch/xml"
XML = "text/xml"
LOOPBACK = ("127.0.0.0/8", "::1/128")
REALM = "sentral xml_curl"
MIN_PASSWORD = 16
PLACEHOLDER = "not-set"             # what freeswitch-conf sends without SENTRAL_XML_CURL_PASSWORD


@dataclass(frozen=True)
class XmlCurlAccess:
    username: str
    password: str
    networks: tuple[str, ...] = LOOPBACK

    def __post_init__(self):
        if not self.username or len(self.password) < MIN_PASSWORD or self.password == PLACEHOLDER:
            raise ValueError(f"the xml_curl password must have at least {MIN_PASSWORD} characters")
        # ValueError names a bad one
        object.__setattr__(self, "_allowed", NetworkAllowList(self.networks))

    def allows(self, address: str | None) -> bool:
        return self._allowed.allows(address)

    def authenticates(self, auth) -> bool:
        if auth is None or auth.type != "basic":
            return False
        user_ok = hmac.compare_digest((auth.username or "").encode(), self.username.encode())
        password_ok = hmac.compare_digest((auth.password or "").encode(), self.password.encode())
        return user_ok and password_ok


def make_app(current: Callable[[], Deployment], access: XmlCurlAccess) -> Flask:
    """The WSGI app of the xml_curl listener (`sentral run` serves it on engine.url)."""
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=256 * 1024)
    app.register_blueprint(make_blueprint(current, access))

    @app.errorhandler(401)
    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(413)
    def _refused(exc):
        resp = Response(f"{exc.code} {exc.name}\n", status=exc.code, mimetype="text/plain")
        if exc.code == 401:
            resp.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
        if exc.code == 405:
            resp.headers["Allow"] = "POST"
        return resp

    return app


def make_blueprint(current: Callable[[], Deployment], access: XmlCurlAccess, name: str = "xml_curl") -> Blueprint:
    bp = Blueprint(name, __name__)

    @bp.before_request
    def _guard():
        if not access.allows(request.remote_addr):
            log.warning("xml_curl: refused %s (not an allowed network)", request.remote_addr)
            abort(403)
        if not access.authenticates(request.authorization):
            log.warning("xml_curl: refused %s (no or wrong credentials)", request.remote_addr)
            abort(401)

    @bp.route(ROUTE, methods=["POST"])
    def fetch() -> Response:
        form = request.form
        section = form.get("section", "")
        text = answer(current(), section, form)
        if text is None:
            log.debug("xml_curl: nothing for section=%s", section[:32])
            text = compiler.not_found()
        return Response(text, mimetype=XML)

    return bp


def answer(deployment: Deployment, section: str, form) -> str | None:
    if section == "dialplan":
        context = form.get("Hunt-Context") or form.get("Caller-Context") or None
        destination = form.get("Hunt-Destination-Number") or form.get("Caller-Destination-Number") or None
        return compiler.dialplan_document(deployment, context, destination)
    if section == "directory":
        domain = form.get("domain") or (form.get("key_value") if form.get("key_name") == "name" else None)
        user = form.get("user") or None
        return compiler.directory_document(deployment, user=user, domain=domain)
    return None

"""The REST API under /api (blueprint `api`): bearer tokens, JSON in and out, the OpenAPI
document at /api/openapi.json.

Audience: integrations of the agencies and the operator company (CRM, wallboards of their
own, provisioning scripts) on the networks that reach the web listener; a token holds one
role in one tenant (`sentral api token create`). docs/api.md.

Rules:
- Every route but the document needs `Authorization: Bearer sentral_<id>_<secret>`;
  missing, malformed, unknown or revoked -> 401 `{"error", "message"}`. The login cookie
  is never read here: a browser session alone cannot call the API, and the blueprint is
  exempt from the cookie CSRF check because nothing here trusts a cookie.
- Every action goes through agent_ui.actions (role and tenant rules, audit, the engine's
  inbox) as `Actor.of_token`; its refusals map to 403/400/404/503 with their error ids.
- Path ids (agents, queues, tenants, users, phones) must match `ID` -> else 400
  `api.bad_id` before anything is looked up: quotes, spaces, braces never reach a
  command string.
- Rate limit per token (Flask-Limiter, `SENTRAL_API_LIMIT`, default 600/minute), keyed by
  the verified token's id, or the client address when no valid token is given.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, current_app, g, jsonify, request

from agent_ui.actions import ActionError, Actions, Actor
from agent_ui.api_spec import DEFAULT_ERRORS, Route, Routes, document

ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
DEFAULT_LIMIT = "600 per minute"

bp = Blueprint("api", __name__, url_prefix="/api")
ROUTES = Routes()
_BY_ENDPOINT: dict[str, Route] = {}


class ApiError(Exception):
    def __init__(self, status: int, error_id: str, message: str):
        super().__init__(message)
        self.status, self.error_id, self.message = status, error_id, message


@dataclass
class ApiContext:
    store: object                      # store.store.Store
    actions: Actions
    deployment_source: Callable
    engine_source: Callable

    def deployment_or_none(self):
        engine = self.engine_source()
        return engine.deployment if engine is not None else self.deployment_source()

    def deployment(self):
        deployment = self.deployment_or_none()
        if deployment is None:
            raise ApiError(503, "action.engine_down", "the engine is not running")
        return deployment


def ctx() -> ApiContext:
    return current_app.extensions["sentral_api"]


def actor() -> Actor:
    return g.api_actor


def route(method: str, rule: str, summary: str, tag: str, response: dict, *, body: dict | None = None,
          ok: int = 200, errors: tuple = DEFAULT_ERRORS, public: bool = False, description: str = "",
          name: str | None = None, query: tuple = (), headers: tuple = (), scheme: str = ""):
    """Serve `fn` at /api`rule` and document it (one record for both)."""
    def decorate(fn):
        endpoint = name or fn.__name__
        r = ROUTES.add(Route(method, rule, endpoint, summary, tag, response, body, ok, public, errors, description,
                             query, headers, scheme))
        _BY_ENDPOINT[f"api.{endpoint}"] = r
        bp.add_url_rule(rule, endpoint, fn, methods=[method])
        return fn
    return decorate


def body() -> dict:
    """The request's JSON object ({} for an empty body); anything else -> 400."""
    if not request.get_data(cache=True):
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "api.bad_body", "the body must be a JSON object")
    return data


def checked_id(value, what: str) -> str:
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise ApiError(400, "api.bad_id", f"{what} must be 1-64 letters, digits or . _ @ + -")
    return value


def _bearer() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _token_record():
    """The verified token of this request (looked up once), or None."""
    if "api_token_checked" not in g:
        token = _bearer()
        g.api_token_checked = ctx().store.token_by_secret(token) if token else None
    return g.api_token_checked


def bearer_key() -> str:
    """The rate limit's key: the verified token's id, else the client address (a wrong
    secret naming a token's id must not use up that token's allowance)."""
    record = _token_record()
    return f"token:{record.id}" if record is not None else f"addr:{request.remote_addr or '?'}"


@bp.before_request
def _authenticate():
    r = _BY_ENDPOINT.get(request.endpoint or "")
    if r is None or r.public:
        return None
    if not _bearer():
        raise ApiError(401, "api.no_token", "send Authorization: Bearer <token>")
    record = _token_record()
    if record is None:
        raise ApiError(401, "api.bad_token", "unknown, malformed or revoked token")
    g.api_token = record
    g.api_actor = Actor.of_token(record.id, record.tenant, record.role)
    for key, value in (request.view_args or {}).items():
        checked_id(value, key)
    return None


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return jsonify(error=exc.error_id, message=exc.message), exc.status


@bp.errorhandler(ActionError)
def _action_error(exc: ActionError):
    return jsonify(error=exc.error_id, message=exc.message), exc.status


@route("GET", "/openapi.json", "This document (OpenAPI 3.1)", "meta", {"type": "object"}, public=True)
def openapi():
    return jsonify(document(ROUTES))


def init_app(app, store, deployment_source: Callable, engine_source: Callable, post: Callable | None,
             limit: str | None = None) -> ApiContext:
    """Register the API on `app` (after create_app): routes, CSRF exemption, rate limit."""
    # their routes register on import
    from agent_ui import api_actions, api_admin, api_reports, api_state, api_statistics  # noqa: F401
    from agent_ui import api_written

    actions = Actions(engine_source, post, store.audit, store.clock)
    context = ApiContext(store, actions, deployment_source, engine_source)
    app.extensions["sentral_api"] = context
    app.extensions["csrf"].exempt(bp)
    limiter = app.extensions["sentral_limiter"]
    limiter.limit(limit or os.environ.get("SENTRAL_API_LIMIT") or DEFAULT_LIMIT, key_func=bearer_key)(bp)
    api_written.init_limits(limiter, bearer_key)
    app.register_blueprint(bp)
    return context


def attach(app, socketio, store, deployment_source: Callable, engine_source: Callable, post: Callable | None,
           notices=None) -> ApiContext:
    """The whole API on the web listener: REST routes, the /api/events namespace, webhooks
    (the events come from the engine's `notices` hub; without it there are none)."""
    from agent_ui import api_events, api_webhooks

    context = init_app(app, store, deployment_source, engine_source, post)
    feed = api_events.EventFeed(context.deployment_or_none, store.clock)
    api_events.attach(socketio, app, store, feed)
    if notices is not None:
        sender = api_webhooks.WebhookSender(store).start()
        feed.sinks.append(sender.submit)
        notices.subscribe(feed, snapshots=True)
        app.extensions["sentral_webhooks"] = sender
    app.extensions["sentral_api_feed"] = feed
    return context

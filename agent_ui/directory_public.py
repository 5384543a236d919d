"""Public directory search for the agencies' employees (R19): no personal login, only
from the configured networks, rate-limited per address.

Rules: the allow-list is checked before anything else (403 outside it); each search
request spends one token (429 when empty). Results show name, title, unit, numbers,
e-mail and presence (state and "back at"), never operator notes or event subjects.
The same search service as the CLI and the console (`DirectoryStore.search`).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from agent_ui.app import config_and_services
from agent_ui.directory_guard import NetworkAllowList, RateLimiter, too_many
from engine.directory.ranking import hit_dict

bp = Blueprint("directory_public", __name__, url_prefix="/directory")


@bp.record_once
def _setup(state):
    config, services = config_and_services(state.app)
    state.app.extensions["sentral_public_guard"] = (
        NetworkAllowList(config.public_networks),
        RateLimiter(config.search_rate, config.search_burst, services.monotonic),
    )


@bp.before_request
def _guard():
    allow, limiter = current_app.extensions["sentral_public_guard"]
    if not allow.allows(request.remote_addr):
        abort(403, "The directory search is open only from the agencies' networks.")
    if request.args.get("q"):
        wait = limiter.take(request.remote_addr)
        if wait:
            raise too_many(wait)


def _search():
    _, services = config_and_services()
    q = request.args.get("q", "")[:200]
    tenant = request.args.get("tenant") or None
    if not q.strip():
        return q, tenant, []
    return q, tenant, services.directory.search(q, tenant=tenant, limit=25, now=services.clock())


@bp.get("/")
def search_page():
    _, services = config_and_services()
    q, tenant, hits = _search()
    return render_template("directory/search.html", q=q, tenant=tenant or "", hits=hits,
                           tenants=services.directory.tenants())


@bp.get("/api/search")
def search_api():
    q, tenant, hits = _search()
    return jsonify(query=q, tenant=tenant, hits=[hit_dict(h, public=True) for h in hits])

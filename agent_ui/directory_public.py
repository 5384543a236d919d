"""Public directory search for the agencies' employees (R19): no personal login, only
from the configured networks, rate-limited per address.

Rules: the allow-list (engine/netaddr.py) is checked before anything else (403 outside
it) against `request.remote_addr`: the WSGI peer, or with `WebConfig.trusted_proxies` the
address the trusted reverse proxies passed (ProxyFix in `agent_ui.app`); nothing here
reads X-Forwarded-For on its own. Each search
request counts against the address's limit (Flask-Limiter, `WebConfig.search_limit`;
429 with Retry-After). Results show name, title, unit, numbers, e-mail and presence
(state and "back at"), never operator notes or event subjects — and never the absence
reason (sick, vacation...: health and personal data) unless the logged-in user may see
it (`auth.may_see_absence_reason`: operators, the person's own agency's supervisors and
admins, the person themself). The same search service as the CLI and the console
(`DirectoryStore.search`).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g, jsonify, render_template, request

from agent_ui.app import config_and_services, text
from agent_ui.auth import may_see_absence_reason
from engine.directory.ranking import hit_dict
from engine.netaddr import NetworkAllowList

bp = Blueprint("directory_public", __name__, url_prefix="/directory")


def init_app(app, limiter) -> None:
    config, _ = config_and_services(app)
    allow = NetworkAllowList(config.public_networks)
    app.extensions["sentral_public_guard"] = allow
    # outside the networks the answer is 403 whatever the rate; only searches count
    limiter.limit(config.search_limit,
                  exempt_when=lambda: not request.args.get("q") or not allow.allows(request.remote_addr))(bp)


@bp.before_request
def _guard():
    allow = current_app.extensions["sentral_public_guard"]
    if not allow.allows(request.remote_addr):
        abort(403, text("Katalogsøket er bare åpent fra etatenes nett.",
                        "The directory search is open only from the agencies' networks."))


def _search():
    _, services = config_and_services()
    q = request.args.get("q", "")[:200]
    tenant = request.args.get("tenant") or None
    if not q.strip():
        return q, tenant, []
    return q, tenant, services.directory.search(q, tenant=tenant, limit=25, now=services.clock())


def _reveal(hit) -> bool:
    return hit.person is not None and may_see_absence_reason(g.get("user"), hit.tenant, hit.external_id)


@bp.get("/")
def search_page():
    _, services = config_and_services()
    q, tenant, hits = _search()
    return render_template("directory/search.html", q=q, tenant=tenant or "", hits=[(h, _reveal(h)) for h in hits],
                           tenants=services.directory.tenants())


@bp.get("/api/search")
def search_api():
    q, tenant, hits = _search()
    out = []
    for h in hits:
        d = hit_dict(h, public=True)
        if d.get("presence") and not _reveal(h):
            d["presence"]["category"] = None
        out.append(d)
    return jsonify(query=q, tenant=tenant, hits=out)

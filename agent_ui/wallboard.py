"""Supervisor wallboard: a page, a JSON snapshot and a Socket.IO push (namespace
/wallboard) of queues and agents, per tenant and role.

Rules: login required; only tenants where the user is supervisor/admin (agent_ui.live);
the browser libraries come from npm (agent_ui/package.json), served from a fixed
allow-list of files — no path from the request reaches the file system.
"""
from __future__ import annotations

import pathlib

from flask import Blueprint, abort, current_app, g, jsonify, render_template, send_file

from agent_ui import live
from agent_ui.realtime import live_figures
from agent_ui.auth import login_required

bp = Blueprint("wallboard", __name__)

NODE_MODULES = pathlib.Path(__file__).resolve().parent / "node_modules"
VENDOR = {
    "socket.io.min.js": NODE_MODULES / "socket.io-client" / "dist" / "socket.io.min.js",
    "chart.umd.js": NODE_MODULES / "chart.js" / "dist" / "chart.umd.js",
}


def engine_source():
    _, services = current_app.extensions["sentral"]
    return services.extra.get("engine")  # a callable returning the live engine, or None


def _tenants() -> set[str]:
    source = engine_source()
    engine = source() if source else None
    if engine is None:
        abort(503, "The engine is not running.")
    tenants = live.visible_tenants(g.user, engine.deployment.tenants)
    if not tenants:
        abort(403, "The wallboard needs a supervisor or admin role.")
    return tenants


@bp.route("/wallboard")
@login_required
def page():
    _tenants()
    return render_template("wallboard/board.html")


@bp.route("/api/wallboard")
@login_required
def data():
    tenants = _tenants()
    _, services = current_app.extensions["sentral"]
    return jsonify(live.snapshot(engine_source()(), tenants, services.clock(), live_figures(current_app)))


@bp.route("/vendor/<name>")
def vendor(name: str):
    path = VENDOR.get(name)
    if path is None or not path.is_file():
        abort(404)
    return send_file(path, mimetype="text/javascript", max_age=3600)

"""The engine's web server: one Flask app with the directory pages (agent_ui), the
supervisor wallboard (page + Socket.IO push) and the mod_xml_curl responder that
FreeSWITCH fetches its dialplan and SIP user directory from, served by gevent on the
host:port of the configuration's `engine.url`.

The Flask session secret comes from SENTRAL_WEB_SECRET (set it in production so logins
survive a restart); without it a random one is made per process.
"""
from __future__ import annotations

import logging
import os
import secrets
from typing import Callable
from urllib.parse import urlsplit

from gevent import pywsgi

from agent_ui.app import WebConfig, WebServices, create_app
from agent_ui import presence_push, realtime, wallboard
from dialplan.xml_curl import make_blueprint
from store.directory import DirectoryStore

log = logging.getLogger(__name__)


def listen_address(engine_url: str) -> tuple[str, int]:
    parts = urlsplit(engine_url)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


def build_app(store, deployment_source: Callable, engine_source: Callable, *, secure_cookies: bool = True,
              public_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")):
    config = WebConfig(secret_key=os.environ.get("SENTRAL_WEB_SECRET") or secrets.token_urlsafe(32),
                       secure_cookies=secure_cookies, public_networks=public_networks)
    services = WebServices(directory=DirectoryStore(store.engine), users=store,
                           extra={"engine": engine_source})
    app = create_app(config, services)
    app.register_blueprint(wallboard.bp)
    app.register_blueprint(make_blueprint(deployment_source))
    socketio = realtime.attach(app, engine_source)
    presence_push.attach(socketio, app)
    return app, socketio


def serve(app, host: str, port: int) -> pywsgi.WSGIServer:
    server = pywsgi.WSGIServer((host, port), app, log=None)
    server.start()
    log.info("web server on http://%s:%d/ (wallboard /wallboard, directory /, xml_curl)", host, server.server_port)
    return server


def start(store, proc, *, host: str, port: int, secure_cookies: bool = True) -> pywsgi.WSGIServer:
    """Build and start the web server for an EngineProcess `proc` (engine and deployment read live)."""
    app, _ = build_app(store, lambda: proc.deployment, lambda: proc.engine, secure_cookies=secure_cookies)
    return serve(app, host, port)

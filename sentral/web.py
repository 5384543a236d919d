"""The engine's two HTTP listeners.

* The **web listener** (`build_app`): the directory pages (agent_ui), the supervisor
  wallboard (page + Socket.IO push), the operator and agent console (page, directory
  pane, message taking, Socket.IO /console whose commands go into the engine's inbox),
  the call recordings (agent_ui/recordings.py: search, playback, download, legal hold; its
  files from sentral/recording_files.py over recordings/), the reports (agent_ui/report_pages.py:
  table, charts, CSV/XLSX/PDF; the numbers from sentral/report_source.py over reports/).
  With SENTRAL_REDIS_URL set, Socket.IO emits go through that Redis (channel
  SENTRAL_REDIS_CHANNEL, default `sentral-socketio`), so several console processes
  reach each other's clients. Its audience is people: agency employees from the
  configured networks (public search), logged-in staff. `sentral run --web HOST:PORT`
  (env SENTRAL_WEB_LISTEN, default 127.0.0.1:8081). In production over HTTPS: its own
  certificate (`--tls-cert/--tls-key`, sentral/tls.py; the login cookie is then always
  Secure) or behind a TLS reverse proxy (`--trusted-proxies N` turns on ProxyFix for it);
  plain HTTP on an address other than loopback is warned about at start.
* The **xml_curl listener** (`build_xml_curl_app`): only the mod_xml_curl responder that
  FreeSWITCH fetches its dialplan and SIP users from, on the host:port of the
  configuration's `engine.url` (default 127.0.0.1:8080, what freeswitch-conf's
  vars_sentral.xml points FreeSWITCH at), POST only, HTTP basic auth with user
  `freeswitch` and the password in SENTRAL_XML_CURL_PASSWORD, from
  `--xml-curl-allow` networks only (default loopback). Without the password it is not
  started (FreeSWITCH then uses its static files) and a warning says so.
`run_apps` lists what `sentral run` serves (tests drive exactly these apps); `start`
serves the web listener alone (`sentral demo`: the simulator fetches no XML).

The Flask session secret comes from SENTRAL_WEB_SECRET (set it in production so logins
survive a restart); without it a random one is made per process. docs/security.md.
"""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

from gevent import pywsgi

from agent_ui.app import LOOPBACK, WebConfig, WebServices, create_app
from agent_ui import api, console, console_socket, presence_push, realtime, wallboard
from agent_ui import recordings, report_pages, supervisor, supervisor_socket
from agent_ui import admin_agents, admin_users, directory_services, written_console
from dialplan.xml_curl import XmlCurlAccess, make_app as make_xml_curl_app
from sentral import tls
from sentral.recording_files import DeploymentFiles
from sentral.report_source import JournalReports
from sentral.listen import ListenerError, parse_listen  # noqa: F401  (ListenerError is part of this API)
from store.directory_store import DirectoryStore

log = logging.getLogger(__name__)
DEFAULT_WEB = ("127.0.0.1", 8081)
XML_CURL_USER = "freeswitch"


def listen_address(engine_url: str) -> tuple[str, int]:
    parts = urlsplit(engine_url)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


@dataclass(frozen=True)
class WebOptions:
    """What `sentral run` takes for its listeners (CLI flags, then environment)."""
    web: tuple[str, int] = DEFAULT_WEB
    secure_cookies: bool = True
    public_networks: tuple[str, ...] = LOOPBACK
    trusted_proxies: int = 0
    xml_curl_networks: tuple[str, ...] = LOOPBACK
    xml_curl_password: str | None = None
    tls_cert: str | None = None       # PEM certificate chain of the web listener (HTTPS)
    tls_key: str | None = None        # and its private key

    @property
    def https(self) -> bool:
        return bool(self.tls_cert and self.tls_key)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given) -> "WebOptions":
        env = os.environ if env is None else env
        given = {k: v for k, v in given.items() if v not in (None, (), [])}
        if "web" not in given and env.get("SENTRAL_WEB_LISTEN"):
            given["web"] = parse_listen(env["SENTRAL_WEB_LISTEN"])
        if "xml_curl_password" not in given and env.get("SENTRAL_XML_CURL_PASSWORD"):
            given["xml_curl_password"] = env["SENTRAL_XML_CURL_PASSWORD"]
        for key, name in (("tls_cert", "SENTRAL_WEB_TLS_CERT"), ("tls_key", "SENTRAL_WEB_TLS_KEY")):
            if key not in given and env.get(name):
                given[key] = env[name]
        tls.check_pair(given.get("tls_cert"), given.get("tls_key"))
        for key in ("public_networks", "xml_curl_networks"):
            if key in given:
                given[key] = tuple(given[key])
        return cls(**given)


def build_app(store, deployment_source: Callable, engine_source: Callable, *, secure_cookies: bool = True,
              public_networks: tuple[str, ...] = LOOPBACK, trusted_proxies: int = 0, notices=None,
              post: Callable | None = None, message_queue: str | None = None, channel: str | None = None,
              config_path: str | None = None, reload: Callable | None = None, agent_files=None,
              live_source: Callable | None = None, attachments=None):
    """The web listener's app (pages, wallboard, console, Socket.IO, the engine's notices); no
    xml_curl here. `post(event)` is the engine's inbox (console commands); `message_queue`
    a Redis URL shared by several console processes (default: SENTRAL_REDIS_URL).
    `config_path` is the routing configuration file and `reload()` applies it to the running
    engine as SIGHUP does (a dialplan.reload.ReloadResult): then agents are added and removed
    on the web and through the API; without them those answer 501 (`agent_files`: a ready
    sentral.agent_config.ConfigAgents instead). `live_source()` gives today's figures from the
    journal (reports/live.LiveFigures, the engine process's `live`) or None: the wallboard's
    "today" line and GET /api/v1/tenants/{tenant}/statistics/today. `attachments`: the written
    items' AttachmentStore the console serves attachments from (default: where the mailbox intake
    keeps them, channels/service.attachments_root)."""
    message_queue = message_queue if message_queue is not None else os.environ.get("SENTRAL_REDIS_URL") or None
    channel = channel or os.environ.get("SENTRAL_REDIS_CHANNEL") or "sentral-socketio"
    config = WebConfig(secret_key=os.environ.get("SENTRAL_WEB_SECRET") or secrets.token_urlsafe(32),
                       secure_cookies=secure_cookies, public_networks=tuple(public_networks),
                       trusted_proxies=trusted_proxies)
    services = WebServices(directory=DirectoryStore(store.engine, clock=store.clock), users=store,
                           clock=store.clock, extra={"engine": engine_source, "post": post,
                                                     "live": live_source or (lambda: None),
                                                     "attachments": attachments if attachments is not None
                                                     else attachment_store(deployment_source())})
    app = create_app(config, services)
    app.register_blueprint(wallboard.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(written_console.bp)
    app.register_blueprint(admin_users.bp)
    admin_agents.attach(app, agent_files or config_agents(config_path, reload), engine_source, store.audit)
    app.register_blueprint(directory_services.bp)
    app.register_blueprint(supervisor.bp)
    recordings.attach(app, store, deployment_source, DeploymentFiles(deployment_source))
    report_pages.attach(app, JournalReports(store, deployment_source), deployment_source, store.clock)
    socketio = realtime.attach(app, engine_source, notices=notices, message_queue=message_queue, channel=channel)
    presence_push.attach(socketio, app)
    console_socket.attach(socketio, app, engine_source, post, notices, shared=bool(message_queue))
    supervisor_socket.attach(socketio, app, engine_source, post, store, notices)
    api.attach(app, socketio, store, deployment_source, engine_source, post, notices)
    return app, socketio


def attachment_store(deployment):
    """The AttachmentStore the mailbox intake writes to (channels/service.attachments_root:
    SENTRAL_ATTACHMENTS_DIR, else beside the recordings); None without a deployment."""
    if deployment is None:
        return None
    from channels.email.attachments import AttachmentStore
    from channels.email.parse import DEFAULT_MAX_ATTACHMENT_BYTES
    from channels.service import attachments_root

    return AttachmentStore(attachments_root(deployment), DEFAULT_MAX_ATTACHMENT_BYTES)


def config_agents(config_path: str | None, reload: Callable | None):
    """The configuration's agent files for agent_ui (None: not from a file, or no reload)."""
    from sentral.agent_config import ConfigAgents

    return ConfigAgents(config_path, reload) if config_path and reload else None


def engine_inbox(proc) -> Callable:
    """The running engine's inbox of an EngineProcess (console commands are posted here)."""
    def post(event) -> None:
        if proc.runtime is not None:
            proc.runtime.post(event)
    return post


def build_xml_curl_app(deployment_source: Callable, options: WebOptions):
    """The xml_curl listener's app, or None (with the reason) when it must not run."""
    if not options.xml_curl_password:
        return None, "SENTRAL_XML_CURL_PASSWORD is not set"
    try:
        access = XmlCurlAccess(XML_CURL_USER, options.xml_curl_password, options.xml_curl_networks)
    except ValueError as exc:
        return None, str(exc)
    return make_xml_curl_app(deployment_source, access), ""


def check_listeners(deployment, options: WebOptions) -> None:
    """ListenerError if the web pages would share engine.url's xml_curl listener, or if the
    TLS certificate and key cannot be used (checked before the engine starts)."""
    tls.check_pair(options.tls_cert, options.tls_key)
    if options.https:
        tls.server_context(options.tls_cert, options.tls_key)
    xml_curl_at = listen_address(deployment.engine_url)
    if options.web[1] and options.web[1] == xml_curl_at[1] and options.web[0] in (xml_curl_at[0], "0.0.0.0", "::"):
        raise ListenerError(f"the web listener {options.web[0]}:{options.web[1]} is engine.url's mod_xml_curl "
                            "listener: give --web another port")


def run_apps(store, proc, deployment, options: WebOptions, *, config_path: str | None = None,
             reload: Callable | None = None) -> list[tuple[str, tuple[str, int], object]]:
    """(name, (host, port), WSGI app) of every listener `sentral run` serves (`config_path`,
    `reload`: see build_app)."""
    check_listeners(deployment, options)
    xml_curl_at = listen_address(deployment.engine_url)
    app, _ = build_app(store, lambda: proc.deployment, lambda: proc.engine,
                       secure_cookies=options.secure_cookies or options.https,
                       public_networks=options.public_networks, trusted_proxies=options.trusted_proxies,
                       notices=getattr(proc, "notices", None), post=engine_inbox(proc),
                       config_path=config_path, reload=reload, live_source=lambda: getattr(proc, "live", None))
    apps = [("web", options.web, app)]
    xml_app, why = build_xml_curl_app(lambda: proc.deployment, options)
    if xml_app is None:
        log.warning("xml_curl listener not started (%s): FreeSWITCH uses its static files", why)
        print(f"xml_curl listener not started ({why}): FreeSWITCH uses its static files", flush=True)
    else:
        apps.append(("xml_curl", xml_curl_at, xml_app))
    return apps


def serve(app, host: str, port: int, name: str = "web", ssl_context=None) -> pywsgi.WSGIServer:
    """Serve `app` on host:port, over HTTPS when an `ssl_context` (sentral.tls) is given."""
    ssl_args = {"ssl_context": ssl_context} if ssl_context is not None else {}
    server = pywsgi.WSGIServer((host, port), app, log=None, **ssl_args)
    server.start()
    log.info("%s listener on %s://%s:%d/", name, "https" if ssl_context else "http", host, server.server_port)
    return server


class Listeners:
    """The started servers; `stop` stops them all."""

    def __init__(self, servers: dict[str, pywsgi.WSGIServer]):
        self.servers = servers

    def stop(self, timeout: float = 2) -> None:
        for server in self.servers.values():
            server.stop(timeout=timeout)


def start_run(store, proc, deployment, options: WebOptions, *, config_path: str | None = None,
              reload: Callable | None = None) -> Listeners:
    """Serve every listener of `sentral run` (run_apps); the web listener over HTTPS with
    the options' certificate, else plain HTTP with a warning off loopback."""
    servers: dict[str, pywsgi.WSGIServer] = {}
    try:
        for name, (host, port), app in run_apps(store, proc, deployment, options, config_path=config_path,
                                                reload=reload):
            context = tls.server_context(options.tls_cert, options.tls_key) if name == "web" and options.https else None
            servers[name] = serve(app, host, port, name, ssl_context=context)
            print(f"{name} listener on {'https' if context else 'http'}://{host}:{servers[name].server_port}/",
                  flush=True)
            if name == "web" and context is None and (warning := tls.plain_http_warning(host, port)):
                log.warning("%s", warning)
                print(warning, flush=True)
    except Exception:
        Listeners(servers).stop(timeout=0)
        raise
    return Listeners(servers)


def start(store, proc, *, host: str, port: int, secure_cookies: bool = True,
          config_path: str | None = None) -> pywsgi.WSGIServer:
    """The web listener alone, for an EngineProcess `proc` (`sentral demo`); agents added
    on the web are taken from `config_path` into the running deployment (agents_reload)."""
    from sentral.agent_config import ConfigAgents, agents_reload

    files = ConfigAgents(config_path, agents_reload(config_path, proc), env=None) if config_path else None
    app, _ = build_app(store, lambda: proc.deployment, lambda: proc.engine, secure_cookies=secure_cookies,
                       notices=getattr(proc, "notices", None), post=engine_inbox(proc), agent_files=files,
                       live_source=lambda: getattr(proc, "live", None))
    return serve(app, host, port)

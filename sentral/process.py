"""Running the engine as a process: configuration, database, signals, status output.
Shared by `sentral run` and `sentral demo`."""
from __future__ import annotations

import logging
import signal
import sys

import gevent
import gevent.event

from engine import views

log = logging.getLogger(__name__)


def open_store(url: str | None):
    from store.database import resolve_url, safe_url
    from store.gevent_support import make_psycopg2_green
    from store.migrate import migrate
    from store.store import Store

    url = resolve_url(url)
    if url.startswith("postgresql"):
        make_psycopg2_green()
    migrate(url)
    log.info("database %s migrated", safe_url(url))
    return Store(url)


class DatabaseInUse(RuntimeError):
    error_id = "sentral.database_in_use"


class PortInUse(RuntimeError):
    error_id = "sentral.port_in_use"


class DatabaseLock:
    """An exclusive lock on an SQLite database, held while this process uses it: a lock
    file `FILE.lock` next to the database with an fcntl (flock) lock, which the kernel
    releases when the process ends however it ends (no stale lock after kill -9). The
    file holds the holder's pid for the message. Other URLs (PostgreSQL) lock nothing."""

    def __init__(self, url: str):
        import sqlalchemy as sa

        parsed = sa.engine.make_url(url)
        self.path = None
        self._fd = None
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            self.path = parsed.database + ".lock"

    def acquire(self) -> "DatabaseLock":
        import fcntl
        import os

        if self.path is None:
            return self
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            raise DatabaseInUse(f"the database {self.path[:-5]} is in use by another process"
                                f"{f' (pid {holder})' if holder else ''}: stop it, or give another --db") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        import os

        if self._fd is not None:
            os.close(self._fd)        # closing drops the lock; the file stays (unlinking would race)
            self._fd = None


def check_port_free(host: str, port: int) -> None:
    """Raise PortInUse if nothing could listen on host:port now (0 = any port: always
    free). Checked before the engine starts, so a taken port fails at once, not after."""
    import socket

    if not port:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as the web server does
        try:
            s.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"port {port} on {host} is taken ({exc.strerror}): "
                            f"stop what uses it, or choose another port (0 = any free port)") from None


def status_line(engine) -> str:
    qs = views.queues(engine)
    states = views.agents_by_state(engine)
    waiting = sum(q["waiting"] for q in qs)
    longest = max((q["longest_wait"] for q in qs), default=0.0)
    agents = " ".join(f"{state}={len(ids)}" for state, ids in sorted(states.items()) if ids)
    return f"calls={len(engine.calls)} waiting={waiting} longest_wait={longest:.0f}s agents: {agents}"


def run_until_stopped(tick, every: float, duration: float = 0.0) -> None:
    """Call `tick()` every `every` seconds (0 = never) until SIGTERM/SIGINT, or until
    `duration` seconds have passed (0 = no limit). Shared by `sentral run` and the demo."""
    import time

    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    started = time.monotonic()
    while not stop.wait(every if every > 0 else (duration or None)):
        if every > 0:
            tick()
        if duration and time.monotonic() - started >= duration:
            return


def _reload(reloader, proc):
    """Re-read the configuration and apply a valid change (SIGHUP, and the web's agent
    administration); returns the dialplan.reload.ReloadResult."""
    result = reloader.reload()
    if result.ok and result.changes:
        proc.reload(reloader.current)
    return result


def serve(config_path: str, *, db_url: str | None = None, login_all: bool = False,
          ready_timeout: float = 30.0, status_every: float = 10.0, web: bool = True,
          web_options=None) -> int:
    from dialplan.loader import apply_overrides, load
    from dialplan.reload import Reloader
    from sentral.app import EngineProcess

    reloader = Reloader(lambda: apply_overrides(load(config_path), database_url=db_url))
    deployment = reloader.current
    if web:
        from sentral import web as webserver

        web_options = web_options or webserver.WebOptions.from_env()
        try:
            webserver.check_listeners(deployment, web_options)
            check_port_free(*web_options.web)
            if web_options.xml_curl_password:
                check_port_free(*webserver.listen_address(deployment.engine_url))
        except (PortInUse, webserver.ListenerError) as exc:
            print(f"sentral run: {exc}", file=sys.stderr)
            return 1
    store = open_store(deployment.database_url or None)
    proc = EngineProcess(deployment, store, login_all=login_all).start(ready_timeout=ready_timeout)
    # SIGHUP: reload the configuration; an invalid file is logged and the running one stays
    gevent.signal_handler(signal.SIGHUP, lambda: gevent.spawn(_reload, reloader, proc))
    print(f"engine ready in {proc.ready_at:.2f}s", flush=True)
    server = None
    if web:
        # the web pages on --web; mod_xml_curl on engine.url, a listener of its own (docs/security.md)
        server = webserver.start_run(store, proc, deployment, web_options, config_path=config_path,
                                     reload=lambda: _reload(reloader, proc))
    run_until_stopped(lambda: log.info("status: %s", status_line(proc.engine)), status_every)
    log.info("stopping")
    if server is not None:
        server.stop(timeout=2)
    proc.stop()
    store.close()
    return 0

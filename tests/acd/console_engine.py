"""`sentral run --no-web --login-all` with a console stand-in, as a child process for the
call-control chaos test (tests/acd/test_chaos_control.py).

Rules: the engine is built exactly as `sentral run` builds it (sentral.process: the
configuration with the environment's overrides, the migrated store, EngineProcess);
beside it a TCP listener on 127.0.0.1 (a free port, printed as `console port N`) takes
one JSON object a line, `{"command": "<engine.events class>", ...fields}`, and posts
that console command into the engine's inbox stamped with the process clock, as the
web console does (agent_ui/console_socket.py). Only classes in
engine.events.CONSOLE_COMMANDS and SUPERVISOR_COMMANDS (what agent_ui.actions posts for
the supervisor page) are accepted; anything else is logged and dropped.
Run: python -m tests.acd.console_engine CONFIG
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402

import gevent.server  # noqa: E402

from engine import events as ev  # noqa: E402

log = logging.getLogger("console_engine")
COMMANDS = {cls.__name__: cls for cls in (*ev.CONSOLE_COMMANDS, *ev.SUPERVISOR_COMMANDS)}


def command(line: bytes, clock):
    """One console command from a JSON line (None for anything that is not one)."""
    try:
        fields = json.loads(line)
        cls = COMMANDS[fields.pop("command")]
        return cls(**fields, at=clock())
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("not a console command (%s): %r", exc, line[:200])
        return None


def serve_console(proc) -> gevent.server.StreamServer:
    def handle(sock, _address):
        with sock.makefile("rb") as lines:
            for line in lines:
                item = command(line, proc.clock)
                if item is not None:
                    proc._post(item)

    server = gevent.server.StreamServer(("127.0.0.1", 0), handle)
    server.start()
    return server


def main(config: str) -> int:
    from dialplan.loader import apply_overrides, load
    from sentral.app import EngineProcess
    from sentral.cli import configure_logging
    from sentral.process import open_store, run_until_stopped

    configure_logging(1, server=True)
    deployment = apply_overrides(load(config))
    store = open_store(deployment.database_url or None)
    proc = EngineProcess(deployment, store, login_all=True).start()
    server = serve_console(proc)
    print(f"console port {server.server_port}", flush=True)
    print(f"engine ready in {proc.ready_at:.2f}s", flush=True)
    run_until_stopped(lambda: None, 0)
    server.stop(timeout=1)
    proc.stop()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

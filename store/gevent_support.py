"""Make psycopg2 cooperative under gevent.

psycopg2 waits for the server inside C code, which blocks the whole gevent hub (every
call, timer and console stops while a query runs). With a wait callback installed,
psycopg2 runs each connection in non-blocking mode and hands us the socket to wait on;
we wait on it through gevent, so other greenlets run meanwhile. Process-wide: call it
once at start-up, before the first connection (the engine's composition root does).
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def make_psycopg2_green() -> None:
    from psycopg2 import extensions

    extensions.set_wait_callback(gevent_wait_callback)
    log.debug("psycopg2 waits through gevent")


def make_psycopg2_blocking() -> None:
    """Undo `make_psycopg2_green` (tests that must leave the process as they found it)."""
    from psycopg2 import extensions

    extensions.set_wait_callback(None)


def gevent_wait_callback(conn, timeout=None) -> None:
    import psycopg2
    from gevent.socket import wait_read, wait_write
    from psycopg2 import extensions

    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        if state == extensions.POLL_READ:
            wait_read(conn.fileno(), timeout=timeout)
        elif state == extensions.POLL_WRITE:
            wait_write(conn.fileno(), timeout=timeout)
        else:
            raise psycopg2.OperationalError(f"unexpected psycopg2 poll state {state!r}")

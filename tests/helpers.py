"""Shared test helpers: bounded polling (never sleep to synchronise) and free ports."""
from __future__ import annotations

import socket
import sys
import threading
import time


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.01):
    """Poll ``predicate`` until it returns a truthy value (returned) or ``timeout`` seconds
    pass (returns the last falsy value). For waits whose failure the caller reports itself."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        _yield(interval)


def until(predicate, timeout: float = 5.0, interval: float = 0.01, message: str = ""):
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout`` seconds.

    The pause between polls only yields the CPU (under gevent it yields to greenlets);
    correctness never depends on its length.
    """
    value = wait_for(predicate, timeout, interval)
    if not value:
        what = message() if callable(message) else message
        raise AssertionError(f"condition not met within {timeout}s: {what or predicate}")
    return value


def _yield(interval: float) -> None:
    """A pause between polls that lets in-process greenlets (simulator, client) run."""
    if "gevent" in sys.modules:
        import gevent

        hub = gevent.get_hub()
        hub.wait(hub.loop.timer(interval))
    else:
        threading.Event().wait(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc, timeout: float = 10.0) -> None:
    """End a child process we started: SIGTERM, then SIGKILL if it does not stop in time."""
    import subprocess

    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)

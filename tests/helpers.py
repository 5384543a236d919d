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


CHROMIUM = "/usr/bin/chromium"      # Debian's, installed by scripts/system-packages (never a download)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def chromium():
    """Playwright driving Debian's Chromium: a context manager yielding the browser."""
    import contextlib
    import os

    @contextlib.contextmanager
    def launched():
        from playwright.sync_api import sync_playwright

        assert os.path.exists(CHROMIUM), "Debian's chromium is installed by scripts/system-packages"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    return launched()


class Inbox:
    """What a test's SMTP server (aiosmtpd, a real SMTP server on a free loopback port) received:
    (MAIL FROM, RCPT TOs, raw content) per message."""

    def __init__(self):
        self.messages = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def smtp_server():
    """A context manager: a real SMTP server on 127.0.0.1 and a free port, yielding its Inbox."""
    import contextlib

    @contextlib.contextmanager
    def running():
        from aiosmtpd.controller import Controller

        inbox = Inbox()
        inbox.port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
        controller.start()
        try:
            yield inbox
        finally:
            controller.stop()
    return running()

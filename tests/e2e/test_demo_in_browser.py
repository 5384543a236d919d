"""Tier (d): the README's main job (`sentral demo`) driven in a real Chromium.

The demo runs as its own process (simulator + engine + SQLite + console on a free
loopback port); Playwright drives Debian's Chromium (never a downloaded browser):
login, the wallboard receiving Socket.IO pushes and drawing its charts, the directory
search showing presence.
"""
from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys

import pytest

from tests.helpers import chromium, stop_process, until

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
@pytest.fixture
def demo(tmp_path):
    out_path = tmp_path / "demo.out"
    out = open(out_path, "w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentral.cli", "demo", "--http", "0", "--duration", "300",
         "--calls-per-minute", "30", "--db", f"sqlite:///{tmp_path / 'demo.db'}",
         "--log", str(tmp_path / "demo.log"), "--view-every", "5"],
        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    out.close()
    try:
        text = until(lambda: (m := re.search(r"wallboard: (http://127\.0\.0\.1:\d+)/wallboard \(user demo, "
                                             r"password (\S+)\)", out_path.read_text())) or proc.poll() is not None,
                     timeout=120, message="demo console up")
        assert proc.poll() is None, out_path.read_text()[-3000:]
        yield text.group(1), text.group(2), proc, out_path
    finally:
        stop_process(proc, timeout=30)


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


def test_demo_wallboard_and_directory_in_chromium(demo, browser, tmp_path):
    base, password, proc, out_path = demo
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/wallboard")
    assert "/login" in page.url
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", password)
    page.click("form button, form input[type=submit]")
    page.goto(base + "/wallboard")
    # the page's CSP forbids eval, so poll an attribute the page sets on every push
    for _ in range(150):
        if int(page.get_attribute("body", "data-updates") or 0) >= 3:
            break
        page.wait_for_timeout(200)
    assert int(page.get_attribute("body", "data-updates") or 0) >= 3, "no wallboard pushes received"
    assert page.text_content("#status") == "tilkoblet"
    assert page.locator("#queues tbody tr").count() == 5
    assert page.locator("#agents tbody tr").count() == 10
    # today per agency, from the journal (reports/live.py): one line per agency the user sees
    assert page.locator("#today tbody tr").count() >= 2
    assert page.text_content("#today-title") in ("I dag", "Today")     # the browser's language
    # the "last 10 minutes" chart starts from the server's history, not empty; its axis
    # shows hours and minutes, not seconds
    assert int(page.get_attribute("body", "data-first-history-points") or 0) >= 2
    assert re.fullmatch(r"\d{2}[:.]\d{2}", page.get_attribute("body", "data-axis-label") or ""), \
        page.get_attribute("body", "data-axis-label")
    # the charts drew: Chart.js sized both canvases (it sets their pixel width)
    for canvas in ("#waiting-chart", "#agents-chart"):
        assert int(page.get_attribute(canvas, "width") or 0) > 0
    page.screenshot(path=str(tmp_path / "wallboard.png"), full_page=True)

    directory = browser.new_page()
    directory.goto(base + "/directory/?q=nordmann")
    hits = directory.locator(".presence")
    assert hits.count() >= 1
    assert "Nordmann" in directory.content()
    assert not errors, errors

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    # the wallboard, left open, greys out its numbers once it is no longer live
    page.wait_for_selector("body.stale", timeout=30000)
    assert page.text_content("#status").startswith("frakoblet")
    assert "demo stopped; journal rows:" in out_path.read_text()

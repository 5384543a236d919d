"""Tier (d): a supervisor plays a call recording in a real Chromium, from the real
`sentral run` over HTTPS (a self-signed certificate made in the test, trusted by this
browser context only).

Set-up as an operator would have it: a copy of the demo configuration in the test's
directory whose nordlys agency encrypts to a key pair made here (`recordings.crypto.generate`,
the private key 0600 in the identities folder named by SENTRAL_RECORDINGS_IDENTITIES), a
recording stored the way the recorder stores it (encrypted, in the deployment's storage,
its row in the store), and a nordlys supervisor. Checked: the page lists the recording
with the caller's number the Norwegian way; its <audio> element, fed through HTTP Range
requests decrypted on the fly, reaches readyState >= 2 (HAVE_CURRENT_DATA) and its
duration is the file's; the listening is in the access log.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from tests.dialplan.files import DEMO
from tests.helpers import chromium
from tests.web.certs import self_signed
from tests.web.recording_builders import a_recording, a_wav
from tests.web.run_process import RunProcess

PASSWORD = "a-long-password-for-siri"
SECONDS = 6.0


def site_config(tmp, public_key: str):
    """The demo's configuration copied to `tmp`, nordlys encrypting to `public_key`."""
    shutil.copy(DEMO, tmp / "site.yaml")
    shutil.copytree(DEMO.parent / "demo-tenants", tmp / "demo-tenants")
    nordlys = tmp / "demo-tenants" / "nordlys.yaml"
    lines = [f"  public_key: {public_key}" if line.startswith("  public_key:") else line
             for line in nordlys.read_text(encoding="utf-8").splitlines()]
    nordlys.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp / "site.yaml"


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    from dialplan.loader import load
    from recordings.crypto import generate
    from store.store import Store

    tmp = tmp_path_factory.mktemp("recordings-browser")
    public_key, _, _ = generate("nordlys", tmp / "identities")
    config = site_config(tmp, public_key)
    env = {"SENTRAL_RECORDINGS_DIR": str(tmp / "recordings"), "SENTRAL_RECORDINGS_IDENTITIES": str(tmp / "identities")}
    deployment = load(str(config), {"SENTRAL_FREESWITCH_PASSWORD": "not-used", **env})
    assert deployment.tenants["nordlys"].recording_key == public_key
    store = Store(f"sqlite:///{tmp / 'run.db'}", migrate=True)
    try:
        store.create_user("siri", PASSWORD, roles=[("nordlys", "supervisor")])
        record, plain = a_recording(store, deployment, "nordlys", started_at=datetime.now(timezone.utc),
                                    queue="nordlys-switchboard", caller="+4791520431",
                                    audio=a_wav(seconds=SECONDS))
    finally:
        store.close()
    cert, key = self_signed(tmp)
    run = RunProcess(tmp, config, "--tls-cert", str(cert), "--tls-key", str(key), env=env)
    try:
        assert run.wait_listening()[0] == "https"
        yield run, record
    finally:
        run.stop()


def test_a_supervisor_plays_a_recording_in_the_browser_over_https(running):
    run, record = running
    with chromium() as browser:
        context = browser.new_context(ignore_https_errors=True, locale="nb-NO")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(run.base + "/login?next=/recordings/")
        page.fill("input[name=username]", "siri")
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url("**/recordings/", timeout=20000)
        row = page.locator(f"[data-testid='recording-{record.id}']")
        assert row.locator(f"[data-testid='caller-{record.id}']").text_content() == "915 20 431"
        audio = page.locator(f"[data-testid='audio-{record.id}']")
        audio.evaluate("el => { el.preload = 'auto'; el.load(); }")
        page.wait_for_function("el => el.readyState >= 2", arg=audio.element_handle(), timeout=20000)
        state = audio.evaluate("el => ({ready: el.readyState, duration: el.duration, error: el.error && el.error.code})")
        assert state["ready"] >= 2 and state["error"] is None
        assert abs(state["duration"] - SECONDS) < 0.1
        assert errors == []
        context.close()
    from store.store import Store

    store = Store(run.db_url)
    try:
        assert ("siri", "recording.listen") in [(e.actor, e.action) for e in store.recording_audit(recording=record.id)]
    finally:
        store.close()

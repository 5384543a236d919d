"""Message taking for an absent person: sent by SMTP to the person's address from the
directory (a real SMTP server, aiosmtpd, on a free port), the engine told (MessageTaken,
journal), audited; a failed send says so and posts nothing."""
from __future__ import annotations

import email
import email.policy

import pytest

from engine import events as ev
from engine.directory.model import Person
from tests.console.conftest import NOW, csrf_of, login
from tests.helpers import free_port, smtp_server, until


@pytest.fixture
def smtp(monkeypatch):
    with smtp_server() as inbox:
        monkeypatch.setenv("SENTRAL_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SENTRAL_SMTP_PORT", str(inbox.port))
        yield inbox


@pytest.fixture
def on_call(pure):
    """Kari's agent has a call ringing; the directory holds Per (absent is not needed to write)."""
    app, socketio, engine, inbox, store = pure
    app.extensions["sentral"][1].directory.upsert_persons("helsedir", [
        Person("helsedir", "p2", "Per", "Fraværende", email="per@helsedir.example"),
        Person("helsedir", "p9", "Uten", "Epost")], source="import")
    inbox(ev.AgentLogin("a1000", NOW))
    engine.handle(ev.CallParked("fs1", "c1", "22001000", "4722241600", "Ola", NOW, "helsedir", "helsedir-main"))
    engine.handle(ev.PlaybackFinished("fs1", "c1", "sentral/recording-notice.wav", NOW))
    assert engine.agents["a1000"].interaction
    client = app.test_client()
    login(client, "kari")
    return client, engine, inbox, store


def _send(client, **body):
    token = csrf_of(client)
    return client.post("/console/api/message", json=body, headers={"X-CSRFToken": token})


def test_a_message_is_mailed_to_the_person_journaled_and_audited(smtp, on_call):
    client, engine, inbox, store = on_call
    resp = _send(client, tenant="helsedir", person="p2", text="Ring Ola tilbake på 22 24 16 00.\nGjelder søknad.",
                 caller="Ola 22 24 16 00", recipient="attacker@evil.example")
    assert resp.status_code == 200 and resp.get_json()["ok"] is True
    assert resp.get_json()["message"] == "Beskjeden er sendt."
    until(lambda: smtp.messages, message="mail delivered")
    sender, recipients, content = smtp.messages[0]
    assert sender == "sentralbord@helsedir.example"
    assert recipients == ["per@helsedir.example"], "the address comes from the directory, never the browser"
    msg = email.message_from_bytes(content, policy=email.policy.default)
    assert msg["Subject"] == "Beskjed til Per Fraværende"
    assert "Ring Ola tilbake" in msg.get_content() and "Kari Operatør" in msg.get_content()
    taken = [e for e in inbox.posted if isinstance(e, ev.MessageTaken)]
    assert len(taken) == 1 and taken[0].agent == "a1000" and taken[0].recipient == "per@helsedir.example"
    assert taken[0].interaction == engine.agents["a1000"].interaction and taken[0].delivered
    audit = store.audit_entries(target_kind="person", target_id="p2")
    assert [(a.actor, a.action) for a in audit] == [("kari", "message.sent")]
    assert "Ring Ola" not in str(audit[0].detail), "the message text is not kept in the audit log"


def test_a_failed_send_says_so_and_posts_nothing(monkeypatch, on_call):
    client, engine, inbox, store = on_call
    monkeypatch.setenv("SENTRAL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SENTRAL_SMTP_PORT", str(free_port()))          # nobody listens there
    resp = _send(client, tenant="helsedir", person="p2", text="Ring tilbake")
    assert resp.status_code == 502
    assert resp.get_json() == {"ok": False, "error": "console.mail_failed",
                               "message": "Beskjeden ble IKKE sendt; teksten din er tatt vare på."}
    assert not [e for e in inbox.posted if isinstance(e, ev.MessageTaken)]
    assert [a.action for a in store.audit_entries(target_kind="person", target_id="p2")] == ["message.failed"]


def test_a_person_without_e_mail_cannot_get_a_message(smtp, on_call):
    client, *_ = on_call
    resp = _send(client, tenant="helsedir", person="p9", text="Hei")
    assert resp.status_code == 422 and resp.get_json()["error"] == "console.no_email"
    assert smtp.messages == []


def test_message_needs_the_csrf_header_and_a_bound_agent(smtp, pure):
    app, *_ = pure
    client = app.test_client()
    login(client, "kari")
    assert client.post("/console/api/message", json={"tenant": "helsedir", "person": "p2", "text": "x"}).status_code == 400
    other = app.test_client()
    login(other, "op")
    assert _send(other, tenant="helsedir", person="p2", text="x").status_code == 403
    assert smtp.messages == []

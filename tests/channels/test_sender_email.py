"""channels/sender.py: an e-mail reply is built against the last mail received from the
reply's recipient, not a third party's mail threaded into the same case by References
(against a migrated SQLite store and aiosmtpd on 127.0.0.1)."""
from __future__ import annotations

import email
import email.policy
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from channels.email.smtp import SmtpConfig
from channels.sender import ChannelSender
from engine import effects as fx
from engine import events as ev
from sentral.process import open_store
from store.written import MessageRecord
from tests.engine.builders import a_deployment, a_queue
from tests.helpers import smtp_server, until

T = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
MAIL_QUEUE = a_queue("mail", channel="email", reply_from="post@acme.example")


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'sentral.db'}")
    yield s
    s.close()


def _mail(store, case, sender, message_id, at, subject="Faktura"):
    store.save_inbound_message(MessageRecord(
        id=f"in-{uuid.uuid4().hex}", tenant="acme", channel="email", direction="in", case=case,
        created_at=at, queue="mail", external_id=message_id, sender=sender, sender_name="",
        subject=subject, body="tekst", headers={"message_id": message_id, "to": ["post@acme.example"]}))


def _send(store, case, to, port) -> tuple[ev.WrittenSent, list]:
    reply = f"out-{uuid.uuid4().hex[:24]}"
    store.save_outbound_message(MessageRecord(
        id=reply, tenant="acme", channel="email", direction="out", case=case,
        created_at=datetime.now(timezone.utc), queue="mail", item="item-1", recipients=(to,),
        subject="Re: Faktura", body="Svar", author="alice"))
    d, posted = a_deployment(queues=[MAIL_QUEUE]), []
    sender = ChannelSender(store, posted.append, lambda: d, backoff_initial=0.05, backoff_max=0.2,
                           smtp_config=SmtpConfig(host="127.0.0.1", port=port, timeout=5))
    sender.submit(fx.SendWritten("item-1", reply, "email", "acme", "mail"))
    try:
        until(lambda: posted, timeout=10, message="the reply handled")
    finally:
        sender.stop()
    assert len(posted) == 1 and isinstance(posted[0], ev.WrittenSent), posted
    return posted[0]


def test_a_reply_answers_the_recipients_last_mail_not_a_third_partys(store):
    case = store.new_case("acme", "email", contact="kari@kunde.example", subject="Faktura")
    _mail(store, case, "kari@kunde.example", "<k1@kunde.example>", T)
    _mail(store, case, "Kari@Kunde.example", "<k2@kunde.example>", T + timedelta(minutes=1))
    _mail(store, case, "regnskap@tredje.example", "<x1@tredje.example>", T + timedelta(minutes=2))
    with smtp_server() as inbox:
        _send(store, case, "kari@kunde.example", inbox.port)
        assert len(inbox.messages) == 1
    mail_from, rcpt, raw = inbox.messages[0]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert [r.lower() for r in rcpt] == ["kari@kunde.example"]
    assert str(msg["In-Reply-To"]) == "<k2@kunde.example>"


def test_without_a_mail_from_the_recipient_the_cases_last_mail_is_answered(store):
    case = store.new_case("acme", "email", contact="kari@kunde.example", subject="Faktura")
    _mail(store, case, "kari@kunde.example", "<k1@kunde.example>", T)
    _mail(store, case, "regnskap@tredje.example", "<x1@tredje.example>", T + timedelta(minutes=2))
    with smtp_server() as inbox:
        _send(store, case, "noen@annen.example", inbox.port)
        assert len(inbox.messages) == 1
    msg = email.message_from_bytes(inbox.messages[0][2], policy=email.policy.default)
    assert str(msg["In-Reply-To"]) == "<x1@tredje.example>"

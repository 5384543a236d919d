"""channels/sender.py: a web-form task's reply, against a migrated SQLite store, aiosmtpd and
a recording SMS gateway. Mailed to the form's contact address (From the tenant's e-mail
queue: a task queue has no reply_from); a form with only a phone gets an SMS when a gateway
is configured; with neither (or no address to mail from and no gateway) it is marked sent
with no external id and WrittenSent says `via: none` (the item's `replied` row)."""
from __future__ import annotations

import email
import uuid
from datetime import datetime, timezone

import pytest

from channels.email.smtp import SmtpConfig
from channels.sender import ChannelSender, task_contact, task_from
from channels.sms.items import Submitted
from engine import effects as fx
from engine import events as ev
from sentral.process import open_store
from store.written import MessageRecord
from tests.engine.builders import a_deployment, a_queue
from tests.helpers import smtp_server, until

T = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
MAIL_QUEUE = a_queue("mail", channel="email", reply_from="post@acme.example")
FORMS = a_queue("forms", channel="task")


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'sentral.db'}")
    yield s
    s.close()


class Gateway:
    """An SMS gateway client (HttpGatewayClient's `send`) that records what it was given."""

    def __init__(self):
        self.sent = []

    def send(self, to: str, text: str, reference: str) -> Submitted:
        self.sent.append((to, text, reference))
        return Submitted(reference, to, "gsm7", (f"gw-{len(self.sent)}",))


def _task_reply(store, email_address="", phone="", text="Takk for skjemaet.") -> fx.SendWritten:
    """A form filed as the task API files it (sender: the address, else the phone), and an
    agent's reply to it stored queued."""
    case = store.new_case("acme", "task", contact=email_address or phone, subject="Parkering")
    contact = {"name": "Kari Nordmann", "email": email_address, "phone": phone}
    store.save_inbound_message(MessageRecord(
        id=f"task-{uuid.uuid4().hex}", tenant="acme", channel="task", direction="in", case=case,
        created_at=T, queue="forms", sender=email_address or phone, sender_name="Kari Nordmann",
        subject="Parkering", body="Jeg søker om parkeringstillatelse.", headers={"contact": contact}))
    reply = f"out-{uuid.uuid4().hex[:24]}"
    store.save_outbound_message(MessageRecord(
        id=reply, tenant="acme", channel="task", direction="out", case=case, created_at=datetime.now(timezone.utc),
        queue="forms", item="item-1", recipients=(email_address or phone,), body=text, author="alice"))
    return fx.SendWritten("item-1", reply, "task", "acme", "forms")


def _send(store, effect, port, queues=(MAIL_QUEUE, FORMS), sms=None) -> ev.WrittenSent:
    d = a_deployment(queues=list(queues))
    posted = []
    sender = ChannelSender(store, posted.append, lambda: d, sms=sms, backoff_initial=0.05, backoff_max=0.2,
                           smtp_config=SmtpConfig(host="127.0.0.1", port=port, timeout=5))
    sender.submit(effect)
    try:
        until(lambda: posted, timeout=10, message="the reply handled")
    finally:
        sender.stop()
    assert len(posted) == 1 and isinstance(posted[0], ev.WrittenSent), posted
    return posted[0]


def test_a_form_with_an_address_is_answered_by_mail_from_the_agencys_mail_queue(store):
    gateway = Gateway()
    effect = _task_reply(store, email_address="kari@example.no", phone="+4791234567")
    with smtp_server() as inbox:
        sent = _send(store, effect, inbox.port, sms=gateway)
        assert len(inbox.messages) == 1
    mail_from, rcpt, content = inbox.messages[0]
    msg = email.message_from_bytes(content)
    assert (mail_from, rcpt) == ("post@acme.example", ["kari@example.no"])
    assert "Parkering" in msg["Subject"] and msg["From"].endswith("<post@acme.example>")
    assert sent.via == "email" and sent.external_id == msg["Message-ID"] and gateway.sent == []
    assert store.written_message(effect.message).status == "sent"


def test_a_form_with_only_a_phone_is_answered_by_sms_through_the_gateway(store):
    gateway = Gateway()
    effect = _task_reply(store, phone="+4791234567", text="Søknaden er mottatt.")
    with smtp_server() as inbox:
        sent = _send(store, effect, inbox.port, sms=gateway)
        assert inbox.messages == []
    assert gateway.sent == [("+4791234567", "Søknaden er mottatt.", effect.message)]
    assert (sent.via, sent.external_id) == ("sms", "gw-1")
    rec = store.written_message(effect.message)
    assert (rec.status, rec.external_id) == ("sent", "gw-1")


@pytest.mark.parametrize("contact, queues", [
    ({"phone": "+4791234567"}, (MAIL_QUEUE, FORMS)),                 # a phone, but no SMS gateway
    ({}, (MAIL_QUEUE, FORMS)),                                        # no contact at all
    ({"email_address": "kari@example.no"}, (FORMS,)),                  # no e-mail queue to send from
])
def test_with_no_way_to_reach_the_contact_the_reply_is_marked_sent_via_none(store, contact, queues):
    effect = _task_reply(store, **contact)
    with smtp_server() as inbox:
        sent = _send(store, effect, inbox.port, queues=queues, sms=None)
        assert inbox.messages == []
    assert (sent.via, sent.external_id) == ("none", "")
    rec = store.written_message(effect.message)
    assert (rec.status, rec.external_id) == ("sent", "")


def test_the_contact_and_the_address_to_send_from():
    rec = MessageRecord(id="t", tenant="acme", channel="task", direction="in", case="K", created_at=T,
                        sender="kari@example.no", headers={"contact": {"email": "kari@example.no",
                                                                       "phone": "+4791234567"}})
    assert task_contact(rec) == ("kari@example.no", "+4791234567")
    assert task_contact(MessageRecord(id="t", tenant="acme", channel="task", direction="in", case="K",
                                      created_at=T, sender="+4791234567")) == ("", "+4791234567")
    assert task_contact(None) == ("", "")
    other = a_queue("theirs", tenant="beta", channel="email", reply_from="post@beta.example")
    assert task_from(a_deployment(queues=[other, MAIL_QUEUE, FORMS]), "forms", "acme") == "post@acme.example"
    assert task_from(a_deployment(queues=[other, FORMS]), "forms", "acme") == ""

"""The written channels inside a real EngineProcess (channels/service.py), end to end against
real servers: dovecot (IMAP, conftest.py), aiosmtpd (SMTP, tests.helpers.smtp_server), the
fake SMSC (SMPP 3.4, fake_smsc.py) and PostgreSQL (`pg_url`).

A customer's mail APPENDed to the mailbox becomes an item offered to the logged-in agent;
her reply goes out over SMTP threaded (In-Reply-To, the case tag); the customer's answer to
it joins the same open item; a second delivery of the same mail is filed once; a restart
of the process on the same database loses nothing (mail that came while it was down, a
reply the engine accepted left queued or `sending`; one it refused is failed, not sent); an SMS through the SMSC becomes an item and its reply goes
out through the SMSC."""
from __future__ import annotations

import dataclasses
import email
import email.policy
import uuid
from datetime import datetime, timezone

import pytest

from channels.email.smtp import SmtpConfig
from channels.email.threading import case_tag
from channels.sms import gsm7
from engine import events as ev
from engine.config import Mailbox, SmsGateway, SmsNumber
from engine.written import ItemState
from sentral.app import EngineProcess
from sentral.process import open_store
from store.written import MessageRecord
from tests.channels.fake_smsc import FakeSmsc
from tests.engine.builders import a_deployment, a_queue, an_agent
from tests.helpers import smtp_server, until

OUR_NUMBER, CUSTOMER = "+4722334455", "+4741234567"
ENV = {"IMAP_PASSWORD": "secret", "SMPP_PASSWORD": "secret"}


@pytest.fixture
def smtp():
    with smtp_server() as inbox:
        yield inbox


@pytest.fixture
def smsc():
    server = FakeSmsc().start()
    yield server
    server.stop()


@pytest.fixture
def store(pg_url):
    s = open_store(pg_url)
    yield s
    s.close()


def _deployment(tmp_path, dovecot, smsc, pg_url):
    d = a_deployment(queues=[a_queue("mail", channel="email", reply_from="kundeservice@acme.example",
                                     ring_timeout=60),
                             a_queue("sms", channel="sms", reply_from=OUR_NUMBER, ring_timeout=60)],
                     agents=[an_agent("alice", {"mail": 1, "sms": 1})])
    return dataclasses.replace(
        d, database_url=pg_url, recordings_dir=str(tmp_path / "var" / "recordings"),
        mailboxes=(Mailbox(queue="mail", host=dovecot.host, port=dovecot.port, username=dovecot.username,
                           security="none", password_env="IMAP_PASSWORD", poll_seconds=1.0),),
        sms=SmsGateway(kind="smpp", host="127.0.0.1", port=smsc.port, system_id="sentral",
                       password_env="SMPP_PASSWORD", sender=OUR_NUMBER,
                       numbers=(SmsNumber(OUR_NUMBER, "sms"),)))


def _start(deployment, store, smtp) -> EngineProcess:
    options = {"environ": ENV, "idle_seconds": 30.0,
               "sender_options": {"smtp_config": SmtpConfig(host="127.0.0.1", port=smtp.port, timeout=10),
                                  "backoff_initial": 0.05, "backoff_max": 0.5}}
    proc = EngineProcess(deployment, store, login_all=True, recordings=False, fold_every=None,
                         channel_options=options).start(ready_timeout=10)
    until(lambda: proc.engine.agents["alice"].state.value == "available", message="alice available")
    return proc


def _mail(subject: str, message_id: str, body: str = "Hei!", **headers) -> bytes:
    extra = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    return (f"From: Kari Nordmann <kari@customer.example>\r\nTo: kundeservice@acme.example\r\n"
            f"Subject: {subject}\r\nMessage-ID: {message_id}\r\nDate: Tue, 01 Dec 2026 09:00:00 +0100\r\n"
            f"{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def _items(proc, queue=None):
    return [i for i in proc.engine.items.values() if queue is None or i.queue == queue]


def _now():
    return datetime.now(timezone.utc)


def _reply(proc, store, item, body: str, message_id: str | None = None) -> str:
    message_id = message_id or str(uuid.uuid4())
    store.save_outbound_message(MessageRecord(
        id=message_id, tenant=item.tenant, channel=item.channel, direction="out", case=item.case,
        created_at=_now(), queue=item.queue, item=item.id, body=body, author="alice"))
    proc.runtime.post(ev.ItemReply("alice", item.id, message_id, _now()))
    return message_id


def _accept(proc, item):
    until(lambda: item.state is ItemState.OFFERED and item.agent == "alice", message="offered to alice")
    proc.runtime.post(ev.ItemAccept("alice", item.id, _now()))
    until(lambda: item.state is ItemState.OPEN, message="accepted")


def _sent(store, message_id: str):
    return until(lambda: (m := store.written_message(message_id)) is not None and m.status == "sent" and m,
                 timeout=15, message=f"reply {message_id} marked sent")


def test_a_mail_becomes_an_item_its_reply_is_threaded_and_the_answer_joins_the_item(
        tmp_path, dovecot, smtp, smsc, store, pg_url):
    proc = _start(_deployment(tmp_path, dovecot, smsc, pg_url), store, smtp)
    try:
        raw = _mail("Faktura 1234", "<first-1@customer.example>", "Hvorfor er fakturaen så høy?")
        uid = dovecot.deliver(raw)
        (item,) = until(lambda: _items(proc, "mail"), timeout=15, message="an item from the mailbox")
        first = store.written_message(item.messages[0])
        assert (item.sender, item.subject, first.body.strip()) == \
            ("kari@customer.example", "Faktura 1234", "Hvorfor er fakturaen så høy?")
        until(lambda: b"\\Seen" in dovecot.flags(uid), message="\\Seen after it was stored")
        _accept(proc, item)

        reply_id = _reply(proc, store, item, "Hei Kari, vi ser på saken.")
        until(lambda: smtp.messages, timeout=15, message="the reply at the SMTP server")
        mail_from, rcpts, content = smtp.messages[0]
        sent = email.message_from_bytes(content, policy=email.policy.default)
        assert rcpts == ["kari@customer.example"] and mail_from == "kundeservice@acme.example"
        assert sent["In-Reply-To"] == "<first-1@customer.example>"
        assert case_tag(item.case) in sent["Subject"] and sent["Subject"].startswith("Re: Faktura 1234")
        assert _sent(store, reply_id).external_id == sent["Message-ID"]
        until(lambda: any(r.kind == "replied" for r in store.journal(item.id)), message="replied row")

        # the customer answers our reply (threaded by In-Reply-To only: a new subject)
        dovecot.deliver(_mail("Takk", "<second-2@customer.example>", "Takk for svaret",
                              In_Reply_To=sent["Message-ID"]))
        until(lambda: len(item.messages) == 3, timeout=15, message="the answer added to the open item")
        assert len(_items(proc)) == 1 and item.state is ItemState.OPEN
        until(lambda: any(r.kind == "message_added" for r in store.journal(item.id)), message="message_added row")

        # the first mail delivered again (a mail server's retry): filed once
        again = dovecot.deliver(raw)
        until(lambda: b"\\Seen" in dovecot.flags(again), timeout=15, message="the duplicate read and confirmed")
        assert len(store.written_messages(case=item.case)) == 3 and len(_items(proc)) == 1
    finally:
        proc.stop()


def test_a_restart_loses_nothing(tmp_path, dovecot, smtp, smsc, store, pg_url):
    deployment = _deployment(tmp_path, dovecot, smsc, pg_url)
    proc = _start(deployment, store, smtp)
    try:
        dovecot.deliver(_mail("Adresseendring", "<a-1@customer.example>"))
        (item,) = until(lambda: _items(proc, "mail"), timeout=15, message="an item")
        _accept(proc, item)
        item_id, case = item.id, item.case
    finally:
        proc.stop()
    # while the process is down: a new mail arrives; the engine had accepted two replies (its
    # stored item lists them), one still queued, one being sent; a third it had refused
    dovecot.deliver(_mail("Ny sak", "<b-2@customer.example>"))
    queued = _reply_record(store, item_id, case, "Svar 1")
    claimed = _reply_record(store, item_id, case, "Svar 2")
    refused = _reply_record(store, item_id, case, "Svar 3")
    assert store.claim_outbound(claimed) is not None           # a crash left it `sending`
    stored = store.interaction(item_id)
    store.upsert_interaction(dataclasses.replace(stored, data={
        **stored.data, "messages": [*stored.data["messages"], queued, claimed]}))
    proc = _start(deployment, store, smtp)
    try:
        item = proc.engine.items[item_id]
        assert item.state is ItemState.OPEN and item.agent == "alice"
        until(lambda: len(_items(proc, "mail")) == 2, timeout=15, message="the mail from the down time")
        _sent(store, queued), _sent(store, claimed)
        assert len(smtp.messages) == 2
        assert (store.written_message(refused).status, store.written_message(refused).error) == (
            "failed", "not accepted by the engine")
        assert {email.message_from_bytes(c)["In-Reply-To"] for _, _, c in smtp.messages} == {"<a-1@customer.example>"}
        dovecot.deliver(_mail("Re: Adresseendring", "<c-3@customer.example>",
                              References="<a-1@customer.example>"))
        until(lambda: len(item.messages) >= 2, timeout=15, message="the answer joins the restored item")
        assert len(_items(proc, "mail")) == 2
    finally:
        proc.stop()


def _reply_record(store, item_id, case, body):
    message_id = str(uuid.uuid4())
    store.save_outbound_message(MessageRecord(
        id=message_id, tenant="acme", channel="email", direction="out", case=case, created_at=_now(),
        queue="mail", item=item_id, body=body, author="alice"))
    return message_id


def test_an_sms_becomes_an_item_and_its_reply_goes_out_through_the_smsc(
        tmp_path, dovecot, smtp, smsc, store, pg_url):
    proc = _start(_deployment(tmp_path, dovecot, smsc, pg_url), store, smtp)
    try:
        until(lambda: smsc.bound_sessions(), timeout=10, message="the SMPP link bound")
        smsc.deliver(CUSTOMER.lstrip("+"), OUR_NUMBER.lstrip("+"), gsm7.encode("Når åpner dere?"), data_coding=0)
        (item,) = until(lambda: _items(proc, "sms"), timeout=10, message="an SMS item")
        assert item.sender == CUSTOMER and item.channel == "sms"
        _accept(proc, item)
        reply_id = _reply(proc, store, item, "Kl. 08.00")
        until(lambda: smsc.submits, timeout=10, message="the reply submitted to the SMSC")
        pdu = smsc.submits[0]
        assert _text(pdu.destination_addr) == CUSTOMER.lstrip("+")
        assert gsm7.decode(pdu.short_message) == "Kl. 08.00"
        assert _sent(store, reply_id).external_id
    finally:
        proc.stop()


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)

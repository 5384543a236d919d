"""channels/service.py's mailbox intake and channels/sender.py's retries against real
servers (dovecot, aiosmtpd) and a migrated SQLite store: a refused login is a `failed`
entry and retried; a changed UIDVALIDITY is a `failed` entry, then the mail not yet \\Seen
is read again (what was stored is not) and `connected` follows; a reply to an unreachable
SMTP server stays queued, is reported once as not permanent and goes out when the server
is there; a 5xx answer fails it for good with a fault entry."""
from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timezone

import pytest

from channels.email.attachments import AttachmentStore
from channels.email.smtp import SmtpConfig
from channels.intake import file_mail
from channels.sender import ChannelSender
from channels.service import MailboxIntake, mailbox_key
from engine import effects as fx
from engine import events as ev
from engine.config import Mailbox
from sentral.process import open_store
from store.records import InteractionRecord
from store.written import MessageRecord
from tests.engine.builders import a_deployment, a_queue
from tests.helpers import Inbox, free_port, smtp_server, until

T = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'sentral.db'}")
    yield s
    s.close()


def _mail(n: int) -> bytes:
    return (f"From: kari@customer.example\r\nTo: post@acme.example\r\nSubject: Sak {n}\r\n"
            f"Message-ID: <m{n}@customer.example>\r\n\r\nTekst {n}\r\n").encode()


def _intake(dovecot, store, tmp_path, faults, posted, password="secret"):
    box = Mailbox(queue="mail", host=dovecot.host, port=dovecot.port, username=dovecot.username,
                  security="none", password_env="PW", poll_seconds=0.5)
    return MailboxIntake(box, "acme", store, posted.append, attachments=AttachmentStore(tmp_path / "att", 10**6),
                         fault=lambda source, kind, **data: faults.append((source, kind, data)),
                         environ={"PW": password})


def test_a_refused_login_is_a_failed_entry_and_is_tried_again(dovecot, store, tmp_path, monkeypatch):
    import channels.service as service

    monkeypatch.setattr(service, "RECONNECT_INITIAL", 0.01)
    faults, posted = [], []
    intake = _intake(dovecot, store, tmp_path, faults, posted, password="wrong").start()
    try:
        until(lambda: len(faults) >= 2, timeout=10, message="two failed logins")
        assert {(s, k) for s, k, _ in faults} == {("mailbox:acme/mail", "failed")}
        assert "login_refused" in faults[0][2]["error"] and posted == []
    finally:
        intake.stop()


def test_a_changed_uidvalidity_is_reported_and_only_unseen_mail_is_read_again(dovecot, store, tmp_path):
    faults, posted = [], []
    stored = dovecot.deliver(_mail(1), flags=[b"\\Seen"])       # stored before the change: \Seen
    dovecot.deliver(_mail(2))                                  # never stored: not \Seen
    file_mail(store, lambda e: None, tenant="acme", queue="mail", raw=_mail(1), at=T)
    key = mailbox_key("acme", _intake(dovecot, store, tmp_path, [], []).box)
    store.save_mailbox_state(key, {"uidvalidity": 1, "last_uid": stored + 1, "seen_only_upto": 0})
    intake = _intake(dovecot, store, tmp_path, faults, posted).start()
    try:
        until(lambda: len(posted) == 1, timeout=10, message="the unseen mail filed")
        assert posted[0].subject == "Sak 2"
        kinds = [k for _, k, _ in faults]
        assert kinds[:3] == ["connected", "failed", "connected"] and "UIDVALIDITY" in faults[1][2]["error"]
        until(lambda: (store.mailbox_state(key) or {}).get("uidvalidity") != 1, message="new state saved")
    finally:
        intake.stop()


class _Refusing(Inbox):
    async def handle_DATA(self, server, session, envelope):
        return "550 5.7.1 refused by policy"


@contextlib.contextmanager
def _smtp(handler, port):
    from aiosmtpd.controller import Controller

    handler.port = port
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def _sender(store, port, posted, faults):
    d = a_deployment(queues=[a_queue("mail", channel="email", reply_from="post@acme.example")])
    return ChannelSender(store, posted.append, lambda: d, smtp_config=SmtpConfig(host="127.0.0.1", port=port, timeout=5),
                         fault=lambda source, kind, **data: faults.append((source, kind, data)),
                         backoff_initial=0.05, backoff_max=0.2)


def _queued_reply(store, item="item-1", n=7) -> fx.SendWritten:
    filed = file_mail(store, lambda e: None, tenant="acme", queue="mail", raw=_mail(n), at=T)
    reply = str(uuid.uuid4())
    store.save_outbound_message(MessageRecord(id=reply, tenant="acme", channel="email", direction="out",
                                              case=filed.case, created_at=datetime.now(timezone.utc),
                                              queue="mail", item=item, body="Svar"))
    return fx.SendWritten(item, reply, "email", "acme", "mail")


def _item_record(store, item: str, messages, ended: bool = False) -> None:
    """The item's record as the runtime stores it (interactions.data = its snapshot)."""
    store.upsert_interaction(InteractionRecord(
        id=item, tenant="acme", state="closed" if ended else "open", entered_at=T, kind="email", queue="mail",
        ended_at=T if ended else None, end_reason="closed" if ended else "",
        data={"id": item, "kind": "email", "messages": list(messages), "ended": ended}))


def test_a_reply_waits_for_an_unreachable_smtp_server_and_goes_when_it_is_there(store):
    posted, faults, port = [], [], free_port()
    sender = _sender(store, port, posted, faults)
    effect = _queued_reply(store)
    sender.submit(effect)
    try:
        until(lambda: posted, timeout=10, message="the first failure reported")
        assert isinstance(posted[0], ev.WrittenSendFailed) and not posted[0].permanent
        assert store.written_message(effect.message).status in ("queued", "sending")
        with _smtp(Inbox(), port) as inbox:
            until(lambda: any(isinstance(p, ev.WrittenSent) for p in posted), timeout=10, message="sent")
            assert len(inbox.messages) == 1
        assert [type(p).__name__ for p in posted] == ["WrittenSendFailed", "WrittenSent"]
        assert store.written_message(effect.message).status == "sent" and faults == []
    finally:
        sender.stop()


def test_a_refused_reply_fails_for_good_with_a_fault_entry(store):
    posted, faults, port = [], [], free_port()
    with _smtp(_Refusing(), port):
        sender = _sender(store, port, posted, faults)
        effect = _queued_reply(store)
        sender.submit(effect)
        try:
            until(lambda: posted, timeout=10, message="the failure reported")
        finally:
            sender.stop()
    assert [(type(p).__name__, p.permanent) for p in posted] == [("WrittenSendFailed", True)]
    rec = store.written_message(effect.message)
    assert rec.status == "failed" and "550" in rec.error
    assert [(s, k) for s, k, _ in faults] == [("sender:acme/mail", "failed")]


def test_at_start_only_the_replies_the_engine_accepted_are_sent(store, caplog):
    """A reply is sent at resume only if its item's stored record lists it (the engine put
    it into the item's messages); one the engine refused stays queued and unlisted: failed."""
    listed = _queued_reply(store, "item-1", 1)                 # accepted, still queued
    left_sending = _queued_reply(store, "item-2", 2)           # accepted, the item closed since
    assert store.claim_outbound(left_sending.message) is not None
    refused = _queued_reply(store, "item-1", 3)                # the engine refused its ItemReply
    unknown = _queued_reply(store, "item-9", 4)                # no record of its item at all
    _item_record(store, "item-1", ["in-1", listed.message])
    _item_record(store, "item-2", ["in-2", left_sending.message], ended=True)
    posted, faults = [], []
    with smtp_server() as inbox:
        sender = _sender(store, inbox.port, posted, faults)
        try:
            assert sender.resume() == 2
            until(lambda: len(posted) == 2, timeout=10, message="the two accepted replies sent")
        finally:
            sender.stop()
        assert len(inbox.messages) == 2
    assert sorted((p.item, p.message) for p in posted if isinstance(p, ev.WrittenSent)) == sorted(
        [("item-1", listed.message), ("item-2", left_sending.message)])
    for effect in (listed, left_sending):
        assert store.written_message(effect.message).status == "sent"
    for effect in (refused, unknown):
        rec = store.written_message(effect.message)
        assert (rec.status, rec.error) == ("failed", "not accepted by the engine")
        assert any(effect.message in r.getMessage() and "not sent" in r.getMessage() for r in caplog.records)
    assert faults == []

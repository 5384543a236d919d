"""channels/replies.queue_reply, the one reply path of the console and the REST API, against
a migrated SQLite store: an open item's reply is stored queued (case, item, queue, channel,
author, recipient, the queue's reply_from, `Re:` for e-mail only) before ItemReply names
it; an item not open, an empty text, one too long for its channel or an SMS of more than
255 parts store and post nothing."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from channels.replies import MAX_TEXT, ReplyInvalid, ReplyNotOpen, queue_reply, sms_parts
from engine import events as ev
from engine.written import ItemState
from sentral.process import open_store
from tests.engine.builders import a_deployment, a_queue

T = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'sentral.db'}")
    yield s
    s.close()


def _deployment():
    return a_deployment(queues=[a_queue("mail", channel="email", reply_from="post@acme.example"),
                                a_queue("sms", channel="sms", reply_from="+4722334455"),
                                a_queue("forms", channel="task")])


def _item(channel="email", queue="mail", state=ItemState.OPEN, subject="Adresseendring",
          sender="kari@customer.example"):
    return SimpleNamespace(id=f"ix-{channel}", channel=channel, tenant="acme", queue=queue, case="K7QM2X",
                           sender=sender, subject=subject, state=state)


class _Post:
    """The engine's inbox: records each event and whether its message was stored by then."""

    def __init__(self, store):
        self.store, self.events, self.stored_first = store, [], []

    def __call__(self, event):
        self.events.append(event)
        self.stored_first.append(self.store.written_message(event.message) is not None)


def test_an_email_reply_is_stored_queued_before_the_engine_hears_of_it(store):
    post = _Post(store)
    rec = queue_reply(store, post, _deployment(), _item(), "alice", "  Takk, det er ordnet.  ", T)
    stored = store.written_message(rec.id)
    assert (stored.direction, stored.status, stored.channel, stored.case, stored.item, stored.queue) == (
        "out", "queued", "email", "K7QM2X", "ix-email", "mail")
    assert (stored.author, tuple(stored.recipients), stored.sender) == (
        "alice", ("kari@customer.example",), "post@acme.example")
    assert stored.subject == "Re: Adresseendring" and stored.body == "Takk, det er ordnet."
    assert post.events == [ev.ItemReply("alice", "ix-email", rec.id, T)] and post.stored_first == [True]
    again = queue_reply(store, post, _deployment(), _item(subject="SV: Adresseendring"), "alice", "Mer", T)
    assert store.written_message(again.id).subject == "SV: Adresseendring"          # not "Re: SV: ..."


def test_sms_and_task_replies_have_no_subject(store):
    post = _Post(store)
    sms = queue_reply(store, post, _deployment(), _item("sms", "sms", sender="+4741234567"), "alice", "Kl. 8", T)
    task = queue_reply(store, post, _deployment(), _item("task", "forms"), "alice", "Mottatt", T)
    assert store.written_message(sms.id).subject == "" and store.written_message(sms.id).sender == "+4722334455"
    assert store.written_message(task.id).subject == "" and store.written_message(task.id).sender == ""
    assert [e.message for e in post.events] == [sms.id, task.id]


@pytest.mark.parametrize("item, text, error", [
    (_item(), "", "item.empty"),
    (_item(), "   \n ", "item.empty"),
    (_item(), None, "item.empty"),
    (_item(), "x" * (MAX_TEXT["email"] + 1), "item.too_long"),
    (_item("task", "forms"), "x" * (MAX_TEXT["task"] + 1), "item.too_long"),
    (_item("sms", "sms"), "x" * (MAX_TEXT["sms"] + 1), "item.too_long"),
])
def test_a_text_the_channel_cannot_carry_stores_and_posts_nothing(store, item, text, error):
    post = _Post(store)
    with pytest.raises(ReplyInvalid) as raised:
        queue_reply(store, post, _deployment(), item, "alice", text, T)
    assert raised.value.error_id == error
    assert post.events == [] and store.written_messages(case="K7QM2X") == []


def test_an_sms_over_255_parts_is_too_long(monkeypatch, store):
    import channels.replies as replies

    assert sms_parts("a" * 160) == (1, "gsm7") and sms_parts("😀" * 36) == (2, "ucs2")
    assert sms_parts("x" * 153 * 256) is None
    monkeypatch.setitem(replies.MAX_TEXT, "sms", 10**6)          # the part limit alone
    with pytest.raises(ReplyInvalid):
        queue_reply(store, _Post(store), _deployment(), _item("sms", "sms"), "alice", "x" * 153 * 256, T)


def test_an_item_not_open_stores_and_posts_nothing(store):
    post = _Post(store)
    with pytest.raises(ReplyNotOpen) as raised:
        queue_reply(store, post, _deployment(), _item(state=ItemState.OFFERED), "alice", "For tidlig", T)
    assert raised.value.error_id == "item.not_open"
    assert post.events == [] and store.written_messages(case="K7QM2X") == []

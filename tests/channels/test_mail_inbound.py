"""MailboxReader against a real dovecot (tests/channels/conftest.py): UID tracking across
restarts, \\Seen only after confirm, UIDVALIDITY changes, IDLE and polling."""
from __future__ import annotations

import threading
import time

import pytest

from channels.email.inbound import (MailboxMissing, MailboxReader, MailboxState, NewMessage,
                                    UidValidityChanged)
from channels.email.parse import parse_message

SEEN = b"\\Seen"


def a_mail(n: int, subject: str | None = None) -> bytes:
    return (f"From: Kari <kari{n}@example.test>\r\nTo: post@agency.test\r\n"
            f"Message-ID: <m{n}@example.test>\r\nSubject: {subject or f'Question {n}'}\r\n"
            f"\r\nBody {n}\r\n").encode()


def a_reader(dovecot, state=None, folder="INBOX", **kw) -> MailboxReader:
    return MailboxReader(dovecot.host, dovecot.port, dovecot.username, dovecot.password, folder,
                         state=state, timeout=10, **kw)


def subjects(events) -> list[str]:
    return [parse_message(e.raw).subject for e in events]


def store_all(reader, events) -> MailboxState:
    state = reader.state
    for e in events:
        state = reader.confirm(e.uid)
    return state


def test_given_new_mail_when_read_and_confirmed_then_each_message_read_once_across_restarts(dovecot):
    for n in (1, 2):
        dovecot.deliver(a_mail(n))
    with a_reader(dovecot) as reader:
        first = reader.fetch_new()
        assert subjects(first) == ["Question 1", "Question 2"]
        assert all(isinstance(e, NewMessage) for e in first)
        state = store_all(reader, first)
        assert reader.fetch_new() == []
    assert state.last_uid == first[-1].uid and state.uidvalidity
    persisted = state.as_dict()

    dovecot.deliver(a_mail(3))
    with a_reader(dovecot, MailboxState.from_dict(persisted)) as reader:
        again = reader.fetch_new()
        assert subjects(again) == ["Question 3"]
        assert store_all(reader, again).last_uid == again[0].uid


def test_given_fetched_but_not_confirmed_when_reader_restarts_then_fetched_again_and_not_seen(dovecot):
    uid = dovecot.deliver(a_mail(1))
    with a_reader(dovecot) as reader:
        (event,) = reader.fetch_new()
        assert event.uid == uid and SEEN not in event.flags
        assert SEEN not in dovecot.flags(uid), "fetching must not mark \\Seen (BODY.PEEK)"
        state = reader.state          # the process dies before the caller stored it
    assert state.last_uid == 0
    with a_reader(dovecot, state) as reader:
        (again,) = reader.fetch_new()
        assert again.uid == uid and again.raw == event.raw
        reader.confirm(uid)
        assert SEEN in dovecot.flags(uid)
        assert reader.state.last_uid == uid


def test_given_a_batch_confirmed_out_of_order_then_last_uid_never_passes_an_unstored_message(dovecot):
    uids = [dovecot.deliver(a_mail(n)) for n in range(1, 6)]
    with a_reader(dovecot) as reader:
        batch = reader.fetch_new(limit=2)
        assert [e.uid for e in batch] == uids[:2]
        assert reader.confirm(uids[1]).last_uid == 0
        assert reader.confirm(uids[0]).last_uid == uids[1]
        rest = reader.fetch_new(limit=10)
        assert [e.uid for e in rest] == uids[2:]
        reader.confirm(uids[4])
        assert reader.state.last_uid == uids[1]
        with pytest.raises(ValueError):
            reader.confirm(uids[4])
    with a_reader(dovecot, reader.state) as again:
        # At least once: 5 was stored but lies above the unstored 3 and 4, so it comes again,
        # \Seen, for the caller to recognise by Message-ID. Nothing unstored is skipped.
        events = again.fetch_new()
        assert [e.uid for e in events] == uids[2:]
        assert [SEEN in e.flags for e in events] == [False, False, True]


def _recreate(dovecot, folder):
    with dovecot.client() as c:
        c.delete_folder(folder)
        c.create_folder(folder)


@pytest.mark.parametrize("take, expected", [("unseen", ["New after the change"]),
                                            ("all", ["Stored before", "New after the change"])])
def test_given_mailbox_recreated_when_reading_then_uidvalidity_change_reported_until_accepted(
        dovecot, take, expected):
    with dovecot.client() as c:
        c.create_folder("Support")
    dovecot.deliver(a_mail(1), "Support")
    with a_reader(dovecot, folder="Support") as reader:
        state = store_all(reader, reader.fetch_new())
    assert state.last_uid == 1

    _recreate(dovecot, "Support")
    dovecot.deliver(a_mail(1, "Stored before"), "Support", flags=[SEEN])   # what we had marked
    dovecot.deliver(a_mail(2, "New after the change"), "Support")
    with a_reader(dovecot, state, folder="Support") as reader:
        (event,) = reader.fetch_new()
        assert isinstance(event, UidValidityChanged)
        assert event.old == state.uidvalidity and event.new != event.old and event.exists == 2
        assert reader.fetch_new() == [event], "nothing is fetched until the caller decides"
        assert reader.wait(timeout=5) is True
        fresh = reader.accept_uidvalidity(event, take=take)
        assert fresh.uidvalidity == event.new and fresh.last_uid == 0
        got = reader.fetch_new()
        assert subjects(got) == expected
        final = store_all(reader, got)
    assert final.last_uid == 2 and final.uidvalidity == event.new
    with a_reader(dovecot, final, folder="Support") as reader:
        assert reader.fetch_new() == []


def test_given_mailbox_deleted_when_opening_then_mailbox_missing(dovecot):
    with pytest.raises(MailboxMissing) as exc:
        a_reader(dovecot, folder="Gone").open()
    assert exc.value.error_id == "mailbox_missing"


def test_given_idle_when_mail_appended_then_wait_wakes_before_its_timeout(dovecot):
    idling = threading.Event()
    delivered = []

    def deliver_once_idle():
        if idling.wait(timeout=20):
            delivered.append(dovecot.deliver(a_mail(7)))

    with a_reader(dovecot, on_idle=idling.set) as reader:
        assert reader.uses_idle, "dovecot advertises IDLE"
        assert reader.fetch_new() == []
        deliverer = threading.Thread(target=deliver_once_idle)
        deliverer.start()
        started = time.monotonic()
        woke = reader.wait(timeout=30)
        elapsed = time.monotonic() - started
        deliverer.join(timeout=20)
        assert woke is True and delivered
        assert elapsed < 30
        assert [e.uid for e in reader.fetch_new()] == delivered


def test_given_idle_and_nothing_arrives_then_wait_returns_false_at_timeout(dovecot):
    with a_reader(dovecot) as reader:
        started = time.monotonic()
        assert reader.wait(timeout=0.3) is False
        assert time.monotonic() - started >= 0.3


def test_given_mail_already_waiting_then_wait_returns_at_once(dovecot):
    dovecot.deliver(a_mail(1))
    with a_reader(dovecot, on_idle=lambda: pytest.fail("must not IDLE with mail waiting")) as reader:
        assert reader.wait(timeout=30) is True


def test_given_polling_when_mail_arrives_between_polls_then_wait_returns_true(dovecot):
    polls = []

    def sleep(seconds):          # the pause between polls: a message arrives during the first
        polls.append(seconds)
        if len(polls) == 1:
            dovecot.deliver(a_mail(1))

    with a_reader(dovecot, idle=False, poll_interval=5, sleep=sleep) as reader:
        assert not reader.uses_idle
        assert reader.wait(timeout=60) is True
        assert polls == [5]
        assert subjects(reader.fetch_new()) == ["Question 1"]


def test_given_polling_and_nothing_arrives_then_wait_returns_false_after_timeout(dovecot):
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    with a_reader(dovecot, idle=False, poll_interval=5, sleep=sleep, clock=lambda: now[0]) as reader:
        assert reader.wait(timeout=12) is False
    assert now[0] == 12

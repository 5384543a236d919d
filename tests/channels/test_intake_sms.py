"""channels.intake.file_sms against a real store (SQLite, migrated): the queue by the
destination number, a conversation's case by the sender, a redelivery filed once, an
unconfigured number filed to the fallback queue with a problem noted."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from channels.intake import NoSmsQueue, file_sms
from engine.config import SmsGateway, SmsNumber
from sentral.process import open_store
from tests.engine.builders import a_deployment, a_queue

T = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'sentral.db'}")
    yield s
    s.close()


def _deployment(numbers=(SmsNumber("+4722334455", "sms-a"), SmsNumber("2020", "sms-b"))):
    d = a_deployment(queues=[a_queue("sales"), a_queue("sms-a", channel="sms"),
                             a_queue("sms-b", tenant="beta", channel="sms")])
    return dataclasses.replace(d, sms=SmsGateway(kind="http", url="http://127.0.0.1:9", numbers=tuple(numbers)))


def test_an_sms_is_filed_to_its_numbers_queue_once_and_joins_the_senders_case(store):
    d, posted = _deployment(), []
    a = file_sms(store, posted.append, d, sender="+4791234567", to="4722334455", text="Hei",
                 gateway_id="gw-1", at=T)
    again = file_sms(store, posted.append, d, sender="+4791234567", to="4722334455", text="Hei",
                     gateway_id="gw-1", at=T)
    b = file_sms(store, posted.append, d, sender="+4791234567", to="+4722334455", text="Er dere der?",
                 gateway_id="gw-2", at=T)
    short = file_sms(store, posted.append, d, sender="+4791234567", to="2020", text="STOPP",
                     gateway_id="gw-3", at=T)
    assert (a.created, again.created, again.message) == (True, False, a.message)
    assert [p.queue for p in posted] == ["sms-a", "sms-a", "sms-b"]
    assert posted[0].case == posted[1].case != posted[2].case          # beta is another tenant
    assert [p.tenant for p in posted] == ["acme", "acme", "beta"]
    rec = store.written_message(b.message)
    assert (rec.channel, rec.sender, rec.body, rec.external_id, rec.problems) == \
        ("sms", "+4791234567", "Er dere der?", "gw-2", ())
    assert short.queue == "sms-b" and not short.unknown_number


def test_an_unconfigured_number_is_filed_to_the_first_numbers_queue_with_a_problem(store):
    posted = []
    filed = file_sms(store, posted.append, _deployment(), sender="+4791234567", to="+4799999999",
                     text="Hei", gateway_id="gw-9", at=T)
    assert (filed.queue, filed.unknown_number, posted[0].queue) == ("sms-a", True, "sms-a")
    assert "unknown destination number" in store.written_message(filed.message).problems[0]


def test_without_any_sms_queue_nothing_is_stored(store):
    d = dataclasses.replace(a_deployment(queues=[a_queue("sales")]), sms=SmsGateway(kind="http"))
    with pytest.raises(NoSmsQueue):
        file_sms(store, lambda e: None, d, sender="+4791234567", to="2020", text="x", gateway_id="g", at=T)
    assert store.unfiled_messages() == []


def test_a_digest_id_is_a_duplicate_only_within_its_window(store):
    """SMPP texts without an SMSC id come as `sha:<digest>`: the same text from the same
    number within 600 s is one message; the same "Ja" days later (or 601 s later across a
    bucket boundary) is a new one."""
    from datetime import timedelta
    d, posted = _deployment(), []
    sha = "sha:" + "ab" * 16

    def sms(at):
        return file_sms(store, posted.append, d, sender="+4791234567", to="4722334455", text="Ja",
                        gateway_id=sha, at=at)
    start = datetime(2026, 12, 1, 9, 9, 50, tzinfo=timezone.utc)   # 10 s before a 600 s boundary
    first = sms(start)
    redelivered = sms(start + timedelta(seconds=30))                 # crosses the boundary
    later = sms(start + timedelta(seconds=601))
    days_later = sms(start + timedelta(days=3))
    assert (first.created, redelivered.created, redelivered.message) == (True, False, first.message)
    assert later.created and days_later.created
    assert len({first.message, later.message, days_later.message}) == 3
    assert len(posted) == 3
    assert store.written_message(first.message).external_id.startswith(sha + ":")

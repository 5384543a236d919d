"""The SMPP link over real TCP on 127.0.0.1 against tests/channels/fake_smsc.py, a
protocol-faithful fake SMSC built on smpplib's own PDU codec (Debian's Kannel cannot act
as an SMPP server for a transceiver client: see that module's docstring)."""
from __future__ import annotations

import pytest

from channels.sms import gsm7, segments
from channels.sms.errors import InvalidNumber
from channels.sms.items import DeliveryState
from channels.sms.smpp import SmppLink, SmppSettings
from tests.channels.fake_smsc import FakeSmsc
from tests.helpers import until

NUMBER = "+4791234567"          # valid Norwegian mobile
SMSC_NUMBER = "4741234567"
OUR_NUMBER = "+4722334455"


@pytest.fixture
def smsc():
    server = FakeSmsc().start()
    yield server
    server.stop()


@pytest.fixture
def link(smsc):
    inbox, receipts = [], []
    settings = SmppSettings(host="127.0.0.1", port=smsc.port, system_id="sentral",
                            password="secret", source=OUR_NUMBER, enquire_link_interval=0.2,
                            response_timeout=3.0, reconnect_initial=0.05, reconnect_max=0.2)
    smpp = SmppLink(settings, inbox.append, receipts.append)
    smpp.inbox, smpp.receipts = inbox, receipts
    smpp.start()
    assert smpp.wait_bound(5), "bound to the fake SMSC"
    yield smpp
    smpp.stop()


def _reassemble(submits):
    """The text an SMSC would reassemble from submit_sm PDUs, checking the UDH on the way."""
    texts, refs = [], set()
    for index, pdu in enumerate(submits, start=1):
        concat, body = segments.split_udh(pdu.short_message, pdu.esm_class)
        if len(submits) > 1:
            assert concat is not None and (concat.total, concat.index) == (len(submits), index)
            refs.add(concat.reference)
        texts.append(segments.decode_text(pdu.data_coding, body))
    assert len(refs) <= 1, "one concatenation reference for all parts"
    return "".join(texts)


def test_given_a_smsc_when_the_link_starts_then_it_binds_as_transceiver_and_keeps_alive(link, smsc):
    assert smsc.binds == 1 and link.bound
    until(lambda: smsc.enquire_links >= 2, message="enquire_link keep-alive")
    assert link.bound


def test_given_gsm_text_when_sent_then_one_gsm7_part(link, smsc):
    sent = link.send(NUMBER, "Hei! Saken din er mottatt {ref 12} €5", reference="out-1")
    (pdu,) = smsc.submits
    assert (pdu.data_coding, pdu.esm_class) == (0, 0)
    assert pdu.destination_addr in (b"4791234567", "4791234567")
    assert gsm7.decode(pdu.short_message) == "Hei! Saken din er mottatt {ref 12} €5"
    assert sent.encoding == "gsm7" and len(sent.message_ids) == 1


def test_given_text_outside_gsm_when_sent_then_ucs2(link, smsc):
    link.send(NUMBER, "Привет, ваш запрос принят 😀", reference="out-2")
    (pdu,) = smsc.submits
    assert pdu.data_coding == 8
    assert pdu.short_message.decode("utf-16-be") == "Привет, ваш запрос принят 😀"


@pytest.mark.parametrize("text, parts, coding", [
    ("Lang melding. " * 28 + "Slutt" * 3, 3, 0),      # 407 GSM characters: 153 + 153 + 101
    ("Длинное сообщение. " * 21 + "к", 6, 8),          # 400 UCS-2 characters: 6 x 67 max
])
def test_given_a_400_character_message_when_sent_then_concatenated_parts(link, smsc, text, parts, coding):
    sent = link.send(NUMBER, text, reference="long")
    assert len(smsc.submits) == parts == len(sent.message_ids)
    assert all(p.esm_class & 0x40 and p.data_coding == coding for p in smsc.submits)
    limit = 153 + 6 if coding == 0 else 134 + 6
    assert all(len(p.short_message) <= limit for p in smsc.submits)
    assert _reassemble(smsc.submits) == text


def test_given_a_sent_message_when_the_receipt_arrives_then_it_names_our_reference(link, smsc):
    sent = link.send(NUMBER, "Kvittering?", reference="case-77")
    until(lambda: link.receipts, message="delivery receipt")
    (receipt,) = link.receipts
    assert receipt.gateway_message_id == sent.message_ids[0]
    assert receipt.reference == "case-77" and receipt.state is DeliveryState.DELIVERED
    until(lambda: smsc.deliver_resps, message="receipt acknowledged")
    assert smsc.deliver_resps[0][1] == 0


def test_given_an_inbound_ucs2_and_gsm_message_then_items_decoded(link, smsc):
    smsc.deliver(SMSC_NUMBER, "4722334455", "Hva er åpningstidene? 漢字".encode("utf-16-be"), data_coding=8)
    smsc.deliver(SMSC_NUMBER, "4722334455", gsm7.encode("Pris: 10€ [ok]"), data_coding=0)
    until(lambda: len(link.inbox) == 2, message="two inbound items")
    first, second = link.inbox
    assert (first.sender, first.recipient) == ("+4741234567", "+4722334455")
    assert first.text == "Hva er åpningstidene? 漢字" and first.encoding == "ucs2"
    assert second.text == "Pris: 10€ [ok]" and second.encoding == "gsm7"
    assert first.gateway_message_id != second.gateway_message_id


def test_given_a_concatenated_inbound_message_then_one_item(link, smsc):
    encoded = segments.encode("Svar: " + "x" * 200, reference=9)
    for part in encoded.parts:
        smsc.deliver(SMSC_NUMBER, "4722334455", part, data_coding=0, esm_class=0x40)
    until(lambda: link.inbox, message="reassembled item")
    assert [i.text for i in link.inbox] == ["Svar: " + "x" * 200]


def test_given_the_same_inbound_message_twice_then_one_item(link, smsc):
    for _ in range(2):
        smsc.deliver(SMSC_NUMBER, "4722334455", b"Hello", receipted_message_id="mo-1")
    smsc.deliver(SMSC_NUMBER, "4722334455", b"After")
    until(lambda: len(smsc.deliver_resps) == 3, message="all three acknowledged")
    assert [(i.text, i.gateway_message_id) for i in link.inbox][0] == ("Hello", "mo-1")
    assert [i.text for i in link.inbox] == ["Hello", "After"]
    assert all(status == 0 for _, status in smsc.deliver_resps), "a duplicate is acknowledged, not refused"


def test_given_a_failing_handler_then_the_smsc_is_asked_to_retry_and_the_retry_is_taken(smsc):
    taken = []

    def flaky(item):
        if not taken and not getattr(flaky, "failed", False):
            flaky.failed = True
            raise RuntimeError("queue store down")
        taken.append(item)

    smpp = SmppLink(SmppSettings(host="127.0.0.1", port=smsc.port, system_id="sentral",
                                 password="secret", source="Sentral"), flaky, lambda r: None)
    smpp.start()
    try:
        assert smpp.wait_bound(5)
        for _ in range(2):
            smsc.deliver(SMSC_NUMBER, "4722334455", b"Retry me", receipted_message_id="mo-9")
        until(lambda: len(smsc.deliver_resps) == 2, message="both acknowledged")
        assert [s for _, s in smsc.deliver_resps] == [0x64, 0]
        assert [i.text for i in taken] == ["Retry me"]
    finally:
        smpp.stop()


def test_given_a_dropped_link_then_it_rebinds_and_sends_again(link, smsc):
    link.send(NUMBER, "before", reference="a")
    smsc.drop()
    until(lambda: smsc.binds == 2 and link.bound, message="re-bound after the drop")
    sent = link.send(NUMBER, "after", reference="b")
    assert [gsm7.decode(p.short_message) for p in smsc.submits] == ["before", "after"]
    assert sent.message_ids


def test_given_a_smsc_that_stops_answering_enquire_link_then_the_link_is_dropped_and_rebound(smsc):
    smsc.answer_enquire_link = False
    smpp = SmppLink(SmppSettings(host="127.0.0.1", port=smsc.port, system_id="sentral",
                                 password="secret", source=OUR_NUMBER, enquire_link_interval=0.05,
                                 response_timeout=0.3, reconnect_initial=0.05), lambda i: None,
                    lambda r: None)
    smpp.start()
    try:
        until(lambda: smsc.binds >= 2, message="re-bound after the unanswered enquire_link")
        assert smpp.binds >= 2
    finally:
        smpp.stop()


def test_given_a_burst_the_reader_works_through_then_the_link_is_kept_and_every_message_taken(smsc):
    """The engine's intake stores each SMS as it reads it (~10 ms each): a burst of thousands
    keeps the reader busy long past `response_timeout`, and our enquire_link's answer waits
    behind the burst in the socket. That is a live link, not a dead one (found by
    scripts/bench_written.py: the link was dropped mid-burst)."""
    import gevent

    taken = []

    def slow_intake(item):
        gevent.sleep(0.01)            # the store's work per message, not a synchronisation
        taken.append(item.gateway_message_id)

    smpp = SmppLink(SmppSettings(host="127.0.0.1", port=smsc.port, system_id="sentral", password="secret",
                                 source=OUR_NUMBER, enquire_link_interval=0.05, response_timeout=0.3,
                                 reconnect_initial=0.05), slow_intake, lambda r: None)
    smpp.start()
    try:
        assert smpp.wait_bound(5)
        until(lambda: smsc.enquire_links >= 1, message="an enquire_link on the quiet link")
        for i in range(150):          # 150 x 10 ms = 1.5 s of reading, 5x the response timeout
            smsc.deliver(f"+4791{i:06d}", OUR_NUMBER, f"melding {i}".encode())
        until(lambda: len(taken) == 150, timeout=20, message=lambda: f"{len(taken)} of 150 taken")
        assert smsc.binds == 1 and smpp.binds == 1, "the link was dropped during the burst"
        assert len(set(taken)) == 150
    finally:
        smpp.stop()


@pytest.mark.parametrize("number", ["12", "+47 000", "not a number", "", "+1 555 0100 999999"])
def test_given_an_invalid_number_then_refused_and_nothing_sent(link, smsc, number):
    with pytest.raises(InvalidNumber) as err:
        link.send(number, "hello", reference="bad")
    assert err.value.error_id == "sms.invalid_number"
    assert smsc.submits == []

"""Pure SMS coding: GSM 03.38, UCS-2, UDH splitting and reassembly, receipt text."""
from __future__ import annotations

import pytest

from channels.sms import gsm7, receipts, segments
from channels.sms.errors import MessageTooLong
from channels.sms.items import DeliveryState


def test_gsm7_round_trips_the_whole_alphabet_and_extension():
    text = gsm7.BASIC.replace("\x1b", "") + "".join(gsm7.EXTENSION)
    assert gsm7.fits(text)
    assert gsm7.decode(gsm7.encode(text)) == text
    assert gsm7.septets("€") == 2 and gsm7.encode("€") == b"\x1b\x65"


@pytest.mark.parametrize("ch", ["`", "ç", "á", "Ж", "😀"])
def test_characters_outside_gsm_03_38_choose_ucs2(ch):
    assert not gsm7.fits("abc" + ch)
    assert segments.encode("abc" + ch, 1).data_coding == segments.DC_UCS2


def test_single_segment_limits():
    assert len(segments.encode("a" * 160, 1).parts) == 1
    assert len(segments.encode("a" * 161, 1).parts) == 2
    assert len(segments.encode("€" * 80, 1).parts) == 1          # 160 septets
    assert len(segments.encode("Ж" * 70, 1).parts) == 1
    assert len(segments.encode("Ж" * 71, 1).parts) == 2


def test_a_part_never_ends_inside_an_escape_pair():
    text = "a" * 152 + "€" + "b" * 10                              # '€' would straddle septet 153
    parts = segments.encode(text, 7).parts
    bodies = [segments.split_udh(p, segments.ESM_UDHI)[1] for p in parts]
    assert bodies[0] == b"a" * 152 and bodies[1].startswith(b"\x1b\x65")
    assert "".join(gsm7.decode(b) for b in bodies) == text


def test_a_part_never_ends_inside_a_surrogate_pair():
    text = "Ж" * 66 + "😀" + "Ж" * 5
    parts = segments.encode(text, 7).parts
    bodies = [segments.split_udh(p, segments.ESM_UDHI)[1] for p in parts]
    assert all(len(b) <= 134 for b in bodies)
    assert [b.decode("utf-16-be") for b in bodies] == ["Ж" * 66, "😀" + "Ж" * 5]


def test_more_than_255_parts_is_refused():
    with pytest.raises(MessageTooLong):
        segments.encode("a" * 153 * 256, 1)


def test_16_bit_reference_udh_and_reassembly_in_any_order():
    payloads = [bytes((6, 8, 4, 0x12, 0x34, 2, i)) + gsm7.encode(t) for i, t in ((2, "world"), (1, "hello "))]
    r = segments.Reassembler()
    results = []
    for p in payloads:
        concat, body = segments.split_udh(p, segments.ESM_UDHI)
        assert concat.reference == 0x1234
        results.append(r.add("+47", concat, segments.decode_text(0, body)))
    assert results == [None, ["hello ", "world"]]


def test_receipt_text_and_tlvs():
    text = "id:123456 sub:001 dlvrd:000 submit date:2612060300 done date:2612060301 stat:UNDELIV err:034 text:Hei"
    parsed = receipts.parse(text)
    assert (parsed.message_id, parsed.state, parsed.error) == ("123456", DeliveryState.UNDELIVERABLE, "034")
    assert receipts.parse(text, "abc", 2).state is DeliveryState.DELIVERED
    assert receipts.parse(text, "abc", 2).message_id == "abc"
    assert "1e240" in receipts.id_variants("123456") and "123456" in receipts.id_variants("1e240")

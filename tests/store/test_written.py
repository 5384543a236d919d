"""store/written.py on PostgreSQL and SQLite: messages stored once, filed with their
item's record, replies claimed once, cases and mailbox state."""
from __future__ import annotations

from datetime import datetime, timezone

from sentral.runtime import interaction_record
from store.records import InteractionRecord
from store.written import CASE_ALPHABET, MessageRecord

T = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def _mail(id="m1", external_id="<a@example.org>", case="CASE01", channel="email", **kw) -> MessageRecord:
    return MessageRecord(id=id, tenant="acme", channel=channel, direction="in", case=case, created_at=T,
                         queue="mail", external_id=external_id, sender="p@example.org", subject="Hei",
                         body="Tekst æøå", **kw)


def test_an_inbound_message_is_stored_once_and_a_duplicate_names_the_first(store):
    assert store.save_inbound_message(_mail()) == ("m1", True)
    assert store.save_inbound_message(_mail(id="m2")) == ("m1", False)        # same Message-ID
    assert store.save_inbound_message(_mail(id="m3", external_id="")) == ("m3", True)
    assert store.save_inbound_message(_mail(id="m3", external_id="")) == ("m3", False)
    assert [m.id for m in store.unfiled_messages()] == ["m1", "m3"]
    assert store.written_message("m1").body == "Tekst æøå"


def test_messages_are_filed_in_the_same_write_as_their_items_record(store):
    store.save_inbound_message(_mail())
    store.save_inbound_message(_mail(id="m2", external_id="<b@example.org>"))
    snap = {"id": "item-1", "kind": "email", "tenant": "acme", "queue": "mail", "state": "queued",
            "entered_at": T, "messages": ["m1"]}
    store.write(interactions=[interaction_record(snap, T)])
    assert [m.id for m in store.unfiled_messages()] == ["m2"]
    assert [m.id for m in store.written_messages(item="item-1")] == ["m1"]
    (open_item,) = store.open_interactions()
    assert open_item.kind == "email" and open_item.data["messages"] == ["m1"]
    # a call's record files nothing
    store.write(interactions=[InteractionRecord(id="call-1", tenant="acme", state="queued", entered_at=T,
                                                data={"messages": ["m2"]})])
    assert [m.id for m in store.unfiled_messages()] == ["m2"]


def test_a_reply_is_claimed_once_and_its_channel_id_threads_the_case(store):
    store.save_outbound_message(MessageRecord(id="r1", tenant="acme", channel="email", direction="out",
                                              case="CASE01", created_at=T, item="item-1", body="Svar"))
    assert [m.id for m in store.pending_outbound()] == ["r1"]
    assert store.claim_outbound("r1").status == "sending"
    assert store.claim_outbound("r1") is None
    store.release_outbound("r1")
    assert store.claim_outbound("r1") is not None
    store.mark_sent("r1", "<r1@sentral.example>")
    assert store.pending_outbound() == [] and store.written_message("r1").status == "sent"
    assert store.cases_of("acme", ["<r1@sentral.example>", "<other@x>"]) == {"<r1@sentral.example>": "CASE01"}
    assert store.cases_of("beta", ["<r1@sentral.example>"]) == {}


def test_cases_get_distinct_readable_ids_and_mailbox_state_round_trips(store):
    cases = {store.new_case("acme", "email", "p@example.org", "Hei") for _ in range(50)}
    assert len(cases) == 50 and all(len(c) == 6 and set(c) <= set(CASE_ALPHABET) for c in cases)
    assert store.case_exists("acme", next(iter(cases))) and not store.case_exists("beta", next(iter(cases)))
    assert store.mailbox_state("acme/mail") is None
    store.save_mailbox_state("acme/mail", {"uidvalidity": 7, "last_uid": 12})
    store.save_mailbox_state("acme/mail", {"uidvalidity": 7, "last_uid": 13})
    assert store.mailbox_state("acme/mail") == {"uidvalidity": 7, "last_uid": 13}


def test_bad_records_are_refused_before_anything_is_written(store):
    import pytest

    from store.errors import InvalidRecord
    with pytest.raises(InvalidRecord):
        store.save_inbound_message(_mail(channel="fax"))
    with pytest.raises(InvalidRecord):
        store.save_outbound_message(MessageRecord(id="r9", tenant="acme", channel="sms", direction="out",
                                                  case="C", created_at=T))
    assert store.unfiled_messages() == [] and store.pending_outbound() == []

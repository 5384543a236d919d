"""The append-only journal: idempotent appends, order, filters, verification, refusal of change."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.effects import Journal
from store.errors import InvalidRecord
from tests.store.builders import T0, a_call_journal


def test_given_rows_appended_twice_then_one_copy_is_kept(store):
    rows = a_call_journal(n=5)
    assert store.append_journal(rows) == 5
    assert store.append_journal(rows) == 0
    assert store.journal(interaction="call-1") == rows


def test_given_partly_known_batch_then_only_new_rows_count(store):
    store.append_journal(a_call_journal(n=3))
    assert store.append_journal(a_call_journal(n=5)) == 2
    assert [r.seq for r in store.journal(interaction="call-1")] == [1, 2, 3, 4, 5]


def test_given_a_replayed_row_with_other_content_then_the_first_is_kept(store):
    first = a_call_journal(n=1)[0]
    store.append_journal([first])
    replay = Journal(first.interaction, 1, "answered", first.at + timedelta(seconds=9), first.tenant)
    assert store.append_journal([replay]) == 0
    assert store.journal(interaction="call-1") == [first]


def test_given_same_row_twice_in_one_batch_then_one_copy(store):
    row = a_call_journal(n=1)[0]
    assert store.append_journal([row, row]) == 1
    assert len(store.journal()) == 1


def test_journal_keeps_microseconds_and_utc(store):
    row = Journal("call-µ", 1, "entered_queue", T0 + timedelta(microseconds=123457), "t")
    store.append_journal([row])
    (back,) = store.journal(interaction="call-µ")
    assert back.at == row.at and back.at.utcoffset() == timedelta(0) and back.at.microsecond == 123457


def test_range_is_ordered_by_time_then_interaction_then_seq(store):
    late = a_call_journal("call-b", n=3, start=T0 + timedelta(seconds=1))
    early = a_call_journal("call-a", n=3)
    store.append_journal(late + early)
    got = [(r.interaction, r.seq) for r in store.journal()]
    assert got == [("call-a", 1), ("call-a", 2), ("call-b", 1), ("call-a", 3), ("call-b", 2), ("call-b", 3)]


def test_filters_by_interaction_tenant_and_half_open_time_range(store):
    store.append_journal(a_call_journal("call-a", n=5, tenant="helsedir")
                         + a_call_journal("call-b", n=5, tenant="nav"))
    assert {r.interaction for r in store.journal(tenant="nav")} == {"call-b"}
    window = store.journal(since=T0 + timedelta(seconds=2), until=T0 + timedelta(seconds=4))
    assert sorted({r.seq for r in window}) == [2, 3]
    assert [r.seq for r in store.iter_journal(tenant="helsedir")] == [1, 2, 3, 4, 5]


def test_verify_journal_is_clean_for_complete_interactions(store):
    store.append_journal(a_call_journal("call-a", n=4) + a_call_journal("call-b", n=6))
    assert store.verify_journal() == []


def test_verify_journal_names_the_gap_and_a_late_start(store):
    rows = a_call_journal("call-gap", n=6)
    store.append_journal(rows[:2] + rows[4:])
    store.append_journal(a_call_journal("call-late", n=2, first=3))
    store.append_journal(a_call_journal("call-ok", n=3))
    problems = {p.interaction: p for p in store.verify_journal()}
    assert set(problems) == {"call-gap", "call-late"}
    assert problems["call-gap"].missing == (3, 4)
    assert problems["call-late"].missing == (1, 2) and problems["call-late"].first == 3
    assert store.verify_journal("call-ok") == []


@pytest.mark.parametrize("bad", [
    Journal("call-x", 0, "entered_queue", T0, "t"),
    Journal("call-x", 1, "entered_queue", T0.replace(tzinfo=None), "t"),
    Journal("", 1, "entered_queue", T0, "t"),
])
def test_given_an_invalid_row_then_the_whole_batch_is_refused(store, bad):
    with pytest.raises(InvalidRecord):
        store.append_journal(a_call_journal("call-ok", n=2) + [bad])
    assert store.journal() == []


@pytest.mark.parametrize("statement", ["UPDATE journal SET kind = 'x'", "DELETE FROM journal",
                                       "UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"])
def test_database_refuses_to_change_append_only_tables(store, statement):
    store.append_journal(a_call_journal(n=2))
    store.audit("kari", "recording.play", "recording", "rec-1")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with store.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert len(store.journal()) == 2 and len(store.audit_entries()) == 1


def test_postgresql_refuses_truncate_of_journal(empty_pg_url):
    from store import Store

    s = Store(empty_pg_url)
    try:
        s.append_journal(a_call_journal(n=1))
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with s.engine.begin() as conn:
                conn.execute(sa.text("TRUNCATE journal"))
        assert len(s.journal()) == 1
    finally:
        s.close()


def test_store_has_no_update_or_delete_path_for_the_journal():
    import inspect

    import store.journal as module

    source = inspect.getsource(module)
    assert "sa.update" not in source and "sa.delete" not in source
    assert "on_conflict_do_update" not in source


def test_awkward_text_and_data_round_trip_exactly(store):
    row = Journal("call-'quoted\"-{æøå}", 1, "transferred", T0, "tenant,with{braces}", queue='q"1',
                  agent="agent\\7", data={"to": "Åse O'Neil", "nested": {"list": [1, "ø", None]}, "empty": ""})
    assert store.append_journal([row]) == 1
    assert store.journal(interaction=row.interaction) == [row]
    assert store.append_journal([row]) == 0


def test_after_a_restart_the_engine_resumes_seq_after_the_last_stored_row(store):
    from store import InteractionRecord

    store.upsert_interaction(InteractionRecord("call-open", "helsedir", "waiting", T0),
                             InteractionRecord("call-new", "helsedir", "waiting", T0),
                             InteractionRecord("call-ended", "helsedir", "ended", T0, ended_at=T0))
    store.append_journal(a_call_journal("call-open", n=4) + a_call_journal("call-ended", n=5))
    assert store.last_seqs() == {"call-open": 4}
    assert store.last_seqs(["call-ended", "call-open", "unknown"]) == {"call-ended": 5, "call-open": 4}
    assert store.last_seqs([]) == {}


def test_database_errors_do_not_carry_the_rows_personal_data(store):
    row = Journal("call-p", 1, "entered_queue", T0, "helsedir", data={"caller": "+4799887766"})
    store.append_journal([row])
    with pytest.raises(sa.exc.DBAPIError) as info:
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE journal SET kind = :k WHERE interaction = :i"),
                         {"k": "+4799887766", "i": "call-p"})
    assert "+4799887766" not in str(info.value)

"""Stored 15-minute aggregates (reports/aggregate.py) on PostgreSQL and SQLite: folded from the
journal in batches (also in the middle of an interaction), a report over any range equals
counting the whole journal (reports.figures.count) restricted to it, folding is idempotent
and all-or-nothing, and rebuild finds and repairs a wrong stored figure."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine import events as ev
from reports import aggregate
from reports.aggregate import figures_between, fold, fold_all, nonzero, rebuild
from reports.figures import Limits, count
from store import report_figures as rf
from tests.engine.builders import T0
from tests.engine.test_transfer import moved_to_another_agency
from tests.store.conftest import cheap_password_hashing, migrated_databases, migrated_url, store  # noqa: F401

WHOLE = (T0 - timedelta(hours=1), T0 + timedelta(hours=3))


def a_morning():
    """Seven calls over four quarter-hours from 10:00 UTC: a transfer to another agency's
    queue, hold, an answer in the quarter after the segment began, abandons after the target
    and short, ring-no-answer, and a call still waiting at the end."""
    s = moved_to_another_agency(10, 60)          # c1: acme's sales -> vest's orders at 10:00, bob paused
    s.advance(20)
    s.call("c2", queue="sales")
    s.advance(3)
    s.talk("c2", "alice")
    s.advance(10)
    s.send(ev.CallHold("alice", True, s.now))
    s.advance(20)
    s.send(ev.CallHold("alice", False, s.now))
    s.advance(30)
    s.hangup("c2")
    s.advance(5 * 60 - 83)                        # 10:05
    s.send(ev.AgentResume("bob", s.now))
    s.advance(2)
    s.talk("c1", "bob")
    s.advance(240)
    s.hangup("c1")
    s.advance(120)
    s.send(ev.AgentPause("bob", "lunch", s.now))
    s.advance(14 * 60 - s.now.minute * 60 - s.now.second)   # 10:14
    s.call("c3", queue="orders")                  # answered at 10:16, counted at 10:00
    s.advance(120)
    s.send(ev.AgentResume("bob", s.now))
    s.advance(2)
    s.talk("c3", "bob")
    s.advance(30)
    s.call("c4", queue="orders")
    s.advance(30)
    s.hangup("c4")                                # abandoned after the 20 s target
    s.call("c5", queue="orders")
    s.advance(2)
    s.hangup("c5")                                # short abandon
    s.advance(200)
    s.hangup("c3")
    s.advance(15 * 60)
    s.call("c6", queue="sales")
    s.advance(55)                                 # alice does not answer: rona, twice
    s.hangup("c6")
    s.advance(15 * 60)
    s.call("c7", queue="orders")                  # still waiting at the end: in progress
    s.advance(5)
    s.assert_journal_exact()
    return s.journal


@pytest.fixture(scope="module")
def journal():
    rows = a_morning()
    figures = count(rows)
    assert any(c.get("in_progress") for c in figures.queues.values())
    assert any(c.get("short_abandoned") for c in figures.queues.values())
    assert any(c.get("hold") for c in figures.agents.values())
    return rows


def stored(store) -> dict:
    with store.engine.connect() as conn:
        figures = {tuple(r[:5]): tuple(r[5:]) for r in conn.execute(sa.select(rf.FIGURES_TABLE))}
        position = rf.read_position(conn)
    return {"figures": figures, "position": position and (position.journal_id, position.limits)}


def journal_ids(store) -> list[int]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(rf.FIGURES_TABLE.metadata.tables["journal"].c.id).order_by("id")).scalars())


def test_folded_in_batches_a_report_of_any_range_is_the_count_of_the_whole_journal(store, journal):
    cut = len(journal) * 2 // 3
    store.append_journal(journal[:cut])
    first = fold(store, batch=5)
    assert (first.rows, first.position) == (5, journal_ids(store)[4])
    assert journal[4].interaction in {r.interaction for r in journal[5:cut]}, "the batch ends inside a call"
    assert figures_between(store, *WHOLE) == nonzero(count(journal[:cut]), *WHOLE), "folded + not yet folded"
    rest = fold_all(store, batch=7)
    assert rest.rows == cut - 5
    store.append_journal(journal[cut:])                # later rows change folded quarters (c3's talk)
    assert figures_between(store, *WHOLE) == nonzero(count(journal), *WHOLE), "the new rows without a fold"
    fold_all(store, batch=3)
    whole = figures_between(store, *WHOLE)
    assert whole == nonzero(count(journal), *WHOLE)
    assert whole.queues[(T0, "vest", "orders")]["answered"] == 2
    for start, end in [(T0, T0 + timedelta(minutes=15)), (T0 + timedelta(minutes=15), T0 + timedelta(minutes=45)),
                       (T0 + timedelta(minutes=45), T0 + timedelta(hours=1)), (T0 + timedelta(hours=2), WHOLE[1])]:
        assert figures_between(store, start, end) == nonzero(count(journal), start, end), (start, end)
    assert figures_between(store, T0 + timedelta(minutes=15), T0 + timedelta(minutes=30)).agencies == {
        (T0 + timedelta(minutes=15), "vest"): {"calls": 2, "offered": 2, "abandoned": 2, "longest_wait": 30000,
                                               "abandoned_after_sl": 1, "short_abandoned": 1}}


def test_a_report_reads_only_the_scope_it_needs_folded_or_not(store, journal):
    cut = len(journal) // 2
    store.append_journal(journal[:cut])
    fold_all(store)
    store.append_journal(journal[cut:])                # the rest not folded: its difference is added too
    whole = nonzero(count(journal), *WHOLE)
    for scope, part in (("agency", "agencies"), ("queue", "queues"), ("agent", "agents")):
        only = figures_between(store, *WHOLE, scopes=(scope,))
        assert getattr(only, part) == getattr(whole, part) and getattr(only, part), scope
        assert not any(getattr(only, other) for other in ("agencies", "queues", "agents") if other != part), scope


def test_summed_in_sql_a_quarter_is_every_agency_added_up_as_the_python_path_and_the_same_traffic_table(
        store, journal):
    from reports.report import tabulate
    cut = len(journal) // 2
    store.append_journal(journal[:cut])
    fold_all(store)
    store.append_journal(journal[cut:])                # the rest not folded: its difference is summed too
    for scopes in (("agency",), ("queue",), ("agent",), None):
        each = figures_between(store, *WHOLE, scopes=scopes)
        summed = figures_between(store, *WHOLE, scopes=scopes, summed=True)
        assert summed == aggregate.unflat(aggregate.summed_keys(aggregate.flat(each))), scopes
    each = figures_between(store, *WHOLE, scopes=("agency",))
    summed = figures_between(store, *WHOLE, scopes=("agency",), summed=True)
    shared = [q for q in {q for q, _ in each.agencies} if sum(q == k for k, _ in each.agencies) > 1]
    assert shared, "a quarter with two agencies' figures"
    for q in shared:
        parts = [c for (k, _), c in each.agencies.items() if k == q]
        assert summed.agencies[(q, "")]["calls"] == sum(c.get("calls", 0) for c in parts) > 0
        assert summed.agencies[(q, "")].get("longest_wait", 0) == max(c.get("longest_wait", 0) for c in parts)
    assert set(summed.agencies) == {(q, "") for q, _ in each.agencies} and not summed.queues
    for resolution in ("15m", "1h", "1d"):
        a, b = (tabulate("traffic", f, *WHOLE, resolution) for f in (each, summed))
        assert (a.rows, a.total) == (b.rows, b.total) and a.total["offered"] > 0, resolution
    fold_all(store)
    assert figures_between(store, *WHOLE, summed=True) == \
        aggregate.unflat(aggregate.summed_keys(aggregate.flat(nonzero(count(journal), *WHOLE))))


def test_folding_again_adds_nothing_and_replayed_rows_add_nothing(store, journal):
    store.append_journal(journal)
    assert fold_all(store).rows == len(journal)
    before = stored(store)
    again = fold(store)
    assert (again.rows, again.position) == (0, journal_ids(store)[-1])
    assert store.append_journal(journal) == 0
    assert fold(store).rows == 0
    assert stored(store) == before
    assert figures_between(store, *WHOLE) == nonzero(count(journal), *WHOLE)


def test_a_fold_that_fails_before_its_commit_changes_nothing(store, journal, monkeypatch):
    store.append_journal(journal[:20])
    fold(store)
    store.append_journal(journal[20:])
    before = stored(store)

    def crash(*args, **kwargs):
        raise RuntimeError("power cut before the commit")

    monkeypatch.setattr(rf, "set_position", crash)
    with pytest.raises(RuntimeError):
        fold(store)
    assert stored(store) == before, "figures added before the failure were rolled back"
    monkeypatch.undo()
    assert fold(store).rows == len(journal) - 20
    assert figures_between(store, *WHOLE) == nonzero(count(journal), *WHOLE)


def test_rebuild_lists_a_wrong_stored_figure_and_apply_repairs_it(store, journal):
    store.append_journal(journal)
    fold_all(store, batch=11)
    clean = rebuild(store)
    assert clean.differences == [] and clean.position == clean.new_position == journal_ids(store)[-1]
    assert clean.stored_rows == clean.recomputed_rows > 0 and not clean.applied
    t = rf.FIGURES_TABLE
    key = (t.c.quarter == T0) & (t.c.scope == "queue") & (t.c.tenant == "vest") & (t.c.queue == "orders")
    with store.transaction() as conn:
        assert conn.execute(t.update().where(key).values(answered=t.c.answered + 5)).rowcount == 1
    found = rebuild(store)
    assert [(d.quarter, d.scope, d.tenant, d.queue, d.figure, d.stored, d.recomputed)
            for d in found.differences] == [(T0, "queue", "vest", "orders", "answered", 7, 2)]
    assert "stored 7, recomputed 2" in str(found.differences[0])
    assert figures_between(store, *WHOLE).queues[(T0, "vest", "orders")]["answered"] == 7, "not applied"
    repaired = rebuild(store, apply=True)
    assert len(repaired.differences) == 1 and repaired.applied
    assert rebuild(store).differences == []
    assert figures_between(store, *WHOLE) == nonzero(count(journal), *WHOLE)


def test_rebuild_apply_folds_the_rows_after_the_position_too(store, journal):
    store.append_journal(journal[:30])
    fold(store)
    store.append_journal(journal[30:])
    report = rebuild(store, apply=True)
    ids = journal_ids(store)
    assert report.differences == [] and (report.position, report.new_position) == (ids[29], ids[-1])
    assert stored(store)["position"][0] == ids[-1]
    assert fold(store).rows == 0
    assert figures_between(store, *WHOLE) == nonzero(count(journal), *WHOLE)


def test_other_limits_are_counted_from_the_journal_until_rebuild_recounts_with_them(store, journal):
    store.append_journal(journal)
    fold_all(store, Limits())
    strict = Limits(service_level={"orders": 1.0}, short_abandon=1.0)
    assert nonzero(count(journal, strict), *WHOLE) != nonzero(count(journal), *WHOLE), "the limits matter here"
    assert figures_between(store, *WHOLE, strict) == nonzero(count(journal, strict), *WHOLE)
    assert fold(store, strict).limits_differ
    report = rebuild(store, strict, apply=True)
    assert report.limits_changed and report.differences, "the short abandon is no longer one"
    assert stored(store)["position"][1] == aggregate.limits_json(strict)
    assert not fold(store, strict).limits_differ
    assert figures_between(store, *WHOLE, strict) == nonzero(count(journal, strict), *WHOLE)


def test_before_any_fold_a_report_counts_the_journal(store, journal):
    store.append_journal(journal)
    assert figures_between(store, *WHOLE) == nonzero(count(journal), *WHOLE)
    assert stored(store)["position"] is None, "a report writes nothing"


@pytest.fixture
def pg_store(migrated_databases):  # noqa: F811
    from store import Store
    from tests.store.conftest import _empty_all_tables

    _empty_all_tables(migrated_databases["postgresql"])
    s = Store(migrated_databases["postgresql"])
    yield s
    s.close()


def test_postgresql_a_fold_while_another_holds_the_position_does_nothing(pg_store, journal):
    pg_store.append_journal(journal)
    fold(pg_store, batch=1)
    with pg_store.engine.connect() as other, other.begin():
        rf.lock_position(other, rf.MAIN, {}, T0)
        assert fold(pg_store).busy
    assert fold_all(pg_store).rows == len(journal) - 1


def test_postgresql_a_fold_never_passes_an_insert_still_in_flight(pg_store, journal, monkeypatch):
    """Ids are handed out at insert, not at commit: a fold must not fold id 2 and move its
    position past id 1 while id 1's transaction is still open."""
    monkeypatch.setattr(rf, "LOCK_TIMEOUT", "200ms")
    with pg_store.engine.connect() as slow:
        slow.begin()
        from store import journal as journal_rows

        journal_rows.append(slow, journal[:1])           # id 1, not committed yet
        pg_store.append_journal(journal[1:2])             # id 2, committed
        assert fold(pg_store).busy, "waited for the open insert, then gave up"
        slow.commit()
    assert fold(pg_store).rows == 2


def report_cli(url: str, kind: str, apply: bool = False) -> int:
    """`sentral report fold|rebuild --db URL [--apply]`, as sentral/commands/report.py hands it over."""
    from argparse import Namespace

    from sentral.commands import report_aggregates

    return report_aggregates.run(Namespace(kind=kind, db=url, config=None, apply=apply, short_abandon=5.0))


def test_cli_report_fold_and_rebuild(migrated_url, journal, capsys):
    from store import Store

    s = Store(migrated_url)
    try:
        s.append_journal(journal)
        assert report_cli(migrated_url, "fold") == 0
        assert f"folded {len(journal)} journal rows (7 calls)" in capsys.readouterr().out
        assert report_cli(migrated_url, "fold") == 0
        assert "folded 0 journal rows" in capsys.readouterr().out
        assert report_cli(migrated_url, "rebuild") == 0
        assert "0 difference(s)" in capsys.readouterr().out
        t = rf.FIGURES_TABLE
        with s.transaction() as conn:
            conn.execute(t.update().where((t.c.scope == "agent") & (t.c.agent == "bob")).values(talk=t.c.talk + 1))
        assert report_cli(migrated_url, "rebuild") == 1
        out = capsys.readouterr().out
        assert "agent agent=bob talk: stored 502001, recomputed 502000" in out and "1 difference(s)" in out
        assert report_cli(migrated_url, "rebuild", apply=True) == 0
        assert "the recount is stored" in capsys.readouterr().out
        assert report_cli(migrated_url, "rebuild") == 0
        assert figures_between(s, *WHOLE) == nonzero(count(journal), *WHOLE)
    finally:
        s.close()


def test_the_engine_folder_catches_up_in_small_batches_and_survives_a_failing_fold(store, journal, monkeypatch,
                                                                                  caplog):
    store.append_journal(journal)
    folder = aggregate.Folder(store, Limits, batch=10)
    assert folder.run_once() == len(journal)
    assert figures_between(store, *WHOLE) == nonzero(count(journal), *WHOLE)

    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(aggregate, "fold", broken)
    assert folder.run_once() == 0 and folder.errors == 1
    assert "fold failed" in caplog.text
    monkeypatch.undo()
    assert folder.run_once() == 0 and folder.rounds == 2


def test_the_engine_folder_stops_at_once_between_rounds(store):
    folder = aggregate.Folder(store, Limits, every=3600).start()
    folder.stop(timeout=5)
    assert folder._greenlet.dead and folder.rounds == 0


def test_sentral_report_fold_and_rebuild_are_report_kinds_and_reports_read_the_aggregates(migrated_url, journal,
                                                                                         capsys):
    from sentral.cli import main
    from store import Store

    period = ["--from", WHOLE[0].isoformat(), "--to", WHOLE[1].isoformat(), "--db", migrated_url, "--format", "csv"]
    s = Store(migrated_url)
    try:
        s.append_journal(journal)
        tables = {}
        for kind in ("agency", "queue", "agent"):
            assert main(["report", kind, *period]) == 0
            tables[kind] = capsys.readouterr().out             # before any fold: counted from the journal
        assert main(["report", "fold", "--db", migrated_url]) == 0
        assert f"folded {len(journal)} journal rows" in capsys.readouterr().out
        t = rf.FIGURES_TABLE
        with s.transaction() as conn:                           # proof that the reports read the table
            conn.execute(t.update().where(t.c.scope == "agency").values(direct_dial=t.c.direct_dial + 1000))
        assert main(["report", "agency", *period]) == 0
        assert capsys.readouterr().out != tables["agency"]
        assert main(["report", "rebuild", "--db", migrated_url, "--apply"]) == 0
        assert "difference(s)" in capsys.readouterr().out
        for kind in ("agency", "queue", "agent"):
            assert main(["report", kind, *period]) == 0
            assert capsys.readouterr().out == tables[kind], kind
        assert main(["report", "agency", "--db", migrated_url]) == 2
        assert "needs --from" in capsys.readouterr().err
    finally:
        s.close()

"""A whole batch of state upserts: every record comes back as written, and on PostgreSQL
the batch is one statement per table (not one per row)."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from store import AgentStateRecord, InteractionRecord
from tests.store.builders import T0


def a_batch(n, state="waiting"):
    return [InteractionRecord(id=f"call-{i}", tenant="helsedir", state=state, entered_at=T0 + timedelta(seconds=i),
                              queue="sentralbord", caller_uuid=f"uuid-{i}", priority=i % 3,
                              answered_at=T0 + timedelta(seconds=60) if i % 2 else None,
                              data={"entry": "main", "tags": [i, "x"], "nested": {"æøå": None}})
            for i in range(n)]


def test_given_a_batch_of_new_and_changed_records_then_each_reads_back_as_last_written(store):
    store.write(interactions=a_batch(40))
    changed = a_batch(40, state="talking")[::2]
    agents = [AgentStateRecord(agent=f"agent-{i}", state="available", since=T0, talk_time=1.5 * i,
                               last_call_end=None if i % 2 else T0, data={"i": i}) for i in range(5)]
    store.write(interactions=changed, agent_states=agents)
    expected = {r.id: r for r in a_batch(40)} | {r.id: r for r in changed}
    assert {r.id: r for r in store.open_interactions()} == expected
    assert store.load_agent_states() == {a.agent: a for a in agents}


def test_given_postgresql_then_a_batch_is_one_statement_per_table(empty_pg_url):
    from store.store import Store

    store = Store(empty_pg_url)
    statements = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: statements.append(statement))
    try:
        store.write(interactions=a_batch(25))
        upserts = [s for s in statements if s.startswith("INSERT INTO interactions")]
        assert len(upserts) == 1 and "unnest" in upserts[0]
        assert len(store.open_interactions()) == 25
    finally:
        store.close()

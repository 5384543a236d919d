"""Property: however rows are replayed, split and reordered into batches, the journal holds
each (interaction, seq) once, the new-row counts add up, and verify_journal agrees."""
from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.effects import Journal
from tests.store.builders import T0

_examples = itertools.count()

calls = st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=6)   # rows per call
plan = st.tuples(calls, st.lists(st.integers(min_value=0, max_value=10_000), max_size=40),
                 st.lists(st.integers(min_value=1, max_value=25), min_size=1, max_size=8), st.randoms())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan)
def test_replayed_and_shuffled_batches_store_each_row_once(store, case):
    sizes, replays, batch_sizes, rnd = case
    prefix = f"p{next(_examples)}"
    rows = [Journal(f"{prefix}-call-{c}", seq, "event", T0 + timedelta(milliseconds=seq), "t")
            for c, n in enumerate(sizes) for seq in range(1, n + 1)]
    stream = rows + [rows[i % len(rows)] for i in replays]
    rnd.shuffle(stream)
    new, k = 0, 0
    for size in itertools.cycle(batch_sizes):
        if k >= len(stream):
            break
        new += store.append_journal(stream[k:k + size])
        k += size
    assert new == len(rows)
    stored = [r for r in store.journal() if r.interaction.startswith(prefix + "-")]
    assert sorted((r.interaction, r.seq) for r in stored) == sorted((r.interaction, r.seq) for r in rows)
    assert [p for p in store.verify_journal() if p.interaction.startswith(prefix + "-")] == []

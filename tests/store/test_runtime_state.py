"""What the engine reads back after a restart: open interactions, agent states, callbacks."""
from __future__ import annotations

from datetime import timedelta

import pytest

from store import AgentStateRecord, CallbackRecord, InteractionRecord
from store.errors import InvalidRecord
from tests.store.builders import T0


def a_waiting_call(id="call-1", **changes):
    values = dict(id=id, tenant="helsedir", state="waiting", entered_at=T0, queue="sentralbord",
                  node="fs1", caller_uuid=f"uuid-{id}", caller_number="+4722000000",
                  caller_name="Ola Nordmann", destination="+4721000000", priority=2,
                  queue_entered_at=T0 + timedelta(seconds=3), data={"entry": "main"})
    values.update(changes)
    return InteractionRecord(**values)


def test_given_calls_saved_then_only_open_ones_come_back_in_arrival_order(store):
    store.upsert_interaction(a_waiting_call("call-2", entered_at=T0 + timedelta(seconds=5)),
                             a_waiting_call("call-1"),
                             a_waiting_call("call-3", ended_at=T0 + timedelta(seconds=9), state="ended"))
    assert [c.id for c in store.open_interactions()] == ["call-1", "call-2"]
    assert store.open_interactions()[0] == a_waiting_call("call-1")


def test_given_a_call_updated_then_the_last_state_wins(store):
    store.upsert_interaction(a_waiting_call())
    answered = a_waiting_call(state="talking", agent="agent-7", agent_uuid="leg-b",
                              answered_at=T0 + timedelta(seconds=20))
    store.upsert_interaction(answered)
    assert store.interaction("call-1") == answered
    store.upsert_interaction(a_waiting_call(state="ended", ended_at=T0 + timedelta(seconds=90),
                                            end_reason="caller_hangup"))
    assert store.open_interactions() == []
    assert store.interaction("call-1").end_reason == "caller_hangup"


def test_agent_states_round_trip(store):
    states = [
        AgentStateRecord("agent-1", "paused", T0, reason="no answer", no_answer_count=3,
                         last_call_end=T0 - timedelta(minutes=2), calls_answered=41, talk_time=5123.5),
        AgentStateRecord("agent-2", "on_call", T0, interaction="call-1", calls_answered=7, talk_time=60.25,
                         data={"queues": ["sentralbord", "ordre"]}),
    ]
    store.save_agent_states(states)
    assert store.load_agent_states() == {s.agent: s for s in states}
    store.save_agent_states([AgentStateRecord("agent-2", "wrap_up", T0 + timedelta(seconds=30), calls_answered=8)])
    loaded = store.load_agent_states()
    assert loaded["agent-2"].state == "wrap_up" and loaded["agent-2"].calls_answered == 8
    assert loaded["agent-1"] == states[0]


def test_one_write_batch_saves_journal_calls_and_agents_together(store):
    from tests.store.builders import a_call_journal

    new = store.write(journal=a_call_journal(n=3), interactions=[a_waiting_call()],
                      agent_states=[AgentStateRecord("agent-7", "offered", T0)])
    assert new == 3
    assert len(store.journal()) == 3 and store.open_interactions() and "agent-7" in store.load_agent_states()


def test_given_a_bad_record_then_the_batch_writes_nothing(store):
    from tests.store.builders import a_call_journal

    with pytest.raises(InvalidRecord):
        store.write(journal=a_call_journal(n=3),
                    interactions=[a_waiting_call(entered_at=T0.replace(tzinfo=None))])
    assert store.journal() == [] and store.open_interactions() == []


def a_callback(id, position_seconds, **changes):
    values = dict(id=id, tenant="helsedir", queue="sentralbord", number="+4790000000",
                  requested_at=T0 + timedelta(minutes=5), position_at=T0 + timedelta(seconds=position_seconds))
    values.update(changes)
    return CallbackRecord(**values)


def test_callbacks_keep_the_callers_place_and_move_through_states(store):
    store.save_callbacks(a_callback("cb-late", 60), a_callback("cb-early", 10),
                         a_callback("cb-other", 5, queue="ordre"))
    assert [c.id for c in store.callbacks(queue="sentralbord")] == ["cb-early", "cb-late"]
    store.save_callbacks(a_callback("cb-early", 10, state="done", attempts=1, agent="agent-7",
                                    done_at=T0 + timedelta(minutes=9)))
    assert [c.id for c in store.callbacks(queue="sentralbord")] == ["cb-late"]
    assert [c.id for c in store.callbacks(state="done")] == ["cb-early"]
    with pytest.raises(InvalidRecord):
        store.save_callbacks(a_callback("cb-x", 1, state="forgotten"))


def test_in_one_batch_the_last_record_for_a_call_wins(store):
    store.write(interactions=[a_waiting_call(), a_waiting_call(state="talking", agent="agent-7")],
                agent_states=[AgentStateRecord("agent-7", "offered", T0),
                              AgentStateRecord("agent-7", "on_call", T0 + timedelta(seconds=4))])
    assert store.interaction("call-1").state == "talking"
    assert store.load_agent_states()["agent-7"].state == "on_call"

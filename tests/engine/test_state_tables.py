"""Every transition of the agent and call tables, every illegal pair, logging and diagrams."""
from __future__ import annotations

import logging

import pytest

from engine import diagrams
from engine.agents import AGENT_TABLE, AgentEvent, AgentState
from engine.interactions import CALL_TABLE, CallEvent, CallState
from engine.machine import IllegalTransition, step

AGENT_LEGAL = [(s, e, n) for s, moves in AGENT_TABLE.items() for e, n in moves.items()]
AGENT_ILLEGAL = [(s, e) for s in AgentState for e in AgentEvent if e not in AGENT_TABLE[s]]
CALL_LEGAL = [(s, e, n) for s, moves in CALL_TABLE.items() for e, n in moves.items()]
CALL_ILLEGAL = [(s, e) for s in CallState for e in CallEvent if e not in CALL_TABLE[s]]


def test_every_state_has_a_row_in_its_table():
    assert set(AGENT_TABLE) == set(AgentState)
    assert set(CALL_TABLE) == set(CallState)


@pytest.mark.parametrize("state,event,following", AGENT_LEGAL, ids=lambda v: getattr(v, "value", v))
def test_agent_transition_is_taken_and_logged_once(state, event, following, caplog):
    caplog.set_level(logging.DEBUG, logger="engine.machine")
    assert step(AGENT_TABLE, "agent alice", state, event) is following
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"agent alice: {state.value} -[{event.value}]-> {following.value}"]


@pytest.mark.parametrize("state,event", AGENT_ILLEGAL, ids=lambda v: getattr(v, "value", v))
def test_agent_illegal_event_names_entity_state_and_event(state, event):
    with pytest.raises(IllegalTransition) as err:
        step(AGENT_TABLE, "agent alice", state, event)
    assert err.value.error_id == "engine.illegal_transition"
    assert "agent alice" in str(err.value) and state.value in str(err.value) and event.value in str(err.value)


@pytest.mark.parametrize("state,event,following", CALL_LEGAL, ids=lambda v: getattr(v, "value", v))
def test_call_transition_is_taken(state, event, following):
    assert step(CALL_TABLE, "interaction ix-1", state, event) is following


@pytest.mark.parametrize("state,event", CALL_ILLEGAL, ids=lambda v: getattr(v, "value", v))
def test_call_illegal_event_raises(state, event):
    with pytest.raises(IllegalTransition, match="interaction ix-1"):
        step(CALL_TABLE, "interaction ix-1", state, event)


def test_terminal_call_states_accept_nothing():
    for state in (CallState.ENDED, CallState.ABANDONED, CallState.OVERFLOWED):
        assert CALL_TABLE[state] == {}


def test_diagram_draws_every_transition_of_both_tables():
    text = diagrams.document()
    for state, event, following in AGENT_LEGAL + CALL_LEGAL:
        assert f"{state.value} --> {following.value}: {event.value}" in text


def test_generated_diagram_in_docs_is_up_to_date():
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[2] / "docs" / "acd-states.md"
    assert path.read_text(encoding="utf-8") == diagrams.document()

"""Table-driven state machines: `{State: {Event: Next}}` with enum states and events.

Rules:
* a transition is a dictionary lookup, nothing else; an illegal (state, event) pair
  raises `IllegalTransition` naming the entity, the state and the event;
* every transition is logged once, as `entity: state -[event]-> next`;
* tables are plain data, so `engine.diagrams` draws them and tests walk them.
"""
from __future__ import annotations

import enum
import logging
from typing import Mapping, TypeVar

from engine.errors import DomainError

log = logging.getLogger(__name__)

S = TypeVar("S", bound=enum.Enum)
E = TypeVar("E", bound=enum.Enum)


class IllegalTransition(DomainError):
    """An event that the entity's state table does not allow."""

    error_id = "engine.illegal_transition"

    def __init__(self, entity: str, state: enum.Enum, event: enum.Enum):
        self.entity = entity
        self.state = state
        self.event = event
        super().__init__(f"{entity}: event {event.value!r} is not allowed in state {state.value!r}")


def step(table: Mapping[S, Mapping[E, S]], entity: str, state: S, event: E) -> S:
    """The next state of `entity` for `event`, or IllegalTransition."""
    try:
        following = table[state][event]
    except KeyError:
        raise IllegalTransition(entity, state, event) from None
    # DEBUG, not INFO: at a few hundred calls/s one line per transition was ~8 % of the
    # engine's CPU (scripts/bench acd); the journal is the record of what happened.
    log.debug("%s: %s -[%s]-> %s", entity, state.value, event.value, following.value)
    return following


def allowed(table: Mapping[S, Mapping[E, S]], state: S, event: E) -> bool:
    return event in table.get(state, {})

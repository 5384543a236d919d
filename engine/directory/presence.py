"""Presence of a person at one instant, derived from their absences (pure).

Rules: a person marked gone is GONE. Otherwise among the absences in force at `now`
an ABSENT category wins over BUSY/MEETING, and those over TENTATIVE (a confirmed meeting
is not hidden by a longer "maybe"); among equals the one ending last decides. "Back at" is the end of the chain of overlapping or touching absences of the
winning kind that starts at `now` (so Monday's course followed directly by a week of
vacation says "back" after the vacation), or the absence's explicit `back_at`.
Private events never expose their subject.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from engine.directory.model import (
    ABSENT_CATEGORIES, Absence, AbsenceCategory, Presence, PresenceState,
)


def _state_of(category: AbsenceCategory) -> PresenceState:
    return PresenceState.ABSENT if category in ABSENT_CATEGORIES else PresenceState.BUSY


def _rank(a: Absence) -> tuple[int, datetime]:
    if _state_of(a.category) is PresenceState.ABSENT:
        return (2, a.end)
    return (0 if a.category is AbsenceCategory.TENTATIVE else 1, a.end)


def presence_at(absences: Iterable[Absence], now: datetime, gone: bool = False) -> Presence:
    if gone:
        return Presence(PresenceState.GONE)
    items = list(absences)
    current = [a for a in items if a.covers(now)]
    if not current:
        return Presence(PresenceState.FREE)
    winner = max(current, key=_rank)
    state = _state_of(winner.category)
    back = winner.back_at or _chain_end(items, winner.end, state)
    return Presence(
        state=state,
        category=AbsenceCategory.BUSY if winner.private else winner.category,
        back_at=back,
        source=winner.source,
        detail="" if winner.private else winner.subject,
    )


def _chain_end(items: list[Absence], end: datetime, state: PresenceState) -> datetime:
    same = sorted((a for a in items if _state_of(a.category) is state), key=lambda a: a.start)
    changed = True
    while changed:
        changed = False
        for a in same:
            if a.start <= end < a.end:
                end, changed = a.end, True
    return end

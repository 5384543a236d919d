"""Operator presence: calendar absences + web registrations + line state → one Presence,
and changes published as `Notify("presence_changed", …)` facts a console subscribes to.

Rules (pure; `now` is injected):
1. A person marked gone is GONE.
2. A web registration in force wins over the calendar: it is what the person (or a
   supervisor/operator) said explicitly (R20). Among registrations, and then among
   calendar absences, `engine.directory.presence.presence_at` decides (absent beats
   busy; "back at" follows a chain of touching absences of the same kind; private
   events show only "busy", never their subject).
3. With no absence in force the line state decides: IN_CALL or DND → BUSY with
   `source="line"` and no "back at"; IDLE, RINGING and UNKNOWN → FREE.
4. `PresenceBoard.update` returns a Notify only when what an operator sees changed
   (state, category, back at, detail); the first evaluation of a person always
   publishes. `next_change` tells the runtime when to evaluate again (the next start or
   end of an absence), so presence flips on time without polling.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from engine.directory.model import Absence, PersonKey, Presence, PresenceState
from engine.directory.presence import presence_at
from engine.effects import Notify

TOPIC = "presence_changed"


class LineState(enum.Enum):
    UNKNOWN = "unknown"
    IDLE = "idle"
    RINGING = "ringing"
    IN_CALL = "in-call"
    DND = "dnd"


_LINE_BUSY = {LineState.IN_CALL: "on the phone", LineState.DND: "do not disturb"}


def combine(calendar: Iterable[Absence], registrations: Iterable[Absence], now: datetime,
            line: LineState = LineState.UNKNOWN, gone: bool = False) -> Presence:
    """The presence an operator sees at `now` (rules 1-3)."""
    if gone:
        return Presence(PresenceState.GONE)
    web = presence_at(registrations, now)
    if web.state is not PresenceState.FREE:
        return web
    cal = presence_at(calendar, now)
    if cal.state is not PresenceState.FREE:
        return cal
    if line in _LINE_BUSY:
        return Presence(PresenceState.BUSY, source="line", detail=_LINE_BUSY[line])
    return Presence(PresenceState.FREE)


def next_change(absences: Iterable[Absence], now: datetime) -> datetime | None:
    """The earliest start or end after `now`: when presence may change by itself."""
    times = [t for a in absences for t in (a.start, a.end) if t > now]
    return min(times) if times else None


def payload(key: PersonKey, p: Presence) -> dict[str, object]:
    return {"tenant": key.tenant, "person_id": key.external_id, "state": p.state.value,
            "category": p.category.value if p.category else None,
            "back_at": p.back_at.isoformat() if p.back_at else None,
            "source": p.source, "detail": p.detail, "label": p.label}


@dataclass
class PresenceBoard:
    """The last published presence per person (owned by the single engine writer)."""

    def __post_init__(self):
        self._last: dict[PersonKey, Presence] = {}

    def current(self, key: PersonKey) -> Presence | None:
        return self._last.get(key)

    def update(self, key: PersonKey, presence: Presence) -> list[Notify]:
        if self._last.get(key) == presence:
            return []
        self._last[key] = presence
        return [Notify(TOPIC, payload(key, presence))]

    def forget(self, key: PersonKey) -> None:
        self._last.pop(key, None)

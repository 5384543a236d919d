"""What one round of one calendar source returns (shared by every protocol module).

Rules: `absences` is the complete set of the calendar's absences inside the round's
window, or None when the source reports no change (HTTP 304, no CalDAV/Graph delta);
the caller then keeps what it has. `state` is opaque, JSON-serialisable, and must be
handed back unchanged next round (ETag, sync token, delta link, cached objects). A round
that raises returns nothing: the caller keeps its last good absences and state.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.directory.model import Absence


@dataclass
class CalendarResult:
    absences: list[Absence] | None
    state: dict
    full: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.absences is not None

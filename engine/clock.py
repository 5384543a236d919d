"""The wall clock, for the adapters and the composition root to inject (into the engine,
the store, the web app, the syncs). The engine's own decisions never read it: they get
their time from the event or from `recover(at=...)`, so a replay decides the same way
(tests/test_boundaries.py checks that no other engine module imports this one)."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(timezone.utc)

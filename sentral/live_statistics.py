"""The engine process's live figures of today (reports/live.LiveFigures), fed from the journal.

Rules:
- `seeded()` runs at start-up, before the journal writer starts: today's journal from the
  store (`Store.journal_of_period(local midnight, now)`) plus every row of the calls still
  open (a call that began before midnight and is still going counts when it starts a
  segment today); reads at start only; a failure there is logged and the engine starts
  all the same (the figures then count from the start on);
- the writer then hands each committed batch's rows to `LiveFigures.add`
  (`JournalWriter(on_written=...)`, store/writer.py) in its own greenlet: CPU only, no I/O,
  and an exception there is logged by the writer and never stops the writing;
- the limits are the running configuration's (`limits_of(deployment)`): a reload that
  changes a queue's service-level target recounts today's calls;
- the web listener reads the figures through `EngineProcess.live` (sentral/web.py:
  `live_source`).
"""
from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Callable

from reports.aggregate import limits_of
from reports.live import LiveFigures, day_bounds

log = logging.getLogger(__name__)


def seeded(store, deployment_source: Callable, clock: Callable[[], datetime]) -> LiveFigures:
    """A LiveFigures holding today's journal from `store` (a store.store.Store)."""
    started = time.monotonic()
    live = LiveFigures(lambda: limits_of(deployment_source()), clock)
    now = clock()
    start, _ = day_bounds(now)
    try:
        live.seed(store.journal_of_period(start, now))
        for record in store.open_interactions():
            if record.id not in live:
                live.seed(store.journal(interaction=record.id))
    except Exception:  # noqa: BLE001 - the engine starts all the same; the figures then lack the past
        log.exception("live figures of today: the journal could not be read; counting from now on")
    log.info("live figures of today: %d journal row(s) of %d call(s) seeded in %.2f s",
             live.rows_added, live.held(), time.monotonic() - started)
    return live

"""One round of one calendar source over many persons, written to the directory store.

Rules:
- Each person's calendar is fetched with its own saved state; a failure of one calendar
  (bad feed, HTTP error) does not stop the others. Its absences and state stay as they
  were (last good data in force).
- Changed calendars are written in ONE store call (`replace_source_absences`), which
  only touches this source's absences of those persons: web registrations and other
  sources stay.
- States move forward only for calendars whose round succeeded AND was written.
- If any calendar failed, the round raises CalendarRoundFailed after writing the good
  ones, so the scheduler records the error (naming source and person) for the health page.
- `concurrency` > 1 fetches through a gevent pool (I/O-bound feeds); 1 runs in order.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Mapping, Protocol

from sync.calendar.errors import CalendarSourceError
from sync.calendar.expand import Window
from sync.calendar.result import CalendarResult

log = logging.getLogger(__name__)


class CalendarFetcher(Protocol):
    def fetch(self, window: Window, state: dict | None = None) -> CalendarResult: ...


class CalendarRoundFailed(RuntimeError):
    error_id = "calendar.round_failed"

    def __init__(self, source: str, failures: Mapping[str, Exception], ok: int):
        self.source, self.failures = source, dict(failures)
        first_pid, first = next(iter(self.failures.items()))
        super().__init__(f"{source}: {len(failures)} of {len(failures) + ok} calendars failed; "
                         f"first: person {first_pid}: {first}")


@dataclass
class RoundReport:
    fetched: int = 0
    changed: int = 0
    unchanged: int = 0
    absences: int = 0
    warnings: list[str] = field(default_factory=list)

    def line(self, source: str) -> str:
        return (f"{source}: {self.fetched} calendars, {self.changed} changed, "
                f"{self.unchanged} unchanged, {self.absences} absences written")


@dataclass
class CalendarSource:
    """All calendars of one tenant from one system (one feed host, one Graph tenant...)."""

    tenant: str
    name: str
    calendars: Mapping[str, CalendarFetcher]          # person external id → fetcher
    back: timedelta = timedelta(days=1)
    ahead: timedelta = timedelta(days=60)
    concurrency: int = 1
    states: dict[str, dict] = field(default_factory=dict)
    progress: Callable[[int, int], None] | None = None

    def _fetch_all(self, window: Window) -> dict[str, CalendarResult | Exception]:
        def one(pid):
            try:
                return pid, self.calendars[pid].fetch(window, self.states.get(pid))
            except CalendarSourceError as exc:
                return pid, exc
        pids = sorted(self.calendars)
        out: dict[str, CalendarResult | Exception] = {}
        if self.concurrency > 1:
            from gevent.pool import Pool
            results = Pool(self.concurrency).imap_unordered(one, pids)
        else:
            results = map(one, pids)
        for done, (pid, result) in enumerate(results, start=1):
            out[pid] = result
            if self.progress and (done % 500 == 0 or done == len(pids)):
                self.progress(done, len(pids))
        return out

    def run(self, store, now: datetime) -> RoundReport:
        window = Window(now - self.back, now + self.ahead)
        results = self._fetch_all(window)
        report = RoundReport(fetched=len(results))
        failures = {pid: r for pid, r in results.items() if isinstance(r, Exception)}
        good = {pid: r for pid, r in results.items() if not isinstance(r, Exception)}
        changed = {pid: r.absences for pid, r in good.items() if r.changed}
        if changed:
            report.absences = store.replace_source_absences(self.tenant, self.name, changed)
        for pid, result in good.items():
            self.states[pid] = result.state
            report.warnings.extend(result.warnings)
        report.changed, report.unchanged = len(changed), len(good) - len(changed)
        log.info("%s", report.line(self.name))
        if failures:
            for pid, exc in failures.items():
                log.warning("%s: person %s: %s", self.name, pid, exc)
            raise CalendarRoundFailed(self.name, failures, len(good))
        return report

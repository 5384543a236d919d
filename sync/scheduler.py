"""Runs every tenant's sync sources on their own intervals under gevent, isolated.

Rules:
- One greenlet per job. A job that raises is logged and recorded as the job's last
  error (with its time); it runs again at its next interval. Other jobs never notice.
- Status per job (last success, last error, last error time, runs, running) is kept
  here for the health page and, when a `status_sink` is given (the directory store's
  `record_source_status`), written there as well; a failing sink is logged, not fatal.
- A round that is still running is not started again (no overlap).
- Time is injected (`clock`); `run_once` runs a job now (CLI and tests).
- `stop()` kills only the greenlets this scheduler started.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable
from engine.clock import utcnow

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Job:
    tenant: str
    name: str                              # the source name, e.g. "ldap:hdir", "ical:hdir"
    interval: float                        # seconds between the starts of two rounds
    run: Callable[[datetime], object]      # does one round; returns a summary; raises on failure


@dataclass(frozen=True)
class JobStatus:
    tenant: str
    name: str
    last_success: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None
    last_summary: str = ""
    runs: int = 0
    running: bool = False

    @property
    def healthy(self) -> bool:
        return self.last_error_at is None or (self.last_success is not None
                                              and self.last_success > self.last_error_at)


@dataclass
class Scheduler:
    jobs: list[Job]
    clock: Callable[[], datetime] = utcnow
    status_sink: Callable[..., None] | None = None
    _status: dict[tuple[str, str], JobStatus] = field(default_factory=dict)
    _greenlets: list = field(default_factory=list)

    def __post_init__(self):
        for job in self.jobs:
            self._status[(job.tenant, job.name)] = JobStatus(job.tenant, job.name)

    def status(self) -> list[JobStatus]:
        return [self._status[(j.tenant, j.name)] for j in self.jobs]

    def _set(self, job: Job, **changes) -> JobStatus:
        key = (job.tenant, job.name)
        self._status[key] = replace(self._status[key], **changes)
        return self._status[key]

    def _sink(self, job: Job, ok: bool, error: str, at: datetime) -> None:
        if self.status_sink is None:
            return
        try:
            self.status_sink(job.tenant, job.name, ok=ok, error=error, at=at)
        except Exception:  # noqa: BLE001 - the health record must not stop the sync
            log.exception("%s/%s: cannot record source status", job.tenant, job.name)

    def run_once(self, job: Job) -> JobStatus:
        current = self._status[(job.tenant, job.name)]
        if current.running:
            log.info("%s/%s: previous round still running, skipped", job.tenant, job.name)
            return current
        self._set(job, running=True)
        started = self.clock()
        try:
            summary = job.run(started)
        except Exception as exc:  # noqa: BLE001 - isolation: any failure is recorded, never propagated
            at = self.clock()
            message = f"{exc.__class__.__name__}: {exc}"
            log.warning("%s/%s: round failed: %s", job.tenant, job.name, message)
            self._sink(job, False, message, at)
            return self._set(job, running=False, last_error=message, last_error_at=at,
                             runs=current.runs + 1)
        at = self.clock()
        self._sink(job, True, "", at)
        return self._set(job, running=False, last_success=at, last_summary=str(summary or ""),
                         runs=current.runs + 1)

    def _loop(self, job: Job) -> None:
        import gevent
        while True:
            self.run_once(job)
            gevent.sleep(job.interval)

    def start(self) -> None:
        import gevent
        for job in self.jobs:
            self._greenlets.append(gevent.spawn(self._loop, job))

    def stop(self) -> None:
        import gevent
        gevent.killall(self._greenlets)
        self._greenlets.clear()

"""The numbers behind the report pages and the API (agent_ui.report_pages.ReportSource):
the journal of the period counted by reports/ with the service-level targets of the
deployment running now. agent_ui never imports the store or the counting itself."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from reports.figures import Limits
from reports.report import Table, build, wait_distribution


def limits_of(deployment) -> Limits:
    if deployment is None:
        return Limits()
    return Limits(service_level={q.id: q.service_level_seconds for q in deployment.queues.values()})


class JournalReports:
    def __init__(self, store, deployment_source: Callable):
        self.store, self.deployment_source = store, deployment_source

    def run(self, kind: str, start: datetime, end: datetime, resolution: str, tenants: set[str] | None,
            tenant: str | None) -> tuple[Table, list[tuple[str, int, int]]]:
        rows = list(self.store.journal_of_period(start, end))
        table = build(kind, rows, start, end, resolution, limits_of(self.deployment_source()), tenant=tenant,
                      tenants=tenants)
        shown = {tenant} if tenant else tenants
        return table, wait_distribution(rows, start, end, shown)

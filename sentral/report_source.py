"""The numbers behind the report pages and the API (agent_ui.report_pages.ReportSource):
the stored quarter-hour aggregates plus the journal rows not folded yet
(reports/aggregate.figures_between, only the scope the report reads) with the
service-level targets of the deployment running now; the waiting-time bands from the raw
journal, for periods up to WAITS_DAYS. agent_ui never imports the store or the counting."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from reports.aggregate import figures_between
from reports.figures import Limits
from reports.report import Table, scopes, sums_every_agency, tabulate, wait_distribution

WAITS_DAYS = 7        # longer periods show no waiting-time bands: they read every call's rows on the request


def limits_of(deployment) -> Limits:
    if deployment is None:
        return Limits()
    return Limits(service_level={q.id: q.service_level_seconds for q in deployment.queues.values()})


class JournalReports:
    def __init__(self, store, deployment_source: Callable):
        self.store, self.deployment_source = store, deployment_source

    def run(self, kind: str, start: datetime, end: datetime, resolution: str, tenants: set[str] | None,
            tenant: str | None, channel: str | None = None) -> tuple[Table, list[tuple[str, int, int]]]:
        """`channel`: only that channel's queues (reports.report); each queue's channel is the
        running configuration's."""
        deployment = self.deployment_source()
        limits = limits_of(deployment)
        channels = {q.id: q.channel for q in deployment.queues.values()} if deployment is not None else None
        figures = figures_between(self.store, start, end, limits, scopes=scopes(kind, channel),
                                  summed=sums_every_agency(kind, tenant, tenants, channel))
        table = tabulate(kind, figures, start, end, resolution, limits, tenant=tenant, tenants=tenants,
                         channel=channel, channels=channels)
        if end - start > timedelta(days=WAITS_DAYS):
            return table, []
        shown = {tenant} if tenant else tenants
        return table, wait_distribution(self.store.journal_of_period(start, end), start, end, shown, channel,
                                        channels)

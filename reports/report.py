"""Reports: the quarter-hour figures of reports.figures rolled up into local intervals,
with the derived ratios, as one table per report (docs/metrics.md).

Rules:
* a report of [start, end) counts the quarter-hours that start in it (the caller's
  segments and calls that began there, with everything they did afterwards); intervals
  are local (Europe/Oslo: reports.intervals), the sum over the intervals is the total row;
* ratios are computed from the summed figures, never averaged: service level =
  answered_in_sl / (answered + abandoned_after_sl), ASA = wait_answered / answered,
  AHT = (talk + wrapup) / answered; none where the denominator is 0;
* times are shown in seconds (the figures keep milliseconds);
* the traffic report has a row for every interval (the shape of the day, empty ones too)
  and an Erlang C staffing suggestion per interval: agents needed for the service-level
  target at the interval's offered calls and measured handling time;
* channels (voice, email, sms, task): a queue has one (`QueueConfig.channel`), given to
  `tabulate` as `channels` (queue id -> channel, from the configuration at report time;
  a queue not in it, and the figures before any queue, are voice). The channel report is
  one row per interval, agency and channel: the sums of that channel's queues, plus the
  calls' own figures (calls, direct dial, after hours, hung up before the queue) in voice;
  `channel` narrows the agency, queue, traffic and after-hours reports to one channel the
  same way (the staffing suggestion is for calls: none for a written channel).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Collection, Iterable, Mapping

from reports import erlang, intervals
from reports.figures import CALL_FIGURES, CHANNELS, TIMES, VOICE, Counts, Figures, Limits, count, merge

KINDS = ("agency", "queue", "channel", "agent", "traffic", "after-hours")
DEFAULT_AHT_MS = 180_000          # handling time assumed for staffing when nothing was answered
SL_GOAL = 0.8

_QUEUE_COLUMNS = ("offered", "answered", "answered_in_sl", "service_level", "abandoned", "short_abandoned",
                  "overflowed", "callbacks_requested", "callbacks_made", "transferred_in", "transferred_out",
                  "recalled", "rona", "messages_taken", "asa", "longest_wait", "talk", "hold", "wrapup", "aht",
                  "in_progress")
COLUMNS = {
    "agency": ("interval", "agency", "calls", "direct_dial", "after_hours", "abandoned_before_queue")
    + _QUEUE_COLUMNS,
    "queue": ("interval", "agency", "queue", "channel") + _QUEUE_COLUMNS,
    "channel": ("interval", "agency", "channel", "calls", "direct_dial", "after_hours", "abandoned_before_queue")
    + _QUEUE_COLUMNS,
    "agent": ("interval", "agent", "answered", "rona", "talk", "hold", "wrapup", "aht", "transferred_out",
              "recalled", "messages_taken"),
    "traffic": ("interval", "calls", "offered", "answered", "abandoned", "service_level", "asa", "aht",
                "agents_needed"),
    "after-hours": ("interval", "agency", "calls", "after_hours"),
}
SECONDS = frozenset(TIMES | {"asa", "aht"})
KEYS = {"agency": 2, "queue": 4, "channel": 3, "agent": 2, "traffic": 1, "after-hours": 2}   # leading key columns
SCOPE = {"agency": "agency", "traffic": "agency", "after-hours": "agency", "queue": "queue", "agent": "agent",
         "channel": "queue"}
"""The stored aggregates' scope each report reads (reports/aggregate.figures_between); see `scopes`."""
PERCENT = frozenset({"service_level"})


def sums_every_agency(kind: str, tenant: str | None = None, tenants: Collection[str] | None = None,
                      channel: str | None = None) -> bool:
    """The report adds up every agency's figures of an interval (traffic, no agency or
    channel chosen): it can read them added up per quarter (figures_between(summed=True):
    in SQL, one row a quarter instead of one an agency), the same table."""
    return kind == "traffic" and tenant is None and tenants is None and channel is None


def scopes(kind: str, channel: str | None = None) -> tuple[str, ...]:
    """The stored aggregates' scopes the `kind` report reads: the agency-wide reports
    split by channel read the queues' figures (the channel is the queue's) and the
    agencies' for the calls' own figures."""
    if kind == "channel" or (channel is not None and SCOPE[kind] == "agency"):
        return ("queue", "agency")
    return (SCOPE[kind],)


def channel_of(channels: Mapping[str, str] | None, queue: str) -> str:
    return (channels or {}).get(queue) or VOICE


def by_channel(figures: Figures, channels: Mapping[str, str] | None) -> dict[tuple, Counts]:
    """{(quarter, agency, channel): figures}: each queue's figures in its channel, the
    calls' own figures (CALL_FIGURES of the agency scope) in voice."""
    out: dict[tuple, Counts] = {}
    for (q, a, qid), counts in figures.queues.items():
        merge(out.setdefault((q, a, channel_of(channels, qid)), {}), counts)
    for (q, a), counts in figures.agencies.items():
        own = {name: counts[name] for name in CALL_FIGURES if counts.get(name)}
        if own:
            merge(out.setdefault((q, a, VOICE), {}), own)
    return out


@dataclass
class Table:
    kind: str
    start: datetime
    end: datetime
    resolution: str
    columns: tuple[str, ...]
    rows: list[dict] = field(default_factory=list)
    total: dict = field(default_factory=dict)


def build(kind: str, rows: Iterable, start: datetime, end: datetime, resolution: str,
          limits: Limits = Limits(), tenant: str | None = None, queue: str | None = None,
          agent: str | None = None, tenants: Collection[str] | None = None, channel: str | None = None,
          channels: Mapping[str, str] | None = None) -> Table:
    """The `kind` report of journal `rows` (those of reports' period: Store.journal_of_period)."""
    figures = count(rows, limits)
    return tabulate(kind, figures, start, end, resolution, limits, tenant=tenant, queue=queue, agent=agent,
                    tenants=tenants, channel=channel, channels=channels)


def tabulate(kind: str, figures: Figures, start: datetime, end: datetime, resolution: str,
             limits: Limits = Limits(), tenant: str | None = None, queue: str | None = None,
             agent: str | None = None, tenants: Collection[str] | None = None, channel: str | None = None,
             channels: Mapping[str, str] | None = None) -> Table:
    """`tenant` (one agency) or `tenants` (those a user may see; None = all) narrow the
    agency, queue, channel, traffic and after-hours reports; the agent report is by agent.
    `channel` narrows them to one channel, `channels` names each queue's (module rules)."""
    if channel is not None and channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    table = Table(kind, start, end, resolution, COLUMNS[kind])
    allowed = {tenant} if tenant is not None else (set(tenants) if tenants is not None else None)

    def inside(quarter: datetime) -> bool:
        return start <= quarter < end

    buckets: dict[datetime, datetime] = {}

    def bucket(quarter: datetime) -> datetime:            # one quarter is in many keys: once each
        b = buckets.get(quarter)
        if b is None:
            b = buckets[quarter] = intervals.bucket(quarter, resolution)
        return b

    groups: dict[tuple, Counts] = {}
    if kind == "channel" or (kind in ("agency", "after-hours", "traffic") and channel is not None):
        for (q, a, ch), counts in by_channel(figures, channels).items():
            if inside(q) and (allowed is None or a in allowed) and (channel is None or ch == channel):
                key = {"channel": (bucket(q), a, ch), "traffic": (bucket(q),)}.get(kind, (bucket(q), a))
                merge(groups.setdefault(key, {}), counts)
    elif kind in ("agency", "after-hours", "traffic"):
        for (q, a), counts in figures.agencies.items():
            if inside(q) and (allowed is None or a in allowed):
                key = (bucket(q),) if kind == "traffic" else (bucket(q), a)
                merge(groups.setdefault(key, {}), counts)
    elif kind == "queue":
        for (q, a, qid), counts in figures.queues.items():
            ch = channel_of(channels, qid)
            if inside(q) and (allowed is None or a in allowed) and (queue is None or qid == queue) and qid \
                    and (channel is None or ch == channel):
                merge(groups.setdefault((bucket(q), a, qid, ch), {}), counts)
    elif kind == "agent":
        for (q, aid), counts in figures.agents.items():
            if inside(q) and (agent is None or aid == agent):
                merge(groups.setdefault((bucket(q), aid), {}), counts)
    else:
        raise ValueError(f"unknown report {kind!r}")
    lengths: dict[datetime, float] = {}
    if kind == "traffic":                                   # every interval, empty ones too
        starts = intervals.buckets(start, end, resolution)
        for b, following in zip(starts, starts[1:] + [end]):
            groups.setdefault((b,), {})
            lengths[b] = (min(following, end) - max(b, start)).total_seconds()
    if kind == "after-hours":
        groups = {k: v for k, v in groups.items() if v.get("after_hours")}
    names = COLUMNS[kind]
    key_names = names[:KEYS[kind]]
    total: Counts = {}
    for key in sorted(groups, key=lambda k: (k[0].timestamp(),) + k[1:]):
        counts = groups[key]
        merge(total, counts)
        row = dict(zip(key_names, key))
        row.update(_values(kind, counts, names, limits, lengths.get(key[0], 0.0), channel))
        table.rows.append(row)
    table.total = {"interval": "total", **_values(kind, total, names, limits, 0.0, channel)}
    return table


def _values(kind: str, c: Counts, names: tuple[str, ...], limits: Limits, seconds: float,
            channel: str | None = None) -> dict:
    out: dict = {}
    answered = c.get("answered", 0)
    for name in names:
        if name in ("interval", "agency", "queue", "agent", "channel"):
            continue
        if name == "service_level":
            counted = answered + c.get("abandoned_after_sl", 0)
            out[name] = c.get("answered_in_sl", 0) / counted if counted else None
        elif name == "asa":
            out[name] = c.get("wait_answered", 0) / answered / 1000 if answered else None
        elif name == "aht":
            out[name] = (c.get("talk", 0) + c.get("wrapup", 0)) / answered / 1000 if answered else None
        elif name == "agents_needed" and (seconds <= 0 or channel not in (None, VOICE)):
            out[name] = None              # the total row: no one interval to staff; Erlang C is for calls
        elif name == "agents_needed":
            aht = (c.get("talk", 0) + c.get("wrapup", 0)) / answered if answered else DEFAULT_AHT_MS
            out[name] = erlang.agents_needed(c.get("offered", 0), seconds, aht / 1000,
                                             limits.default_service_level, goal=SL_GOAL)
        elif name in TIMES:
            out[name] = c.get(name, 0) / 1000
        else:
            out[name] = c.get(name, 0)
    return out


WAIT_BANDS = ((0, 10), (10, 20), (20, 30), (30, 60), (60, 120), (120, None))   # seconds


def wait_distribution(rows: Iterable, start: datetime, end: datetime,
                      tenants: Collection[str] | None = None, channel: str | None = None,
                      channels: Mapping[str, str] | None = None) -> list[tuple[str, int, int]]:
    """(band, answered, abandoned) per waiting band, for the segments that started in
    [start, end) in the given agencies (and queues of `channel`): the same segments, by the same rule, as the
    figures (docs/metrics.md), so the bands add up to the table's answered and abandoned."""
    from reports.figures import ms, quarter

    journals: dict[str, dict[int, object]] = {}
    for row in rows:
        journals.setdefault(row.interaction, {}).setdefault(row.seq, row)
    counts = [[0, 0] for _ in WAIT_BANDS]
    for journal in journals.values():
        segment, answered, written = None, False, False
        for seq in sorted(journal):
            row = journal[seq]
            if row.kind == "entered_queue":
                segment = (quarter(row.at), row.data.get("agency") or row.tenant, channel_of(channels, row.queue))
                answered, written = False, row.data.get("channel", VOICE) != VOICE
            elif segment is None or not (start <= segment[0] < end) or \
                    (tenants is not None and segment[1] not in tenants) or \
                    (channel is not None and segment[2] != channel):
                continue
            elif (row.kind == "answered" and row.data.get("callback") != "1" and not (written and answered)) \
                    or row.kind == "abandoned":
                answered = answered or row.kind == "answered"   # an item's answer counts once
                waited = ms(row.data.get("waited")) / 1000
                band = next(i for i, (lo, hi) in enumerate(WAIT_BANDS) if hi is None or waited < hi)
                counts[band][row.kind == "abandoned"] += 1
    return [(f"{lo}–{hi} s" if hi is not None else f"{lo} s +", a, b) for (lo, hi), (a, b) in zip(WAIT_BANDS, counts)]

"""Fault and uptime reports of a period [start, end), from the journal, the recordings and
the system event log (store/system_events.py; docs/metrics.md "Fault and uptime reports").

Faults (`faults`), in time order, each (at, kind, source, detail):
* `offer_failed`: a journal row `offer_failed` (an origination to an agent that failed:
  unregistered phone, network or switch error, or the Event Socket down — `cause` says
  which; engine/offers.leg_failed); source `agent:<id>`;
* `node_lost`, `sync_failed`: system events `lost` (source `node:<name>`, detail the
  reason) and `failed` (source `sync:<tenant>/<source>`, detail the error); any other
  source's `lost`/`failed` is `<kind>`;
* `heartbeat_missing`: a source that writes heartbeats (the engine; sync sources) went
  silent for more than 2 of its heartbeat periods while up (a crash writes no `stopped`),
  at its last sign of life;
* `recording_fault`: a recording started in the period whose status is `fault`
  (store/recordings.py), at its end (or start), detail the fault;
* `journal_gap`: an interaction with a journal row in the period whose seq numbers are not
  exactly 1..n (Store.verify_journal), at its first row in the period.

Uptime (`uptime`), per source ('engine', 'node:<name>', 'sync:<tenant>/<source>'): every
instant of the period is up, down or unknown:
* `started`, `connected` and `heartbeat` make a source up; `lost`, `failed` and `stopped`
  make it down — except a node's `stopped` (the engine closed the connection because it
  stopped itself), which makes the node unknown;
* a source whose events carry a heartbeat `interval` (the engine: every 60 s; a sync
  source: its job's interval) is down from its last event on when more than 2 intervals
  pass without one while it is up (judged at the next event, or at the period's end);
  a `started` while up (no `stopped` before it) is a crash too: down from the last event;
* a node is unknown while the engine is not up, and from each engine `started` until
  the node's next event (the engine cannot see a node while it is down);
* the state at the period's start comes from each source's last event before it; a
  source with no event before the start is unknown until its first event; time after
  `now` is unknown;
* up_seconds + down_seconds + unknown_seconds = the period's length; share_up =
  up / (up + down) (none when both are 0); an outage is one unbroken down stretch, cut
  to the period (one spanning its start counts from the start); longest_outage is the
  longest such stretch within the period.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from engine.clock import utcnow

UP, DOWN, UNKNOWN = "up", "down", "unknown"
ENGINE = "engine"
MISSED_BEATS = 2      # heartbeat periods of silence after which a source counts as down


@dataclass(frozen=True)
class Fault:
    at: datetime
    kind: str
    source: str
    detail: str


@dataclass(frozen=True)
class Uptime:
    source: str
    up_seconds: float
    down_seconds: float
    unknown_seconds: float
    share_up: float | None
    outages: int
    longest_outage: float


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    state: str


# -- uptime ------------------------------------------------------------------------------
def _state(source: str, kind: str) -> str:
    if kind in ("started", "connected", "heartbeat"):
        return UP
    if kind == "stopped" and source.startswith("node:"):
        return UNKNOWN
    return DOWN     # lost, failed, stopped


def _interval(event, interval: float | None) -> float | None:
    value = (event.data or {}).get("interval")
    return float(value) if isinstance(value, (int, float)) and value > 0 else interval


def timeline(source: str, before, events: Iterable, start: datetime, end: datetime,
             resets: Iterable[datetime] = (), reset_before: datetime | None = None,
             silences: list | None = None) -> list[Span]:
    """The source's spans over [start, end): `before` its last event before `start` (or
    None), `events` its events in [start, end) in time order, `resets` the times its state
    becomes unknown (a node at each engine start), `reset_before` the last such time
    before `start`. A silence detected (heartbeats missing) is appended to `silences` as
    (last sign of life, detected at)."""
    spans: list[Span] = []
    state, seen, interval = UNKNOWN, None, None
    if before is not None and (reset_before is None or before.at >= reset_before):
        state, seen, interval = _state(source, before.kind), before.at, _interval(before, None)
    cursor = start
    items = sorted([(e.at, 1, e) for e in events] + [(t, 0, None) for t in resets if start <= t < end],
                   key=lambda i: (i[0], i[1]))

    def close(until: datetime, crash: bool = False) -> None:
        nonlocal cursor
        s = state
        if s == UP and interval is not None and seen is not None and (
                crash or (until - seen).total_seconds() > MISSED_BEATS * interval):
            s = DOWN
            if silences is not None:
                silences.append((seen, until))
        if until > cursor:
            spans.append(Span(cursor, until, s))
        cursor = max(cursor, until)

    for at, is_event, event in items:
        if not is_event:          # a reset: the state is unknown from here
            close(at)
            state, seen = UNKNOWN, None
            continue
        close(at, crash=source == ENGINE and event.kind == "started" and state == UP)
        state, seen, interval = _state(source, event.kind), at, _interval(event, interval)
    close(end)
    return _merged(spans)


def _merged(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for s in spans:
        if out and out[-1].state == s.state and out[-1].end == s.start:
            out[-1] = Span(out[-1].start, s.end, s.state)
        else:
            out.append(s)
    return out


def _masked(spans: list[Span], engine: list[Span]) -> list[Span]:
    """`spans` with every instant the engine is not up made unknown."""
    out = []
    for s in spans:
        for e in engine:
            lo, hi = max(s.start, e.start), min(s.end, e.end)
            if lo < hi:
                out.append(Span(lo, hi, s.state if e.state == UP else UNKNOWN))
    return _merged(out)


def _summary(source: str, spans: list[Span]) -> Uptime:
    seconds = {UP: 0.0, DOWN: 0.0, UNKNOWN: 0.0}
    outages = []
    for s in spans:
        length = (s.end - s.start).total_seconds()
        seconds[s.state] += length
        if s.state == DOWN:
            outages.append(length)
    measured = seconds[UP] + seconds[DOWN]
    return Uptime(source, seconds[UP], seconds[DOWN], seconds[UNKNOWN],
                  seconds[UP] / measured if measured else None, len(outages), max(outages, default=0.0))


def _order(source: str) -> tuple:
    return (0 if source == ENGINE else 1 if source.startswith("node:") else 2, source)


def _timelines(store, start: datetime, end: datetime, now: datetime | None):
    """{source: spans} and the silences found, over [start, min(end, now))."""
    horizon = max(start, min(end, now or utcnow()))
    events = store.system_events(start, horizon)
    before = store.last_system_events(start)
    by_source: dict[str, list] = {ENGINE: []}
    for source in before:
        by_source.setdefault(source, [])
    for e in events:
        by_source.setdefault(e.source, []).append(e)
    engine_starts = [e.at for e in by_source[ENGINE] if e.kind == "started"]
    last_start = None
    if before.get(ENGINE) is not None:
        starts = store.system_events(None, start, source=ENGINE, kinds=("started",))
        last_start = starts[-1].at if starts else None
    silences: dict[str, list] = {}
    spans: dict[str, list[Span]] = {}
    spans[ENGINE] = timeline(ENGINE, before.get(ENGINE), by_source[ENGINE], start, horizon,
                             silences=silences.setdefault(ENGINE, []))
    for source in sorted(by_source, key=_order):
        if source == ENGINE:
            continue
        if source.startswith("node:"):
            own = timeline(source, before.get(source), by_source[source], start, horizon,
                           resets=engine_starts, reset_before=last_start)
            spans[source] = _masked(own, spans[ENGINE])
        else:
            spans[source] = timeline(source, before.get(source), by_source[source], start, horizon,
                                     silences=silences.setdefault(source, []))
    if horizon < end:     # after now: unknown
        for source in spans:
            spans[source] = _merged(spans[source] + [Span(horizon, end, UNKNOWN)])
    return spans, silences


def uptime(store, start: datetime, end: datetime, now: datetime | None = None) -> list[Uptime]:
    """One Uptime per source (the engine first, then nodes, then sync sources)."""
    spans, _ = _timelines(store, start, end, now)
    return [_summary(source, spans[source]) for source in sorted(spans, key=_order)]


# -- faults --------------------------------------------------------------------------------
def faults(store, start: datetime, end: datetime, now: datetime | None = None) -> list[Fault]:
    """Every fault of [start, end), in time order (see the module's rules)."""
    found: list[Fault] = []
    for row in store.journal_of_kinds(("offer_failed",), start, end):
        data = dict(row.data or {})
        found.append(Fault(row.at, "offer_failed", f"agent:{row.agent}",
                           f"interaction {row.interaction}, queue {row.queue or '-'}: "
                           f"cause {data.get('cause', '?')}"))
    for e in store.system_events(start, end, kinds=("lost", "failed")):
        data = dict(e.data or {})
        kind = {"node": "node_lost", "sync": "sync_failed"}.get(e.source.split(":", 1)[0], e.kind)
        found.append(Fault(e.at, kind, e.source, str(data.get("reason") or data.get("error") or e.kind)))
    _, silences = _timelines(store, start, end, now)
    for source, found_silences in silences.items():
        for seen, detected in found_silences:
            if start <= seen < end or (seen < start and detected > start):
                found.append(Fault(max(seen, start), "heartbeat_missing", source,
                                   f"no event from {seen.isoformat()} to {detected.isoformat()} "
                                   f"({(detected - seen).total_seconds():.0f} s): down from its last event"))
    for r in store.search_recordings(None, since=start, until=end, statuses=("fault",), limit=None):
        found.append(Fault(r.ended_at or r.started_at, "recording_fault", f"recording:{r.id}",
                           f"{r.fault or 'fault'} (interaction {r.interaction}, node {r.node or '?'})"))
    for problem in store.verify_journal(period=(start, end)):
        rows = [row for row in store.journal(interaction=problem.interaction) if start <= row.at < end]
        at = min((row.at for row in rows), default=start)
        found.append(Fault(at, "journal_gap", f"interaction:{problem.interaction}", str(problem)))
    return sorted(found, key=lambda f: (f.at, f.kind, f.source))

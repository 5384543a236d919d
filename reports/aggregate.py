"""Stored 15-minute aggregates of the report figures, kept up to date from the journal, and
reports over any range answered from them (docs/metrics.md, "Stored aggregates").

Rules:
* `fold` adds the journal rows after the stored position (by id, at most `batch` rows) to
  `report_figures`: for every interaction those rows touch it counts the interaction's rows
  up to the old position and up to the new one (reports.figures.count, the one definition
  of every figure) and adds the difference (a later row can change an earlier figure: an
  answer ends `in_progress`, a talk end adds `talk` to the quarter the segment started in).
  Figures and position change in one transaction: a fold that fails changes nothing, and a
  fold that ran adds nothing when it runs again (nothing is after the position);
* `longest_wait` is a maximum: the stored value is the larger of the stored and the new
  one (so a row arriving out of seq order that shrinks a maximum is only corrected by
  `rebuild`);
* the figures are counted with one set of limits (service-level targets, short-abandon
  limit), stored with the position. The first fold takes the deployment's; later folds keep
  the stored ones (and say so, `FoldReport.limits_differ`) until `rebuild(apply=True)`
  recounts everything with new ones;
* `figures_between` = the stored figures of the quarters in [start, end) plus the difference
  the rows after the position make (counted the same way, not saved), so a report is up to
  date to the last committed row. Asked for other limits than the stored ones (or before
  any fold), it counts the period's journal instead (Store.journal_of_period);
* `rebuild` recounts everything from the raw journal and lists every stored figure that
  differs; with `apply` it replaces the table and the position in one transaction.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Collection, Iterable

from engine.effects import Journal
from reports.figures import Counts, Figures, Limits, count, merge
from store import report_figures as rf

log = logging.getLogger(__name__)

FIGURES = rf.FIGURES
MAXIMA = rf.MAXIMA
FOLD_EVERY = 60.0       # s between the engine process's folds
ENGINE_BATCH = 2000     # rows per fold transaction in the engine process (it yields between them)
REBUILD_CHUNK = 20000   # journal rows counted at a time by rebuild (memory stays bounded)

Key = tuple   # (quarter, scope, tenant, queue, agent)


# -- limits ---------------------------------------------------------------------------
def limits_json(limits: Limits) -> dict:
    return {"service_level": {q: float(s) for q, s in sorted(limits.service_level.items())},
            "default_service_level": float(limits.default_service_level),
            "short_abandon": float(limits.short_abandon)}


def limits_from(stored: dict) -> Limits:
    return Limits(service_level=dict(stored.get("service_level", {})),
                  default_service_level=stored.get("default_service_level", 20.0),
                  short_abandon=stored.get("short_abandon", 5.0))


def limits_of(deployment, short_abandon: float = 5.0) -> Limits:
    """The limits of a deployment: each queue's `service_level_seconds`."""
    return Limits(service_level={q.id: q.service_level_seconds for q in deployment.queues.values()},
                  short_abandon=short_abandon)


# -- Figures <-> stored keys ----------------------------------------------------------
def flat(figures: Figures) -> dict[Key, Counts]:
    out: dict[Key, Counts] = {}
    for (q, agency, queue), c in figures.queues.items():
        out[(q, "queue", agency, queue, "")] = c
    for (q, tenant), c in figures.agencies.items():
        out[(q, "agency", tenant, "", "")] = c
    for (q, agent), c in figures.agents.items():
        out[(q, "agent", "", "", agent)] = c
    return out


def unflat(keyed: dict[Key, Counts]) -> Figures:
    figures = Figures(queues={}, agencies={}, agents={})
    for (q, scope, tenant, queue, agent), c in keyed.items():
        counts = {name: value for name, value in c.items() if value}
        if scope == "queue":
            figures.queues[(q, tenant, queue)] = counts
        elif scope == "agency":
            figures.agencies[(q, tenant)] = counts
        else:
            figures.agents[(q, agent)] = counts
    return figures


def nonzero(figures: Figures, start: datetime | None = None, end: datetime | None = None) -> Figures:
    """The same figures without zero values (every key kept), only quarters in [start, end):
    the form figures_between answers in."""
    keyed = {k: c for k, c in flat(figures).items()
             if (start is None or k[0] >= start) and (end is None or k[0] < end)}
    return unflat(keyed)


def _merge(into: dict[Key, Counts], keyed: dict[Key, Counts]) -> None:
    for key, counts in keyed.items():
        merge(into.setdefault(key, {}), counts)


def _stored_row(key: Key, counts: Counts) -> dict:
    q, scope, tenant, queue, agent = key
    row = {"quarter": q, "scope": scope, "tenant": tenant, "queue": queue, "agent": agent}
    row.update({name: counts.get(name, 0) for name in FIGURES})
    return row


def _journal(r) -> Journal:
    return Journal(interaction=r.interaction, seq=r.seq, kind=r.kind, at=r.at, tenant=r.tenant,
                   queue=r.queue, agent=r.agent, data=dict(r.data or {}))


def delta(rows: Iterable, position: int, limits: Limits) -> dict[Key, Counts]:
    """What the rows after `position` change: count(all `rows`) - count(those with id <=
    position) for sums, the new value for maxima (where it grew). `rows` are every row of the
    interactions concerned. A key that appears gets an entry even when all its figures are 0."""
    everything, before = [], []
    for r in rows:
        row = _journal(r)
        everything.append(row)
        if r.id <= position:
            before.append(row)
    new = flat(count(everything, limits))
    old = flat(count(before, limits)) if before else {}
    out: dict[Key, Counts] = {}
    for key in new.keys() | old.keys():
        n, o = new.get(key, {}), old.get(key, {})
        d = {}
        for name in FIGURES:
            if name in MAXIMA:
                if n.get(name, 0) > o.get(name, 0):
                    d[name] = n[name]
            elif (v := n.get(name, 0) - o.get(name, 0)):
                d[name] = v
        if d or key not in old:
            out[key] = d
    return out


# -- fold -----------------------------------------------------------------------------
@dataclass(frozen=True)
class FoldReport:
    rows: int = 0              # journal rows folded in
    interactions: int = 0      # interactions they belong to (recounted)
    keys: int = 0              # report_figures rows added to
    previous: int = 0          # journal id folded up to before ...
    position: int = 0          # ... and after
    busy: bool = False         # another fold (or a rebuild) held the position: nothing done
    limits_differ: bool = False   # the limits asked for are not those the figures were counted with


def fold(store, limits: Limits | None = None, batch: int = 20000, *, name: str = rf.MAIN) -> FoldReport:
    """Fold up to `batch` journal rows after the stored position into report_figures (one
    transaction). `limits`: the deployment's; used when nothing is folded yet, else compared."""
    wanted = limits_json(limits if limits is not None else Limits())
    now = store.clock()
    postgresql = store.engine.dialect.name == "postgresql"
    high = rf.committed_high_water(store.engine) if postgresql else None
    if postgresql and high is None:
        return FoldReport(busy=True)
    with store.transaction() as conn:
        pos = rf.lock_position(conn, name, wanted, now, wait=False)
        if pos is None:
            return FoldReport(busy=True)
        if high is None:      # SQLite: one writer at a time, every id below the max is committed
            high = rf.max_journal_id(conn)
        counted = pos.limits if pos.journal_id and pos.limits else wanted
        differ = limits is not None and limits_json(limits) != counted
        end = rf.batch_end(conn, pos.journal_id, high, batch)
        if end is None:
            return FoldReport(previous=pos.journal_id, position=pos.journal_id, limits_differ=differ)
        rows = rf.rows_of_touched(conn, pos.journal_id, end)
        change = delta(rows, pos.journal_id, limits_from(counted))
        rf.add(conn, [_stored_row(k, c) for k, c in change.items()])
        rf.set_position(conn, name, end, counted, now)
    report = FoldReport(rows=sum(1 for r in rows if r.id > pos.journal_id),
                        interactions=len({r.interaction for r in rows}), keys=len(change),
                        previous=pos.journal_id, position=end, limits_differ=differ)
    log.debug("folded %d journal rows (%d interactions) into %d report figure rows, position %d",
              report.rows, report.interactions, report.keys, end)
    return report


def fold_all(store, limits: Limits | None = None, batch: int = 20000, *, name: str = rf.MAIN,
             pause: Callable[[], None] | None = None) -> FoldReport:
    """Fold batch after batch until nothing is left; `pause` runs between batches (the engine
    yields to its other greenlets there). Returns the sum of the batches."""
    total = FoldReport()
    while True:
        report = fold(store, limits, batch, name=name)
        total = FoldReport(rows=total.rows + report.rows, interactions=total.interactions + report.interactions,
                           keys=total.keys + report.keys, previous=total.previous or report.previous,
                           position=report.position or total.position, busy=report.busy,
                           limits_differ=report.limits_differ)
        if report.busy or report.rows == 0:
            return total
        if pause is not None:
            pause()


# -- reports --------------------------------------------------------------------------
def figures_between(store, start: datetime, end: datetime, limits: Limits = Limits(), *,
                    name: str = rf.MAIN, attempts: int = 5, scopes: Collection[str] | None = None,
                    summed: bool = False) -> Figures:
    """The figures of the quarters in [start, end): stored + what the unfolded rows change
    (zero values left out, see `nonzero`). `scopes` ('queue', 'agency', 'agent'): read only
    those (a report needs one); the others come back empty. `summed`: each scope's figures
    of a quarter added up over its agencies, queues or agents (longest_wait: the largest),
    keyed '' instead of the agency/queue/agent (`summed_keys`), the stored ones in SQL: for
    a report that adds them all up anyway (traffic over every agency)."""
    for _ in range(attempts):
        with store.engine.connect() as conn:
            before = rf.read_position(conn, name)
            if before is None or before.journal_id == 0 or before.limits != limits_json(limits):
                log.info("report counted from the journal: %s", "no stored aggregates" if before is None
                         or before.journal_id == 0 else "other limits than the stored aggregates'")
                figures = nonzero(count(store.journal_of_period(start, end), limits), start, end)
                return unflat(summed_keys(flat(figures))) if summed else figures
            if summed:
                keyed = {(r[0], r[1], "", "", ""): {n: v for n, v in zip(FIGURES, r[2:]) if v}
                         for r in rf.read_summed(conn, start, end, scopes)}
            else:
                keyed = {tuple(r[:5]): {n: v for n, v in zip(FIGURES, r[5:]) if v}
                         for r in rf.read(conn, start, end, scopes)}
            change = delta(rf.rows_of_touched(conn, before.journal_id, None), before.journal_id, limits)
            after = rf.read_position(conn, name)
        if (after.journal_id, after.updated_at) == (before.journal_id, before.updated_at):
            break        # no fold committed while we read: stored figures and position agree
    else:
        raise RuntimeError(f"report aggregates changed under {attempts} reads in a row")
    if summed:
        change = summed_keys(change)
    for key, counts in change.items():
        if start <= key[0] < end and (scopes is None or key[1] in scopes):
            merge(keyed.setdefault(key, {}), counts)
    return unflat(keyed)


def summed_keys(keyed: dict[Key, Counts]) -> dict[Key, Counts]:
    """Every scope's counts of a quarter added up (MAXIMA: the largest), keyed (quarter,
    scope, '', '', ''): what figures_between(summed=True) reads in SQL."""
    out: dict[Key, Counts] = {}
    for (q, scope, *_), counts in keyed.items():
        merge(out.setdefault((q, scope, "", "", ""), {}), counts)
    return out


# -- rebuild --------------------------------------------------------------------------
@dataclass(frozen=True)
class Difference:
    quarter: datetime
    scope: str
    tenant: str
    queue: str
    agent: str
    figure: str
    stored: int
    recomputed: int

    def __str__(self) -> str:
        keys = " ".join(f"{k}={v}" for k, v in (("agency", self.tenant), ("queue", self.queue),
                                                ("agent", self.agent)) if v)
        return (f"{self.quarter.isoformat()} {self.scope} {keys} {self.figure}: "
                f"stored {self.stored}, recomputed {self.recomputed}")


@dataclass(frozen=True)
class RebuildReport:
    rows: int                  # journal rows read
    interactions: int
    position: int              # the stored position: the differences are at it
    new_position: int          # the journal id the recomputed figures reach (stored by apply)
    stored_rows: int           # report_figures rows before
    recomputed_rows: int       # report_figures rows of the recount (up to new_position)
    differences: list[Difference] = field(default_factory=list)
    applied: bool = False
    limits_changed: bool = False   # the stored figures were counted with other limits


def rebuild(store, limits: Limits = Limits(), apply: bool = False, *, name: str = rf.MAIN,
            chunk: int = REBUILD_CHUNK) -> RebuildReport:
    """Recount every figure from the raw journal with `limits`; list where the stored ones
    (at the stored position) differ; `apply`: store the recount (up to the newest committed
    row) and its position instead, in one transaction. Folds wait meanwhile (busy)."""
    wanted = limits_json(limits)
    now = store.clock()
    postgresql = store.engine.dialect.name == "postgresql"
    high = rf.committed_high_water(store.engine) if postgresql else None
    if postgresql and high is None:
        raise RuntimeError("an insert into the journal stayed open too long; try again")
    with store.transaction() as conn:
        pos = rf.lock_position(conn, name, wanted, now, wait=True)
        if high is None:
            high = rf.max_journal_id(conn)
        position = pos.journal_id
        at_position: dict[Key, Counts] = {}      # the recount of what is folded: compared
        up_to_high: dict[Key, Counts] = {}       # the recount of every committed row: applied
        both, old_part, new_full = [], [], []
        rows_read = interactions = 0

        def flush() -> None:
            shared = flat(count(both, limits)) if both else {}
            _merge(at_position, shared)
            _merge(up_to_high, shared)
            if old_part:
                _merge(at_position, flat(count(old_part, limits)))
            if new_full:
                _merge(up_to_high, flat(count(new_full, limits)))
            both.clear(), old_part.clear(), new_full.clear()

        with store.engine.connect() as reader:
            current, group = None, []
            for r in _with_end(rf.stream_rows(reader, high)):
                if r is None or r.interaction != current:
                    if group:
                        interactions += 1
                        rows = [_journal(g) for g in group]
                        if all(g.id <= position for g in group):
                            both.extend(rows)
                        else:
                            old_part.extend(row for row, g in zip(rows, group) if g.id <= position)
                            new_full.extend(rows)
                        if len(both) + len(new_full) >= chunk:
                            flush()
                    if r is None:
                        break
                    current, group = r.interaction, []
                group.append(r)
                rows_read += 1
        flush()
        stored = {tuple(r[:5]): {n: v for n, v in zip(FIGURES, r[5:]) if v} for r in rf.read(conn)}
        differences = [Difference(*key, figure=n, stored=s, recomputed=c)
                       for key in sorted(stored.keys() | at_position.keys(), key=_order)
                       for n in FIGURES
                       if (s := stored.get(key, {}).get(n, 0)) != (c := at_position.get(key, {}).get(n, 0))]
        if apply:
            rf.replace(conn, [_stored_row(k, c) for k, c in up_to_high.items()])
            rf.set_position(conn, name, high, wanted, now)
    return RebuildReport(rows=rows_read, interactions=interactions, position=position, new_position=high,
                         stored_rows=len(stored), recomputed_rows=len(up_to_high), differences=differences,
                         applied=apply, limits_changed=bool(pos.journal_id) and pos.limits != wanted)


def _order(key: Key):
    return (key[0].timestamp(),) + key[1:]


def _with_end(rows):
    yield from rows
    yield None


# -- the engine process's folding greenlet -----------------------------------------------
class Folder:
    """Folds the journal into the stored aggregates every `every` seconds in the engine
    process: batch after batch until caught up, yielding between batches; one fold at a
    time (this greenlet; other processes are kept out by the position row's lock). An error
    is logged and the next round tries again; nothing stops the engine."""

    def __init__(self, store, limits: Callable[[], Limits], every: float = FOLD_EVERY,
                 batch: int = ENGINE_BATCH) -> None:
        import gevent.event

        self.store, self.limits, self.every, self.batch = store, limits, every, batch
        self.rounds = self.errors = self.rows = 0
        self._wake = gevent.event.Event()
        self._stopping = False
        self._greenlet = None
        self._warned_limits = False

    def start(self) -> "Folder":
        import gevent

        self._greenlet = gevent.spawn(self._run)
        return self

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.every)
            if self._stopping:
                return
            self.run_once()

    def run_once(self) -> int:
        import gevent

        try:
            report = fold_all(self.store, self.limits(), self.batch, pause=lambda: gevent.sleep(0))
        except Exception:       # noqa: BLE001 - a fold failing must never stop the engine
            self.errors += 1
            log.exception("report aggregates: fold failed; next try in %.0f s", self.every)
            return 0
        self.rounds += 1
        self.rows += report.rows
        if report.limits_differ and not self._warned_limits:
            log.warning("report aggregates were counted with other service-level targets than the configuration's; "
                        "'sentral report rebuild --apply' recounts them with the new ones")
        self._warned_limits = report.limits_differ
        return report.rows

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._greenlet is not None:
            self._greenlet.join(timeout)
            self._greenlet.kill(block=False)

"""Reports from stored 15-minute aggregates vs the raw journal (issue "Aggregation that scales").

Run: scripts/bench reports [--days 365] [--calls-per-year 700000] [--agencies 24] [--batch 20000]
     [--repeat 5] [--raw-year] [--rebuild] [--profile] [--admin-url URL]

Creates a scratch PostgreSQL database (dropped afterwards), migrates it and writes `--days`
days of synthetic call journals straight into `journal` with COPY: `--calls-per-year` calls
over `--agencies` agencies of uneven size (2 queues, 10 agents each), weekdays busier than
weekends, most calls 07-15 UTC. Each call is arrived, entered_queue and then, like the
engine writes them: answered (offered, answered with its wait, bridged, sometimes hold/unhold,
talk_ended, wrapup_end, ended; some ring-no-answer first, some transferred to another
queue, also another agency's), abandoned (some within 5 s), overflowed after max wait, or
after hours. Rows are written in time order (calls interleave, as the writer commits them).

Then measures, in the same run:
* fold: every row folded into report_figures by reports.aggregate.fold_all (batches of
  `--batch` rows, one transaction each): ingest rows/s;
* a one-day report at 15 min (a weekday in the middle) and a report over every day at 15 min
  (`--days` 365: the full year) from the aggregates: reports.aggregate.figures_between,
  every figure of every scope, against the baseline: a plain SQL GROUP BY over the raw
  journal, calls offered per quarter-hour (entered_queue rows by date_bin) for the same
  range. The aggregates' offered per quarter is checked equal to it;
* what a user asks, the same two ranges: the traffic report at 15 min and the agency report
  at 15 min and at 1 day, as the CLI, web pages and API make them: figures_between(...,
  scopes=(reports.report.SCOPE[kind],), summed=reports.report.sums_every_agency(kind)) +
  reports.report.tabulate; the traffic report also from every agency's rows (summed=False,
  the path before): the same table, and its total offered = the GROUP BY's. `--profile`:
  cProfile of the whole range's traffic report (top functions by own time);
* the current report path for the day: reports.figures.count over Store.journal_of_period
  (`--raw-year`: for the whole range too; holds every row in memory);
* `--rebuild`: reports.aggregate.rebuild (recount and compare) over everything.
Times are the median of `--repeat` runs (fold and rebuild: one run). Prints a markdown table.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from store import Store, migrate  # noqa: E402

START = datetime(2025, 1, 6, tzinfo=timezone.utc)      # a Monday
QUEUES = ("main", "support")
AGENTS = 10
WEEKDAY = (1.15, 1.1, 1.05, 1.05, 1.0, 0.35, 0.3)       # Monday .. Sunday, relative volume
BASELINE_SQL = sa.text(
    "SELECT date_bin('15 minutes', at, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS q, count(*) FROM journal "
    "WHERE kind = 'entered_queue' AND at >= :start AND at < :end GROUP BY 1")


class Calls:
    """Synthetic calls of `agencies` agencies; `day(d)` gives one day's journal rows, by time."""

    def __init__(self, calls_per_year: int, agencies: int, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.agencies = [f"agency-{n:02d}" for n in range(1, agencies + 1)]
        weights = [1 / (n + 1) ** 0.8 for n in range(agencies)]             # a few big agencies, many small
        self.weights = [w / sum(weights) for w in weights]
        self.per_day = calls_per_year / 365 / (sum(WEEKDAY) / 7)
        self.calls = 0

    def _ts(self, at: datetime) -> str:
        return at.isoformat()

    def day(self, d: int) -> list[tuple]:
        rng = self.rng
        day = START + timedelta(days=d)
        n = int(rng.gauss(self.per_day * WEEKDAY[day.weekday()], self.per_day * 0.05))
        rows: list[tuple] = []
        for _ in range(max(0, n)):
            if rng.random() < 0.9:               # opening hours, peak in the morning
                second = int(min(max(rng.triangular(7, 15, 8.5), 7), 15) * 3600 + rng.random() * 60)
            else:
                second = rng.randrange(86400)
            self._call(rows, day + timedelta(seconds=second), (day.weekday() < 5 and 6 * 3600 <= second < 16 * 3600))
        rows.sort(key=lambda r: r[3])
        return rows

    def _call(self, rows: list, at: datetime, open_hours: bool) -> None:
        rng = self.rng
        self.calls += 1
        ix = f"ix-{uuid.UUID(int=rng.getrandbits(128))}"
        agency = rng.choices(self.agencies, self.weights)[0]
        queue = f"{agency}-{rng.choice(QUEUES)}"
        seq = 0

        def row(kind: str, when: datetime, q: str = queue, agent: str = "", **data) -> None:
            nonlocal seq
            seq += 1
            rows.append((ix, seq, kind, when, agency, q, agent, data))

        row("arrived", at, number=f"47{rng.randrange(10**7, 10**8)}", destination="22000000",
            **({"direct_dial": "1"} if rng.random() < 0.03 else {}))
        if not open_hours and rng.random() < 0.8:
            row("overflowed", at + timedelta(seconds=8), reason="after_hours", to="message", target="")
            row("ended", at + timedelta(seconds=30), reason="after_hours")
            return
        if rng.random() < 0.02:
            row("abandoned", at + timedelta(seconds=4), waited="0.000", cause="NORMAL_CLEARING", stage="arrived")
            row("ended", at + timedelta(seconds=4), reason="abandoned")
            return
        t = at + timedelta(seconds=rng.uniform(5, 15))
        self._segment(row, t, queue, agency, transferred=False)

    def _segment(self, row, t: datetime, queue: str, agency: str, transferred: bool) -> None:
        rng = self.rng
        row("entered_queue", t, q=queue, position=str(rng.randint(1, 6)), priority="0", entered_at=t.isoformat(),
            agency=agency)
        fate = rng.random()
        if fate < 0.12:                             # abandoned, a fifth of them within 5 s
            waited = rng.uniform(0.5, 5) if rng.random() < 0.2 else rng.expovariate(1 / 45) + 5
            end = t + timedelta(seconds=waited)
            row("abandoned", end, q=queue, waited=f"{waited:.3f}", cause="NORMAL_CLEARING", stage="queued")
            row("ended", end, q=queue, reason="abandoned")
            return
        if fate < 0.14:                             # max wait: overflow to a message
            end = t + timedelta(seconds=600)
            row("overflowed", end, q=queue, reason="max_wait", to="message", target="")
            row("ended", end + timedelta(seconds=20), q=queue, reason="overflowed")
            return
        waited = rng.expovariate(1 / 25)
        agent = f"{queue.rsplit('-', 1)[0]}-agent-{rng.randrange(AGENTS)}"
        ring = min(waited, rng.uniform(2, 8))
        offered = t + timedelta(seconds=waited - ring)
        if rng.random() < 0.05 and waited > 25:     # the first agent did not answer
            other = f"{queue.rsplit('-', 1)[0]}-agent-{rng.randrange(AGENTS)}"
            row("offered", offered - timedelta(seconds=20), q=queue, agent=other, leg=f"leg-{rng.getrandbits(32)}")
            row("no_answer", offered, q=queue, agent=other, cause="NO_ANSWER")
        row("offered", offered, q=queue, agent=agent, leg=f"leg-{rng.getrandbits(32)}")
        answered = t + timedelta(seconds=waited)
        row("answered", answered, q=queue, agent=agent, waited=f"{waited:.3f}", leg=f"leg-{rng.getrandbits(32)}")
        row("bridged", answered, q=queue, agent=agent)
        talk = max(10.0, rng.expovariate(1 / 180))
        if rng.random() < 0.1:
            hold_at = answered + timedelta(seconds=talk / 3)
            row("hold", hold_at, q=queue, agent=agent)
            row("unhold", hold_at + timedelta(seconds=rng.uniform(10, 60)), q=queue, agent=agent)
        end = answered + timedelta(seconds=talk)
        if not transferred and rng.random() < 0.05:
            target_agency = agency if rng.random() < 0.7 else rng.choice(self.agencies)
            target = f"{target_agency}-{rng.choice(QUEUES)}"
            row("transferred", end, q=queue, agent=agent, to_queue=target, from_queue=queue, name=target,
                talk=f"{talk:.3f}")
            row("wrapup_end", end + timedelta(seconds=rng.uniform(5, 30)), q=queue, agent=agent)
            self._segment(row, end, target, target_agency, transferred=True)
            return
        row("talk_ended", end, q=queue, agent=agent, by="caller", talk=f"{talk:.3f}")
        done = end + timedelta(seconds=rng.uniform(15, 60))
        row("wrapup_end", done, q=queue, agent=agent)
        row("ended", done, q=queue, agent=agent, reason="completed")


def copy_rows(engine: sa.Engine, rows: list[tuple]) -> None:
    buf = io.StringIO()
    out = csv.writer(buf, quoting=csv.QUOTE_ALL)   # quoted "" is an empty string, not NULL
    for ix, seq, kind, at, tenant, queue, agent, data in rows:
        out.writerow((ix, seq, kind, at.isoformat(), tenant, queue, agent, json.dumps(data, separators=(",", ":"))))
    buf.seek(0)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.copy_expert("COPY journal (interaction, seq, kind, at, tenant, queue, agent, data) "
                            "FROM STDIN WITH (FORMAT csv)", buf)
        raw.commit()
    finally:
        raw.close()


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def baseline(store: Store, start: datetime, end: datetime) -> dict:
    with store.engine.connect() as conn:
        return {q: n for q, n in conn.execute(BASELINE_SQL, {"start": start, "end": end})}


def offered_per_quarter(figures) -> dict:
    out: dict = {}
    for (q, _agency), counts in figures.agencies.items():
        if counts.get("offered"):
            out[q] = out.get(q, 0) + counts["offered"]
    return out


REPORTS = (("traffic", "15m", None), ("traffic", "15m", False), ("agency", "15m", None), ("agency", "1d", None))
# (kind, resolution, summed): None = as the CLI/web/API ask; False = traffic from every agency's rows


def user_report(store: Store, kind: str, start: datetime, end: datetime, resolution: str, limits,
                summed: bool | None = None):
    """A report as a user asks for it (every agency): the one stored scope it needs, added
    up per quarter in SQL when the report adds up every agency (traffic), then the table."""
    from reports.aggregate import figures_between
    from reports.report import SCOPE, sums_every_agency, tabulate
    summed = sums_every_agency(kind) if summed is None else summed
    figures = figures_between(store, start, end, limits, scopes=(SCOPE[kind],), summed=summed)
    return tabulate(kind, figures, start, end, resolution, limits)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--calls-per-year", type=int, default=700_000)
    parser.add_argument("--agencies", type=int, default=24)
    parser.add_argument("--batch", type=int, default=20_000, help="rows per fold transaction")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--raw-year", action="store_true", help="also count the whole range from the journal")
    parser.add_argument("--rebuild", action="store_true", help="also time a rebuild (recount and compare)")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of the whole range's traffic report at 15 min")
    parser.add_argument("--admin-url", default=os.environ.get(
        "SENTRAL_TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    from reports.aggregate import figures_between, fold_all, rebuild
    from reports.figures import Limits, count

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores; "
          f"Python {platform.python_version()}")
    admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    name = "sentral_bench_" + uuid.uuid4().hex[:8]
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        server = conn.execute(sa.text("SHOW server_version")).scalar()
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    results: list[tuple] = []
    try:
        print(f"migrating scratch database {name} (PostgreSQL {server}) ...", flush=True)
        migrate(url)
        store = Store(url)
        calls = Calls(args.calls_per_year, args.agencies)
        limits = Limits()
        total = 0
        started = time.perf_counter()
        pending: list[tuple] = []
        for d in range(args.days):
            pending += calls.day(d)
            if len(pending) >= 200_000 or d == args.days - 1:
                copy_rows(store.engine, pending)
                total += len(pending)
                pending = []
                print(f"\r  wrote {total:,} journal rows ({calls.calls:,} calls, {d + 1} days)", end="", flush=True)
        write_s = time.perf_counter() - started
        print(f"\nCOPY: {total:,} rows in {write_s:.1f} s ({total / write_s:,.0f} rows/s)")
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE journal")
            conn.commit()

        started = time.perf_counter()
        folded = fold_all(store, limits, args.batch)
        fold_s = time.perf_counter() - started
        assert folded.rows == total, (folded.rows, total)
        with store.engine.connect() as conn:
            stored_rows = conn.execute(sa.text("SELECT count(*) FROM report_figures")).scalar()
        print(f"fold: {total:,} rows in {fold_s:.1f} s ({total / fold_s:,.0f} rows/s), {stored_rows:,} figure rows")

        day = START + timedelta(days=args.days // 2)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        ranges = [("one day (96 quarter-hours)", day, day + timedelta(days=1)),
                  (f"all {args.days} days ({args.days * 96:,} quarter-hours)", START,
                   START + timedelta(days=args.days))]
        for label, start, end in ranges:
            base_s, base = timed(lambda: baseline(store, start, end), args.repeat)
            agg_s, figures = timed(lambda: figures_between(store, start, end, limits), args.repeat)
            assert offered_per_quarter(figures) == base, "the aggregates' offered per quarter = the GROUP BY's"
            keys = len(figures.queues) + len(figures.agencies) + len(figures.agents)
            results.append((label, "GROUP BY baseline: offered per quarter (1 figure)", base_s, f"{len(base):,} quarters", 1.0))
            results.append((label, "figures_between: every figure, every scope (aggregates)", agg_s,
                            f"{keys:,} keys", agg_s / base_s))
            tables = {}
            for kind, resolution, summed in REPORTS:
                rep_s, table = timed(lambda: user_report(store, kind, start, end, resolution, limits, summed),
                                     args.repeat)
                if kind == "traffic":
                    assert table.total["offered"] == sum(base.values()), "the traffic total = the GROUP BY's"
                    tables[summed] = table
                how = {None: "figures_between(scopes=(agency,)" + (", summed)" if kind == "traffic" else ")"),
                       False: "figures_between(scopes=(agency,)), every agency's rows"}[summed]
                results.append((label, f"{kind} report at {resolution}: {how} + tabulate", rep_s,
                                f"{len(table.rows):,} rows", rep_s / base_s))
            assert tables[None].rows == tables[False].rows and tables[None].total == tables[False].total, \
                "the traffic table summed in SQL = summed in Python"
            if args.profile and not label.startswith("one day"):
                import cProfile
                import pstats
                profiler = cProfile.Profile()
                profiler.runcall(user_report, store, "traffic", start, end, "15m", limits)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
            if label.startswith("one day") or args.raw_year:
                raw_s, raw = timed(lambda: count(store.journal_of_period(start, end), limits),
                                   args.repeat if label.startswith("one day") else 1)
                assert offered_per_quarter(raw) == base
                results.append((label, "count(journal_of_period): every figure (current path)", raw_s, "", raw_s / base_s))
            print(f"{label}: baseline {base_s * 1000:.1f} ms, aggregates {agg_s * 1000:.1f} ms", flush=True)
        if args.rebuild:
            started = time.perf_counter()
            report = rebuild(store, limits)
            rebuild_s = time.perf_counter() - started
            assert report.differences == []
            results.append(("everything", "rebuild: recount and compare", rebuild_s,
                            f"{report.rows / rebuild_s:,.0f} rows/s", None))
        store.close()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    print(f"\n{args.days} days, {calls.calls:,} calls ({args.calls_per_year:,}/year), {args.agencies} agencies, "
          f"{total:,} journal rows ({total / calls.calls:.1f}/call)\n")
    print("| measurement | rows | time | rate |")
    print("|---|---:|---:|---:|")
    print(f"| COPY into journal | {total:,} | {write_s:.1f} s | {total / write_s:,.0f} rows/s |")
    print(f"| fold (batch {args.batch:,}) | {total:,} | {fold_s:.1f} s | {total / fold_s:,.0f} rows/s |")
    print(f"\n| range | query | time (ms) | size | vs GROUP BY |")
    print("|---|---|---:|---:|---:|")
    for label, query, seconds, size, ratio in results:
        print(f"| {label} | {query} | {seconds * 1000:,.1f} | {size} | "
              f"{'' if ratio is None else f'{ratio:.2f}x'} |")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

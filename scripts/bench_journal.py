"""Journal append throughput: rows/s in batches of 1, 10, 100, 1000 on PostgreSQL.

Run: scripts/bench journal [--rows N] [--admin-url URL] [--sqlite] [--writer]

Creates a scratch database on the PostgreSQL server (dropped afterwards), migrates it,
and appends call journals (10 rows per call, like the ACD) through `Store.append_journal`,
one transaction per batch. The baseline is batch size 1 (one INSERT + commit per row)
in the same run. `--writer` also measures the gevent `JournalWriter` (green psycopg2)
fed by 20 producer greenlets, and the runtime's write-ahead pattern (200 concurrent
calls, each waiting for its row's commit before going on); `--sqlite` repeats the batches on a SQLite file (demo).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from engine.effects import Journal  # noqa: E402
from store import Store, migrate  # noqa: E402

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
KINDS = ("entered_queue", "announcement", "offered", "no_answer", "offered", "answered",
         "bridged", "hangup", "wrapup_start", "wrapup_end")


def call_rows(n_rows: int, prefix: str):
    """n_rows journal rows, 10 per call, realistic sizes (uuids, tenant, queue, agent, data)."""
    rows = []
    for i in range(n_rows):
        call, seq = divmod(i, 10)
        rows.append(Journal(interaction=f"{prefix}-{call:07d}-{uuid.UUID(int=call)}"[:64], seq=seq + 1,
                            kind=KINDS[seq], at=T0 + timedelta(milliseconds=i), tenant="helsedirektoratet",
                            queue="sentralbord", agent=f"agent-{call % 500}" if seq >= 2 else "",
                            data={"node": "fs1", "cause": "NORMAL_CLEARING"} if seq == 7 else {}))
    return rows


def bench_batches(store: Store, n_rows: int, sizes, label: str) -> dict[int, float]:
    results = {}
    for size in sizes:
        n = min(n_rows, 3000) if size == 1 else n_rows
        rows = call_rows(n, f"{label}-b{size}")
        print(f"[{label}] batch {size:>4}: appending {n} rows ...", end="", flush=True)
        start = time.perf_counter()
        new = 0
        for k in range(0, n, size):
            new += store.append_journal(rows[k:k + size])
        elapsed = time.perf_counter() - start
        assert new == n, f"expected {n} new rows, got {new}"
        assert store.append_journal(rows[:size]) == 0, "replay must add nothing"
        results[size] = n / elapsed
        print(f" {results[size]:>9,.0f} rows/s ({elapsed:.2f} s)")
    return results


def bench_values_variant(store: Store, n_rows: int, size: int = 1000) -> float:
    """The same batches as multi-row INSERT ... VALUES (SQLAlchemy insertmanyvalues), for comparison."""
    from store.journal import KEY, TABLE, to_params
    from store.upsert import insert_ignoring

    rows = call_rows(n_rows, "values")
    print(f"[pg] batch {size:>4} as multi-row VALUES: appending {n_rows} rows ...", end="", flush=True)
    start = time.perf_counter()
    for k in range(0, n_rows, size):
        with store.engine.begin() as conn:
            stmt = insert_ignoring(conn, TABLE, KEY).returning(TABLE.c.id)
            conn.execute(stmt, [to_params(r) for r in rows[k:k + size]]).all()
    rate = n_rows / (time.perf_counter() - start)
    print(f" {rate:>9,.0f} rows/s")
    return rate


def bench_writer(store: Store, n_rows: int) -> float:
    import gevent

    from store.gevent_support import make_psycopg2_green
    from store.writer import JournalWriter

    make_psycopg2_green()
    store.engine.dispose()
    writer = JournalWriter(store).start()
    rows = call_rows(n_rows, "writer")
    per = len(rows) // 20
    print(f"[writer] 20 producer greenlets, {n_rows} rows ...", end="", flush=True)

    def producer(part):
        for k, row in enumerate(part):
            writer.put(row)
            if k % 10 == 9:
                gevent.sleep(0)  # one call's rows, then let others run

    start = time.perf_counter()
    gevent.joinall([gevent.spawn(producer, rows[p * per:(p + 1) * per]) for p in range(20)], raise_error=True)
    assert writer.stop(timeout=300) == 0
    elapsed = time.perf_counter() - start
    print(f" {n_rows / elapsed:>9,.0f} rows/s ({elapsed:.2f} s, {writer.batches} batches, "
          f"avg {n_rows / writer.batches:.0f} rows/batch)")
    return n_rows / elapsed


def bench_write_ahead(store: Store, n_rows: int, concurrency: int = 200) -> float:
    """The runtime's pattern: each call puts one row and waits for its commit before acting."""
    import gevent
    import gevent.pool

    from store.writer import JournalWriter

    writer = JournalWriter(store).start()
    rows = call_rows(n_rows, "ahead")
    calls = [rows[k:k + 10] for k in range(0, len(rows), 10)]
    print(f"[write-ahead] {len(calls)} calls, {concurrency} at a time, flush after every row ...", end="", flush=True)

    def one_call(call_rows_):
        for row in call_rows_:
            writer.put(row)
            writer.flush()

    start = time.perf_counter()
    gevent.pool.Pool(concurrency).map(one_call, calls)
    elapsed = time.perf_counter() - start
    assert writer.stop(timeout=300) == 0
    print(f" {len(calls) / elapsed:>7,.0f} calls/s = {n_rows / elapsed:,.0f} rows/s "
          f"({writer.batches} commits, avg {n_rows / writer.batches:.0f} rows/commit)")
    return len(calls) / elapsed


def report(title: str, results: dict[int, float]) -> None:
    base = results[1]
    print(f"\n{title}\n| batch | rows/s | vs batch 1 | calls/s (10 rows/call) |\n|---:|---:|---:|---:|")
    for size, rate in results.items():
        print(f"| {size} | {rate:,.0f} | {rate / base:.1f}× | {rate / 10:,.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows per batch size (batch 1: at most 3000)")
    parser.add_argument("--admin-url", default=os.environ.get(
        "SENTRAL_TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--sqlite", action="store_true", help="also run the batches on SQLite")
    parser.add_argument("--writer", action="store_true", help="also measure the gevent JournalWriter")
    args = parser.parse_args()
    sizes = (1, 10, 100, 1000)

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    name = "sentral_bench_" + uuid.uuid4().hex[:8]
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        print(f"migrating scratch database {name} ...", flush=True)
        migrate(url)
        store = Store(url)
        results = bench_batches(store, args.rows, sizes, "pg")
        values = bench_values_variant(store, args.rows)
        report("PostgreSQL (Store.append_journal, one transaction per batch)", results)
        print(f"\nbatch 1000 as multi-row VALUES instead of unnest: {values:,.0f} rows/s "
              f"(unnest is {results[1000] / values:.2f}× that)")
        if args.writer:
            bench_writer(store, args.rows)
            bench_write_ahead(store, min(args.rows, 20_000))
        store.close()
        if args.sqlite:
            with tempfile.TemporaryDirectory() as tmp:
                lite = f"sqlite:///{tmp}/bench.db"
                migrate(lite)
                s = Store(lite)
                report("SQLite (WAL, synchronous=NORMAL)", bench_batches(s, args.rows, sizes, "sqlite"))
                s.close()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

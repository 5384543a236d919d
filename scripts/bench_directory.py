"""Directory benchmarks (issue 4): operator search over N persons on PostgreSQL and the
two-file import of 14,000 persons.

    scripts/bench directory [--persons 1400000] [--queries 1000] [--baseline-queries 50]
                            [--import-persons 14000] [--skip-search] [--skip-import]

Search: a fresh database on the local PostgreSQL server, migrated (pg_trgm + B-tree
indexes), persons bulk-loaded with COPY (indexes rebuilt after), then search-as-you-type
queries through `DirectoryStore.search` (the whole path: ranking, units, presence)
versus, in the same run, a plain `ILIKE '%…%'` on the names (the baseline).
Import: two CSV files (persons, units) for 24 agencies, `sync.importer.import_files`
into a fresh database: first import, then the same files again (no changes).
"""
from __future__ import annotations

import argparse
import csv
import io
import pathlib
import statistics
import sys
import tempfile
import time
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402

from directory_data import generate, query_kind, typed_queries  # noqa: E402
from engine.directory.searchtext import person_columns  # noqa: E402

ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
COLUMNS = ("tenant", "external_id", "given_name", "family_name", "title", "unit_id", "direct_phone",
           "mobile_phone", "switchboard_phone", "email", "location", "keywords", "substitute_id", "source",
           "operator_notes", "local_keywords", "local_substitute_id", "gone_since", "name_text",
           "family_first", "initials", "search_text", "phones_text", "updated_at")


def say(msg: str) -> None:
    print(f"[bench directory] {msg}", flush=True)


def fresh_database(admin) -> str:
    name = "sentral_bench_" + uuid.uuid4().hex[:8]
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return name


def drop_database(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


def bulk_load(engine, units, persons) -> None:
    import json

    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("INSERT INTO dir_tenants (id, name) VALUES " + ",".join(f"('{t}','{t}')" for t in units))
        unit_names = {}
        buf = io.StringIO()
        for tenant, us in units.items():
            for u in us:
                unit_names[(tenant, u.external_id)] = u.name
                buf.write("\t".join(_copy_text(v) for v in (tenant, u.external_id, u.name, u.parent_id, "", "", "", "import")) + "\n")
        buf.seek(0)
        cur.copy_expert("COPY dir_units (tenant, external_id, name, parent_id, phone, email, location, source) FROM STDIN", buf)
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'dir_persons' "
                    "AND indexname LIKE 'ix_%'")
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
        raw.commit()
        say(f"COPY {len(persons):,} persons (indexes dropped, rebuilt after)")
        started = time.monotonic()
        chunk = 100_000
        for i in range(0, len(persons), chunk):
            buf = io.StringIO()
            for p in persons[i:i + chunk]:
                cols = person_columns(p, unit_names.get((p.tenant, p.unit_id), ""))
                row = (p.tenant, p.external_id, p.given_name, p.family_name, p.title, p.unit_id, p.direct_phone,
                       "", "", p.email, p.location, json.dumps(list(p.keywords), ensure_ascii=False), None,
                       "import", "", "[]", None, None, cols["name_text"], cols["family_first"], cols["initials"],
                       cols["search_text"], cols["phones_text"], "2026-01-01T00:00:00+00")
                buf.write("\t".join(_copy_text(v) for v in row) + "\n")
            buf.seek(0)
            cur.copy_expert(f"COPY dir_persons ({', '.join(COLUMNS)}) FROM STDIN", buf)
            raw.commit()
            say(f"  {min(i + chunk, len(persons)):,}/{len(persons):,} loaded ({time.monotonic() - started:.0f}s)")
        cur.execute("INSERT INTO dir_words SELECT DISTINCT w FROM dir_persons, "
                    "unnest(string_to_array(name_text, ' ')) AS w WHERE length(w) >= 2 ON CONFLICT DO NOTHING")
        raw.commit()
        for name, ddl in indexes:
            t = time.monotonic()
            cur.execute(ddl)
            raw.commit()
            say(f"  index {name} built in {time.monotonic() - t:.0f}s")
        cur.execute("ANALYZE dir_persons")
        cur.execute("ANALYZE dir_units")
        raw.commit()
    finally:
        raw.close()


def _load() -> str:
    with open("/proc/loadavg") as fh:
        return fh.read().split()[0]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def summary(label: str, ms: list[float]) -> str:
    return (f"{label}: n={len(ms)} p50={pct(ms, 50):.1f} ms p90={pct(ms, 90):.1f} ms "
            f"p99={pct(ms, 99):.1f} ms max={max(ms):.1f} ms mean={statistics.mean(ms):.1f} ms")


def bench_search(args, admin) -> None:
    from store.directory_store import DirectoryStore
    from store.migrate import migrate

    if args.reuse:
        url = sa.engine.make_url(ADMIN).set(database=args.reuse).render_as_string(hide_password=False)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM dir_persons")).scalar()
            rows = conn.execute(sa.text("SELECT tenant, external_id, given_name, family_name, direct_phone "
                                        "FROM dir_persons TABLESAMPLE SYSTEM (1) REPEATABLE (4) LIMIT 5000")).all()
        from engine.directory.model import Person
        say(f"reusing {args.reuse}: {count:,} persons")
        measure(args, engine, [Person(t, i, g, f, direct_phone=p) for t, i, g, f, p in rows])
        engine.dispose()
        return
    say(f"generating {args.persons:,} persons (seeded)")
    t = time.monotonic()
    units, persons = generate(args.persons)
    say(f"  generated in {time.monotonic() - t:.0f}s")
    name = fresh_database(admin)
    url = sa.engine.make_url(ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        engine = sa.create_engine(url)
        t = time.monotonic()
        bulk_load(engine, units, persons)
        say(f"loaded and indexed in {time.monotonic() - t:.0f}s")
        measure(args, engine, persons)
        engine.dispose()
    finally:
        if not args.keep:
            drop_database(admin, name)


def measure(args, engine, persons) -> None:
    from store.directory_store import DirectoryStore

    if True:
        queries = typed_queries(persons, args.queries)
        store = DirectoryStore(engine)
        for q in queries[:20]:
            store.search(q)  # warm the cache
        floor = []
        with engine.connect() as conn:
            for _ in range(200):
                t = time.perf_counter()
                conn.execute(sa.text("SELECT 1")).all()
                floor.append((time.perf_counter() - t) * 1000)
        say(summary("machine floor: one 'SELECT 1' round trip", floor))
        ms, empty = [], 0
        cpu = time.process_time()
        for q in queries:
            t = time.perf_counter()
            hits = store.search(q)
            ms.append((time.perf_counter() - t) * 1000)
            empty += not hits
        cpu = time.process_time() - cpu
        say(summary("DirectoryStore.search (indexed, ranked, with presence)", ms))
        say(f"  client CPU per search (Python: ranking, presence, SQLAlchemy): {cpu / len(queries) * 1000:.1f} ms")
        say(f"  queries without any hit: {empty}")
        one = [q for q in queries if not q[-1].isdigit()][: args.baseline_queries]
        ms_one = []
        with engine.connect() as conn:
            for q in one:
                t = time.perf_counter()
                conn.execute(sa.text("SELECT id, given_name, family_name FROM dir_persons "
                                     "WHERE given_name || ' ' || family_name ILIKE :p LIMIT 20"),
                             {"p": f"%{q}%"}).all()
                ms_one.append((time.perf_counter() - t) * 1000)
        say(summary("baseline ILIKE '%q%' on the names (no ranking)", ms_one))
        say(f"ratio p50 baseline/indexed: {pct(ms_one, 50) / pct(ms, 50):.0f}x, "
            f"p99: {pct(ms_one, 99) / pct(ms, 99):.0f}x")
        by_len: dict[str, list[float]] = {}
        for q, m in zip(queries, ms):
            by_len.setdefault(query_kind(q), []).append(m)
        for kind, values in sorted(by_len.items()):
            say("  " + summary(kind, values))
        say(f"load average during the run: {_load()} (2 cores)")


def write_files(directory: pathlib.Path, units, persons) -> tuple[pathlib.Path, pathlib.Path]:
    up, pp = directory / "units.csv", directory / "persons.csv"
    with open(up, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["tenant", "id", "name", "parent_id"])
        for tenant, us in units.items():
            for u in us:
                w.writerow([tenant, u.external_id, u.name, u.parent_id or ""])
    with open(pp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["tenant", "id", "given_name", "family_name", "title", "unit_id", "direct_phone", "email",
                    "location", "keywords"])
        for p in persons:
            w.writerow([p.tenant, p.external_id, p.given_name, p.family_name, p.title, p.unit_id,
                        p.direct_phone[3:], p.email, p.location, "|".join(p.keywords)])
    return pp, up


def bench_import(args, admin) -> None:
    from store.directory_store import DirectoryStore
    from store.migrate import migrate
    from sync.importer import import_files

    units, persons = generate(args.import_persons, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        pp, up = write_files(pathlib.Path(tmp), units, persons)
        say(f"import files: {pp.stat().st_size / 1e6:.1f} MB persons, {up.stat().st_size / 1e3:.0f} kB units, "
            f"{len(persons):,} persons in {len(units)} agencies")
        for kind in ("postgresql", "sqlite"):
            name = None
            if kind == "postgresql":
                name = fresh_database(admin)
                url = sa.engine.make_url(ADMIN).set(database=name).render_as_string(hide_password=False)
            else:
                url = f"sqlite:///{tmp}/bench.db"
            try:
                migrate(url)
                from store.database import create_engine
                engine = create_engine(url)
                store = DirectoryStore(engine)
                for label in ("first import", "same files again", "dry run"):
                    t, cpu = time.monotonic(), time.process_time()
                    reports = import_files(store, "*", pp, up, dry_run=label == "dry run")
                    took, cpu = time.monotonic() - t, time.process_time() - cpu
                    added = sum(len(r.persons.added) for r in reports)
                    unchanged = sum(r.persons.unchanged for r in reports)
                    say(f"{kind}: {label}: {took:.2f}s wall, {cpu:.2f}s CPU of this process "
                        f"({added:,} added, {unchanged:,} unchanged)")
                engine.dispose()
                say(f"load average: {_load()} (2 cores)")
            finally:
                if name:
                    drop_database(admin, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=1_400_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--baseline-queries", type=int, default=50)
    parser.add_argument("--import-persons", type=int, default=14_000)
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the search database")
    parser.add_argument("--reuse", metavar="DBNAME", help="search an existing (kept) database instead of loading")
    args = parser.parse_args()
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    if not args.skip_import:
        bench_import(args, admin)
    if not args.skip_search:
        bench_search(args, admin)
    return 0


if __name__ == "__main__":
    sys.exit(main())

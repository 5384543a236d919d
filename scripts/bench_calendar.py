"""Benchmark: full and incremental calendar sync of 14,000 calendars (scripts/bench calendar).

What is measured: the product path end to end — `sync.calendar.runner.CalendarSource`
with one `IcsFeed` per person, fetching over real HTTP from a LOCAL server (the
gevent WSGI server in a subprocess serving generated .ics files with ETags,
answering If-None-Match with 304), parsing, expanding recurrences in the window
(now − 1 day … now + 60 days), classifying, and writing the absences with
`DirectoryStore.replace_source_absences` (SQLite file by default, or --database URL).
The 24 agencies are split over `--workers` processes (default: the CPU count); each
process fetches through a gevent pool.

Calendars are generated with a fixed seed: per person 10–40 past meetings (the last 60 days, as published calendars carry) with
organiser/attendees/description/alarms (history), a daily stand-up, a weekly meeting
with an EXDATE and a moved occurrence (RECURRENCE-ID), a monthly BYDAY series, 5–15
upcoming meetings (some private, tentative or free), vacations/sick days (all-day,
multi-day), 20 % of persons with Outlook-style Windows TZIDs.

Incremental round: `--changed` (default 2 %) of the calendars get a new event and a
newer modification time; the rest answer 304.

Baseline, same run: the plain library path (`icalendar.Calendar.from_ical` +
`recurring_ical_events.of(cal).between()` on the whole text, no pre-scan) on a sample
of calendars, against the product's parse + expand on the same sample.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

NOW = datetime(2026, 3, 16, 7, 0, tzinfo=timezone.utc)
AGENCIES = 24
SUBJECTS = ["Møte", "Prosjektmøte", "Kundemøte", "Budsjett", "1:1", "Planlegging", "Workshop",
            "Lunsj med kunde", "Tannlege", "Kurs i arkivloven", "Styremøte", "Avklaring"]
WIN_TZ = "W. Europe Standard Time"


def _event(lines, uid, start, end, summary, tzid, extra=(), rng=None, heavy=False):
    fmt = "%Y%m%dT%H%M%S"
    lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
              f"DTSTART;TZID={tzid}:{start:{fmt}}", f"DTEND;TZID={tzid}:{end:{fmt}}",
              f"SUMMARY:{summary}", *extra]
    if heavy and rng is not None:
        lines.append("ORGANIZER;CN=Kari Nordmann:mailto:kari.nordmann@example.no")
        for k in range(rng.randint(2, 8)):
            lines.append(f"ATTENDEE;CN=Deltaker {k};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;"
                         f"RSVP=TRUE:mailto:deltaker{k}@example.no")
        lines += ["LOCATION:Møterom 4.12", "DESCRIPTION:Agenda:\\n1. Status\\n2. Videre arbeid\\n"
                  "3. Eventuelt. Se vedlagt dokument i saksbehandlingssystemet."]
        if rng.random() < 0.5:
            lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Påminnelse",
                      "TRIGGER:-PT15M", "END:VALARM"]
    lines.append("END:VEVENT")


def generate(person: int, seed: int, version: int = 0) -> bytes:
    rng = random.Random(seed * 1_000_003 + person)
    tzid = WIN_TZ if rng.random() < 0.2 else "Europe/Oslo"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Sentral bench//NO", "CALSCALE:GREGORIAN"]
    monday = datetime(2026, 3, 16)
    for k in range(rng.randint(10, 40)):                        # history: the past 60 days
        s = monday - timedelta(days=rng.randint(3, 60), hours=-rng.randint(8, 15))
        _event(lines, f"p{person}-h{k}", s, s + timedelta(minutes=rng.choice([30, 60, 90])),
               rng.choice(SUBJECTS), tzid, rng=rng, heavy=True)
    start = monday - timedelta(days=rng.randint(30, 400)) + timedelta(hours=8, minutes=30)
    _event(lines, f"p{person}-standup", start, start + timedelta(minutes=15), "Standup", tzid,
           ["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"])
    weekly = monday + timedelta(days=rng.randint(0, 4) - 56, hours=13)
    _event(lines, f"p{person}-weekly", weekly, weekly + timedelta(hours=1), "Avdelingsmøte", tzid,
           ["RRULE:FREQ=WEEKLY", f"EXDATE;TZID={tzid}:{weekly + timedelta(weeks=9):%Y%m%dT%H%M%S}"])
    moved = weekly + timedelta(weeks=10)
    _event(lines, f"p{person}-weekly", moved + timedelta(hours=2), moved + timedelta(hours=3),
           "Avdelingsmøte (flyttet)", tzid, [f"RECURRENCE-ID;TZID={tzid}:{moved:%Y%m%dT%H%M%S}"])
    _event(lines, f"p{person}-monthly", monday + timedelta(hours=10), monday + timedelta(hours=12),
           "Ledermøte", tzid, ["RRULE:FREQ=MONTHLY;BYDAY=1TU;COUNT=12"])
    for k in range(rng.randint(5, 15) + version):             # upcoming
        s = monday + timedelta(days=rng.randint(-1, 60), hours=rng.randint(8, 15))
        extra = rng.choice([[], [], [], ["CLASS:PRIVATE"], ["STATUS:TENTATIVE"], ["TRANSP:TRANSPARENT"]])
        _event(lines, f"p{person}-u{k}", s, s + timedelta(minutes=rng.choice([30, 60, 120])),
               rng.choice(SUBJECTS), tzid, extra, rng=rng, heavy=rng.random() < 0.5)
    if rng.random() < 0.3:
        first = monday.date() + timedelta(days=rng.randint(0, 45))
        lines += ["BEGIN:VEVENT", f"UID:p{person}-ferie", f"DTSTART;VALUE=DATE:{first:%Y%m%d}",
                  f"DTEND;VALUE=DATE:{first + timedelta(days=rng.randint(3, 14)):%Y%m%d}",
                  "SUMMARY:Ferie", "X-MICROSOFT-CDO-BUSYSTATUS:OOF", "END:VEVENT"]
    if rng.random() < 0.05:
        lines += ["BEGIN:VEVENT", f"UID:p{person}-syk", "DTSTART;VALUE=DATE:20260316",
                  "DTEND;VALUE=DATE:20260318", "SUMMARY:Syk", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def tenant_of(person: int) -> str:
    return f"agency{person % AGENCIES + 1:02d}"


def serve(directory: str, port: int) -> None:
    """The local feed server: gevent WSGI, strong ETag from size+mtime, 304 on If-None-Match.

    (The standard library's http.server needs ~14 ms per request here, which would
    measure the test server rather than the sync.)"""
    from gevent import monkey
    monkey.patch_all()
    from gevent.pywsgi import WSGIServer

    def app(environ, start_response):
        name = os.path.basename(environ.get("PATH_INFO", ""))
        path = os.path.join(directory, name)
        try:
            st = os.stat(path)
        except OSError:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        etag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
        if environ.get("HTTP_IF_NONE_MATCH") == etag:
            start_response("304 Not Modified", [("ETag", etag), ("Connection", "close")])
            return [b""]
        with open(path, "rb") as fh:
            body = fh.read()
        start_response("200 OK", [("Content-Type", "text/calendar; charset=utf-8"),
                                  ("ETag", etag), ("Content-Length", str(len(body))),
                                  ("Connection", "close")])
        return [body]

    class NoDelayServer(WSGIServer):
        def handle(self, sock, address):          # headers and body go out without Nagle delay
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return super().handle(sock, address)

    NoDelayServer(("127.0.0.1", port), app, log=None).serve_forever()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(job):
    """One process: sync the given tenants; returns states, counts, time and peak RSS."""
    from gevent import monkey
    monkey.patch_all()
    from store.database import create_engine
    from store.directory_store import DirectoryStore
    from sync.calendar.feed import IcsFeed
    from sync.calendar.runner import CalendarSource

    tenants, people, base_url, db_url, states, concurrency = job
    store = DirectoryStore(create_engine(db_url))
    session = __import__("requests").Session()
    adapter = __import__("requests").adapters.HTTPAdapter(pool_maxsize=concurrency)
    session.mount("http://", adapter)
    out_states, totals = {}, {"fetched": 0, "changed": 0, "unchanged": 0, "absences": 0}
    started = time.perf_counter()
    for tenant in tenants:
        fetchers = {f"p{p:05d}": IcsFeed(f"{base_url}/p{p:05d}.ics", tenant=tenant,
                                          person_id=f"p{p:05d}", name=f"ical:{tenant}",
                                          session=session)
                    for p in people[tenant]}
        source = CalendarSource(tenant, f"ical:{tenant}", fetchers, concurrency=concurrency,
                                states=dict(states.get(tenant, {})))
        t_tenant = time.perf_counter()
        report = source.run(store, NOW)
        print(f"    {tenant}: {report.fetched} calendars, {report.changed} changed, "
              f"{report.absences} absences in {time.perf_counter() - t_tenant:.1f} s", flush=True)
        out_states[tenant] = source.states
        for key in totals:
            totals[key] += getattr(report, key)
    elapsed = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out_states, totals, elapsed, rss_mb


def sync_round(label, pool, shards, people, base_url, db_url, states, concurrency):
    jobs = [(shard, people, base_url, db_url, states, concurrency) for shard in shards]
    t0 = time.perf_counter()
    new_states, totals, peak = {}, {"fetched": 0, "changed": 0, "unchanged": 0, "absences": 0}, []
    for done, (st, tot, elapsed, rss) in enumerate(pool.imap_unordered(worker, jobs), start=1):
        new_states.update(st)
        for key in totals:
            totals[key] += tot[key]
        peak.append(rss)
        print(f"  [{label}] worker {done}/{len(jobs)} done in {elapsed:.1f} s "
              f"({tot['fetched']} calendars, peak RSS {rss:.0f} MB)", flush=True)
    wall = time.perf_counter() - t0
    return new_states, totals, wall, peak


def baseline(sample: list[bytes]):
    import icalendar
    import recurring_ical_events

    from sync.calendar.expand import Window, absences_from_ics
    window = Window(NOW - timedelta(days=1), NOW + timedelta(days=60))
    t0 = time.perf_counter()
    plain = 0
    for text in sample:
        plain += len(recurring_ical_events.of(icalendar.Calendar.from_ical(text)).between(
            window.start, window.end))
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = sum(len(absences_from_ics(text, window, tenant="t", person_id="p", source="s"))
               for text in sample)
    t_ours = time.perf_counter() - t0
    return t_plain, t_ours, plain, ours


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calendars", type=int, default=14_000)
    parser.add_argument("--changed", type=float, default=0.02, help="share changed before round 2")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--concurrency", type=int, default=8, help="HTTP fetches in flight per worker")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temp SQLite file)")
    parser.add_argument("--sample", type=int, default=300, help="calendars in the baseline sample")
    parser.add_argument("--serve", nargs=2, metavar=("DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return 0

    from store import migrate
    tmp = tempfile.mkdtemp(prefix="bench-calendar-")
    served = os.path.join(tmp, "ics")
    os.makedirs(served)
    server = None
    try:
        print(f"load average at start: {os.getloadavg()}", flush=True)
        print(f"generating {args.calendars} calendars (seed {args.seed}) ...", flush=True)
        t0 = time.perf_counter()
        total_bytes = 0
        for p in range(args.calendars):
            data = generate(p, args.seed)
            total_bytes += len(data)
            with open(os.path.join(served, f"p{p:05d}.ics"), "wb") as fh:
                fh.write(data)
            if (p + 1) % 2000 == 0:
                print(f"  {p + 1}/{args.calendars}", flush=True)
        print(f"  {total_bytes / 1e6:.0f} MB of iCalendar in {time.perf_counter() - t0:.0f} s", flush=True)

        port = free_port()
        server = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", served,
                                   str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        db_url = args.database or f"sqlite:///{os.path.join(tmp, 'bench.db')}"
        migrate(db_url)

        people: dict[str, list[int]] = {}
        for p in range(args.calendars):
            people.setdefault(tenant_of(p), []).append(p)
        tenants = sorted(people)
        shards = [tenants[i::args.workers] for i in range(args.workers)]

        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(args.workers) as pool:
            print(f"full round: {args.calendars} calendars, {args.workers} workers ...", flush=True)
            states, full, t_full, rss_full = sync_round("full", pool, shards, people, base_url,
                                                        db_url, {}, args.concurrency)
            rng = random.Random(args.seed)
            changed = rng.sample(range(args.calendars), int(args.calendars * args.changed))
            for p in changed:
                with open(os.path.join(served, f"p{p:05d}.ics"), "wb") as fh:
                    fh.write(generate(p, args.seed, version=1))
            print(f"incremental round: {len(changed)} calendars changed ...", flush=True)
            _, inc, t_inc, rss_inc = sync_round("incremental", pool, shards, people, base_url,
                                                db_url, states, args.concurrency)

        sample = [generate(p, args.seed) for p in range(min(args.sample, args.calendars))]
        print(f"baseline: plain icalendar + recurring_ical_events.between() on {len(sample)} calendars ...",
              flush=True)
        t_plain, t_ours, n_plain, n_ours = baseline(sample)

        print()
        print(f"machine: {os.cpu_count()} cores, load average at the end {os.getloadavg()} "
              f"(other jobs on the machine slow every number down)")
        print(f"full round        {t_full:7.1f} s  {full['fetched']} calendars, {full['changed']} changed, "
              f"{full['absences']} absences written; peak RSS per worker "
              f"{max(rss_full):.0f} MB  (goal < 120 s)")
        print(f"incremental round {t_inc:7.1f} s  {inc['changed']} changed, {inc['unchanged']} not "
              f"modified, {inc['absences']} absences written; peak RSS per worker {max(rss_inc):.0f} MB"
              f"  (goal < 10 s)")
        print(f"parse+expand per calendar: plain library {t_plain / len(sample) * 1000:.1f} ms "
              f"({n_plain} occurrences incl. free/tentative), product {t_ours / len(sample) * 1000:.1f} ms "
              f"({n_ours} absences): {t_plain / t_ours:.1f}x faster")
        return 0
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

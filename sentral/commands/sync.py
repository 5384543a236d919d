"""`sentral sync run|serve|status`: directory and calendar sync from a sources file.

- `run SOURCES [--tenant T] [--source NAME]`: one round of each selected source now,
  with progress; exit 1 if any round failed (its error names source and entry/line).
- `serve SOURCES`: run every source on its interval until interrupted (gevent).
- `status [--tenant T]`: last success / last error per source, from the database.
"""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("sync", help="directory (LDAP/AD) and calendar sync from a sources file")
    ssub = p.add_subparsers(dest="sync_command", metavar="ACTION")
    url_help = "database URL (default: $SENTRAL_DATABASE_URL, else sqlite:///var/sentral.db)"
    r = ssub.add_parser("run", help="one round of each source now, with progress")
    r.add_argument("sources", metavar="SOURCES", help="the sources YAML file (docs/sync.md)")
    r.add_argument("--tenant", help="only this tenant's sources")
    r.add_argument("--source", help="only the source with this name")
    r.add_argument("--url", help=url_help)
    r.add_argument("--allow-mass-removal", action="store_true",
                   help="let this round mark any share of a directory source's persons gone "
                        "(refused above the source's max_removal_share, default 20 %%)")
    r.set_defaults(handler=run)
    s = ssub.add_parser("serve", help="run every source on its interval until interrupted")
    s.add_argument("sources", metavar="SOURCES")
    s.add_argument("--url", help=url_help)
    s.set_defaults(handler=serve)
    st = ssub.add_parser("status", help="last success and last error of each source")
    st.add_argument("--tenant")
    st.add_argument("--url", help=url_help)
    st.set_defaults(handler=status)
    p.set_defaults(handler=lambda args: p.print_help() or 2)


def _store(url):
    from store.database import create_engine
    from store.directory_store import DirectoryStore
    from store.migrate import migrate
    migrate(url)
    return DirectoryStore(create_engine(url))


def _jobs(args, store):
    from sync.sources import build_job, load_specs
    specs, state_dir = load_specs(args.sources)
    specs = [s for s in specs if (not getattr(args, "tenant", None) or s.tenant == args.tenant)
             and (not getattr(args, "source", None) or s.name == args.source)]
    allow = getattr(args, "allow_mass_removal", False)
    return [(spec, build_job(spec, store, state_dir, allow_mass_removal=allow)) for spec in specs]


def _status_sink(store, jobs):
    """Each round's outcome: the source's status row, and one system event for the uptime
    and fault reports ('sync:<tenant>/<source>' heartbeat or failed, with the job's
    interval); an event that cannot be written is logged, the sync goes on."""
    import logging

    from store import system_events

    intervals = {(j.tenant, j.name): j.interval for j in jobs}

    def sink(tenant: str, source: str, ok: bool, error: str = "", at=None) -> None:
        store.record_source_status(tenant, source, ok=ok, error=error, at=at)
        data = {"interval": intervals.get((tenant, source))}
        if not ok:
            data["error"] = error[:500]
        event = system_events.SystemEvent(at or store.clock(), f"sync:{tenant}/{source}",
                                          "heartbeat" if ok else "failed", data)
        try:
            with store.engine.begin() as conn:
                system_events.append(conn, [event])
        except Exception as exc:  # noqa: BLE001 - the event log must not stop the sync
            logging.getLogger(__name__).warning("sync %s/%s: system event not written: %s", tenant, source, exc)
    return sink


def run(args) -> int:
    from sync.scheduler import Scheduler
    from sync.sources import SourceConfigError
    try:
        store = _store(args.url)
        jobs = _jobs(args, store)
    except SourceConfigError as exc:
        print(f"error [{exc.error_id}]: {exc}", file=sys.stderr)
        return 2
    if not jobs:
        print("no matching sources", file=sys.stderr)
        return 2
    scheduler = Scheduler([j for _s, j in jobs], status_sink=_status_sink(store, [j for _s, j in jobs]))
    failed = 0
    for n, (spec, job) in enumerate(jobs, start=1):
        print(f"[{n}/{len(jobs)}] {spec.tenant} {spec.name} ({spec.kind}) ...", flush=True)
        result = scheduler.run_once(job)
        if result.last_error and result.last_error_at and (
                not result.last_success or result.last_error_at >= result.last_success):
            failed += 1
            print(f"  FAILED: {result.last_error}", flush=True)
        else:
            print(f"  ok: {result.last_summary}", flush=True)
    return 1 if failed else 0


def serve(args) -> int:
    from gevent import monkey
    monkey.patch_all()
    import gevent

    from sync.scheduler import Scheduler
    store = _store(args.url)
    jobs = [j for _s, j in _jobs(args, store)]
    scheduler = Scheduler(jobs, status_sink=_status_sink(store, jobs))
    print(f"running {len(scheduler.jobs)} source(s); Ctrl-C stops", flush=True)
    scheduler.start()
    try:
        gevent.wait()
    except KeyboardInterrupt:
        scheduler.stop()
    return 0


def status(args) -> int:
    store = _store(args.url)
    rows = store.source_statuses(args.tenant)
    for r in rows:
        ok = r.last_success.isoformat(timespec="seconds") if r.last_success else "never"
        err = f"; last error {r.last_error_at:%Y-%m-%d %H:%M}: {r.last_error}" if r.last_error_at else ""
        print(f"{r.tenant:<12} {r.source:<30} last success {ok}{err}")
    if not rows:
        print("no source has run yet")
    return 0

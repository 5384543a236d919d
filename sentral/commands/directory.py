"""`sentral directory ...`: import the directory files, search like an operator.

    sentral directory import PERSONS UNITS [SERVICES] --tenant T [--dry-run] [--allow-mass-removal] [--db URL]
    sentral directory search "QUERY" [--tenant T] [--json] [--limit N] [--db URL]
    sentral directory purge-gone [--days 90] [--db URL]
    sentral directory web [--db URL] [--port 8081] [--allow CIDR ...]

Exit codes: 0 done, 1 invalid input (every problem printed as file:line: what) or a database
without the schema (one line saying to run `sentral db upgrade`), 2 usage.
"""
from __future__ import annotations

import json
import sys
import time

DB_HELP = "database URL (default: $SENTRAL_DATABASE_URL, else sqlite:///var/sentral.db)"


def register(sub) -> None:
    p = sub.add_parser("directory", help="directory: import files, search persons and services")
    dsub = p.add_subparsers(dest="directory_command", metavar="ACTION")

    imp = dsub.add_parser("import", help="import a persons file, a units file and optionally a services file "
                                         "(CSV or JSON), all-or-nothing",
                          description="Import persons, organisation units and services (docs/directory.md, "
                                      "'Import format'). Persons no longer in the file are marked gone; units and "
                                      "services no longer in theirs are removed.")
    imp.add_argument("persons", help="persons file (.csv with ; or , / .json)")
    imp.add_argument("units", help="organisation units file (.csv / .json)")
    imp.add_argument("services", nargs="?", help="services file (.csv / .json), optional: without it the "
                                                 "stored services are not touched")
    imp.add_argument("--tenant", required=True, help="tenant (agency) id; '*' = every tenant in the files' tenant column")
    imp.add_argument("--tenant-name", default="", help="display name of the tenant")
    imp.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")
    imp.add_argument("--allow-mass-removal", action="store_true",
                     help="allow marking more than --max-removal-share of a tenant's persons gone (or removing "
                          "as many of its services) "
                          "(refused by default: a persons file with only a header is a broken export)")
    imp.add_argument("--max-removal-share", type=float, default=20.0, metavar="PERCENT",
                     help="the share of a tenant's persons one import may mark gone (default 20)")
    imp.add_argument("--db", "--url", dest="db", help=DB_HELP)
    imp.set_defaults(handler=import_command)

    se = dsub.add_parser("search", help="search persons and services as an operator would, with presence")
    se.add_argument("query")
    se.add_argument("--tenant", help="limit to one tenant (default: all agencies)")
    se.add_argument("--limit", type=int, default=20)
    se.add_argument("--json", action="store_true", help="machine-readable output")
    se.add_argument("--db", "--url", dest="db", help=DB_HELP)
    se.set_defaults(handler=search_command)

    pg = dsub.add_parser("purge-gone", help="delete persons marked gone longer than the retention period",
                         description="Persons no longer delivered by their source stay findable, marked gone, "
                                     "for the retention period; this deletes them after it.")
    pg.add_argument("--days", type=int, default=90, help="retention period in days (default 90)")
    pg.add_argument("--db", "--url", dest="db", help=DB_HELP)
    pg.set_defaults(handler=purge_command)

    web = dsub.add_parser("web", help="serve the web directory (public search, maintenance, absence) alone",
                          description="Serve the directory web modules on 127.0.0.1 (development and demo; "
                                      "production runs them inside the console process).")
    web.add_argument("--db", "--url", dest="db", help=DB_HELP)
    web.add_argument("--port", type=int, default=8081)
    web.add_argument("--allow", action="append", default=None, metavar="CIDR",
                     help="network allowed to use the public search (repeatable; default 127.0.0.0/8)")
    web.add_argument("--insecure-cookies", action="store_true", help="allow session cookies over plain HTTP")
    web.set_defaults(handler=web_command)
    p.set_defaults(handler=lambda args: p.print_help() or 2)


def _progress(stage: str, done: int, total: int) -> None:
    print(f"[import] {stage}: {done}/{total}", file=sys.stderr, flush=True)


def import_command(args) -> int:
    from engine.directory.model import MassRemovalRefused
    from store.database import create_engine, resolve_url
    from store.directory_store import DirectoryStore
    from store.migrate import migrate
    from sync.formats import ImportFileError
    from sync.importer import import_files

    url = resolve_url(args.db)
    migrate(url)
    engine = create_engine(url)
    started = time.monotonic()
    try:
        reports = import_files(DirectoryStore(engine), args.tenant, args.persons, args.units,
                               dry_run=args.dry_run, tenant_name=args.tenant_name, progress=_progress,
                               max_removal_share=None if args.allow_mass_removal else args.max_removal_share / 100,
                               services_path=args.services)
    except ImportFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"import refused: {len(exc.problems)} problem(s); nothing was written", file=sys.stderr)
        return 1
    except MassRemovalRefused as exc:
        print(f"import refused: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    for report in reports:
        print("\n".join(report.lines()))
    print(f"done in {time.monotonic() - started:.1f}s" + (" (dry run: nothing written)" if args.dry_run else ""))
    return 0


def search_command(args) -> int:
    from engine.directory.ranking import hit_dict
    from sentral.commands.db import schema_problem
    from store.database import create_engine
    from store.directory_store import DirectoryStore

    if problem := schema_problem(args.db):
        print(problem, file=sys.stderr)
        return 1
    engine = create_engine(args.db)
    try:
        hits = DirectoryStore(engine).search(args.query, tenant=args.tenant, limit=args.limit)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps([hit_dict(h) for h in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("no hits")
    for h in hits:
        d = hit_dict(h)
        phone = d.get("direct_phone") or d.get("phone") or d.get("switchboard_phone") or ""
        presence = h.presence.label if h.presence else ""
        extra = f" — substitute {h.substitute_name}" if h.substitute_name and presence != "free" else ""
        print(f"{h.tenant:10} {h.name:28} {d.get('title', 'service'):24} {h.unit_name:24} {phone:14} "
              f"{presence}{extra}".rstrip())
    return 0


def web_command(args) -> int:
    import os
    import secrets

    from agent_ui.app import WebConfig, WebServices, create_app
    from store.database import resolve_url
    from store.directory_store import DirectoryStore
    from store.store import Store

    store = Store(resolve_url(args.db), migrate=True)
    config = WebConfig(secret_key=os.environ.get("SENTRAL_WEB_SECRET") or secrets.token_hex(32),
                       public_networks=tuple(args.allow or ("127.0.0.0/8", "::1/128")),
                       secure_cookies=not args.insecure_cookies)
    app = create_app(config, WebServices(directory=DirectoryStore(store.engine), users=store))
    print(f"directory web on http://127.0.0.1:{args.port}/directory/", flush=True)
    try:
        app.run(host="127.0.0.1", port=args.port)
    finally:
        store.close()
    return 0


def purge_command(args) -> int:
    from datetime import datetime, timedelta, timezone

    from sentral.commands.db import schema_problem
    from store.database import create_engine
    from store.directory_store import DirectoryStore

    if problem := schema_problem(args.db):
        print(problem, file=sys.stderr)
        return 1
    engine = create_engine(args.db)
    try:
        removed = DirectoryStore(engine).purge_gone(datetime.now(timezone.utc) - timedelta(days=args.days))
    finally:
        engine.dispose()
    print(f"{removed} person(s) gone for more than {args.days} days deleted")
    return 0

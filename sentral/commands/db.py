"""`sentral db ...`: database schema management (Alembic, driven from code)."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("db", help="database schema: upgrade, current revision, model check")
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION")
    url_help = "database URL (default: $SENTRAL_DATABASE_URL, else sqlite:///var/sentral.db)"

    up = dbsub.add_parser("upgrade", help="migrate the database to the newest schema (creates it if empty)")
    up.add_argument("--url", help=url_help)
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(handler=upgrade)

    cur = dbsub.add_parser("current", help="print the database's schema revision and the newest one")
    cur.add_argument("--url", help=url_help)
    cur.set_defaults(handler=current)

    chk = dbsub.add_parser("check", help="compare the migrated schema with the models (exit 1 on drift)")
    chk.add_argument("--url", help=url_help)
    chk.set_defaults(handler=check)
    p.set_defaults(handler=lambda args: p.print_help() or 2)


def upgrade(args) -> int:
    from store.database import resolve_url, safe_url
    from store.migrate import current_revision, migrate

    url = resolve_url(args.url)
    print(f"upgrading {safe_url(url)} to {args.revision} ...", flush=True)
    migrate(url, args.revision)
    print(f"database is at revision {current_revision(url)}")
    return 0


def current(args) -> int:
    from store.database import resolve_url, safe_url
    from store.migrate import current_revision, head_revision

    url = resolve_url(args.url)
    print(f"{safe_url(url)}: revision {current_revision(url) or '(empty)'}; newest {head_revision()}")
    return 0


def check(args) -> int:
    from store.migrate import schema_differences

    diffs = schema_differences(args.url)
    for diff in diffs:
        print(diff)
    print("schema matches the models" if not diffs else f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


def schema_problem(url: str | None) -> str | None:
    """One line saying why the database at `url` cannot serve a command that reads the
    schema (missing file, empty, older revision, unreachable), or None when it can.
    A missing SQLite file is not created: asking must not leave an empty database."""
    import os

    import sqlalchemy as sa

    from store.database import resolve_url, safe_url
    from store.migrate import current_revision, head_revision

    url = resolve_url(url)
    shown = safe_url(url)
    fix = "run `sentral db upgrade" + (f" --url {shown}`" if url != resolve_url(None) else "`")
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not parsed.database.startswith("file:") and not os.path.exists(parsed.database):
        return f"no database at {parsed.database}: {fix} (or `sentral directory import`) first"
    try:
        have = current_revision(url)
    except (sa.exc.SQLAlchemyError, ImportError) as exc:
        cause = getattr(exc, "orig", None) or exc
        return f"cannot open the database {shown}: {str(cause).strip().splitlines()[0][:200] if str(cause) else type(cause).__name__}"
    head = head_revision()
    if have is None:
        return f"the database {shown} has no schema yet: {fix}"
    if have != head:
        return f"the database {shown} is at schema revision {have}, this version needs {head}: {fix}"
    return None

"""`sentral tenant onboard`: a new client agency in one command, all or nothing.

    sentral tenant onboard CONFIG PERSONS UNITS [SERVICES] --deployment FILE [--db URL] [--dry-run]

CONFIG is the agency's tenant file (one tenant, like dialplan/examples/demo-tenants/*.yaml);
PERSONS, UNITS and SERVICES are the directory import files (docs/directory.md).

Steps, in this order:
1. the tenant file is checked together with the whole deployment (dialplan.loader.load
   with the file as a candidate): a tenant id, main number, queue id, direct-dial pattern
   or extension that another tenant has is refused with both places (file:line);
2. the directory files are checked (the import's checks, every problem as file:line);
3. in ONE database transaction: the directory import (persons, units, services, with the
   mass-removal guard), the tenant in the directory's tenant table, the audit entry
   (`tenant.onboard`, actor `cli:<login>`); then the tenant file is copied into the
   deployment's place for tenants (PLACE below) and only then the transaction commits.
   A failure anywhere leaves no tenant file and no database change;
4. the running engine takes the new tenant on SIGHUP (`kill -HUP <pid of sentral run>`).
`--dry-run` does steps 1-3 in a transaction it rolls back and writes no file: it prints
exactly what would be done.

PLACE: the deployment's first `include:` entry that is a directory (`<dir>/<id>.yaml`),
else the override directory: `<deployment without .yaml>.d/tenants/<id>.yaml` plus the
override file `<...>.d/tenant-<id>.yaml` that includes it.
The database: --db, else the deployment's (with $SENTRAL_DATABASE_URL over it), else
sqlite:///var/sentral.db.
Exit codes: 0 done, 1 refused (invalid tenant file, collision, invalid directory files,
mass removal, target exists), 2 usage.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile

RELOAD_HINT = "send SIGHUP to reload: kill -HUP <pid of sentral run>"


def register(sub) -> None:
    p = sub.add_parser("tenant", help="client agencies: onboard one in one step")
    tsub = p.add_subparsers(dest="tenant_command", metavar="ACTION")
    on = tsub.add_parser("onboard", help="add an agency: tenant file + directory files, all or nothing",
                         description="Check the tenant file with the deployment and the directory files, then "
                                     "import the directory and copy the tenant file into the deployment "
                                     "(docs/accounts.md, 'Onboarding an agency').")
    on.add_argument("config", help="the agency's tenant file (YAML, one tenant)")
    on.add_argument("persons", help="persons file (.csv / .json)")
    on.add_argument("units", help="organisation units file (.csv / .json)")
    on.add_argument("services", nargs="?", help="services file (.csv / .json), optional")
    on.add_argument("--deployment", default=os.environ.get("SENTRAL_CONFIG") or None, metavar="FILE",
                    help="the deployment file `sentral run --config` uses (default $SENTRAL_CONFIG)")
    on.add_argument("--db", "--url", dest="db", help="database URL (default: the deployment's)")
    on.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    on.set_defaults(handler=onboard_command)
    p.set_defaults(handler=lambda args: p.print_help() or 2)


class Refused(Exception):
    """Onboarding refused; the message (and any problem lines) say why."""

    def __init__(self, message: str, lines: list[str] | None = None):
        super().__init__(message)
        self.lines = lines or []


TENANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def _tenant_of(path: str) -> tuple[str, str]:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise Refused(f"{path}: cannot read the tenant file: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not doc["id"]:
        raise Refused(f"{path}: a tenant file is one mapping with an `id` (like dialplan/examples/demo-tenants/)")
    if not TENANT_ID.fullmatch(doc["id"]):      # it names files: no newline, slash or other letters
        raise Refused(f"{path}: the tenant id {doc['id']!r} is not an id: ASCII letters, digits, '_', '-', '.' "
                      "(at most 63), starting with a letter or digit")
    return doc["id"], str(doc.get("name") or doc["id"])


def place_for(deployment: str, tenant_id: str) -> tuple[str, str | None, str]:
    """(tenant file target, override stub path or None, stub text) for this deployment."""
    import yaml

    try:
        with open(deployment, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError):
        doc = {}
    base = os.path.dirname(deployment)
    for entry in (doc.get("include") or []) if isinstance(doc, dict) else []:
        if isinstance(entry, str) and os.path.isdir(os.path.join(base, entry)):
            return os.path.join(base, entry, f"{tenant_id}.yaml"), None, ""
    folder = os.path.splitext(deployment)[0] + ".d"
    stub = (f"# written by `sentral tenant onboard`: the tenant {tenant_id}\n"
            f"include:\n  - tenants/{tenant_id}.yaml\n")
    return os.path.join(folder, "tenants", f"{tenant_id}.yaml"), os.path.join(folder, f"tenant-{tenant_id}.yaml"), stub


def check_config(deployment: str, tenant_file: str):
    """The deployment as it would load with the tenant file added; Refused with every problem."""
    from dialplan.errors import ConfigError
    from dialplan.loader import load
    from dialplan.yamlnodes import Findings

    findings = Findings()
    with tempfile.TemporaryDirectory(prefix="sentral-onboard-") as tmp:
        stub = os.path.join(tmp, "candidate.yaml")
        with open(stub, "w", encoding="utf-8") as fh:
            fh.write(f"include:\n  - {os.path.abspath(tenant_file)!r}\n")
        try:
            loaded = load(deployment, require_env=False, unset_env=[], extra=(stub,), findings=findings)
        except ConfigError as exc:
            raise Refused(f"the tenant file does not fit the deployment: {len(exc.problems)} problem(s)",
                          exc.report().splitlines()) from None
    # A direct-dial pattern or main number that also matches another tenant's is only a
    # warning for `config check` (the first wins); a new agency must not take others' numbers.
    mine = os.path.abspath(tenant_file)
    overlaps = [w for w in findings.warnings if w.code == "pattern-overlap"
                and (os.path.abspath(w.file) == mine) != (mine in w.message)]
    if overlaps:
        raise Refused(f"the tenant file's numbers collide with another tenant's: {len(overlaps)} problem(s)",
                      [str(w) for w in overlaps])
    return loaded


def _actor() -> str:
    from sentral.commands.users import _actor as actor

    return actor()


def onboard(args) -> list[str]:
    """Do (or with args.dry_run rehearse) the onboarding; returns the lines to print."""
    from engine.directory.model import MassRemovalRefused
    from store.database import create_engine, resolve_url
    from store.directory_store import DirectoryStore
    from store.directory_writer import DirectoryWriter
    from store.migrate import migrate
    from store.records import AuditRecord
    from store import users
    from sync.formats import ImportFileError
    from sync.importer import import_files

    if not args.deployment:
        raise Refused("give --deployment FILE (or set $SENTRAL_CONFIG)")
    if not os.path.isfile(args.deployment):
        raise Refused(f"{args.deployment}: no such file")
    tenant_id, tenant_name = _tenant_of(args.config)
    deployment = check_config(args.deployment, args.config)
    target, stub, stub_text = place_for(args.deployment, tenant_id)
    for path in (target, stub):
        if path and os.path.exists(path):
            raise Refused(f"{path} exists: tenant {tenant_id!r} was onboarded before")
    url = resolve_url(args.db or deployment.database_url or None)
    migrate(url)
    engine = create_engine(url)
    lines = [f"tenant {tenant_id} ({tenant_name}): the tenant file fits the deployment {args.deployment}"]
    written: list[str] = []
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                store = DirectoryStore(engine)
                reports = import_files(store, tenant_id, args.persons, args.units, dry_run=args.dry_run,
                                       tenant_name=tenant_name, services_path=args.services, connection=conn)
                DirectoryWriter(conn, store.clock).ensure_tenant(tenant_id, tenant_name)
                users.audit(conn, [AuditRecord(at=store.clock(), actor=_actor(), action="tenant.onboard",
                                               target_kind="tenant", target_id=tenant_id, tenant=tenant_id,
                                               detail={"file": target, "persons": os.path.basename(args.persons),
                                                       "units": os.path.basename(args.units),
                                                       "services": os.path.basename(args.services or "")})])
                for report in reports:
                    lines += report.lines()
                lines.append(f"{'would add' if args.dry_run else 'added'} {tenant_id} to the directory's tenants; "
                             f"audit entry tenant.onboard {'would be' if args.dry_run else 'was'} written")
                if not args.dry_run:
                    written = _write_files(args.config, target, stub, stub_text)
                lines.append(f"{'would copy' if args.dry_run else 'copied'} {args.config} to {target}")
                if stub:
                    lines.append(f"{'would write' if args.dry_run else 'wrote'} {stub} (includes it)")
                if args.dry_run:
                    trans.rollback()
                else:
                    trans.commit()
            except BaseException:
                if trans.is_active:
                    trans.rollback()
                _remove(written)
                raise
    except ImportFileError as exc:
        raise Refused(f"the directory files are invalid: {len(exc.problems)} problem(s); nothing was written",
                      [str(p) for p in exc.problems]) from None
    except MassRemovalRefused as exc:
        raise Refused(f"{exc}") from None
    finally:
        engine.dispose()
    lines.append("dry run: nothing was changed" if args.dry_run else RELOAD_HINT)
    return lines


def _write_files(source: str, target: str, stub: str | None, stub_text: str) -> list[str]:
    """Copy the tenant file (and write the override stub); returns what exists now, for undo."""
    written: list[str] = []
    made = []
    try:
        for folder in (os.path.dirname(target), os.path.dirname(stub) if stub else None):
            if folder and not os.path.isdir(folder):
                os.makedirs(folder)
                made.append(folder)
        shutil.copyfile(source, target)
        written.append(target)
        if stub:
            with open(stub, "x", encoding="utf-8") as fh:
                fh.write(stub_text)
            written.append(stub)
    except BaseException:
        _remove(written + sorted(made, key=len, reverse=True))
        raise
    return written + sorted(made, key=len, reverse=True)


def _remove(paths: list[str]) -> None:
    for path in paths:
        if os.path.isdir(path):
            if not os.listdir(path):
                os.rmdir(path)
        elif os.path.exists(path):
            os.unlink(path)


def onboard_command(args) -> int:
    try:
        lines = onboard(args)
    except Refused as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        print(f"sentral tenant onboard: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0

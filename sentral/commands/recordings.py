"""`sentral recordings ...`: call recordings from the command line.

    sentral recordings list [--db URL] [--config FILE] [--json] [--tenant T]
    sentral recordings get ID --identity KEYFILE --out FILE
    sentral recordings export ID... --recipient AGE_PUBKEY --out FILE [--identities DIR]
    sentral recordings purge [--dry-run]
    sentral recordings keygen --tenant T [--identities DIR]
    sentral recordings hold ID --reason R | release ID
    sentral recordings reconcile | audit-verify

Rules:
* every command takes `--config FILE` (the deployment: recordings dir, storage, identities,
  retention policy) and `--db URL` (default: $SENTRAL_DATABASE_URL, then the config's);
* `get` verifies the whole file (authenticated decryption and the recorded SHA-256) before
  it writes one byte of FILE, and writes it under a temporary name renamed at the end;
* get, export, hold, release, purge are written to the recordings' access log with the
  actor `cli:<login name>`;
* errors are typed (unknown id, missing key, tampered file...): one line on stderr with
  its error id, exit code 1; usage errors exit 2.
"""
from __future__ import annotations

import json
import os
import sys

DB_HELP = "database URL (default: $SENTRAL_DATABASE_URL, then the configuration's)"


def register(sub) -> None:
    p = sub.add_parser("recordings", help="call recordings: list, get, export, purge, keys, legal hold, checks")
    rsub = p.add_subparsers(dest="recordings_command", metavar="ACTION")

    def action(name, handler, help_text, db=True):
        a = rsub.add_parser(name, help=help_text)
        a.add_argument("--config", metavar="FILE", help="the deployment file (recordings dir, storage, policy)")
        if db:
            a.add_argument("--db", "--url", dest="db", metavar="URL", help=DB_HELP)
        a.set_defaults(handler=handler)
        return a

    a = action("list", list_command, "recordings, newest first")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.add_argument("--tenant", action="append", help="only this agency (repeatable)")
    a.add_argument("--limit", type=int, default=None)
    a = action("get", get_command, "verify a recording, then write it decrypted to FILE")
    a.add_argument("id")
    a.add_argument("--identity", required=True, metavar="KEYFILE", help="the tenant's private key file")
    a.add_argument("--out", required=True, metavar="FILE")
    a = action("export", export_command, "recordings as one archive encrypted to a recipient")
    a.add_argument("ids", nargs="+", metavar="ID")
    a.add_argument("--recipient", required=True, metavar="AGE_PUBKEY")
    a.add_argument("--out", required=True, metavar="FILE")
    a.add_argument("--identities", metavar="DIR", help="private keys (default: the configuration's)")
    a = action("purge", purge_command, "delete recordings past their retention (legal holds kept)")
    a.add_argument("--dry-run", action="store_true", help="report only")
    a = action("keygen", keygen_command, "a new key pair for an agency: prints the public key line", db=False)
    a.add_argument("--tenant", required=True)
    a.add_argument("--identities", metavar="DIR", help="where the private key goes (default: the configuration's)")
    a = action("hold", hold_command, "put a recording under legal hold")
    a.add_argument("id")
    a.add_argument("--reason", required=True)
    a = action("release", release_command, "lift a legal hold")
    a.add_argument("id")
    action("reconcile", reconcile_command, "rows without file, files without row, plaintext left in the spool")
    action("audit-verify", audit_verify_command, "check the access log's hash chain")
    p.set_defaults(handler=lambda args: p.print_help() or 2)


class Refused(Exception):
    error_id = "recordings-cli"


def _deployment(args):
    from engine.config import Deployment

    if not args.config:
        from dialplan.loader import apply_overrides
        return apply_overrides(Deployment(), os.environ)   # env overrides (SENTRAL_RECORDINGS_DIR ...) still apply
    from dialplan.errors import ConfigError
    from dialplan.loader import load

    try:
        # the switch's and the web's secrets ({env: ...}) are the engine's: not needed here
        return load(args.config, require_env=False)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        raise Refused(f"{args.config} is invalid") from None


def _store(args, deployment):
    from sentral.process import open_store

    return open_store(args.db or os.environ.get("SENTRAL_DATABASE_URL") or deployment.database_url or None)


def _actor() -> str:
    from sentral.commands.users import _actor as login
    return login()


def _run(args, body) -> int:
    """Open what the command needs, run it, map typed errors to one line and exit 1."""
    from recordings.errors import RecordingError
    from store.errors import StoreError

    store = None
    try:
        deployment = _deployment(args)
        if getattr(args, "db", "absent") != "absent":
            store = _store(args, deployment)
        return body(deployment, store) or 0
    except (RecordingError, StoreError, Refused) as exc:
        print(f"sentral recordings: {exc} [{exc.error_id}]", file=sys.stderr)
        return 1
    finally:
        if store is not None:
            store.close()


def _record(store, recording_id: str):
    from store.recordings import UnknownRecording

    record = store.recording(recording_id)
    if record is None:
        raise UnknownRecording(f"no recording {recording_id!r}")
    return record


def _row(record) -> dict:
    return {"id": record.id, "interaction": record.interaction, "tenant": record.tenant, "queue": record.queue,
            "agents": list(record.agents), "caller_number": record.caller_number,
            "start": record.started_at.isoformat(), "duration": record.duration, "size": record.size,
            "sha256": record.sha256, "key_id": record.key_id, "storage": record.storage,
            "path": record.location, "status": record.status, "fault": record.fault,
            "legal_hold": record.legal_hold}


def list_command(args) -> int:
    def body(deployment, store):
        records = store.search_recordings(set(args.tenant) if args.tenant else None, limit=args.limit)
        for r in records:
            if args.json:
                print(json.dumps(_row(r), ensure_ascii=False))
            else:
                print(f"{r.id}  {r.started_at:%Y-%m-%d %H:%M}  {r.tenant:10} {r.status:8} "
                      f"{'' if r.duration is None else f'{r.duration:.0f}s':>6}  {r.caller_number}  {r.location}")
    return _run(args, body)


def _identity(path: str):
    from pyrage import x25519

    from recordings.crypto import BadKey

    try:
        lines = [ln.strip() for ln in open(path, encoding="ascii", errors="replace")
                 if ln.strip() and not ln.startswith("#")]
    except OSError as exc:
        raise BadKey(f"cannot read the key file {path}: {exc.strerror}") from None
    try:
        return x25519.Identity.from_str(lines[0]) if len(lines) == 1 else None
    except Exception:
        pass
    raise BadKey(f"{path}: expected exactly one AGE-SECRET-KEY-1... line")


def get_command(args) -> int:
    def body(deployment, store):
        from recordings.crypto import MissingKey, decrypt_stream, key_id
        from recordings.playback import verify
        from recordings.storage import storage_for

        record = _record(store, args.id)
        if record.status != "stored":
            raise Refused(f"recording {record.id} is {record.status}{': ' + record.fault if record.fault else ''}")
        identity = _identity(args.identity)
        if record.key_id and key_id(str(identity.to_public())) != record.key_id:
            raise MissingKey(record.key_id, f"{args.identity} is another key")
        storage = storage_for(deployment)
        verify(storage, record.location, identity, record.sha256)
        part = args.out + ".part"
        with storage.open(record.location) as src, open(part, "wb") as out:
            decrypt_stream(src, out, [identity])
        os.replace(part, args.out)
        store.audit_recording(_actor(), "recording.download", record.id, record.tenant,
                              {"via": "cli", "sha256": record.sha256})
        print(f"{args.out}: recording {record.id}, {record.size} bytes, SHA-256 {record.sha256} verified")
    return _run(args, body)


def export_command(args) -> int:
    def body(deployment, store):
        from recordings.crypto import Keyring
        from recordings.export import export
        from recordings.storage import storage_for

        records = [_record(store, rid) for rid in args.ids]
        keyring = Keyring.load(args.identities or deployment.recordings_identities or None)
        export(records, storage_for(deployment), keyring, args.recipient, args.out)
        for record in records:
            store.audit_recording(_actor(), "recording.export", record.id, record.tenant,
                                  {"recipient": args.recipient, "out": os.path.basename(args.out)})
        print(f"{args.out}: {len(records)} recording(s) encrypted to {args.recipient}")
    return _run(args, body)


def purge_command(args) -> int:
    def body(deployment, store):
        from recordings.retention import purge
        from recordings.storage import storage_for

        report = purge(store, storage_for(deployment), deployment, store.clock(), dry_run=args.dry_run,
                       actor=_actor())
        verb = "would delete" if args.dry_run else "deleted"
        for item in report.deleted:
            print(f"{verb} {item.id} ({item.tenant}, {item.started_at:%Y-%m-%d}, {item.retention_days} days)")
        for item in report.held:
            print(f"kept {item.id} ({item.tenant}): legal hold")
        for item, problem in report.failed:
            print(f"FAILED {item.id}: {problem}", file=sys.stderr)
        print(f"{len(report.deleted)} {verb}, {len(report.held)} on legal hold, {len(report.failed)} failed")
        return 1 if report.failed else 0
    return _run(args, body)


def keygen_command(args) -> int:
    def body(deployment, store):
        from recordings.crypto import generate

        folder = args.identities or deployment.recordings_identities
        if not folder:
            raise Refused("no identities folder: --identities DIR or recordings.identities in the configuration")
        recipient, kid, path = generate(args.tenant, folder)
        print(f"private key: {path} (key id {kid}); keep it with the retrieval side only")
        print(f"put this in tenant {args.tenant}'s recording settings:")
        print(f"    public_key: {recipient}")
    return _run(args, body)


def hold_command(args) -> int:
    def body(deployment, store):
        record = store.hold_recording(_record(store, args.id).id, args.reason, by=_actor())
        print(f"recording {record.id} under legal hold: {record.hold_reason}")
    return _run(args, body)


def release_command(args) -> int:
    def body(deployment, store):
        record = store.release_recording(_record(store, args.id).id, by=_actor())
        print(f"recording {record.id}: legal hold lifted")
    return _run(args, body)


def reconcile_command(args) -> int:
    def body(deployment, store):
        from recordings.recovery import reconcile
        from recordings.storage import storage_for

        report = reconcile(store, storage_for(deployment), os.path.join(deployment.recordings_dir, "spool"))
        for rid in report.rows_without_file:
            print(f"row without file: {rid}")
        for key in report.files_without_row:
            print(f"file without row: {key}")
        for path in report.plaintext_without_row:
            print(f"plaintext without row: {path}")
        print("consistent" if report.clean else "inconsistent")
        return 0 if report.clean else 1
    return _run(args, body)


def audit_verify_command(args) -> int:
    def body(deployment, store):
        broken = store.verify_recording_audit()
        count = len(store.recording_audit())
        if broken:
            print(f"access log BROKEN at row(s) {', '.join(map(str, broken))} of {count}", file=sys.stderr)
            return 1
        print(f"access log intact: {count} entries, hash chain verified")
    return _run(args, body)

"""`sentral api ...`: REST API tokens and webhooks (docs/api.md).

    sentral api token create --tenant T --role R --name N [--db URL]   (prints the token once)
    sentral api token revoke ID [--db URL]
    sentral api token list [--json] [--db URL]
    sentral api webhook add URL --tenant T [--events KIND ...] [--db URL]
    sentral api webhook remove ID [--db URL]
    sentral api webhook list [--json] [--db URL]

Rules:
* a token is shown once, at creation; the database keeps only its SHA-256. Tenant "*"
  only with the admin role;
* a webhook's signing secret comes from $SENTRAL_WEBHOOK_SECRET or is generated and
  printed once; it is stored as given (it signs every body). The URL must resolve into
  $SENTRAL_WEBHOOK_NETWORKS (default loopback), checked here and again at every send;
* every change is audited with the actor `cli:<login name>`; secrets never are (nor a
  password in a webhook URL: shown as ***).
Exit codes: 0 done, 1 refused (bad role, unknown id, URL outside the networks), 2 usage.
"""
from __future__ import annotations

import json
import os
import secrets
import sys

from sentral.commands.users import DB_HELP, _actor, _store


def register(sub) -> None:
    p = sub.add_parser("api", help="REST API tokens and webhooks")
    asub = p.add_subparsers(dest="api_command", metavar="WHAT")

    token = asub.add_parser("token", help="bearer tokens: create, revoke, list")
    tsub = token.add_subparsers(dest="token_command", metavar="ACTION")
    create = tsub.add_parser("create", help="a new token (printed once)")
    create.add_argument("--tenant", required=True, help="the agency ('*' = every tenant, admin only)")
    create.add_argument("--role", required=True, help="admin, tenant_admin, supervisor, operator, employee, or forms (a web site's "
                        "forms: creates tasks, nothing else)")
    create.add_argument("--name", required=True, help="what uses it, e.g. 'crm-sync'")
    create.set_defaults(handler=token_create)
    revoke = tsub.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(handler=token_revoke)
    tlist = tsub.add_parser("list", help="tokens (never their secrets)")
    tlist.add_argument("--json", action="store_true")
    tlist.set_defaults(handler=token_list)

    hook = asub.add_parser("webhook", help="webhooks: add, remove, list")
    hsub = hook.add_subparsers(dest="webhook_command", metavar="ACTION")
    add = hsub.add_parser("add", help="POST the tenant's events to URL (signed)")
    add.add_argument("url")
    add.add_argument("--tenant", required=True)
    add.add_argument("--events", nargs="*", default=[], metavar="KIND", help="event kinds (default: all)")
    add.set_defaults(handler=webhook_add)
    remove = hsub.add_parser("remove", help="remove a webhook")
    remove.add_argument("id", type=int)
    remove.set_defaults(handler=webhook_remove)
    hlist = hsub.add_parser("list", help="webhooks (never their secrets)")
    hlist.add_argument("--json", action="store_true")
    hlist.set_defaults(handler=webhook_list)
    for parser in (create, revoke, tlist, add, remove, hlist):
        parser.add_argument("--db", "--url", dest="db", help=DB_HELP)
    for parser in (p, token, hook):
        parser.set_defaults(handler=lambda args, parser=parser: parser.print_help() or 2)


def _refused(exc) -> int:
    print(f"sentral api: {exc}", file=sys.stderr)
    return 1


def _run(fn):
    from store.errors import StoreError

    def handler(args) -> int:
        store = _store(args.db)
        try:
            return fn(args, store)
        except (StoreError, ValueError) as exc:
            return _refused(exc)
        finally:
            store.close()
    return handler


@_run
def token_create(args, store) -> int:
    record, token = store.create_token(args.name, args.tenant, args.role, _actor())
    store.audit(_actor(), "api_token.create", "api_token", str(record.id), tenant=args.tenant,
                detail={"role": args.role, "name": args.name})
    print(f"token {record.id} ({args.tenant}:{args.role}, {args.name}); shown once, keep it secret:")
    print(token)
    return 0


@_run
def token_revoke(args, store) -> int:
    record = store.revoke_token(args.id)
    store.audit(_actor(), "api_token.revoke", "api_token", str(record.id), tenant=record.tenant)
    print(f"token {record.id} revoked")
    return 0


def _when(value) -> str | None:
    return value.isoformat() if value else None


@_run
def token_list(args, store) -> int:
    rows = [{"id": t.id, "name": t.name, "tenant": t.tenant, "role": t.role, "created_at": _when(t.created_at),
             "created_by": t.created_by, "revoked_at": _when(t.revoked_at), "last_used_at": _when(t.last_used_at)}
            for t in store.tokens()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        state = f"revoked {r['revoked_at'][:16]}" if r["revoked_at"] else "active"
        print(f"{r['id']:>5}  {r['tenant']}:{r['role']:<13} {r['name']:<24} {state}; "
              f"last used {(r['last_used_at'] or '-')[:16]}")
    return 0


@_run
def webhook_add(args, store) -> int:
    from agent_ui.api_webhooks import networks_from_env, shown, url_problem

    problem = url_problem(args.url, networks_from_env())
    if problem:
        raise ValueError(problem + " (SENTRAL_WEBHOOK_NETWORKS)")
    given = os.environ.get("SENTRAL_WEBHOOK_SECRET")
    secret = given or secrets.token_urlsafe(32)
    hook = store.add_webhook(args.url, args.tenant, secret, args.events, _actor())
    store.audit(_actor(), "webhook.add", "webhook", str(hook.id), tenant=args.tenant,
                detail={"url": shown(args.url), "events": ",".join(hook.events)})
    print(f"webhook {hook.id} added for {args.tenant}: {shown(args.url)}")
    if not given:
        print(f"signing secret (shown once): {secret}")
    return 0


@_run
def webhook_remove(args, store) -> int:
    store.remove_webhook(args.id)
    store.audit(_actor(), "webhook.remove", "webhook", str(args.id))
    print(f"webhook {args.id} removed")
    return 0


@_run
def webhook_list(args, store) -> int:
    from agent_ui.api_webhooks import shown

    rows = [{"id": h.id, "url": shown(h.url), "tenant": h.tenant, "events": list(h.events), "active": h.active}
            for h in store.webhooks()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(f"{r['id']:>5}  {r['tenant']:<16} {r['url']}  {','.join(r['events']) or 'all events'}"
              f"{'' if r['active'] else ' (inactive)'}")
    return 0

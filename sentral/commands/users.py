"""`sentral users ...`: the web users (console, maintenance, supervisors) and their roles.

    sentral users add USERNAME [--name "Full Name"] [--role TENANT:ROLE ...] [--agent AGENT] [--db URL]
    sentral users disable USERNAME [--db URL]
    sentral users enable USERNAME [--db URL]
    sentral users reset USERNAME [--db URL]
    sentral users list [--tenant T] [--json] [--db URL]
    sentral users bind USERNAME AGENT|--none [--db URL]
    sentral users show USERNAME [--db URL]

Rules:
* the password comes from $SENTRAL_NEW_PASSWORD (for scripts) or is asked twice on the
  terminal; never from the command line (it would stay in the shell history and `ps`);
* roles are per tenant (`fjordvik:operator`; `*` = every tenant); the known roles are
  store.accounts.ROLES; an operator bound to an agent (`--agent`, the agent id of the
  routing configuration) works calls in the console as that agent, one user per agent;
* `disable` and `reset` (a new password, asked like `add`'s) end every login session of
  the user at once; a disabled user cannot log in until `enable`;
* every change is written to the audit log with the actor `cli:<login name>`.
The same administration on the web: /admin/users (agent_ui/admin_users.py).
Exit codes: 0 done, 1 refused (unknown user, bad role, agent taken, passwords differ,
password too short), 2 usage.
"""
from __future__ import annotations

import getpass
import os
import sys

DB_HELP = "database URL (default: $SENTRAL_DATABASE_URL, else sqlite:///var/sentral.db)"


def register(sub) -> None:
    p = sub.add_parser("users", help="console users: add one, bind them to an agent")
    usub = p.add_subparsers(dest="users_command", metavar="ACTION")

    add = usub.add_parser("add", help="create a web user (password from $SENTRAL_NEW_PASSWORD or asked)")
    add.add_argument("username")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--role", action="append", default=[], metavar="TENANT:ROLE",
                     help="a role in a tenant, e.g. fjordvik:operator ('*:admin' = every tenant); repeatable")
    add.add_argument("--agent", default="", help="bind to this agent of the routing configuration")
    add.add_argument("--db", "--url", dest="db", help=DB_HELP)
    add.set_defaults(handler=add_command)

    bind = usub.add_parser("bind", help="bind a user to an agent (or --none to unbind)")
    bind.add_argument("username")
    bind.add_argument("agent", nargs="?", default="")
    bind.add_argument("--none", action="store_true", help="remove the binding")
    bind.add_argument("--db", "--url", dest="db", help=DB_HELP)
    bind.set_defaults(handler=bind_command)

    for name, what, handler in (("disable", "disable a user (ends their sessions)", disable_command),
                                ("enable", "enable a disabled user again", enable_command),
                                ("reset", "set a new password (from $SENTRAL_NEW_PASSWORD or asked; ends sessions)",
                                 reset_command)):
        one = usub.add_parser(name, help=what)
        one.add_argument("username")
        one.add_argument("--db", "--url", dest="db", help=DB_HELP)
        one.set_defaults(handler=handler)

    ls = usub.add_parser("list", help="every user with roles and agent (a table, or --json)")
    ls.add_argument("--tenant", help="only users with a role in this tenant (or in '*')")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.add_argument("--db", "--url", dest="db", help=DB_HELP)
    ls.set_defaults(handler=list_command)

    show = usub.add_parser("show", help="a user's roles and agent")
    show.add_argument("username")
    show.add_argument("--db", "--url", dest="db", help=DB_HELP)
    show.set_defaults(handler=show_command)
    p.set_defaults(handler=lambda args: p.print_help() or 2)


def _store(url):
    from sentral.process import open_store

    return open_store(url)


def _tenants(roles) -> str:
    """The audit entry's tenant: the tenants of the user's roles, comma-joined."""
    return ",".join(sorted({t for t, _ in roles}))[:64]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:   # no login name (a container): still say where it came from
        return "cli:?"


def _roles(items: list[str]) -> list[tuple[str, str]]:
    roles = []
    for item in items:
        tenant, sep, role = item.partition(":")
        if not sep or not tenant or not role:
            raise ValueError(f"--role {item!r}: write TENANT:ROLE, e.g. fjordvik:operator")
        roles.append((tenant, role))
    return roles


def _password() -> str:
    given = os.environ.get("SENTRAL_NEW_PASSWORD")
    if given is not None:
        return given
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValueError("the two passwords differ")
    return first


MIN_PASSWORD = 10


def _new_password() -> str:
    password = _password()
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password has at least {MIN_PASSWORD} characters")
    return password


def _refused(exc: Exception) -> int:
    print(f"sentral users: {exc}", file=sys.stderr)
    return 1


def add_command(args) -> int:
    from store.errors import StoreError

    try:
        roles = _roles(args.role)
        password = _new_password()
    except ValueError as exc:
        return _refused(exc)
    import sqlalchemy as sa

    store = _store(args.db)
    try:
        if args.agent and store.user_of_agent(args.agent) is not None:
            raise ValueError(f"agent {args.agent!r} is already bound to user {store.user_of_agent(args.agent)!r}")
        if store.user(args.username) is not None:
            raise ValueError(f"user {args.username!r} exists")
        store.create_user(args.username, password, display_name=args.name, roles=roles)
        if args.agent:
            store.bind_agent(args.username, args.agent)
        store.audit(_actor(), "user.add", "user", args.username, tenant=_tenants(roles),
                    detail={"roles": ",".join(f"{t}:{r}" for t, r in roles), "agent": args.agent})
    except (StoreError, ValueError, sa.exc.IntegrityError) as exc:
        return _refused(exc)
    finally:
        store.close()
    print(f"user {args.username} added" + (f", bound to agent {args.agent}" if args.agent else ""))
    return 0


def bind_command(args) -> int:
    from store.errors import StoreError

    if bool(args.agent) == bool(args.none):
        print("sentral users bind: give an AGENT or --none", file=sys.stderr)
        return 2
    store = _store(args.db)
    try:
        store.bind_agent(args.username, None if args.none else args.agent)
        user = store.user(args.username)
        store.audit(_actor(), "user.bind", "user", args.username, tenant=_tenants(user.roles if user else ()),
                    detail={"agent": args.agent})
    except StoreError as exc:
        return _refused(exc)
    finally:
        store.close()
    print(f"user {args.username} " + ("unbound" if args.none else f"bound to agent {args.agent}"))
    return 0


def show_command(args) -> int:
    store = _store(args.db)
    try:
        user = store.user(args.username)
    finally:
        store.close()
    if user is None:
        return _refused(ValueError(f"no user {args.username!r}"))
    roles = ", ".join(f"{t}:{r}" for t, r in sorted(user.roles)) or "-"
    print(f"{user.username} ({user.display_name or '-'}) {'active' if user.active else 'disabled'}; "
          f"roles {roles}; agent {user.agent or '-'}")
    return 0


def _change(args, action: str, change, done: str) -> int:
    from store.errors import StoreError

    store = _store(args.db)
    try:
        user = store.user(args.username)
        if user is None:
            raise ValueError(f"no web user {args.username!r}")
        change(store)
        store.audit(_actor(), action, "user", args.username, tenant=_tenants(user.roles))
    except (StoreError, ValueError) as exc:
        return _refused(exc)
    finally:
        store.close()
    print(f"user {args.username} {done}")
    return 0


def disable_command(args) -> int:
    return _change(args, "user.disable", lambda store: store.set_active(args.username, False),
                   "disabled; their login sessions are ended")


def enable_command(args) -> int:
    return _change(args, "user.enable", lambda store: store.set_active(args.username, True), "enabled")


def reset_command(args) -> int:
    try:
        password = _new_password()
    except ValueError as exc:
        return _refused(exc)
    return _change(args, "user.reset_password", lambda store: store.set_password(args.username, password),
                   "has a new password; their login sessions are ended")


def user_dict(user) -> dict:
    return {"username": user.username, "name": user.display_name, "active": user.active,
            "roles": [f"{t}:{r}" for t, r in sorted(user.roles)], "agent": user.agent or None,
            "last_login": user.last_login_at.isoformat() if user.last_login_at else None}


def list_command(args) -> int:
    import json

    store = _store(args.db)
    try:
        users = store.users(tenant=args.tenant)
    finally:
        store.close()
    rows = [user_dict(u) for u in users]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no users")
        return 0
    table = [("USER", "NAME", "STATE", "ROLES", "AGENT", "LAST LOGIN")]
    table += [(r["username"], r["name"] or "-", "active" if r["active"] else "disabled", ",".join(r["roles"]) or "-",
               r["agent"] or "-", (r["last_login"] or "-")[:16].replace("T", " ")) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0

"""`sentral run --config FILE`: the production job — the engine against the FreeSWITCH
node(s) and database named in the configuration (environment variables override them:
SENTRAL_FREESWITCH_HOST/PORT/PASSWORD, SENTRAL_DATABASE_URL)."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("run", help="run the engine against the FreeSWITCH node(s) in the configuration")
    p.add_argument("--config", required=True, metavar="FILE", help="the routing configuration (YAML)")
    p.add_argument("--db", metavar="URL", help="database URL (overrides the file and SENTRAL_DATABASE_URL)")
    p.add_argument("--login-all", action="store_true",
                   help="log in every configured agent that has no stored state (unattended demos, tests)")
    p.add_argument("--ready-timeout", type=float, default=30.0, metavar="S",
                   help="how long to wait for the nodes before starting without them (default 30)")
    p.add_argument("--status-every", type=float, default=10.0, metavar="S",
                   help="log a one-line status every S seconds (0 = never)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from gevent import monkey

    monkey.patch_all()
    from sentral.process import serve

    return serve(args.config, db_url=args.db, login_all=args.login_all,
                 ready_timeout=args.ready_timeout, status_every=args.status_every)

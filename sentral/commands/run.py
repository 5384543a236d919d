"""`sentral run --config FILE`: the production job — the engine against the FreeSWITCH
node(s) and database named in the configuration (environment variables override them:
SENTRAL_FREESWITCH_HOST/PORT/PASSWORD, SENTRAL_DATABASE_URL)."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("run", help="run the engine against the FreeSWITCH node(s) in the configuration")
    p.add_argument("--config", required=True, metavar="FILE", help="the routing configuration (YAML)")
    p.add_argument("--db", metavar="URL", help="database URL (overrides the file and SENTRAL_DATABASE_URL)")
    p.add_argument("--login-all", action="store_true",
                   help="at start, log in every configured agent who is logged out after recovery (no stored "
                        "state, or stored as logged out); an agent stored as paused (also paused for not "
                        "answering), available or on a call keeps that state, and nothing resumes a paused "
                        "agent yet (there is no agent console). Agents get calls only while their SIP phone "
                        "is registered")
    p.add_argument("--ready-timeout", type=float, default=30.0, metavar="S",
                   help="how long to wait for the nodes before starting without them (default 30)")
    p.add_argument("--status-every", type=float, default=10.0, metavar="S",
                   help="log a one-line status every S seconds (0 = never)")
    p.add_argument("--no-web", action="store_true",
                   help="do not serve the web pages and the mod_xml_curl responder on engine.url")
    p.add_argument("--insecure-cookies", action="store_true",
                   help="send the login cookie over plain HTTP (development only; production sits behind TLS)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from gevent import monkey

    monkey.patch_all()
    from sentral.process import serve

    return serve(args.config, db_url=args.db, login_all=args.login_all,
                 ready_timeout=args.ready_timeout, status_every=args.status_every,
                 web=not args.no_web, secure_cookies=not args.insecure_cookies)

"""`sentral run --config FILE`: the production job — the engine against the FreeSWITCH
node(s) and database named in the configuration (environment variables override them:
SENTRAL_FREESWITCH_HOST/PORT/PASSWORD, SENTRAL_DATABASE_URL), with two HTTP listeners:
the web pages on --web (HTTPS with --tls-cert/--tls-key), mod_xml_curl on engine.url
(sentral/web.py, sentral/tls.py, docs/security.md)."""
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
                   help="serve neither the web pages nor the mod_xml_curl responder")
    p.add_argument("--web", metavar="HOST:PORT", type=_listen,
                   help="the web pages' listener (directory, wallboard); default env SENTRAL_WEB_LISTEN, "
                        "else 127.0.0.1:8081. For other machines serve HTTPS (--tls-cert/--tls-key) or put a TLS "
                        "reverse proxy in front")
    p.add_argument("--tls-cert", metavar="FILE",
                   help="serve the web listener over HTTPS with this PEM certificate chain (env "
                        "SENTRAL_WEB_TLS_CERT); needs --tls-key. The login cookie is then always Secure")
    p.add_argument("--tls-key", metavar="FILE",
                   help="the certificate's PEM private key (env SENTRAL_WEB_TLS_KEY; readable only by Sentral)")
    p.add_argument("--public-network", metavar="CIDR", action="append", dest="public_networks",
                   help="a network allowed to use the public directory search without login (repeat; "
                        "default loopback only)")
    p.add_argument("--trusted-proxies", metavar="N", type=int, default=0,
                   help="N reverse proxies in front of the web listener set X-Forwarded-For/-Proto: take the "
                        "client address from them (werkzeug ProxyFix). 0 (default) = the TCP peer")
    p.add_argument("--xml-curl-allow", metavar="CIDR", action="append", dest="xml_curl_networks",
                   help="a network FreeSWITCH may fetch from on the mod_xml_curl listener (engine.url; repeat; "
                        "default loopback only). Its password comes from SENTRAL_XML_CURL_PASSWORD (at least "
                        "16 characters; without it the listener is not started)")
    p.add_argument("--insecure-cookies", action="store_true",
                   help="send the login cookie over plain HTTP (development only; production sits behind TLS)")
    p.set_defaults(handler=run)


def _listen(text: str):
    import argparse

    from sentral.listen import ListenerError, parse_listen

    try:
        return parse_listen(text)
    except ListenerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def web_options(args):
    """The listeners' options from the flags, then the environment (sentral.web.WebOptions)."""
    from sentral.web import WebOptions

    return WebOptions.from_env(web=args.web, secure_cookies=not args.insecure_cookies,
                               public_networks=args.public_networks, trusted_proxies=args.trusted_proxies,
                               xml_curl_networks=args.xml_curl_networks, tls_cert=args.tls_cert,
                               tls_key=args.tls_key)


def run(args) -> int:
    from gevent import monkey

    monkey.patch_all()
    import sys

    from sentral.listen import ListenerError
    from sentral.process import serve

    try:
        options = None if args.no_web else web_options(args)
    except (ListenerError, ValueError) as exc:
        print(f"sentral run: {exc}", file=sys.stderr)
        return 2
    return serve(args.config, db_url=args.db, login_all=args.login_all,
                 ready_timeout=args.ready_timeout, status_every=args.status_every,
                 web=not args.no_web, web_options=options)

"""`sentral simulate`: the FreeSWITCH simulator in the foreground."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("simulate", help="run the FreeSWITCH Event Socket simulator until SIGTERM")
    p.add_argument("--listen", default="127.0.0.1:8021", help="HOST:PORT (port 0 picks a free one)")
    p.add_argument("--password", default="ClueCon", help="Event Socket password")
    p.set_defaults(handler=run)


def run(args) -> int:
    raise SystemExit("simulate: not built yet")

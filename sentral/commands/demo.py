"""`sentral demo`: the main job on the embedded default — the FreeSWITCH simulator, the
engine, SQLite, the sample configuration (dialplan/examples/demo.yaml), simulated
softphones that answer, reject or ignore calls, a caller generator per main number (or
calls typed in with --manual), the console with two operators and a supervisor, and a
live view of queues and agents (sentral/demo.py)."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the demo on the embedded default (SQLite + simulator + engine)")
    p.add_argument("--config", default="dialplan/examples/demo.yaml", metavar="FILE",
                   help="routing configuration (default: the shipped demo)")
    p.add_argument("--db", default="sqlite:///var/sentral-demo.db", metavar="URL",
                   help="database URL (default: SQLite under var/)")
    p.add_argument("--duration", type=float, default=0, metavar="S", help="stop after S seconds (0 = until Ctrl-C)")
    p.add_argument("--calls-per-minute", type=float, default=5.0, metavar="N",
                   help="caller arrivals per minute on each main number (default 5)")
    p.add_argument("--written-per-hour", type=float, default=30.0, metavar="N",
                   help="e-mails, SMS and web-form tasks per simulated hour into each written queue (default 30)")
    p.add_argument("--time-factor", type=float, default=0.2, metavar="F",
                   help="scale of simulated ring/talk/prompt times (default 0.2: a 60 s talk lasts 12 s)")
    p.add_argument("--real-hours", action="store_true",
                   help="apply the agencies' real opening hours (default: open around the clock)")
    p.add_argument("--view-every", type=float, default=2.0, metavar="S", help="refresh of the live view (s)")
    p.add_argument("--http", type=int, default=8080, metavar="PORT",
                   help="port of the console on 127.0.0.1 (default 8080; 0 = any free port)")
    p.add_argument("--log", default="var/sentral-demo.log", metavar="FILE", help="engine log file")
    p.add_argument("--keep-db", action="store_true", help="keep the demo database of the previous run")
    p.add_argument("--recordings", metavar="DIR", default=None,
                   help="where recorded calls go, encrypted (default: next to the database, <db>.recordings); "
                        "the demo's private keys are in DIR/identities")
    p.add_argument("--seed", type=int, default=1, help="seed of the simulated traffic")
    p.add_argument("--manual", action="store_true",
                   help="no generated callers and no other agent logged in: place calls yourself by typing "
                        "`call <agency or number> [caller number] [caller name]` here")
    p.set_defaults(handler=run)


def run(args) -> int:
    from gevent import monkey

    monkey.patch_all()
    from sentral.demo import Demo

    return Demo(args).run()

"""`sentral simulate`: the FreeSWITCH simulator in the foreground until SIGTERM/SIGINT.

The first stdout line is ``listening HOST:PORT`` (flushed), so a parent process can read
the port when ``--listen 127.0.0.1:0`` picks a free one. ``--timing real`` races as a real
FreeSWITCH does (esl/sim/timing.py); ``--chaos SEED`` picks among the real orders per call
and, with ``--chaos-drop-every``, drops every Event Socket now and then; each pick is
printed as ``chaos T what`` (T: seconds since start).
"""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("simulate", help="run the FreeSWITCH Event Socket simulator until SIGTERM")
    p.add_argument("--listen", default="127.0.0.1:8021", help="HOST:PORT (port 0 picks a free one)")
    p.add_argument("--password", default="ClueCon", help="Event Socket password")
    p.add_argument("--agents", action="append", default=[], metavar="RANGE:ACTION[:RING[:TALK]]",
                   help="simulated SIP users, e.g. 1000-1019:answer:2 or 1020:reject "
                        "(actions: answer, reject, busy, noanswer; RING/TALK in seconds); repeatable")
    p.add_argument("--route", action="append", default=[], metavar="NUMBER=JSON",
                   help='entry dialplan: NUMBER=\'{"cc_tenant": "t", "cc_queue": "q"}\' (tags and parks); repeatable')
    p.add_argument("--destination", default="", help="number the generated callers dial")
    p.add_argument("--calls-per-minute", type=float, default=0.0, help="Poisson caller rate (0 = none)")
    p.add_argument("--patience", type=float, default=60.0, help="seconds a caller waits before abandoning")
    p.add_argument("--talk", type=float, default=120.0, help="seconds a served caller talks")
    p.add_argument("--time-factor", type=float, default=1.0, help="multiply every simulated duration")
    p.add_argument("--heartbeat", type=float, default=20.0, help="HEARTBEAT interval in seconds")
    p.add_argument("--seed", type=int, default=None, help="random seed for the traffic generator")
    p.add_argument("--timing", choices=("ideal", "real"), default=None,
                   help="ideal: every answer, job and listing at once (default); real: FreeSWITCH's "
                        "measured races (job 20 ms after the answer, uuid_bridge setup, show lag, 20 ms ticks)")
    p.add_argument("--chaos", type=int, default=None, metavar="SEED",
                   help="per call, a seeded pick among the orders a real FreeSWITCH produces (implies --timing real)")
    p.add_argument("--chaos-drop-every", type=float, default=0.0, metavar="SECONDS",
                   help="with --chaos: drop every Event Socket connection this often on average (0 = never)")
    p.set_defaults(handler=run)


def parse_agents(spec: str) -> list[tuple[str, str, float, float | None]]:
    """``1000-1003:answer:2:30`` -> [(ext, action, ring, talk), ...]."""
    parts = spec.split(":")
    span = parts[0]
    action = parts[1] if len(parts) > 1 and parts[1] else "answer"
    ring = float(parts[2]) if len(parts) > 2 and parts[2] else 0.0
    talk = float(parts[3]) if len(parts) > 3 and parts[3] else None
    if action not in ("answer", "reject", "busy", "noanswer"):
        raise ValueError(f"--agents {spec!r}: unknown action {action!r} (answer, reject, busy, noanswer)")
    first, _, last = span.partition("-")
    if not first.isdigit() or (last and not last.isdigit()):
        raise ValueError(f"--agents {spec!r}: expected NUMBER[-NUMBER][:ACTION[:RING[:TALK]]]")
    lo, hi = int(first), int(last or first)
    if hi < lo:
        raise ValueError(f"--agents {spec!r}: range goes backwards")
    return [(str(n), action, ring, talk) for n in range(lo, hi + 1)]


def parse_routes(items: list[str]) -> dict:
    table = {}
    for item in items:
        number, sep, text = item.partition("=")
        if not sep or not number:
            raise ValueError(f"--route {item!r}: expected NUMBER=JSON")
        try:
            value = json.loads(text) if text else {}
        except ValueError as exc:
            raise ValueError(f"--route {item!r}: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError(f"--route {item!r}: JSON must be an object of channel variables")
        table[number] = value
    return table


def run(args) -> int:
    import signal
    import sys

    import gevent
    import gevent.event

    from esl.sim.server import Simulator
    from esl.sim.timing import Timing

    host, _, port = args.listen.rpartition(":")
    try:
        agents = [a for spec in args.agents for a in parse_agents(spec)]
        routes = parse_routes(args.route)
        if args.chaos_drop_every and args.chaos is None:
            raise ValueError("--chaos-drop-every needs --chaos SEED")
        timing = {"ideal": Timing.ideal(), "real": Timing.real(), None: None}[args.timing]
        sim = Simulator(password=args.password, host=host or "127.0.0.1", port=int(port or 0),
                        dialplan=routes, time_factor=args.time_factor, heartbeat_interval=args.heartbeat,
                        timing=timing, chaos=args.chaos, chaos_drop_every=args.chaos_drop_every)
    except ValueError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    sim.start()
    for ext, action, ring, talk in agents:
        sim.add_user(ext, action, ring, talk)
    print(f"listening {sim.host}:{sim.port}", flush=True)
    if args.calls_per_minute > 0:
        if not args.destination:
            print("simulate: --calls-per-minute needs --destination", file=sys.stderr)
            return 2
        sim.start_traffic(args.destination, args.calls_per_minute, patience=args.patience,
                          talk=args.talk, seed=args.seed)
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    last = None
    logged = [0]

    def print_chaos():
        if sim.chaos is not None:
            for t, what in sim.chaos.log[logged[0]:]:
                print(f"chaos {t:.3f} {what}", flush=True)
            logged[0] = len(sim.chaos.log)
    while not stop.wait(1.0 if sim.chaos is not None else 5.0):
        print_chaos()
        if sim.traffic is not None and sim.traffic.stats != last:
            last = dict(sim.traffic.stats)
            print(f"calls placed={last['placed']} served={last['served']} abandoned={last['abandoned']} "
                  f"channels={len(sim.channels)}", flush=True)
    sim.stop()
    print_chaos()
    print("stopped", flush=True)
    return 0

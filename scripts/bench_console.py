"""Console fan-out benchmark (issue 9, Performance): N logged-in console clients over
WebSocket while the simulator runs call traffic through the engine.

Run: scripts/bench console [--clients 1000] [--calls-per-minute 600] [--duration 60]
     [--client-procs 2] [--talk 5] [--wrapup 2s]

Processes (the machine has 2 cores, so clients never share the server's process):
* the simulator (`bench_acd.py _sim`, its own process: the softphones answer, callers talk);
* the server (`bench_console.py _server`): the engine and the web app composed as `sentral
  run` composes them (EngineProcess + sentral.web.start_run, PostgreSQL on a scratch
  database), with N users, each bound 1:1 to one of N agents (store.bind_agent);
* the clients (`bench_console.py _clients`, --client-procs processes, gevent): one
  python-socketio Client per user on namespace /console, WebSocket transport, carrying a
  login cookie; each logs its agent in to the queue with the console's `login` command.

What is measured: the real fan-out, not a synthetic one. Every call changes its agent's
state (offered, on call, wrap-up, available: a `console` push to that agent's room, i.e.
that user's console) and the tenant's parked list (a `parked` push to every console of the
tenant: N sockets per push). Latency = the client's receipt minus the moment the engine's
Notify reached the web side (agent_ui.notices), for every notice a push carries: the
server stamps `time.monotonic()` when it sees the notice (a Notices subscriber) and
attaches the pending stamps to the next `console`/`parked` emit to the room concerned
(a wrapper around this process's `socketio.emit`, installed here only: the product code
is unchanged). CLOCK_MONOTONIC is one system-wide clock on Linux, so the client process
compares its own `time.monotonic()` with the server's stamps directly.

Baseline, same run, same clients: a bare Flask-SocketIO app (gevent, WebSocket, the same
pywsgi server), each client in the same two rooms, replaying the recorded emits (same
events, rooms, payloads, timing); latency = receipt minus the emit's scheduled moment.
Memory per connected console: server RSS after connecting the clients minus before, / N
(for the baseline server too).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_acd as acd  # noqa: E402  (simulator process, configuration, /proc readers, scratch database)

NS = "/console"
QUEUE = "bench-main"
TENANT = "bench"


# ------------------------------------------------------------------ child processes
def _serve_commands(handlers: dict) -> None:
    """A role's command loop: one JSON reply line per stdin line `NAME [ARG...]`."""
    import gevent

    pool = gevent.get_hub().threadpool
    while True:
        line = pool.spawn(sys.stdin.readline).get()
        if not line:
            return
        name, *args = line.split()
        try:
            reply = handlers[name](*args)
        except Exception as exc:  # reported to the orchestrator, which stops the run
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply or {"ok": True}), flush=True)
        if name == "quit":
            return


class Stamps:
    """Bench-only hook in the server: when each notice reached the web side, carried by
    the first `console`/`parked` emit to the room it concerns; every such emit logged
    (time, event, room, payload) for the baseline's replay."""

    def __init__(self, socketio, locales):
        self.locales = locales
        self.console: dict[str, list[float]] = {}
        self.parked: dict[str, list[float]] = {}
        self.log: list = []
        self.recording = False
        original = socketio.emit

        def emit(event, *args, to=None, namespace=None, **kwargs):
            if self.recording and namespace == NS and isinstance(to, str) and event in ("console", "parked"):
                pending = self.console if event == "console" else self.parked
                now = time.monotonic()
                data = dict(args[0])
                self.log.append((now, event, to, data))
                data["bench"] = {"notices": pending.pop(to, []), "emitted": now}
                args = (data,) + args[1:]
            return original(event, *args, to=to, namespace=namespace, **kwargs)

        socketio.emit = emit

    def on_notice(self, notice) -> None:
        if not self.recording:
            return
        now = time.monotonic()
        payload, topic = notice.payload, notice.topic
        agents = [payload.get("agent")]
        if topic == "interaction_changed":
            agents.append(payload.get("recall_agent"))
            if payload.get("tenant"):
                for locale in self.locales:
                    self.parked.setdefault(f"parked:{payload['tenant']}:{locale}", []).append(now)
        for aid in agents:
            if aid:
                self.console.setdefault(f"agent:{aid}", []).append(now)


def server_main(cfg: str, db_url: str, n_users: str, workdir: str) -> None:
    from gevent import monkey

    monkey.patch_all()
    from agent_ui import i18n
    from dialplan.loader import load
    from sentral import web
    from sentral.app import EngineProcess
    from sentral.process import open_store
    from store import passwords, users

    deployment = load(cfg, env={"SENTRAL_FREESWITCH_PASSWORD": acd.PASSWORD})
    store = open_store(db_url)
    one_hash = passwords.hash_password("bench-password-1")
    users.hash_password = lambda _pw: one_hash       # 1,000 Argon2 hashes would take minutes; nobody logs in by password
    agents = sorted(deployment.agents)[:int(n_users)]
    proc = EngineProcess(deployment, store).start(ready_timeout=30)
    listeners = web.start_run(store, proc, deployment, web.WebOptions(web=("127.0.0.1", 0), secure_cookies=False))
    server = listeners.servers["web"]
    app = server.application
    socketio = app.extensions["socketio"]
    stamps = Stamps(socketio, i18n.LOCALES)
    proc.notices.subscribe(stamps.on_notice, snapshots=True)
    sessions = app.extensions["sentral"][1].sessions
    signer = app.session_interface.get_signing_serializer(app)
    cookies = []
    for i, aid in enumerate(agents):
        name = f"op{i:04d}"
        record = store.create_user(name, "bench-password-1", roles=[(TENANT, "operator")])
        store.bind_agent(name, aid)
        token = sessions.open(store.user(name))
        cookie = signer.dumps({"_user_id": token, "_fresh": True, "_permanent": True})
        cookies.append({"agent": aid, "cookie": f"{app.config['SESSION_COOKIE_NAME']}={cookie}", "user": record.id})
    path = pathlib.Path(workdir) / "cookies.json"
    path.write_text(json.dumps(cookies))
    print(json.dumps({"port": server.server_port, "cookies": str(path), "pid": os.getpid()}), flush=True)

    def agent_states():
        counts: dict[str, int] = {}
        for a in proc.engine.agents.values():
            counts[a.state.value] = counts.get(a.state.value, 0) + 1
        return {"states": counts, "sockets": len(socketio.console_sockets), "pushes": socketio.console_stats["pushes"]}

    def record(on):
        stamps.recording = on == "on"
        return {"emits": len(stamps.log)}

    def dump(path):
        t0 = stamps.log[0][0] if stamps.log else 0.0
        with open(path, "w") as out:
            for at, event, to, data in stamps.log:
                out.write(json.dumps([at - t0, event, to, data]) + "\n")
        return {"emits": len(stamps.log)}

    def quit_():
        listeners.stop(timeout=1)
        proc.stop()
        store.close()

    _serve_commands({"agents": agent_states, "record": record, "dump": dump, "quit": quit_})


def baseline_main(emit_log: str) -> None:
    """A bare Flask-SocketIO app (gevent, WebSocket, pywsgi): each client names its agent in
    the connect `auth` and joins `agent:<id>` and the parked room; `replay` re-emits the
    recorded log with its timing, stamped with each emit's scheduled moment."""
    from gevent import monkey

    monkey.patch_all()
    import gevent
    from flask import Flask
    from flask_socketio import SocketIO, join_room
    from gevent import pywsgi

    app = Flask("bench-baseline")
    socketio = SocketIO(app, async_mode="gevent")
    rooms: set[str] = set()

    @socketio.on("connect", namespace=NS)
    def connect(auth=None):
        agent = (auth or {}).get("agent", "")
        for room in (f"agent:{agent}", f"parked:{TENANT}:nb"):
            join_room(room)
            rooms.add(room)
        return True

    log = [json.loads(line) for line in open(emit_log)]
    server = pywsgi.WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    print(json.dumps({"port": server.server_port, "pid": os.getpid(), "emits": len(log)}), flush=True)

    def replay():
        start = time.monotonic() + 0.5
        late = []
        for at, event, to, data in log:
            due = start + at
            wait = due - time.monotonic()
            if wait > 0:
                gevent.sleep(wait)
            late.append(time.monotonic() - due)
            socketio.emit(event, dict(data, bench={"notices": [due], "emitted": time.monotonic()}), to=to,
                          namespace=NS)
        late.sort()
        return {"emits": len(log), "late_p99_ms": round(late[int(0.99 * (len(late) - 1))] * 1000, 2) if late else 0}

    _serve_commands({"replay": replay, "quit": lambda: server.stop(timeout=1)})


def clients_main(url: str, cookie_file: str, first: str, count: str, out: str) -> None:
    from gevent import monkey

    monkey.patch_all()
    import gevent
    import gevent.pool
    import socketio

    entries = json.loads(pathlib.Path(cookie_file).read_text())[int(first):int(first) + int(count)]
    samples: list = []          # (kind, receipt, notice times, emitted)
    state = {"url": url, "clients": [], "first": 0}

    def make(entry):
        sio = socketio.Client(reconnection=False, handle_sigint=False)

        def on_console(data):
            state["first"] += 1
            bench = data.get("bench")
            if bench:
                samples.append(("console", time.monotonic(), bench["notices"], bench["emitted"]))

        def on_parked(data):
            bench = data.get("bench")
            if bench:
                samples.append(("parked", time.monotonic(), bench["notices"], bench["emitted"]))

        sio.on("console", on_console, namespace=NS)
        sio.on("parked", on_parked, namespace=NS)
        try:
            sio.connect(state["url"], headers={"Cookie": entry["cookie"]}, auth={"agent": entry["agent"]},
                        transports=["websocket"], namespaces=[NS], wait_timeout=30)
        except Exception as exc:
            print(f"connect failed for {entry['agent']}: {exc}", file=sys.stderr, flush=True)
            return None
        return sio

    def connect(url):
        state["url"], state["first"] = url, 0
        pool = gevent.pool.Pool(20)
        state["clients"] = [c for c in pool.map(make, entries) if c is not None]
        return {"connected": len(state["clients"]), "wanted": len(entries)}

    def login():
        for sio in state["clients"]:
            sio.emit("command", {"name": "login", "queues": [QUEUE]}, namespace=NS)
            gevent.sleep(0)
        return {"sent": len(state["clients"])}

    def reset():
        samples.clear()
        return {"ok": True}

    def report():
        with open(out, "w") as f:
            json.dump(samples, f)
        return {"samples": len(samples), "first_states": state["first"]}

    def disconnect():
        gevent.joinall([gevent.spawn(c.disconnect) for c in state["clients"]], timeout=30)
        state["clients"] = []
        return {"ok": True}

    print(json.dumps({"pid": os.getpid()}), flush=True)
    _serve_commands({"connect": connect, "login": login, "reset": reset, "report": report,
                     "disconnect": disconnect, "quit": lambda: None})


# ------------------------------------------------------------------ orchestration
class Child:
    """A role of this script as a child process, driven by JSON lines over stdin/stdout."""

    def __init__(self, workdir: pathlib.Path, role: str, *args: str):
        self.name = role.strip("_")
        self.log = open(workdir / f"{self.name}-{time.time_ns()}.log", "w")
        self.proc = subprocess.Popen([sys.executable, __file__, role, *args], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.hello = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        while line and not line.startswith("{"):     # what the composed app prints (listeners) is not a reply
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} exited (see {self.log.name})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{self.name}: {reply['error']}")
        return reply

    def cmd(self, *words) -> dict:
        self.proc.stdin.write(" ".join(str(w) for w in words) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def rss(self) -> int:
        return acd.proc_rss(self.proc.pid)

    def cpu(self) -> float:
        return acd.proc_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.cmd("quit")
                self.proc.wait(timeout=15)
            except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Clients:
    """The client processes, each holding its slice of the users."""

    def __init__(self, workdir: pathlib.Path, cookies: str, n: int, procs: int, url: str):
        per = -(-n // procs)
        self.outs = [workdir / f"samples-{i}.json" for i in range(procs)]
        self.children = [Child(workdir, "_clients", url, cookies, str(i * per), str(min(per, n - i * per)),
                               str(self.outs[i])) for i in range(procs) if i * per < n]

    def each(self, *words) -> list[dict]:
        for c in self.children:               # send to all, then read: the processes work at once
            c.proc.stdin.write(" ".join(str(w) for w in words) + "\n")
            c.proc.stdin.flush()
        return [c._read() for c in self.children]

    def samples(self) -> list:
        self.each("report")
        rows: list = []
        for out in self.outs[:len(self.children)]:
            rows.extend(json.loads(out.read_text()))
        return rows

    def cpu(self) -> float:
        return sum(c.cpu() for c in self.children)

    def stop(self) -> None:
        for c in self.children:
            c.stop()


def latencies(samples: list, kind: str | None = None) -> tuple[list[float], list[float]]:
    """(notice -> receipt, emit -> receipt) in ms, one value per notice carried / per receipt."""
    notice, emit = [], []
    for k, received, notices, emitted in samples:
        if kind and k != kind:
            continue
        notice.extend((received - n) * 1000 for n in notices)
        emit.append((received - emitted) * 1000)
    return sorted(notice), sorted(emit)


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def wait_until(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def connect_clients(clients: Clients, url: str, server: Child, n: int) -> tuple[int, float]:
    rss0 = server.rss()
    t0 = time.monotonic()
    connected = sum(r["connected"] for r in clients.each("connect", url))
    took = time.monotonic() - t0
    time.sleep(1.0)                             # let the connect-time pushes drain before reading RSS
    per = (server.rss() - rss0) / max(1, connected)
    print(f"  {connected}/{n} clients connected in {took:.1f} s; server RSS {rss0 / 2**20:.1f} -> "
          f"{server.rss() / 2**20:.1f} MiB: {per / 1024:.1f} KiB per console", flush=True)
    if connected < n:
        raise RuntimeError(f"only {connected} of {n} clients connected")
    return connected, per


def run(args, workdir: pathlib.Path) -> dict:
    n = args.clients
    cfg = workdir / "console.yaml"
    cfg.write_text(acd.config_yaml(n, wrapup=args.wrapup))
    route = acd.route_json(cfg)
    db = acd.Database("postgresql", args.admin_url, workdir)
    sim = server = clients = base = None
    result: dict = {"clients": n, "calls_per_minute": args.calls_per_minute, "duration": args.duration}
    try:
        sim = acd.SimProc(workdir, route, n, args.ring, args.time_factor)
        cfg.write_text(cfg.read_text().replace("port: 8021", f"port: {sim.port}"))
        print(f"server: engine + web app, {n} users bound to {n} agents ...", flush=True)
        server = Child(workdir, "_server", str(cfg), db.url, str(n), str(workdir))
        url = f"http://127.0.0.1:{server.hello['port']}"
        time.sleep(1.0)
        clients = Clients(workdir, server.hello["cookies"], n, args.client_procs, url)
        print(f"connecting {n} console clients ({len(clients.children)} processes) ...", flush=True)
        _, result["rss_per_console"] = connect_clients(clients, url, server, n)
        clients.each("login")
        wait_until(lambda: server.cmd("agents")["states"].get("available", 0) >= n, 120, f"{n} agents available")
        time.sleep(1.0)                             # the login pushes drain
        print(f"traffic: {args.calls_per_minute} calls/min for {args.duration:.0f} s ...", flush=True)
        clients.each("reset")
        server.cmd("record", "on")
        cpu0 = {"server": server.cpu(), "clients": clients.cpu(), "sim": sim.cpu()}
        t0 = time.monotonic()
        sim.cmd(f"traffic {args.calls_per_minute / 60:.4f} {args.duration} {args.talk} 600")
        last = t0
        while time.monotonic() - t0 < args.duration + args.talk + 2:          # the last calls end
            time.sleep(1.0)
            if time.monotonic() - last >= 10:
                last = time.monotonic()
                st = sim.cmd("stats 0")
                print(f"  {last - t0:.0f} s: placed {st['placed']}, bridged {st['bridged']}, ended {st['ended']}",
                      flush=True)
        wall = time.monotonic() - t0
        result["cpu"] = {"server": server.cpu() - cpu0["server"], "clients": clients.cpu() - cpu0["clients"],
                         "sim": sim.cpu() - cpu0["sim"], "wall": wall}
        result["emits"] = server.cmd("record", "off")["emits"]
        result["calls"] = sim.cmd("stats 0")
        real = clients.samples()
        emit_log = workdir / "emits.jsonl"
        server.cmd("dump", emit_log)
        clients.each("disconnect")
        result["real"] = real
        server.stop()
        server = None

        print(f"baseline: bare Flask-SocketIO replaying the {result['emits']} emits to {n} clients ...", flush=True)
        base = Child(workdir, "_baseline", str(emit_log))
        burl = f"http://127.0.0.1:{base.hello['port']}"
        _, result["baseline_rss_per_console"] = connect_clients(clients, burl, base, n)
        clients.each("reset")
        cpu0 = {"server": base.cpu(), "clients": clients.cpu()}
        result["replay"] = base.cmd("replay")
        time.sleep(1.5)                             # the last replayed emits arrive
        result["baseline_cpu"] = {"server": base.cpu() - cpu0["server"], "clients": clients.cpu() - cpu0["clients"]}
        result["baseline"] = clients.samples()
        clients.each("disconnect")
    finally:
        for child in (clients, base, server, sim):
            if child is not None:
                child.stop()
        db.drop()
    return result


def report(r: dict, args) -> str:
    rows = []
    for label, key in (("console (the agent's own console)", "console"), ("parked list (every console of the tenant)",
                                                                        "parked"), ("all pushes", None)):
        real_n, real_e = latencies(r["real"], key)
        base_n, base_e = latencies(r["baseline"], key)
        rows.append(f"| {label} | {len(real_n):,} | {pct(real_n, .5):.1f} | {pct(real_n, .99):.1f} | "
                    f"{pct(real_n, 1):.1f} | {pct(real_e, .5):.1f} / {pct(real_e, .99):.1f} | "
                    f"{pct(base_n, .5):.1f} | {pct(base_n, .99):.1f} | "
                    f"{pct(real_n, .99) / max(pct(base_n, .99), 1e-9):.1f}x |")
    all_n, _ = latencies(r["real"])
    own, _ = latencies(r["real"], "console")
    calls = r["calls"]
    cpu, bcpu = r["cpu"], r["baseline_cpu"]

    def met(values):
        return "met" if pct(values, .99) < 200 else "**not met**"
    load = os.getloadavg()
    return "\n".join([
        f"`scripts/bench console --clients {r['clients']} --calls-per-minute {r['calls_per_minute']:g} "
        f"--duration {r['duration']:.0f}` ({time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {args.machine}, "
        f"load average {load[0]:.1f} at the end)",
        "",
        f"Calls: {calls['placed']} placed, {calls['bridged']} bridged, {calls['ended']} ended; "
        f"{r['emits']:,} pushes recorded; {len(r['real']):,} receipts by the clients.",
        "",
        "| push | notices | p50 ms | p99 ms | max ms | emit->receipt p50 / p99 | baseline p50 | baseline p99 | "
        "p99 ratio |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|",
        *rows,
        "",
        f"* Goal p99 < 200 ms (engine notice -> console receipt): {met(all_n)} over all pushes "
        f"({pct(all_n, .99):.1f} ms); {met(own)} for the agents' own consoles ({pct(own, .99):.1f} ms).",
        f"* Memory per connected console (server RSS delta / clients): {r['rss_per_console'] / 1024:.1f} KiB; "
        f"bare Flask-SocketIO {r['baseline_rss_per_console'] / 1024:.1f} KiB.",
        f"* CPU during the traffic ({cpu['wall']:.0f} s): server {cpu['server']:.1f} s, clients {cpu['clients']:.1f} s, "
        f"simulator {cpu['sim']:.1f} s; baseline replay: server {bcpu['server']:.1f} s, clients "
        f"{bcpu['clients']:.1f} s (replay lag p99 {r['replay']['late_p99_ms']} ms).",
    ])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="scripts/bench console", description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--clients", type=int, default=1000, help="console clients = users = agents")
    p.add_argument("--calls-per-minute", type=float, default=600)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of call arrivals")
    p.add_argument("--client-procs", type=int, default=2, help="processes the clients are spread over")
    p.add_argument("--talk", type=float, default=5.0, help="real seconds a caller talks")
    p.add_argument("--wrapup", default="2s", help="the queue's wrap-up")
    p.add_argument("--ring", type=float, default=2.0, help="softphone ring (simulated seconds, x time factor)")
    p.add_argument("--time-factor", type=float, default=0.05, help="simulator time factor (prompts, ring)")
    p.add_argument("--workdir", default="", help="keep the processes' logs here (default: a temporary dir)")
    p.add_argument("--json", default="", help="also write the summary (no samples) to this file")
    p.add_argument("--admin-url", default=os.environ.get("SENTRAL_TEST_PG_ADMIN_URL", acd.PG_ADMIN_URL))
    args = p.parse_args(argv)
    args.machine = acd.machine()
    print(f"machine: {args.machine}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        workdir = pathlib.Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            result = run(args, workdir)
        except Exception:
            for log in sorted(workdir.glob("*.log")):
                tail = log.read_text(errors="replace").splitlines()[-8:]
                print(f"--- {log.name} (last lines)\n" + "\n".join(tail), flush=True)
            raise
    print("\n" + report(result, args), flush=True)
    if args.json:
        summary = {k: v for k, v in result.items() if k not in ("real", "baseline")}
        for key in ("console", "parked", None):
            for which in ("real", "baseline"):
                values, _ = latencies(result[which], key)
                summary[f"{which}_{key or 'all'}"] = {"n": len(values), "p50": pct(values, .5), "p99": pct(values, .99)}
        pathlib.Path(args.json).write_text(json.dumps(summary, indent=1, default=str))
    return 0


ROLES = {"_server": server_main, "_baseline": baseline_main, "_clients": clients_main}

if __name__ == "__main__":
    if sys.argv[1:2] and sys.argv[1] in ROLES:
        ROLES[sys.argv[1]](*sys.argv[2:])
    else:
        sys.exit(main())

"""ACD whole-flow benchmarks (issue 3, Performance): call setups per second through the
real stack, memory per waiting call, recovery time after SIGKILL; and (issue 11) call
handling with and without concurrent encryption of recordings.

Run: scripts/bench acd [--quick] [--only throughput,memory,recovery] [--rates 50,100,200]
     [--seconds S] [--agents N] [--sqlite] [--admin-url URL]
     scripts/bench acd --only encryption [--rate 60] [--rounds 2] [--seconds S]

Three processes, as in production: this script (orchestrates, reads the journal), the
FreeSWITCH simulator (`bench_acd.py _sim ...`, its own process and core share, driven over
stdin/stdout) and the engine (`sentral run --config ... --login-all`, SIGKILLed and
restarted for the recovery test). The journal is on a scratch PostgreSQL database
created on --admin-url and dropped afterwards (`--sqlite`: also the same step on a SQLite
file, the baseline ratio). Each call: arrival -> recording notice -> queue -> offer
(originate to a simulated softphone that answers after a short ring) -> bridge -> talk
-> caller hangs up -> journal `ended`.

* throughput: fixed-rate callers, the rate stepped up until a step is not sustained
  (a backlog of waiting callers at the end of the step, arrival->bridge p99 over 3 s,
  a lost or stuck call, or completions below 95 % of arrivals). Completed calls/s is
  counted from the journal's `ended` rows in the steady window.
* memory: no agent available; 1,000 then 5,000 waiting calls; engine RSS growth / N.
* recovery: 1,000 calls (100 talking, 900 waiting); kill -9; restart; time to
  "engine ready" and to the first new offer (originate) after a talking caller hangs up.
* encryption: one fixed rate (below saturation), windows alternating between three
  conditions, each on a fresh database, simulator and engine: `off` (the tenant does not
  record), `rec` (every call recorded: the simulator writes the WAV, the engine's recorder
  encrypts it to a generated age key) and `load` (as `rec`, and the recorder's start-up
  recovery encrypts 1-hour WAVs back to back in the engine process all through the window;
  the files stored in the window prove it). The recordings go to a temporary
  SENTRAL_RECORDINGS_DIR.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-secret"
NUMBER = "22001000"
# The bench tenant records (as a real one would); its private key is not kept: nothing here reads the files.
BENCH_RECIPIENT = "age1hp6phpfkxmnhnjauaefe35t6eyutcux2hn39dg3ce62trn79834sevg7l4"
PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ simulator process
# `bench_acd.py _sim PASSWORD TIME_FACTOR AGENTS RING ROUTE_JSON` (gevent, monkey-patched):
# first stdout line `{"port": N}`, then one JSON reply line per stdin command:
#   traffic RATE SECONDS TALK PATIENCE | place N TALK|- PATIENCE|- | stats SINCE |
#   hangup_talking N | hangup_all | quit
# Callers talk TALK real seconds after their bridge and abandon after PATIENCE unbridged;
# hang-ups the benchmark causes are marked `ours`, any other caller hang-up is counted.
class Caller:
    __slots__ = ("uuid", "placed", "bridged", "ended", "cause", "ours", "talk", "patience")

    def __init__(self, uuid, talk, patience):
        self.uuid, self.placed, self.bridged, self.ended = uuid, time.time(), None, None
        self.cause, self.ours, self.talk, self.patience = "", False, talk, patience


class Tracker:
    def __init__(self, sim: Simulator, destination: str):
        self.sim, self.destination = sim, destination
        self.callers: dict[str, Caller] = {}
        self.originates: list[float] = []
        self.seq = 0
        sim.switch.bus.listen(self.on_event)

    def on_event(self, event) -> None:
        name = event.name
        if name == "CHANNEL_BRIDGE":
            now = time.time()
            for key in ("Bridge-A-Unique-ID", "Bridge-B-Unique-ID"):
                c = self.callers.get(event.get(key))
                if c is not None and c.bridged is None:
                    c.bridged = now
                    if c.talk is not None:
                        gevent.spawn_later(c.talk, self.hangup, c)
        elif name == "CHANNEL_CREATE":
            if event.get("Call-Direction") == "outbound":
                self.originates.append(time.time())
        elif name == "CHANNEL_HANGUP":
            c = self.callers.get(event.get("Unique-ID"))
            if c is not None and c.ended is None:
                c.ended, c.cause = time.time(), event.get("Hangup-Cause")

    def hangup(self, c: Caller) -> None:
        ch = self.sim.channels.get(c.uuid)
        if ch is not None and not ch.hanging:
            c.ours = True
            ch.hangup("NORMAL_CLEARING")
            apps.start_runner(ch)

    def abandon(self, c: Caller) -> None:
        if c.bridged is None:
            self.hangup(c)

    def place(self, talk, patience) -> None:
        self.seq += 1
        ch = self.sim.place_call(self.destination, caller_number=f"47{self.seq:08d}")
        c = Caller(ch.uuid, talk, patience)
        self.callers[ch.uuid] = c
        if patience is not None:
            gevent.spawn_later(patience, self.abandon, c)

    def traffic(self, rate, seconds, talk, patience) -> None:
        start = time.monotonic()
        placed = 0
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= seconds:
                return
            due = int(elapsed * rate) + 1
            while placed < due:
                self.place(talk, patience)
                placed += 1
            gevent.sleep(max(0.0, placed / rate - (time.monotonic() - start)))

    def stats(self, since: float) -> dict:
        cs = [c for c in self.callers.values() if c.placed >= since]
        lat = sorted(c.bridged - c.placed for c in cs if c.bridged is not None)
        waiting = [c for c in cs if c.bridged is None and c.ended is None]
        pick = (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 4)) if lat else (lambda q: None)
        after = [t for t in self.originates if t >= since]
        return {
            "placed": len(cs), "bridged": len(lat), "waiting": len(waiting),
            "oldest_wait": round(time.time() - min(c.placed for c in waiting), 2) if waiting else 0.0,
            "talking": sum(1 for c in cs if c.bridged is not None and c.ended is None),
            "ended": sum(1 for c in cs if c.ended is not None),
            "abandoned_patience": sum(1 for c in cs if c.ours and c.bridged is None),
            "hung_up_by_switch_unbridged": sum(1 for c in cs if c.ended and not c.ours and c.bridged is None),
            "hung_up_by_switch_bridged": sum(1 for c in cs if c.ended and not c.ours and c.bridged is not None),
            "lat_p50": pick(0.5), "lat_p90": pick(0.9), "lat_p99": pick(0.99), "lat_max": lat[-1] if lat else None,
            "originates": len(after), "first_originate": after[0] if after else None,
            "channels": len(self.sim.channels), "time": time.time(),
            "sim_out_queue": sum(sess.out.qsize() for sess in list(self.sim.sessions)),
        }


def sim_main(argv) -> None:
    password, time_factor, agents, ring, route = argv
    route = json.loads(route)
    sim = Simulator(password=password, time_factor=float(time_factor), heartbeat_interval=5.0,
                    dialplan={route["number"]: route["vars"]})
    sim.start()
    for i in range(int(agents)):
        sim.add_user(str(10000 + i), action="answer", ring=float(ring))
    tracker = Tracker(sim, route["number"])
    print(json.dumps({"port": sim.port}), flush=True)
    pool = gevent.get_hub().threadpool
    while True:
        line = pool.spawn(sys.stdin.readline).get()
        if not line:
            return
        cmd, *a = line.split()
        reply: dict = {"ok": True}
        if cmd == "traffic":
            gevent.spawn(tracker.traffic, float(a[0]), float(a[1]), float(a[2]), float(a[3]))
            reply["t0"] = time.time()
        elif cmd == "place":
            t0 = time.time()
            for i in range(int(a[0])):
                tracker.place(float(a[1]) if a[1] != "-" else None, float(a[2]) if a[2] != "-" else None)
                if i % 20 == 19:
                    gevent.sleep(0.005)
            reply["t0"] = t0
        elif cmd == "stats":
            reply = tracker.stats(float(a[0]) if a else 0.0)
        elif cmd == "hangup_talking":
            n = int(a[0])
            for c in [c for c in tracker.callers.values() if c.bridged and not c.ended][:n]:
                tracker.hangup(c)
            reply["t0"] = time.time()
        elif cmd == "hangup_all":
            for c in list(tracker.callers.values()):
                if c.ended is None:
                    tracker.hangup(c)
        elif cmd == "quit":
            print(json.dumps(reply), flush=True)
            sim.stop()
            return
        print(json.dumps(reply), flush=True)



def _sim_role(argv) -> None:
    from gevent import monkey

    monkey.patch_all()
    global gevent, apps, Simulator
    import gevent

    from esl.sim import apps
    from esl.sim.server import Simulator

    sim_main(argv)


# ------------------------------------------------------------------ orchestration
def config_yaml(n_agents: int, wrapup: str = "0s", recipient: str = BENCH_RECIPIENT) -> str:
    """The bench tenant records every call to `recipient`; "" = recording off (and no notice)."""
    recording = (["    recording: {enabled: true, notice: sentral/recording-notice.wav,",
                  f"                public_key: {recipient}}}"] if recipient else ["    recording: {enabled: false}"])
    lines = [
        "version: 1",
        "freeswitch:",
        "  sip_domain: 127.0.0.1",
        "  nodes:",
        "    - {name: fs1, host: 127.0.0.1, port: 8021, password: {env: SENTRAL_FREESWITCH_PASSWORD}}",
        "engine:",
        "  url: http://127.0.0.1:8080",
        "tenants:",
        "  - id: bench",
        "    name: Bench",
        "    caller_id_name: Bench",
        f'    numbers: ["{NUMBER}"]',
        "    hours: always",
        *recording,
        "    queues:",
        "      - id: bench-main",
        "        name: Main",
        "        strategy: longest-idle",
        "        ring_timeout: 10s",
        f"        wrapup: {wrapup}",
        "        max_wait: 30m",
        "        announcements: {every: 0s, position: false, wait_time: false}",
        "agents:",
    ]
    for i in range(max(1, n_agents)):
        ext = 10000 + i
        lines.append(f'  - {{id: a{ext}, name: Agent {ext}, extension: "{ext}", a1_hash: {i:032x}, '
                     f"queues: [bench-main]}}")
    return "\n".join(lines) + "\n"


def route_json(cfg_path: pathlib.Path) -> str:
    from dialplan.compile import entry_variables
    from dialplan.loader import load

    deployment = load(str(cfg_path), env={"SENTRAL_FREESWITCH_PASSWORD": PASSWORD})
    return json.dumps({"number": NUMBER, "vars": entry_variables(deployment.entry_points[NUMBER])})


def proc_cpu(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_runq_wait(pid: int) -> float:
    """Seconds the process's threads spent runnable but waiting for a CPU (other load)."""
    total = 0
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def proc_rss(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class SimProc:
    def __init__(self, workdir: pathlib.Path, route: str, agents: int, ring: float, time_factor: float):
        self.log = open(workdir / f"sim-{time.time():.0f}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "_sim", PASSWORD, str(time_factor), str(agents), str(ring), route],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.port = json.loads(self.proc.stdout.readline())["port"]

    def cmd(self, line: str) -> dict:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        out = self.proc.stdout.readline()
        if not out:
            raise RuntimeError(f"simulator exited (see {self.log.name})")
        return json.loads(out)

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.cmd("quit")
                self.proc.wait(timeout=10)
            except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class EngineProc:
    """`sentral run` as a child; output to a file polled for `engine ready in X s`. Its
    recordings (spool and store) go to `recordings_dir`, never into the checkout's var/."""

    def __init__(self, workdir: pathlib.Path, cfg: pathlib.Path, port: int, db_url: str,
                 recordings_dir: pathlib.Path):
        self.log_path = workdir / f"engine-{time.time():.0f}-{uuid.uuid4().hex[:4]}.log"
        self.cfg, self.port, self.db_url, self.recordings_dir = cfg, port, db_url, recordings_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 120.0) -> tuple[float, float]:
        """Returns (wall seconds from spawn to the ready line, the engine's own ready time)."""
        self.starts += 1
        env = dict(os.environ, SENTRAL_FREESWITCH_PORT=str(self.port), SENTRAL_FREESWITCH_PASSWORD=PASSWORD,
                   SENTRAL_DATABASE_URL=self.db_url, SENTRAL_RECORDINGS_DIR=str(self.recordings_dir),
                   PYTHONUNBUFFERED="1")
        out = open(self.log_path, "a", encoding="utf-8")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "sentral.cli", "run", "--config", str(self.cfg),
                                      "--login-all", "--status-every", "5"],
                                     cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        while time.monotonic() - t0 < timeout:
            text = self.log_path.read_text(errors="replace")
            ready = [ln for ln in text.splitlines() if ln.startswith("engine ready in")]
            if len(ready) >= self.starts:
                return time.monotonic() - t0, float(ready[-1].split()[3].rstrip("s"))
            if self.proc.poll() is not None:
                raise RuntimeError(f"engine exited: {text[-2000:]}")
            time.sleep(0.02)
        raise RuntimeError("engine not ready in time")

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def rss(self) -> int:
        return proc_rss(self.proc.pid)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Database:
    """A scratch PostgreSQL database (or SQLite file), migrated by the engine, dropped at the end."""

    def __init__(self, kind: str, admin_url: str, workdir: pathlib.Path):
        import sqlalchemy as sa

        self.sa = sa
        self.kind, self.admin_url = kind, admin_url
        if kind == "postgresql":
            self.name = "sentral_bench_" + uuid.uuid4().hex[:10]
            admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
            admin.dispose()
            self.url = sa.engine.make_url(admin_url).set(database=self.name).render_as_string(hide_password=False)
        else:
            self.url = f"sqlite:///{workdir / ('bench-' + uuid.uuid4().hex[:8] + '.db')}"
        self._engine = None

    def q(self, sql: str, **params):
        if self._engine is None:
            self._engine = self.sa.create_engine(self.url, poolclass=self.sa.pool.NullPool)
        with self._engine.connect() as conn:
            return conn.execute(self.sa.text(sql), params).all()

    def scalar(self, sql: str, **params):
        try:
            return self.q(sql, **params)[0][0]
        except self.sa.exc.OperationalError:  # tables not migrated yet / SQLite busy
            return None

    def verify(self) -> list:
        from store.store import Store

        store = Store(self.url)
        try:
            return store.verify_journal()
        finally:
            store.close()

    def drop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self.kind == "postgresql":
            admin = self.sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(self.sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            admin.dispose()


def wait_for(pred, timeout: float, every: float = 0.25, what: str = "") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(every)
    if what:
        print(f"    ! timed out waiting for {what}", flush=True)
    return False


def ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


class Stack:
    """Simulator + database + engine, started together, stopped together."""

    def __init__(self, args, workdir, *, agents: int, db_kind: str = "postgresql", sim_agents: int | None = None,
                 recipient: str = BENCH_RECIPIENT, recordings_dir: pathlib.Path | None = None):
        self.workdir = workdir
        self.cfg = workdir / f"acd-{agents}-{'rec' if recipient else 'norec'}.yaml"
        self.cfg.write_text(config_yaml(agents, recipient=recipient))
        self.db = Database(db_kind, args.admin_url, workdir)
        self.sim = SimProc(workdir, route_json(self.cfg), agents if sim_agents is None else sim_agents,
                           args.ring, args.time_factor)
        self.recordings_dir = recordings_dir or workdir / "recordings"
        self.engine = EngineProc(workdir, self.cfg, self.sim.port, self.db.url, self.recordings_dir)

    def start_engine(self, available: int) -> tuple[float, float]:
        took = self.engine.start()
        if available:
            wait_for(lambda: (self.db.scalar("SELECT count(*) FROM agent_states WHERE state = 'available'")
                              or 0) >= available, 120, what=f"{available} agents available")
        return took

    def open_calls(self) -> int:
        return self.db.scalar("SELECT count(*) FROM interactions WHERE ended_at IS NULL") or 0

    def close(self) -> None:
        self.engine.stop()
        self.sim.stop()
        self.db.drop()


# ------------------------------------------------------------------ 1. throughput
def journal_outcomes(db: Database, t0: float, t1: float) -> dict:
    rows = db.q(
        "SELECT interaction, "
        " max(CASE WHEN kind = 'answered' THEN 1 ELSE 0 END), "
        " max(CASE WHEN kind IN ('abandoned', 'overflowed', 'overflow') THEN 1 ELSE 0 END), "
        " max(CASE WHEN kind = 'ended' THEN 1 ELSE 0 END), "
        " sum(CASE WHEN kind = 'offered' THEN 1 ELSE 0 END), min(at) "
        "FROM journal GROUP BY interaction")
    lo, hi = ts(t0 - 0.5), ts(t1 + 0.5)
    mine = [r for r in rows if lo <= _aware(r[5]) < hi]
    return {"interactions": len(mine), "answered": sum(r[1] for r in mine), "abandoned_or_overflow": sum(r[2] for r in mine),
            "ended": sum(r[3] for r in mine), "offered": sum(r[4] for r in mine),
            "neither": sum(1 for r in mine if not r[1] and not r[2])}


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def ended_in(db: Database, t0: float, t1: float) -> int:
    rows = db.q("SELECT at FROM journal WHERE kind = 'ended'")
    lo, hi = ts(t0), ts(t1)
    return sum(1 for (at,) in rows if lo <= _aware(at) < hi)


def throughput_step(stack: Stack, rate: float, seconds: float, talk: float, patience: float,
                    profile: str = "") -> dict:
    sim, engine, db = stack.sim, stack.engine, stack.db
    spy = None
    if profile:  # py-spy (pip install py-spy) samples the engine for the whole step: collapsed stacks
        out = pathlib.Path(profile) / f"engine-{stack.db.kind}-{rate:g}.txt"
        spy = [subprocess.Popen(["py-spy", "record", "-p", str(pid), "-d", str(int(seconds)),
                                 "-r", "200", "-f", "raw", "-o", str(out).replace("engine-", who + "-")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for who, pid in (("engine", engine.proc.pid), ("sim", sim.proc.pid))]
    cpu0, scpu0 = engine.cpu(), sim.cpu()
    rq0, srq0 = proc_runq_wait(engine.proc.pid), proc_runq_wait(sim.proc.pid)
    t0 = sim.cmd(f"traffic {rate} {seconds} {talk} {patience}")["t0"]
    while time.time() < t0 + seconds:
        time.sleep(min(2.0, max(0.05, t0 + seconds - time.time())))
        s = sim.cmd(f"stats {t0}")
        el = time.time() - t0
        print(f"    t={el:5.1f}s placed={s['placed']} bridged={s['bridged']} waiting={s['waiting']} "
              f"(oldest {s['oldest_wait']}s) talking={s['talking']} p99={s['lat_p99']}s sim-out-queue={s['sim_out_queue']} "
              f"engine CPU={(engine.cpu() - cpu0) / el:.0%} sim CPU={(sim.cpu() - scpu0) / el:.0%}", flush=True)
    t1 = time.time()
    at_end = sim.cmd(f"stats {t0}")
    for p in spy or ():
        p.wait()
    cpu, scpu = engine.cpu() - cpu0, sim.cpu() - scpu0
    rq, srq = proc_runq_wait(engine.proc.pid) - rq0, proc_runq_wait(sim.proc.pid) - srq0
    wall = t1 - t0
    drained = wait_for(lambda: (lambda s: s["waiting"] == 0 and s["talking"] == 0)(sim.cmd(f"stats {t0}")),
                       60 + patience, what="callers drained")
    wait_for(lambda: stack.open_calls() == 0, 30, what="open interactions closed")
    wait_for(lambda: sim.cmd(f"stats {t0}")["channels"] == 0, 30, what="no channel left in the simulator")
    final = sim.cmd(f"stats {t0}")
    stuck = stack.open_calls()
    cpu_all, scpu_all = engine.cpu() - cpu0, sim.cpu() - scpu0  # traffic + drain: every call's whole life
    warm = talk + 2.0
    completed = ended_in(db, t0 + warm, t1) / max(0.001, t1 - t0 - warm)
    outcomes = journal_outcomes(db, t0, t1)
    lost = (final["placed"] - outcomes["interactions"]) + outcomes["neither"]
    result = {
        "rate": rate, "seconds": round(wall, 1), "placed": final["placed"], "completed_per_s": round(completed, 1),
        "bridged": final["bridged"], "offered": outcomes["offered"], "answered": outcomes["answered"],
        "abandoned_or_overflow": outcomes["abandoned_or_overflow"], "lost": lost, "stuck": stuck,
        "waiting_at_end": at_end["waiting"], "oldest_wait_at_end": at_end["oldest_wait"],
        "lat_p50": final["lat_p50"], "lat_p90": final["lat_p90"], "lat_p99": final["lat_p99"],
        "lat_max": final["lat_max"], "engine_cpu": round(cpu / wall, 2), "sim_cpu": round(scpu / wall, 2),
        "engine_runq_wait": round(rq / wall, 2), "sim_runq_wait": round(srq / wall, 2),
        "engine_ms_per_call": round(1000 * cpu_all / max(1, final["placed"]), 2),
        "sim_ms_per_call": round(1000 * scpu_all / max(1, final["placed"]), 2),
        "dropped_by_switch": final["hung_up_by_switch_unbridged"] + final["hung_up_by_switch_bridged"],
        "drained": drained, "sim_channels_left": final["channels"], "t0": t0, "t1": t1,
    }
    result["sustained"] = bool(
        drained and stuck == 0 and lost == 0 and result["dropped_by_switch"] == 0 and final["channels"] == 0
        and at_end["waiting"] <= max(10, rate * 1.0) and (final["lat_p99"] or 99) < 3.0
        and completed >= 0.95 * rate)
    print(f"  rate {rate}/s: completed {completed:.1f}/s, placed {final['placed']}, answered "
          f"{outcomes['answered']}, offered {outcomes['offered']}, lost {lost}, stuck {stuck}, "
          f"channels left {final['channels']}, "
          f"arrival->bridge p50/p99/max {final['lat_p50']}/{final['lat_p99']}/{final['lat_max']} s, "
          f"engine CPU {cpu / wall:.0%} (+{rq / wall:.0%} waiting for a CPU, {result['engine_ms_per_call']} ms/call), "
          f"sim CPU {scpu / wall:.0%} (+{srq / wall:.0%} waiting, {result['sim_ms_per_call']} ms/call) -> "
          f"{'sustained' if result['sustained'] else 'NOT sustained'}", flush=True)
    return result


def bench_throughput(args, workdir, db_kind: str, rates: list[float]) -> list[dict]:
    print(f"== throughput, journal on {db_kind}: {args.agents} agents (ring {args.ring * args.time_factor:.2f} s), "
          f"talk {args.talk} s, {args.seconds} s per step, rates {rates}", flush=True)
    stack = Stack(args, workdir, agents=args.agents, db_kind=db_kind)
    results = []
    try:
        took = stack.start_engine(available=args.agents)
        print(f"  engine (pid {stack.engine.proc.pid}) ready ({took[0]:.1f} s), {args.agents} agents available",
              flush=True)
        for rate in rates:
            r = throughput_step(stack, rate, args.seconds, args.talk, args.patience, args.profile)
            results.append(r)
            if not r["sustained"]:
                break
        problems = stack.db.verify()
        print(f"  journal check: {len(problems)} problem(s)", flush=True)
        for r in results:
            r["journal_problems"] = len(problems)
    finally:
        stack.close()
    return results


# ------------------------------------------------------------------ 2. memory
def bench_memory(args, workdir, sizes=(1000, 5000)) -> dict:
    print(f"== memory per waiting call: no agent available, {sizes} waiting calls", flush=True)
    stack = Stack(args, workdir, agents=10, sim_agents=0)
    out = {}
    try:
        stack.start_engine(available=0)
        time.sleep(2.0)
        base = stack.engine.rss()
        print(f"  engine RSS idle: {base / 2**20:.1f} MiB", flush=True)
        placed = 0
        for n in sizes:
            stack.sim.cmd(f"place {n - placed} - -")
            placed = n
            wait_for(lambda: (stack.db.scalar("SELECT count(*) FROM interactions WHERE state = 'queued' "
                                              "AND ended_at IS NULL") or 0) >= n, 180, what=f"{n} queued")
            time.sleep(2.0)
            rss = stack.engine.rss()
            out[n] = {"rss": rss, "per_call": (rss - base) / n}
            print(f"  {n} waiting: RSS {rss / 2**20:.1f} MiB, +{(rss - base) / n:,.0f} bytes per call", flush=True)
        if len(sizes) == 2:
            a, b = sizes
            out["marginal"] = (out[b]["rss"] - out[a]["rss"]) / (b - a)
            print(f"  marginal {a}->{b}: {out['marginal']:,.0f} bytes per call", flush=True)
        out["idle"] = base
        stack.sim.cmd("hangup_all")
        wait_for(lambda: stack.open_calls() == 0, 60, what="calls closed")
    finally:
        stack.close()
    return out


# ------------------------------------------------------------------ 3. recovery
def bench_recovery(args, workdir, calls: int = 1000, talking: int = 100) -> dict:
    print(f"== recovery: {calls} calls ({talking} talking), kill -9, restart", flush=True)
    stack = Stack(args, workdir, agents=talking)
    sim, db = stack.sim, stack.db
    out = {}
    try:
        first = stack.start_engine(available=talking)
        out["cold_start"] = first
        t_place = sim.cmd(f"place {calls} 3600 -")["t0"]
        wait_for(lambda: stack.open_calls() >= calls and sim.cmd(f"stats {t_place}")["talking"] >= talking, 120,
                 what="calls in place")
        time.sleep(1.0)
        before = sim.cmd(f"stats {t_place}")
        open_before = stack.open_calls()
        print(f"  before kill: {before['talking']} talking, {before['waiting']} waiting, {open_before} open "
              f"interactions, engine RSS {stack.engine.rss() / 2**20:.0f} MiB", flush=True)
        stack.engine.kill()
        t_start = time.time()
        wall, reported = stack.engine.start()
        t_ready = time.time()
        sim.cmd("hangup_talking 10")
        wait_for(lambda: sim.cmd(f"stats {t_start}")["first_originate"] is not None, 30, 0.01,
                 what="first offer after restart")
        s = sim.cmd(f"stats {t_start}")
        first_offer = (s["first_originate"] - t_start) if s["first_originate"] else None
        after = sim.cmd(f"stats {t_place}")
        out.update(ready_wall=wall, ready_reported=reported, first_offer=first_offer,
                   first_offer_after_ready=(s["first_originate"] - t_ready) if s["first_originate"] else None,
                   talking=before["talking"], waiting=before["waiting"], open_before=open_before,
                   dropped=after["hung_up_by_switch_unbridged"] + after["hung_up_by_switch_bridged"])
        print(f"  restart: process start -> 'engine ready' {wall:.2f} s (engine's own: {reported:.2f} s); "
              f"-> first new offer {first_offer:.2f} s ({out['first_offer_after_ready']:.2f} s after ready, "
              f"10 talking callers hung up at ready); calls dropped by the switch: {out['dropped']}", flush=True)
        wait_for(lambda: sim.cmd(f"stats {t_place}")["bridged"] >= talking + 10, 30, what="10 more served")
        sim.cmd("hangup_all")
        wait_for(lambda: stack.open_calls() == 0, 60, what="calls closed")
        out["stuck"] = stack.open_calls()
        wait_for(lambda: sim.cmd("stats 0")["channels"] == 0, 60, what="no channel left in the simulator")
        out["sim_channels_left"] = sim.cmd("stats 0")["channels"]
        problems = db.verify()
        out["journal_problems"] = len(problems)
        final = sim.cmd(f"stats {t_place}")
        out["dropped"] = final["hung_up_by_switch_unbridged"] + final["hung_up_by_switch_bridged"]
        print(f"  after: stuck {out['stuck']}, channels left {out['sim_channels_left']}, journal problems "
              f"{len(problems)}, dropped {out['dropped']}", flush=True)
    finally:
        stack.close()
    return out


# ------------------------------------------------------------------ 4. encryption
# Issue 11: call handling with and without concurrent encryption in the engine process.
CONDITIONS = {
    "off": "recording off (no notice, nothing recorded)",
    "rec": "recording on: every call recorded, its WAV encrypted by the recorder when it ends",
    "load": "recording on + the recorder encrypting 1-hour WAVs back to back all through the window",
}
LOAD_PREFIX = "load-"


def place_load(db: Database, spool: pathlib.Path, master: pathlib.Path, files: int) -> None:
    """`files` plaintext recordings with rows `stopped`, as a crash leaves them: the recorder's
    start-up recovery (recordings/recovery.py) encrypts them one after another in the engine
    process while calls flow. Hard links to one WAV: the plaintext costs no disk and stays in
    the page cache; the recorder unlinks each link once its ciphertext is stored."""
    from store.recordings import RecordingRecord
    from store.store import Store

    folder = spool / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(db.url, migrate=True)   # the engine finds the schema current
    try:
        now = datetime.now(timezone.utc)
        for i in range(files):
            link = folder / f"{LOAD_PREFIX}{i:05d}.wav"
            os.link(master, link)
            store.create_recording(RecordingRecord(
                id=link.stem, interaction="", tenant="bench", started_at=now, status="stopped", ended_at=now,
                duration=3600.0, spool_path=str(link), storage="local"))
    finally:
        store.close()


class Reaper:
    """Deletes the load's ciphertexts as they are stored (nothing reads them; 115 MB each),
    so a run does not fill the disk."""

    def __init__(self, store_root: pathlib.Path):
        import threading

        self.root, self.done = store_root, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.wait(0.5):
            for path in self.root.rglob(f"{LOAD_PREFIX}*.wav.age"):
                path.unlink(missing_ok=True)

    def stop(self) -> None:
        self.done.set()
        self.thread.join()


def stored_in(db: Database, t0: float, t1: float, load: bool) -> list[datetime]:
    """When the recorder stored recordings (its audit entries): the load's or the calls'."""
    rows = db.q("SELECT at, recording FROM recording_audit WHERE action = 'recording.stored'")
    return sorted(_aware(at) for at, rid in rows if rid.startswith(LOAD_PREFIX) == load
                  and ts(t0) <= _aware(at) < ts(t1))


def load_progress(db: Database, t0: float, t1: float, size: int) -> dict:
    """Was the engine encrypting the whole window? Files stored in it, MB/s of plaintext,
    the longest stretch without a file stored (from the window's start, to its end)."""
    inside = stored_in(db, t0, t1, load=True)
    marks = [ts(t0), *inside, ts(t1)]
    faults = db.scalar(f"SELECT count(*) FROM recordings WHERE id LIKE '{LOAD_PREFIX}%' AND status = 'fault'")
    return {"files": len(inside), "mb_per_s": round(len(inside) * size / 1e6 / (t1 - t0), 1),
            "longest_gap": round(max((b - a).total_seconds() for a, b in zip(marks, marks[1:])), 2),
            "stored_after_window": len(stored_in(db, t1, time.time() + 60, load=True)), "faults": faults}


def encryption_window(args, workdir: pathlib.Path, n: int, condition: str, recipient: str,
                      master: pathlib.Path) -> dict:
    """One window at the fixed rate: a fresh database, simulator and engine for `condition`."""
    rec_dir = workdir / f"recordings-{n}-{condition}"
    print(f"-- window {n}: {condition}: {CONDITIONS[condition]}", flush=True)
    stack = Stack(args, workdir, agents=args.agents, recipient="" if condition == "off" else recipient,
                  recordings_dir=rec_dir)
    reaper = None
    try:
        if condition == "load":
            place_load(stack.db, rec_dir / "spool", master, args.encrypt_files)
            reaper = Reaper(rec_dir / "store")
        stack.start_engine(available=args.agents)
        r = throughput_step(stack, args.rate, args.seconds, args.talk, args.patience)
        r.update(window=n, condition=condition,
                 calls_recorded=stack.db.scalar(f"SELECT count(*) FROM recordings WHERE id NOT LIKE '{LOAD_PREFIX}%'")
                 or 0,
                 calls_stored_in_window=len(stored_in(stack.db, r["t0"], r["t1"], load=False)))
        if condition == "load":
            r["load"] = load_progress(stack.db, r["t0"], r["t1"], master.stat().st_size)
            print(f"  encryption in the engine during the window: {r['load']['files']} files of "
                  f"{master.stat().st_size / 1e6:.1f} MB stored, {r['load']['mb_per_s']} MB/s, longest stretch "
                  f"without a file stored {r['load']['longest_gap']} s, {r['load']['stored_after_window']} more "
                  f"stored after it, {r['load']['faults']} faults", flush=True)
        print(f"  call recordings: {r['calls_recorded']} rows, {r['calls_stored_in_window']} stored during the "
              f"window", flush=True)
    finally:
        if reaper is not None:
            reaper.stop()
        stack.close()
        shutil.rmtree(rec_dir, ignore_errors=True)
    return r


def mean(values) -> float:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else float("nan")


def encryption_table(results: list[dict]) -> list[str]:
    lines = ["| window | condition | completed/s | arrival→bridge p50 / p99 | engine CPU (+ run-queue wait) "
             "| engine CPU per call | call recordings stored in window | load encrypted in window | |",
             "|---:|---|---:|---|---|---:|---:|---|---|"]
    for r in results:
        load = r.get("load")
        enc = (f"{load['files']} files, {load['mb_per_s']:,.0f} MB/s, longest gap {load['longest_gap']} s"
               if load else "")
        lines.append(f"| {r['window']} | {r['condition']} | {r['completed_per_s']} | {r['lat_p50']} / {r['lat_p99']} s "
                     f"| {r['engine_cpu']:.0%} (+{r['engine_runq_wait']:.0%}) | {r['engine_ms_per_call']} ms "
                     f"| {r['calls_stored_in_window']} | {enc} | {'sustained' if r['sustained'] else 'NOT sustained'} |")
    lines += ["", "| condition | windows | completed/s | p50 | p99 | engine CPU per call |", "|---|---:|---:|---:|---:|---:|"]
    for cond in CONDITIONS:
        rs = [r for r in results if r["condition"] == cond]
        if rs:
            lines.append(f"| {cond} | {len(rs)} | {mean(r['completed_per_s'] for r in rs):.1f} "
                         f"| {mean(r['lat_p50'] for r in rs):.3f} s | {mean(r['lat_p99'] for r in rs):.3f} s "
                         f"| {mean(r['engine_ms_per_call'] for r in rs):.2f} ms |")
    return lines


def encryption_ratios(results: list[dict]) -> list[str]:
    """load / off (what issue 11 asks) and load / rec (the encryption alone, same call flow)."""
    out = []
    for base in ("off", "rec"):
        a = [r for r in results if r["condition"] == base]
        b = [r for r in results if r["condition"] == "load"]
        if not a or not b:
            continue
        ratio = {k: mean(r[k] for r in b) / mean(r[k] for r in a)
                 for k in ("completed_per_s", "lat_p50", "lat_p99", "engine_ms_per_call")}
        goal = abs(1 - ratio["completed_per_s"]) < 0.05
        out.append(f"load / {base}: completed/s {ratio['completed_per_s']:.3f}, p50 {ratio['lat_p50']:.2f}x, "
                   f"p99 {ratio['lat_p99']:.2f}x, engine CPU per call {ratio['engine_ms_per_call']:.2f}x -> "
                   f"goal < 5 % difference in completed calls/s: {'met' if goal else '**not met**'}")
    return out


def bench_encryption(args, workdir: pathlib.Path) -> list[dict]:
    from pyrage import x25519

    from scripts.bench_recordings import write_wav

    recipient = str(x25519.Identity.generate().to_public())   # the private key is not kept
    master = workdir / "load-master.wav"
    size = write_wav(master, 8000, args.encrypt_seconds)
    order = list(CONDITIONS)
    print(f"== encryption: {args.rate:g} calls/s for {args.seconds:g} s per window, conditions "
          f"{', '.join(order)} in {args.rounds} rounds (each round's order reversed from the last's: drift "
          f"cancels); load: {args.encrypt_files} x {size / 1e6:.1f} MB WAV ({args.encrypt_seconds:g} s 8 kHz stereo)",
          flush=True)
    results = []
    try:
        for i in range(args.rounds):
            for condition in (order if i % 2 == 0 else order[::-1]):
                results.append(encryption_window(args, workdir, len(results) + 1, condition, recipient, master))
    finally:
        master.unlink(missing_ok=True)
    print("\n".join(["", *encryption_table(results), "", *encryption_ratios(results)]), flush=True)
    return results


def machine() -> str:
    import platform

    load = os.getloadavg()
    return (f"{os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, "
            f"load average {load[0]:.1f}/{load[1]:.1f} at start")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="scripts/bench acd", description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--quick", action="store_true", help="short steps, two rates, memory at 1,000 only")
    p.add_argument("--only", default="throughput,memory,recovery",
                   help="comma-separated parts to run: throughput, memory, recovery, encryption "
                        "(default: the first three)")
    p.add_argument("--rates", default="", help="comma-separated arrival rates (calls/s) to step through")
    p.add_argument("--seconds", type=float, default=0.0, help="traffic seconds per rate step")
    p.add_argument("--agents", type=int, default=300, help="simulated answering softphones")
    p.add_argument("--ring", type=float, default=2.0, help="softphone ring (simulated seconds, x time factor)")
    p.add_argument("--time-factor", type=float, default=0.05, help="simulator time factor (prompts, ring)")
    p.add_argument("--talk", type=float, default=1.0, help="real seconds a served caller talks")
    p.add_argument("--patience", type=float, default=30.0, help="real seconds before an unserved caller abandons")
    p.add_argument("--sqlite", action="store_true", help="also run the best step with the journal on SQLite")
    p.add_argument("--profile", default="", metavar="DIR",
                   help="sample the engine with py-spy during each step (collapsed stacks in DIR)")
    p.add_argument("--rate", type=float, default=60.0, help="encryption: the fixed arrival rate (calls/s)")
    p.add_argument("--rounds", type=int, default=2, help="encryption: rounds of the three conditions")
    p.add_argument("--encrypt-files", type=int, default=400,
                   help="encryption: WAVs the recorder has to encrypt in the load condition (more than it can)")
    p.add_argument("--encrypt-seconds", type=float, default=3600.0,
                   help="encryption: length of each load WAV (8 kHz stereo; 3600 s = 115 MB)")
    p.add_argument("--workdir", default="", help="keep the processes' logs here (default: a temporary dir)")
    p.add_argument("--admin-url", default=os.environ.get("SENTRAL_TEST_PG_ADMIN_URL", PG_ADMIN_URL))
    args = p.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",") if r] or ([5, 10] if args.quick else
                                                                [5, 10, 15, 20, 30, 50, 100, 200])
    args.seconds = args.seconds or (8.0 if args.quick else 20.0)
    only = set(args.only.split(","))
    print(f"machine: {machine()}", flush=True)
    summary = {}
    with tempfile.TemporaryDirectory(prefix="bench-acd-") as tmp:
        workdir = pathlib.Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            if "throughput" in only:
                summary["throughput_postgresql"] = res = bench_throughput(args, workdir, "postgresql", rates)
                best = max((r["rate"] for r in res if r["sustained"]), default=None)
                print(f"  max sustained rate (PostgreSQL): {best} calls/s (goal >= 200)", flush=True)
                if args.sqlite:
                    again = [best or rates[0]]
                    summary["throughput_sqlite"] = bench_throughput(args, workdir, "sqlite", again)
            if "memory" in only:
                summary["memory"] = bench_memory(args, workdir, (1000,) if args.quick else (1000, 5000))
            if "recovery" in only:
                summary["recovery"] = bench_recovery(args, workdir)
            if "encryption" in only:
                summary["encryption"] = bench_encryption(args, workdir)
        finally:
            print("summary: " + json.dumps(summary, default=str), flush=True)
            logs = sorted(workdir.glob("*.log"))
            for log in logs:
                tail = log.read_text(errors="replace").splitlines()[-5:]
                print(f"--- {log.name} (last lines)\n" + "\n".join(tail), flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["_sim"]:
        _sim_role(sys.argv[2:7])
    else:
        sys.exit(main())

"""Transfer-with-recall benchmark (issue 9, Performance): from the target's no-answer
timeout to the caller ringing the operator again, against the simulator's own latency.

Run: scripts/bench transfer [--calls 200] [--transfer-timeout 1]

Two processes: the FreeSWITCH simulator (`bench_transfer.py _sim`, its own process: one
operator softphone that answers, one direct number that never answers) and this one, which
runs the engine's real path (sentral.app.EngineProcess over TCP, journal on a scratch
PostgreSQL database, write-ahead as in production) and posts the console's command
(engine.events.CallTransfer, kind "number") into the engine's inbox as the console does.

Per call: a caller is queued, offered to the operator, answered, bridged; the operator
transfers it blind to the number; the number rings `--transfer-timeout` seconds (the
originate's own timeout) and FreeSWITCH ends that leg with NO_ANSWER; the engine hangs up
nothing more, journals `transfer_failed` + `recalled`, and originates the operator's phone
again (cc_recall=no_answer). Measured in the simulator's process, on its clock: the target
leg's CHANNEL_HANGUP (NO_ANSWER) -> the recall leg's CHANNEL_CREATE (the originate has
reached the switch).

Floor, same run, alternating with the calls: a bare Event Socket client in this process
(esl.sim.rawclient, reacting in its reader greenlet) originates the same no-answer number
with the same variables; on that leg's NO_ANSWER hang-up event it at once originates a
softphone that answers like the operator's: the same event -> command path through the simulator and TCP, without
an engine. Goal: engine p99 < floor + 100 ms.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_acd as acd  # noqa: E402  (configuration, scratch database, /proc readers)

OPERATOR = "10000"
PROBE_PHONE = "19999"      # the floor's "operator": a softphone answering like the operator's, no agent of the engine
TARGET = "22334455"


# ------------------------------------------------------------------ simulator process
def sim_main(password: str, time_factor: str, ring: str, route: str) -> None:
    """First line `{"port": N}`; then one JSON line per command: place | hangup UUID | marks | quit."""
    from gevent import monkey

    monkey.patch_all()
    import gevent

    from esl.sim import apps
    from esl.sim.server import Simulator

    route = json.loads(route)
    sim = Simulator(password=password, time_factor=float(time_factor), heartbeat_interval=5.0,
                    dialplan={route["number"]: route["vars"]})
    sim.start()
    sim.add_user(OPERATOR, action="answer", ring=float(ring))
    sim.add_user(PROBE_PHONE, action="answer", ring=float(ring))
    sim.add_phone(TARGET, "noanswer")
    marks: dict[str, dict[str, float]] = {}       # interaction (or probe) id -> {"timeout", "recall"}

    def on_event(event) -> None:
        name, ixid = event.name, event.get("variable_cc_interaction_id")
        if not ixid:
            return
        if name == "CHANNEL_HANGUP" and event.get("Hangup-Cause") == "NO_ANSWER" \
                and event.get("variable_cc_transfer") == "1":
            marks.setdefault(ixid, {}).setdefault("timeout", time.perf_counter())
        elif name == "CHANNEL_CREATE" and event.get("variable_cc_recall") and "timeout" in marks.get(ixid, {}):
            marks[ixid].setdefault("recall", time.perf_counter())

    sim.switch.bus.listen(on_event)
    print(json.dumps({"port": sim.port}), flush=True)
    pool = gevent.get_hub().threadpool
    seq = 0
    while True:
        line = pool.spawn(sys.stdin.readline).get()
        if not line:
            return
        cmd, *a = line.split()
        reply: dict = {"ok": True}
        if cmd == "place":
            seq += 1
            reply["uuid"] = sim.place_call(route["number"], caller_number=f"4791{seq:06d}").uuid
        elif cmd == "hangup":
            ch = sim.channels.get(a[0])
            if ch is not None and not ch.hanging:
                ch.hangup("NORMAL_CLEARING")
                apps.start_runner(ch)
        elif cmd == "marks":
            reply["marks"] = marks
        elif cmd == "quit":
            print(json.dumps(reply), flush=True)
            sim.stop()
            return
        print(json.dumps(reply), flush=True)


class SimProc:
    def __init__(self, workdir: pathlib.Path, route: str, ring: float, time_factor: float):
        self.log = open(workdir / "sim.log", "w")
        self.proc = subprocess.Popen([sys.executable, __file__, "_sim", acd.PASSWORD, str(time_factor), str(ring),
                                      route], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        self.port = json.loads(self.proc.stdout.readline())["port"]

    def cmd(self, *words) -> dict:
        self.proc.stdin.write(" ".join(words) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()      # gevent's subprocess (monkey-patched): the engine keeps running
        if not line:
            raise RuntimeError(f"simulator exited (see {self.log.name})")
        return json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.cmd("quit")
                self.proc.wait(timeout=10)
            except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ------------------------------------------------------------------ the floor: a bare reactor
class Reactor:
    """Originates the no-answer number; on its NO_ANSWER hang-up originates the operator."""

    def __init__(self, port: int, timeout: float):
        from esl import commands
        from esl.protocol import EVENT_CONTENT_TYPES, decode_event
        from esl.sim.rawclient import RawClient

        self.commands, self.timeout = commands, timeout
        self.client = RawClient("127.0.0.1", port)
        self.client.reply(f"auth {acd.PASSWORD}")
        self.client.reply("event plain CHANNEL_HANGUP CHANNEL_PARK")
        self.parked: dict[str, str] = {}       # probe id -> the recall leg, once it parked (answered)
        self.recall_legs: dict[str, str] = {}

        def on_frame(frame):
            if frame.content_type not in EVENT_CONTENT_TYPES:
                return
            event = decode_event(frame)
            probe = event.get("variable_cc_interaction_id") or ""
            if not probe.startswith("probe-"):
                return
            if event.name == "CHANNEL_HANGUP" and event.get("Hangup-Cause") == "NO_ANSWER" \
                    and probe not in self.recall_legs:
                leg = str(uuid.uuid4())
                self.recall_legs[probe] = leg
                self.client.send("bgapi " + commands.originate_user(
                    leg, PROBE_PHONE, caller_id_number="4790000000", caller_id_name="", timeout=30,
                    variables={"cc_interaction_id": probe, "cc_recall": "no_answer"}))
            elif event.name == "CHANNEL_PARK" and self.recall_legs.get(probe) == event.get("Unique-ID"):
                self.parked[probe] = event.get("Unique-ID")

        self.client.on_frame = on_frame

    def probe(self, i: int) -> None:
        from tests.helpers import until

        probe = f"probe-{i}"
        self.client.send("bgapi " + self.commands.originate_number(
            str(uuid.uuid4()), TARGET, caller_id_number="4790000000", caller_id_name="", timeout=self.timeout,
            variables={"cc_interaction_id": probe, "cc_transfer": "1"}))
        until(lambda: probe in self.parked, timeout=self.timeout + 30, message=f"{probe}: operator's phone answered")
        self.client.send(f"bgapi uuid_kill {self.parked[probe]}")


# ------------------------------------------------------------------ the engine's path
def one_transfer(proc, sim: SimProc, aid: str, number: int) -> str:
    from engine import events as ev
    from tests.helpers import until

    engine = proc.engine
    until(lambda: engine.agents[aid].state.value == "available", timeout=30, message="operator available")
    caller = sim.cmd("place")["uuid"]
    ixid = until(lambda: engine.by_leg.get(caller), timeout=30, message="caller queued")
    until(lambda: (lambda ix: ix is not None and ix.bridged and ix.agent == aid)(engine.calls.get(ixid)),
          timeout=30, message=f"call {number} answered by the operator")
    proc.runtime.post(ev.CallTransfer(aid, TARGET, proc.clock(), kind="number", name="Bench target"))
    until(lambda: (lambda ix: ix is not None and ix.recalls >= 1 and ix.bridged and ix.agent == aid)(
        engine.calls.get(ixid)), timeout=60, message=f"call {number} recalled and answered again")
    sim.cmd("hangup", caller)
    until(lambda: ixid not in engine.calls, timeout=30, message=f"call {number} ended")
    return ixid


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def run(args, workdir: pathlib.Path) -> dict:
    from dialplan.loader import load
    from sentral.app import EngineProcess
    from sentral.process import open_store

    cfg = workdir / "transfer.yaml"
    cfg.write_text(acd.config_yaml(1))
    db = acd.Database("postgresql", args.admin_url, workdir)
    sim = proc = store = None
    try:
        sim = SimProc(workdir, acd.route_json(cfg), args.ring, args.time_factor)
        deployment = load(str(cfg), env={"SENTRAL_FREESWITCH_PASSWORD": acd.PASSWORD})
        node = dataclasses.replace(deployment.nodes[0], port=sim.port)
        tenants = {t: dataclasses.replace(c, transfer_timeout=args.transfer_timeout)
                   for t, c in deployment.tenants.items()}
        deployment = dataclasses.replace(deployment, nodes=(node,), tenants=tenants)
        store = open_store(db.url)
        proc = EngineProcess(deployment, store, login_all=True).start(ready_timeout=30)
        aid = f"a{OPERATOR}"
        reactor = Reactor(sim.port, args.transfer_timeout)
        engine_ids, cpu0 = [], time.process_time()
        t0 = time.monotonic()
        for i in range(args.calls):
            engine_ids.append(one_transfer(proc, sim, aid, i))
            reactor.probe(i)
            if (i + 1) % 20 == 0:
                print(f"  {i + 1}/{args.calls} transfers recalled ({time.monotonic() - t0:.0f} s)", flush=True)
        cpu = time.process_time() - cpu0
        marks = sim.cmd("marks")["marks"]
        reactor.client.close()
    finally:
        if proc is not None:
            proc.stop()
        if store is not None:
            store.close()
        if sim is not None:
            sim.stop()
        db.drop()

    def gaps(ids):
        return sorted((marks[i]["recall"] - marks[i]["timeout"]) * 1000 for i in ids
                      if "recall" in marks.get(i, {}))
    return {"engine": gaps(engine_ids), "floor": gaps([f"probe-{i}" for i in range(args.calls)]),
            "calls": args.calls, "cpu": cpu}


def report(r: dict, args) -> str:
    e, f = r["engine"], r["floor"]
    over = pct(e, .99) - pct(f, .99)
    met = "met" if over < 100 else "**not met**"
    load = os.getloadavg()
    return "\n".join([
        f"`scripts/bench transfer --calls {args.calls} --transfer-timeout {args.transfer_timeout:g}` "
        f"({time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {args.machine}, load average {load[0]:.1f} at the end)",
        "",
        "| target's NO_ANSWER hang-up -> recall originate at the switch | n | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
        f"| engine (EngineProcess over TCP, journal on PostgreSQL) | {len(e)} | {pct(e, .5):.1f} | {pct(e, .9):.1f} | "
        f"{pct(e, .99):.1f} | {pct(e, 1):.1f} |",
        f"| floor: bare ESL client reacting to the same event | {len(f)} | {pct(f, .5):.1f} | {pct(f, .9):.1f} | "
        f"{pct(f, .99):.1f} | {pct(f, 1):.1f} |",
        "",
        f"* Goal < 100 ms over the simulator's latency: {met} (p50 {pct(e, .5) - pct(f, .5):.1f} ms, "
        f"p99 {over:.1f} ms over the floor).",
        f"* The bench process (engine + floor client) used {r['cpu']:.1f} s CPU for {r['calls']} transferred calls.",
    ])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="scripts/bench transfer", description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--calls", type=int, default=200, help="transferred calls (and as many floor probes)")
    p.add_argument("--transfer-timeout", type=float, default=1.0, help="the agency's transfer timeout (s)")
    p.add_argument("--ring", type=float, default=2.0, help="operator's ring (simulated seconds, x time factor)")
    p.add_argument("--time-factor", type=float, default=0.05, help="simulator time factor (prompts, ring)")
    p.add_argument("--workdir", default="", help="keep the simulator's log here (default: a temporary dir)")
    p.add_argument("--admin-url", default=os.environ.get("SENTRAL_TEST_PG_ADMIN_URL", acd.PG_ADMIN_URL))
    args = p.parse_args(argv)
    from gevent import monkey

    monkey.patch_all()
    args.machine = acd.machine()
    print(f"machine: {args.machine}", flush=True)
    print(f"{args.calls} blind transfers to a number that never answers (timeout {args.transfer_timeout:g} s) ...",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-transfer-") as tmp:
        workdir = pathlib.Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = run(args, workdir)
    print("\n" + report(result, args), flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["_sim"]:
        sim_main(*sys.argv[2:6])
    else:
        sys.exit(main())

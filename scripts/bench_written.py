"""Written-channel ingest with calls flowing (issue 13, Performance).

Run: scripts/bench written [--mails 10000] [--sms 10000] [--rate 10] [--seconds 60]
     [--agents 100] [--rounds 1] [--admin-url URL] [--workdir DIR]

The whole product as in production, on this machine: `sentral run` (the engine process,
its mailbox intake and SMPP link), the FreeSWITCH simulator with softphones
(scripts/bench_acd.py's), PostgreSQL, a real dovecot IMAP server (started as the tests
start it: tests/channels/conftest.py) and an SMSC (tests/channels/fake_smsc.py, in its
own process). Calls arrive at a fixed rate all through each window and are answered by
simulated softphones (bench_acd's call flow: notice, queue, offer, bridge, 1 s talk).

Windows alternate between two conditions, each on a fresh database, simulator, engine,
mailbox and SMSC with the same configuration:
* `calls`: the calls only (the mailbox is empty, no SMS arrives);
* `calls+written`: the same calls, and at the window's start `--mails` e-mails appear in
  the engine's IMAP INBOX at once (placed beforehand in another folder of the same
  mailbox and moved there with one IMAP MOVE, as a mail server's burst) and the SMSC
  delivers `--sms` SMS (deliver_sm) as fast as the link takes them.
Every agent serves the voice queue and both written queues with room for every item
(`capacity: {written: <items per agent + 10>, written_during_call: true}`), so each item is offered once
as soon as it is filed.

Reported per window: calls' arrival->bridge p50/p99 (the simulator's clock: from the
caller's INVITE to the bridge with an agent), lost calls, the engine's CPU; for the
written load: items filed per second (journal `arrived` rows of each channel, first to
last), the time from the start of the window until every item was offered, and that no
message was filed twice (`written_messages` = items).
"""
from __future__ import annotations

import argparse
import email.utils
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

SMSC_ID, SMSC_PASSWORD = "sentral", "secret"
SMS_NUMBER = "+4722001000"


# ------------------------------------------------------------------ the SMSC process
def smsc_main() -> None:
    """`bench_written.py _smsc`: prints {"port": N}; then `deliver N` sends N SMS at once
    (answers {"sent": N, "seconds": S}), `stats` answers what the link acknowledged."""
    import gevent
    from gevent import monkey

    monkey.patch_all()
    from tests.channels.fake_smsc import FakeSmsc

    smsc = FakeSmsc(system_id=SMSC_ID, password=SMSC_PASSWORD).start()
    print(json.dumps({"port": smsc.port}), flush=True)
    read = gevent.get_hub().threadpool      # a blocking read of stdin must not stop the SMSC's greenlets
    while True:
        line = read.apply(sys.stdin.readline)
        if not line:
            return
        words = line.split()
        if not words:
            continue
        if words[0] == "bound":
            print(json.dumps({"bound": len(smsc.bound_sessions())}), flush=True)
        elif words[0] == "deliver":
            n, t0 = int(words[1]), time.time()
            for i in range(n):
                smsc.deliver(f"+479{i:07d}", SMS_NUMBER, f"Hei, melding nummer {i} til sentralbordet".encode())
                if i % 200 == 199:
                    gevent.sleep(0)
            print(json.dumps({"sent": n, "seconds": round(time.time() - t0, 3)}), flush=True)
        elif words[0] == "stats":
            print(json.dumps({"acknowledged": len(smsc.deliver_resps)}), flush=True)
        elif words[0] == "quit":
            smsc.stop()
            return


class SmscProc:
    def __init__(self, workdir: pathlib.Path):
        self.log = open(workdir / f"smsc-{time.time():.0f}.log", "w")
        self.proc = subprocess.Popen([sys.executable, __file__, "_smsc"], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.port = json.loads(self.proc.stdout.readline())["port"]

    def cmd(self, line: str) -> dict:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        try:
            self.cmd("quit")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# ------------------------------------------------------------------ configuration
def config_yaml(agents: int, imap_port: int, smsc_port: int, items: int) -> str:
    from bench_acd import config_yaml as calls_only

    text = calls_only(agents, recipient="")
    head, _, agent_lines = text.partition("agents:\n")
    written = "\n".join([
        "      - id: bench-post",
        "        name: E-post",
        "        channel: email",
        "        reply_from: post@bench.example",
        "        mailbox: {host: 127.0.0.1, port: %d, username: queue, password: {env: BENCH_IMAP_PASSWORD}," % imap_port,
        "                  security: none, poll_seconds: 1}",
        "      - {id: bench-sms, name: SMS, channel: sms, reply_from: Bench}",
        ""])
    top = "\n".join([
        f"capacity: {{written: {items // max(1, agents) + 10}, written_during_call: true}}",
        "sms:",
        "  gateway: smpp",
        "  host: 127.0.0.1",
        f"  port: {smsc_port}",
        f"  system_id: {SMSC_ID}",
        "  password: {env: BENCH_SMPP_PASSWORD}",
        "  sender: Bench",
        f'  numbers: {{"{SMS_NUMBER}": bench-sms}}',
        ""])
    agent_lines = agent_lines.replace("queues: [bench-main]", "queues: [bench-main, bench-post, bench-sms]")
    return head + written + top + "agents:\n" + agent_lines


def mail(i: int) -> bytes:
    return (f"From: Innbygger {i} <innbygger{i}@example.org>\r\nTo: post@bench.example\r\n"
            f"Subject: =?utf-8?q?Sp=C3=B8rsm=C3=A5l_{i}?=\r\nDate: {email.utils.formatdate()}\r\n"
            f"Message-ID: <bench-{i}-{time.time_ns()}@example.org>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"Hei!\r\n\r\nJeg har et spørsmål om sak {i}. Kan dere svare meg?\r\n\r\nHilsen innbygger {i}\r\n"
            ).encode()


def preload(dovecot, n: int) -> float:
    """`n` mails into the folder `Burst` (not read by the intake) -> seconds taken."""
    t0 = time.monotonic()
    with dovecot.client() as c:
        c.create_folder("Burst")
        batch = []
        for i in range(n):
            batch.append(mail(i))
            if len(batch) == 500:
                c.multiappend("Burst", batch)
                batch = []
        if batch:
            c.multiappend("Burst", batch)
    return time.monotonic() - t0


def burst(dovecot) -> None:
    with dovecot.client() as c:
        c.select_folder("Burst")
        c.move(c.search("ALL"), "INBOX")


# ------------------------------------------------------------------ one window
def written_progress(db, t0: float, mails: int, sms: int) -> dict:
    from bench_acd import _aware, ts

    rows = db.q("SELECT kind, at, data, interaction FROM journal WHERE kind IN ('arrived', 'offered') AND at >= :t0",
                t0=ts(t0))
    arrived = {"email": [], "sms": []}
    offered = {}
    for kind, at, data, interaction in rows:
        data = json.loads(data) if isinstance(data, str) else (data or {})
        at = _aware(at).timestamp()
        if kind == "arrived" and data.get("channel") in arrived:
            arrived[data["channel"]].append(at)
        elif kind == "offered" and data.get("channel"):
            offered[interaction] = min(at, offered.get(interaction, at))     # its first offer
    out = {}
    for channel, times in arrived.items():
        times.sort()
        span = (times[-1] - times[0]) if len(times) > 1 else 0.0
        out[channel] = {"filed": len(times), "per_s": round(len(times) / span, 1) if span else None,
                        "first_after": round(times[0] - t0, 2) if times else None,
                        "last_after": round(times[-1] - t0, 2) if times else None}
    out["offered"] = len(offered)
    out["all_offered_after"] = round(max(offered.values()) - t0, 2) if len(offered) >= mails + sms else None
    return out


def window(args, workdir: pathlib.Path, n: int, condition: str) -> dict:
    import contextlib

    from bench_acd import Stack, throughput_step, wait_for
    from tests.channels.conftest import _running_dovecot

    print(f"-- window {n}: {condition}", flush=True)
    with contextlib.ExitStack() as stack_ctx:
        dovecot = stack_ctx.enter_context(_running_dovecot(pathlib.Path(tempfile.mkdtemp(dir=workdir))))
        smsc = SmscProc(workdir)
        stack_ctx.callback(smsc.stop)
        os.environ["BENCH_IMAP_PASSWORD"] = dovecot.password
        os.environ["BENCH_SMPP_PASSWORD"] = SMSC_PASSWORD
        stack = Stack(args, workdir, agents=args.agents, recipient="")
        stack_ctx.callback(stack.close)
        stack.cfg.write_text(config_yaml(args.agents, dovecot.port, smsc.port, args.mails + args.sms))
        loading = condition == "calls+written"
        if loading:
            took = preload(dovecot, args.mails)
            print(f"  {args.mails} mails placed in the folder Burst in {took:.1f} s", flush=True)
        stack.start_engine(available=args.agents)
        wait_for(lambda: smsc.cmd("bound")["bound"] == 1, 30, what="the engine's SMPP link bound")
        t_load = time.time()
        sms_sent = {}
        if loading and args.profile:      # py-spy (pip install py-spy) samples the engine through the window
            subprocess.Popen(["py-spy", "record", "-p", str(stack.engine.proc.pid), "-d", str(int(args.seconds)),
                              "-r", "100", "-f", "raw", "-o", str(pathlib.Path(args.profile) / f"engine-{n}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if loading:
            burst(dovecot)
            threading.Thread(target=lambda: sms_sent.update(smsc.cmd(f"deliver {args.sms}")), daemon=True).start()
        r = throughput_step(stack, args.rate, args.seconds, args.talk, args.patience)
        r["stuck"] = stack.db.scalar("SELECT count(*) FROM interactions WHERE ended_at IS NULL AND kind = 'call'")
        r.update(window=n, condition=condition)
        if loading:
            mails, sms = args.mails, args.sms
            wait_for(lambda: written_progress(stack.db, t_load, mails, sms)["all_offered_after"] is not None,
                     600, every=2.0, what="every written item offered")
            r["written"] = written_progress(stack.db, t_load, mails, sms)
            r["written"]["sms_delivery_s"] = sms_sent.get("seconds")
            r["written"]["messages_stored"] = stack.db.scalar("SELECT count(*) FROM written_messages")
            r["written"]["items"] = stack.db.scalar("SELECT count(*) FROM interactions WHERE kind <> 'call'")
            print(f"  written: {json.dumps(r['written'])}", flush=True)
        r["journal_clean"] = stack.db.verify() == []
    return r


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="scripts/bench written", description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--mails", type=int, default=10000)
    p.add_argument("--sms", type=int, default=10000)
    p.add_argument("--rate", type=float, default=10.0, help="calls per second through every window")
    p.add_argument("--seconds", type=float, default=60.0, help="seconds of calls per window")
    p.add_argument("--agents", type=int, default=100)
    p.add_argument("--rounds", type=int, default=1, help="rounds of the two conditions")
    p.add_argument("--ring", type=float, default=2.0)
    p.add_argument("--time-factor", type=float, default=0.05)
    p.add_argument("--talk", type=float, default=1.0)
    p.add_argument("--patience", type=float, default=60.0)
    p.add_argument("--workdir", default="")
    p.add_argument("--profile", default="", metavar="DIR", help="py-spy profile of the engine in loaded windows")
    from bench_acd import PG_ADMIN_URL
    p.add_argument("--admin-url", default=os.environ.get("SENTRAL_TEST_PG_ADMIN_URL", PG_ADMIN_URL))
    args = p.parse_args(argv)
    workdir = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="sentral-bench-written-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"== written ingest with calls: {args.rate:g} calls/s for {args.seconds:g} s per window, "
          f"{args.agents} agents; load {args.mails} e-mails + {args.sms} SMS; logs in {workdir}", flush=True)
    results = []
    n = 0
    for _ in range(args.rounds):
        for condition in ("calls", "calls+written"):
            n += 1
            results.append(window(args, workdir, n, condition))
    print("\n| window | condition | placed | lost | stuck | arrival->bridge p50 / p99 / max | engine CPU | "
          "e-mails filed/s | SMS filed/s | all offered after | stored = items |")
    print("|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---|")
    for r in results:
        w = r.get("written") or {}
        print(f"| {r['window']} | {r['condition']} | {r['placed']} | {r['lost']} | {r['stuck']} | "
              f"{r['lat_p50']} / {r['lat_p99']} / {r['lat_max']} s | {r['engine_cpu']:.0%} | "
              f"{(w.get('email') or {}).get('per_s', '')} | {(w.get('sms') or {}).get('per_s', '')} | "
              f"{w.get('all_offered_after', '')} | "
              f"{'' if not w else str(w.get('messages_stored')) + ' = ' + str(w.get('items'))} |")
    base = [r["lat_p99"] for r in results if r["condition"] == "calls" and r["lat_p99"]]
    load = [r["lat_p99"] for r in results if r["condition"] == "calls+written" and r["lat_p99"]]
    if base and load:
        ratio = (sum(load) / len(load)) / (sum(base) / len(base))
        print(f"\ncall routing p99 with the written load / without: {ratio:.2f}x (goal: < 1.10x)")
    (workdir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["_smsc"]:
        smsc_main()
    else:
        sys.exit(main())

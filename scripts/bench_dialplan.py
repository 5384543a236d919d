"""Routing configuration at scale (scripts/bench dialplan).

Writes a deployment of 100 tenants (one file each, included from a directory), 500
queues, 2,000 agents (3-5 queues each) and 1,000 main numbers, then measures in the
same run:
* `dialplan.load` (parse + validate + build; what a reload costs) with libyaml's
  composer, against the pure-Python composer (baseline) and against the floor of
  merely composing the YAML nodes;
* `dialplan.diff` of two such deployments differing in one queue;
* compiling the entry dialplan and the SIP directory (static files);
* mod_xml_curl answers per second for `sip_auth` (one user) and for a call's dialplan
  (one number) through Flask's test client, against the floor of a 404 through it.
Prints progress; results go to BENCHMARKS.md by hand.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from dialplan import compile as compiler  # noqa: E402
from dialplan import diff, load, source  # noqa: E402

STRATEGIES = ("longest-idle", "round-robin", "ring-all", "fewest-calls", "least-talk-time", "top-down", "random")


def write_deployment(folder: Path, tenants: int, queues_per: int, agents: int) -> Path:
    (folder / "tenants").mkdir(parents=True)
    for t in range(tenants):
        lines = [f"id: t{t}", f"name: Agency {t}", "caller_id_name: Agency", "hours: {mon-fri: \"08:00-16:00\"}",
                 "holidays: norway", "special_days: {\"12-24\": \"09:00-12:00\"}",
                 "recording: {enabled: true, notice: sentral/notice.wav}", "numbers:"]
        lines += [f"  - {{number: \"+47210{t:03d}{n:02d}\", queue: t{t}-q{n % queues_per}}}" for n in range(10)]
        lines.append("queues:")
        for q in range(queues_per):
            nxt = f"{{queue: t{t}-q{q + 1}}}" if q + 1 < queues_per else "{message: sentral/bye.wav}"
            lines.append(f"  - {{id: t{t}-q{q}, name: Q{q}, strategy: {STRATEGIES[(t + q) % 7]}, "
                         f"overflow: {nxt}, tiers: [{{level: 1, after: 0}}, {{level: 2, after: 30}}]}}")
        (folder / "tenants" / f"t{t:03d}.yaml").write_text("\n".join(lines) + "\n")
    total_queues = tenants * queues_per
    agent_lines = ["agents:"]
    for a in range(agents):
        qs = ", ".join(f"t{(a * 7 + k) % tenants}-q{(a + k) % queues_per}: {1 + k % 3}" for k in range(3 + a % 3))
        agent_lines.append(f"  - {{id: a{a}, name: Agent {a}, extension: \"{10000 + a}\", "
                           f"a1_hash: {a:032x}, queues: {{{qs}}}}}")
    path = folder / "deploy.yaml"
    path.write_text("include: [tenants/]\n" + "\n".join(agent_lines) + "\n")
    print(f"[bench] wrote {tenants} tenant files, {total_queues} queues, {agents} agents", file=sys.stderr)
    return path


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def compose_only(path: Path, loader) -> None:
    for p in [path, *sorted((path.parent / "tenants").glob("*.yaml"))]:
        yaml.compose(p.read_text(), Loader=loader)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--queues-per-tenant", type=int, default=5)
    ap.add_argument("--agents", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_deployment(Path(tmp), args.tenants, args.queues_per_tenant, args.agents)
        env: dict = {}
        print("[bench] load with libyaml composer", file=sys.stderr)
        fast = timed(lambda: load(str(path), env), args.repeat)
        floor = timed(lambda: compose_only(path, yaml.CSafeLoader), args.repeat)
        print("[bench] load with the pure-Python composer (baseline)", file=sys.stderr)
        source.LOADER = yaml.SafeLoader
        slow = timed(lambda: load(str(path), env), args.repeat)
        source.LOADER = yaml.CSafeLoader
        d = load(str(path), env)
        changed = dataclasses.replace(d, queues={**d.queues, "t0-q0": dataclasses.replace(d.queues["t0-q0"],
                                                                                            ring_timeout=45.0)})
        print("[bench] diff, compile, xml_curl", file=sys.stderr)
        diff_s = timed(lambda: diff(d, changed), args.repeat)
        dialplan_s = timed(lambda: compiler.dialplan_include(d), args.repeat)
        directory_s = timed(lambda: compiler.directory_include(d), args.repeat)
        # seconds per 1,000 answers = milliseconds per answer
        answer_ms = timed(lambda: [compiler.dialplan_document(d, "public", "+4721004207") for _ in range(1000)], 3)
        user_ms = timed(lambda: [compiler.directory_document(d, user="10042") for _ in range(1000)], 3)
        from dialplan.xml_curl import ROUTE, XmlCurlAccess, make_app
        secret = "bench-xml-curl-password"
        app = make_app(lambda: d, XmlCurlAccess("freeswitch", secret))   # as sentral run serves it
        client = app.test_client()
        client.environ_base.update({"REMOTE_ADDR": "127.0.0.1"})
        from werkzeug.datastructures import Authorization
        client.post = functools.partial(client.post, auth=Authorization("basic", {"username": "freeswitch",
                                                                                  "password": secret}))
        form = {"section": "directory", "tag_name": "domain", "key_name": "name", "key_value": d.sip_domain,
                "action": "sip_auth", "key": "id", "user": "10042", "domain": d.sip_domain}
        n = 300
        started = time.perf_counter()
        for _ in range(n):
            assert client.post(ROUTE, data=form).status_code == 200
        per_s = n / (time.perf_counter() - started)
        call = {"section": "dialplan", "Hunt-Context": "public", "Hunt-Destination-Number": "+4721004207"}
        started = time.perf_counter()
        for _ in range(n):
            assert b"cc_queue=t42-q2" in client.post(ROUTE, data=call).data
        dialplan_per_s = n / (time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(n):
            client.get("/nothing")
        flask_floor = n / (time.perf_counter() - started)
    print(f"deployment: {len(d.tenants)} tenants, {len(d.queues)} queues, {len(d.agents)} agents, "
          f"{len(d.entry_points)} numbers; {os.cpu_count()} cores")
    print(f"load (libyaml composer):        {fast * 1000:8.0f} ms   ({slow / fast:.1f}x faster than the baseline)")
    print(f"load (pure-Python, baseline):   {slow * 1000:8.0f} ms")
    print(f"compose only (libyaml, floor):  {floor * 1000:8.0f} ms   (validation+build = {(fast - floor) * 1000:.0f} ms)")
    print(f"diff (one queue changed):       {diff_s * 1000:8.1f} ms")
    print(f"compile entry dialplan:         {dialplan_s * 1000:8.0f} ms")
    print(f"compile SIP directory:          {directory_s * 1000:8.0f} ms")
    print(f"answer built, no HTTP:          {answer_ms:8.3f} ms dialplan, {user_ms:.3f} ms directory user")
    print(f"xml_curl sip_auth answers:      {per_s:8.0f} /s (Flask test client, one user per answer)")
    print(f"xml_curl dialplan answers:      {dialplan_per_s:8.0f} /s (one number of 1,000)")
    print(f"Flask test client 404 (floor):  {flask_floor:8.0f} /s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load on a REAL FreeSWITCH: sipp callers through the trunk, registered sipp agents, a real
`sentral run`, PostgreSQL; optionally an engine SIGKILL and an Event Socket drop mid-run.

Runs only when SENTRAL_TEST_FREESWITCH=HOST:PORT:PASSWORD names a switch prepared as
tests/freeswitch/README.md says (configuration compiled from tests/data/freeswitch/load.yaml),
with SENTRAL_TEST_FREESWITCH_SIP=HOST:PORT (its trunk profile, context `public`) and
SENTRAL_TEST_FREESWITCH_REGISTRAR=HOST:PORT (its internal profile); skips cleanly otherwise.

What must hold for every call (FreeSWITCH observed over our own Event Socket connection):
* no lost call: every caller is either bridged to an agent leg (the talk then ends by the
  agent's BYE, or by the caller's own if its patience ran out as the bridge was made), or
  hangs up by itself (CANCEL/BYE, after its patience) without ever being bridged;
* no double offer: no agent leg is created for an agent who has an answered live leg;
* no channel left: every channel the test saw is gone (`uuid_exists`; `show channels`,
  which lags ~100 ms, then lists none of them);
* journal == switch: a bridged caller's interaction has one `answered` row whose leg is the
  agent leg FreeSWITCH bridged it to, and one `bridged` row; nobody else has a `bridged` row.

Loads: LOADS below (calls/s x agents), each plain and with chaos (one engine SIGKILL and
restart at 35 % of the calls, one cut of every proxied Event Socket connection at 70 %).
SENTRAL_TEST_FREESWITCH_LOAD=all runs every load (1 and 2.5 calls/s take 3-7 minutes
each); the default runs 10 calls/s plain with 10 and 100 agents and chaos with 10. SENTRAL_TEST_FREESWITCH_CALLS (default 400)
sets the number of calls.
"""
from __future__ import annotations

import os
import pathlib
import time
from collections import Counter, defaultdict

import pytest

from tests.freeswitch.lab import Engine, EslApi, EslProxy, Observer, Sipp, register
from tests.helpers import free_port, until

TARGET = os.environ.get("SENTRAL_TEST_FREESWITCH", "")
TRUNK = os.environ.get("SENTRAL_TEST_FREESWITCH_SIP", "127.0.0.1:5080")
REGISTRAR = os.environ.get("SENTRAL_TEST_FREESWITCH_REGISTRAR", "127.0.0.1:5060")
SELECTION = os.environ.get("SENTRAL_TEST_FREESWITCH_LOAD", "quick")
CALLS = int(os.environ.get("SENTRAL_TEST_FREESWITCH_CALLS", "400"))

CONFIG = pathlib.Path(__file__).resolve().parent.parent / "data" / "freeswitch" / "load.yaml"
NUMBER = "22009000"              # load.yaml's trunk number
DOMAIN = "127.0.0.1"             # load.yaml's sip_domain
AGENT_PASSWORD = "sentral-load"  # load.yaml's a1_hash values are md5("EXT:127.0.0.1:sentral-load")
ALL_AGENTS = [str(1000 + i) for i in range(100)]
RING = 0.5                       # every agent answers after ringing this long
TALK = 3.0                       # then talks this long and hangs up (10 agents: ~2.8 calls/s)
PATIENCE = 6.0                   # a caller not bridged after this long hangs up

LOADS = [(1.0, 10), (1.0, 100), (2.5, 10), (2.5, 100), (10.0, 10), (10.0, 100)]


def _loads():
    for rate, agents in LOADS:
        for chaos in (False, True):
            heavy = rate < 10 or (chaos and agents == 100)
            marks = [pytest.mark.skipif(heavy and SELECTION != "all",
                                        reason="set SENTRAL_TEST_FREESWITCH_LOAD=all for the long loads")]
            yield pytest.param(rate, agents, chaos, marks=marks,
                               id=f"{rate:g}cps-{agents}agents-{'chaos' if chaos else 'plain'}")


pytestmark = [
    pytest.mark.freeswitch,
    pytest.mark.slow,
    pytest.mark.skipif(not TARGET, reason="set SENTRAL_TEST_FREESWITCH=HOST:PORT:PASSWORD to run against a real FreeSWITCH"),
]


def _addr(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host, int(port)


@pytest.fixture
def switch():
    host, port, password = TARGET.rsplit(":", 2)
    api = EslApi(host, int(port), password)
    try:
        assert "FreeSWITCH" in api.api("status")
        yield host, int(port), password, api
    finally:
        api.close()


def _register_all(agents: list[str], sipp_port: int, expires: int) -> list[tuple[str, int]]:
    """Register the agents at the agents' sipp (expires 0: remove every contact they have)."""
    failed = []
    for ext in agents:
        contact = f"sip:{ext}@127.0.0.1:{sipp_port}" if expires else "*"
        status = register(_addr(REGISTRAR), ext, AGENT_PASSWORD, DOMAIN, contact, expires)
        if status != 200:
            failed.append((ext, status))
    return failed


def _outcome(obs: Observer, uuid: str) -> str:
    c = obs.callers[uuid]
    if c["hangup"] is None:
        return "lost: still up"
    if c["bridged"] is None:
        if c["disposition"] in ("recv_bye", "recv_cancel"):
            waited = c["hangup"] - (c["answered"] if c["answered"] is not None else c["created"])
            if waited >= 0.9 * PATIENCE:
                return "abandoned"
            return f"lost: caller hung up after {waited:.2f} s, before its patience (sipp error?)"
        return f"lost: hung up by the switch, never bridged ({c['cause']}, {c['disposition']})"
    leg = obs.legs[obs.pairs[uuid]]
    if leg["caller"] != uuid:
        return f"lost: bridged to the agent leg of another caller ({leg['caller']})"
    if leg["disposition"] == "recv_bye" and leg["answered"] is not None:
        talked = leg["hangup"] - leg["answered"]
        if talked >= 0.9 * TALK:
            return "served"
        return f"lost: the agent hung up after {talked:.2f} s"
    if c["disposition"] == "recv_bye":
        return "served (caller ended the talk)"
    return (f"lost while bridged: the switch ended both legs (caller {c['cause']}/{c['disposition']}, "
            f"agent leg {leg['cause']}/{leg['disposition']})")


def _story(obs: Observer, engine: Engine, rows_of: dict, owner: dict, uuids, trace: pathlib.Path,
           proxy: EslProxy) -> str:
    """What the switch, the engine (its commands and log) and the journal say of some callers."""
    out = []
    commands = proxy.command_lines()
    lines = engine.log().splitlines()
    events = trace.read_text(encoding="utf-8").splitlines()
    for uuid in uuids:
        legs = [u for u, leg in obs.legs.items() if leg["caller"] == uuid]
        out.append(f"--- caller {uuid}: {obs.callers.get(uuid)}; agent legs {legs}")
        for leg in legs:
            out.append(f"  leg {leg}: {obs.legs[leg]}")
        keys = [uuid, *legs, *owner.get(uuid, ())]           # the engine logs interactions by id
        out += ["  fs " + e for e in events if any(k in e for k in keys)][:30]
        out += ["  sent " + c for c in commands if any(k in c for k in keys)][:20]
        out += ["  engine " + line for line in lines if any(k in line for k in keys)][:40]
        for ixid in owner.get(uuid, ()):
            out += [f"  journal {r.seq} {r.kind} {dict(r.data)}" for r in rows_of[ixid]]
    return "\n".join(out)


@pytest.mark.parametrize("rate,agents,chaos", list(_loads()))
def test_load(switch, pg_url, tmp_path, rate, agents, chaos):
    from store.store import Store

    host, port, password, api = switch
    calls = CALLS
    agent_exts = ALL_AGENTS[:agents]
    trace = tmp_path / "fs-events.jsonl"
    obs = Observer(host, port, password, NUMBER, trace)
    obs.start()
    proxy = EslProxy((host, port), t0=obs.t0)
    engine = Engine(CONFIG, ("127.0.0.1", proxy.port, password), pg_url, tmp_path / "engine.log")
    agent_port = free_port()
    agents_sipp = callers = None
    kills = cut = 0
    try:
        # agents: one sipp answering for all; every agent a SIP user registered at its port
        assert not _register_all(ALL_AGENTS, agent_port, 0)         # a former run's contacts
        agents_sipp = Sipp("agents", "agent.xml", tmp_path,
                           ["-i", "127.0.0.1", "-p", str(agent_port), "-aa", "-nostdin", "-max_recv_loops", "10000"],
                           ring_ms=int(RING * 1000), talk_ms=int(TALK * 1000))
        failed = _register_all(agent_exts, agent_port, 3600)
        assert not failed, f"REGISTER failed: {failed}"
        engine.start()
        cpu0 = engine.cpu_seconds()
        callers = Sipp("callers", "caller.xml", tmp_path,
                       [TRUNK, "-i", "127.0.0.1", "-p", str(free_port()), "-s", NUMBER, "-r", f"{rate:g}",
                        "-m", str(calls), "-l", str(calls), "-nostdin", "-max_recv_loops", "10000",
                        "-timeout", str(int(calls / rate + 600))],
                       patience_ms=int(PATIENCE * 1000))
        started = time.monotonic()
        if chaos:
            until(lambda: len(obs.callers) >= int(calls * 0.35), timeout=calls / rate + 60, interval=0.05,
                  message="35 % of the calls placed")
            engine.kill()
            kills += 1
            engine.start()
            until(lambda: len(obs.callers) >= int(calls * 0.70), timeout=calls / rate + 60, interval=0.05,
                  message="70 % of the calls placed")
            cut = proxy.cut()
        assert callers.wait(calls / rate + PATIENCE + TALK + 300) is not None, "sipp callers did not finish"
        duration = time.monotonic() - started
        obs.check()
        cpu = engine.cpu_seconds() - cpu0 if not kills else float("nan")

        # every channel the test saw is gone
        until(lambda: all(ch["hangup"] is not None for ch in obs.channels.values()), timeout=60,
              message=lambda: f"channels not hung up: {[u for u, c in obs.channels.items() if c['hangup'] is None][:10]}")
        left = [u for u in obs.channels if api.exists(u)]
        assert not left, f"{len(left)} channel(s) left in the switch: {left[:10]}"
        until(lambda: not set(obs.channels) & {line.split(",", 1)[0] for line in api.api("show channels").splitlines()},
              timeout=5, message="show channels still lists the test's channels")

        outcomes = {uuid: _outcome(obs, uuid) for uuid in obs.callers}
        counts = Counter(o if not o.startswith("lost") else "lost" for o in outcomes.values())
        lost = {u: o for u, o in outcomes.items() if o.startswith("lost")}
        served = {u for u, o in outcomes.items() if o.startswith("served")}

        store = Store(pg_url)
        try:
            until(lambda: not store.open_interactions(), timeout=30, message="every interaction closed")
            rows_of = defaultdict(list)
            for row in store.journal():
                rows_of[row.interaction].append(row)
            owner = defaultdict(list)
            for ixid in rows_of:
                owner[store.interaction(ixid).caller_uuid].append(ixid)
            report = (f"{rate:g} calls/s, {agents} agents, {'chaos' if chaos else 'plain'}: {len(obs.callers)} calls "
                      f"in {duration:.0f} s, {dict(counts)}, {len(obs.legs)} agent legs, "
                      f"{len(obs.double_offers)} double offers, {len(left)} channels left, engine kills {kills}, "
                      f"esl connections cut {cut}, engine cpu {cpu * 1000 / max(1, len(obs.callers)):.1f} ms/call")
            print("\n" + report)
            (tmp_path / "report.txt").write_text(report + "\n" + "\n".join(f"{u} {o}" for u, o in outcomes.items()))

            assert len(obs.callers) == calls, f"the switch saw {len(obs.callers)} of {calls} calls"
            assert not lost, (f"{len(lost)} of {len(outcomes)} lost: {sorted(Counter(lost.values()).items())[:8]}\n"
                              + _story(obs, engine, rows_of, owner, list(lost)[:3], trace, proxy))
            assert not obs.double_offers, f"agents offered a call while on one: {obs.double_offers[:5]}\n" + _story(
                obs, engine, rows_of, owner, [obs.legs[d[1]]["caller"] for d in obs.double_offers[:2]], trace, proxy)
            capacity = min(calls, agents / (RING + TALK) * calls / rate)   # calls the agents can take
            assert len(served) >= capacity / 2, f"the load did not exercise the answer/bridge path: {dict(counts)}"
            if chaos:
                assert kills == 1 and cut >= 1, (kills, cut)

            # journal == switch
            assert store.verify_journal() == []
            assert set(owner) <= set(obs.callers), "interactions of callers the test did not place"
            bridged_rows = {u for u, ixids in owner.items() if any(r.kind == "bridged" for i in ixids for r in rows_of[i])}
            assert bridged_rows <= set(obs.pairs), f"`bridged` rows for callers never bridged: {sorted(bridged_rows - set(obs.pairs))[:5]}"
            wrong = []
            for uuid in obs.pairs:
                rows = [r for i in owner.get(uuid, ()) for r in rows_of[i]]
                answered = [r.data.get("leg") for r in rows if r.kind == "answered"]
                if answered != [obs.pairs[uuid]] or [r.kind for r in rows].count("bridged") != 1:
                    wrong.append(uuid)
            assert not wrong, f"{len(wrong)} bridged caller(s) whose journal disagrees with the switch\n" + _story(
                obs, engine, rows_of, owner, wrong[:3], trace, proxy)
            for uuid, ixids in owner.items():
                kinds = [r.kind for i in ixids for r in rows_of[i]]
                assert kinds.count("ended") == len(ixids), (uuid, kinds)
        finally:
            store.close()
    finally:
        if callers is not None:
            callers.stop()
        engine.stop()
        proxy.close()
        (tmp_path / "engine-commands.log").write_text("\n".join(proxy.command_lines()) + "\n", encoding="utf-8")
        if agents_sipp is not None:
            _register_all(agent_exts, agent_port, 0)
            agents_sipp.stop()
        obs.stop()
        for uuid, ch in list(obs.channels.items()):      # never leave a channel of ours behind
            if ch["hangup"] is None and api.exists(uuid):
                api.api(f"uuid_kill {uuid}")

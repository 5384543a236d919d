"""Conformance: replay every corpus connection against the simulator and compare.

For each file, the commands the capture tool sent are sent again, in order, on the same
connections (origination UUIDs are kept, so they match). Where the capture depended on
an outside action (a sipp call, a REGISTER, a shutdown), the simulator's control API
does the equivalent at that point (OUTSIDE below). Before each command the replay waits
until the simulator has delivered as many (compared) events on that connection as
FreeSWITCH had, so command and event interleaving follows the capture.

Compared: reply Content-Type and shape (UUIDs, digits normalised; JSON by keys);
disconnect notices and EOF; per channel (matched by Channel-Name without port, in order
of appearance) the ORDER of event names; for each matched event its header-name SET.
Skipped: exactly the items in esl/sim/deviations.py.
"""
from __future__ import annotations

import fnmatch
import json
import re

import gevent
import gevent.server
import pytest

from esl.protocol import EVENT_CONTENT_TYPES, FrameParser, decode_event
from esl.sim.deviations import of_kind
from esl.sim.rawclient import RawClient
from esl.sim.server import Simulator
from tests.conftest import corpus_files, corpus_messages
from tests.helpers import wait_for

SKIP_EVENTS = {d.name for d in of_kind("event")}
SKIP_HEADERS = [d.name for d in of_kind("header")]
SKIP_COMMANDS = [d.name for d in of_kind("command")]
SKIP_CHANNELS = [d.name for d in of_kind("channel")]
SKIP_WHERE = [(d.name, *d.event.split("=", 1)) for d in of_kind("event-where")]


def skipped(e) -> bool:
    return (e.name in SKIP_EVENTS or any(e.name == n and e.get(h) == v for n, h, v in SKIP_WHERE)
            or any((e.get("Channel-Name") or "").startswith(p) for p in SKIP_CHANNELS))
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# --------------------------------------------------------------- outside actions
def _outbound(ctx, dest, uuid, caller, async_mode=True):
    ctx.sim.outbound_call(dest, ctx.listen_addr, caller_number=caller, async_mode=async_mode,
                          uuid=uuid)


OUTSIDE = {
    "01-inbound-basics.jsonl": [],
    "02-outbound-socket-call.jsonl": [
        (0.0, lambda c: c.sim.add_endpoint("agent@127.0.0.1:5092", ring=1.0)),
        (0.006, lambda c: _outbound(c, "7000", "5b4650fe-2be6-4915-9a96-a7b48515e64f", "5551000")),
        (9.17, lambda c: c.sim.hangup("5b4650fe-2be6-4915-9a96-a7b48515e64f")),
        (13.196, lambda c: _outbound(c, "7010", "884aabb8-b385-4650-95cc-f2807e27427a", "5551002",
                                       async_mode=False)),
        (17.33, lambda c: c.sim.hangup("884aabb8-b385-4650-95cc-f2807e27427a")),
    ],
    "03-acd-api-commands.jsonl": [
        (0.0, lambda c: c.sim.add_endpoint("agentA@127.0.0.1:5094", ring=0.5)),
        (0.0, lambda c: c.sim.add_endpoint("agentB@127.0.0.1:5096", ring=0.5)),
        (0.0, lambda c: c.sim.add_endpoint("supervisor@127.0.0.1:5098", ring=0.2)),
        (18.507, lambda c: c.sim.place_call("7001", "5553000", uuid="f6379166-526d-46e2-9c13-afcab7e9ce34")),
        (25.66, lambda c: c.sim.hangup("f6379166-526d-46e2-9c13-afcab7e9ce34")),
    ],
    "04-register-unregister.jsonl": [
        (0.618, lambda c: c.sim.register("1000")),
        (4.73, lambda c: c.sim.unregister("1000")),  # sipp's REGISTER Expires: 0
    ],
    "05-callcenter.jsonl": [],
    "06-reloadxml-and-shutdown.jsonl": [
        (0.023, lambda c: c.sim.api("reloadxml")),  # fs_cli -x reloadxml
        (2.087, lambda c: _outbound(c, "7000", None, "5556000")),
        (3.243, lambda c: c.sim.shutdown()),
    ],
}


# --------------------------------------------------------------- normalising
def shape(frame) -> tuple:
    ctype = frame.content_type
    if ctype == "command/reply":
        text = frame.reply_text
        if "Event-Name" in frame.headers:  # outbound connect: CHANNEL_DATA
            return ctype, "CHANNEL_DATA", frame.headers.get("Socket-Mode"), frame.headers.get("Control")
    else:
        text = frame.text
    if text.startswith("{"):
        obj = json.loads(text)
        rows = obj.get("rows") or []
        return ctype, "json", tuple(sorted(rows[0])) if rows else (), text.endswith("\n")
    first = text.split("\n")[0] if text.strip() else text
    first = UUID.sub("<uuid>", first)
    first = re.sub(r"\d+", "#", first)
    if ctype == "api/response" and not first.startswith(("+OK", "-ERR", "-USAGE")):
        first = first[:2]  # free text (status, sofia status): same kind of output
    return ctype, first, text.endswith("\n")


def channel_key(name: str) -> str:
    return re.sub(r":\d+$", "", name)


def ignored_header(h: str) -> bool:
    return h.startswith("variable_") or any(fnmatch.fnmatchcase(h, p) for p in SKIP_HEADERS)


def group_events(events) -> dict[str, list]:
    """Events per channel key (name without port, nth channel of that name), others under '-'."""
    seen: dict[str, str] = {}
    counts: dict[str, int] = {}
    groups: dict[str, list] = {}
    for e in events:
        if skipped(e):
            continue
        uid = e.get("Unique-ID")
        name = e.get("Channel-Name")
        if uid and name:
            if any(name.startswith(p) for p in SKIP_CHANNELS):
                continue
            if uid not in seen:
                base = channel_key(name)
                counts[base] = counts.get(base, 0) + 1
                seen[uid] = f"{base}#{counts[base]}"
            key = seen[uid]
        else:
            key = "-"
        groups.setdefault(key, []).append(e)
    return groups


# --------------------------------------------------------------- the replay
class Replay:
    def __init__(self, sim, messages):
        self.sim = sim
        self.messages = messages
        self.clients: dict[str, RawClient] = {}
        self.pending_outbound: list = []
        self.listener = gevent.server.StreamServer(("127.0.0.1", 0), self._accept)
        self.listener.start()
        self.listen_addr = ("127.0.0.1", self.listener.server_port)
        self.outbound_n = 0
        self.deficit: dict = {}
        self.counted: dict = {}
        self.corpus_events = []  # (message index, event) for every corpus event
        for i, m in enumerate(messages):
            if m["dir"] == "recv" and m["raw"] and not m.get("note"):
                self.corpus_events += [(i, decode_event(f)) for f in FrameParser().feed(m["raw"].encode())
                                       if f.content_type in EVENT_CONTENT_TYPES]

    def _accept(self, sock, addr):
        self.outbound_n += 1
        client = RawClient.from_socket(sock)
        self.clients[f"outbound-{self.outbound_n}"] = client
        client.wait_eof(timeout=120)

    def client(self, conn):
        if conn not in self.clients:
            if conn.startswith("outbound"):
                wait_for(lambda: conn in self.clients, timeout=5, interval=0.005)
                return self.clients[conn]
            self.clients[conn] = RawClient("127.0.0.1", self.sim.port)
        return self.clients[conn]

    @staticmethod
    def compared(e) -> bool:
        return not skipped(e)

    def compared_count(self, client) -> int:
        done, n = self.counted.get(client, (0, 0))
        events = client.decoded
        n += sum(1 for e in events[done:] if self.compared(e))
        self.counted[client] = (len(events), n)
        return n

    def uuid_map(self, upto: int) -> dict[str, str]:
        """Corpus channel UUID -> simulator UUID, by channel key (name, order of appearance)."""
        seen = [e for i, e in self.corpus_events if i < upto]
        mine = [e for c in self.clients.values() for e in c.decoded if self.compared(e)]
        mine.sort(key=lambda e: int(e.get("Event-Sequence") or 0))
        theirs = {k: v[0].get("Unique-ID") for k, v in group_events(seen).items() if k != "-"}
        ours = {k: v[0].get("Unique-ID") for k, v in group_events(mine).items() if k != "-"}
        mapping = {theirs[k]: ours[k] for k in theirs if k in ours and theirs[k] != ours[k]}
        # uuids the client learnt from replies and BACKGROUND_JOB bodies, paired in order
        their_bodies = [f.text for m in self.messages[:upto] if m["dir"] == "recv" and m["raw"]
                        and not m.get("note") for f in FrameParser().feed(m["raw"].encode())
                        if f.content_type == "api/response" or b"BACKGROUND_JOB" in f.body[:40]]
        our_bodies = [f.text for c in self.clients.values() for f in c.frames
                      if f.content_type == "api/response" or b"BACKGROUND_JOB" in f.body[:40]]
        their_ok = [UUID.findall(b.split("\n\n", 1)[-1]) for b in their_bodies if "+OK " in b]
        our_ok = [UUID.findall(b.split("\n\n", 1)[-1]) for b in our_bodies if "+OK " in b]
        for t, o in zip(their_ok, our_ok):
            for a, b in zip(t, o):
                if a != b:
                    mapping.setdefault(a, b)
        return mapping

    def run(self, outside):
        outside = sorted(outside, key=lambda x: x[0])
        expected_events: dict[str, int] = {}
        for index, m in enumerate(self.messages):
            conn = m["conn"]
            self.run_hooks(outside, m["t"], expected_events)
            if m.get("note") == "closed-by-client":
                self.sync(self.client(conn), expected_events.get(conn, 0))
                self.client(conn).close()
                continue
            if m["dir"] == "recv":
                if m.get("note") or not m["raw"]:
                    continue
                if conn.startswith("inbound"):
                    self.client(conn)  # the connection exists from its auth/request on
                for f in FrameParser().feed(m["raw"].encode()):
                    if f.content_type in EVENT_CONTENT_TYPES and self.compared(decode_event(f)):
                        expected_events[conn] = expected_events.get(conn, 0) + 1
                continue
            client = self.client(conn)
            self.sync(client, expected_events.get(conn, 0))
            raw = m["raw"]
            for theirs, ours in (self.uuid_map(index) if UUID.search(raw) else {}).items():
                raw = raw.replace(theirs, ours)
            seen = self.sim.commands_seen
            client.send_raw(raw.encode())
            # an outside action the reply waits for (a sync sendmsg held until hangup)
            replied = next((x["t"] for x in self.messages[index + 1:] if x["conn"] == conn and x["dir"] == "recv"
                            and x["raw"].startswith(("Content-Type: command/reply", "Content-Type: api/response"))),
                           m["t"])
            if outside and outside[0][0] <= replied:
                # the switch has read the command (and runs it up to where it waits) first
                wait_for(lambda: self.sim.commands_seen > seen, timeout=5, interval=0.005)
                self.run_hooks(outside, replied, expected_events)
            self.wait_reply(client, conn)
        while outside:
            outside.pop(0)[1](self)
        for conn, client in self.clients.items():
            self.sync(client, expected_events.get(conn, 0))
        eofs = {m["conn"] for m in self.messages if m.get("note") == "EOF"}
        for conn in eofs:
            if conn in self.clients:
                wait_for(lambda: self.clients[conn].eof, timeout=3, interval=0.005)

    def run_hooks(self, outside, t, expected_events):
        while outside and outside[0][0] <= t:
            for c, n in expected_events.items():
                if c in self.clients:
                    self.sync(self.clients[c], n)
            outside.pop(0)[1](self)

    def sync(self, client, count, timeout=2.0):
        """Wait for ``count`` compared events (less what was already found missing)."""
        count -= self.deficit.get(client, 0)
        if not wait_for(lambda: self.compared_count(client) >= count or client.eof, timeout, 0.005):
            # a mismatch the comparison will report; do not wait for it again
            self.deficit[client] = self.deficit.get(client, 0) + count - self.compared_count(client)

    def wait_reply(self, client, conn):
        want = self.sent.get(conn, 0) + 1
        self.sent[conn] = want
        wait_for(lambda: client.eof or sum(f.content_type in ("command/reply", "api/response")
                                           for f in client.frames) >= want, timeout=10, interval=0.005)

    sent: dict


def corpus_view(messages):
    """Per connection: replies (with the command sent), notices, EOF, events."""
    view: dict[str, dict] = {}
    last_cmd: dict[str, list] = {}
    for m in messages:
        c = view.setdefault(m["conn"], {"replies": [], "notices": [], "eof": False, "events": []})
        if m["dir"] == "send":
            last_cmd.setdefault(m["conn"], []).append(m["raw"].split("\n")[0])
            continue
        if m.get("note") == "EOF":
            c["eof"] = True
            continue
        if not m["raw"]:
            continue
        for f in FrameParser().feed(m["raw"].encode()):
            add_frame(c, f, last_cmd.get(m["conn"], []))
    return view


def add_frame(c, f, commands):
    if f.content_type in ("command/reply", "api/response"):
        idx = len(c["replies"])
        c["replies"].append((commands[idx] if idx < len(commands) else "?", f))
    elif f.content_type == "text/disconnect-notice":
        c["notices"].append((f.headers.get("Content-Disposition", ""), f.body))
    elif f.content_type in EVENT_CONTENT_TYPES:
        c["events"].append(decode_event(f))


def sim_view(replay, messages):
    view = {}
    commands: dict[str, list] = {}
    for m in messages:
        if m["dir"] == "send":
            commands.setdefault(m["conn"], []).append(m["raw"].split("\n")[0])
    for conn, client in replay.clients.items():
        c = {"replies": [], "notices": [], "eof": client.eof, "events": []}
        for f in client.frames:
            add_frame(c, f, commands.get(conn, []))
        view[conn] = c
    return view


def compare(expected, actual) -> list[str]:
    problems = []
    for conn, exp in expected.items():
        act = actual.get(conn)
        if act is None:
            problems.append(f"{conn}: connection never made")
            continue
        for i, (cmd, f) in enumerate(exp["replies"]):
            if any(cmd.startswith(p) for p in SKIP_COMMANDS):
                continue
            if i >= len(act["replies"]):
                problems.append(f"{conn}: no reply to {cmd!r}")
                continue
            if shape(f) != shape(act["replies"][i][1]):
                problems.append(f"{conn}: {cmd!r}: expected {shape(f)}, got {shape(act['replies'][i][1])}")
        if [n[0] for n in exp["notices"]] != [n[0] for n in act["notices"]]:
            problems.append(f"{conn}: notices {exp['notices']} != {act['notices']}")
        if exp["eof"] != act["eof"] and not conn.startswith("outbound"):
            problems.append(f"{conn}: EOF expected={exp['eof']} got={act['eof']}")
        eg, ag = group_events(exp["events"]), group_events(act["events"])
        for key, evs in eg.items():
            got = ag.get(key, [])
            names, got_names = [e.name for e in evs], [e.name for e in got]
            if names != got_names:
                problems.append(f"{conn} {key}: events\n  expected {names}\n  got      {got_names}")
                continue
            for e, g in zip(evs, got):
                want = {h for h in e.headers if not ignored_header(h)}
                have = {h for h in g.headers if not ignored_header(h)}
                if want != have:
                    problems.append(f"{conn} {key} {e.name}: missing {sorted(want - have)} extra {sorted(have - want)}")
        for key in set(ag) - set(eg):
            problems.append(f"{conn} {key}: unexpected events {[e.name for e in ag[key]]}")
    return problems


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_simulator_matches_the_capture(path, tmp_path):
    messages = corpus_messages(path)
    sim = Simulator(password="ClueCon", time_factor=0.05, heartbeat_interval=0,
                    recordings_root=str(tmp_path), prompts={}).start()
    replay = Replay(sim, messages)
    replay.sent = {}
    try:
        replay.run(OUTSIDE[path.name])
        # not a synchronisation (run() waited for every expected event): a short quiet
        # period so that events the capture does NOT have, if the simulator sends any,
        # arrive and fail the comparison. Absence cannot be polled for.
        gevent.sleep(0.05)
        problems = compare(corpus_view(messages), sim_view(replay, messages))
    finally:
        for c in replay.clients.values():
            c.close()
        replay.listener.stop()
        sim.stop()
    assert not problems, "\n".join(problems)


def test_deviations_page_is_generated_from_the_list():
    from pathlib import Path

    from esl.sim.deviations import markdown
    page = Path(__file__).parent.parent / "esl" / "sim" / "DEVIATIONS.md"
    assert page.read_text(encoding="utf-8") == markdown(), "run: python -m esl.sim.deviations > esl/sim/DEVIATIONS.md"

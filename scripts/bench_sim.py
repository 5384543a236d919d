"""Benchmark the FreeSWITCH simulator over real TCP (client and simulator in one gevent process).

1. api round trips/s (`api version`, one connection, sequential) against a floor: a bare
   gevent TCP echo server answering the same bytes (framing + transport only), same run.
2. call lifecycles/s: `api originate null/N &park` + `api uuid_kill`, with a second
   connection subscribed to `event plain ALL` (every event built, serialised, parsed).
"""
from __future__ import annotations

import argparse
import time

import gevent
from gevent import socket
from gevent.server import StreamServer

from esl.protocol import FrameParser, encode_command
from esl.sim.rawclient import RawClient
from esl.sim.server import Simulator


class Direct:
    """A blocking request/reply client (no polling): the bench measures the server."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.parser = FrameParser()
        self.pending: list = []
        self.next_frame()  # auth/request
        self.call("auth pw")

    def next_frame(self):
        while not self.pending:
            self.pending.extend(self.parser.feed(self.sock.recv(65536)))
        return self.pending.pop(0)

    def call(self, command: str) -> str:
        self.sock.sendall(encode_command(command))
        frame = self.next_frame()
        return frame.text if frame.content_type == "api/response" else frame.reply_text


def api_round_trips(port: int, n: int) -> float:
    c = Direct(port)
    t0 = time.perf_counter()
    for _ in range(n):
        c.call("api version")
    dt = time.perf_counter() - t0
    c.sock.close()
    return n / dt


def echo_floor(n: int) -> float:
    body = b"FreeSWITCH Version 1.11.3-dev~64bit ( 64bit)\n"
    answer = b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(body), body)

    def handle(sock, _addr):
        buf = b""
        while True:
            data = sock.recv(65536)
            if not data:
                return
            buf += data
            while b"\n\n" in buf:
                _, buf = buf.split(b"\n\n", 1)
                sock.sendall(answer)

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    s = socket.create_connection(("127.0.0.1", server.server_port))
    parser = FrameParser()
    cmd = encode_command("api version")
    t0 = time.perf_counter()
    for _ in range(n):
        s.sendall(cmd)
        frames = []
        while not frames:
            frames = parser.feed(s.recv(65536))
    dt = time.perf_counter() - t0
    s.close()
    server.stop()
    return n / dt


def call_lifecycles(port: int, n: int) -> tuple[float, float]:
    watcher = RawClient("127.0.0.1", port)
    watcher.reply("auth pw")
    watcher.reply("event plain ALL")
    c = Direct(port)
    t0 = time.perf_counter()
    for i in range(n):
        uuid = c.call(f"api originate null/{i} &park")[4:].strip()
        c.call(f"api uuid_kill {uuid}")
    while len(watcher.decoded) < n * 10:
        gevent.sleep(0.001)
    deadline = time.perf_counter() + 5
    last = -1
    while len(watcher.decoded) != last and time.perf_counter() < deadline:
        last = len(watcher.decoded)
        gevent.sleep(0.05)
    dt = time.perf_counter() - t0
    events = len(watcher.decoded)
    c.sock.close()
    watcher.close()
    return n / dt, events / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--round-trips", type=int, default=5000)
    ap.add_argument("--calls", type=int, default=500)
    args = ap.parse_args()
    sim = Simulator(password="pw", heartbeat_interval=0).start()
    sim.switch.hangup_latency = 0
    print(f"api round trips: {args.round_trips} ...", flush=True)
    floor = echo_floor(args.round_trips)
    rate = api_round_trips(sim.port, args.round_trips)
    print(f"  simulator {rate:,.0f}/s   bare TCP echo floor {floor:,.0f}/s   ratio {rate / floor:.2f}")
    print(f"call lifecycles (originate null + park + uuid_kill, ALL events watched): {args.calls} ...", flush=True)
    calls, events = call_lifecycles(sim.port, args.calls)
    print(f"  {calls:,.0f} calls/s, {events:,.0f} events/s delivered and parsed")
    sim.stop()


if __name__ == "__main__":
    main()

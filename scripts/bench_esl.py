"""Benchmark: Event Socket parsing and api round trips (scripts/bench esl [--events N]).

1. Events parsed per CPU second (one core) on one stream built from the corpus (plain events only,
   repeated to --events events), fed in 64 KiB reads as a socket would deliver them:
   * floor: FrameParser alone (split into frames, no event decoding);
   * ours: FrameParser + decode_event (headers split, each value URL-decoded);
   * greenswitch 0.0.19: its own InboundESL.receive_events/handle_event on the same bytes,
     driven from an in-memory file instead of a socket (no network in any of the three).
2. api round trips per second against the simulator over TCP on 127.0.0.1 (sequential,
   then from 8 greenlets at once; per CPU second of the one process holding both client
   and simulator, so the simulator's cost is in both columns alike),
   ours (ESLConnection.api) against greenswitch's InboundESL.send on the same simulator.
Prints progress and a Markdown table to paste into BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import io
import json
import pathlib
import platform
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from esl import protocol  # noqa: E402

CORPUS = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "esl-corpus"
CHUNK = 65536


def corpus_events() -> list[bytes]:
    out = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = json.loads(line)
            raw = m.get("raw", "").encode("utf-8")
            if m.get("dir") == "recv" and raw.startswith(b"Content-Length") and b"text/event-plain" in raw[:80]:
                out.append(raw)
    return out


def build_stream(n_events: int) -> tuple[bytes, int]:
    events = corpus_events()
    reps = -(-n_events // len(events))
    stream = b"".join(events) * reps
    return stream, len(events) * reps


def chunks(stream: bytes):
    view = memoryview(stream)
    return [bytes(view[i:i + CHUNK]) for i in range(0, len(stream), CHUNK)]


def run_floor(parts) -> int:
    parser = protocol.FrameParser()
    n = 0
    for part in parts:
        n += len(parser.feed(part))
    return n


def run_ours(parts) -> int:
    parser = protocol.FrameParser(strict=True)
    decode = protocol.decode_event
    n = 0
    for part in parts:
        for frame in parser.feed(part):
            decode(frame)
            n += 1
    return n


def run_greenswitch(stream: bytes) -> int:
    from greenswitch.esl import InboundESL

    class Unplugged(InboundESL):
        """greenswitch's reader on an in-memory file; events land in its own queue."""

    esl = Unplugged("127.0.0.1", 0, "unused")
    esl.sock_file = io.BufferedReader(io.BytesIO(stream), CHUNK)
    esl.sock = io.BytesIO()  # receive_events closes it on errors only
    esl.connected = True
    esl.receive_events()
    return esl._esl_event_queue.qsize()


def timed(label: str, fn, *args) -> tuple[float, int]:
    print(f"  {label} ...", flush=True)
    best = None
    count = 0
    for _ in range(3):
        t0 = time.process_time()  # CPU seconds of this process: one core, robust to other load
        count = fn(*args)
        elapsed = time.process_time() - t0
        best = elapsed if best is None else min(best, elapsed)
    print(f"    {count} events in {best:.3f} CPU s (best of 3) -> {count / best:,.0f} events/s", flush=True)
    return count / best, count


def _rate(call, seconds: float, concurrency: int) -> float:
    import gevent

    done = [0]
    stop_at = time.process_time() + seconds

    def worker():
        while time.process_time() < stop_at:
            call()
            done[0] += 1

    t0 = time.process_time()  # CPU seconds: client and simulator share this one process
    gevent.joinall([gevent.spawn(worker) for _ in range(concurrency)], raise_error=True)
    return done[0] / (time.process_time() - t0)


def bench_api(seconds: float) -> list[tuple[str, float]]:
    """``api status`` round trips over TCP to the in-process simulator: ours vs greenswitch."""
    from greenswitch.esl import InboundESL

    from esl.connection import ESLConnection
    from esl.sim.server import Simulator

    sim = Simulator(password="bench", heartbeat_interval=60).start()
    rows = []
    try:
        ours = ESLConnection("127.0.0.1", sim.port, "bench", name="bench")
        ours.connect()
        theirs = InboundESL("127.0.0.1", sim.port, "bench")
        theirs.connect()
        for concurrency in (1, 8):
            for label, call in (("ours (ESLConnection.api)", lambda: ours.api("status")),
                                ("greenswitch 0.0.19 (InboundESL.send)", lambda: theirs.send("api status"))):
                print(f"  api status, {label}, {concurrency} greenlet(s), {seconds} s ...", flush=True)
                rate = _rate(call, seconds, concurrency)
                print(f"    {rate:,.0f} round trips/s", flush=True)
                rows.append((f"{label}, {concurrency} greenlet(s)", rate))
        ours.close()
        theirs.stop()
    finally:
        sim.stop()
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=300_000, help="events in the parse stream (default 300000)")
    ap.add_argument("--api-seconds", type=float, default=3.0, help="duration of each api round-trip run")
    args = ap.parse_args(argv)

    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {platform.platform()}")
    stream, n = build_stream(args.events)
    print(f"stream: {n} plain events from {len(corpus_events())} distinct corpus events, "
          f"{len(stream) / 1e6:.1f} MB, fed in {CHUNK // 1024} KiB reads")
    parts = chunks(stream)
    floor, c1 = timed("floor: FrameParser only", run_floor, parts)
    ours, c2 = timed("ours: FrameParser + decode_event", run_ours, parts)
    gs, c3 = timed("greenswitch 0.0.19 InboundESL reader", run_greenswitch, stream)
    assert c1 == c2 == n, (c1, c2, n)
    if c3 != n:
        print(f"  note: greenswitch produced {c3} events for {n} sent")
    print()
    mb = len(stream) / n / 1e6  # MB per event
    print("| parser | events/s (one core) | MB/s | vs greenswitch |")
    print("|---|---:|---:|---:|")
    print(f"| floor (framing only) | {floor:,.0f} | {floor * mb:,.0f} | {floor / gs:.2f}x |")
    print(f"| ours (framing + decode) | {ours:,.0f} | {ours * mb:,.0f} | {ours / gs:.2f}x |")
    print(f"| greenswitch 0.0.19 | {gs:,.0f} | {gs * mb:,.0f} | 1.00x |")
    print()
    api = bench_api(args.api_seconds)
    print()
    print("| api status round trips (client + simulator, one process) | per CPU second |")
    print("|---|---:|")
    for label, rate in api:
        print(f"| {label} | {rate:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

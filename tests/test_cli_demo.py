"""`sentral demo` guards (issue 8): a database in use is never deleted (item 8), a taken
HTTP port fails at once with one line (item 9), and the service level the wallboard
shows counts the demo's abandons (item 12: the target scales with --time-factor)."""
from __future__ import annotations

import argparse
import pathlib
import socket
import subprocess
import sys

from engine.statistics import Statistics
from sentral.demo import CALLER_PATIENCE, Demo
from sentral.process import DatabaseLock

ROOT = pathlib.Path(__file__).resolve().parent.parent


def demo(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "sentral.cli", "demo", "--duration", "1", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_given_a_running_demo_on_a_database_when_a_second_starts_then_it_refuses_and_deletes_nothing(tmp_path):
    db = tmp_path / "demo.db"
    db.write_bytes(b"the running demo's data")
    log = tmp_path / "demo.log"
    log.write_text("the running demo's log")
    held = DatabaseLock(f"sqlite:///{db}").acquire()     # what the first demo holds while it runs
    try:
        out = demo("--db", f"sqlite:///{db}", "--http", "0", "--log", str(log))
    finally:
        held.release()
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "in use by another process" in lines[0] and str(db) in lines[0], out.stderr
    assert db.read_bytes() == b"the running demo's data"
    assert log.read_text() == "the running demo's log"
    assert "engine ready" not in out.stdout


def test_given_the_lock_is_free_again_then_it_can_be_taken(tmp_path):
    url = f"sqlite:///{tmp_path}/d.db"
    DatabaseLock(url).acquire().release()
    again = DatabaseLock(url).acquire()
    again.release()


def test_given_a_taken_http_port_when_the_demo_starts_then_one_line_before_the_engine_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = demo("--db", f"sqlite:///{tmp_path}/d.db", "--http", str(port), "--log", str(tmp_path / "d.log"))
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert f"port {port}" in out.stderr and "taken" in out.stderr
    assert "Traceback" not in out.stderr and "engine ready" not in out.stdout
    assert not (tmp_path / "d.db").exists()


def _demo_deployment(time_factor):
    args = argparse.Namespace(config=str(ROOT / "dialplan/examples/demo.yaml"), real_hours=False,
                              time_factor=time_factor)
    return Demo(args)._deployment("pw")


def test_given_time_factor_then_the_service_level_target_is_scaled_like_the_callers():
    deployment = _demo_deployment(0.2)
    unscaled = _demo_deployment(1.0)
    for qid, queue in deployment.queues.items():
        assert queue.service_level_seconds == unscaled.queues[qid].service_level_seconds * 0.2


def test_given_16_abandoned_and_40_answered_in_the_demo_then_the_level_is_not_100_percent():
    tf = 0.2
    queue = next(iter(_demo_deployment(tf).queues.values()))
    stats = Statistics()
    for _ in range(40):
        stats.answered(queue.id, waited=1.0, target=queue.service_level_seconds)
    for _ in range(16):   # demo callers give up after their patience, in real seconds
        stats.abandoned(queue.id, waited=CALLER_PATIENCE * tf, target=queue.service_level_seconds)
    assert stats.of(queue.id).service_level() == 40 / 56

"""`sentral simulate` as a process: first line says where it listens; SIGTERM stops it."""
from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from esl.sim.rawclient import RawClient
from sentral.commands.simulate import parse_agents, parse_routes


def test_simulate_listens_serves_agents_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentral.cli", "simulate", "--listen", "127.0.0.1:0", "--password", "pw",
         "--agents", "1000-1001:answer", "--agents", "1002:busy",
         "--route", '22001000={"cc_tenant": "t1"}', "--time-factor", "0.01"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("listening 127.0.0.1:"), first
        port = int(first.rsplit(":", 1)[1])
        c = RawClient("127.0.0.1", port)
        assert c.reply("auth pw").reply_text == "+OK accepted"
        assert c.api("originate user/1001 &park()").startswith("+OK ")
        assert c.api("originate user/1002 &park()") == "-ERR USER_BUSY\n"
        assert "User:       \t1000@127.0.0.1" in c.api("sofia status profile internal reg")
        c.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_agent_and_route_options_are_validated():
    assert parse_agents("1000-1002:reject:2:30") == [
        ("1000", "reject", 2.0, 30.0), ("1001", "reject", 2.0, 30.0), ("1002", "reject", 2.0, 30.0)]
    with pytest.raises(ValueError, match="unknown action"):
        parse_agents("1000:dance")
    with pytest.raises(ValueError, match="backwards"):
        parse_agents("1005-1001")
    with pytest.raises(ValueError, match="JSON"):
        parse_routes(["2200=[1]"])
    assert parse_routes(['2200={"cc_queue": "q"}']) == {"2200": {"cc_queue": "q"}}

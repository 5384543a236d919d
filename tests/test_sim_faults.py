"""Fault injection and restarts: what a client sees, and that calls survive a restart."""
from __future__ import annotations

import time

import pytest

from esl.sim.rawclient import RawClient
from esl.sim.server import Simulator
from tests.helpers import until


@pytest.fixture
def sim():
    s = Simulator(password="pw", time_factor=0.01, heartbeat_interval=0).start()
    yield s
    s.stop()


def login(sim):
    c = RawClient("127.0.0.1", sim.port)
    assert c.reply("auth pw").reply_text == "+OK accepted"
    return c


def test_slow_replies_for_matching_commands_only(sim):
    slow, fast = login(sim), login(sim)
    sim.faults.delay("status", 0.5)
    t0 = time.monotonic()
    slow.send("api status")
    assert fast.api("version").startswith("FreeSWITCH")  # not delayed: answered meanwhile
    assert not [f for f in slow.frames if f.content_type == "api/response"]
    assert slow.wait_for(lambda f: f.content_type == "api/response").text.startswith("UP")
    assert time.monotonic() - t0 >= 0.5


def test_dropped_connection_mid_command(sim):
    c = login(sim)
    sim.faults.drop("uuid_kill")
    c.send("api uuid_kill 00000000-0000-0000-0000-000000000000")
    c.wait_eof()
    assert not [f for f in c.frames if f.content_type == "api/response"]
    assert login(sim).api("version").startswith("FreeSWITCH")  # one-shot: the next client is served


def test_malformed_frame_is_a_protocol_error_for_the_client(sim):
    from esl.errors import ProtocolError
    c = login(sim)
    sim.faults.garble("status")
    c.send("api status")
    until(lambda: c.eof)
    assert isinstance(c.error, ProtocolError)


def test_disconnect_notice_to_every_client(sim):
    a, b = login(sim), login(sim)
    sim.disconnect_all()
    for c in (a, b):
        notice = c.wait_for(lambda f: f.content_type == "text/disconnect-notice")
        assert notice.text.startswith("Disconnected, goodbye.")
        c.wait_eof()


def test_restart_closes_sessions_keeps_the_port_and_the_calls(sim):
    c = login(sim)
    uuid = c.api("originate null/1 &park()")[4:].strip()
    port = sim.port
    sim.restart(keep_channels=True)
    notice = c.wait_for(lambda f: f.content_type == "text/disconnect-notice")
    assert notice.text == "The system is being shut down.\n"
    c.wait_eof()
    again = login(sim)
    assert sim.port == port
    assert again.api(f"uuid_exists {uuid}") == "true"


def test_restart_losing_the_calls(sim):
    c = login(sim)
    uuid = c.api("originate null/1 &park()")[4:].strip()
    sim.restart(keep_channels=False)
    until(lambda: not sim.channels)
    assert login(sim).api(f"uuid_exists {uuid}") == "false"


def test_shutdown_sends_shutdown_hangups_then_the_notice(sim):
    c = login(sim)
    c.reply("event plain SHUTDOWN CHANNEL_HANGUP_COMPLETE")
    uuid = c.api("originate null/1 &park()")[4:].strip()
    sim.shutdown().join(5)
    c.wait_eof()
    names = [e.name for e in c.events()]
    assert names == ["SHUTDOWN", "CHANNEL_HANGUP_COMPLETE"]
    assert c.events()[1].unique_id == uuid
    assert c.frames[-1].content_type == "text/disconnect-notice"

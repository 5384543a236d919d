"""Named nodes kept connected (esl.node) over real TCP against the simulator: resync after
every (re)connect, events tagged in one inbox, reconnect after a drop, a malformed frame,
a restart or silence, and two FreeSWITCH nodes at once."""
from __future__ import annotations

import logging

import gevent
import gevent.queue
import pytest

from esl.channels import parse_show_channels
from esl.errors import ConnectionLost, ProtocolError
from esl.node import Node, NodeEvent, NodePool, NodeSpec, State, backoff_delay
from esl.sim.server import Simulator
from tests.helpers import until

PASSWORD = "n0de-pw"
FAST = dict(timeout=2.0, backoff=(0.02, 0.1), heartbeat_interval=5.0)


class Resyncs:
    """The engine's resync hook, recording what it was given."""

    def __init__(self):
        self.calls: list[tuple[str, list[dict]]] = []

    def __call__(self, node, channels):
        self.calls.append((node, channels))

    def uuids(self, i=-1):
        return {row["uuid"] for row in self.calls[i][1]}


def start_sim(**kw):
    return Simulator(password=PASSWORD, time_factor=0.01, heartbeat_interval=kw.pop("heartbeat", 30.0), **kw).start()


@pytest.fixture
def sim():
    s = start_sim()
    yield s
    s.stop()


@pytest.fixture
def resyncs():
    return Resyncs()


@pytest.fixture
def node(sim, resyncs):
    n = Node(NodeSpec("fs1", "127.0.0.1", sim.port, PASSWORD), gevent.queue.Queue(),
             on_resync=resyncs, **FAST).start()
    assert n.wait_connected(5)
    yield n
    n.stop()


def next_event(inbox, name, timeout=5.0) -> NodeEvent:
    with gevent.Timeout(timeout):
        while True:
            item = inbox.get()
            if item.event.name == name:
                return item


# ------------------------------------------------------------------ units


def test_show_channels_json_both_shapes():
    assert parse_show_channels('{"row_count": 0}\n') == []
    rows = parse_show_channels('{"row_count":2,"rows":[{"uuid":"a"},{"uuid":"b"}]}')
    assert [r["uuid"] for r in rows] == ["a", "b"]
    for bad in ("", "[]", '{"rows": []}', '{"row_count": 2, "rows": [{"uuid": "a"}]}', '{"row_count":1,"rows":[1]}'):
        with pytest.raises(ProtocolError):
            parse_show_channels(bad)


def test_backoff_retries_fast_first_then_doubles_to_the_cap_with_jitter():
    slow = dict(fast=(0, 0.1))
    assert [backoff_delay(a, rand=lambda: 1.0, **slow) for a in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert [backoff_delay(a, rand=lambda: 0.0, **slow) for a in (0, 7, 100)] == [0.25, 15, 15]
    # a 1 s `reload mod_event_socket`: reconnected within 0.1 s of its end, not 2 s later
    delays = [backoff_delay(a, rand=lambda: 1.0) for a in range(22)]
    assert delays[:20] == [0.1] * 20 and delays[20:] == [0.5, 1]
    assert backoff_delay(0, rand=lambda: 0.0) == 0.05


def test_pool_refuses_two_nodes_with_one_name():
    with pytest.raises(ValueError, match="fs1"):
        NodePool([("fs1", "127.0.0.1", 1, "x"), ("fs1", "127.0.0.1", 2, "y")])


def test_spec_repr_hides_the_password():
    assert PASSWORD not in repr(NodeSpec("fs1", "127.0.0.1", 8021, PASSWORD))


# ------------------------------------------------------------------ one node


def test_connect_resyncs_with_live_channels_then_events_arrive_tagged(sim, resyncs):
    before = sim.place_call("7001")
    inbox = gevent.queue.Queue()
    node = Node(NodeSpec("fs1", "127.0.0.1", sim.port, PASSWORD), inbox, on_resync=resyncs, **FAST).start()
    try:
        assert node.wait_connected(5)
        assert resyncs.calls[0][0] == "fs1" and resyncs.uuids(0) == {before.uuid}
        after = sim.place_call("7001")
        park = next_event(inbox, "CHANNEL_PARK")
        assert park.node == "fs1" and park.event.unique_id == after.uuid
        assert node.api(f"uuid_exists {after.uuid}") == "true"
        assert node.bgapi(f"uuid_exists {after.uuid}", timeout=5) == "true"
    finally:
        node.stop()
    assert node.state is State.STOPPED


def test_the_resync_hook_may_query_its_node(sim):
    ch = sim.place_call("7001", variables={"cc_queue": "main"})
    seen = {}

    def hook(name, channels):
        seen.update({row["uuid"]: pool[name].api(f"uuid_getvar {row['uuid']} cc_queue") for row in channels})
    pool = NodePool([("fs1", "127.0.0.1", sim.port, PASSWORD)], on_resync=hook, **FAST).start()
    try:
        assert pool.wait_connected(5)
        assert seen == {ch.uuid: "main"}
    finally:
        pool.stop()


def test_api_while_down_fails_at_once(sim, node):
    sim.stop(keep_channels=True)
    until(lambda: not node.connected)
    with pytest.raises(ConnectionLost):
        node.api("status")


def test_malformed_frame_resets_reconnects_and_resyncs(sim, node, resyncs, caplog):
    caplog.set_level(logging.INFO, logger="esl")
    ch = sim.place_call("7001")
    sim.faults.garble("status")
    with pytest.raises(ConnectionLost):
        node.api("status")
    until(lambda: len(resyncs.calls) == 2 and node.connected)
    assert resyncs.uuids() == {ch.uuid}
    assert "protocol error" in caplog.text and "reconnecting in" in caplog.text


def test_restart_on_the_same_port_reconnects_and_resyncs_with_its_channels(sim, node, resyncs, caplog):
    caplog.set_level(logging.INFO, logger="esl")
    calls = {sim.place_call("7001").uuid for _ in range(3)}
    sim.faults.delay("status", 5)
    pending = gevent.spawn(node.api, "status", 60)
    until(lambda: node.connection().oldest_pending_age() > 0)
    sim.stop(keep_channels=True)
    pending.join(timeout=3)
    assert isinstance(pending.exception, ConnectionLost), "no hung greenlet"
    sim.faults.clear()
    sim.start()  # same port (the simulator keeps it)
    until(lambda: len(resyncs.calls) == 2 and node.connected, timeout=10)
    assert resyncs.uuids() == calls
    assert node.connections == 2
    text = caplog.text
    for line in ("connected to", "authenticated", "subscribed", "disconnected", "reconnecting in", "resync: 3 live"):
        assert line in text, line
    assert PASSWORD not in text


def test_disconnect_notice_leads_to_reconnect(sim, node, resyncs):
    sim.disconnect_all()
    until(lambda: len(resyncs.calls) == 2 and node.connected)


def test_silence_beyond_the_heartbeat_allowance_resets_the_connection(resyncs, caplog):
    caplog.set_level(logging.INFO, logger="esl")
    quiet = start_sim(heartbeat=60.0)  # no HEARTBEAT within the test
    node = Node(NodeSpec("fs1", "127.0.0.1", quiet.port, PASSWORD), gevent.queue.Queue(), on_resync=resyncs,
                timeout=2.0, backoff=(0.02, 0.1), heartbeat_interval=0.1, heartbeat_misses=3).start()
    try:
        until(lambda: node.connections >= 2, timeout=10)
        assert "nothing received for" in caplog.text
    finally:
        node.stop()
        quiet.stop()


def test_a_reply_that_never_comes_resets_the_connection(sim, resyncs):
    node = Node(NodeSpec("fs1", "127.0.0.1", sim.port, PASSWORD), gevent.queue.Queue(), on_resync=resyncs,
                timeout=2.0, backoff=(0.02, 0.1), reply_stall=0.3).start()
    try:
        assert node.wait_connected(5)
        sim.faults.delay("status", 30)
        stuck = gevent.spawn(node.api, "status", 60)
        stuck.join(timeout=5)
        assert isinstance(stuck.exception, ConnectionLost)
        sim.faults.clear()
        until(lambda: node.connections == 2 and node.connected)
    finally:
        node.stop()


def test_heartbeats_keep_the_connection(resyncs):
    lively = start_sim(heartbeat=0.05)
    inbox = gevent.queue.Queue()
    node = Node(NodeSpec("fs1", "127.0.0.1", lively.port, PASSWORD), inbox, on_resync=resyncs,
                timeout=2.0, heartbeat_interval=0.1, heartbeat_misses=4).start()
    try:
        for _ in range(10):
            next_event(inbox, "HEARTBEAT")
        assert node.connections == 1 and node.connected
    finally:
        node.stop()
        lively.stop()


def test_wrong_password_keeps_retrying_and_never_comes_up(sim, caplog):
    caplog.set_level(logging.INFO, logger="esl")
    node = Node(NodeSpec("fs1", "127.0.0.1", sim.port, "not-the-pw"), gevent.queue.Queue(), **FAST).start()
    try:
        until(lambda: caplog.text.count("authentication failed") >= 2)
        assert not node.connected and node.connections == 0
        assert "not-the-pw" not in caplog.text
    finally:
        node.stop()


def test_a_failing_resync_hook_does_not_stop_the_node(sim):
    def broken(node, channels):
        raise RuntimeError("engine bug")
    node = Node(NodeSpec("fs1", "127.0.0.1", sim.port, PASSWORD), gevent.queue.Queue(), on_resync=broken, **FAST).start()
    try:
        assert node.wait_connected(5)
        assert node.api("status")
    finally:
        node.stop()


# ------------------------------------------------------------------ several nodes


def test_two_nodes_at_once_each_event_tagged_with_its_node(resyncs):
    a, b = start_sim(), start_sim()
    pool = NodePool([("oslo", "127.0.0.1", a.port, PASSWORD), NodeSpec("bergen", "127.0.0.1", b.port, PASSWORD)],
                    on_resync=resyncs, **FAST).start()
    try:
        assert pool.wait_connected(5)
        assert sorted(node for node, _ in resyncs.calls) == ["bergen", "oslo"]
        in_oslo, in_bergen = a.place_call("7001"), b.place_call("7001")
        seen = {}
        while len(seen) < 2:
            item = next_event(pool.inbox, "CHANNEL_PARK")
            seen[item.event.unique_id] = item.node
        assert seen == {in_oslo.uuid: "oslo", in_bergen.uuid: "bergen"}
        assert pool.api("oslo", f"uuid_exists {in_oslo.uuid}") == "true"
        assert pool.api("bergen", f"uuid_exists {in_oslo.uuid}") == "false"
        assert set(pool) == {"oslo", "bergen"} and pool["oslo"].connected
        b.stop(keep_channels=True)  # one node down does not disturb the other
        until(lambda: not pool["bergen"].connected)
        assert pool["oslo"].connected and pool.api("oslo", f"uuid_exists {in_oslo.uuid}") == "true"
    finally:
        pool.stop()
        a.stop()
        b.stop()


# ------------------------------------------------------------------ a real process killed


def _simulator_process(port: int):
    import sys

    from gevent import subprocess
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from sentral.cli import main; sys.exit(main())",
                             "simulate", "--listen", f"127.0.0.1:{port}", "--password", PASSWORD],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith(f"listening 127.0.0.1:{port}"), line
    return proc


def test_simulator_process_killed_and_restarted_reconnects_with_no_hung_greenlet(resyncs, caplog):
    """The issue's acceptance check, with SIGKILL (no disconnect notice, just EOF)."""
    from tests.helpers import free_port
    caplog.set_level(logging.INFO, logger="esl")
    port = free_port()
    proc = _simulator_process(port)
    node = Node(NodeSpec("fs1", "127.0.0.1", port, PASSWORD), gevent.queue.Queue(), on_resync=resyncs,
                timeout=2.0, backoff=(0.05, 0.2)).start()
    try:
        assert node.wait_connected(10)
        proc.kill()
        proc.wait()
        until(lambda: "connection attempt failed" in caplog.text, timeout=10)  # refused while it is down
        with pytest.raises(ConnectionLost):
            node.api("status")
        proc = _simulator_process(port)
        until(lambda: len(resyncs.calls) == 2 and node.connected, timeout=15)
        assert "UP" in node.api("status")
        assert "disconnected" in caplog.text and "reconnecting in" in caplog.text
    finally:
        node.stop()
        proc.kill()
        proc.wait()

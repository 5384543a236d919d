"""Tier (e): the same Event Socket layer against a REAL FreeSWITCH 1.10+.

Runs only when SENTRAL_TEST_FREESWITCH names one as HOST:PORT:PASSWORD (configured with
freeswitch-conf/, or any FreeSWITCH whose `null` endpoint and `park` work); skips cleanly
otherwise. It never touches calls it did not create. The same tests can be pointed at
the simulator (`sentral simulate --listen 127.0.0.1:0 --password PW`) to check them.
"""
from __future__ import annotations

import os
import uuid

import pytest

from engine import effects as fx
from engine import events as ev
from esl import adapter, commands
from esl.channels import parse_show_channels
from esl.errors import CommandFailed
from esl.executor import Executor
from esl.node import NodePool, NodeSpec
from tests.helpers import until

TARGET = os.environ.get("SENTRAL_TEST_FREESWITCH", "")
pytestmark = [
    pytest.mark.freeswitch,
    pytest.mark.skipif(not TARGET, reason="set SENTRAL_TEST_FREESWITCH=HOST:PORT:PASSWORD to run against a real FreeSWITCH"),
]


@pytest.fixture
def node():
    host, port, password = TARGET.rsplit(":", 2)
    pool = NodePool([NodeSpec("real", host, int(port), password)]).start()
    try:
        assert pool.wait_connected(15), "could not connect and authenticate"
        yield pool
    finally:
        pool.stop()


def _events(pool, name, uuid_, timeout=10.0):
    seen = []

    def got():
        while not pool.inbox.empty():
            item = pool.inbox.get()
            seen.append(item.event)
        return [e for e in seen if e.name == name and e.unique_id == uuid_]
    return until(got, timeout=timeout, message=f"{name} for {uuid_}")


def test_status_and_show_channels_reply_shapes(node):
    assert "FreeSWITCH" in node.api("real", "status")
    parse_show_channels(node.api("real", "show channels as json"))


def test_originate_into_park_is_seen_as_a_parked_call_then_killed(node):
    leg = str(uuid.uuid4())
    reply = node.api("real", f"originate {{origination_uuid={leg},cc_tenant=sentral-test}}null/1234 &park()", 20)
    try:
        assert reply.strip() == f"+OK {leg}"
        parked = _events(node, "CHANNEL_PARK", leg)[0]
        call = adapter.translate("real", parked)
        assert isinstance(call, ev.CallParked) and call.tenant == "sentral-test"
        snap = adapter.snapshot_from_dump("real", node.api("real", commands.uuid_dump_json(leg)))
        assert snap.variables["cc_tenant"] == "sentral-test"
        assert node.api("real", f"uuid_exists {leg}").strip() == "true"
        # `show channels` lists a new channel 80-200 ms after it exists (FACTS.md "Timing facts" 11)
        until(lambda: leg in {row["uuid"] for row in parse_show_channels(node.api("real", "show channels as json"))},
              timeout=5, message=f"{leg} in show channels")
        node.api("real", commands.uuid_kill(leg))
        hangup = adapter.translate("real", _events(node, "CHANNEL_HANGUP", leg)[0])
        assert isinstance(hangup, ev.LegHungUp)
        assert node.api("real", f"uuid_exists {leg}").strip() == "false"
    finally:
        if reply.strip() == f"+OK {leg}" and node.api("real", f"uuid_exists {leg}").strip() == "true":
            node.api("real", commands.uuid_kill(leg))


def test_executor_effects_on_a_live_channel(node):
    leg = str(uuid.uuid4())
    node.api("real", f"originate {{origination_uuid={leg}}}null/4321 &park()", 20)
    posted = []
    ex = Executor(node, post=posted.append)
    ex.run(fx.SetVariables("real", leg, {"cc_queue": "q1", "cc_note": "a b;c"}))
    assert node.api("real", f"uuid_getvar {leg} cc_queue").strip() == "q1"
    assert node.api("real", f"uuid_getvar {leg} cc_note").strip() == "a b;c"
    ex.run(fx.Hangup("real", leg, "NORMAL_CLEARING"))
    _events(node, "CHANNEL_HANGUP", leg)
    with pytest.raises(CommandFailed):
        node.api("real", commands.uuid_kill(leg))
    assert posted == []


def test_failed_originate_becomes_leg_failed_with_the_cause(node):
    posted = []
    ex = Executor(node, post=posted.append)
    leg = str(uuid.uuid4())
    ex.run(fx.Originate("real", leg, "sentral-no-such-user-0000", "1", "test", 5))
    assert len(posted) == 1 and isinstance(posted[0], ev.LegFailed) and posted[0].cause

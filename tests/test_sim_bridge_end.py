"""The simulator: a call placed by the `bridge` application ends for both sides when the
far end hangs up (FreeSWITCH ends the bridge; the calling leg goes on with its dialplan and,
with nothing left, hangs up). A number transfer's target is such a call: the loopback B
leg bridges the phone, and the loopback A leg is what the engine bridges the caller to."""
from __future__ import annotations

import gevent

from esl.sim.server import Simulator
from tests.helpers import until

ROUTES = {"22001000": {"cc_tenant": "t", "cc_queue": "q", "park_after_bridge": "true"}}


def test_a_phone_hanging_up_ends_its_loopback_legs_and_the_caller_parks_again():
    sim = Simulator(password="pw", time_factor=0.01, heartbeat_interval=0, dialplan=ROUTES).start()
    try:
        sim.add_phone("22240001", "answer", ring=10, talk=50)        # 0.1 s ring, 0.5 s talk
        caller = sim.place_call("22001000")
        job = gevent.spawn(sim.api, "originate {origination_uuid=target-a}loopback/22240001/public &park()")
        assert job.get(timeout=5).startswith("+OK target-a")
        assert sim.api(f"uuid_bridge {caller.uuid} target-a").startswith("+OK")
        until(lambda: caller.bridged is not None and caller.bridged.uuid == "target-a", timeout=5)
        phone = next(ch for ch in sim.channels.values() if ch.name.startswith("sofia/external/22240001"))
        until(lambda: phone.uuid not in sim.channels, timeout=5, message="the phone's talk ends")
        until(lambda: [ch.name for ch in sim.channels.values()] == [caller.name], timeout=5,
              message=lambda: f"loopback legs left: {[ch.name for ch in sim.channels.values()]}")
        assert caller.bridged is None and not caller.hanging       # parked again (park_after_bridge)
    finally:
        sim.stop()

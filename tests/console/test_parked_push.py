"""The tenant's parked list reaches its consoles when it changes, not on every call change
(agent_ui.console_socket: it goes to every console of the tenant; BENCHMARKS.md console)."""
from __future__ import annotations

from engine import events as ev
from tests.console.conftest import NOW, login
from tests.helpers import until

NS = "/console"


def _console(app, socketio, user):
    client = app.test_client()
    login(client, user)
    return socketio.test_client(app, namespace=NS, flask_test_client=client)


class Pushes:
    """Every message the console received, by name (the test client's queue is read once)."""

    def __init__(self, sio):
        self.sio, self.by_name = sio, {}

    def __call__(self, name: str) -> list:
        for m in self.sio.get_received(NS):
            self.by_name.setdefault(m["name"], []).append(m["args"][0])
        return self.by_name.get(name, [])


def test_given_call_changes_that_leave_the_parked_list_as_it_was_then_it_is_sent_once_and_a_park_sends_it_again(pure):
    app, socketio, engine, inbox, _ = pure
    kari = _console(app, socketio, "kari")
    assert kari.emit("command", {"name": "login", "queues": ["helsedir-main"]}, namespace=NS, callback=True)["ok"]
    pushes = Pushes(kari)
    inbox(ev.CallParked("fs1", "c1", "22001000", "4722241600", "Ola", NOW, "helsedir", "helsedir-main"))
    until(lambda: pushes("parked"), message="the first parked list")
    inbox(ev.PlaybackFinished("fs1", "c1", "sentral/recording-notice.wav", NOW))     # offered to Kari
    ix = engine.calls[engine.by_leg["c1"]]
    leg = engine.agents["a1000"].leg
    assert leg and engine.agents["a1000"].state.value == "offered"
    inbox(ev.LegAnswered("fs1", leg, NOW))
    inbox(ev.LegParked("fs1", leg, NOW))
    inbox(ev.Bridged("fs1", "c1", leg, NOW))
    until(lambda: engine.calls[ix.id].bridged, message="bridged")
    # the pusher ran for each change (Kari's state went available -> offered -> on call), the list stayed empty
    until(lambda: any(s["agent"]["state"] == "on_call" for s in pushes("console")), message="on call pushed")
    assert len(pushes("console")) >= 3, "offered, on call: the pusher ran for each change"
    assert [p["calls"] for p in pushes("parked")] == [[]]

    assert kari.emit("command", {"name": "park"}, namespace=NS, callback=True)["ok"]
    until(lambda: len(pushes("parked")) == 2, message="the parked list after the park")
    assert pushes("parked")[-1]["tenant"] == "helsedir"
    assert [c["caller_display"] for c in pushes("parked")[-1]["calls"]] == ["22 24 16 00"]

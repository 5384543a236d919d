"""What one agency's supervisors and integrations see of another agency's calls: an agent
serving two agencies (bodil: nordlys and fjordvik) on a fjordvik call is seen by a nordlys
supervisor as busy, never with the caller; monitors of fjordvik calls stay fjordvik's; a
socket whose user is disabled or demoted, and an event stream whose token is revoked, are
dropped by the check that runs every few seconds (triggered here, no waiting)."""
from __future__ import annotations

import pytest

from engine import effects as fx
from tests.console.supervisor_fixtures import NS, World
from tests.helpers import until

FJORDVIK_CALLER = "4722241600"


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token(world, tenant: str, role: str) -> str:
    return world.store.create_token("t", tenant, role, "test")[1]


def bodil_on_a_fjordvik_call(world) -> None:
    world.login("bodil")
    world.talking("bodil", "c-fv", queue="fv", number=FJORDVIK_CALLER)


def test_given_an_agent_of_two_agencies_on_the_others_call_then_the_api_hides_the_caller(world):
    bodil_on_a_fjordvik_call(world)
    answer = world.app.test_client().get("/api/v1/tenants/nordlys/agents", headers=bearer(token(world, "nordlys",
                                                                                               "supervisor")))
    assert answer.status_code == 200
    bodil = next(a for a in answer.get_json()["agents"] if a["id"] == "bodil")
    assert bodil["state"] == "on_call"
    assert FJORDVIK_CALLER not in answer.get_data(as_text=True)
    assert "Per Ringer" not in answer.get_data(as_text=True)
    assert bodil["call"] == {"other_tenant": True}
    # fjordvik's own integration sees its caller
    theirs = world.app.test_client().get("/api/v1/tenants/fjordvik/agents",
                                         headers=bearer(token(world, "fjordvik", "operator"))).get_json()
    call = next(a for a in theirs["agents"] if a["id"] == "bodil")["call"]
    assert call["caller_number"] == FJORDVIK_CALLER and call["tenant"] == "fjordvik"


def listening_to_carl(world):
    world.login("carl")
    world.talking("carl", "c-fv", queue="fv", number=FJORDVIK_CALLER)
    siri = world.socket("siri")
    assert siri.emit("action", {"name": "listen", "agent": "carl"}, namespace=NS, callback=True) == {"ok": True}
    (eavesdrop,) = [e for e in world.s.effects if isinstance(e, fx.Eavesdrop)]
    from engine import events as ev
    world.inbox.send(ev.LegAnswered("fs1", eavesdrop.leg_uuid, world.s.now))
    return siri


def test_a_supervisor_of_one_agency_sees_no_monitor_of_the_other_agencys_call(world):
    listening_to_carl(world)
    tor = world.socket("tor")                    # nordlys only
    states = [m["args"][0] for m in tor.get_received(NS) if m["name"] == "supervisor"]
    assert states and states[-1]["monitors"] == []
    siri_again = world.socket("siri")
    states = [m["args"][0] for m in siri_again.get_received(NS) if m["name"] == "supervisor"]
    assert [(m["phone"], m["agent"]) for m in states[-1]["monitors"]] == [("siri", "carl")]


def test_a_token_of_one_agency_cannot_end_a_monitor_on_the_other_agencys_call(world):
    listening_to_carl(world)
    answer = world.app.test_client().delete("/api/v1/monitors/siri",
                                            headers=bearer(token(world, "nordlys", "supervisor")))
    assert answer.status_code == 403 and answer.get_json()["error"] == "action.denied"
    assert ("token:" in world.store.audit_entries()[-1].actor
            and world.store.audit_entries()[-1].action == "call.monitor_end.denied")
    ok = world.app.test_client().delete("/api/v1/monitors/siri", headers=bearer(token(world, "fjordvik", "supervisor")))
    assert ok.status_code == 202


# -- open channels after a revocation --------------------------------------------------------------

def test_a_disabled_users_open_supervisor_socket_is_dropped_at_the_next_check(world):
    siri, tor = world.socket("siri"), world.socket("tor")
    assert siri.is_connected(NS) and tor.is_connected(NS)
    world.store.set_active("siri", False)
    assert world.socketio.supervisor_recheck() == 1
    assert not siri.is_connected(NS)
    assert tor.is_connected(NS)                  # an unchanged user keeps their socket


def test_a_supervisor_demoted_while_connected_stops_getting_the_live_view(world):
    tor = world.socket("tor")
    world.store.set_roles("tor", [("nordlys", "operator")])
    world.socketio.supervisor_recheck()
    assert not tor.is_connected(NS)


def test_a_revoked_tokens_event_stream_is_dropped_at_the_next_check(world):
    kept, revoked = token(world, "nordlys", "operator"), token(world, "nordlys", "operator")
    a = world.socketio.test_client(world.app, namespace="/api/events", auth={"token": kept})
    b = world.socketio.test_client(world.app, namespace="/api/events", auth={"token": revoked})
    assert a.is_connected("/api/events") and b.is_connected("/api/events")
    world.store.revoke_token(int(revoked.split("_")[1]))
    assert world.socketio.api_events_recheck() == 1
    assert not b.is_connected("/api/events") and a.is_connected("/api/events")
    until(lambda: len(world.socketio.api_event_sockets) == 1, timeout=5)

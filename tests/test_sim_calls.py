"""Calls in the simulator: SIP users by script, the entry dialplan, traffic, media commands."""
from __future__ import annotations

import wave

import pytest

from esl.sim.rawclient import RawClient
from esl.sim.server import Simulator
from tests.helpers import until

ROUTES = {"22001000": {"cc_tenant": "helsedir", "cc_queue": "helsedir-main"}}


@pytest.fixture
def sim(tmp_path):
    s = Simulator(password="pw", time_factor=0.01, heartbeat_interval=0, dialplan=ROUTES,
                  recordings_root=str(tmp_path), prompts={"ivr/welcome.wav": 50}).start()
    yield s
    s.stop()


@pytest.fixture
def client(sim):
    c = RawClient("127.0.0.1", sim.port)
    assert c.reply("auth pw").reply_text == "+OK accepted"
    c.reply("event plain ALL")
    yield c
    c.close()


@pytest.mark.parametrize("action,reply", [
    ("answer", "+OK "), ("reject", "-ERR CALL_REJECTED\n"), ("busy", "-ERR USER_BUSY\n"),
])
def test_user_scripts_decide_the_originate_reply(client, sim, action, reply):
    sim.add_user("1000", action=action, ring=1)
    assert client.api("originate user/1000 &park()").startswith(reply)


def test_a_user_who_never_answers_gives_no_answer_after_originate_timeout(client, sim):
    sim.add_user("1000", action="noanswer")
    assert client.api("originate {originate_timeout=1}user/1000 &park()") == "-ERR NO_ANSWER\n"
    until(lambda: not sim.channels)


def test_unregistered_and_unknown_users(client, sim):
    sim.add_user("1000")
    sim.unregister("1000")
    assert client.api("originate user/1000 &park()") == "-ERR USER_NOT_REGISTERED\n"
    assert client.api("originate user/4444 &park()") == "-ERR SUBSCRIBER_ABSENT\n"
    assert client.api("sofia_contact 1000@127.0.0.1") == "error/user_not_registered"
    names = [e.name for e in client.events()]
    assert names.index("sofia::register") < names.index("sofia::unregister")


def test_an_answered_user_hangs_up_after_talk_time(client, sim):
    sim.add_user("1001", talk=5)
    uuid = client.api("originate user/1001 &park()")[4:].strip()
    hangup = client.wait_event("CHANNEL_HANGUP", uuid)
    assert hangup.get("Hangup-Cause") == "NORMAL_CLEARING"


def test_an_inbound_call_runs_the_entry_dialplan_and_parks_tagged(client, sim):
    ch = sim.place_call("22001000", "4791234567", "Kari")
    park = client.wait_event("CHANNEL_PARK", ch.uuid)
    assert park.get("Channel-Name").startswith("sofia/internal/4791234567@")
    assert park.get("Call-Direction") == "inbound"
    assert park.variable("cc_tenant") == "helsedir" and park.variable("cc_queue") == "helsedir-main"
    assert park.get("Caller-Destination-Number") == "22001000"
    assert client.api(f"uuid_getvar {ch.uuid} cc_queue") == "helsedir-main"


def test_an_unknown_number_is_refused_with_no_route(client, sim):
    ch = sim.place_call("99999999", "4791234567")
    assert client.wait_event("CHANNEL_HANGUP", ch.uuid).get("Hangup-Cause") == "NO_ROUTE_DESTINATION"


def test_agent_leg_bridged_to_the_caller_then_the_caller_hangs_up(client, sim):
    sim.add_user("1000", ring=1)
    caller = sim.place_call("22001000", "4791234567")
    client.wait_event("CHANNEL_PARK", caller.uuid)
    assert client.api(f"uuid_answer {caller.uuid}") == "+OK\n"
    agent = client.api(f"originate {{cc_caller_uuid={caller.uuid}}}user/1000 &park()")[4:].strip()
    assert client.api(f"uuid_bridge {caller.uuid} {agent}") == f"+OK {agent}\n"
    bridge = client.wait_event("CHANNEL_BRIDGE")
    assert (bridge.unique_id, bridge.get("Bridge-B-Unique-ID")) == (caller.uuid, agent)
    assert bridge.get("Other-Leg-Unique-ID") == agent
    assert len(client.events("CHANNEL_BRIDGE")) == 1
    sim.hangup(caller.uuid)
    client.wait_event("CHANNEL_HANGUP_COMPLETE", agent)
    assert client.events("CHANNEL_UNBRIDGE")


def test_transfer_to_another_extension_of_the_dialplan(client, sim):
    sim.add_user("1001")
    caller = sim.place_call("22001000", "4791234567")
    client.wait_event("CHANNEL_PARK", caller.uuid)
    assert client.api(f"uuid_transfer {caller.uuid} 1001 XML default") == "+OK\n"
    bridge = client.wait_event("CHANNEL_BRIDGE", caller.uuid)
    assert bridge.get("Other-Leg-Channel-Name").startswith("sofia/internal/1001@")


def test_broadcast_plays_for_the_prompt_time_and_break_stops_moh(client, sim):
    uuid = client.api("originate null/1 &park()")[4:].strip()
    assert client.api(f"uuid_broadcast {uuid} ivr/welcome.wav aleg") == "+OK Message sent\n"
    stop = client.wait_event("PLAYBACK_STOP", uuid)
    assert stop.get("Playback-Status") == "done" and stop.get("Playback-File-Path") == "ivr/welcome.wav"
    client.api(f"uuid_broadcast {uuid} local_stream://moh aleg")
    client.wait_event("PLAYBACK_START", uuid)
    assert len(client.events("PLAYBACK_STOP")) == 1  # music on hold plays until broken
    assert client.api(f"uuid_break {uuid} all") == "+OK\n"
    until(lambda: len(client.events("PLAYBACK_STOP")) == 2)
    assert client.events("PLAYBACK_STOP")[-1].get("Playback-Status") == "break"


def test_uuid_record_writes_a_real_wav_of_the_recorded_length(client, sim, tmp_path):
    uuid = client.api("originate null/1 &park()")[4:].strip()
    path = "/srv/recordings/call.wav"
    assert client.api(f"uuid_record {uuid} start {path}") == "+OK Success\n"
    client.wait_event("RECORD_START", uuid)
    import gevent
    gevent.sleep(0.3)  # the scenario: 0.3 s of recorded call
    assert client.api(f"uuid_record {uuid} stop {path}") == "+OK Success\n"
    assert client.api(f"uuid_record {uuid} stop all") == "-ERR Cannot stop record session!\n"
    with wave.open(str(tmp_path / "srv/recordings/call.wav")) as w:
        seconds = w.getnframes() / w.getframerate()
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
    assert 0.25 <= seconds < 5


def test_uuid_record_with_record_stereo_writes_two_channels_and_masks_only_a_running_file(client, sim, tmp_path):
    uuid = client.api("originate null/1 &park()")[4:].strip()
    path = "/srv/recordings/stereo.wav"
    assert client.api(f"uuid_setvar {uuid} RECORD_STEREO true").startswith("+OK")
    assert client.api(f"uuid_record {uuid} mask {path}") == "-ERR Cannot mask recording session!\n"
    assert client.api(f"uuid_record {uuid} start {path}") == "+OK Success\n"
    client.wait_event("RECORD_START", uuid)
    assert client.api(f"uuid_record {uuid} mask {path}") == "+OK Success\n"
    assert client.api(f"uuid_record {uuid} unmask {path}") == "+OK Success\n"
    assert client.api(f"uuid_record {uuid} unmask /srv/recordings/other.wav") == \
        "-ERR Cannot unmask recording session!\n"
    assert client.api(f"uuid_kill {uuid}").startswith("+OK")
    stop = client.wait_event("RECORD_STOP", uuid)           # the media bug closes with the channel
    assert stop.get("Record-File-Path") == path
    with wave.open(str(tmp_path / "srv/recordings/stereo.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)


def test_hold_and_unhold_events_and_moh_on_the_other_leg(client, sim):
    a = client.api("originate null/1 &park()")[4:].strip()
    b = client.api("originate null/2 &park()")[4:].strip()
    client.api(f"uuid_bridge {a} {b}")
    client.wait_event("CHANNEL_BRIDGE", a)
    assert client.api(f"uuid_hold {a}") == "+OK Success\n"
    client.wait_event("CHANNEL_HOLD", a)
    assert client.wait_event("PLAYBACK_START", b).get("Playback-File-Path") == "local_stream://moh"
    assert client.api(f"uuid_hold toggle {a}") == "+OK Success\n"
    client.wait_event("CHANNEL_UNHOLD", a)
    client.wait_event("PLAYBACK_STOP", b)


def test_poisson_callers_with_short_patience_abandon(sim):
    sim.add_user("1000", action="noanswer")
    traffic = sim.start_traffic("22001000", calls_per_minute=600, patience=5, talk=10, seed=7, limit=5)
    until(lambda: traffic.stats["abandoned"] == 5, timeout=10)
    assert traffic.stats["placed"] == 5 and traffic.stats["served"] == 0
    until(lambda: not sim.channels)


def test_show_channels_and_calls_as_json_follow_the_channels(client, sim):
    import json
    assert client.api("show calls as json") == '{"row_count": 0}\n'
    uuid = client.api("originate null/1 &park()")[4:].strip()
    rows = json.loads(client.api("show channels as json"))["rows"]
    assert rows[0]["uuid"] == uuid and rows[0]["application"] == "park"
    calls = json.loads(client.api("show calls as json"))["rows"]
    assert "b_uuid" in calls[0]
    assert client.api("hupall MANAGER_REQUEST") == "+OK hangup all channels with cause MANAGER_REQUEST\n"
    until(lambda: not sim.channels)


def test_scripted_callers_are_served_when_bridged_and_hang_up_after_talk(client, sim):
    sim.add_user("1000")
    sim.scripted_calls([{"at": 0, "destination": "22001000", "caller_number": "4711111111", "talk": 1}])
    park = client.wait_event("CHANNEL_PARK")
    caller = park.unique_id
    agent = client.api("originate user/1000 &park()")[4:].strip()
    client.api(f"uuid_bridge {caller} {agent}")
    hangup = client.wait_event("CHANNEL_HANGUP", caller)
    assert hangup.get("Hangup-Cause") == "NORMAL_CLEARING"
    client.wait_event("CHANNEL_HANGUP_COMPLETE", agent)


def test_sendmsg_executes_with_the_clients_event_uuid_as_application_uuid(client, sim):
    uuid = client.api("originate null/1 &park()")[4:].strip()
    app_uuid = "e0000000-0000-4000-8000-00000000a001"
    r = client.reply(f"sendmsg {uuid}", {"call-command": "execute", "execute-app-name": "set",
                                         "Event-UUID": app_uuid, "content-type": "text/plain"},
                     body="greeting=hello world")
    assert r.reply_text == "+OK"
    done = client.wait_event("CHANNEL_EXECUTE_COMPLETE", uuid)
    assert done.get("Application") == "set" and done.get("Application-UUID") == app_uuid
    assert client.api(f"uuid_getvar {uuid} greeting") == "hello world"
    client.reply(f"sendmsg {uuid}", {"call-command": "hangup", "hangup-cause": "USER_BUSY"})
    assert client.wait_event("CHANNEL_HANGUP", uuid).get("Hangup-Cause") == "USER_BUSY"


def test_outbound_socket_call_gets_channel_data_on_connect(sim):
    import gevent.server

    got = []

    def handle(sock, _addr):
        c = RawClient.from_socket(sock)
        got.append(c.reply("connect"))
        got.append(c.reply("myevents"))
        got.append(c.reply("sendmsg", {"call-command": "execute", "execute-app-name": "answer"}))
        c.wait_event("CHANNEL_ANSWER")
        c.wait_eof()

    server = gevent.server.StreamServer(("127.0.0.1", 0), handle)
    server.start()
    try:
        ch = sim.outbound_call("7000", ("127.0.0.1", server.server_port), caller_number="5551000")
        until(lambda: len(got) == 3)
        data = got[0]
        assert data.headers["Event-Name"] == "CHANNEL_DATA" and data.headers["Unique-ID"] == ch.uuid
        assert data.headers["Reply-Text"] == "%2BOK%0A" and data.headers["Socket-Mode"] == "async"
        assert [f.reply_text for f in got[1:]] == ["+OK Events Enabled", "+OK"]
        until(lambda: ch.answer_state == "answered")
        sim.hangup(ch.uuid)
        until(lambda: not sim.channels)
    finally:
        server.stop()

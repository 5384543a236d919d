"""The simulator's call control over TCP, as the real switch behaves (tests/data/esl-corpus
13-16): hold, DTMF out, conference rooms, moving a bridged leg, numbers with behaviours
(transfer targets), auto-answer, and our own commands read back intact."""
from __future__ import annotations

import pytest

from engine import effects as fx
from esl import commands
from esl.executor import plan
from esl.sim import conference, phones
from esl.sim.rawclient import RawClient
from esl.sim.server import Simulator
from tests.helpers import until

ROUTES = {"22001000": {"cc_tenant": "fjordvik", "cc_queue": "fjordvik-main", "park_after_bridge": "true"}}
MISSING = "00000000-0000-0000-0000-000000000000"


def start(**kw) -> Simulator:
    return Simulator(password="pw", time_factor=0.01, heartbeat_interval=0, dialplan=ROUTES, **kw).start()


@pytest.fixture
def sim():
    s = start()
    yield s
    s.stop()


@pytest.fixture
def client(sim):
    c = RawClient("127.0.0.1", sim.port)
    assert c.reply("auth pw").reply_text == "+OK accepted"
    c.reply("event plain ALL")
    yield c
    c.close()


def parked_caller(sim, client, number="4791234567"):
    ch = sim.place_call("22001000", number)
    client.wait_event("CHANNEL_PARK", ch.uuid)
    assert client.api(f"uuid_answer {ch.uuid}") == "+OK\n"
    return ch.uuid


def agent_leg(sim, client, ext, variables=""):
    sim.add_user(ext)
    reply = client.api(f"originate {{{variables}}}user/{ext} &park()" if variables else f"originate user/{ext} &park()")
    assert reply.startswith("+OK "), reply
    return reply[4:].strip()


def bridged_pair(sim, client, ext="1000", variables=""):
    a = parked_caller(sim, client)
    b = agent_leg(sim, client, ext, variables)
    client.api(f"uuid_bridge {a} {b}")
    client.wait_event("CHANNEL_BRIDGE", a)
    return a, b


def test_given_a_held_leg_when_held_again_or_a_free_one_released_then_operation_failed(sim, client):
    a, b = bridged_pair(sim, client)
    assert client.api(f"uuid_hold {b}") == "+OK Success\n"
    assert client.api(f"uuid_hold {b}") == "-ERR Operation failed\n"
    assert client.api(f"uuid_hold off {b}") == "+OK Success\n"
    assert client.api(f"uuid_hold off {b}") == "-ERR Operation failed\n"
    assert client.api(f"uuid_hold {MISSING}") == "+OK Success\n"       # corpus 13: a missing uuid "succeeds"
    assert client.api(f"uuid_hold off {MISSING}") == "+OK Success\n"
    assert client.api("uuid_hold") == "-USAGE: [off|toggle] <uuid> [<display>]\n-ERR Operation failed\n"


def test_given_the_operator_leg_held_then_the_caller_hears_its_hold_music_until_released(sim, client):
    a, b = bridged_pair(sim, client)
    sim.channels[b].variables["hold_music"] = "tone_stream://%(1000,4000,425);loops=-1"
    client.api(commands.uuid_hold(b))
    assert client.wait_event("CHANNEL_HOLD", b).get("Channel-Call-State") == "HELD"
    start_ = client.wait_event("PLAYBACK_START", a)
    assert start_.get("Playback-File-Path") == "tone_stream://%(1000,4000,425);loops=-1"
    client.api(commands.uuid_hold(b, on=False))
    client.wait_event("CHANNEL_UNHOLD", b)
    client.wait_event("PLAYBACK_STOP", a)
    assert sim.channels[a].bridged is sim.channels[b]            # still talking afterwards


def test_given_a_parked_caller_held_then_hold_events_and_no_music(sim, client):
    a = parked_caller(sim, client)
    client.api(f"uuid_hold {a}")
    client.wait_event("CHANNEL_HOLD", a)
    client.api(f"uuid_hold off {a}")
    client.wait_event("CHANNEL_UNHOLD", a)
    assert not client.events("PLAYBACK_START")


def test_send_dtmf_replies_as_freeswitch_and_reaches_the_far_end_only(sim, client):
    a, b = bridged_pair(sim, client)
    assert client.api(commands.uuid_send_dtmf(b, "123#")) == f"+OK {b} sent DTMF 123#.\n"
    assert client.api(f"uuid_send_dtmf {b} x") == "-ERR Operation failed\n"
    assert client.api(f"uuid_send_dtmf {MISSING} 1") == "-ERR Cannot locate session!\n"
    assert client.api(f"uuid_send_dtmf {b}") == "-USAGE: <uuid> <dtmf_data>\n"
    assert sim.channels[b].dtmf_sent == "123#"
    assert not client.events("DTMF")


def test_given_three_legs_moved_inline_into_a_room_when_one_leaves_then_the_others_stay(sim, client):
    legs = [parked_caller(sim, client, f"47900000{i}") for i in range(3)]
    for leg in legs:
        assert client.api(commands.conference_move(leg, "ix-1")) == "+OK\n"
    until(lambda: len(conference.members(sim.switch, "ix-1")) == 3)
    adds = [e for e in client.events("conference::maintenance") if e.get("Action") == "add-member"]
    assert [e.get("Unique-ID") for e in adds] == legs
    executes = [e for e in client.events("CHANNEL_EXECUTE") if e.get("Unique-ID") == legs[0]]
    assert executes[-1].get("Application") == "conference" and executes[-1].get("Application-Data") == "ix-1@default"
    assert sim.channels[legs[0]].profile["destination"] == "22001000"     # inline keeps the dialled number
    client.api(f"uuid_kill {legs[1]}")
    until(lambda: conference.members(sim.switch, "ix-1") == [legs[0], legs[2]])
    assert all(not sim.channels[leg].hanging for leg in (legs[0], legs[2]))
    client.api(f"uuid_kill {legs[0]}")
    client.api(f"uuid_kill {legs[2]}")
    until(lambda: any(e.get("Action") == "conference-destroy" for e in client.events("conference::maintenance")))
    assert conference.members(sim.switch, "ix-1") == []


def test_given_a_consult_when_the_executor_conferences_caller_operator_and_target_then_nobody_is_lost(sim, client):
    caller, operator = bridged_pair(sim, client)          # the operator leg has no park_after_bridge
    target = agent_leg(sim, client, "1001")
    for command in plan(fx.Conference("sim", (caller, operator, target), "ix-2")):
        assert client.api(command.text).startswith("+OK")
    until(lambda: sorted(conference.members(sim.switch, "ix-2")) == sorted([caller, operator, target]))
    assert not client.events("CHANNEL_HANGUP")


def test_given_a_caller_bridged_to_the_operator_when_bridged_to_a_target_then_the_operator_leg_hangs_up(sim, client):
    caller, operator = bridged_pair(sim, client)
    target = agent_leg(sim, client, "1001")
    client.api(f"uuid_bridge {caller} {target}")
    assert client.wait_event("CHANNEL_HANGUP", operator).get("Hangup-Cause") == "NORMAL_CLEARING"
    until(lambda: sim.channels[caller].bridged is sim.channels.get(target))


def test_given_the_moved_leg_parks_after_bridge_then_it_parks_instead(sim, client):
    caller, operator = bridged_pair(sim, client, variables="park_after_bridge=true")
    target = agent_leg(sim, client, "1001")
    client.api(f"uuid_bridge {caller} {target}")
    client.wait_event("CHANNEL_PARK", operator)
    assert not sim.channels[operator].hanging


def test_given_the_operator_leg_hung_up_then_a_caller_marked_park_after_bridge_parks(sim, client):
    caller, operator = bridged_pair(sim, client)
    first_park = len(client.events("CHANNEL_PARK"))
    client.api(f"uuid_kill {operator}")
    client.wait_event("CHANNEL_UNBRIDGE", caller)
    until(lambda: len([e for e in client.events("CHANNEL_PARK") if e.get("Unique-ID") == caller]) == 2)
    assert len(client.events("CHANNEL_PARK")) > first_park and not sim.channels[caller].hanging


@pytest.mark.parametrize("action,timeout,reply", [
    ("busy", 15, "-ERR USER_BUSY\n"), ("reject", 15, "-ERR CALL_REJECTED\n"),
    ("noanswer", 1, "-ERR NO_ANSWER\n"), ("unregistered", 15, "-ERR USER_NOT_REGISTERED\n"),
])
def test_given_a_number_with_a_behaviour_when_dialled_through_loopback_then_its_cause(sim, client, action, timeout, reply):
    sim.add_phone("22241601", action)
    command = commands.originate_number("0c9b5325-a3a8-4d9a-bb57-a6d4f98ed001", "22241601", caller_id_number="21070000",
                                        caller_id_name="Fjordvik kommune", timeout=timeout)
    assert client.api(command) == reply
    until(lambda: not sim.channels)


def test_given_an_answering_number_when_dialled_then_the_loopback_leg_parks_for_the_bridge(sim, client):
    sim.add_phone("22241600", "answer", ring=10)
    caller = parked_caller(sim, client)
    leg = "a4d7c967-9b66-4b6a-bfc4-48db3003caf8"
    command = commands.originate_number(leg, "22241600", caller_id_number="4791234567", caller_id_name="Kari",
                                        timeout=15, variables={"cc_caller_uuid": caller})
    assert client.api(command) == f"+OK {leg}\n"
    park = client.wait_event("CHANNEL_PARK", leg)
    assert park.get("variable_cc_caller_uuid") == caller and park.get("variable_loopback_bowout") == "false"
    client.api(f"uuid_bridge {caller} {leg}")
    client.wait_event("CHANNEL_BRIDGE", caller)
    assert client.api(commands.originate_number(leg[:-1] + "9", "55555555", caller_id_number="1", caller_id_name="x",
                                                timeout=5)) == "-ERR NO_ROUTE_DESTINATION\n"


def test_given_an_auto_answer_phone_then_sip_auto_answer_answers_it_and_uuid_answer_does_not(sim, client):
    sim.add_user("1000", ring=500, auto_answer=True)
    reply = client.api("originate {originate_timeout=20,sip_auto_answer=true}user/1000 &park()")
    assert reply.startswith("+OK ")                         # at once, not after 5 s of ringing
    client.send("bgapi originate {origination_uuid=5e1a0000-0000-4000-8000-000000000001}user/1000 &park()")
    leg = "5e1a0000-0000-4000-8000-000000000001"
    client.wait_event("CHANNEL_PROGRESS", leg)
    assert client.api(f"uuid_answer {leg}") == "+OK\n"      # FreeSWITCH: a no-op on an outbound leg
    assert sim.channels[leg].answer_state == "ringing"
    client.api(f"uuid_kill {leg}")


def test_given_a_remote_answer_phone_ringing_when_uuid_phone_event_talk_then_it_answers(sim, client):
    sim.add_user("1000", ring=5000, auto_answer=True)      # 50 s of ringing, the client waits 5 s at most
    leg = "5e1a0000-0000-4000-8000-000000000002"
    client.send(f"bgapi {plan(fx.Originate('fs1', leg, '1000', '1', 'x', 20))[0].text}")
    client.wait_event("CHANNEL_PROGRESS", leg)
    assert client.api(plan(fx.PhoneEvent("fs1", leg, "talk"))[0].text) == "+OK Success\n"
    client.wait_event("CHANNEL_ANSWER", leg)                # long before its ringing would end
    client.wait_event("CHANNEL_PARK", leg)                  # the originate goes on into &park()
    assert sim.channels[leg].answer_state == "answered"
    client.api(f"uuid_kill {leg}")


def test_given_a_phone_without_remote_answer_when_uuid_phone_event_talk_then_it_rings_on(sim, client):
    sim.add_user("1000", ring=500)
    leg = "5e1a0000-0000-4000-8000-000000000003"
    client.send(f"bgapi {plan(fx.Originate('fs1', leg, '1000', '1', 'x', 20))[0].text}")
    client.wait_event("CHANNEL_PROGRESS", leg)
    assert client.api(f"uuid_phone_event {leg} talk") == "+OK Success\n"   # the NOTIFY is sent, and ignored
    assert sim.channels[leg].answer_state == "ringing"
    assert client.api(f"uuid_phone_event {MISSING} talk") == "-ERR Operation failed\n"
    client.api(f"uuid_kill {leg}")


NAMES = ["Åse Sørli-Ærø", "Hansen, Kari", "O'Brien", "Evil} &bridge(sofia/gw/x)", "${system(id)}", "x\nsendmsg"]


@pytest.mark.parametrize("name", NAMES)
def test_given_any_caller_name_when_ringing_an_agent_then_the_phone_shows_it_intact_and_nothing_else_runs(sim, client, name):
    sim.add_user("1000")
    leg = "7e2a0000-0000-4000-8000-000000000001"
    command = commands.originate_user(leg, "1000", caller_id_number="4791234567", caller_id_name=name,
                                      timeout=10, variables={"cc_caller_uuid": "c1", "cc_caller_name": name})
    assert client.api(command) == f"+OK {leg}\n"
    ch = sim.channels[leg]
    expected = commands.originate_value(name).strip("'").replace("\\,", ",")
    assert ch.profile["caller_name"] == expected == ch.variables["cc_caller_name"]
    assert not any(k.startswith(("execute", "api_", "bridge")) for k in ch.variables)
    assert [e.get("Application") for e in client.events("CHANNEL_EXECUTE") if e.get("Unique-ID") == leg] == ["park"]


def test_employee_phones_are_reproducible_with_one_busy_and_some_never_answering():
    numbers = phones.numbers_from_persons("sync/examples/persons.csv")
    table = phones.behaviours(numbers)
    assert table == phones.behaviours(reversed(numbers))
    actions = [a for a, _ in table.values()]
    assert actions.count("busy") == 1 and actions.count("unregistered") == 1
    assert actions.count("noanswer") >= 2 and actions.count("answer") > len(actions) / 2
    assert "22241600" in table and phones.dialled("+47 915 55 001") == "+4791555001"


def test_employee_phones_ring_through_the_simulator(sim, client):
    table = phones.add_employee_phones(sim, ["22 24 16 00", "22 24 16 01"])
    number = next(n for n, (a, _) in table.items() if a == "answer")
    command = commands.originate_number("1b2c0000-0000-4000-8000-000000000001", "+47" + number,
                                        caller_id_number="1", caller_id_name="x", timeout=30)
    assert client.api(command).startswith("+OK ")


def test_in_chaos_mode_a_target_bridged_on_its_answer_is_bridged_whatever_the_job_says():
    sim = start(chaos=11)
    try:
        client = RawClient("127.0.0.1", sim.port)
        client.reply("auth pw")
        client.reply("event plain ALL")
        for i in range(4):
            sim.add_user(f"10{i:02d}", ring=20)
            caller = parked_caller(sim, client, f"4790000{i:03d}")
            leg = f"c4a05000-0000-4000-8000-00000000000{i}"
            client.send(f"bgapi {commands.originate_user(leg, f'10{i:02d}', caller_id_number='1', caller_id_name='x', timeout=10)}")
            client.wait_event("CHANNEL_ANSWER", leg)
            client.api(f"uuid_bridge {caller} {leg}")        # on the answer: races the job (corpus 09)
            client.wait_event("CHANNEL_BRIDGE", caller, timeout=3)
            client.api(commands.uuid_hold(leg))
            client.wait_event("CHANNEL_HOLD", leg)
            client.api(commands.uuid_hold(leg, on=False))
            for command in plan(fx.Conference("sim", (caller, leg), f"chaos-{i}")):
                client.api(command.text)
            until(lambda: len(conference.members(sim.switch, f"chaos-{i}")) == 2, timeout=3)
        client.close()
    finally:
        sim.stop()

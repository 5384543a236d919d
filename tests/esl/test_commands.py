"""The one command builder: escaping of caller-controlled text, refusal of unsafe tokens."""
from __future__ import annotations

import re

import pytest

from engine import effects as fx
from esl import commands
from esl.errors import InvalidCommand, LocalError
from esl.executor import plan

LEG = "8b1f3c1e-1d1c-4c43-9b7e-0d1e2f3a4b5c"
CALLER = "1e8e5764-9561-4617-8e4c-0d88297feae3"


def test_given_caller_name_with_commas_and_braces_when_originating_then_variables_cannot_break_out():
    cmd = commands.originate_user(LEG, "1001", caller_id_number="+4722001000",
                                  caller_id_name="Evil, Name} &bridge(x) 'q'", timeout=20,
                                  variables={"cc_caller_uuid": CALLER})
    head, _, tail = cmd.partition("}user/")
    assert tail == "1001 &park()"
    assert head.count("{") == 1 and "}" not in head
    assert "Evil\\, Name) &bridge(x) \u2019q\u2019" in head
    assert f"cc_caller_uuid={CALLER}" in head
    assert f"origination_uuid={LEG}" in head


@pytest.mark.parametrize("bad", ["a b", "x\nuuid_kill y", "", "a;b", "../etc"])
def test_given_unsafe_token_when_building_then_local_error(bad):
    with pytest.raises(LocalError):
        commands.uuid_kill(bad)


def test_given_invalid_cause_when_hanging_up_then_invalid_command():
    with pytest.raises(InvalidCommand):
        commands.uuid_kill(LEG, "normal clearing")


def test_given_values_with_separators_when_setting_vars_then_split_safely():
    cmds = commands.uuid_setvar_multi(CALLER, {"cc_tenant": "helsedir", "cc_note": "a;b c", "cc_q": "q1"})
    assert cmds[0] == f"uuid_setvar_multi {CALLER} cc_tenant=helsedir;cc_q=q1"
    assert cmds[1] == f"uuid_setvar {CALLER} cc_note a;b c"


def test_given_file_prompt_with_loop_then_endless_playback_and_streams_untouched():
    assert commands.uuid_broadcast(CALLER, "/snd/moh.wav", loop=True).endswith("endless_playback::/snd/moh.wav aleg")
    assert commands.uuid_broadcast(CALLER, "local_stream://moh", loop=True).endswith(" local_stream://moh aleg")
    assert commands.uuid_broadcast(CALLER, "/snd/notice.wav") == f"uuid_broadcast {CALLER} /snd/notice.wav aleg"


def test_plan_maps_every_call_control_effect():
    effects = [
        fx.Originate("fs1", LEG, "1001", "+47", "Helsedir", 20, {"cc_caller_uuid": CALLER}),
        fx.Bridge("fs1", CALLER, LEG), fx.Play("fs1", CALLER, "/a.wav"), fx.StopPlayback("fs1", CALLER),
        fx.Hangup("fs1", LEG, "ORIGINATOR_CANCEL"), fx.SetVariables("fs1", CALLER, {"cc_x": "1"}),
        fx.Answer("fs1", CALLER), fx.Transfer("fs1", CALLER, "1234"),
        fx.StartRecording("fs1", CALLER, "/rec/a.wav"), fx.StopRecording("fs1", CALLER, "/rec/a.wav"),
        fx.Hold("fs1", LEG), fx.SendDigits("fs1", LEG, "12#"), fx.Conference("fs1", (CALLER,), "r1"),
        fx.PhoneEvent("fs1", LEG, "talk"),
        fx.Eavesdrop("fs1", LEG, "1002", CALLER, "whisper", "1000", "Alice", 30),
        fx.EavesdropMode("fs1", LEG, "barge"), fx.MaskRecording("fs1", CALLER, "/rec/a.wav", True),
    ]
    assert {type(e) for e in effects} == set(fx.CALL_CONTROL)
    texts = [c.text.split()[0] for e in effects for c in plan(e)]
    assert texts == ["originate", "uuid_bridge", "uuid_broadcast", "uuid_break", "uuid_kill",
                     "uuid_setvar_multi", "uuid_answer", "uuid_transfer", "uuid_setvar", "uuid_record",
                     "uuid_record", "uuid_hold", "uuid_send_dtmf", "uuid_setvar", "uuid_transfer",
                     "uuid_phone_event", "originate", "uuid_recv_dtmf", "uuid_record"]
    assert plan(effects[0])[0].background
    assert [c.text for c in plan(effects[8])] == [f"uuid_setvar {CALLER} RECORD_STEREO true",
                                                  f"uuid_record {CALLER} start /rec/a.wav"]
    assert [c.text for c in plan(effects[-1])] == [f"uuid_record {CALLER} mask /rec/a.wav"]
    assert plan(fx.MaskRecording("fs1", CALLER, "/rec/a.wav", False))[0].text == f"uuid_record {CALLER} unmask /rec/a.wav"


def test_given_callback_effect_then_number_dialled_through_the_dialplan_into_park():
    effect = fx.Originate("fs1", LEG, "", "+4721000100", "Helsedir", 30, {"cc_caller_uuid": CALLER},
                          destination="+4791234567")
    text = plan(effect)[0].text
    assert text.endswith("}loopback/+4791234567/public &park()") and f"origination_uuid={LEG}" in text
    with pytest.raises(InvalidCommand):
        commands.originate_number(LEG, "91 23; uuid_kill x", caller_id_number="1", caller_id_name="x", timeout=5)


def test_given_backslashes_in_caller_name_then_no_escape_reaches_the_variable_list():
    name = "Ola \\,execute_on_answer=x y\\"          # Ola \,execute_on_answer=x y\
    head = commands.originate_user(LEG, "1001", caller_id_number="1", caller_id_name=name,
                                   timeout=20).partition("}user/")[0]
    assert re.findall(r"\\(?!,)", head) == []          # only our own "\," escapes remain
    assert re.search(r"(?<!\\),execute_on_answer=", head) is None   # comma escaped: no new variable
    assert "\\" not in commands.uuid_setvar(LEG, "cc_note", "a\\b")


def test_the_consoles_answer_is_a_talk_event_to_the_ringing_legs_phone():
    assert plan(fx.PhoneEvent("fs1", LEG, "talk"))[0].text == f"uuid_phone_event {LEG} talk"
    assert commands.uuid_phone_event(LEG, "hold") == f"uuid_phone_event {LEG} hold"


@pytest.mark.parametrize("uuid, event", [
    (LEG + " talk", "talk"), (LEG + "\nuuid_kill x", "talk"), ("", "talk"), (f"{LEG};x", "talk"),
    (LEG, "talk\napi uuid_kill all"), (LEG, "talk x"), (LEG, "answer"), (LEG, ""), (LEG, "TALK"),
])
def test_given_an_unsafe_leg_or_event_when_sending_a_phone_event_then_never_built(uuid, event):
    with pytest.raises(InvalidCommand):
        commands.uuid_phone_event(uuid, event)


# -- supervisor monitoring (engine/monitor.py) --------------------------------------------------
def test_eavesdrop_originates_into_the_eavesdrop_app_with_dtmf_switches_and_start_mode():
    from esl import commands

    text = plan(fx.Eavesdrop("fs1", LEG, "1002", CALLER, "whisper", "1000", "Alice", 30,
                             {"cc_monitor": CALLER}))[0].text
    assert text.endswith(f"user/1002 &eavesdrop({CALLER})")
    assert "eavesdrop_enable_dtmf=true" in text and "eavesdrop_whisper_bleg=true" in text
    assert "eavesdrop_whisper_aleg" not in text
    assert "eavesdrop_whisper_aleg=true" in commands.originate_eavesdrop(
        LEG, "1002", CALLER, "barge", caller_id_number="1", caller_id_name="A", timeout=30)
    assert [plan(fx.EavesdropMode("fs1", LEG, m))[0].text for m in ("listen", "whisper", "barge")] == \
        [f"uuid_recv_dtmf {LEG} 0", f"uuid_recv_dtmf {LEG} 2", f"uuid_recv_dtmf {LEG} 3"]


@pytest.mark.parametrize("bad", ["a b", "x'y", "x}&park()", "{a=b}", "1002 &bridge(user/1)", "a\nb", "a,b"])
def test_eavesdrop_ids_with_spaces_quotes_braces_never_change_the_command(bad):
    from esl.errors import InvalidCommand

    for effect in (fx.Eavesdrop("fs1", LEG, bad, CALLER, "listen", "1", "A", 30),
                   fx.Eavesdrop("fs1", LEG, "1002", bad, "listen", "1", "A", 30),
                   fx.Eavesdrop("fs1", bad, "1002", CALLER, "listen", "1", "A", 30),
                   fx.EavesdropMode("fs1", bad, "listen"), fx.EavesdropMode("fs1", LEG, bad)):
        with pytest.raises(InvalidCommand):
            plan(effect)
    # free text (a supervisor's or agent's name) only travels escaped inside the variable block
    text = plan(fx.Eavesdrop("fs1", LEG, "1002", CALLER, "listen", "1", bad, 30, {"cc_supervisor": bad}))[0].text
    assert text.endswith(f"user/1002 &eavesdrop({CALLER})") and text.count("}") == 1 and "\n" not in text

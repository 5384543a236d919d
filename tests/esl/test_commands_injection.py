"""Nothing a caller, an operator or a directory entry types can inject into a FreeSWITCH
command: targets are refused (InvalidCommand), free text is carried harmlessly.

"Harmless" is checked by reading our commands back the way FreeSWITCH reads them
(esl/sim/fsparse.py, written from switch_separate_string / switch_event_create_brackets):
exactly our variables, the endpoint and the application unchanged, the name intact.
"""
from __future__ import annotations

import pytest

from engine import effects as fx
from esl import commands
from esl.errors import InvalidCommand
from esl.executor import plan
from esl.sim import fsparse

LEG = "8b1f3c1e-1d1c-4c43-9b7e-0d1e2f3a4b5c"
CALLER = "1e8e5764-9561-4617-8e4c-0d88297feae3"

HOSTILE = [
    "1000 &bridge(sofia/gw/x)",
    "1000\nsendmsg",
    "1000\r\napi uuid_kill all",
    "1000{x=y}",
    "1,2",
    "1000'x",
    "${system(touch /tmp/x)}",
    "%0a",
    "1000%0auuid_kill",
    "1000 XML default",
    "user/1000",
    "",
    "1000;uuid_kill x",
    "1000|1001",
    "1000[x=y]",
    "1000<x=y>",
    "\\1000",
]


def read_back(command: str) -> tuple[str, dict[str, str], str, list[str]]:
    """(api name, variables, endpoint, the remaining words) as FreeSWITCH would see them."""
    name, _, argument = command.partition(" ")
    words = fsparse.words(argument)
    variables, endpoint = fsparse.blocks(words[0])
    return name, variables, endpoint, words[1:]


@pytest.mark.parametrize("target", HOSTILE)
def test_given_hostile_number_when_dialling_it_then_refused(target):
    with pytest.raises(InvalidCommand):
        commands.originate_number(LEG, target, caller_id_number="1", caller_id_name="x", timeout=5)


@pytest.mark.parametrize("target", HOSTILE + ["1000@evil.example", "1000@127.0.0.1"])
def test_given_hostile_extension_when_ringing_it_then_refused(target):
    with pytest.raises(InvalidCommand):
        commands.originate_user(LEG, target, caller_id_number="1", caller_id_name="x", timeout=5)


@pytest.mark.parametrize("context", ["public default", "public\n", "x,y", "${x}", "a/b"])
def test_given_hostile_context_when_dialling_then_refused(context):
    with pytest.raises(InvalidCommand):
        commands.originate_number(LEG, "4791234567", caller_id_number="1", caller_id_name="x",
                                  timeout=5, context=context)


@pytest.mark.parametrize("digits", ["1@500", "1w2", "12 uuid_kill", "1\n", "", "1" * 33, "e", "1,2", "${x}"])
def test_given_hostile_dtmf_when_sending_then_refused(digits):
    with pytest.raises(InvalidCommand):
        commands.uuid_send_dtmf(LEG, digits)


@pytest.mark.parametrize("room", ["r1 &bridge(x)", "r1,hangup", "r1:x", "r1@other", "r\n", "", "r{1}", "r'1"])
def test_given_hostile_room_when_moving_to_conference_then_refused(room):
    with pytest.raises(InvalidCommand):
        commands.conference_move(LEG, room)


@pytest.mark.parametrize("uuid", HOSTILE)
def test_given_hostile_uuid_when_holding_or_sending_digits_then_refused(uuid):
    with pytest.raises(InvalidCommand):
        commands.uuid_hold(uuid)
    with pytest.raises(InvalidCommand):
        commands.uuid_send_dtmf(uuid, "1")


def test_given_valid_values_then_the_commands_are_freeswitchs_syntax():
    assert commands.uuid_hold(LEG) == f"uuid_hold {LEG}"
    assert commands.uuid_hold(LEG, on=False) == f"uuid_hold off {LEG}"
    assert commands.uuid_send_dtmf(LEG, "0123456789*#ABCDabcd") == f"uuid_send_dtmf {LEG} 0123456789*#ABCDabcd"
    assert commands.conference_move(LEG, "ix-42_a") == f"uuid_transfer {LEG} conference:ix-42_a@default inline"
    text = commands.originate_number(LEG, "+4791234567", caller_id_number="1", caller_id_name="x",
                                     timeout=5, context="")
    assert text.endswith("}loopback/+4791234567/public &park()")


NAMES = [
    "Kari Nordmann",
    "Hansen, Kari",
    "O'Brien, Åse",
    "Bjørn Ærlig-Øvre",
    "ÆØÅ æøå",
    "Evil} &bridge(sofia/gw/x)",
    "x,execute_on_answer=system rm",
    "${system(touch /tmp/pwned)}",
    "line\nsendmsg",
    "%0aapi uuid_kill all",
    "tab\tback\\slash",
    "'quoted'",
    '"dq" <sip:x@y>',
    "[a=b]{c=d}<e=f>",
    "^^:a=b:c=d",
    "   ",
]


def expected_name(name: str) -> str:
    """What the phone shows: the name with the few characters FreeSWITCH would read
    replaced by look-alikes; letters, spaces, commas and unicode untouched."""
    out = "".join(c for c in name if c >= " " and c != "\x7f")
    for a, b in (("\\", "/"), ("$", "\uff04"), ("'", "\u2019"), ("{", "("), ("}", ")"), ("[", "("), ("]", ")")):
        out = out.replace(a, b)
    return out.strip()


@pytest.mark.parametrize("name", NAMES)
def test_given_any_caller_name_when_originating_then_it_arrives_intact_and_adds_nothing(name):
    command = commands.originate_user(LEG, "1001", caller_id_number="+4722001000", caller_id_name=name,
                                      timeout=20, variables={"cc_caller_uuid": CALLER, "cc_note": name})
    api, variables, endpoint, rest = read_back(command)
    assert api == "originate" and endpoint == "user/1001" and rest == ["&park()"]
    assert set(variables) - {"origination_caller_id_name", "cc_note"} == {"origination_uuid", "origination_caller_id_number",
                              "originate_timeout", "ignore_early_media", "hangup_after_bridge",
                              "cc_caller_uuid"}
    shown = expected_name(name)
    if not shown:  # `name=` with nothing after it: FreeSWITCH drops the item, the phone shows its default
        assert "origination_caller_id_name" not in variables and "cc_note" not in variables
        return
    assert variables["origination_caller_id_name"] == shown
    assert variables["cc_note"] == shown
    assert variables["origination_uuid"] == LEG and variables["cc_caller_uuid"] == CALLER
    assert "\n" not in command and "\r" not in command and "${" not in command


@pytest.mark.parametrize("name", NAMES)
def test_given_any_caller_name_when_set_as_a_variable_then_one_line_one_value(name):
    for command in commands.uuid_setvar_multi(CALLER, {"cc_caller_name": name, "cc_tenant": "fjordvik"}):
        assert "\n" not in command and "${" not in command
        words = command.split(" ", 3)
        assert words[1] == CALLER
        if words[0] == "uuid_setvar":  # the value is the rest of the line, as FreeSWITCH reads it
            assert words[2] == "cc_caller_name" and words[3] == commands.clean_text(name)
            assert words[3] == "".join(c for c in name if c >= " ").replace("\\", "/").replace("$", "\uff04").strip()


def test_given_plain_quotes_in_a_variable_block_then_freeswitch_drops_them_before_the_commas():
    """Why the builder escapes commas instead of quoting: the api line's words lose their
    quotes before the `{...}` block is split, so `'x,y'` would still split."""
    _, variables, _, _ = read_back("originate {a='x,y',b=2}null/1 &park()")
    assert variables == {"a": "x", "b": "2"}
    _, variables, _, _ = read_back("originate {a=x\\,y,b=2}null/1 &park()")
    assert variables == {"a": "x,y", "b": "2"}


def test_given_hostile_effects_when_planned_then_refused_before_anything_is_sent():
    hostile = [
        fx.Originate("fs1", LEG, "", "1", "x", 5, destination="1000 &bridge(sofia/gw/x)"),
        fx.Originate("fs1", LEG, "1000\nsendmsg", "1", "x", 5),
        fx.Originate("fs1", LEG, "", "1", "x", 5, destination="4791234567", context="public\nx"),
        fx.SendDigits("fs1", LEG, "1@9000"),
        fx.Conference("fs1", (LEG, CALLER), "room,hangup"),
        fx.Conference("fs1", (LEG, "x y"), "room"),
        fx.Conference("fs1", (), "room"),
        fx.Hold("fs1", "x\ny"),
    ]
    for effect in hostile:
        with pytest.raises(InvalidCommand):
            plan(effect)


def test_given_a_conference_of_three_then_all_park_after_bridge_before_any_moves():
    texts = [c.text for c in plan(fx.Conference("fs1", (CALLER, LEG, "c3"), "ix-1"))]
    assert texts[:3] == [f"uuid_setvar {u} park_after_bridge true" for u in (CALLER, LEG, "c3")]
    assert texts[3:] == [f"uuid_transfer {u} conference:ix-1@default inline" for u in (CALLER, LEG, "c3")]

"""Hostile values from the configuration stay inert in the XML and in {var=value} strings."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dialplan import compile as compiler
from dialplan.xmlbuild import Raw, UnsafeValue, dial_vars, element, fs_value, regex, render
from engine.config import AgentConfig, Deployment, EntryPoint

HOSTILE = 'Evil" /><action application="bridge" data="sofia/gw/999"/><x a="${system(rm -rf /)}$${esl_password}\n&amp;<'


def test_attribute_values_cannot_break_out_of_xml():
    root = element(None, "r", value=HOSTILE)
    text = render(root)
    parsed = ET.fromstring(text.encode())
    assert len(parsed) == 0 and parsed.tag == "r"            # no injected elements
    value = parsed.get("value")
    assert "${" not in value and "$${" not in value and "\n" not in value
    assert value.startswith('Evil" /><action')               # the text itself survives, inert


def test_raw_constants_keep_their_freeswitch_variables():
    root = element(None, "param", value=Raw("${sofia_contact(*/${dialed_user}@${dialed_domain})}"))
    assert ET.fromstring(render(root).encode()).get("value").startswith("${sofia_contact(")


def test_a_value_cannot_trigger_freeswitchs_pre_processor(tmp_path):
    from tests.dialplan.fsxml import Preprocessed
    d = Deployment(agents={"a": AgentConfig("a", 'x-Pre-Process cmd="include" data="/etc/*"', "1000")})
    path = tmp_path / "directory.xml"
    path.write_text(compiler.directory_include(d))
    pre = Preprocessed(str(path), {})
    assert pre.dropped == []
    text = pre.text
    (variable,) = [v for v in ET.fromstring(text).iter("variable") if v.get("name") == "effective_caller_id_name"]
    assert variable.get("value").lower().startswith("x\u2011pre\u2011process")


def test_control_characters_are_dropped():
    assert fs_value("a\x00b\x07c\rd\te\uffff") == "abcde"


def test_dial_vars_cannot_break_out_of_the_braces():
    text = dial_vars({"origination_caller_id_name": "Ola, }{bridge}=x ${evil}"})
    assert text.startswith("{origination_caller_id_name=") and text.endswith("}")
    inner = text[1:-1]
    assert "}" not in inner and "{" not in inner and "${" not in inner
    assert "\\," in inner                                      # the comma is escaped


def test_regex_keeps_anchors_but_refuses_freeswitch_variables():
    assert regex(r"^\+?4722\d{6}$") == r"^\+?4722\d{6}$"
    with pytest.raises(UnsafeValue):
        regex("^${destination_number}$")


def test_a_hostile_agent_name_and_tag_compile_to_inert_xml():
    d = Deployment(
        agents={"a": AgentConfig("a", HOSTILE, "1000", password_hash="0" * 32)},
        entry_points={"+4722000001": EntryPoint("+4722000001", "t", "q", tags={"note": HOSTILE})})
    directory = ET.fromstring(compiler.directory_document(d).encode())
    assert [u.get("id") for u in directory.iter("user")] == ["1000"]
    names = [v.get("value") for v in directory.iter("variable") if v.get("name") == "effective_caller_id_name"]
    assert names and "${" not in names[0]
    dialplan = ET.fromstring(compiler.dialplan_document(d, "public").encode())
    actions = list(dialplan.iter("action"))[1:]      # after the loopback codecs' export (ours)
    assert [a.get("application") for a in actions] == ["set"] * 5 + ["park"]
    assert actions[4].get("data") == "park_after_bridge=true"
    note = actions[3].get("data")
    assert note.startswith("cc_note=Evil") and "${" not in note and "\n" not in note


@given(st.text())
@example("caller\uffff\ufffe\x1b[31m")
def test_any_text_stays_one_inert_attribute(value):
    root = element(None, "variable", name=Raw("effective_caller_id_name"), value=value)
    parsed = ET.fromstring(render(root).encode())
    assert len(parsed) == 0 and set(parsed.attrib) == {"name", "value"}
    assert parsed.get("value") == fs_value(value) and "$" not in parsed.get("value")


@given(st.dictionaries(st.sampled_from(["cc_note", "origination_caller_id_name"]), st.text(), min_size=1))
def test_any_text_stays_inside_its_dial_variable(variables):
    text = dial_vars(variables)
    inner = text[1:-1]
    assert text[0] == "{" and text[-1] == "}" and "{" not in inner and "}" not in inner and "$" not in inner
    # FreeSWITCH splits on unescaped commas: exactly one split per variable
    assert len([part for part in inner.replace("\\,", "").split(",")]) == len(variables)

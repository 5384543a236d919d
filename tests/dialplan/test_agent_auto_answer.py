"""An agent's `auto_answer`: the softphone answers when the console asks (engine.control)."""
from __future__ import annotations

from dialplan.loader import load
from tests.dialplan.files import MINIMAL, problems, write


def test_given_no_auto_answer_key_then_the_console_may_not_answer_for_the_phone(tmp_path):
    d = load(write(tmp_path, MINIMAL), {})
    assert d.agents["kari"].auto_answer is False


def test_given_auto_answer_true_then_the_agent_config_says_so(tmp_path):
    d = load(write(tmp_path, MINIMAL.replace('extension: "1000",', 'extension: "1000", auto_answer: true,')), {})
    assert d.agents["kari"].auto_answer is True


def test_given_a_non_boolean_auto_answer_then_its_line_is_a_problem(tmp_path):
    found, _ = problems(tmp_path, MINIMAL.replace('extension: "1000",', 'extension: "1000", auto_answer: maybe,'))
    assert [code for _, _, code in found] == ["wrong-type"]


TENANT_WITH = MINIMAL.replace("    recording: {enabled: false}\n", "    recording: {enabled: false}\n    %s\n")


def test_given_camp_on_settings_then_the_tenant_has_them_and_defaults_otherwise(tmp_path):
    t = load(write(tmp_path, TENANT_WITH % "campon_retry: 10s\n    campon_timeout: 3m\n    campon_prompt: sentral/campon.wav"),
             {}).tenants["acme"]
    assert (t.campon_retry, t.campon_timeout, t.campon_prompt) == (10.0, 180.0, "sentral/campon.wav")
    d = load(write(tmp_path, MINIMAL, "plain.yaml"), {}).tenants["acme"]
    assert (d.campon_retry, d.campon_timeout, d.campon_prompt) == (15.0, 120.0, "")


def test_given_camp_on_times_out_of_range_then_their_lines_are_problems(tmp_path):
    found, _ = problems(tmp_path, TENANT_WITH % "campon_retry: 1s\n    campon_timeout: 2h")
    assert [code for _, _, code in found] == ["out-of-range", "out-of-range"]

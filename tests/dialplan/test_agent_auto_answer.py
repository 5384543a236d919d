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

"""Number patterns: matched in linear time (RE2), refused at check time when RE2 cannot
compile them, and never run on over-long request input (issue 8, item 3)."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from dialplan import compile as compiler
from dialplan.loader import load
from dialplan.patterns import MAX_DESTINATION, matches
from tests.dialplan.files import problems, write

PATTERN_CONFIG = """\
tenants:
  - id: acme
    name: Acme AS
    numbers:
      - {{pattern: '{pattern}', queue: acme-main}}
    recording: {{enabled: false}}
    queues:
      - {{id: acme-main, name: Main}}
"""


def test_given_a_nested_repeat_pattern_when_a_long_destination_is_asked_then_it_answers_at_once(tmp_path):
    deployment = load(write(tmp_path, PATTERN_CONFIG.format(pattern=r"^(\d+)+$")), {})
    started = time.monotonic()
    text = compiler.dialplan_document(deployment, "public", "1" * 28 + "x")
    assert time.monotonic() - started < 0.5           # Python's re took ~6 s here
    assert text is None or "cc-acme-pattern" not in text
    assert "cc-acme-pattern" in compiler.dialplan_document(deployment, "public", "1" * 28)


def test_given_a_pattern_re2_cannot_compile_when_checked_then_it_is_a_bad_regex_with_its_place(tmp_path):
    found, error = problems(tmp_path, PATTERN_CONFIG.format(pattern=r"^(22)\1$"))
    assert found == [(5, 19, "bad-regex")]
    assert "RE2" in error.report()


def test_given_look_around_when_checked_then_refused(tmp_path):
    found, _ = problems(tmp_path, PATTERN_CONFIG.format(pattern=r"^(?!911)\d+$"))
    assert [code for *_, code in found] == ["bad-regex"]


def test_given_freeswitch_style_patterns_then_they_load_and_match():
    assert matches(r"^\+?4722(\d{6})$", "+4722000001")
    assert matches(r"^(?:0047|\+47)?22\d{6}$", "004722123456")
    assert not matches(r"^\+?4722(\d{6})$", "+4733000001")


def test_given_an_over_long_destination_then_no_pattern_matches_it():
    assert matches(r"\d", "1" * MAX_DESTINATION)
    assert not matches(r"\d", "1" * (MAX_DESTINATION + 1))


def test_config_check_prints_the_bad_pattern_with_file_line(tmp_path):
    path = write(tmp_path, PATTERN_CONFIG.format(pattern=r"(a)\1"))
    out = subprocess.run([sys.executable, "-m", "sentral.cli", "config", "check", path],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert f"{path}:5:19: bad-regex" in out.stderr + out.stdout


def test_the_xml_writer_checks_patterns_with_the_engine_that_matches_them():
    from dialplan.xmlbuild import UnsafeValue, regex
    assert str(regex(r"^22(\d{6})$")) == r"^22(\d{6})$"
    with pytest.raises(UnsafeValue, match="RE2"):
        regex(r"^(\d)\1$")                   # a back-reference: Python's re takes it, RE2 does not

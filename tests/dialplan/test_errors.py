"""Invalid configurations: every problem, with its file:line:column, in one pass."""
from __future__ import annotations

import pytest

from dialplan.errors import ConfigError
from dialplan.loader import load
from tests.dialplan.files import MINIMAL, codes, problems, write


def test_all_problems_are_collected_with_their_places(tmp_path):
    found, error = problems(tmp_path, """\
        tenants:
          - id: t
            name: T
            recording: {enabled: false}
            queues:
              - {id: q, strateg: ring-all}
              - {id: r, ring_timeout: soon}
        agents:
          - {id: a, extension: "1000", queues: {nope: 1}}
        """)
    assert found == [(6, 17, "unknown-key"), (7, 31, "wrong-type"), (9, 41, "unknown-reference")]
    assert error.error_id == "dialplan.invalid_config"
    text = error.report().splitlines()
    assert text[0].endswith("deploy.yaml:6:17: unknown-key: unknown key 'strateg' in a queue; "
                            "did you mean 'strategy'? (expected one of: " + text[0].split("one of: ")[1])
    assert "nope" in text[2] and "expected the id of a queue" in text[2]


def test_yaml_syntax_error_is_placed(tmp_path):
    found, error = problems(tmp_path, "tenants:\n  - id: t\n    name: [unclosed\n")
    assert [code for *_, code in found] == ["yaml-syntax"]
    assert found[0][0] == 4   # the parser notices at the end of the input


@pytest.mark.parametrize("hours, expected", [
    ('{mon: "25:00-26:00"}', "bad-time"),
    ('{mon: "16:00-08:00"}', "bad-time"),
    ('{mon: "8-16"}', "bad-time"),
    ('{mon: ["08:00-12:00", "11:00-13:00"]}', "overlap"),
    ('{mon-fri: "08:00-16:00", fri: "09:00-10:00"}', "duplicate"),
    ('{monday: "08:00-16:00"}', "bad-day"),
    ('{fri-mon: "08:00-16:00"}', "bad-day"),
])
def test_bad_opening_hours(tmp_path, hours, expected):
    text = f"tenants:\n  - {{id: t, name: T, recording: {{enabled: false}}, hours: {hours}}}\n"
    assert codes(tmp_path, text) == {expected}


def test_bad_holidays_special_days_and_timezone(tmp_path):
    assert codes(tmp_path, """\
        tenants:
          - id: t
            name: T
            timezone: Europe/Atlantis
            hours: {mon: "08:00-16:00"}
            holidays: {calendar: sweden, dates: ["2026-02-30"]}
            special_days: {"13-01": closed}
            recording: {enabled: false}
        """) == {"bad-timezone", "unknown-calendar", "bad-date"}


def test_duplicates_across_included_files_name_the_first_place(tmp_path):
    write(tmp_path, "id: a\nname: A\nnumbers: ['+4722000001']\nrecording: {enabled: false}\nqueues: [{id: q}]\n",
          "t/a.yaml")
    write(tmp_path, "id: b\nname: B\nnumbers: ['+4722000001']\nrecording: {enabled: false}\nqueues: [{id: q}, {id: r}]\n",
          "t/b.yaml")
    path = write(tmp_path, "include: [t/]\n")
    with pytest.raises(ConfigError) as info:
        load(path, {})
    dups = [p for p in info.value.problems if p.code == "duplicate"]
    assert len(dups) == 2 and all(p.file.endswith("b.yaml") for p in dups)
    assert sorted(p.message.split(" is defined")[0] for p in dups) == ["number '+4722000001'", "queue 'q'"]
    assert any("(first at " + str(tmp_path / "t" / "a.yaml") + ":3:11)" in p.message for p in dups)


def test_duplicate_ids_and_extensions(tmp_path):
    found, _ = problems(tmp_path, MINIMAL + """\
  - {id: kari, name: Kari 2, extension: "1000"}
  - {id: per, extension: "+4722000001"}
  - {id: ole, extension: "22000001"}
""")
    assert [c for *_, c in found] == ["duplicate", "duplicate", "bad-extension"]


def test_regex_that_does_not_compile_and_freeswitch_variables_in_patterns(tmp_path):
    assert codes(tmp_path, """\
        tenants:
          - id: t
            name: T
            recording: {enabled: false}
            numbers: [{pattern: "^(22", queue: q}, {pattern: "^${foo}$", queue: q}, {number: "22 00", queue: q}]
            queues: [{id: q}]
        """) == {"bad-regex", "bad-number"}


def test_overflow_cycles_are_found_once(tmp_path):
    found, error = problems(tmp_path, """\
        tenants:
          - id: t
            name: T
            recording: {enabled: false}
            queues:
              - {id: a, overflow: {queue: b}}
              - {id: b, no_agents: {queue: c}}
              - {id: c, overflow: {queue: a}}
              - {id: d, overflow: {queue: d}}
        """)
    assert [c for *_, c in found] == ["overflow-cycle", "overflow-cycle"]
    messages = [p.message for p in error.problems]
    assert "a -> b -> c -> a" in messages[0] and "d -> d" in messages[1]


def test_references_must_exist_and_entry_queues_belong_to_the_tenant(tmp_path):
    assert codes(tmp_path, """\
        tenants:
          - id: t
            name: T
            recording: {enabled: false}
            after_hours: {queue: ghost}
            numbers: [{number: "+4722000001", queue: u-main}]
            queues: [{id: t-main}]
          - id: u
            name: U
            recording: {enabled: false}
            queues: [{id: u-main}]
        """) == {"unknown-reference", "foreign-queue"}


def test_wrong_types_and_values(tmp_path):
    assert codes(tmp_path, """\
        tenants:
          - id: "bad id!"
            name: T
          - id: t
            name: [T]
            recording: {enabled: no}
            queues:
              - {id: q, max_no_answer: -1, priority: 1000, strategy: best, callback: {digit: "12"},
                 tiers: [{level: 2, after: 30}, {level: 1, after: 0}], announcements: {every: often},
                 overflow: {queue: q2, message: x.wav}, music_on_hold: "my music.wav"}
        agents: {kari: 1000}
        """) == {"bad-id", "wrong-type", "out-of-range", "bad-value", "bad-tiers", "bad-overflow", "bad-prompt"}
    # `enabled: no` is not a boolean (wrong-type); recording stays off, so no notice is needed


def test_recorded_calls_need_a_notice(tmp_path):
    found, error = problems(tmp_path, "tenants:\n  - {id: t, name: T, recording: {enabled: true, public_key: "
                                      "age1gjtn8gq6l2vkgfvsujjkwzru9etqmsdjdjn0dj92vudcnmxu5guqnv4zgh}}\n")
    assert found == [(2, 33, "missing-key")] and "no notice prompt" in error.report()


def test_secrets_are_never_literal_and_env_must_be_set_to_run(tmp_path):
    text = MINIMAL + "freeswitch: {nodes: [{name: fs1, password: hunter2}, {name: fs2, password: {env: FS2_PW}}]}\n"
    assert codes(tmp_path, text) == {"literal-secret", "env-unset"}
    ok = text.replace("password: hunter2", "password: {env: FS1_PW}")
    path = write(tmp_path, ok)
    unset: list = []
    d = load(path, {"FS1_PW": "x"}, require_env=False, unset_env=unset)
    assert unset == ["FS2_PW"] and d.nodes[1].password == ""


def test_missing_include_and_unreadable_files(tmp_path):
    assert codes(tmp_path, "include: [nowhere/, missing.yaml]\n") == {"include-missing"}
    with pytest.raises(ConfigError) as info:
        load(str(tmp_path / "absent.yaml"), {})
    assert info.value.problems[0].code == "unreadable"
    (tmp_path / "latin1.yaml").write_bytes(b"tenants: []\n# \xe6\xf8\xe5\n")
    with pytest.raises(ConfigError) as info:
        load(str(tmp_path / "latin1.yaml"), {})
    assert info.value.problems[0].code == "unreadable"


def test_reserved_and_bad_tag_names(tmp_path):
    assert codes(tmp_path, """\
        tenants:
          - id: t
            name: T
            recording: {enabled: false}
            numbers: [{number: "+4722000001", tags: {queue: x, Bad-Name: y}}]
            queues: [{id: q}]
        """) == {"bad-id"}


def test_transfer_and_voicemail_targets_must_be_single_tokens(tmp_path):
    assert codes(tmp_path, """\
        tenants:
          - id: t
            name: T
            recording: {enabled: false}
            after_hours: {transfer: "22 00 00 00"}
            queues: [{id: q, overflow: {voicemail: "box; rm"}}]
        """) == {"bad-target"}


def test_a_bad_port_in_the_environment_is_a_problem(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, MINIMAL), {"SENTRAL_FREESWITCH_PORT": "eighty"})
    assert info.value.problems[0].code == "wrong-type"


def test_holidays_need_weekly_hours(tmp_path):
    found, _ = problems(tmp_path, "tenants:\n  - {id: t, name: T, recording: {enabled: false}, holidays: norway}\n")
    assert found == [(2, 51, "conflict")]


def test_an_id_with_a_trailing_newline_is_no_id(tmp_path):
    # "$" in a plain match allows one trailing newline: ids go into file names and FreeSWITCH
    assert codes(tmp_path, """\
        tenants:
          - id: "t\\n"
            name: T
            recording: {enabled: false}
            queues: [{id: "q\\n"}]
        """) >= {"bad-id"}

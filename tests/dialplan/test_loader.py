"""Loading valid configurations: the demo, layering, includes, environment."""
from __future__ import annotations

import textwrap
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from dialplan.agents import a1_hash
from dialplan.loader import apply_overrides, load
from engine.config import OverflowKind, Strategy, TierRule
from tests.dialplan.files import DEMO, DEMO_ENV, MINIMAL, PRODUCTION, write

OSLO = ZoneInfo("Europe/Oslo")


def test_the_demo_has_three_agencies_eight_queues_ten_agents():
    d = load(str(DEMO), DEMO_ENV)
    assert sorted(d.tenants) == ["fjordvik", "nordlys", "vestland"]
    assert len(d.queues) == 8 and len(d.agents) == 11         # ten operators and the supervisor's phone
    assert sorted(a.sip_user for a in d.agents.values()) == [str(n) for n in range(1000, 1011)]
    assert dict(d.agents["siri"].queues) == {}
    assert {q.strategy for q in d.queues.values()} >= {Strategy.LONGEST_IDLE, Strategy.ROUND_ROBIN,
                                                      Strategy.RING_ALL, Strategy.TOP_DOWN}
    assert d.nodes[0].password == "demo-secret" and d.nodes[0].port == 8021
    orders = d.entry_points["+4721000301"]
    assert (orders.tenant, orders.queue, orders.priority, dict(orders.tags)) == \
        ("vestland", "vestland-orders", 5, {"line": "orders"})


def test_the_demo_has_an_email_an_sms_and_a_task_queue_with_two_blended_agents():
    d = load(str(DEMO), DEMO_ENV)
    written = {q.id: q.channel for q in d.queues.values() if q.written}
    assert written == {"vestland-post": "email", "vestland-sms": "sms", "vestland-skjema": "task"}
    assert {q.tenant for q in d.queues.values() if q.written} == {"vestland"}
    assert d.queues["vestland-post"].reply_from == "post@vestland-eiendom.no"
    assert d.queues["vestland-post"].ring_timeout == 120.0 and d.queues["vestland-post"].announce_every == 0
    assert d.mailboxes == () and d.sms is None                 # the demo has no mail server or SMS gateway
    blended = {a.id for a in d.agents.values() if set(a.queues) & set(written)}
    assert {"lars", "sofie"} <= blended
    assert [d.agents[a].capacity.cost("sms") for a in ("lars", "sofie")] == [0.5, 0.5]
    assert d.agents["sofie"].capacity.written_during_call and d.agents["lars"].capacity.calls_up_to == 1
    assert d.agents["ola"].capacity == d.capacity


def test_the_production_reference_loads():
    env = {"SENTRAL_FREESWITCH_PASSWORD": "a", "SENTRAL_FS2_PASSWORD": "b", "SENTRAL_DATABASE_URL": "",
           "AGENT_1001_PASSWORD": "pw", "SENTRAL_TRUNK_CARRIER_PASSWORD": "t"}
    d = load(str(PRODUCTION), env, today=date(2026, 11, 25))
    assert d.tenants and d.queues and d.agents
    assert set(d.trunks) == {"carrier", "kommune-pbx"} and len(d.outbound_routes) == 2 and d.direct_dials


def test_queue_settings_layer_code_defaults_then_file_defaults_then_the_queue(tmp_path):
    path = write(tmp_path, """\
        defaults:
          queue: {ring_timeout: 15s, wrapup: 1m, strategy: ring-all}
        tenants:
          - id: t
            name: T
            recording: {enabled: false}
            queues:
              - {id: a}
              - {id: b, ring_timeout: 40, tiers: [{level: 1, after: 0}, {level: 2, after: 1m30s}]}
        """)
    d = load(path, {})
    a, b = d.queues["a"], d.queues["b"]
    assert (a.ring_timeout, a.wrapup, a.strategy, a.max_wait) == (15.0, 60.0, Strategy.RING_ALL, 600.0)
    assert (b.ring_timeout, b.wrapup) == (40.0, 60.0)
    assert b.tiers == (TierRule(1, 0.0), TierRule(2, 90.0))
    assert a.tenant == "t" and a.name == "a"


def test_times_stay_times_and_numbers_keep_their_plus(tmp_path):
    # unquoted 08:00 is the sexagesimal 480 in YAML 1.1 and +47... an int; we read raw text
    path = write(tmp_path, """\
        tenants:
          - id: t
            name: T
            numbers: [+4722000001]
            hours: {mon-fri: 08:00-16:00}
            recording: {enabled: false}
            queues: [{id: q}]
        """)
    d = load(path, {})
    assert "+4722000001" in d.entry_points
    assert d.tenants["t"].opening_hours.weekly[0][0].start == time(8, 0)


def test_opening_hours_with_norwegian_holidays_and_special_days(tmp_path):
    path = write(tmp_path, """\
        tenants:
          - id: t
            name: T
            hours: {mon-fri: "08:00-16:00", sat: closed}
            holidays: {calendar: norway, dates: ["2026-12-31"]}
            special_days: {"12-24": "09:00-12:00", "2026-05-14": "10:00-11:00"}
            recording: {enabled: false}
        """)
    hours = load(path, {}, today=date(2026, 1, 1)).tenants["t"].opening_hours
    at = lambda *a: datetime(*a, tzinfo=OSLO)  # noqa: E731
    assert hours.is_open(at(2026, 11, 25, 9, 0))            # a Wednesday
    assert not hours.is_open(at(2026, 11, 25, 16, 0))       # end is exclusive
    assert not hours.is_open(at(2026, 4, 3, 10, 0))         # Good Friday
    assert not hours.is_open(at(2026, 12, 31, 10, 0))       # an explicit date
    assert hours.is_open(at(2026, 5, 14, 10, 30))           # Ascension Day, but a special day wins
    assert hours.is_open(at(2027, 12, 24, 11, 0)) and not hours.is_open(at(2027, 12, 24, 13, 0))
    assert not hours.is_open(at(2026, 11, 28, 10, 0))       # Saturday closed


def test_tenant_files_are_included_from_a_directory(tmp_path):
    write(tmp_path, "id: one\nname: One\nrecording: {enabled: false}\nqueues: [{id: q1}]\n", "tenants/one.yaml")
    write(tmp_path, "id: two\nname: Two\nrecording: {enabled: false}\nqueues: [{id: q2, overflow: {queue: q1}}]\n",
          "tenants/two.yml")
    path = write(tmp_path, "include: [tenants]\nagents: [{id: a, extension: '1000', queues: [q1, q2]}]\n")
    d = load(path, {})
    assert list(d.tenants) == ["one", "two"]
    assert d.queues["q2"].overflow.kind == OverflowKind.QUEUE and d.queues["q2"].overflow.target == "q1"
    assert dict(d.agents["a"].queues) == {"q1": 1, "q2": 1}


def test_agent_password_from_the_environment_becomes_an_a1_hash(tmp_path):
    path = write(tmp_path, MINIMAL.replace('extension: "1000",', 'extension: "1000", password: {env: PW1000},')
                 + "freeswitch: {sip_domain: pbx.example.org}\n")
    d = load(path, {"PW1000": "s3cret"})
    assert d.agents["kari"].password_hash == a1_hash("1000", "pbx.example.org", "s3cret")
    assert "s3cret" not in repr(d)


def test_environment_then_explicit_overrides_win_over_the_file(tmp_path):
    path = write(tmp_path, MINIMAL + textwrap.dedent("""\
        freeswitch:
          nodes:
            - {name: fs1, host: 10.0.0.5, port: 8021, password: {env: FS_PW}}
            - {name: fs2, host: 10.0.0.6, password: {env: FS_PW}}
        database: {url: "postgresql://db/sentral"}
        """))
    env = {"FS_PW": "file", "SENTRAL_FREESWITCH_HOST": "127.0.0.1", "SENTRAL_FREESWITCH_PASSWORD": "env",
           "SENTRAL_DATABASE_URL": "sqlite:///x.db"}
    d = load(path, env)
    assert (d.nodes[0].host, d.nodes[0].password, d.database_url) == ("127.0.0.1", "env", "sqlite:///x.db")
    assert (d.nodes[1].host, d.nodes[1].password) == ("10.0.0.6", "file")
    d2 = apply_overrides(d, freeswitch_port=9999, database_url="postgresql://cli/db")
    assert (d2.nodes[0].port, d2.database_url) == (9999, "postgresql://cli/db")


def test_overflow_forms(tmp_path):
    path = write(tmp_path, """\
        tenants:
          - id: t
            name: T
            recording: {enabled: true, notice: sentral/notice.wav, public_key: age1gjtn8gq6l2vkgfvsujjkwzru9etqmsdjdjn0dj92vudcnmxu5guqnv4zgh}
            after_hours: {transfer: "+4722999999", prompt: sentral/closed.wav}
            queues:
              - {id: a, overflow: hangup, no_agents: {message: sentral/bye.wav}}
              - {id: b, overflow: {callback: sentral/cb.wav}, no_agents: {voicemail: box-1},
                 callback: {digit: "#", prompt: sentral/kept.wav}}
        """)
    d = load(path, {})
    t, a, b = d.tenants["t"], d.queues["a"], d.queues["b"]
    assert (t.after_hours.kind, t.after_hours.target, t.after_hours.prompt) == \
        (OverflowKind.TRANSFER, "+4722999999", "sentral/closed.wav")
    assert t.recording_notice == "sentral/notice.wav" and t.record_calls
    assert a.overflow.kind == OverflowKind.HANGUP
    assert (a.no_agents.kind, a.no_agents.prompt) == (OverflowKind.MESSAGE, "sentral/bye.wav")
    assert (b.overflow.kind, b.overflow.prompt) == (OverflowKind.CALLBACK, "sentral/cb.wav")
    assert (b.no_agents.kind, b.no_agents.target) == (OverflowKind.VOICEMAIL, "box-1")
    assert (b.callback_enabled, b.callback_digit, b.callback_prompt) == (True, "#", "sentral/kept.wav")


def test_the_override_directory_replaces_settings_and_adds_tenants(tmp_path):
    path = write(tmp_path, MINIMAL + "database: {url: 'sqlite:///shipped.db'}\n"
                 "defaults: {queue: {wrapup: 5}}\n", "sentral.yaml")
    write(tmp_path, "database: {url: 'postgresql://site/sentral'}\n", "sentral.d/10-site.yaml")
    write(tmp_path, "tenants:\n  - {id: extra, name: Extra, recording: {enabled: false}, queues: [{id: extra-q}]}\n"
          "agents:\n  - {id: per, extension: '1001', queues: [extra-q]}\n", "sentral.d/20-more.yml")
    d = load(path, {})
    assert d.database_url == "postgresql://site/sentral"
    assert sorted(d.tenants) == ["acme", "extra"] and sorted(d.agents) == ["kari", "per"]
    assert d.queues["extra-q"].wrapup == 5.0          # the shipped defaults apply to added queues
    assert load(path, {}, override_dir=str(tmp_path / "nowhere")).database_url == "sqlite:///shipped.db"


def test_a_problem_in_an_override_file_points_into_that_file(tmp_path):
    import pytest

    from dialplan.errors import ConfigError
    path = write(tmp_path, MINIMAL, "sentral.yaml")
    write(tmp_path, "version: 1\ndatabase: {uri: x}\n", "sentral.d/site.yaml")
    with pytest.raises(ConfigError) as info:
        load(path, {})
    assert [(p.file.endswith("site.yaml"), p.line, p.code) for p in info.value.problems] == \
        [(True, 1, "unknown-key"), (True, 2, "unknown-key")]


def test_the_engine_url_and_sip_domain_must_be_plain_for_freeswitchs_pre_processor(tmp_path):
    import pytest

    from dialplan.errors import ConfigError
    from tests.dialplan.files import codes
    assert load(write(tmp_path, MINIMAL + "engine: {url: 'http://10.0.0.7:8080/'}\n"), {}).engine_url == \
        "http://10.0.0.7:8080"
    assert codes(tmp_path, MINIMAL + "engine: {url: 'http://x\"/a'}\n") == {"bad-value"}
    assert codes(tmp_path, MINIMAL + "freeswitch: {sip_domain: 'pbx $${x}'}\n") == {"bad-value"}
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, MINIMAL), {"SENTRAL_ENGINE_URL": "ftp://engine"})
    assert info.value.problems[0].file == "$SENTRAL_ENGINE_URL"


def test_a_bare_tenant_records_nothing_and_its_queues_hold_with_a_tone_any_freeswitch_plays(tmp_path):
    from dialplan.queues import HOLD_TONE
    d = load(write(tmp_path, MINIMAL.replace("    recording: {enabled: false}\n", "")), {})
    assert d.tenants["acme"].record_calls is False
    assert d.queues["acme-main"].moh == HOLD_TONE and HOLD_TONE.startswith("tone_stream://")


def test_the_demo_does_not_claim_to_record(tmp_path):
    d = load(str(DEMO), DEMO_ENV)
    assert not any(t.record_calls for t in d.tenants.values())

"""Written channels in the routing configuration: queue channels and their defaults,
mailboxes, the SMS gateway, capacity; every bad input with its file:line:column."""
from __future__ import annotations

import textwrap

import pytest

from dialplan.loader import load
from engine.config import Capacity, Mailbox, OverflowKind, SmsGateway, SmsNumber, Strategy
from tests.dialplan.files import problems, write

TENANT = """\
tenants:
  - id: t
    name: T
    recording: {enabled: false}
    queues:
"""


def queues(*lines: str) -> str:
    """A tenant `t` with the given queue lines (each one list entry, 6 spaces in)."""
    return TENANT + "".join(f"      - {line}\n" for line in lines)


def loaded(tmp_path, text: str, env=None, **kwargs):
    return load(write(tmp_path, text), env or {}, require_env=False, **kwargs)


def at(text: str, line: int, needle: str, code: str) -> tuple[int, int, str]:
    """(line, column, code) of a problem expected where `needle` starts in that line."""
    return line, textwrap.dedent(text).splitlines()[line - 1].index(needle) + 1, code


def placed(tmp_path, text: str, *expected: tuple[int, str, str]):
    """Load `text`, expecting exactly the problems given as (line, needle, code)."""
    found, error = problems(tmp_path, text)
    assert found == [at(text, line, needle, code) for line, needle, code in expected]
    return error


# -- parsed values -------------------------------------------------------------------------

def test_written_queues_take_their_own_defaults_and_voice_queues_keep_theirs(tmp_path):
    d = loaded(tmp_path, queues("{id: main}", "{id: post, channel: email}", "{id: sms, channel: sms}",
                                "{id: form, channel: task}", "{id: explicit, channel: voice}"))
    post = d.queues["post"]
    assert (post.channel, post.written, post.ring_timeout, post.max_wait, post.service_level_seconds,
            post.wrapup, post.announce_every, post.announce_position, post.announce_wait_time) == \
        ("email", True, 120.0, 7 * 86400.0, 8 * 3600.0, 0.0, 0.0, False, False)
    assert (d.queues["sms"].channel, d.queues["form"].channel) == ("sms", "task")
    main = d.queues["main"]
    assert (main.channel, main.written, main.ring_timeout, main.max_wait, main.service_level_seconds,
            main.wrapup) == ("voice", False, 20.0, 600.0, 20.0, 10.0)
    assert d.queues["explicit"].channel == "voice"


@pytest.mark.parametrize("written, seconds", [("4h", 14400.0), ("30m", 1800.0), ("2d", 172800.0),
                                              ("90s", 90.0), ("1d12h", 129600.0), ("3600", 3600.0),
                                              ("1.5", 1.5)])
def test_durations_in_days_hours_minutes_seconds_or_plain_seconds(tmp_path, written, seconds):
    d = loaded(tmp_path, queues(f"{{id: m, channel: email, service_level: {written}, max_wait: {written}, "
                                f"ring_timeout: {written}}}", f"{{id: v, max_wait: {written}}}"))
    m = d.queues["m"]
    assert (m.service_level_seconds, m.max_wait, m.ring_timeout) == (seconds, seconds, seconds)
    assert d.queues["v"].max_wait == seconds


def test_written_queues_take_only_the_channel_neutral_file_defaults(tmp_path):
    d = loaded(tmp_path, textwrap.dedent("""\
        defaults:
          queue: {ring_timeout: 15s, max_wait: 5m, wrapup: 5s, service_level: 30s, strategy: round-robin,
                  priority: 3, skills: [norsk], announcements: {every: 45s}, overflow: hangup}
        """) + queues("{id: main}", "{id: post, channel: email}"))
    post, main = d.queues["post"], d.queues["main"]
    assert (post.ring_timeout, post.max_wait, post.wrapup, post.service_level_seconds, post.announce_every) == \
        (120.0, 7 * 86400.0, 0.0, 8 * 3600.0, 0.0)
    assert (post.strategy, post.priority, post.required_skills) == (Strategy.ROUND_ROBIN, 3, frozenset({"norsk"}))
    assert post.overflow.kind is OverflowKind.MESSAGE          # the code's: moves nothing (engine.written)
    assert (main.ring_timeout, main.max_wait, main.announce_every, main.overflow.kind) == \
        (15.0, 300.0, 45.0, OverflowKind.HANGUP)


def test_reply_from_overflow_and_the_default_no_agents_of_written_queues(tmp_path):
    d = loaded(tmp_path, queues(
        "{id: post, channel: email, reply_from: post@vestland-eiendom.no, overflow: {queue: post2}, no_agents: message}",
        "{id: post2, channel: email}",
        "{id: sms, channel: sms, reply_from: '+4790000000'}",
        "{id: sms2, channel: sms, reply_from: Vestland}",
        "{id: sms3, channel: sms, reply_from: '2020'}"))
    assert d.queues["post"].reply_from == "post@vestland-eiendom.no"
    assert (d.queues["post"].overflow.kind, d.queues["post"].overflow.target) == (OverflowKind.QUEUE, "post2")
    assert [d.queues[q].reply_from for q in ("sms", "sms2", "sms3")] == ["+4790000000", "Vestland", "2020"]


def test_a_main_number_without_a_queue_goes_to_the_first_voice_queue(tmp_path):
    d = loaded(tmp_path, TENANT.replace("    queues:\n", "    numbers: ['+4722000001']\n    queues:\n") +
               "      - {id: post, channel: email}\n      - {id: main}\n")
    assert d.entry_points["+4722000001"].queue == "main"


def test_a_mailbox_keeps_only_the_names_of_its_secrets(tmp_path):
    unset: list = []
    d = loaded(tmp_path, queues(
        "{id: post, channel: email, mailbox: {host: imap.example.org, username: post@example.org, "
        "password: {env: POST_IMAP_PASSWORD}}}",
        "{id: m365, channel: email, mailbox: {host: outlook.office365.com, username: sentral@kommune.no, "
        "folder: Sentral, security: starttls, poll_seconds: 2m, max_message_bytes: 10485760, "
        "oauth2: {tenant: kommune.onmicrosoft.com, client_id: 0b1c2d3e-aaaa-bbbb-cccc-1234567890ab, "
        "secret: {env: M365_SECRET}}}}",
        "{id: local, channel: email, mailbox: {host: 127.0.0.1, port: 10143, security: none, username: u, "
        "password: {env: LOCAL_PW}}}",
        "{id: nobox, channel: email}"), env={"LOCAL_PW": "set"}, unset_env=unset)
    assert d.mailboxes == (
        Mailbox("post", "imap.example.org", "post@example.org", password_env="POST_IMAP_PASSWORD"),
        Mailbox("m365", "outlook.office365.com", "sentral@kommune.no", port=143, folder="Sentral",
                security="starttls", oauth2_tenant="kommune.onmicrosoft.com",
                oauth2_client_id="0b1c2d3e-aaaa-bbbb-cccc-1234567890ab", oauth2_secret_env="M365_SECRET",
                poll_seconds=120.0, max_message_bytes=10485760),
        Mailbox("local", "127.0.0.1", "u", port=10143, security="none", password_env="LOCAL_PW"))
    assert unset == ["POST_IMAP_PASSWORD", "M365_SECRET"]      # needed to run; LOCAL_PW is set
    assert "set" not in repr(d.mailboxes)                     # never the secret itself


def test_capacity_of_the_deployment_and_per_agent_layered_key_by_key(tmp_path):
    d = loaded(tmp_path, "capacity: {written: 3, calls_up_to: 1, costs: {sms: 0.5}, written_during_call: false}\n"
               + queues("{id: main}", "{id: post, channel: email}") + textwrap.dedent("""\
        agents:
          - {id: kari, extension: "1000", queues: [main, post]}
          - {id: ola, extension: "1001", queues: [main, post],
             capacity: {written: 5, calls_up_to: null, costs: {email: 2}, written_during_call: true}}
        """))
    assert d.capacity == Capacity(written=3.0, calls_up_to=1.0, costs={"email": 1.0, "sms": 0.5, "task": 1.0})
    assert d.agents["kari"].capacity == d.capacity
    assert d.agents["ola"].capacity == Capacity(written=5.0, calls_up_to=None, written_during_call=True,
                                                costs={"email": 2.0, "sms": 0.5, "task": 1.0})


def test_without_capacity_every_agent_has_the_codes_default(tmp_path):
    d = loaded(tmp_path, queues("{id: main}") + 'agents:\n  - {id: kari, extension: "1000", queues: [main]}\n')
    assert d.capacity == Capacity() and d.agents["kari"].capacity == Capacity() and d.sms is None
    assert d.mailboxes == ()


def test_an_smpp_and_an_http_gateway_with_their_numbers(tmp_path):
    body = queues("{id: sms, channel: sms}", "{id: sms2, channel: sms}")
    d = loaded(tmp_path, textwrap.dedent("""\
        sms:
          gateway: smpp
          host: smsc.example.org
          port: 2776
          system_id: sentral
          password: {env: SMPP_PASSWORD}
          sender: Sentral
          numbers: {"+4722000000": sms, "2020": sms2, +4741000000: sms}
        """) + body)
    assert d.sms == SmsGateway("smpp", host="smsc.example.org", port=2776, system_id="sentral",
                               password_env="SMPP_PASSWORD", sender="Sentral",
                               numbers=(SmsNumber("+4722000000", "sms"), SmsNumber("2020", "sms2"),
                                        SmsNumber("+4741000000", "sms")))
    d = loaded(tmp_path, textwrap.dedent("""\
        sms:
          gateway: http
          url: https://gateway.example.org/v1/messages
          token: {env: SMS_TOKEN}
          webhook_secret: {env: SMS_WEBHOOK_SECRET}
          numbers: {"2020": sms}
        """) + body)
    assert d.sms == SmsGateway("http", url="https://gateway.example.org/v1/messages", token_env="SMS_TOKEN",
                               webhook_secret_env="SMS_WEBHOOK_SECRET", numbers=(SmsNumber("2020", "sms"),))
    d = loaded(tmp_path, "sms: {gateway: http, url: 'http://127.0.0.1:9000/send', webhook_secret: {env: S}}\n" + body)
    assert d.sms.url == "http://127.0.0.1:9000/send"


# -- bad input, with its place --------------------------------------------------------------

def test_an_unknown_channel(tmp_path):
    error = placed(tmp_path, queues("{id: q, channel: fax}"), (6, "fax", "bad-value"))
    assert "email, sms, task" in error.report()


@pytest.mark.parametrize("key, value", [
    ("music_on_hold", "x.wav"),
    ("announcements", "{every: 30s}"),
    ("callback", "true"),
    ("recording", "{enabled: true}"),
    ("no_agents", "hangup"),
    ("no_agents", "{queue: other}"),
])
def test_voice_only_keys_on_a_written_queue(tmp_path, key, value):
    error = placed(tmp_path, queues(f"{{id: q, channel: email, {key}: {value}}}", "{id: other, channel: email}"),
                   (6, key, "voice-only"))
    assert f"{key} on a email queue: it is for calls only" in error.report()


def test_a_written_queue_overflows_only_into_a_queue_of_its_channel(tmp_path):
    error = placed(tmp_path, queues(
        "{id: post, channel: email, overflow: hangup}",
        "{id: post2, channel: email, overflow: {message: sorry.wav}}",
        "{id: post3, channel: email, overflow: {queue: main}}",
        "{id: post4, channel: email, overflow: {queue: sms}}",
        "{id: sms, channel: sms}",
        "{id: main, overflow: {queue: post}, no_agents: {queue: sms}}"),
        (6, "hangup", "bad-overflow"), (7, "{message", "bad-overflow"), (8, "main}", "wrong-channel"),
        (9, "sms}", "wrong-channel"), (11, "post}", "wrong-channel"), (11, "sms}", "wrong-channel"))
    report = error.report()
    assert "the overflow of queue 'post3' leads to queue 'main', a voice queue (expected another email queue)" \
        in report
    assert "the overflow of queue 'main' leads to queue 'post', a email queue (expected a voice queue" in report


def test_calls_never_reach_a_written_queue(tmp_path):
    error = placed(tmp_path, """\
        defaults:
          queue: {overflow: {queue: post}}
        tenants:
          - id: t
            name: T
            recording: {enabled: false}
            after_hours: {queue: post}
            numbers: [{number: "+4722000001", queue: post}]
            direct_dial: {fallback_queue: post, numbers: [{pattern: '^[+]4722001([0-9]{3})$', user: "1$1"}]}
            queues:
              - {id: post, channel: email}
              - {id: main, overflow: hangup}
        """, (2, "post", "wrong-channel"), (7, "post", "wrong-channel"), (8, "post", "wrong-channel"),
                   (9, "post", "wrong-channel"))
    report = error.report()
    assert "a number of tenant 't' leads to queue 'post', a email queue" in report
    assert "after_hours leads to queue 'post'" in report and "the queue defaults' overflow leads" in report
    assert "a direct_dial number of tenant 't' leads to queue 'post'" in report


@pytest.mark.parametrize("queue, needle, code", [
    ("{id: q, channel: email, reply_from: 'Post <post@t.no>'}", "'Post", "bad-value"),
    ("{id: q, channel: sms, reply_from: '+4712'}", "'+4712'", "bad-value"),
    ("{id: q, channel: sms, reply_from: TooLongSenderName}", "TooLong", "bad-value"),
    ("{id: q, channel: sms, reply_from: '12'}", "'12'", "bad-value"),
    ("{id: q, channel: task, reply_from: post@t.no}", "post@", "wrong-channel"),
    ("{id: q, reply_from: post@t.no}", "reply_from", "wrong-channel"),
    ("{id: q, mailbox: {host: imap.t.no, username: u, password: {env: P}}}", "mailbox", "wrong-channel"),
    ("{id: q, channel: sms, mailbox: {host: imap.t.no, username: u, password: {env: P}}}", "mailbox",
     "wrong-channel"),
])
def test_bad_reply_from_and_misplaced_mailboxes(tmp_path, queue, needle, code):
    placed(tmp_path, queues(queue), (6, needle, code))


@pytest.mark.parametrize("mailbox, expected", [
    ("{username: u, password: {env: P}}", [("{", "missing-key")]),
    ("{host: imap.t.no, username: u}", [("{", "missing-key")]),
    ("{host: imap.t.no, username: u, password: hunter2}", [("hunter2", "literal-secret")]),
    ("{host: imap.t.no, username: u, password: {env: 1BAD-NAME}}", [("1BAD", "bad-value")]),
    ("{host: imap.t.no, username: u, password: {env: P}, oauth2: {tenant: t, client_id: c, secret: {env: S}}}",
     [("oauth2", "conflict")]),
    ("{host: imap.t.no, username: u, oauth2: {tenant: t, client_id: c}}", [("{tenant", "missing-key")]),
    ("{host: imap.t.no, username: u, oauth2: {tenant: t, client_id: c, secret: s}}", [("s}", "literal-secret")]),
    ("{host: imap.t.no, username: u, oauth2: {tenant: 't t', client_id: c, secret: {env: S}}}",
     [("'t t'", "bad-value")]),
    ("{host: imap.t.no, username: u, security: none, password: {env: P}}", [("none", "bad-value")]),
    ("{host: imap.t.no, username: u, security: tls, password: {env: P}}", [("tls", "bad-value")]),
    ("{host: 'imap t.no', username: u, password: {env: P}}", [("'imap", "bad-value")]),
    ("{host: imap.t.no, username: u, port: 0, password: {env: P}}", [("0,", "out-of-range")]),
    ("{host: imap.t.no, username: u, max_message_bytes: 10, password: {env: P}}", [("10", "out-of-range")]),
    ("{host: imap.t.no, username: u, poll_seconds: often, password: {env: P}}", [("often", "wrong-type")]),
    ("{host: imap.t.no, username: u, folder: '', password: {env: P}}", [("''", "bad-value")]),
    ("{host: imap.t.no, username: u, pasword: {env: P}}", [("{", "missing-key"), ("pasword", "unknown-key")]),
])
def test_bad_mailboxes(tmp_path, mailbox, expected):
    text = TENANT + "      - id: q\n        channel: email\n        mailbox: " + mailbox + "\n"
    placed(tmp_path, text, *[(8, needle, code) for needle, code in expected])


def test_two_queues_cannot_read_the_same_mailbox(tmp_path):
    box = "{host: imap.t.no, username: post, password: {env: P}}"
    error = placed(tmp_path, queues(f"{{id: a, channel: email, mailbox: {box}}}", f"{{id: b, channel: email, mailbox: {box}}}"),
                   (7, "{host", "duplicate"))
    assert "of queue 'a' (at " in error.report()


@pytest.mark.parametrize("capacity, needle, code", [
    ("{written: -1}", "-1", "out-of-range"),
    ("{written: lots}", "lots", "wrong-type"),
    ("{calls_up_to: .nan}", ".nan", "wrong-type"),
    ("{costs: {voice: 1}}", "voice", "unknown-key"),
    ("{costs: {emial: 1}}", "emial", "unknown-key"),
    ("{costs: {sms: -0.5}}", "-0.5", "out-of-range"),
    ("{written_during_call: yes}", "yes", "wrong-type"),
    ("{parallel: 2}", "parallel", "unknown-key"),
    ("3", "3", "wrong-type"),
])
def test_bad_capacity_at_the_top_and_per_agent(tmp_path, capacity, needle, code):
    placed(tmp_path, f"capacity: {capacity}\n" + queues("{id: main}"), (1, needle, code))
    agent = 'agents:\n  - {id: kari, extension: "1000", queues: [main], capacity: ' + capacity + "}\n"
    placed(tmp_path, queues("{id: main}") + agent, (8, needle, code))


def test_an_unknown_cost_says_what_was_meant(tmp_path):
    _, error = problems(tmp_path, "capacity: {costs: {emial: 1}}\n")
    assert "did you mean 'email'?" in error.report()


SMS_QUEUES = queues("{id: sms, channel: sms}", "{id: main}")


@pytest.mark.parametrize("sms, needle, code", [
    ("{gateway: kannel}", "kannel", "bad-value"),
    ("{host: smsc.example.org}", "{", "missing-key"),
    ("{gateway: smpp, system_id: s}", "{", "missing-key"),
    ("{gateway: smpp, host: smsc.example.org, system_id: s, password: secret}", "secret", "literal-secret"),
    ("{gateway: smpp, host: smsc.example.org, system_id: s, url: 'https://x.example.org'}", "url", "conflict"),
    ("{gateway: smpp, host: smsc.example.org, system_id: a-system-id-too-long}", "a-system", "bad-value"),
    ("{gateway: smpp, host: smsc.example.org, system_id: s, port: 70000}", "70000", "out-of-range"),
    ("{gateway: http, webhook_secret: {env: S}}", "{", "missing-key"),
    ("{gateway: http, url: 'https://x.example.org/send'}", "{", "missing-key"),
    ("{gateway: http, url: 'http://x.example.org/send', webhook_secret: {env: S}}", "'http:", "bad-value"),
    ("{gateway: http, url: 'https://x.example.org', webhook_secret: {env: S}, host: h}", "host", "conflict"),
    ("{gateway: http, url: 'https://x.example.org', webhook_secret: {env: S}, token: abc}", "abc", "literal-secret"),
    ("{gateway: http, url: 'https://x.example.org', webhook_secret: {env: S}, sender: 'Far too long id'}",
     "'Far", "bad-value"),
])
def test_bad_sms_gateways(tmp_path, sms, needle, code):
    placed(tmp_path, f"sms: {sms}\n" + SMS_QUEUES, (1, needle, code))


def test_sms_numbers_are_valid_once_and_lead_to_sms_queues(tmp_path):
    error = placed(tmp_path, textwrap.dedent("""\
        sms:
          gateway: http
          url: https://gateway.example.org/send
          webhook_secret: {env: S}
          numbers:
            "+4722000000": sms
            "+4712": sms
            "4722000000": sms
            "12": sms
            "+4722000000": sms
            "2020": main
            "2021": smss
        """) + SMS_QUEUES,
        (7, '"', "bad-number"), (8, '"', "bad-number"), (9, '"', "bad-number"), (10, '"', "duplicate"),
        (11, "main", "wrong-channel"), (12, "smss", "unknown-reference"))
    report = error.report()
    assert "an sms number leads to queue 'main', a voice queue" in report and "did you mean 'sms'?" in report
    assert "is listed twice (first at " in report


def test_a_bad_duration_names_days_among_the_forms(tmp_path):
    error = placed(tmp_path, queues("{id: q, channel: email, max_wait: 2w}"), (6, "2w", "wrong-type"))
    assert "4h, 2d" in error.report()


# -- the examples ---------------------------------------------------------------------------

def test_the_production_reference_shows_every_written_key():
    from tests.dialplan.files import PRODUCTION
    d = load(str(PRODUCTION), {}, require_env=False)
    assert {q.id: q.channel for q in d.queues.values() if q.written} == \
        {"kommune-post": "email", "kommune-sms": "sms", "kommune-skjema": "task"}
    (box,) = d.mailboxes
    assert (box.queue, box.host, box.port, box.security, box.password_env) == \
        ("kommune-post", "imap.kommune.example", 993, "ssl", "KOMMUNE_IMAP_PASSWORD")
    assert (d.sms.kind, d.sms.password_env, [n.number for n in d.sms.numbers]) == \
        ("smpp", "SENTRAL_SMPP_PASSWORD", ["+4721000150", "2030"])
    assert d.capacity.calls_up_to == 1 and d.agents["kari"].capacity.written == 4
    assert d.agents["kari"].capacity.costs["sms"] == 0.5 and d.agents["ola"].capacity == d.capacity


def test_the_documented_example_loads(tmp_path):
    import pathlib
    doc = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "dialplan.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Written channels"):]
    start = section.index("```yaml\n") + len("```yaml\n")
    d = loaded(tmp_path, section[start:section.index("```", start)])
    assert d.sms.numbers and d.mailboxes[0].queue == "kommune-post"
    assert d.agents["kari"].capacity == Capacity(written=5.0, calls_up_to=1.0, written_during_call=True,
                                                 costs={"email": 1.0, "sms": 0.5, "task": 1.0})

"""The console's configuration: pause reasons, result codes, per-agency greeting,
transfer and park timeouts, message sender, outbound context; bad values with file:line."""
from __future__ import annotations

import pytest

from dialplan.loader import load
from engine.config import Reason
from tests.dialplan.files import DEMO, DEMO_ENV, PRODUCTION, problems, write

TENANT = """\
tenants:
  - id: acme
    name: Acme AS
    recording: {enabled: false}
    %s
    queues:
      - {id: acme-main, name: Main}
"""


def test_given_the_demo_then_norwegian_reasons_codes_and_greetings():
    d = load(str(DEMO), env=DEMO_ENV)
    assert [r.id for r in d.pause_reasons] == ["lunsj", "mote", "opplaering", "annet"]
    assert [r.id for r in d.result_codes] == ["satt_over", "besvart", "melding", "feil_nummer"]
    assert d.pause_reasons[1] == Reason("mote", "Møte", "Meeting")
    fjordvik = d.tenants["fjordvik"]
    assert fjordvik.greeting.startswith("Fjordvik kommune, sentralbordet, du snakker med")
    assert fjordvik.transfer_timeout == 20 and fjordvik.park_timeout == 120
    assert fjordvik.message_from == "sentralbord@fjordvik.kommune.no"
    assert d.outbound_context == "public"
    assert all(t.greeting and t.message_from for t in d.tenants.values())


def test_given_production_then_every_key_is_read():
    d = load(str(PRODUCTION), env={**DEMO_ENV, "SENTRAL_FS2_PASSWORD": "x"}, require_env=False)
    assert d.outbound_context == "outbound" and len(d.result_codes) == 4
    assert d.tenants["kommune"].park_timeout == 120


def test_given_nothing_then_the_code_defaults(tmp_path):
    d = load(write(tmp_path, TENANT % ""), env={})
    assert d.pause_reasons == () and d.result_codes == () and d.outbound_context == "public"
    t = d.tenants["acme"]
    assert (t.greeting, t.transfer_timeout, t.park_timeout, t.message_from) == ("", 20.0, 120.0, "")


@pytest.mark.parametrize("line, code", [
    ("transfer_timeout: -5s", "wrong-type"),
    ("transfer_timeout: 2s", "out-of-range"),
    ("transfer_timeout: 10m", "out-of-range"),
    ("park_timeout: soon", "wrong-type"),
    ("park_timeout: 5h", "out-of-range"),
    ("message_from: not-an-address", "bad-value"),
    ("message_from: 'Sentralbord <s@x.no>'", "bad-value"),
    ('message_from: "s@x.no\\nBcc: all@x.no"', "bad-value"),
    ("message_from: s@localhost", "bad-value"),
    ("greeting: [a, b]", "wrong-type"),
])
def test_given_a_bad_tenant_value_then_its_line_and_column(tmp_path, line, code):
    found, error = problems(tmp_path, TENANT % line)
    assert found == [(5, 5 + len(line.split(":")[0]) + 2, code)]
    assert "deploy.yaml:5:" in error.report()


def test_given_duplicate_or_incomplete_reasons_then_each_is_placed(tmp_path):
    found, error = problems(tmp_path, """\
console:
  pause_reasons:
    - {id: lunsj, nb: Lunsj}
    - {id: lunsj, nb: Lunsj igjen}
    - {id: mote}
    - {id: "bad id", nb: X}
  result_codes: {id: x}
  colour: blue
""" + TENANT % "")
    assert [(line, c) for line, _, c in found] == [(4, "duplicate"), (5, "missing-key"), (6, "bad-id"),
                                                  (7, "wrong-type"), (8, "unknown-key")]
    assert "lunsj" in error.report().splitlines()[0]


def test_given_a_bad_outbound_context_then_refused(tmp_path):
    found, _ = problems(tmp_path, "freeswitch: {outbound_context: 'public default'}\n" + TENANT % "")
    assert [c for *_, c in found] == ["bad-id"]


def test_given_english_missing_then_the_bokmal_label_is_used(tmp_path):
    d = load(write(tmp_path, "console: {result_codes: [{id: besvart, nb: Besvart}]}\n" + TENANT % ""), env={})
    assert d.result_codes == (Reason("besvart", "Besvart", "Besvart"),)


def test_given_an_own_outbound_context_then_it_is_compiled_with_the_sites_routes_only(tmp_path):
    from xml.etree import ElementTree as ET

    from dialplan import compile as compiler
    d = load(write(tmp_path, "freeswitch: {outbound_context: sentral-out}\n" + TENANT % 'numbers: ["+4722000001"]'),
             env={})
    root = ET.fromstring(compiler.dialplan_include(d).split("-->", 1)[1])
    contexts = {c.get("name"): c for c in root.iter("context")}
    assert list(contexts) == ["public", "default", "sentral-out"]
    assert [(child.tag, child.get("name")) for child in contexts["sentral-out"]] == [
        ("extension", compiler.LOOPBACK_CODECS), ("X-PRE-PROCESS", None)]
    assert contexts["sentral-out"][1].get("data") == "sentral-out/*.xml"
    written = compiler.write_files(d, str(tmp_path / "conf"))
    assert str(tmp_path / "conf/dialplan/sentral-out/00_site.xml") in written
    public = contexts["public"].find("extension[@name='cc-acme-+4722000001']/condition")
    assert [(a.get("application"), a.get("data")) for a in public][-2:] == [("set", "park_after_bridge=true"), ("park", None)]


REPLIES = """reply_templates:
      - {id: thanks, name: Takk, text: "Hei {name}! Saken {case} er mottatt av {agency}.", channels: [email, sms]}
      - id: closing
        name: Avslutning
        text: "Vennlig hilsen {agency}"
"""


def test_given_reply_templates_then_they_are_the_tenants_with_their_channels(tmp_path):
    from engine.config import ReplyTemplate

    t = load(write(tmp_path, TENANT % REPLIES), env={}).tenants["acme"]
    assert t.reply_templates == (
        ReplyTemplate("thanks", "Takk", "Hei {name}! Saken {case} er mottatt av {agency}.", ("email", "sms")),
        ReplyTemplate("closing", "Avslutning", "Vennlig hilsen {agency}"))
    assert load(write(tmp_path, TENANT % ""), env={}).tenants["acme"].reply_templates == ()


@pytest.mark.parametrize("entry, code", [
    ('{id: a, name: A, text: "Hei {navn}"}', "bad-value"),
    ('{id: a, name: A, text: "Hei", channels: [fax]}', "bad-value"),
    ('{id: a, name: A}', "missing-key"),
])
def test_given_a_bad_reply_template_then_a_problem(tmp_path, entry, code):
    found, _ = problems(tmp_path, TENANT % f"reply_templates:\n      - {entry}")
    assert [c for *_, c in found] == [code]

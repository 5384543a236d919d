"""Trunks (sofia gateways), outbound routes and direct dial with fallback to the
switchboard: what the configuration accepts, refuses (file:line) and compiles to."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from dialplan import compile as compiler
from dialplan import gateways
from dialplan.loader import load
from dialplan.simulated import sim_dialplan
from dialplan.yamlnodes import Findings
from tests.dialplan.files import problems, write

CONFIG = """\
freeswitch:
  outbound_context: outbound
trunks:
  - {name: carrier, proxy: "sip.carrier.example:5060", register: true, username: "4721000100",
     password: {env: TRUNK_CARRIER_PW}}
  - {name: fjordvik-pbx, proxy: "10.1.2.3", transport: tcp, caller_id: "+4721000100"}
outbound_routes:
  - {pattern: '^(\\+47|0047)?([2-9]\\d{7})$', trunk: carrier, dial: "+47$2"}
tenants:
  - id: fjordvik
    name: Fjordvik kommune
    numbers: ["+4721000100"]
    recording: {enabled: false}
    direct_dial:
      ring_timeout: 25s
      numbers:
        - {pattern: '^\\+?47(2100012\\d)$', trunk: fjordvik-pbx, dial: "$1"}
        - {pattern: '^\\+?472100013(\\d)$', user: "200$1"}
    queues:
      - {id: fjordvik-switchboard}
      - {id: fjordvik-other}
"""
ENV = {"TRUNK_CARRIER_PW": "s3cret"}


def a_deployment(tmp_path, text: str = CONFIG, env=ENV, findings=None):
    return load(write(tmp_path, text), env, findings=findings)


def _extensions(xml: str, context: str) -> list[ET.Element]:
    root = ET.fromstring(xml.encode())
    (ctx,) = [c for c in root.iter("context") if c.get("name") == context]
    return ctx.findall("extension")


def test_given_trunks_when_loaded_then_passwords_are_only_variable_names(tmp_path):
    d = a_deployment(tmp_path)
    carrier, pbx = d.trunks["carrier"], d.trunks["fjordvik-pbx"]
    assert (carrier.register, carrier.username, carrier.password_env) == (True, "4721000100", "TRUNK_CARRIER_PW")
    assert "s3cret" not in repr(d)
    assert (pbx.register, pbx.transport, pbx.caller_id) == (False, "tcp", "+4721000100")
    (rule1, rule2) = d.direct_dials
    assert (rule1.trunk, rule1.dial, rule1.ring_timeout, rule1.fallback_queue) == ("fjordvik-pbx", "$1", 25.0,
                                                                                    "fjordvik-switchboard")
    assert (rule2.trunk, rule2.dial) == ("", "200$1")


def test_gateway_files_name_the_password_global_and_vars_read_it_from_the_environment(tmp_path):
    d = a_deployment(tmp_path)
    carrier = ET.fromstring(gateways.gateway_include(d.trunks["carrier"]).encode())
    params = {p.get("name"): p.get("value") for p in carrier.iter("param")}
    assert carrier.find("gateway").get("name") == "carrier"
    assert params == {"proxy": "sip.carrier.example:5060", "register": "true", "register-transport": "udp",
                      "username": "4721000100", "password": "$${sentral_trunk_carrier_password}",
                      "caller-id-in-from": "true"}
    pbx = {p.get("name"): p.get("value")
           for p in ET.fromstring(gateways.gateway_include(d.trunks["fjordvik-pbx"]).encode()).iter("param")}
    assert pbx == {"proxy": "sip:10.1.2.3;transport=tcp", "register": "false", "register-transport": "tcp",
                   "caller-id-in-from": "true"}
    text = compiler.vars_include(d)
    assert '<X-PRE-PROCESS cmd="env-set" data="sentral_trunk_carrier_password=$TRUNK_CARRIER_PW"/>' in text
    assert "s3cret" not in text and "fjordvik-pbx_password" not in text


def test_direct_dial_follows_the_main_numbers_and_falls_back_like_a_main_number(tmp_path):
    d = a_deployment(tmp_path)
    xml = compiler.dialplan_include(d)
    for context in ("public", "default"):
        names = [e.get("name") for e in _extensions(xml, context)]
        assert names[:4] == ["cc-loopback-codecs", "cc-fjordvik-+4721000100", "cc-direct-fjordvik-1",
                             "cc-direct-fjordvik-2"]
    ext = _extensions(xml, "public")[2]
    ring, guard = ext.findall("condition")
    assert ring.get("expression") == r"^\+?47(2100012\d)$"
    assert [(a.get("application"), a.get("data")) for a in ring] == [
        ("set", "continue_on_fail=true"), ("set", "hangup_after_bridge=true"),
        ("bridge", "{originate_timeout=25,origination_caller_id_number=+4721000100}sofia/gateway/fjordvik-pbx/$1")]
    assert (guard.get("field"), guard.get("expression"), guard.get("break")) == ("${loopback_leg}", "^B$", "never")
    assert [(a.tag, a.get("application"), a.get("data")) for a in guard] == [
        ("action", "hangup", "${originate_disposition}"),
        ("anti-action", "unset", "hangup_after_bridge"), ("anti-action", "unset", "continue_on_fail"),
        ("anti-action", "set", "cc_tenant=fjordvik"), ("anti-action", "set", "cc_queue=fjordvik-switchboard"),
        ("anti-action", "set", "cc_direct_dial=${destination_number}"),
        ("anti-action", "set", "cc_direct_cause=${originate_disposition}"),
        ("anti-action", "set", "park_after_bridge=true"), ("anti-action", "park", None)]
    user = _extensions(xml, "public")[3].find("condition").findall("action")[-1]
    assert user.get("data") == "{originate_timeout=25}user/200$1@${domain_name}"


def test_outbound_context_holds_the_routes_then_the_site_routes(tmp_path):
    d = a_deployment(tmp_path)
    xml = compiler.dialplan_include(d)
    (codecs, route) = _extensions(xml, "outbound")
    assert route.get("name") == "cc-route-1-carrier"
    assert route.find("condition").get("expression") == r"^(\+47|0047)?([2-9]\d{7})$"
    assert route.find("condition/action").get("data") == "sofia/gateway/carrier/+47$2"
    assert "cc-route" not in "".join(e.get("name") for e in _extensions(xml, "public"))


def test_xml_curl_answers_the_same_extensions_as_the_static_file(tmp_path):
    d = a_deployment(tmp_path)
    did = compiler.dialplan_document(d, "public", "+4721000125")
    assert [e.get("name") for e in _extensions(did, "public")] == ["cc-loopback-codecs", "cc-direct-fjordvik-1"]
    static = [e for e in _extensions(compiler.dialplan_include(d), "public") if e.get("name") == "cc-direct-fjordvik-1"]
    assert ET.canonicalize(ET.tostring(_extensions(did, "public")[1]), strip_text=True) == \
        ET.canonicalize(ET.tostring(static[0]), strip_text=True)
    out = compiler.dialplan_document(d, "outbound", "004722334455")
    assert [e.get("name") for e in _extensions(out, "outbound")] == ["cc-loopback-codecs", "cc-route-1-carrier"]
    assert compiler.dialplan_document(d, "outbound", "112") is None        # not ours: the static file decides
    assert compiler.dialplan_document(d, "public", "+4799999999") is None


def test_the_simulator_route_is_the_same_actions_with_the_captures_filled_in(tmp_path):
    route = sim_dialplan(a_deployment(tmp_path))
    apps = route("+4721000125", None)
    assert apps[2] == ("bridge", "{originate_timeout=25,origination_caller_id_number=+4721000100}"
                                 "sofia/gateway/fjordvik-pbx/21000125")
    assert ("set", "cc_direct_dial=+4721000125") in apps and apps[-1] == ("park", "")

    class LoopbackB:
        variables = {"loopback_leg": "B"}

    assert route("+4721000125", LoopbackB())[3:] == [("hangup", "${originate_disposition}")]
    assert route("+4721000100", None)["cc_queue"] == "fjordvik-switchboard"
    assert route("+4799999999", None) is None


def test_write_files_writes_gateways_and_removes_only_its_own_stale_ones(tmp_path):
    out = tmp_path / "conf"
    site_own = out / "sip_profiles/external/site-sbc.xml"
    site_own.parent.mkdir(parents=True)
    site_own.write_text("<include><gateway name=\"sbc\"/></include>\n")
    stale = out / "sip_profiles/external/old.xml"
    stale.write_text(f"<!-- {gateways.GENERATED} -->\n<include/>\n")
    compiler.write_files(a_deployment(tmp_path), str(out))
    assert sorted(p.name for p in (out / "sip_profiles/external").iterdir()) == \
        ["carrier.xml", "fjordvik-pbx.xml", "site-sbc.xml"]
    assert (out / "dialplan/outbound/00_site.xml").exists()


def test_config_problems_are_placed(tmp_path):
    found, error = problems(tmp_path, """\
        freeswitch: {outbound_context: outbound}
        trunks:
          - {name: carrier, proxy: "sip.carrier.example", register: true, username: "x"}
          - {name: pbx, proxy: "10.0.0.1", password: hunter2, transport: tls}
        outbound_routes:
          - {pattern: '^(\\d+)$', trunk: carier, dial: "$2"}
          - {pattern: '^(\\d+)$', trunk: carier}
        tenants:
          - id: t
            name: T
            recording: {enabled: false}
            direct_dial:
              fallback_queue: u-main
              numbers:
                - {pattern: '^22(\\d)$', trunk: nope}
                - {pattern: '^23(\\d)$', trunk: pbx, user: "1$1"}
            queues: [{id: t-main}]
          - {id: u, name: U, recording: {enabled: false}, queues: [{id: u-main}]}
        """)
    assert found == [(3, 12, "missing-key"), (4, 46, "literal-secret"), (4, 66, "bad-value"),
                     (6, 47, "bad-value"), (7, 33, "unknown-reference"), (13, 23, "foreign-queue"),
                     (15, 40, "unknown-reference"), (16, 11, "bad-target")]
    text = error.report()
    assert "deploy.yaml:3:12: missing-key: trunk 'carrier' registers but has no password" in text
    assert "names trunk 'carier', which is not defined; did you mean 'carrier'?" in text


def test_a_trunk_password_variable_unset_is_an_error_when_running_and_noted_when_checking(tmp_path):
    found, error = problems(tmp_path, CONFIG, {})
    assert found == [(5, 16, "env-unset")]
    assert "TRUNK_CARRIER_PW is not set" in error.report()
    unset: list = []
    load(write(tmp_path, CONFIG), {}, require_env=False, unset_env=unset)
    assert unset == ["TRUNK_CARRIER_PW"]


def test_routes_are_refused_in_the_context_callers_arrive_in(tmp_path):
    found, _ = problems(tmp_path, CONFIG.replace("outbound_context: outbound", "outbound_context: public"), ENV)
    assert found == [(8, 15, "conflict")]


def test_overlapping_patterns_warn_with_a_number_both_match(tmp_path):
    specific = "  - {pattern: '^\\+?47(2100012\\d)$', trunk: fjordvik-pbx, dial: \"$1\"}\n"
    text = CONFIG.replace("tenants:\n", specific + "tenants:\n", 1).replace("- {pattern: '^\\+?472100013(\\d)$', user: \"200$1\"}",
              "- {pattern: '^\\+?472100010(\\d)$', user: \"200$1\"}")
    findings = Findings()
    a_deployment(tmp_path, text, findings=findings)
    warned = [(w.line, w.code, w.message) for w in findings.warnings]
    assert [(line, code) for line, code, _ in warned] == [(9, "pattern-overlap"), (19, "pattern-overlap")]
    assert "(e.g. +4721000120)" in warned[0][2] and "shadowed by the route at" in warned[0][2]
    assert "+4721000100" in warned[1][2] and "the main number wins" in warned[1][2]
    findings = Findings()
    a_deployment(tmp_path, CONFIG.replace("outbound_routes:\n", "outbound_routes:\n" + specific), findings=findings)
    assert findings.warnings == []                      # the specific route first: the intended order

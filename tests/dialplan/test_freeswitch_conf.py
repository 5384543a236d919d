"""freeswitch-conf/: every file parses, every regex compiles, the engine is wired in."""
from __future__ import annotations

import pathlib
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from dialplan import compile as compiler
from dialplan.loader import load
from dialplan.xml_curl import ROUTE
from engine import prompts
from tests.dialplan.files import DEMO, DEMO_ENV, MINIMAL, ROOT, write
from tests.dialplan.fsxml import Preprocessed

CONF = ROOT / "freeswitch-conf"
ENV = {"SENTRAL_FREESWITCH_PASSWORD": "from-the-environment"}


@pytest.fixture(scope="module")
def config():
    pre = Preprocessed(str(CONF / "freeswitch.xml"), ENV)
    return pre, ET.fromstring(pre.text)


def settings(root, conf_name: str) -> dict:
    conf = root.find(f"./section[@name='configuration']/configuration[@name='{conf_name}']")
    assert conf is not None, f"{conf_name} is not loaded"
    return {p.get("name"): p.get("value") for p in conf.find("settings").findall("param")}


def test_every_file_is_included_and_parses_on_its_own():
    files = sorted(p.resolve() for p in CONF.rglob("*.xml"))
    pre = Preprocessed(str(CONF / "freeswitch.xml"), ENV)
    assert sorted(pathlib.Path(f).resolve() for f in pre.files) == files          # nothing is left out
    for path in files:
        text = path.read_text(encoding="utf-8")
        body = re.sub(r"<X-PRE-PROCESS[^>]*/>", "", text)
        ET.fromstring(f"<wrap>{body.split('?>', 1)[-1]}</wrap>")  # well-formed apart from includes


def test_no_pre_processor_command_hides_in_a_comment():
    # FreeSWITCH runs X-PRE-PROCESS lines even inside comments
    for path in CONF.rglob("*.xml"):
        for comment in re.findall(r"<!--(.*?)-->", path.read_text(encoding="utf-8"), re.S):
            assert "x-pre-process" not in comment.lower(), path


def test_only_known_global_variables_are_used_and_no_line_is_dropped(config):
    pre, _ = config
    assert pre.undefined == [] and pre.dropped == []


def test_every_expression_compiles(config):
    _, root = config
    expressions = [e.get("expression") for e in root.iter() if e.get("expression") is not None]
    patterns = [e.get("pattern") for e in root.iter("input")]
    assert len(expressions) >= 10 and len(patterns) >= 3
    for pattern in expressions + patterns:
        re.compile(pattern)


def test_event_socket_listens_on_loopback_with_the_password_from_the_environment(config):
    _, root = config
    es = settings(root, "event_socket.conf")
    assert es["listen-ip"] == "127.0.0.1" and es["password"] == "from-the-environment"
    raw = (CONF / "autoload_configs/event_socket.conf.xml").read_text()
    assert 'value="$${esl_password}"' in raw


def test_xml_curl_asks_the_engine_for_dialplan_and_directory(config):
    _, root = config
    conf = root.find("./section/configuration[@name='xml_curl.conf']")
    (url,) = [p for p in conf.iter("param") if p.get("name") == "gateway-url"]
    assert url.get("value") == load(str(DEMO), DEMO_ENV).engine_url + ROUTE == "http://127.0.0.1:8080" + ROUTE
    assert set(url.get("bindings").split("|")) == {"dialplan", "directory"}


def test_freeswitchs_environment_cannot_move_the_engine_url_away_from_the_configuration():
    moved = Preprocessed(str(CONF / "freeswitch.xml"), {**ENV, "SENTRAL_ENGINE_URL": "http://127.0.0.1:9090",
                                                         "SENTRAL_SIP_DOMAIN": "elsewhere.example"})
    assert "9090" not in moved.text and "elsewhere" not in moved.text


def compiled_into_a_copy(tmp_path, yaml_text: str) -> pathlib.Path:
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    path = write(tmp_path, yaml_text)
    compiler.write_files(load(path, {}), str(conf))
    return conf


def test_the_engine_url_and_sip_domain_reach_freeswitch_from_the_compiled_configuration(tmp_path):
    conf = compiled_into_a_copy(tmp_path, MINIMAL + "engine: {url: 'http://10.1.2.3:8181/'}\n"
                                "freeswitch: {sip_domain: pbx.example.org}\n")
    root = ET.fromstring(Preprocessed(str(conf / "freeswitch.xml"), ENV).text)
    (url,) = [p for p in root.iter("param") if p.get("name") == "gateway-url"]
    assert url.get("value") == "http://10.1.2.3:8181" + ROUTE
    assert profile_params(root, "internal")["force-register-domain"] == "pbx.example.org"
    (domain,) = root.findall("./section[@name='directory']/domain")
    assert domain.get("name") == "pbx.example.org"


def test_compile_leaves_the_sites_own_routes_alone_and_the_contexts_include_them(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    own = conf / "dialplan/public/10_trunk_out.xml"
    for placeholder in (conf / "dialplan/public").glob("*.xml"):
        placeholder.unlink()
    own.write_text('<include>\n  <extension name="site-outbound">\n'
                   '    <condition field="destination_number" expression="^(\\+47\\d{8})$">\n'
                   '      <action application="bridge" data="sofia/gateway/carrier/$1"/>\n'
                   '    </condition>\n  </extension>\n</include>\n')
    before = own.read_text()
    compiler.write_files(load(str(DEMO), DEMO_ENV), str(conf))
    assert own.read_text() == before
    assert not (conf / "dialplan/public" / compiler.SITE_PLACEHOLDER).exists()    # not put back beside the site's
    assert (conf / "dialplan/default" / compiler.SITE_PLACEHOLDER).exists()
    root = ET.fromstring(Preprocessed(str(conf / "freeswitch.xml"), ENV).text)
    (public,) = root.findall("./section[@name='dialplan']/context[@name='public']")   # one context, not two
    names = [e.get("name") for e in public.findall("extension")]
    assert names[-1] == "site-outbound" and names[0].startswith("cc-")            # after the main numbers


def test_the_shipped_site_route_folders_hold_only_the_placeholder():
    for context in compiler.CONTEXTS:
        (placeholder,) = (CONF / "dialplan" / context).glob("*.xml")
        assert placeholder.name == compiler.SITE_PLACEHOLDER
        assert placeholder.read_text() == compiler.site_placeholder(context)


def test_the_modules_sentral_needs_are_loaded(config):
    _, root = config
    modules = {m.get("module") for m in root.iter("load")}
    assert {"mod_event_socket", "mod_xml_curl", "mod_sofia", "mod_commands", "mod_dptools",
            "mod_dialplan_xml", "mod_local_stream", "mod_sndfile"} <= modules


def profile_params(root, name: str) -> dict:
    profile = root.find(f".//configuration[@name='sofia.conf']/profiles/profile[@name='{name}']")
    assert profile is not None, f"no SIP profile {name!r}"
    return {p.get("name"): p.get("value") for p in profile.find("settings")}


def test_the_internal_profile_authenticates_agents_into_the_default_context(config):
    _, root = config
    params = profile_params(root, "internal")
    assert params["context"] == "default" and params["auth-calls"] == "true"
    assert params["force-register-domain"] == "127.0.0.1"


def test_static_fallbacks_are_the_compiled_demo():
    demo = load(str(DEMO), DEMO_ENV)
    assert (CONF / "dialplan/default.xml").read_text() == compiler.dialplan_include(demo), \
        "run: sentral config compile dialplan/examples/demo.yaml --out freeswitch-conf"
    assert (CONF / "directory/default.xml").read_text() == compiler.directory_include(demo)
    assert (CONF / "vars_sentral.xml").read_text() == compiler.vars_include(demo)


def test_the_directory_domain_is_the_configured_sip_domain(config):
    _, root = config
    (domain,) = root.findall("./section[@name='directory']/domain")
    assert domain.get("name") == load(str(DEMO), DEMO_ENV).sip_domain == "127.0.0.1"


def phrase_macro(root, name: str, language: str = "en"):
    """FreeSWITCH's phrase lookup (switch_xml_locate_language, then the macro): section
    `languages`, its `language` by name, that language's `phrases`, then `macros`."""
    section = root.find("./section[@name='languages']")
    assert section is not None, "no languages section: FreeSWITCH logs \"Can't find macro\""
    lang = section.find(f"./language[@name='{language}']")
    assert lang is not None, f"no language {language!r} in the languages section"
    macros = lang.find("./phrases/macros")
    assert macros is not None, f"language {language!r} has no phrases/macros"
    return macros.find(f"./macro[@name='{name}']")


def test_the_phrase_macros_are_where_freeswitchs_phrase_lookup_reads_them(config):
    _, root = config
    for spoken in (prompts.position(3), prompts.wait_minutes(125)):
        _, name, argument = spoken.split(":")
        macro = phrase_macro(root, name)
        assert macro is not None, spoken
        assert any(re.match(i.get("pattern"), argument) for i in macro.iter("input"))
    (lang,) = root.findall("./section[@name='languages']/language")
    assert lang.get("say-module") == "en" and "mod_say_en" in {m.get("module") for m in root.iter("load")}
    assert root.find("./section[@name='phrases']") is None      # the older layout, not read with this nesting


def test_callers_come_in_on_a_trunk_profile_trusted_by_address_into_the_public_context(config):
    _, root = config
    trunk, agents = profile_params(root, "external"), profile_params(root, "internal")
    assert trunk["context"] == "public" and trunk["auth-calls"] == "false"
    assert trunk["sip-port"] != agents["sip-port"] and trunk["sip-ip"] == agents["sip-ip"] == "127.0.0.1"
    (acl,) = root.findall(f".//configuration[@name='acl.conf']/network-lists/list[@name='{trunk['apply-inbound-acl']}']")
    assert acl.get("default") == "deny"
    allowed = [n.get("cidr") for n in acl.findall("node") if n.get("type") == "allow"]
    assert allowed == ["192.0.2.1/32"]            # a documentation address: nobody until the site sets its carrier


def test_no_module_is_loaded_that_nothing_uses(config):
    _, root = config
    modules = {m.get("module") for m in root.iter("load")}
    assert "mod_voicemail" not in modules and root.find(".//configuration[@name='voicemail.conf']") is None


def test_the_conference_the_engine_moves_legs_into_exists(config):
    """esl.commands.conference_move uses `conference:<room>@default inline`: the profile
    `default` must exist and mod_conference be loaded, else the legs are lost."""
    _, root = config
    assert "mod_conference" in {m.get("module") for m in root.iter("load")}
    (conf,) = root.findall(".//configuration[@name='conference.conf']")
    profiles = {p.get("name"): {x.get("name"): x.get("value") for x in p.iter("param")} for p in conf.iter("profile")}
    assert "default" in profiles and profiles["default"]["caller-controls"] == "none"
    groups = {g.get("name") for g in conf.iter("group")}
    assert profiles["default"]["caller-controls"] in groups


def test_a_loopback_leg_bridging_out_offers_the_sites_outbound_codecs_in_every_context(config):
    """The engine dials numbers through loopback/<number>/<context>: the B leg that runs the
    dialplan has only L16, which a bridged-out SIP leg would offer alone (a PCMU phone then
    fails INCOMPATIBLE_DESTINATION, corpus 14). Each context first exports the profiles'
    outbound codecs to that leg, for loopback B legs only, and continues to the routes."""
    pre, root = config
    contexts = root.findall("./section[@name='dialplan']/context")
    assert {c.get("name") for c in contexts} >= {"public", "default"}
    prefs = pre.variables[compiler.CODEC_PREFS]
    assert prefs and re.fullmatch(r"[A-Za-z0-9@.]+(,[A-Za-z0-9@.]+)*", prefs), prefs
    profiles = [p for p in root.iter("profile") if p.find("settings") is not None]
    assert any(x.get("name") == "outbound-codec-prefs" and x.get("value") == prefs
               for p in profiles for x in p.iter("param")), "the codecs the SIP profiles offer outbound"
    for context in contexts:
        first = context.find("extension")
        assert first.get("name") == compiler.LOOPBACK_CODECS and first.get("continue") == "true"
        leg, codecs = first.findall("condition")
        assert (leg.get("field"), leg.get("expression")) == ("${loopback_leg}", "^B$")
        assert not re.search(leg.get("expression"), "A") and not re.search(leg.get("expression"), "")
        assert re.search(codecs.get("expression"), prefs) and not re.search(codecs.get("expression"), "")
        (action,) = codecs.findall("action")
        assert action.get("application") == "export"
        assert action.get("data") == "nolocal:absolute_codec_string=${%s}" % compiler.CODEC_PREFS

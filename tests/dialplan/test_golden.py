"""Compiled XML against golden files (regenerate: SENTRAL_REGEN_GOLDEN=1, then review the diff)."""
from __future__ import annotations

import os
import pathlib
import xml.etree.ElementTree as ET

import pytest

from dialplan import compile as compiler
from dialplan.loader import load
from tests.dialplan.files import DEMO, DEMO_ENV

GOLDEN = pathlib.Path(__file__).parent / "golden"
REGEN = os.environ.get("SENTRAL_REGEN_GOLDEN") == "1"


def demo():
    return load(str(DEMO), DEMO_ENV)


CASES = {
    "demo_dialplan_include.xml": lambda: compiler.dialplan_include(demo()),
    "demo_directory_include.xml": lambda: compiler.directory_include(demo()),
    "demo_xml_curl_dialplan_public.xml": lambda: compiler.dialplan_document(demo(), "public"),
    "demo_xml_curl_directory_1004.xml": lambda: compiler.directory_document(demo(), user="1004"),
    "not_found.xml": compiler.not_found,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_xml_matches_the_golden_file(name):
    text = CASES[name]()
    path = GOLDEN / name
    if REGEN:
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{name} changed; regenerate with SENTRAL_REGEN_GOLDEN=1"
    ET.fromstring(text.split("-->", 1)[-1] if text.startswith("<!--") else text.encode())


def test_every_main_number_is_tagged_and_parked():
    root = ET.fromstring(compiler.dialplan_document(demo(), "public").encode())
    extensions = [e for e in root.findall("./section/context/extension")
                  if e.get("name") != compiler.LOOPBACK_CODECS and not e.get("name").startswith("cc-direct-")]
    assert len(extensions) == 5
    for ext in extensions:
        actions = ext.findall("./condition/action")
        data = [a.get("data") for a in actions if a.get("application") == "set"]
        assert {d.split("=")[0] for d in data} >= {"cc_tenant", "cc_queue", "cc_entry"}
        assert actions[-1].get("application") == "park"


def test_the_default_context_adds_agent_to_agent_calls_and_public_does_not():
    d = demo()
    public = ET.fromstring(compiler.dialplan_document(d, "public").encode())
    default = ET.fromstring(compiler.dialplan_document(d, "default").encode())
    assert not public.findall(".//extension[@name='cc-agent-to-agent']")
    (ext,) = default.findall(".//extension[@name='cc-agent-to-agent']")
    assert ext.find("condition").get("expression").startswith("^(1000|1001|")
    assert compiler.dialplan_document(d, "nowhere") is None


def test_write_files_writes_the_static_files_and_the_site_route_placeholders(tmp_path):
    written = compiler.write_files(demo(), str(tmp_path))
    assert sorted(pathlib.Path(p).relative_to(tmp_path).as_posix() for p in written) == \
        ["dialplan/default.xml", "dialplan/default/00_site.xml", "dialplan/public/00_site.xml",
         "directory/default.xml", "sip_profiles/external/fjordvik-pbx.xml", "vars_sentral.xml"]
    assert (tmp_path / "dialplan/default.xml").read_text() == (GOLDEN / "demo_dialplan_include.xml").read_text()


def test_a_destination_selects_exact_numbers_and_patterns():
    from engine.config import Deployment, EntryPoint
    d = Deployment(entry_points={
        "+4722000001": EntryPoint("+4722000001", "t", "q1"),
        r"^\+?4722\d{6}$": EntryPoint(r"^\+?4722\d{6}$", "t", "q2", pattern=r"^\+?4722\d{6}$")})
    names = lambda text: [e.get("name") for e in ET.fromstring(text.encode()).iter("extension")  # noqa: E731
                          if e.get("name") != compiler.LOOPBACK_CODECS]
    assert names(compiler.dialplan_document(d, "public", "+4722000001")) == ["cc-t-+4722000001", "cc-t-pattern-2"]
    assert names(compiler.dialplan_document(d, "public", "4722123456")) == ["cc-t-pattern-2"]
    assert compiler.dialplan_document(d, "public", "4723123456") is None

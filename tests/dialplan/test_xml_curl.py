"""The mod_xml_curl responder, asked with the form fields FreeSWITCH really POSTs.

Field names from FreeSWITCH's sources: mod_xml_curl sends hostname, section, tag_name,
key_name, key_value plus the REQUEST_PARAMS event headers; mod_dialplan_xml adds the
channel data and the caller profile with the prefix "Hunt"; sofia's REGISTER/INVITE
digest check adds action=sip_auth, sip_profile, sip_auth_* and key/user/domain/ip.
Asked as FreeSWITCH asks: a form POST with the binding's basic-auth credentials, from
loopback (access control itself: tests/web/test_security.py, through `sentral run`'s apps).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from dialplan.loader import load
from dialplan.xml_curl import ROUTE, XmlCurlAccess, make_app
from tests.dialplan.files import DEMO, DEMO_ENV, MINIMAL, write

COMMON = {"hostname": "fs1", "Event-Name": "REQUEST_PARAMS", "Core-UUID": "3f1c0a52-8d0e-4d1c-9c57-1b2f6a0e9d11",
          "FreeSWITCH-Hostname": "fs1", "FreeSWITCH-Switchname": "fs1", "FreeSWITCH-IPv4": "127.0.0.1",
          "Event-Date-Local": "2026-11-25 23:59:00", "Event-Calling-Function": "switch_xml_locate"}


def dialplan_request(number: str, context: str = "public") -> dict:
    return {**COMMON, "section": "dialplan", "tag_name": "", "key_name": "", "key_value": "",
            "Channel-State": "CS_ROUTING", "Unique-ID": "7c9a41de-55d1-4a8e-9b0f-0c43c2a1f0aa",
            "Call-Direction": "inbound", "Caller-Caller-ID-Number": "+4791234567",
            "Caller-Caller-ID-Name": "Ola%20Nordmann", "Caller-Destination-Number": number,
            "Caller-Context": context, "Hunt-Destination-Number": number, "Hunt-Context": context,
            "Hunt-Dialplan": "XML", "variable_sip_to_user": number}


def directory_request(user: str | None, domain: str = "127.0.0.1", action: str = "sip_auth") -> dict:
    fields = {**COMMON, "section": "directory", "tag_name": "domain", "key_name": "name", "key_value": domain,
              "action": action, "key": "id", "domain": domain, "ip": "127.0.0.1"}
    if action == "sip_auth":
        fields.update({"sip_profile": "internal", "sip_user_agent": "Linphone/5.2", "sip_auth_username": user,
                       "sip_auth_realm": domain, "sip_auth_nonce": "f3b5", "sip_auth_uri": f"sip:{domain}",
                       "sip_request_user": user or "", "sip_request_host": domain})
    if user is not None:
        fields["user"] = user
    return fields


@pytest.fixture
def deployment_box():
    return {"current": load(str(DEMO), DEMO_ENV)}


PASSWORD = "a-long-shared-secret-for-tests"


@pytest.fixture
def client(deployment_box):
    app = make_app(lambda: deployment_box["current"], XmlCurlAccess("freeswitch", PASSWORD))
    return app.test_client()


def post(client, fields) -> ET.Element:
    response = client.post(ROUTE, data=fields, auth=("freeswitch", PASSWORD),
                           environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 200 and response.mimetype == "text/xml"
    return ET.fromstring(response.data)


def test_dialplan_request_gets_the_matching_extension_of_the_context_asked_for(client):
    doc = post(client, dialplan_request("+4721000301"))
    (context,) = doc.findall("./section[@name='dialplan']/context")
    assert context.get("name") == "public"
    codecs, ext = context.findall("extension")
    assert codecs.get("name") == "cc-loopback-codecs"
    assert re.match(ext.find("condition").get("expression"), "+4721000301")
    data = [a.get("data") for a in ext.iter("action")]
    assert "cc_queue=vestland-orders" in data and "cc_priority=5" in data


def test_agents_reach_each_other_in_the_default_context_only(client):
    _codecs, ext = post(client, dialplan_request("1004", context="default")).iter("extension")
    assert ext.get("name") == "cc-agent-to-agent"
    assert post(client, dialplan_request("1004")).find(".//result").get("status") == "not found"


def test_a_number_we_do_not_route_is_left_to_the_static_files(client):
    assert post(client, dialplan_request("+4799999999")).find(".//result").get("status") == "not found"


def test_unknown_context_and_unknown_section_get_not_found(client):
    for fields in (dialplan_request("+4721000100", context="features"),
                   {**COMMON, "section": "configuration", "tag_name": "configuration", "key_name": "name",
                    "key_value": "sofia.conf"},
                   {}):
        doc = post(client, fields)
        assert doc.find("./section[@name='result']/result").get("status") == "not found"


def test_sip_auth_for_an_agent_returns_only_that_user(client):
    doc = post(client, directory_request("1003"))
    users = doc.findall(".//domain[@name='127.0.0.1']//user")
    assert [u.get("id") for u in users] == ["1003"]
    assert users[0].find("./params/param[@name='a1-hash']").get("value") == "c19e6b28acef40073c988bbc02451170"
    variables = {v.get("name"): v.get("value") for v in users[0].iter("variable")}
    assert variables["user_context"] == "default" and variables["effective_caller_id_name"] == "Lars Johansen"


def test_unknown_user_or_domain_is_not_found(client):
    for fields in (directory_request("4711"), directory_request("1003", domain="other.example")):
        assert post(client, fields).find(".//result").get("status") == "not found"


def test_a_domain_request_without_user_lists_every_agent(client):
    doc = post(client, directory_request(None, action="group_call"))
    assert len(doc.findall(".//user")) == 11      # ten operators and the supervisor's phone


def test_a_reload_shows_in_the_next_answer(client, deployment_box, tmp_path):
    deployment_box["current"] = load(write(tmp_path, MINIMAL), {})
    assert post(client, directory_request("1003")).find(".//result").get("status") == "not found"
    assert [u.get("id") for u in post(client, directory_request("1000")).iter("user")] == ["1000"]

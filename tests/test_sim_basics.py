"""The simulator's Event Socket basics, as a client sees them on the wire."""
from __future__ import annotations

import pytest

from esl.sim.rawclient import RawClient
from esl.sim.server import Simulator
from tests.helpers import until

GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"


@pytest.fixture
def sim():
    s = Simulator(password="pw", time_factor=0.01, heartbeat_interval=0.2).start()
    yield s
    s.stop()


@pytest.fixture
def client(sim):
    c = RawClient("127.0.0.1", sim.port)
    c.wait_for(lambda f: f.content_type == "auth/request")
    assert c.reply("auth pw").reply_text == "+OK accepted"
    yield c
    c.close()


def test_wrong_password_gets_invalid_then_the_67_byte_notice_and_close(sim):
    c = RawClient("127.0.0.1", sim.port)
    assert c.reply("auth nope").reply_text == "-ERR invalid"
    notice = c.wait_for(lambda f: f.content_type == "text/disconnect-notice")
    assert notice.body == GOODBYE.encode() and len(notice.body) == 67
    c.wait_eof()


def test_commands_before_auth_are_refused_and_the_connection_stays(sim):
    c = RawClient("127.0.0.1", sim.port)
    assert c.reply("api status").reply_text == "-ERR command not found"
    assert c.reply("event plain ALL").reply_text == "-ERR command not found"
    assert not c.eof
    assert c.reply("exit").reply_text == "+OK bye"
    c.wait_eof()


def test_api_reply_shapes(client):
    assert client.api("status").startswith("UP 0 years")
    assert client.api("version") == "FreeSWITCH Version 1.11.3-dev~64bit ( 64bit)\n"
    assert client.api("no_such foo") == "-ERR no_such Command not found!\n"
    assert client.api("show channels as json") == '{"row_count": 0}\n'
    assert client.api("global_getvar domain") == "127.0.0.1"
    assert client.api("uuid_exists 00000000-0000-0000-0000-000000000000") == "false"
    assert client.reply("foobar").reply_text == "-ERR command not found"


def test_background_job_only_when_subscribed_and_client_job_uuid_is_honoured(client):
    r = client.reply("bgapi status")
    assert r.reply_text.startswith("+OK Job-UUID: ") and r.headers["Job-UUID"] in r.reply_text
    assert client.reply("event plain BACKGROUND_JOB").reply_text == "+OK event listener enabled plain"
    job = "c0ffee00-0000-4000-8000-000000000001"
    assert client.reply("bgapi version", {"Job-UUID": job}).headers["Job-UUID"] == job
    ev = client.wait_event("BACKGROUND_JOB")
    assert ev.get("Job-UUID") == job and ev.body.startswith("FreeSWITCH Version")
    assert len(client.events("BACKGROUND_JOB")) == 1  # the first bgapi's job was not delivered


def test_originate_loopback_into_park_then_kill(client, sim):
    client.reply("event plain ALL")
    uuid = "1e8e5764-9561-4617-8e4c-0d88297feae3"
    body = client.api(f"originate {{origination_uuid={uuid},origination_caller_id_number=5551001}}"
                      "loopback/7005/default &park")
    assert body == f"+OK {uuid}\n"
    park = client.wait_event("CHANNEL_PARK", uuid)
    assert park.get("Channel-Name") == "loopback/7005-a"
    assert park.variable("origination_caller_id_number") == "5551001"
    rows = __import__("json").loads(client.api("show channels as json"))
    assert rows["row_count"] == 2 and {r["uuid"] for r in rows["rows"]} >= {uuid}
    assert client.api(f"uuid_kill {uuid}") == "+OK\n"
    client.wait_event("CHANNEL_HANGUP_COMPLETE", uuid)
    until(lambda: not sim.channels, message="both loopback legs gone")
    seqs = [int(e.get("Event-Sequence")) for e in client.events()]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_bgapi_originate_null_replies_at_once_and_posts_the_job(client):
    client.reply("event plain BACKGROUND_JOB CHANNEL_PARK")
    client.reply("bgapi originate null/1234 &park")
    job = client.wait_event("BACKGROUND_JOB")
    assert job.body.startswith("+OK ") and job.body.endswith("\n")
    uuid = job.body[4:].strip()
    client.wait_event("CHANNEL_PARK", uuid)


def test_heartbeat_then_re_schedule(client):
    client.reply("event plain HEARTBEAT RE_SCHEDULE")
    client.wait_event("RE_SCHEDULE", timeout=2)
    names = [e.name for e in client.events()]
    assert names[:2] == ["HEARTBEAT", "RE_SCHEDULE"]


def test_myevents_closes_with_the_notice_when_the_channel_hangs_up(client, sim):
    uuid = "26475921-e881-48f3-8525-d1efc22adaaa"
    client.api(f"originate {{origination_uuid={uuid}}}null/3333 &park")
    assert client.reply(f"myevents {uuid} plain").reply_text == "+OK Events Enabled"
    assert client.reply(f"myevents {uuid} plain").reply_text == "-ERR aready enabled."
    client.send(f"api uuid_kill {uuid}")
    notice = client.wait_for(lambda f: f.content_type == "text/disconnect-notice")
    assert notice.headers["Controlled-Session-UUID"] == uuid
    assert notice.headers["Content-Disposition"] == "disconnect"
    client.wait_eof()
    assert not client.events("CHANNEL_HANGUP_COMPLETE")


def test_event_formats_are_additive_and_the_last_format_wins(client):
    client.reply("event plain CHANNEL_CREATE")
    client.reply("event json CHANNEL_ANSWER")
    client.api("originate null/1 &park")
    client.wait_event("CHANNEL_ANSWER")
    kinds = {f.content_type for f in client.frames if f.content_type.startswith("text/event")}
    assert kinds == {"text/event-json"}
    assert {e.name for e in client.events()} == {"CHANNEL_CREATE", "CHANNEL_ANSWER"}


def test_filter_passes_only_the_matching_call(client):
    keep = "c2db24fa-a851-44f4-90ba-74273edda80e"
    assert client.reply(f"filter Unique-ID {keep}").reply_text == f"+OK filter added. [Unique-ID]=[{keep}]"
    client.reply("event plain CHANNEL_CREATE")
    client.api("originate {origination_uuid=89388ecd-8b7f-4afa-b95f-303ee59ef886}null/1111 &park")
    client.api(f"originate {{origination_uuid={keep}}}null/2222 &park")
    client.wait_event("CHANNEL_CREATE", keep)
    assert {e.unique_id for e in client.events()} == {keep}
    assert client.reply(f"filter delete Unique-ID {keep}").reply_text == \
        f"+OK filter deleted. [Unique-ID][{keep}]"

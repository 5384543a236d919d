"""Details of the simulator's events checked against the real captures (issue 8 item 19):
an originated leg with our own uuid, and the callee fields FreeSWITCH puts on originated legs."""
from __future__ import annotations

import json
import pathlib
from urllib.parse import unquote

from esl.sim.rawclient import RawClient
from esl.sim.server import Simulator

CORPUS = pathlib.Path(__file__).parent / "data" / "esl-corpus"
UUID = "7b9bf1cd-837b-46dc-bd69-8e216167dd33"


def corpus_events(name: str, channel_prefix: str) -> list[dict[str, str]]:
    """Decoded channel events of one capture whose Channel-Name starts with the prefix."""
    out = []
    for line in (CORPUS / name).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        raw = record["raw"]
        if record["dir"] != "recv" or "Content-Type: text/event-plain" not in raw:
            continue
        body = raw.split("\n\n", 1)[1].encode()
        headers = dict(l.split(": ", 1) for l in body.decode().split("\n") if ": " in l)
        if headers.get("Event-Name", "").startswith("CHANNEL_") and \
                unquote(headers.get("Channel-Name", "")).startswith(channel_prefix):
            out.append({k: unquote(v) for k, v in headers.items()})
    return out


def simulated(command: str, uuid: str) -> list[dict[str, str]]:
    sim = Simulator(password="pw", heartbeat_interval=0).start()
    client = RawClient("127.0.0.1", sim.port)
    try:
        client.reply("auth pw")
        client.reply("event plain ALL")
        client.api(command)
        client.wait_event("CHANNEL_PARK", uuid)
        return [dict(e.headers) for e in client.decoded if e.unique_id == uuid]
    finally:
        client.close()
        sim.stop()


def test_an_originate_with_our_uuid_renames_the_leg_first_as_freeswitch_does():
    real = corpus_events("11-show-channels-lag.jsonl", "null/1234")
    first_uuid = real[0]["Unique-ID"]
    real_names = [e["Event-Name"] for e in real if e["Unique-ID"] == first_uuid][:5]
    assert real_names[:2] == ["CHANNEL_UUID", "CHANNEL_OUTGOING"]          # what the capture shows
    sim = [e for e in simulated(f"originate {{origination_uuid={UUID}}}null/1234 &park()", UUID)
           if e["Event-Name"].startswith("CHANNEL_")]
    assert [e["Event-Name"] for e in sim][:5] == real_names
    assert sim[0]["Old-Unique-ID"] and sim[0]["Old-Unique-ID"] != UUID


def test_originated_legs_carry_freeswitch_callee_fields():
    real = corpus_events("11-show-channels-lag.jsonl", "null/1234")[0]
    sim = simulated(f"originate {{origination_uuid={UUID}}}null/1234 &park()", UUID)[0]
    assert real["Event-Name"] == sim["Event-Name"]
    for header in ("Caller-Callee-ID-Name", "Caller-Callee-ID-Number", "Caller-Caller-ID-Number",
                   "Caller-Destination-Number"):
        assert sim.get(header) == real.get(header), header

"""The console's written items ("Skriftlig") through the app `sentral run` serves, over a
pure engine: the panel and its shortcuts, offered and open items in the pushed state
(time left, transfer targets of every agency, templates filled in), take / decline /
transfer / close over the socket with translated refusals, the messages oldest first with
attachments served only to the item's agent and the tenant's supervisors, a reply stored
before the engine is asked to send it, and the SMS segment count."""
from __future__ import annotations

import pytest

from agent_ui.console_socket import BadCommand, to_event
from engine import events as ev
from tests.console.conftest import NOW, csrf_of, login, received
from tests.console.written_fixtures import desk, make_desk  # noqa: F401  (fixture)
from tests.helpers import until

NS = "/console"


def connect(d, user, password=None):
    client = d.app.test_client()
    login(client, user, password)
    return client, d.socketio.test_client(d.app, namespace=NS, flask_test_client=client)


def command(sio, **msg):
    return sio.emit("command", msg, namespace=NS, callback=True)


def last_state(sio, predicate=lambda s: True, message="state pushed"):
    def found():
        states = [s for s in received_all(sio) if predicate(s)]
        return states[-1] if states else None
    return until(found, message=message)


def received_all(sio):
    seen = getattr(sio, "_seen_states", [])
    seen.extend(received(sio, "console"))
    sio._seen_states = seen
    return seen


def kari_working(d):
    client, sio = connect(d, "kari")
    assert command(sio, name="login", queues=[]) == {"ok": True}
    return client, sio


def test_the_page_shows_the_written_panel_and_its_shortcuts_for_an_agent_of_a_written_queue(desk):
    client = desk.app.test_client()
    login(client, "kari")
    page = client.get("/console/").get_data(as_text=True)
    assert 'data-testid="written-panel"' in page and "Skriftlig" in page
    assert "Alt+A" in page and "Ta det tilbudte skriftlige" in page and "Ctrl+Enter" in page


def test_an_offered_item_is_pushed_with_its_time_left_targets_and_filled_templates(desk):
    _, sio = kari_working(desk)
    item = desk.arrive()
    state = last_state(sio, lambda s: s["written"], "item pushed")
    shown = state["written"][0]
    assert shown["id"] == item and shown["state"] == "offered" and shown["state_label"] == "Tilbudt"
    assert shown["kind_label"] == "E-post" and shown["sender_name"] == "Per Hansen"
    assert shown["left"] == pytest.approx(60.0)
    assert [t["id"] for t in shown["targets"]] == ["nav-mail"]            # the same channel, another agency too
    case = desk.engine.items[item].case
    assert [t["id"] for t in shown["templates"]] == ["thanks"]           # not the SMS or task templates
    assert shown["templates"][0]["text"] == f"Hei Per Hansen!\nTakk for henvendelsen din (sak {case}).\n" \
                                           "Hilsen Helsedirektoratet"


def test_take_reply_and_close_over_the_socket_and_http(desk):
    client, sio = kari_working(desk)
    item = desk.arrive()
    csrf = csrf_of(client)
    refused = client.post(f"/console/api/items/{item}/reply", json={"text": "Hei"}, headers={"X-CSRFToken": csrf})
    assert refused.status_code == 409 and refused.get_json()["error"] == "item.not_open"
    assert command(sio, name="item_accept", item=item) == {"ok": True}
    assert desk.engine.items[item].state.value == "open"
    last_state(sio, lambda s: s["written"] and s["written"][0]["state"] == "open", "open pushed")

    sent = client.post(f"/console/api/items/{item}/reply", json={"text": "  Svar kommer i morgen.  "},
                       headers={"X-CSRFToken": csrf})
    assert sent.status_code == 200, sent.get_json()
    mid = sent.get_json()["message"]
    stored = desk.store.written_message(mid)
    assert (stored.direction, stored.status, stored.author, stored.item) == ("out", "queued", "a1000", item)
    assert tuple(stored.recipients) == ("per@example.org",) and stored.sender == "post@helsedir.example"
    assert stored.subject == "Re: Spørsmål om vedtak" and stored.body == "Svar kommer i morgen."
    assert ev.ItemReply("a1000", item, mid, NOW) in desk.inbox.posted
    assert mid in desk.engine.items[item].messages

    messages = client.get(f"/console/api/items/{item}").get_json()["messages"]
    assert [(m["direction"], m["text"]) for m in messages] == [
        ("in", "Hei, når kommer svaret?"), ("out", "Svar kommer i morgen.")]           # oldest first
    assert messages[0]["subject"] == "Spørsmål om vedtak" and messages[0]["sender"] == "per@example.org"
    assert messages[1]["status_label"] == "I kø"

    command(sio, name="item_close", item=item, result="")               # the configured codes are required
    refusal = until(lambda: received(sio, "refused"), message="refusal pushed")
    assert refusal[0]["error"] == "item.refused"
    assert refusal[0]["message"] == "Den skriftlige henvendelsen kan ikke gjøre det nå."
    assert command(sio, name="item_close", item=item, result="solved") == {"ok": True}
    assert item not in desk.engine.items
    last_state(sio, lambda s: s["written"] == [], "closed pushed")


def test_decline_and_transfer_give_the_item_up(desk):
    _, sio = kari_working(desk)
    first, second = desk.arrive(), desk.arrive(sender="kim@example.org", name="Kim")
    command(sio, name="item_decline", item=first)
    assert desk.engine.items[first].state.value in ("queued", "offered")
    command(sio, name="item_accept", item=second)
    command(sio, name="item_transfer", item=second, queue="nav-mail")
    moved = desk.engine.items[second]
    assert moved.queue == "nav-mail" and moved.agent == "" and moved.state.value == "queued"


def test_another_agents_item_is_refused_translated_and_not_shown(desk):
    _, kari = kari_working(desk)
    item = desk.arrive()
    client, ola = connect(desk, "ola")
    assert command(ola, name="item_accept", item=item) == {"ok": True}    # accepted here, refused by the engine
    refusal = until(lambda: received(ola, "refused"), message="refusal pushed")
    assert refusal[0]["error"] == "item.not_yours"
    assert refusal[0]["message"] == "Den skriftlige henvendelsen er ikke din."
    assert client.get(f"/console/api/items/{item}").status_code == 403
    assert client.post(f"/console/api/items/{item}/reply", json={"text": "x"},
                       headers={"X-CSRFToken": csrf_of(client)}).status_code == 403


def test_attachments_are_listed_and_served_only_to_the_items_agent_and_the_tenants_supervisors(desk):
    kari, _ = kari_working(desk)
    pdf = desk.attachment(b"%PDF-1.4 vedtak", "vedtak.pdf")
    item = desk.arrive(attachments=[pdf])
    shown = kari.get(f"/console/api/items/{item}").get_json()
    listed = shown["messages"][0]["attachments"]
    assert listed == [{"name": "vedtak.pdf", "size": "15 B", "url": f"/console/api/items/{item}/attachments/in-"
                       f"{shown['messages'][0]['id'][3:]}/{pdf['digest']}"}]
    assert shown["attachments_note"] == ""
    got = kari.get(listed[0]["url"])
    assert got.status_code == 200 and got.data == b"%PDF-1.4 vedtak"
    assert "vedtak.pdf" in got.headers["Content-Disposition"]
    ola = desk.app.test_client()
    login(ola, "ola")
    assert ola.get(listed[0]["url"]).status_code == 403
    boss = desk.app.test_client()
    login(boss, "sjef", "pw-sjef-123456")
    assert boss.get(listed[0]["url"]).status_code == 200
    stranger = desk.app.test_client()
    login(stranger, "navsjef", "pw-navsjef-123456")
    assert stranger.get(listed[0]["url"]).status_code == 403
    other = "0" * 64                                                     # not listed on that message
    assert kari.get(listed[0]["url"].rsplit("/", 1)[0] + "/" + other).status_code == 404


def test_an_attachment_download_is_audited_with_its_digest_and_by_which_right(desk):
    kari, _ = kari_working(desk)
    pdf = desk.attachment(b"%PDF-1.4 vedtak", "vedtak.pdf")
    item = desk.arrive(attachments=[pdf])
    shown = kari.get(f"/console/api/items/{item}").get_json()
    message = shown["messages"][0]["id"]
    url = shown["messages"][0]["attachments"][0]["url"]
    assert kari.get(url).status_code == 200
    boss = desk.app.test_client()
    login(boss, "sjef", "pw-sjef-123456")
    assert boss.get(url).status_code == 200
    ola = desk.app.test_client()
    login(ola, "ola")
    assert ola.get(url).status_code == 403                              # refused: not audited as read
    tenant = desk.store.written_message(message).tenant
    rows = [(e.actor, e.target_kind, e.target_id, e.tenant, e.detail)
            for e in desk.store.audit_entries() if e.action == "item.attachment_read"]
    assert rows == [("kari", "message", message, tenant, {"digest": pdf["digest"], "via": "holder"}),
                    ("sjef", "message", message, tenant, {"digest": pdf["digest"], "via": "supervisor"})]


def test_by_default_the_console_serves_attachments_from_where_the_mailbox_intake_keeps_them(tmp_path, monkeypatch):
    from channels.email.attachments import AttachmentStore
    from channels.service import attachments_root

    monkeypatch.setenv("SENTRAL_ATTACHMENTS_DIR", str(tmp_path / "intake-attachments"))
    d = make_desk(tmp_path, attachments=False)          # no store handed to the app: its default
    try:
        intake = AttachmentStore(attachments_root(d.engine.deployment), 1_000_000)
        digest, size = intake.put_bytes(b"data")
        kari, _ = kari_working(d)
        item = d.arrive(attachments=[{"digest": digest, "name": "bilde.png", "content_type": "image/png",
                                      "size": size}])
        shown = kari.get(f"/console/api/items/{item}").get_json()
        (listed,) = shown["messages"][0]["attachments"]
        assert listed["name"] == "bilde.png" and listed["url"]
        assert kari.get(listed["url"]).data == b"data"
    finally:
        d.store.close()


def test_the_sms_segment_count(desk):
    client, _ = kari_working(desk)
    csrf = csrf_of(client)

    def count(text):
        return client.post("/console/api/items/segments", json={"text": text}, headers={"X-CSRFToken": csrf}).get_json()

    assert count("a" * 160)["segments"] == 1 and count("a" * 161)["segments"] == 2
    assert count("æøå " * 40)["segments"] == 1                              # GSM-7 has æ ø å
    one = count("Hei 🙂")
    assert one["encoding"] == "ucs2" and one["label"] == "1 SMS (UCS-2, 5 tegn)"
    assert count("😀" * 36)["segments"] == 2                                 # 72 UTF-16 units
    assert count("x" * 153 * 256)["segments"] is None


def test_an_sms_item_shows_the_number_the_norwegian_way_and_its_own_templates(desk):
    _, sio = kari_working(desk)
    desk.arrive(queue="helsedir-sms", channel="sms", sender="+4791520431", name="", subject="")
    shown = last_state(sio, lambda s: s["written"], "sms pushed")["written"][0]
    assert shown["sender_display"] == "915 20 431" and shown["kind_label"] == "SMS"
    assert [t["id"] for t in shown["templates"]] == ["thanks", "sms-ok"]
    assert shown["templates"][1]["text"] == "Hei 915 20 431, vi har fått meldingen din. Helsedirektoratet"
    assert shown["targets"] == []                                            # no other SMS queue


@pytest.mark.parametrize("msg", [{"name": "item_accept"}, {"name": "item_transfer", "item": "x"},
                                 {"name": "item_close", "item": 5}, {"name": "item_decline", "item": "x" * 65}])
def test_malformed_item_commands_are_refused_here(msg):
    with pytest.raises(BadCommand):
        to_event("a1000", msg, NOW)


def test_item_commands_carry_the_sessions_agent():
    assert to_event("a1000", {"name": "item_transfer", "item": "i1", "queue": "q", "agent": "a9"}, NOW) == \
        ev.ItemTransfer("a1000", "i1", "q", NOW)
    assert to_event("a1000", {"name": "item_close", "item": "i1", "result": "solved"}, NOW) == \
        ev.ItemClose("a1000", "i1", "solved", NOW)


# -- the supervisor page and the wallboard ------------------------------------------------------

def supervisor(d, user="sjef", password="pw-sjef-123456"):
    client = d.app.test_client()
    login(client, user, password)
    return client, d.socketio.test_client(d.app, namespace="/supervisor", flask_test_client=client)


def test_the_supervisor_sees_the_written_backlog_per_queue(desk):
    from datetime import timedelta

    _, kari = kari_working(desk)
    held = desk.arrive(at=NOW - timedelta(hours=3, minutes=5))           # kari takes one, then pauses
    command(kari, name="item_accept", item=held)
    command(kari, name="pause", reason="lunch")
    waiting = [desk.arrive(sender=f"p{n}@example.org", at=NOW - timedelta(minutes=n)) for n in (90, 20)]
    client, sio = supervisor(desk)
    page = client.get("/supervisor/").get_data(as_text=True)
    assert 'data-testid="written-backlog"' in page and "Kanaltype" in page and ">Løst<" in page
    state = until(lambda: [m["args"][0] for m in sio.get_received("/supervisor") if m["name"] == "supervisor"],
                  message="supervisor state")[-1]
    assert "helsedir-mail" not in [q["id"] for q in state["queues"]]        # not among the calls' queues
    rows = {r["id"]: r for r in state["written"]}
    assert set(rows) == {"helsedir-mail", "helsedir-sms"}                    # nav's is not sjef's
    mail = rows["helsedir-mail"]
    assert (mail["waiting"], mail["oldest"], mail["offered"], mail["open"]) == ("2", "1 t 30 min", "0", "1")
    assert mail["channel_label"] == "E-post" and mail["service_level"] == "100 %"   # taken within 4 h
    assert [i["id"] for i in mail["items"]] == waiting
    assert rows["helsedir-sms"]["oldest"] == "–"


def test_a_supervisor_closes_a_waiting_item_audited_and_another_agency_cannot(desk):
    item = desk.arrive()                                                     # nobody logged in: it waits
    _, sio = supervisor(desk)
    reply = sio.emit("action", {"name": "item_close", "item": item, "result": ""}, namespace="/supervisor",
                     callback=True)
    assert reply["ok"] is False and reply["message"] == "Velg en resultatkode."
    _, nav = supervisor(desk, "navsjef", "pw-navsjef-123456")
    denied = nav.emit("action", {"name": "item_close", "item": item, "result": "solved"}, namespace="/supervisor",
                      callback=True)
    assert denied["ok"] is False and denied["error"] == "action.denied"
    assert sio.emit("action", {"name": "item_close", "item": item, "result": "solved"}, namespace="/supervisor",
                    callback=True) == {"ok": True}
    assert item not in desk.engine.items
    assert ev.ItemClose("", item, "solved", NOW, by="sjef") in desk.inbox.posted
    entries = [(e.actor, e.action, e.target_id, e.detail.get("reason")) for e in desk.store.audit_entries()
               if e.action.startswith("item.")]
    assert entries == [("navsjef", "item.close.denied", item, "no supervisor role in the item's tenant"),
                       ("sjef", "item.close", item, "solved")]


def test_the_wallboard_shows_written_queues_with_waiting_and_the_oldest_age(desk):
    from datetime import timedelta

    desk.arrive(at=NOW - timedelta(hours=2, minutes=7))
    client = desk.app.test_client()
    login(client, "sjef", "pw-sjef-123456")
    snap = client.get("/api/wallboard").get_json()
    assert "helsedir-mail" not in [q["queue"] for q in snap["queues"]]
    written = {w["queue"]: w for w in snap["written"]}
    assert written["helsedir-mail"]["waiting"] == 1
    assert written["helsedir-mail"]["oldest_wait"] == pytest.approx(2 * 3600 + 7 * 60)
    assert written["helsedir-mail"]["channel"] == "email" and "nav-mail" not in written

"""Written channels over the REST API of the app `sentral run` serves (sentral.web.build_app
over a pure engine): web-form tasks (the `forms` role, idempotency, typed 400s, queue and
tenant checks, its own rate limit), the tenant's open items and their messages (audited),
agents' item commands (accept, decline, reply stored first, transfer, close), and the SMS
HTTP gateway's signed webhook."""
from __future__ import annotations

import dataclasses
import json

import pytest

from agent_ui.notices import Notices
from channels.sms.http_gateway import sign
from engine import events as ev
from engine.config import QueueConfig, SmsGateway, SmsNumber
from engine.core import Engine
from engine.written import ItemState
from sentral import web
from store.store import Store
from store.errors import InvalidRecord
from tests.api.conftest import Api, bearer, two_agency_deployment
from tests.api.test_auth_matrix import call, operations
from tests.console.conftest import NOW, PureInbox, _registered, users

SECRET = "gateway-webhook-secret-1234"
FORM = {"queue": "helsedir-forms", "subject": "Søknad om parkering", "text": "Jeg søker om parkeringstillatelse.",
        "contact": {"name": "Kari Nordmann", "email": "kari@example.no", "phone": "+47 912 34 567"},
        "fields": {"fødselsår": "1957", "kommune": "Fjordvik"}}


def written_deployment():
    d = two_agency_deployment()
    queues = {q.id: q for q in (
        QueueConfig("helsedir-forms", "helsedir", "Skjema", channel="task", ring_timeout=120),
        QueueConfig("helsedir-forms2", "helsedir", "Skjema 2", channel="task", ring_timeout=120),
        QueueConfig("helsedir-sms", "helsedir", "SMS", channel="sms", ring_timeout=120),
        QueueConfig("fjordvik-forms", "fjordvik", "Skjema", channel="task", ring_timeout=120))}
    agents = {**d.agents,
              "a1001": dataclasses.replace(d.agents["a1001"], queues={"helsedir-forms": 1, "helsedir-forms2": 1,
                                                                      "helsedir-sms": 1}),
              "a2000": dataclasses.replace(d.agents["a2000"], queues={"fjordvik-forms": 1})}
    sms = SmsGateway(kind="http", webhook_secret_env="TEST_SMS_WEBHOOK_SECRET",
                     numbers=(SmsNumber("+4722334455", "helsedir-sms"),))
    return dataclasses.replace(d, queues={**d.queues, **queues}, agents=agents, sms=sms)


@pytest.fixture
def wapi(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_SMS_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("SENTRAL_TASK_LIMIT", "5 per minute")
    store = Store(f"sqlite:///{tmp_path / 'api.db'}", migrate=True, clock=lambda: NOW)
    deployment = written_deployment()
    engine = Engine(deployment)
    for ext in ("1000", "1001", "2000"):
        engine.handle(_registered(ext))
    users(store)
    notices = Notices()
    inbox = PureInbox(engine, notices, lambda: NOW)
    app, socketio = web.build_app(store, lambda: deployment, lambda: engine, secure_cookies=False,
                                  notices=notices, post=inbox, message_queue="")
    app.testing = True
    yield Api(app, socketio, engine, inbox, store, notices)
    app.extensions["sentral_webhooks"].stop()
    store.close()


def task(api, headers, form=None, key=None, tenant="helsedir"):
    extra = {"Idempotency-Key": key} if key is not None else {}
    return api.client().post(f"/api/v1/tenants/{tenant}/tasks", json=form or FORM, headers={**headers, **extra})


def arrivals(api):
    return [e for e in api.inbox.posted if isinstance(e, ev.WrittenArrived)]


def stored_in(api, tenant="helsedir"):
    """Every inbound message of the tenant's cases (the store's view)."""
    from store import written
    import sqlalchemy as sa
    with api.store.engine.connect() as conn:
        ids = [r.id for r in conn.execute(sa.select(written.MESSAGES.c.id).where(
            written.MESSAGES.c.tenant == tenant, written.MESSAGES.c.direction == "in"))]
    return [api.store.written_message(i) for i in ids]


# -- web-form tasks ---------------------------------------------------------------------------
def test_a_forms_token_files_a_task_stored_once_and_in_the_engine(wapi):
    headers = bearer(wapi.token("helsedir", "forms"))
    answer = task(wapi, headers, key="form-0001")
    assert answer.status_code == 202, answer.get_json()
    got = answer.get_json()
    assert got["ok"] is True and got["duplicate"] is False
    m = wapi.store.written_message(got["message"])
    assert (m.channel, m.direction, m.tenant, m.queue, m.case, m.external_id) == (
        "task", "in", "helsedir", "helsedir-forms", got["case"], "form-0001")
    assert (m.sender, m.sender_name, m.subject) == ("kari@example.no", "Kari Nordmann", "Søknad om parkering")
    assert m.body == "Jeg søker om parkeringstillatelse.\n\nfødselsår: 1957\nkommune: Fjordvik"
    assert m.headers["contact"]["phone"] == "+4791234567"
    [arrived] = arrivals(wapi)
    assert (arrived.channel, arrived.queue, arrived.message, arrived.case) == (
        "task", "helsedir-forms", m.id, got["case"])
    item = wapi.engine.items[wapi.engine.filed[m.id]]
    assert (item.channel, item.queue, item.sender) == ("task", "helsedir-forms", "kari@example.no")


def test_the_same_idempotency_key_or_reference_makes_one_task(wapi):
    headers = bearer(wapi.token("helsedir", "forms"))
    first = task(wapi, headers, key="form-7").get_json()
    again = task(wapi, headers, key="form-7")
    assert again.status_code == 202
    assert again.get_json() == {**first, "duplicate": True}
    by_reference = {**FORM, "reference": "site-42"}
    one = task(wapi, headers, by_reference).get_json()
    two = task(wapi, headers, by_reference).get_json()
    assert (two["message"], two["case"], two["duplicate"]) == (one["message"], one["case"], True)
    assert len(stored_in(wapi)) == 2 and len(arrivals(wapi)) == 2
    assert len(wapi.engine.items) == 2
    conflict = task(wapi, headers, {**FORM, "text": "Noe annet"}, key="form-7")
    assert (conflict.status_code, conflict.get_json()["error"]) == (409, "task.idempotency_conflict")
    other_tenant = task(wapi, bearer(wapi.token("fjordvik", "forms")), {**FORM, "queue": "fjordvik-forms"},
                        key="form-7", tenant="fjordvik")
    assert other_tenant.get_json()["duplicate"] is False         # keys are per tenant
    fresh = bearer(wapi.token("helsedir", "forms"))            # (5 per minute per token in these tests)
    without_key = [task(wapi, fresh).get_json()["message"] for _ in range(2)]
    assert without_key[0] != without_key[1]                     # no key: every post is a task


BAD_INPUT = [
    ({k: v for k, v in FORM.items() if k != "subject"}, {}, "task.bad_subject"),
    ({**FORM, "subject": "x" * 201}, {}, "task.bad_subject"),
    ({**FORM, "text": ""}, {}, "task.bad_text"),
    ({**FORM, "text": 12}, {}, "task.bad_text"),
    ({**FORM, "text": "x" * 20_001}, {}, "task.text_too_long"),
    ({**FORM, "queue": 7}, {}, "task.bad_queue"),
    ({**FORM, "queue": "bad queue"}, {}, "api.bad_id"),
    ({**FORM, "contact": "kari@example.no"}, {}, "task.bad_contact"),
    ({**FORM, "contact": {"name": "Kari"}}, {}, "task.no_contact"),
    ({**FORM, "contact": {"email": "not-an-address"}}, {}, "task.bad_email"),
    ({**FORM, "contact": {"phone": "ring meg"}}, {}, "task.bad_phone"),
    ({**FORM, "contact": {"email": "k@example.no", "age": "1"}}, {}, "task.bad_contact"),
    ({**FORM, "fields": ["a"]}, {}, "task.bad_fields"),
    ({**FORM, "fields": {"a": 1}}, {}, "task.bad_fields"),
    ({**FORM, "fields": {"a\nb": "1"}}, {}, "task.bad_fields"),
    ({**FORM, "fields": {f"f{i}": "x" for i in range(51)}}, {}, "task.too_many_fields"),
    ({**FORM, "reference": "x" * 201}, {}, "task.bad_reference"),
    (FORM, {"Idempotency-Key": "x" * 201}, "task.bad_idempotency_key"),
    ("not an object", {}, "api.bad_body"),
]


def test_bad_input_is_400_with_a_typed_error_and_stores_nothing(wapi):
    for form, headers, error in BAD_INPUT:
        answer = wapi.client().post("/api/v1/tenants/helsedir/tasks", json=form,
                                    headers={**bearer(wapi.token("helsedir", "forms")), **headers})
        assert (answer.status_code, answer.get_json()["error"]) == (400, error), (error, answer.get_json())
    assert stored_in(wapi) == [] and wapi.inbox.posted == []


def test_fifty_fields_and_twenty_thousand_characters_are_taken(wapi):
    form = {**FORM, "text": "x" * 20_000, "fields": {f"f{i}": "y" for i in range(50)}}
    answer = task(wapi, bearer(wapi.token("helsedir", "forms")), form)
    assert answer.status_code == 202, answer.get_json()


def test_queue_and_tenant_checks(wapi):
    forms = bearer(wapi.token("helsedir", "forms"))
    cases = [
        (forms, "helsedir", {**FORM, "queue": "no-such-queue"}, 404, "task.unknown_queue"),
        (forms, "helsedir", {**FORM, "queue": "fjordvik-forms"}, 404, "task.unknown_queue"),   # another tenant's
        (forms, "helsedir", {**FORM, "queue": "helsedir-main"}, 400, "task.not_task_queue"),   # a voice queue
        (forms, "helsedir", {**FORM, "queue": "helsedir-sms"}, 400, "task.not_task_queue"),
        (forms, "fjordvik", {**FORM, "queue": "fjordvik-forms"}, 403, "action.denied"),         # other tenant's token
        (bearer(wapi.token("fjordvik", "admin")), "helsedir", FORM, 403, "action.denied"),
        (bearer(wapi.token("helsedir", "employee")), "helsedir", FORM, 403, "action.denied"),
    ]
    for headers, tenant, form, status, error in cases:
        answer = task(wapi, headers, form, tenant=tenant)
        assert (answer.status_code, answer.get_json()["error"]) == (status, error), (tenant, form["queue"])
    assert stored_in(wapi) == [] and stored_in(wapi, "fjordvik") == [] and wapi.inbox.posted == []
    for role in ("operator", "supervisor", "tenant_admin"):
        assert task(wapi, bearer(wapi.token("helsedir", role))).status_code == 202, role
    assert task(wapi, bearer(wapi.token("*", "admin"))).status_code == 202


def test_a_forms_token_can_do_nothing_else(wapi):
    client = wapi.client()
    headers = bearer(wapi.token("helsedir", "forms"))
    for method, url, body, _ in operations(client):
        if url.endswith("/tasks"):
            continue
        answer = call(client, method, url, body, headers)
        assert answer.status_code == 403, (method, url, answer.get_json())
    assert wapi.inbox.posted == []
    events = wapi.socketio.test_client(wapi.app, namespace="/api/events",
                                       auth={"token": wapi.token("helsedir", "forms")})
    assert not events.is_connected("/api/events")                    # not even the event stream
    with pytest.raises(InvalidRecord):
        wapi.store.create_token("site", "*", "forms", "test")     # "*" is the admin role's only


def test_the_cli_creates_a_forms_token(wapi, tmp_path, capsys):
    from sentral.commands.api import token_create
    import argparse
    url = str(wapi.store.engine.url)
    assert token_create(argparse.Namespace(db=url, name="kommune.no", tenant="helsedir", role="forms")) == 0
    token = capsys.readouterr().out.split()[-1]
    assert task(wapi, bearer(token)).status_code == 202


def test_tasks_have_their_own_rate_limit_per_token(wapi):
    headers = bearer(wapi.token("helsedir", "forms"))
    codes = [task(wapi, headers).status_code for _ in range(6)]
    assert codes == [202] * 5 + [429]                      # SENTRAL_TASK_LIMIT = 5 per minute here
    assert task(wapi, bearer(wapi.token("helsedir", "forms"))).status_code == 202     # another token
    listed = wapi.client().get("/api/v1/tenants/helsedir/items", headers=bearer(wapi.token("helsedir", "operator")))
    assert listed.status_code == 200                       # other routes keep the API's limit


# -- items and their messages -------------------------------------------------------------------
def login(api, agent="a1001"):
    answer = api.client().post(f"/api/v1/agents/{agent}/login", json={"queues": []},
                               headers=bearer(api.token("helsedir" if agent != "a2000" else "fjordvik", "operator")))
    assert answer.status_code == 202


def filed_task(api, tenant="helsedir", queue="helsedir-forms", key=None):
    answer = task(api, bearer(api.token(tenant, "forms")), {**FORM, "queue": queue}, key=key, tenant=tenant)
    assert answer.status_code == 202
    message = answer.get_json()["message"]
    return api.engine.items[api.engine.filed[message]], message


def test_the_tenants_open_items_from_the_engine(wapi):
    login(wapi)
    offered, _ = filed_task(wapi)
    waiting, _ = filed_task(wapi, queue="helsedir-forms2")
    theirs, _ = filed_task(wapi, "fjordvik", "fjordvik-forms")
    client = wapi.client()
    answer = client.get("/api/v1/tenants/helsedir/items", headers=bearer(wapi.token("helsedir", "operator")))
    assert answer.status_code == 200
    items = answer.get_json()["items"]
    assert {i["id"] for i in items} == {offered.id, waiting.id}
    first = next(i for i in items if i["id"] == offered.id)
    assert (first["channel"], first["queue"], first["state"], first["agent"], first["sender"], first["messages"]) == (
        "task", "helsedir-forms", "offered", "a1001", "kari@example.no", 1)
    assert theirs.id not in {i["id"] for i in items}
    for headers in (bearer(wapi.token("fjordvik", "operator")), bearer(wapi.token("helsedir", "employee"))):
        assert client.get("/api/v1/tenants/helsedir/items", headers=headers).status_code == 403


def test_a_supervisor_reads_an_items_messages_and_it_is_audited(wapi):
    item, message = filed_task(wapi)
    theirs, _ = filed_task(wapi, "fjordvik", "fjordvik-forms")
    client = wapi.client()
    record, secret = wapi.store.create_token("lead", "helsedir", "supervisor", "test")
    answer = client.get(f"/api/v1/tenants/helsedir/items/{item.id}/messages", headers=bearer(secret))
    assert answer.status_code == 200, answer.get_json()
    [m] = answer.get_json()["messages"]
    assert (m["id"], m["direction"], m["body"].splitlines()[0], m["sender"]) == (
        message, "in", "Jeg søker om parkeringstillatelse.", "kari@example.no")
    [entry] = wapi.store.audit_entries(target_id=item.id)
    assert (entry.actor, entry.action, entry.tenant, entry.detail) == (
        f"token:{record.id}", "item.messages_read", "helsedir", {"messages": 1})
    operator = client.get(f"/api/v1/tenants/helsedir/items/{item.id}/messages",
                          headers=bearer(wapi.token("helsedir", "operator")))
    assert (operator.status_code, operator.get_json()["error"]) == (403, "action.denied")
    assert [e.action for e in wapi.store.audit_entries(target_id=item.id)] == [
        "item.messages_read", "item.messages_read.denied"]
    other = client.get(f"/api/v1/tenants/fjordvik/items/{item.id}/messages",
                       headers=bearer(wapi.token("fjordvik", "supervisor")))
    assert other.status_code == 404                                   # not fjordvik's item
    through = client.get(f"/api/v1/tenants/helsedir/items/{theirs.id}/messages", headers=bearer(secret))
    assert through.status_code == 404                                 # fjordvik's item via helsedir's path
    unknown = client.get("/api/v1/tenants/helsedir/items/ix-999/messages", headers=bearer(secret))
    assert (unknown.status_code, unknown.get_json()["error"]) == (404, "item.not_found")


def test_a_closed_items_messages_come_from_the_store(wapi):
    from store import written
    item, message = filed_task(wapi)
    wapi.inbox(ev.ItemClose("", item.id, "solved", NOW, by="lead"))
    assert item.ended
    with wapi.store.transaction() as conn:                            # what the runtime does with its record
        written.file_messages(conn, item.id, [message])
    answer = wapi.client().get(f"/api/v1/tenants/helsedir/items/{item.id}/messages",
                               headers=bearer(wapi.token("helsedir", "supervisor")))
    assert answer.status_code == 200 and [m["id"] for m in answer.get_json()["messages"]] == [message]
    assert wapi.client().get(f"/api/v1/tenants/fjordvik/items/{item.id}/messages",
                             headers=bearer(wapi.token("fjordvik", "supervisor"))).status_code == 404


# -- agents' item commands ----------------------------------------------------------------------
def command(api, what, item_id, body=None, agent="a1001", headers=None):
    return api.client().post(f"/api/v1/agents/{agent}/items/{item_id}/{what}", json=body or {},
                             headers=headers or bearer(api.token("helsedir", "operator")))


def test_accept_reply_and_close_through_the_api(wapi):
    login(wapi)
    item, _ = filed_task(wapi)
    assert (item.state, item.agent) == (ItemState.OFFERED, "a1001")
    record, secret = wapi.store.create_token("crm", "helsedir", "operator", "test")
    headers = bearer(secret)
    accepted = command(wapi, "accept", item.id, headers=headers)
    assert accepted.status_code == 202 and accepted.get_json() == {"ok": True, "event": "ItemAccept"}
    assert item.state is ItemState.OPEN
    replied = command(wapi, "reply", item.id, {"text": "Takk, vi ringer i morgen."}, headers=headers)
    assert replied.status_code == 202, replied.get_json()
    message = replied.get_json()["message"]
    out = wapi.store.written_message(message)
    assert (out.direction, out.status, out.author, out.item, out.case, out.channel, out.recipients, out.body) == (
        "out", "queued", "a1001", item.id, item.case, "task", ("kari@example.no",), "Takk, vi ringer i morgen.")
    assert wapi.inbox.posted[-1] == ev.ItemReply("a1001", item.id, message, NOW)
    assert item.replies == 1 and message in item.messages
    closed = command(wapi, "close", item.id, {"result": "solved"}, headers=headers)
    assert closed.status_code == 202 and item.ended and item.result == "solved"
    assert [e.action for e in wapi.store.audit_entries(actor=f"token:{record.id}")] == [
        "item.accept", "item.reply", "item.close"]


def test_decline_and_transfer(wapi):
    login(wapi)
    item, _ = filed_task(wapi)
    assert command(wapi, "decline", item.id).status_code == 202
    assert ev.ItemDecline("a1001", item.id, NOW) in wapi.inbox.posted
    assert (item.state, item.agent) == (ItemState.OFFERED, "a1001")      # the only agent: offered again
    assert command(wapi, "accept", item.id).status_code == 202
    moved = command(wapi, "transfer", item.id, {"queue": "fjordvik-forms"})
    assert moved.status_code == 202 and item.queue == "fjordvik-forms" and item.state is ItemState.QUEUED


def test_item_command_refusals_store_and_post_nothing(wapi):
    login(wapi)
    item, _ = filed_task(wapi)
    posted = len(wapi.inbox.posted)
    cases = [
        ("reply", item.id, {"text": "for tidlig"}, "a1001", None, 409, "item.refused"),        # offered, not open
        ("accept", "ix-999", {}, "a1001", None, 404, "item.not_found"),
        ("accept", item.id, {}, "a1000", None, 409, "item.not_yours"),
        ("accept", item.id, {}, "a1001", bearer(wapi.token("fjordvik", "operator")), 403, "action.denied"),
        ("accept", item.id, {}, "a1001", bearer(wapi.token("helsedir", "employee")), 403, "action.denied"),
        ("transfer", item.id, {"queue": "helsedir-main"}, "a1001", None, 404, "action.unknown_queue"),
        ("transfer", item.id, {"queue": "bad queue"}, "a1001", None, 400, "api.bad_id"),
        ("close", item.id, {"result": "nonsense"}, "a1001", None, 400, "action.bad_result"),
    ]
    for what, item_id, body, agent, headers, status, error in cases:
        answer = command(wapi, what, item_id, body, agent, headers)
        assert (answer.status_code, answer.get_json()["error"]) == (status, error), (what, agent, answer.get_json())
    assert command(wapi, "accept", item.id).status_code == 202
    for body in ({"text": ""}, {"text": "x" * 20_001}, {"text": 5}):
        answer = command(wapi, "reply", item.id, body)
        assert (answer.status_code, answer.get_json()["error"]) == (400, "item.bad_text"), body
    assert command(wapi, "decline", item.id).get_json()["error"] == "item.refused"          # open, not offered
    assert [type(e).__name__ for e in wapi.inbox.posted[posted:]] == ["ItemAccept"]
    assert [m.direction for m in wapi.store.written_messages(case=item.case)] == ["in"]


# -- the SMS gateway's webhook ------------------------------------------------------------------
def sms(api, payload, secret=SECRET, signature=None):
    raw = json.dumps(payload).encode()
    header = signature if signature is not None else sign(secret.encode(), raw)
    return api.client().post("/api/v1/sms/inbound", data=raw, content_type="application/json",
                             headers={"X-Signature": header})


INBOUND = {"type": "message", "id": "gw-1", "from": "+4791234567", "to": "+4722334455", "text": "Hei, er dere åpne?"}


def test_a_signed_sms_is_filed_once_per_gateway_id(wapi):
    first = sms(wapi, INBOUND)
    assert first.status_code == 200, first.get_json()
    got = first.get_json()
    assert (got["kind"], got["duplicate"], got["unknown_number"]) == ("message", False, False)
    m = wapi.store.written_message(got["message"])
    assert (m.channel, m.queue, m.sender, m.external_id, m.body) == (
        "sms", "helsedir-sms", "+4791234567", "gw-1", "Hei, er dere åpne?")
    again = sms(wapi, INBOUND)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert again.get_json()["message"] == got["message"]
    assert len(arrivals(wapi)) == 1 and len(stored_in(wapi)) == 1
    item = wapi.engine.items[wapi.engine.filed[m.id]]
    assert (item.channel, item.queue) == ("sms", "helsedir-sms")


def test_a_bad_or_missing_signature_is_401_and_nothing_is_stored(wapi):
    for answer in (sms(wapi, INBOUND, secret="another-secret-000"), sms(wapi, INBOUND, signature=""),
                   sms(wapi, INBOUND, signature="sha256=00")):
        assert (answer.status_code, answer.get_json()["error"]) == (401, "sms.bad_signature")
    no_header = wapi.client().post("/api/v1/sms/inbound", json=INBOUND)
    assert no_header.status_code == 401
    assert stored_in(wapi) == [] and wapi.inbox.posted == []


def test_webhook_malformed_status_and_unconfigured(wapi, monkeypatch):
    bad = sms(wapi, {"type": "message"})
    assert (bad.status_code, bad.get_json()["error"]) == (400, "sms.malformed_webhook")
    status = sms(wapi, {"type": "status", "id": "gw-9", "reference": "msg-1", "status": "delivered"})
    assert status.status_code == 200 and status.get_json() == {"ok": True, "kind": "status"}
    unknown = sms(wapi, {**INBOUND, "id": "gw-2", "to": "+4799999999"})
    assert unknown.status_code == 200 and unknown.get_json()["unknown_number"] is True
    monkeypatch.delenv("TEST_SMS_WEBHOOK_SECRET")
    assert sms(wapi, {**INBOUND, "id": "gw-3"}).get_json()["error"] == "sms.no_secret"
    assert len(stored_in(wapi)) == 1


def test_the_webhook_is_501_without_an_http_gateway(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'api.db'}", migrate=True, clock=lambda: NOW)
    deployment = dataclasses.replace(written_deployment(), sms=None)
    engine = Engine(deployment)
    app, _ = web.build_app(store, lambda: deployment, lambda: engine, secure_cookies=False, notices=None,
                           post=PureInbox(engine, Notices(), lambda: NOW), message_queue="")
    app.testing = True
    raw = json.dumps(INBOUND).encode()
    answer = app.test_client().post("/api/v1/sms/inbound", data=raw, content_type="application/json",
                                    headers={"X-Signature": sign(SECRET.encode(), raw)})
    assert (answer.status_code, answer.get_json()["error"]) == (501, "sms.not_configured")
    unsigned = app.test_client().post("/api/v1/sms/inbound", json=INBOUND)
    assert (unsigned.status_code, unsigned.get_json()["error"]) == (401, "sms.bad_signature")
    store.close()


def test_a_messages_attachments_show_the_stored_type_as_content_type():
    from datetime import datetime, timezone

    from agent_ui.api_written import message_view
    from store.written import MessageRecord
    rec = MessageRecord(id="in-1", tenant="helsedir", channel="email", direction="in", case="ABC123",
                        created_at=datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc), sender="kari@kunde.example",
                        attachments=[{"digest": "d" * 64, "name": "vedtak.pdf", "type": "application/pdf",
                                      "size": 15},
                                     {"digest": "", "name": "stor.zip", "type": "application/zip", "size": 9}])
    assert message_view(rec)["attachments"] == [
        {"name": "vedtak.pdf", "content_type": "application/pdf", "size": 15},
        {"name": "stor.zip", "content_type": "application/zip", "size": 9}]

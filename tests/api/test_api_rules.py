"""The API's rules beyond the matrix: ids with spaces, quotes or braces are refused before
anything is looked up (nothing reaches the engine), a tenant_admin token manages only its
agency's users and cannot grant '*' or admin, the event stream needs a token and carries
only the token's agency, webhooks are signed."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from agent_ui.api_webhooks import WebhookSender, networks_from_env, url_problem
from tests.api.conftest import bearer
from tests.helpers import until

BAD_IDS = ["a 1000", "a1000'", 'a"1000', "a{1000}", "{agent}", "a1000;hangup", "..%2F..", "-x"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_malformed_id_is_400_and_reaches_nothing(api, bad):
    client, headers = api.client(), bearer(api.token("*", "admin"))
    from urllib.parse import quote
    for url in (f"/api/v1/agents/{quote(bad)}/answer", f"/api/v1/monitors/{quote(bad)}",
                f"/api/v1/queues/{quote(bad)}/callbacks"):
        answer = client.post(url, json={"number": "4722241600"}, headers=headers) if "callbacks" in url else \
            client.open(url, method="DELETE" if "monitors" in url else "POST", headers=headers)
        assert answer.status_code in (400, 404), (url, answer.status_code)
        if answer.status_code == 400:
            assert answer.get_json()["error"] == "api.bad_id"
    for body in ({"target": "1001' & hangup"}, {"target": "{x}", "kind": "user"}, {"target": "1 2"}):
        answer = client.post("/api/v1/agents/a1000/transfer", json=body, headers=headers)
        assert answer.status_code == 400 and answer.get_json()["error"] in ("api.bad_target", "api.bad_id")
    answer = client.post("/api/v1/agents/a1000/pickup", json={"interaction": "ix 1'"}, headers=headers)
    assert answer.status_code == 400
    answer = client.post("/api/v1/agents/a1000/login", data="[1,2]", headers=headers, content_type="application/json")
    assert answer.status_code == 400 and answer.get_json()["error"] == "api.bad_body"
    assert api.inbox.posted == []


def test_an_unknown_agent_is_404(api):
    answer = api.client().post("/api/v1/agents/a9999/answer", headers=bearer(api.token("*", "admin")))
    assert answer.status_code == 404 and answer.get_json()["error"] == "action.unknown_agent"


def test_a_tenant_admin_creates_users_of_its_agency_only(api):
    client, headers = api.client(), bearer(api.token("helsedir", "tenant_admin"))
    made = client.post("/api/v1/tenants/helsedir/users", headers=headers,
                       json={"username": "nina", "roles": [{"tenant": "helsedir", "role": "operator"}]})
    assert made.status_code == 201
    assert api.store.authenticate("nina", made.get_json()["password"]) is not None
    for roles in ([{"tenant": "*", "role": "operator"}], [{"tenant": "fjordvik", "role": "operator"}],
                  [{"tenant": "helsedir", "role": "admin"}]):
        answer = client.post("/api/v1/tenants/helsedir/users", headers=headers,
                             json={"username": "x" + str(len(roles[0]["tenant"])), "roles": roles})
        assert answer.status_code == 403, roles
    answer = client.put("/api/v1/users/nina/roles", headers=headers,
                        json={"roles": [{"tenant": "fjordvik", "role": "supervisor"}]})
    assert answer.status_code == 403
    api.store.create_user("both", "pw-both-123456", roles=[("helsedir", "operator"), ("fjordvik", "operator")])
    assert client.post("/api/v1/users/both/disable", headers=headers).status_code == 403
    assert client.post("/api/v1/users/nobody/disable", headers=headers).status_code == 403   # same as a stranger
    assert client.post("/api/v1/users/nina/disable", headers=headers).status_code == 200
    assert api.store.user("nina").active is False
    audit = [(e.actor, e.action) for e in api.store.audit_entries(target_id="nina")]
    assert audit[0][1] == "user.add" and audit[-1][1] == "user.disable" and audit[0][0].startswith("token:")


def test_the_event_stream_needs_a_token_and_carries_only_its_agency(api):
    ns = "/api/events"
    refused = api.socketio.test_client(api.app, namespace=ns, auth={"token": "sentral_1_nope"})
    assert not refused.is_connected(ns)
    assert not api.socketio.test_client(api.app, namespace=ns).is_connected(ns)
    helsedir = api.socketio.test_client(api.app, namespace=ns, auth={"token": api.token("helsedir", "supervisor")})
    fjordvik = api.socketio.test_client(api.app, namespace=ns, auth={"token": api.token("fjordvik", "operator")})
    assert helsedir.is_connected(ns) and fjordvik.is_connected(ns)
    admin = bearer(api.token("*", "admin"))
    client = api.client()
    assert client.post("/api/v1/agents/a1000/login", json={}, headers=admin).status_code == 202
    assert client.post("/api/v1/agents/a2000/login", json={}, headers=admin).status_code == 202

    def events(sio):
        return [m["args"][0] for m in sio.get_received(ns) if m["name"] == "event"]
    mine, theirs = events(helsedir), events(fjordvik)
    assert [(e["kind"], e["data"]["agent"], e["data"]["state"]) for e in mine] == [("agent.state", "a1000", "available")]
    assert [(e["kind"], e["data"]["agent"]) for e in theirs] == [("agent.state", "a2000")]
    assert all(e["tenant"] == "helsedir" and e["id"] and e["at"] for e in mine)


def test_webhooks_are_signed_and_limited_to_the_allowed_networks(api, httpserver):
    secret = "s3cret-s3cret-s3cret"
    got = []
    httpserver.expect_request("/hook", method="POST").respond_with_handler(
        lambda request: got.append(request) or __import__("werkzeug").Response("", 204))
    api.store.add_webhook(httpserver.url_for("/hook"), "helsedir", secret, ["agent.state"], "test")
    api.store.add_webhook("http://192.0.2.1:9/hook", "helsedir", secret, [], "test")   # outside loopback
    sender = api.app.extensions["sentral_webhooks"]
    api.client().post("/api/v1/agents/a1000/login", json={}, headers=bearer(api.token("helsedir", "operator")))
    until(lambda: got and sender.stats["refused"] == 1, timeout=10, message=lambda: sender.stats)
    request = got[0]
    body = request.get_data()
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert request.headers["X-Sentral-Signature"] == expected
    assert request.headers["X-Sentral-Event"] == "agent.state"
    assert json.loads(body)["data"]["agent"] == "a1000"
    assert url_problem("http://192.0.2.1/x", networks_from_env({})) is not None
    assert url_problem("ftp://127.0.0.1/x", networks_from_env({})) is not None


def test_a_full_webhook_queue_drops_and_counts_never_blocks(api):
    sender = WebhookSender(api.store, queue_size=2)       # not started: nothing takes from the queue
    for i in range(5):
        sender.submit({"id": str(i), "kind": "agent.state", "tenant": "helsedir", "at": "", "data": {}})
    assert sender.stats["queued"] == 2 and sender.stats["dropped"] == 3


def test_a_failing_receiver_is_tried_again_then_given_up(api, httpserver):
    httpserver.expect_request("/down").respond_with_data("no", status=500)
    hook = api.store.add_webhook(httpserver.url_for("/down"), "helsedir", "x" * 16, [], "test")
    sender = WebhookSender(api.store, backoff=(0.01, 0.02))
    assert sender.deliver(hook, {"id": "1", "kind": "agent.state", "tenant": "helsedir", "at": "", "data": {}}) is False
    assert sender.stats["attempts"] == 3 and sender.stats["failed"] == 1
    assert len(httpserver.log) == 3

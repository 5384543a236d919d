"""Hostile input to the API, the web pages and the webhooks: unicode digits, JSON of the
wrong shape, path-like ids, oversized bodies, POSTs without the CSRF token, and a webhook
host whose name resolves elsewhere at send time than when it was checked."""
from __future__ import annotations

import re
import socket

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from agent_ui.api_webhooks import WebhookSender, url_problem
from store.tokens import parse
from tests.console.supervisor_fixtures import World

PW = "ta-password-0123"


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    w.store.create_user("ta", PW, roles=[("nordlys", "tenant_admin")])
    yield w
    w.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def csrf(client, page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).get_data(as_text=True)).group(1)


# -- unicode digits ---------------------------------------------------------------------------------

@pytest.mark.parametrize("token", ["sentral_\u00b2_secret", "sentral_\u0661_secret", "sentral_\uff11_secret"])
def test_a_token_with_unicode_digits_is_malformed_not_a_crash(world, token):
    assert parse(token) is None
    answer = world.app.test_client().get("/api/v1/tenants/nordlys/agents", headers=bearer(token))
    assert answer.status_code == 401 and answer.get_json()["error"] == "api.bad_token"


@pytest.mark.parametrize("number", ["\u00b2\u00b3", "+\u0664\u0667\u0669", "\uff14\uff17"])
def test_a_callback_number_of_unicode_digits_is_refused_before_the_engine(world, number):
    token = world.store.create_token("t", "nordlys", "supervisor", "test")[1]
    posted = len(world.inbox.posted)
    answer = world.app.test_client().post("/api/v1/queues/nl/callbacks", json={"number": number},
                                          headers=bearer(token))
    assert answer.status_code == 400 and answer.get_json()["error"] == "action.bad_number"
    assert len(world.inbox.posted) == posted


def test_a_queue_level_of_unicode_digits_on_the_agents_page_is_a_message_not_a_500(world):
    client = world.app.test_client()
    client.post("/login", data={"username": "ta", "password": PW, "csrf_token": csrf(client, "/login")})
    answer = client.post("/admin/agents/", data={"tenant": "nordlys", "id": "a9", "extension": "9009",
                                                 "level-nl": "\u00b2", "csrf_token": csrf(client, "/admin/agents/")})
    assert answer.status_code == 400


# -- JSON of the wrong shape, ids, sizes ------------------------------------------------------------

@pytest.mark.parametrize("body", [
    [{"id": "a9"}],                                                       # a list, not an object
    {"id": "a9", "extension": "9009", "queues": [["nl"]]},                # unhashable queue ids
    {"id": "a9", "extension": "9009", "queues": [{"nl": 1}]},
    {"id": "a9", "extension": "9009", "queues": {"nl": "1"}},             # a level as a string
    {"id": "a9", "extension": "9009", "queues": {"nl": 1}, "skills": [["x"]]},
    {"id": ["a9"], "extension": "9009", "queues": {"nl": 1}},
])
def test_agent_bodies_of_the_wrong_shape_are_400(world, body):
    token = world.store.create_token("t", "nordlys", "tenant_admin", "test")[1]
    answer = world.app.test_client().post("/api/v1/tenants/nordlys/agents", json=body, headers=bearer(token))
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["error"] in ("api.bad_body", "agents.invalid")


@pytest.mark.parametrize("path", ["/api/v1/tenants/nordlys/agents/..%2F..%2Fetc",
                                  "/api/v1/tenants/nordlys/agents/a%0Ab", "/api/v1/tenants/nordlys/agents/%C3%A6"])
def test_path_like_or_unicode_agent_ids_never_reach_the_files(world, path):
    token = world.store.create_token("t", "nordlys", "tenant_admin", "test")[1]
    answer = world.app.test_client().delete(path, headers=bearer(token))
    assert answer.status_code in (400, 404) and answer.status_code != 500


def test_an_oversized_body_is_413(world):
    token = world.store.create_token("t", "nordlys", "tenant_admin", "test")[1]
    answer = world.app.test_client().post("/api/v1/tenants/nordlys/users", data=b"{" + b" " * 70_000 + b"}",
                                          content_type="application/json", headers=bearer(token))
    assert answer.status_code == 413


# -- CSRF on every page POST ------------------------------------------------------------------------

def test_every_post_of_the_pages_needs_the_csrf_token_and_the_api_needs_none(world):
    client = world.client("root")
    checked = 0
    for rule in world.app.url_map.iter_rules():
        if not rule.methods & {"POST", "PUT", "DELETE", "PATCH"}:
            continue
        path = re.sub(r"<int[^>]*:[^>]+>", "1", rule.rule)
        path = re.sub(r"<[^>]+>", "x", path)
        method = next(m for m in ("POST", "PUT", "DELETE", "PATCH") if m in rule.methods)
        answer = client.open(path, method=method, data={"x": "1"})
        if rule.rule.startswith("/api/"):
            assert answer.status_code == 401, rule.rule                    # no cookie credential
        else:
            assert answer.status_code == 400 and b"CSRF" in answer.data, rule.rule
            checked += 1
    assert checked >= 10


# -- webhooks ---------------------------------------------------------------------------------------

class Resolver:
    """getaddrinfo for one name: the allowed address at the check, another one later (a
    DNS answer that changes between the check and the connection)."""

    def __init__(self, name: str, answers: list[str]):
        self.name, self.answers, self.real = name, answers, socket.getaddrinfo

    def __call__(self, host, port, *args, **kwargs):
        if host != self.name:
            return self.real(host, port, *args, **kwargs)
        address = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 80)))]


def receiver(host: str, port: int, got: list):
    server = HTTPServer(host=host, port=port)
    server.expect_request("/hook", method="POST").respond_with_handler(
        lambda request: got.append(request.get_data()) or Response("", 204))
    server.start()
    return server


def test_a_webhook_is_sent_to_the_address_that_was_checked_not_to_a_later_dns_answer(world, monkeypatch):
    import ipaddress

    inside, outside = [], []
    for _ in range(20):                                   # one port free on both addresses
        outer = receiver("127.0.0.2", 0, outside)         # "the internal network": not allowed
        try:
            inner = receiver("127.0.0.1", outer.port, inside)
            break
        except OSError:
            outer.stop()
    else:
        raise AssertionError("no port free on both 127.0.0.1 and 127.0.0.2 in 20 tries")
    try:
        monkeypatch.setattr(socket, "getaddrinfo", Resolver("hook.test", ["127.0.0.1", "127.0.0.2"]))
        hook = world.store.add_webhook(f"http://hook.test:{outer.port}/hook", "nordlys", "x" * 16, [], "test")
        sender = WebhookSender(world.store, (ipaddress.ip_network("127.0.0.1/32"),), backoff=())
        event = {"id": "1", "kind": "agent.state", "tenant": "nordlys", "at": "", "data": {}}
        sender.deliver(hook, event)
        assert outside == []
        assert len(inside) == 1
    finally:
        outer.stop()
        inner.stop()


@pytest.mark.parametrize("url", ["http://2130706433/x", "http://0x7f000001/x", "http://[::ffff:127.0.0.1]/x",
                                 "http://127.1/x"])
def test_other_spellings_of_loopback_are_judged_by_their_address(url):
    import ipaddress

    assert url_problem(url, (ipaddress.ip_network("127.0.0.1/32"),)) is None or "outside" in url_problem(
        url, (ipaddress.ip_network("127.0.0.1/32"),))
    assert url_problem(url, (ipaddress.ip_network("10.0.0.0/8"),)) is not None


def test_webhook_credentials_in_a_url_are_not_written_to_the_audit_log(pg_url, monkeypatch, capsys):
    from sentral.cli import main
    from store.store import Store

    monkeypatch.setenv("SENTRAL_WEBHOOK_SECRET", "s" * 20)
    assert main(["api", "webhook", "add", "http://user:hunter2-pass@127.0.0.1:9/hook", "--tenant", "nordlys",
                 "--db", pg_url]) == 0
    store = Store(pg_url)
    try:
        entries = [e for e in store.audit_entries() if e.action == "webhook.add"]
        assert entries and "hunter2-pass" not in repr([e.detail for e in entries])
        assert "s" * 20 not in repr([e.detail for e in entries])
    finally:
        store.close()
    assert "hunter2-pass" not in capsys.readouterr().out


def test_a_webhook_url_with_control_characters_is_refused_when_added(world):
    from store.errors import InvalidRecord

    for url in ("http://127.0.0.1:9/hook\r\nX-Evil: 1", "http://127.0.0.1:9/ho\tok", "http://127.0.0.1:9/\x00"):
        with pytest.raises(InvalidRecord):
            world.store.add_webhook(url, "nordlys", "x" * 16, [], "test")


def test_a_webhook_redirect_is_not_followed(world):
    import ipaddress

    inside, elsewhere = [], []
    target = receiver("127.0.0.2", 0, elsewhere)
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/hook", method="POST").respond_with_response(
        Response("", 307, headers={"Location": f"http://127.0.0.2:{target.port}/hook"}))
    server.start()
    try:
        hook = world.store.add_webhook(server.url_for("/hook"), "nordlys", "x" * 16, [], "test")
        sender = WebhookSender(world.store, (ipaddress.ip_network("127.0.0.0/8"),), backoff=())
        assert sender.deliver(hook, {"id": "1", "kind": "agent.state", "tenant": "nordlys", "at": "", "data": {}}) \
            is False
        assert len(server.log) == 1 and elsewhere == [] and sender.stats["failed"] == 1
    finally:
        server.stop()
        target.stop()

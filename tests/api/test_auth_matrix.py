"""Every route of the OpenAPI document (so a new route cannot escape): no token 401, a revoked
one 401, another agency's admin 403, a role too low 403; the same request with a token
allowed to make it passes the check (not 401/403), so the refusals are the check's. A login
cookie alone calls nothing."""
from __future__ import annotations

import pytest

from tests.api.conftest import bearer
from tests.console.conftest import login

PARAMS = {"tenant": "helsedir", "agent_id": "a1000", "queue_id": "helsedir-main", "phone": "a1001",
          "username": "kari", "kind": "agency", "item_id": "ix-1"}
LOWER = {"state": "employee", "agent": "employee", "supervisor": "operator", "admin": "supervisor",
         "reports": "operator", "statistics": "employee", "tasks": "employee", "written": "operator"}


def operations(client):
    doc = client.get("/api/openapi.json").get_json()
    for path, ops in sorted(doc["paths"].items()):
        for method, op in sorted(ops.items()):
            if op.get("security") != [{"bearer": []}]:
                continue                   # the document; the SMS webhook (signed: tests/api/test_api_written.py)
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            url = "/api" + path.format(**PARAMS)
            lower = "operator" if op["operationId"] == "tenant_monitors" else LOWER[op["tags"][0]]
            yield method.upper(), url, (schema or {}).get("example"), lower


def call(client, method, url, body, headers=None):
    return client.open(url, method=method, json=body, headers=headers or {})


def test_the_matrix_covers_every_documented_operation(api):
    ops = list(operations(api.client()))
    assert len(ops) >= 30 and {m for m, *_ in ops} == {"GET", "POST", "PUT", "DELETE"}


@pytest.mark.parametrize("who", ["none", "garbage", "wrong_secret", "revoked"])
def test_without_a_valid_token_every_route_is_401(api, who):
    client = api.client()
    good = api.token("*", "admin")
    record, revoked = api.store.create_token("old", "*", "admin", "test")
    api.store.revoke_token(record.id)
    headers = {"none": {}, "garbage": bearer("nonsense"), "wrong_secret": bearer(good[:-4] + "AAAA"),
               "revoked": bearer(revoked)}[who]
    for method, url, body, _ in operations(client):
        answer = call(client, method, url, body, headers)
        assert answer.status_code == 401, (method, url, answer.get_json())
        assert answer.get_json()["error"] in ("api.no_token", "api.bad_token")
    assert api.inbox.posted == []


def test_another_agencys_admin_is_403_everywhere(api):
    client = api.client()
    headers = bearer(api.token("fjordvik", "admin"))
    for method, url, body, _ in operations(client):
        answer = call(client, method, url, body, headers)
        assert answer.status_code == 403, (method, url, answer.get_json())
        assert answer.get_json()["error"] == "action.denied"
    assert api.inbox.posted == []


def test_a_role_too_low_is_403_everywhere(api):
    client = api.client()
    tokens = {role: bearer(api.token("helsedir", role)) for role in ("employee", "operator", "supervisor")}
    for method, url, body, lower in operations(client):
        answer = call(client, method, url, body, tokens[lower])
        assert answer.status_code == 403, (method, url, lower, answer.get_json())
    assert api.inbox.posted == []


def test_an_allowed_token_passes_the_check_on_every_route(api):
    client = api.client()
    headers = bearer(api.token("*", "admin"))
    for method, url, body, _ in operations(client):
        answer = call(client, method, url, body, headers)
        assert answer.status_code not in (401, 403), (method, url, answer.get_json())
    assert api.inbox.posted, "the allowed actions reached the engine's inbox"


def test_a_login_cookie_alone_calls_nothing(api):
    client = api.client()
    api.store.create_user("boss", "pw-boss-123456", roles=[("*", "admin")])
    assert login(client, "boss", "pw-boss-123456").status_code == 302
    for method, url, body, _ in operations(client):
        answer = call(client, method, url, body)
        assert answer.status_code == 401, (method, url)
    assert api.inbox.posted == []

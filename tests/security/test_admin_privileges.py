"""Who may grant what and bind whom on the web administration pages, who may do what
through the API, and that every such change names its tenant in the audit log. World:
nordlys and fjordvik; bodil serves both agencies' queues, anna nordlys only; `ta` is
nordlys' tenant_admin."""
from __future__ import annotations

import re

import pytest

from tests.console.supervisor_fixtures import World

PW = "ta-password-0123"


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    w.store.create_user("ta", PW, roles=[("nordlys", "tenant_admin")])
    w.store.create_user("fv-op", PW, roles=[("fjordvik", "operator")])
    yield w
    w.close()


def csrf(client, page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).get_data(as_text=True)).group(1)


def as_ta(world):
    client = world.app.test_client()
    answer = client.post("/login", data={"username": "ta", "password": PW, "csrf_token": csrf(client, "/login")})
    assert answer.status_code == 302
    return client


def post(client, path: str, data: dict, page: str = "/admin/users/"):
    return client.post(path, data={**data, "csrf_token": csrf(client, page)})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# -- granting ------------------------------------------------------------------------------------

def test_a_tenant_admin_grants_tenant_admin_and_below_but_not_admin_on_the_web(world):
    ta = as_ta(world)
    made = post(ta, "/admin/users/", {"username": "boss", "roles": "nordlys:admin", "mode": "generate"})
    assert made.status_code == 400 and world.store.user("boss") is None
    assert post(ta, "/admin/users/ola/roles", {"roles": "nordlys:admin"}).status_code == 400
    assert world.store.user("ola").roles == frozenset({("nordlys", "operator")})
    assert post(ta, "/admin/users/ola/roles", {"roles": "nordlys:tenant_admin"}).status_code == 302
    assert world.store.user("ola").roles == frozenset({("nordlys", "tenant_admin")})
    assert post(ta, "/admin/users/ta/roles", {"roles": "nordlys:admin"}).status_code == 403      # never oneself


def test_a_tenant_admin_token_cannot_grant_admin_or_roles_elsewhere(world):
    token = world.store.create_token("t", "nordlys", "tenant_admin", "test")[1]
    client = world.app.test_client()
    for roles in ([{"tenant": "nordlys", "role": "admin"}], [{"tenant": "*", "role": "operator"}],
                  [{"tenant": "fjordvik", "role": "operator"}]):
        answer = client.put("/api/v1/users/ola/roles", json={"roles": roles}, headers=bearer(token))
        assert answer.status_code == 403, roles
    assert world.store.user("ola").roles == frozenset({("nordlys", "operator")})
    # a user who also works for fjordvik is not this token's to change
    world.store.set_roles("fv-op", [("fjordvik", "operator"), ("nordlys", "operator")])
    assert client.post("/api/v1/users/fv-op/disable", headers=bearer(token)).status_code == 403
    assert world.store.user("fv-op").active


def test_no_token_of_every_tenant_without_the_admin_role():
    from store.errors import InvalidRecord

    store = None
    try:
        import tempfile
        from store.store import Store
        store = Store(f"sqlite:///{tempfile.mkdtemp()}/t.db", migrate=True)
        for role in ("tenant_admin", "supervisor", "operator", "employee"):
            with pytest.raises(InvalidRecord):
                store.create_token("t", "*", role, "test")
    finally:
        if store is not None:
            store.close()


# -- binding -------------------------------------------------------------------------------------

def test_a_tenant_admin_cannot_bind_a_user_to_an_agent_who_also_answers_another_agency(world):
    ta = as_ta(world)
    page = "/admin/users/ola"
    assert post(ta, "/admin/users/ola/agent", {"agent": "bodil"}, page).status_code == 400
    assert post(ta, "/admin/agents/bodil/bind", {"username": "ola"}, "/admin/agents/").status_code in (403, 404)
    assert world.store.user("ola").agent in (None, "")
    assert post(ta, "/admin/users/ola/agent", {"agent": "anna"}, page).status_code == 302
    assert world.store.user("ola").agent == "anna"
    (entry,) = [e for e in world.store.audit_entries() if e.action == "user.bind"]
    assert (entry.actor, entry.target_id, entry.tenant, entry.detail) == ("ta", "ola", "nordlys", {"agent": "anna"})


# -- the API acts only with the role it needs -------------------------------------------------------

def test_an_operator_token_cannot_steer_listen_or_call_back(world):
    world.login("anna")
    world.talking("anna", "c1")
    token = world.store.create_token("t", "nordlys", "operator", "test")[1]
    client = world.app.test_client()
    assert client.post("/api/v1/agents/anna/state", json={"state": "pause", "reason": "lunsj"},
                       headers=bearer(token)).status_code == 403
    assert client.post("/api/v1/agents/anna/monitor", json={"mode": "listen", "phone": "siri"},
                       headers=bearer(token)).status_code == 403
    assert client.post("/api/v1/queues/nl/callbacks", json={"number": "4790000000"},
                       headers=bearer(token)).status_code == 403
    assert world.s.state("anna") == "on_call"
    refused = [(e.action, e.actor, e.tenant) for e in world.store.audit_entries() if e.action.endswith(".denied")]
    assert {a for a, _, _ in refused} == {"agent.pause.denied", "call.listen.denied", "call.callback.denied"}
    assert all(actor.startswith("token:") for _, actor, _ in refused)


def test_a_login_cookie_is_no_api_credential(world):
    client = world.client("root")
    assert client.get("/api/v1/tenants/nordlys/agents").status_code == 401
    assert client.post("/api/v1/agents/anna/login", json={}).status_code == 401


# -- audit -----------------------------------------------------------------------------------------

def test_the_apis_user_changes_are_audited_with_their_tenant_and_no_password(world):
    token = world.store.create_token("t", "nordlys", "tenant_admin", "test")[1]
    client = world.app.test_client()
    made = client.post("/api/v1/tenants/nordlys/users", json={"username": "nina", "roles": [
        {"tenant": "nordlys", "role": "operator"}]}, headers=bearer(token))
    assert made.status_code == 201
    password = made.get_json()["password"]
    reset = client.post("/api/v1/users/nina/reset", headers=bearer(token)).get_json()["password"]
    assert client.put("/api/v1/users/nina/roles", json={"roles": [{"tenant": "nordlys", "role": "supervisor"}]},
                      headers=bearer(token)).status_code == 200
    assert client.post("/api/v1/users/nina/disable", headers=bearer(token)).status_code == 200
    entries = [e for e in world.store.audit_entries() if e.target_id == "nina"]
    assert [(e.action, e.tenant) for e in entries] == [("user.add", "nordlys"), ("user.reset", "nordlys"),
                                                        ("user.roles", "nordlys"), ("user.disable", "nordlys")]
    assert all(e.actor.startswith("token:") for e in entries)
    text = repr([(e.detail, e.tenant) for e in world.store.audit_entries()])
    assert password not in text and reset not in text


def test_the_command_lines_user_changes_are_audited_with_their_tenants(tmp_path):
    from store.store import Store
    from tests.test_cli_users import sentral

    url = f"sqlite:///{tmp_path}/u.db"
    assert sentral("add", "per", "--role", "fjordvik:operator", "--role", "nordlys:operator", "--db", url,
                   password="a-long-secret-1").returncode == 0
    assert sentral("disable", "per", "--db", url).returncode == 0
    assert sentral("bind", "per", "kari", "--db", url).returncode == 0
    store = Store(url)
    try:
        entries = [(e.action, e.tenant) for e in store.audit_entries() if e.target_id == "per"]
        assert entries == [("user.add", "fjordvik,nordlys"), ("user.disable", "fjordvik,nordlys"),
                           ("user.bind", "fjordvik,nordlys")]
        assert "a-long-secret-1" not in repr([e.detail for e in store.audit_entries()])
    finally:
        store.close()


# -- the one rule the pages and the API share (agent_ui.user_rules) -------------------------------

def test_the_user_rules_the_pages_and_the_api_share():
    from types import SimpleNamespace

    from agent_ui import user_rules as rules
    from agent_ui.actions import Actor

    known = {"nordlys", "fjordvik"}
    root = Actor("root", frozenset({("*", "admin")}))
    ta = Actor("ta", frozenset({("nordlys", "tenant_admin")}))
    everywhere_ta = Actor("wide", frozenset({("*", "tenant_admin")}))     # no system administrator
    ola = SimpleNamespace(username="ola", roles=frozenset({("nordlys", "operator")}))
    both = SimpleNamespace(username="both", roles=frozenset({("nordlys", "operator"), ("fjordvik", "operator")}))
    assert rules.may_change(ta, ola, known) and not rules.may_change(ta, both, known)
    assert not rules.may_change(ta, SimpleNamespace(username="ta", roles=ta.roles), known)   # never oneself
    assert not rules.may_change(everywhere_ta, ola, known) and rules.administered(everywhere_ta, known) == set()
    assert rules.may_change(root, both, known)
    assert [rules.refusal(ta, t, r, known) for t, r in (("nordlys", "tenant_admin"), ("nordlys", "admin"),
                                                        ("fjordvik", "operator"), ("*", "operator"))] \
        == ["", "admin_role", "tenant", "all_tenants"]
    assert rules.kept_roles(ta, both.roles, known) == {("fjordvik", "operator")}
    assert rules.may_bind(ta, {"nordlys"}, known) and not rules.may_bind(ta, {"nordlys", "fjordvik"}, known)
    assert not rules.may_bind(ta, set(), known) and rules.may_bind(root, set(), known)
    # a tenant the running configuration does not know is administered by nobody but '*' admins
    gone = Actor("g", frozenset({("gone", "tenant_admin")}))
    assert rules.administered(gone, known) == set() and rules.refusal(gone, "gone", "operator", known) == "tenant"

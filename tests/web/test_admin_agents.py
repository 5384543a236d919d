"""Agents on the web (/admin/agents/) in the app `sentral run` serves, over a real
configuration file and a running engine: a tenant's admin adds an agent of their queues
(CSRF on; a one-time SIP password, only its hash stored; the engine has the agent at once),
binds a user, removes it; another tenant's queue and an agent of the main file are refused;
a supervisor only looks; every change audited."""
from __future__ import annotations

import re

from dialplan.agents import a1_hash
from tests.config_stack import stack  # noqa: F401  (fixture)

PW = "a-long-password-1"
USERS = {"root": [("*", "admin")], "fj-admin": [("fjordvik", "tenant_admin")],
         "nl-sup": [("nordlys", "supervisor")], "pia": [("fjordvik", "operator")],
         "nils": [("nordlys", "operator")]}


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def as_user(stack, name):
    client = stack.app.test_client()
    token = token_of(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": name, "password": PW, "csrf_token": token}).status_code == 302
    return client


def post(client, path, data):
    token = token_of(client.get("/admin/agents/").get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def users(stack):
    for name, roles in USERS.items():
        stack.store.create_user(name, PW, roles=roles)


NEW = {"tenant": "fjordvik", "id": "per", "name": "Per Hansen", "extension": "1050",
       "level-fjordvik-switchboard": "2"}


def test_given_a_tenant_admin_when_adding_an_agent_on_the_page_then_the_engine_has_it_and_the_password_is_shown_once(
        stack):
    users(stack)
    admin = as_user(stack, "fj-admin")
    page = admin.get("/admin/agents/").get_data(as_text=True)
    assert 'data-agent="kari"' in page and 'data-agent="lars"' not in page      # fjordvik's agents, not vestland's
    assert 'name="level-fjordvik-switchboard"' in page and 'name="level-nordlys-switchboard"' not in page
    before = stack.files()
    assert admin.post("/admin/agents/", data=NEW).status_code == 400             # no CSRF token
    assert stack.files() == before and "per" not in stack.proc.engine.agents

    answer = post(admin, "/admin/agents/", NEW)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    password = re.search(r'data-testid="one-time-password">([^<]+)<', answer.get_data(as_text=True)).group(1)
    written = stack.override_dir / "agent-per.yaml"
    assert password not in written.read_text()
    assert stack.proc.deployment.agents["per"].password_hash == a1_hash("1050", "127.0.0.1", password)
    assert stack.proc.engine.agents["per"].config.queues == {"fjordvik-switchboard": 2}
    page = admin.get("/admin/agents/").get_data(as_text=True)
    row = re.search(r'<tr data-agent="per">.*?</tr>', page, re.S).group(0)
    assert "fjordvik-switchboard:2" in row and "logged_out" in row and str(written) in row

    assert post(admin, "/admin/agents/per/bind", {"username": "pia"}).status_code == 302
    assert stack.store.user("pia").agent == "per"
    assert post(admin, "/admin/agents/per/bind", {"username": "nils"}).status_code == 403   # nordlys's user
    assert stack.store.user("nils").agent == ""

    assert post(admin, "/admin/agents/per/remove", {}).status_code == 302
    assert not written.exists() and "per" not in stack.proc.engine.deployment.agents
    trail = sorted((e.actor, e.action) for e in stack.store.audit_entries(target_id="per"))
    assert trail == [("fj-admin", "agent.add"), ("fj-admin", "agent.remove")]
    bind = stack.store.audit_entries(target_id="pia")
    assert [(e.actor, e.action, e.detail.get("agent")) for e in bind] == [("fj-admin", "user.bind", "per")]
    assert password not in str([e.detail for e in stack.store.audit_entries()])


def test_refusals_on_the_page_name_the_place_and_leave_nothing_behind(stack):
    users(stack)
    admin = as_user(stack, "fj-admin")
    before = stack.files()
    other = post(admin, "/admin/agents/", {**NEW, "level-fjordvik-switchboard": "", "level-nordlys-switchboard": "1"})
    assert other.status_code == 403
    other_tenant = post(admin, "/admin/agents/", {**NEW, "tenant": "nordlys"})
    assert other_tenant.status_code == 400
    dup = post(admin, "/admin/agents/", {**NEW, "extension": "1000"})
    text = dup.get_data(as_text=True)
    assert dup.status_code == 400 and f"{stack.override_dir / 'agent-per.yaml'}:" in text
    assert "extension &#39;1000&#39; is defined twice" in text
    assert stack.files() == before and "per" not in stack.proc.engine.agents
    # kari is defined in the main file: the page says where, and a forged remove is refused
    # (fjordvik's admin: kari serves nordlys too; the admin of every tenant: not the tool's file)
    root = as_user(stack, "root")
    page = root.get("/admin/agents/").get_data(as_text=True)
    row = re.search(r'<tr data-agent="kari">.*?</tr>', page, re.S).group(0)
    assert f"{stack.config}:" in row and "/admin/agents/kari/remove" not in row
    assert post(admin, "/admin/agents/kari/remove", {}).status_code == 403
    answer = post(root, "/admin/agents/kari/remove", {})
    assert answer.status_code == 409 and f"defined at {stack.config}:" in answer.get_data(as_text=True)
    assert "kari" in stack.proc.engine.deployment.agents


def test_a_supervisor_only_looks(stack):
    users(stack)
    sup = as_user(stack, "nl-sup")
    page = sup.get("/admin/agents/").get_data(as_text=True)
    assert 'data-agent="ingrid"' in page and 'data-agent="lars"' not in page
    assert "Tilknyttet bruker" in page                                            # bokmål first
    assert "Bound user" in sup.get("/admin/agents/?lang=en").get_data(as_text=True)
    assert 'data-testid="new-agent"' not in page and "/remove" not in page and "/bind" not in page
    token = token_of(page)
    assert sup.post("/admin/agents/", data={**NEW, "tenant": "nordlys", "csrf_token": token}).status_code == 403
    assert sup.post("/admin/agents/ingrid/remove", data={"csrf_token": token}).status_code == 403
    assert as_user(stack, "pia").get("/admin/agents/").status_code == 403
    assert stack.store.audit_entries(target_kind="agent") == []


def test_an_agents_state_is_shown_translated_not_as_its_raw_value(stack):
    users(stack)
    admin = as_user(stack, "fj-admin")
    for lang, shown in (("nb", "Avlogget"), ("en", "Logged out")):
        page = admin.get(f"/admin/agents/?lang={lang}").get_data(as_text=True)
        row = re.search(r'<tr data-agent="kari">.*?</tr>', page, re.S).group(0)
        cell = re.search(r'<td data-testid="state"[^>]*>([^<]*)</td>', row).group(1)
        assert cell == shown, (lang, cell)


def test_the_added_agents_page_says_its_state_in_the_pages_language(stack):
    users(stack)
    admin = as_user(stack, "fj-admin")
    admin.get("/admin/agents/?lang=en")
    answer = post(admin, "/admin/agents/", NEW).get_data(as_text=True)
    added = re.search(r'<p data-testid="added">(.*?)</p>', answer, re.S).group(1)
    assert "State: " in added and ">Logged out</span>" in added and ">logged_out<" not in added, added
    assert post(admin, "/admin/agents/per/remove", {}).status_code == 302

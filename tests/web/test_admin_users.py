"""User administration on the web (agent_ui/admin_users.py) in the app `sentral run`
serves, CSRF on: an admin does everything, a tenant_admin only within their tenant, a
supervisor only looks; every change audited; a one-time password is shown once."""
from __future__ import annotations

import re

import pytest

from engine.core import Engine
from sentral import web
from store.store import Store
from tests.console.conftest import NOW, console_deployment

PW = "a-long-password-1"
USERS = {"root": [("*", "admin")], "ada": [("helsedir", "tenant_admin")], "bob": [("other", "tenant_admin")],
         "sam": [("helsedir", "supervisor")], "kari": [("helsedir", "operator")],
         "mixed": [("helsedir", "operator"), ("other", "operator")], "emp": [("helsedir", "employee")]}


@pytest.fixture
def app(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'a.db'}", migrate=True, clock=lambda: NOW)
    for name, roles in USERS.items():
        store.create_user(name, PW, roles=roles)
    deployment = console_deployment()
    engine = Engine(deployment)
    app, _ = web.build_app(store, lambda: deployment, lambda: engine, secure_cookies=False, message_queue="")
    app.testing = True
    yield app, store
    store.close()


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def as_user(app, name, password=PW):
    client = app.test_client()
    token = token_of(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": name, "password": password, "csrf_token": token}).status_code == 302
    return client


def post(client, path, data, page="/admin/users/"):
    token = token_of(client.get(page).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def test_given_the_admin_when_creating_a_user_then_a_one_time_password_is_shown_once_and_works(app):
    app, store = app
    root = as_user(app, "root")
    page = root.get("/admin/users/").get_data(as_text=True)
    assert all(f'data-user="{name}"' in page for name in USERS)
    resp = post(root, "/admin/users/", {"username": "nina", "name": "Nina N", "roles": "helsedir:operator",
                                        "mode": "generate"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    password = re.search(r'data-testid="one-time-password">([^<]+)<', resp.get_data(as_text=True)).group(1)
    assert store.authenticate("nina", password) is not None
    assert store.user("nina").roles == frozenset({("helsedir", "operator")})
    entry = [e for e in store.audit_entries(target_id="nina")][0]
    assert (entry.actor, entry.action, entry.tenant) == ("root", "user.add", "helsedir")
    assert password not in str(entry.detail)
    # without the CSRF token the POST is refused
    assert root.post("/admin/users/", data={"username": "x", "roles": "helsedir:operator"}).status_code == 400
    assert store.user("x") is None


def test_a_tenant_admin_works_only_within_their_tenant(app):
    app, store = app
    ada = as_user(app, "ada")
    page = ada.get("/admin/users/").get_data(as_text=True)
    assert 'data-user="kari"' in page and 'data-user="bob"' not in page and 'data-user="root"' not in page
    # may create in helsedir, not in other, not '*'
    assert post(ada, "/admin/users/", {"username": "h1", "roles": "helsedir:operator", "mode": "set",
                                       "password": "another-long-1"}).status_code == 302
    for roles in ("other:operator", "*:operator", "helsedir:operator other:operator"):
        resp = post(ada, "/admin/users/", {"username": "h2", "roles": roles, "mode": "generate"})
        assert resp.status_code == 400, roles
    assert store.user("h2") is None
    # disable and reset her own tenant's operator
    assert post(ada, "/admin/users/kari/active", {"active": "0"}, "/admin/users/kari").status_code == 302
    assert not store.user("kari").active
    assert post(ada, "/admin/users/kari/password", {"mode": "set", "password": "kari-new-pass-1"},
                "/admin/users/kari").status_code == 302
    assert store.authenticate("kari", "kari-new-pass-1") is None       # still disabled
    store.set_active("kari", True)
    assert store.authenticate("kari", "kari-new-pass-1") is not None
    # a user who also has roles in another tenant: ada may not disable them or reset the password
    assert post(ada, "/admin/users/mixed/active", {"active": "0"}, "/admin/users/mixed").status_code == 403
    assert store.user("mixed").active
    # roles: hers are set, the other tenant's role is kept, she cannot add to other
    assert post(ada, "/admin/users/mixed/roles", {"roles": "helsedir:supervisor"}, "/admin/users/mixed").status_code == 302
    assert store.user("mixed").roles == frozenset({("helsedir", "supervisor"), ("other", "operator")})
    assert post(ada, "/admin/users/mixed/roles", {"roles": "other:admin"}, "/admin/users/mixed").status_code == 400
    # users of another tenant are not found at all
    assert ada.get("/admin/users/bob").status_code == 404
    assert post(ada, "/admin/users/bob/active", {"active": "0"}).status_code == 404
    actions = {(e.actor, e.action, e.target_id) for e in store.audit_entries(actor="ada")}
    assert {("ada", "user.add", "h1"), ("ada", "user.disable", "kari"), ("ada", "user.reset_password", "kari"),
            ("ada", "user.roles", "mixed")} <= actions


def test_binding_to_an_agent_of_the_tenant_and_refusing_unknown_agents(app):
    app, store = app
    ada = as_user(app, "ada")
    assert post(ada, "/admin/users/kari/agent", {"agent": "a1000"}, "/admin/users/kari").status_code == 302
    assert store.user("kari").agent == "a1000"
    assert post(ada, "/admin/users/emp/agent", {"agent": "a1000"}, "/admin/users/emp").status_code == 400  # taken
    assert post(ada, "/admin/users/emp/agent", {"agent": "ghost"}, "/admin/users/emp").status_code == 400
    assert ("ada", "user.bind", "kari") in {(e.actor, e.action, e.target_id) for e in store.audit_entries()}


def test_a_supervisor_only_views_and_others_are_refused(app):
    app, store = app
    sam = as_user(app, "sam")
    page = sam.get("/admin/users/").get_data(as_text=True)
    assert 'data-user="kari"' in page and "New user" not in page and "Ny bruker" not in page
    assert post(sam, "/admin/users/", {"username": "z", "roles": "helsedir:operator"}).status_code == 403
    assert post(sam, "/admin/users/kari/active", {"active": "0"}, "/admin/users/kari").status_code == 403
    assert post(sam, "/admin/users/kari/roles", {"roles": "helsedir:admin"}, "/admin/users/kari").status_code == 403
    assert store.user("kari").active and store.user("z") is None
    for name in ("kari", "emp"):
        assert as_user(app, name).get("/admin/users/").status_code == 403
    assert app.test_client().get("/admin/users/").status_code == 302           # to the login page


def test_a_user_without_the_role_is_refused_in_the_pages_language(app):
    app, _store = app
    kari = as_user(app, "kari")
    resp = kari.get("/admin/users/?lang=nb")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 403 and "403 Ingen tilgang" in html and "Du kan ikke administrere brukere." in html
    html = kari.get("/admin/users/?lang=en").get_data(as_text=True)
    assert "403 Forbidden" in html and "You may not administer users." in html

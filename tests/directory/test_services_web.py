"""The agency's admins keep their services on the web (agent_ui/directory_services.py) in
the app `sentral run` serves, CSRF on; others get 403; every change audited; a service
added here is found by the operator's search and survives the next import."""
from __future__ import annotations

import pytest

from tests.web.test_admin_users import USERS, app, as_user, post  # noqa: F401  (the fixture)


def test_given_the_tenant_admin_when_adding_editing_deleting_a_service_then_search_follows(app):  # noqa: F811
    app, store = app
    directory = app.extensions["sentral"][1].directory
    ada = as_user(app, "ada")
    page = "/directory/manage/helsedir/services/"
    resp = post(ada, page, {"id": "lonn", "name": "Lønn", "phone": "21 00 02 50", "keywords": "feriepenger, trekk",
                            "opening_hours": "Man-fre 09-14", "description": "Lønn"}, page)
    assert resp.status_code == 302
    service = directory.get_service("helsedir", "lonn")
    assert (service.phone, service.keywords, service.source) == ("+4721000250", ("feriepenger", "trekk"), "web")
    assert [h.name for h in directory.search("feriepenger", tenant="helsedir") if h.kind == "service"] == ["Lønn"]
    bad = post(ada, page, {"id": "x", "name": "X", "phone": "not a number"}, page)
    assert bad.status_code == 400 and directory.get_service("helsedir", "x") is None
    assert post(ada, page + "lonn", {"name": "Lønn og personal", "phone": "21000251"}, page + "lonn").status_code == 302
    assert directory.get_service("helsedir", "lonn").phone == "+4721000251"
    assert post(ada, page + "lonn/delete", {}, page).status_code == 302
    assert directory.get_service("helsedir", "lonn") is None
    actions = [(e.actor, e.action, e.target_id) for e in store.audit_entries(actor="ada")]
    assert [a for _, a, _ in actions] == ["directory.service.add", "directory.service.update",
                                          "directory.service.delete"]
    assert all(t == "helsedir/lonn" for _, _, t in actions)


@pytest.mark.parametrize("user", ["bob", "sam", "kari"])
def test_others_may_not_see_or_change_the_services(app, user):  # noqa: F811
    app, store = app
    client = as_user(app, user)
    assert client.get("/directory/manage/helsedir/services/").status_code == 403
    token_page = "/login"
    assert post(client, "/directory/manage/helsedir/services/", {"id": "x", "name": "X"}, token_page).status_code == 403
    assert app.extensions["sentral"][1].directory.services("helsedir") == []


def test_the_admin_of_every_tenant_may_and_a_service_from_the_web_survives_an_import(app, tmp_path):  # noqa: F811
    from sync.importer import import_files

    app, store = app
    root = as_user(app, "root")
    page = "/directory/manage/helsedir/services/"
    assert post(root, page, {"id": "sd", "name": "Servicedesk", "phone": "21000260"}, page).status_code == 302
    (tmp_path / "p.csv").write_text("id;given_name;family_name\n")
    (tmp_path / "u.csv").write_text("id;name\nu;U\n")
    (tmp_path / "s.csv").write_text("id;name\nlonn;Lønn\n")
    directory = app.extensions["sentral"][1].directory
    import_files(directory, "helsedir", tmp_path / "p.csv", tmp_path / "u.csv", services_path=tmp_path / "s.csv")
    assert sorted(s.external_id for s in directory.services("helsedir")) == ["lonn", "sd"]


def test_the_maintenance_page_of_the_full_app_links_to_the_services_in_the_pages_language(app):  # noqa: F811
    app, _store = app
    admin = as_user(app, "ada")
    html = admin.get("/directory/manage/helsedir/?lang=en").get_data(as_text=True)
    assert 'href="/directory/manage/helsedir/services/">Services and numbers</a>' in html
    html = admin.get("/directory/manage/helsedir/?lang=nb").get_data(as_text=True)
    assert 'href="/directory/manage/helsedir/services/">Tjenester og numre</a>' in html

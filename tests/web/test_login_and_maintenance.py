"""Personal logins, CSRF, per-tenant roles for maintenance of local attributes (R19)."""
from engine.directory.model import PersonKey
from tests.web.conftest import client_from, csrf_of, login, logged_in

PAGE = "/directory/manage/nordlys/nl1001"


def services(web):
    return web.extensions["sentral"][1]


def test_given_right_password_then_logged_in_with_httponly_samesite_secure_cookie(web):
    c = client_from(web)
    resp = login(c, "nl-admin")
    assert resp.status_code == 302
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert c.get(PAGE).status_code == 200


def test_given_wrong_password_or_unknown_user_then_401_and_not_logged_in(web):
    c = client_from(web)
    assert login(c, "nl-admin", "wrong").status_code == 401
    assert login(c, "nobody", "wrong").status_code == 401
    assert c.get(PAGE).status_code == 302  # to the login page


def test_given_login_post_without_or_with_wrong_csrf_then_400_or_403(web):
    c = client_from(web)
    c.get("/login")
    assert c.post("/login", data={"username": "nl-admin", "password": "x"}).status_code == 400
    assert c.post("/login", data={"username": "nl-admin", "password": "x", "csrf_token": "forged"}).status_code == 403


def test_given_tenant_admin_when_editing_local_attributes_then_saved_and_audited(web):
    c = logged_in(web, "nl-admin")
    token = csrf_of(c.get(PAGE).get_data(as_text=True))
    resp = c.post(PAGE, data={"csrf_token": token, "operator_notes": "Sett over til sekretær før 09",
                              "local_keywords": "styremøter, budsjett", "local_substitute_id": "nl1007"})
    assert resp.status_code == 302
    kari = services(web).directory.get_person(PersonKey("nordlys", "nl1001"))
    assert (kari.operator_notes, kari.local_keywords, kari.local_substitute_id) == (
        "Sett over til sekretær før 09", ("styremøter", "budsjett"), "nl1007")
    [entry] = services(web).users.audit_entries(actor="nl-admin")
    assert (entry.action, entry.target_id, entry.tenant) == ("directory.person.update", "nordlys/nl1001", "nordlys")
    assert entry.detail["fields"] == ["local_keywords", "local_substitute_id", "operator_notes"]


def test_given_post_without_or_with_wrong_csrf_then_refused_and_nothing_changed(web):
    c = logged_in(web, "nl-admin")
    assert c.post(PAGE, data={"operator_notes": "x"}).status_code == 400
    assert c.post(PAGE, data={"operator_notes": "x", "csrf_token": "forged"}).status_code == 403
    other = logged_in(web, "centre")  # a valid token of another session is still wrong here
    foreign = csrf_of(other.get(PAGE).get_data(as_text=True))
    assert c.post(PAGE, data={"operator_notes": "x", "csrf_token": foreign}).status_code == 403
    assert services(web).directory.get_person(PersonKey("nordlys", "nl1001")).operator_notes == ""


def test_given_agency_admin_when_opening_another_agency_then_403(web):
    c = logged_in(web, "nl-admin")
    assert c.get("/directory/manage/fjordvik/").status_code == 403
    assert c.get("/directory/manage/fjordvik/fj3001").status_code == 403
    token = csrf_of(c.get(PAGE).get_data(as_text=True))
    assert c.post("/directory/manage/fjordvik/fj3001", data={"csrf_token": token, "operator_notes": "x"}).status_code == 403
    assert services(web).directory.get_person(PersonKey("fjordvik", "fj3001")).operator_notes == ""


def test_given_centre_admin_then_every_agency(web):
    c = logged_in(web, "centre")
    assert c.get("/directory/manage/fjordvik/fj3001").status_code == 200
    listing = c.get("/directory/manage/").get_data(as_text=True)
    assert all(t in listing for t in ("nordlys", "fjordvik", "vestland"))


def test_given_employee_or_operator_then_no_maintenance(web):
    for user in ("ase.sorli@nordlys.no", "operator1", "nl-super"):
        assert logged_in(web, user).get(PAGE).status_code == 403, user


def test_given_xss_in_local_attributes_then_escaped_when_shown(web):
    c = logged_in(web, "nl-admin")
    token = csrf_of(c.get(PAGE).get_data(as_text=True))
    c.post(PAGE, data={"csrf_token": token, "operator_notes": '<img src=x onerror="alert(1)">',
                       "local_keywords": "<b>bold</b>", "local_substitute_id": ""})
    html = c.get(PAGE).get_data(as_text=True)
    assert '<img src=x' not in html and "&lt;img src=x" in html and "<b>bold</b>" not in html


def test_given_unknown_substitute_then_400_and_unchanged(web):
    c = logged_in(web, "nl-admin")
    token = csrf_of(c.get(PAGE).get_data(as_text=True))
    resp = c.post(PAGE, data={"csrf_token": token, "operator_notes": "", "local_keywords": "",
                              "local_substitute_id": "fj3001"})
    assert resp.status_code == 400
    assert services(web).directory.get_person(PersonKey("nordlys", "nl1001")).local_substitute_id is None


def test_given_open_redirect_in_next_then_ignored(web):
    c = client_from(web)
    token = csrf_of(c.get("/login").get_data(as_text=True))
    resp = c.post("/login", data={"username": "centre", "password": "correct horse battery staple",
                                  "csrf_token": token, "next": "//evil.example/x"})
    assert resp.status_code == 302 and "evil" not in resp.headers["Location"]


def test_given_logout_then_session_gone(web):
    c = logged_in(web, "nl-admin")
    token = csrf_of(c.get(PAGE).get_data(as_text=True))
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    assert c.get(PAGE).status_code == 302


def test_given_user_deactivated_then_session_stops_working(web):
    c = logged_in(web, "nl-admin")
    services(web).users.set_active("nl-admin", False)
    assert c.get(PAGE).status_code == 302

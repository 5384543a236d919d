"""Issue 8, security items 1, 2, 4, 5, 6: each reproduced against the apps `sentral run`
serves — its own argument parser and `web_options`, `sentral.web.run_apps` — and
FreeSWITCH's own configuration (freeswitch-conf) where FreeSWITCH is the client."""
from __future__ import annotations

import logging
import shutil
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from dialplan.loader import load
from dialplan.xml_curl import ROUTE
from engine.directory.model import AbsenceCategory, PersonKey
from sentral import web
from sentral.cli import build_parser
from sentral.commands import run as run_command
from tests.dialplan.files import DEMO, DEMO_ENV, ROOT
from tests.dialplan.fsxml import Preprocessed
from tests.directory.conftest import an_absence
from tests.web.conftest import NOW, PASSWORD, client_from, csrf_of, login

XML_CURL_PASSWORD = "xml-curl-secret-for-the-tests"
FS_ENV = {"SENTRAL_FREESWITCH_PASSWORD": "esl", "SENTRAL_XML_CURL_PASSWORD": XML_CURL_PASSWORD}
PAGE = "/directory/manage/nordlys/nl1001"
ASE = "/directory/absence/nordlys/nl1003"


class Proc:
    """What sentral.web reads from an EngineProcess."""

    def __init__(self, deployment):
        self.deployment, self.engine = deployment, None


def run_options(monkeypatch, *flags, env=None):
    """The listeners' options exactly as `sentral run` makes them from its command line."""
    for name in ("SENTRAL_WEB_LISTEN", "SENTRAL_XML_CURL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (env if env is not None else {"SENTRAL_XML_CURL_PASSWORD": XML_CURL_PASSWORD}).items():
        monkeypatch.setenv(name, value)
    args = build_parser().parse_args(["run", "--config", str(DEMO), "--public-network", "10.20.0.0/16", *flags])
    return run_command.web_options(args)


@pytest.fixture
def served(tmp_path, web_template, clock, monkeypatch):
    """name -> (address, WSGI app) of `sentral run`'s listeners on the sample directory."""
    from store.store import Store

    path = tmp_path / "web.db"
    shutil.copy(web_template, path)
    store = Store(f"sqlite:///{path}", clock=clock)
    deployment = load(str(DEMO), DEMO_ENV)
    build = lambda *flags, env=None: {name: (address, app) for name, address, app in web.run_apps(  # noqa: E731
        store, Proc(deployment), deployment, run_options(monkeypatch, *flags, env=env))}
    yield build
    store.close()


def site(served, *flags):
    return served(*flags)["web"][1]


def freeswitch_credentials(env=FS_ENV) -> tuple[str, str]:
    """What FreeSWITCH's mod_xml_curl binding sends, from freeswitch-conf as FreeSWITCH reads it."""
    root = ET.fromstring(Preprocessed(str(ROOT / "freeswitch-conf" / "freeswitch.xml"), env).text)
    conf = root.find("./section/configuration[@name='xml_curl.conf']")
    params = {p.get("name"): p.get("value") for p in conf.iter("param")}
    assert params["auth-scheme"] == "basic" and params["method"] == "POST"
    user, _, password = params["gateway-credentials"].partition(":")
    return user, password


def freeswitch_post(app, fields, auth, address="127.0.0.1"):
    """A request as mod_xml_curl sends it: form-urlencoded POST, curl's basic auth."""
    client = app.test_client()
    return client.post(ROUTE, data=fields, auth=auth, content_type="application/x-www-form-urlencoded",
                       headers={"User-Agent": "freeswitch-xml/1.0"}, environ_base={"REMOTE_ADDR": address})


SIP_AUTH = {"hostname": "fs1", "section": "directory", "tag_name": "domain", "key_name": "name",
            "key_value": "127.0.0.1", "Event-Name": "REQUEST_PARAMS", "action": "sip_auth",
            "sip_profile": "internal", "sip_auth_username": "1000", "sip_auth_realm": "127.0.0.1",
            "key": "id", "user": "1000", "domain": "127.0.0.1", "ip": "127.0.0.1"}
A1_HASH_1000 = "e2f582b9dc317e63b6fe82419883aac5"


# --- 1. SIP credentials are not open to anyone ----------------------------------------------

def test_xml_curl_has_its_own_loopback_listener_at_engine_url_and_the_web_pages_have_theirs(served):
    apps = served()
    assert apps["xml_curl"][0] == ("127.0.0.1", 8080)          # engine.url: where freeswitch-conf points
    assert apps["web"][0] == ("127.0.0.1", 8081)
    for method in ("get", "post"):                              # the public listener knows no such route
        resp = getattr(client_from(apps["web"][1]), method)(ROUTE + "?section=directory", data=SIP_AUTH)
        assert resp.status_code == 404 and A1_HASH_1000 not in resp.get_data(as_text=True)


def test_xml_curl_refuses_get_missing_or_wrong_credentials_and_foreign_networks(served):
    app = served()["xml_curl"][1]
    right = ("freeswitch", XML_CURL_PASSWORD)
    get = app.test_client().get(ROUTE, query_string={"section": "directory"}, auth=right,
                                environ_base={"REMOTE_ADDR": "127.0.0.1"})
    refusals = [(get, 405),
                (freeswitch_post(app, SIP_AUTH, None), 401),
                (freeswitch_post(app, SIP_AUTH, ("freeswitch", "wrong")), 401),
                (freeswitch_post(app, SIP_AUTH, ("admin", XML_CURL_PASSWORD)), 401),
                (freeswitch_post(app, SIP_AUTH, right, address="10.20.1.5"), 403),
                (freeswitch_post(app, SIP_AUTH, right, address="192.0.2.7"), 403)]
    for resp, status in refusals:
        assert resp.status_code == status and A1_HASH_1000 not in resp.get_data(as_text=True)
    assert refusals[1][0].headers["WWW-Authenticate"].startswith("Basic ")


def test_xml_curl_other_networks_only_when_allowed_and_never_without_a_password(served):
    app = served("--xml-curl-allow", "10.30.0.0/24")["xml_curl"][1]
    assert freeswitch_post(app, SIP_AUTH, ("freeswitch", XML_CURL_PASSWORD), address="10.30.0.9").status_code == 200
    assert freeswitch_post(app, SIP_AUTH, ("freeswitch", XML_CURL_PASSWORD), address="127.0.0.1").status_code == 403
    assert "xml_curl" not in served(env={})                                     # no password: not served
    assert "xml_curl" not in served(env={"SENTRAL_XML_CURL_PASSWORD": "short"})  # too short to be a secret
    assert freeswitch_credentials({"SENTRAL_FREESWITCH_PASSWORD": "esl"}) == ("freeswitch", "not-set")
    assert "xml_curl" not in served(env={"SENTRAL_XML_CURL_PASSWORD": "not-set"})


# --- 2. FreeSWITCH's own requests are answered -------------------------------------------------

def test_freeswitchs_own_post_with_its_configured_credentials_gets_the_sip_user(served):
    app = served()["xml_curl"][1]
    resp = freeswitch_post(app, SIP_AUTH, freeswitch_credentials())
    assert resp.status_code == 200 and resp.mimetype == "text/xml"
    (user,) = ET.fromstring(resp.data).iter("user")
    assert user.get("id") == "1000" and A1_HASH_1000 in resp.get_data(as_text=True)
    dialplan = {"section": "dialplan", "Hunt-Context": "public", "Hunt-Destination-Number": "+4721000301",
                "Caller-Context": "public", "Caller-Destination-Number": "+4721000301"}
    resp = freeswitch_post(app, dialplan, freeswitch_credentials())
    assert resp.status_code == 200 and b"cc_queue=vestland-orders" in resp.data


# --- 4. Redirects, sessions, rate limits, proxies, the libraries ----------------------------

@pytest.mark.parametrize("target", ["/\t/evil.example/x", "/\n/evil.example/x", "/\r\n/evil.example", "//evil.example",
                                    "/\\evil.example", "\\\\evil.example", "https://evil.example/",
                                    " //evil.example", "/\x00/evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(served, target):
    c = client_from(site(served))
    token = csrf_of(c.get("/login").get_data(as_text=True))
    resp = c.post("/login", data={"username": "centre", "password": PASSWORD, "csrf_token": token, "next": target})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location == "/directory/" and "evil" not in location


def test_login_keeps_a_plain_local_next(served):
    c = client_from(site(served))
    token = csrf_of(c.get("/login?next=/directory/absence/").get_data(as_text=True))
    resp = c.post("/login", data={"username": "centre", "password": PASSWORD, "csrf_token": token,
                                  "next": "/directory/absence/?tenant=nordlys"})
    assert resp.headers["Location"] == "/directory/absence/?tenant=nordlys"


def test_logout_ends_the_session_for_a_copied_cookie_too(served):
    app = site(served)
    c = client_from(app)
    assert login(c, "nl-admin").status_code == 302
    thief = client_from(app, "10.20.7.7")
    cookie = c.get_cookie("session")
    thief.set_cookie("session", cookie.value)
    assert thief.get(PAGE).status_code == 200                     # the copy works while the login lasts
    token = csrf_of(c.get(PAGE).get_data(as_text=True))
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    assert thief.get(PAGE).status_code == 302                     # ended on the server, not only in one browser
    assert c.get(PAGE).status_code == 302


def test_a_session_ends_when_idle_and_after_its_absolute_lifetime(served, clock):
    app = site(served)
    c = client_from(app)
    login(c, "nl-admin")
    clock.now += timedelta(minutes=29)
    assert c.get(PAGE).status_code == 200
    clock.now += timedelta(minutes=31)                            # 31 minutes unused
    assert c.get(PAGE).status_code == 302
    login(c, "nl-admin")
    for _ in range(24):                                           # used every 29 minutes for 11.6 hours
        clock.now += timedelta(minutes=29)
        assert c.get(PAGE).status_code == 200
    clock.now += timedelta(minutes=29)                            # 12 h 5 min after the login
    assert c.get(PAGE).status_code == 302


def test_a_new_password_or_deactivation_ends_existing_sessions(served):
    app = site(served)
    users = app.extensions["sentral"][1].users
    a, b = client_from(app), client_from(app)
    login(a, "nl-admin")
    login(b, "centre")
    users.set_password("nl-admin", "a new password 2026")
    users.set_active("centre", False)
    assert a.get(PAGE).status_code == 302 and b.get(PAGE).status_code == 302


def test_failed_logins_back_off_per_account_whatever_the_address(served):
    app = site(served)
    for i in range(5):
        assert login(client_from(app, f"10.20.5.{i}"), "nl-admin", "guess").status_code == 401
    # the sixth try, from yet another address, is refused before the password is checked
    assert login(client_from(app, "10.20.5.99"), "nl-admin").status_code == 429
    assert login(client_from(app, "10.20.5.99"), "nl-super").status_code == 302   # other accounts go on


def test_logins_are_limited_per_address_too(served):
    app = site(served)
    c = client_from(app, "10.20.6.6")
    statuses = [login(c, f"nobody{i}", "guess").status_code for i in range(11)]
    assert statuses == [401] * 10 + [429]
    assert login(client_from(app, "10.20.6.7"), "centre").status_code == 302


def test_proxyfix_only_when_configured(served):
    direct = site(served)
    via_proxy = site(served, "--trusted-proxies", "1")
    outside = {"HTTP_X_FORWARDED_FOR": "192.0.2.10"}
    inside = {"HTTP_X_FORWARDED_FOR": "10.20.1.5"}
    # without a trusted proxy the header is ignored: the peer (127.0.0.1, not a public network) decides
    assert direct.test_client().get("/directory/?q=kari", environ_base={"REMOTE_ADDR": "127.0.0.1", **inside}) \
        .status_code == 403
    assert via_proxy.test_client().get("/directory/?q=kari", environ_base={"REMOTE_ADDR": "127.0.0.1", **inside}) \
        .status_code == 200
    assert via_proxy.test_client().get("/directory/?q=kari", environ_base={"REMOTE_ADDR": "127.0.0.1", **outside}) \
        .status_code == 403


def test_sessions_csrf_limits_and_hashes_come_from_the_libraries(served):
    from flask_limiter import Limiter
    from flask_login import LoginManager
    from flask_wtf.csrf import CSRFProtect

    app = site(served)
    assert isinstance(app.login_manager, LoginManager) and isinstance(app.extensions["csrf"], CSRFProtect)
    assert any(isinstance(e, Limiter) for e in app.extensions["limiter"])
    users = app.extensions["sentral"][1].users
    import sqlalchemy as sa
    from store.passwords import scrypt_hash

    with users.engine.begin() as conn:          # a user whose hash predates Argon2id
        conn.execute(sa.text("UPDATE web_users SET password_hash = :h WHERE username = 'nl-super'"),
                     {"h": scrypt_hash(PASSWORD, n=2 ** 10)})
    assert login(client_from(app), "nl-super").status_code == 302
    with users.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM web_users WHERE username = 'nl-super'")).scalar()
    assert stored.startswith("$argon2id$")


# --- 5. Absence reasons are not public ------------------------------------------------------

def sick(app):
    app.extensions["sentral"][1].directory.replace_absences(
        PersonKey("nordlys", "nl1003"), "ical:nordlys",
        [an_absence("nl1003", NOW - timedelta(hours=1), NOW + timedelta(days=2), AbsenceCategory.SICK,
                    tenant="nordlys", subject="Legetime")])


def search(c):
    return c.get("/directory/?q=%C3%85se+S%C3%B8rli").get_data(as_text=True)


def test_the_public_and_colleagues_see_absent_and_back_at_but_never_the_reason(served, caplog):
    app = site(served)
    sick(app)
    caplog.set_level(logging.DEBUG)
    anonymous = client_from(app)
    html = search(anonymous)
    assert "borte, tilbake 2026-03-12 10:30" in html and "sykefravær" not in html.lower()
    [hit] = [h for h in anonymous.get("/directory/api/search?q=aase+soerli").get_json()["hits"]
             if h["id"] == "nl1003"]
    assert hit["presence"]["state"] == "absent" and hit["presence"]["category"] is None
    colleague = client_from(app)
    login(colleague, "bjorn.aasen@nordlys.no")                     # an employee of the same agency
    assert "sykefravær" not in search(colleague).lower() and "borte, tilbake" in search(colleague)
    assert all("sick" not in r.getMessage() and "Legetime" not in r.getMessage() for r in caplog.records)


def test_operators_and_the_agencys_supervisors_see_the_reason(served):
    app = site(served)
    sick(app)
    for user in ("operator1", "nl-super", "centre"):
        c = client_from(app)
        login(c, user)
        assert "borte (sykefravær), tilbake" in search(c), user


def test_presence_push_to_an_employee_carries_no_reason(served):
    app = site(served)
    sick(app)
    socketio = app.extensions["socketio"]
    results = {}
    for user in ("bjorn.aasen@nordlys.no", "operator1"):
        c = client_from(app)
        login(c, user)
        sio = socketio.test_client(app, namespace="/presence", flask_test_client=c)
        sio.emit("watch", [{"tenant": "nordlys", "person_id": "nl1003"}], namespace="/presence", callback=True)
        [change] = [m["args"][0] for m in sio.get_received("/presence") if m["name"] == "presence_changed"]
        results[user] = change
        sio.disconnect(namespace="/presence")
    employee, operator = results["bjorn.aasen@nordlys.no"], results["operator1"]
    assert employee["state"] == "absent" and employee["back_at"] and employee["category"] is None
    assert "sick" not in str(employee) and "Legetime" not in str(employee)
    assert operator["category"] == "sick"


def test_registering_a_sick_absence_writes_the_reason_to_no_log(served, caplog):
    app = site(served)
    caplog.set_level(logging.DEBUG)
    c = client_from(app)
    login(c, "ase.sorli@nordlys.no")
    token = csrf_of(c.get(ASE).get_data(as_text=True))
    assert c.post(ASE + "/add", data={"csrf_token": token, "start": "2026-03-10T08:00", "end": "2026-03-11T16:00",
                                      "category": "sick"}).status_code == 302
    entries = app.extensions["sentral"][1].users.audit_entries(target_id="nordlys/nl1003")
    assert entries and all("sick" not in str(e.detail) for e in entries)
    assert all("sick" not in r.getMessage() for r in caplog.records)


# --- 6. Bad input is a clear 400/404, never a 500 -------------------------------------------

def absence_form(app, user="ase.sorli@nordlys.no"):
    c = client_from(app)
    login(c, user)
    return c, csrf_of(c.get(ASE).get_data(as_text=True))


def test_an_absence_id_beyond_the_database_range_is_404(served):
    c, token = absence_form(site(served))
    for path in (f"{ASE}/99999999999999999999999/update", f"{ASE}/99999999999999999999999/delete",
                 f"{ASE}/9223372036854775808/delete", f"{ASE}/0/delete"):
        resp = c.post(path, data={"csrf_token": token, "start": "2026-03-10T08:00", "end": "2026-03-11T08:00",
                                  "category": "vacation"})
        assert resp.status_code == 404, path
        assert "Finnes ikke" in resp.get_data(as_text=True)


@pytest.mark.parametrize("start,end,message", [
    ("0001-01-01", "0001-01-02", "Oppgi start og slutt som dato og klokkeslett"),
    ("0001-01-01T00:00", "2026-03-11T08:00", "Oppgi start og slutt"),
    ("9999-12-30T00:00", "9999-12-31T23:59", "innenfor to år fra i dag"),
    ("2026-03-10T08:00", "9999-01-01T00:00", "høyst to år"),
    ("2028-03-01T08:00", "2028-03-20T08:00", "innenfor to år fra i dag"),
    ("2023-01-01T08:00", "2023-01-02T08:00", "innenfor to år fra i dag"),
    ("2026-03-10T08:00+05:00", "2026-03-11T08:00", "Oppgi start og slutt"),
    ("2026-03-10T08:00" + "0" * 100, "2026-03-11T08:00", "Oppgi start og slutt"),
])
def test_absence_dates_out_of_range_are_400_with_a_message(served, start, end, message):
    app = site(served)
    c, token = absence_form(app)
    resp = c.post(ASE + "/add", data={"csrf_token": token, "start": start, "end": end, "category": "sick"})
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert app.extensions["sentral"][1].directory.web_absences(PersonKey("nordlys", "nl1003")) == []


def test_an_absence_within_two_years_is_accepted(served):
    app = site(served)
    c, token = absence_form(app)
    resp = c.post(ASE + "/add", data={"csrf_token": token, "start": "2027-12-01T08:00", "end": "2028-03-01T08:00",
                                      "category": "vacation"})
    assert resp.status_code == 302


@pytest.mark.parametrize("target", ["/directory/\n", "\n", "/x\r\nSet-Cookie: a=b", "%0A"])
def test_a_next_with_a_newline_is_ignored_not_a_500(served, target):
    c = client_from(site(served))
    page = c.get("/login", query_string={"next": target})
    assert page.status_code == 200
    token = csrf_of(page.get_data(as_text=True))
    resp = c.post("/login", data={"username": "centre", "password": PASSWORD, "csrf_token": token, "next": target})
    assert resp.status_code == 302 and "\n" not in resp.headers["Location"] and "Set-Cookie" not in \
        resp.headers["Location"]

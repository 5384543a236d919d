"""Public directory search (R19): open without login from the agencies' networks only,
rate-limited per address, hostile input harmless."""
from datetime import timedelta

from engine.directory.model import AbsenceCategory, PersonKey
from tests.directory.conftest import an_absence
from tests.web.conftest import NOW, client_from, logged_in


def test_given_allowed_network_when_searching_then_ranked_hits_with_presence(web, client):
    web.extensions["sentral"][1].directory.replace_absences(
        PersonKey("nordlys", "nl1003"), "ical:hd",
        [an_absence("nl1003", NOW - timedelta(hours=1), NOW + timedelta(days=2), AbsenceCategory.VACATION,
                    tenant="nordlys", subject="Ferie på Kreta")])
    resp = client.get("/directory/?q=%C3%85se+S%C3%B8rli")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Åse Sørli" in html and "borte, tilbake 2026-03-12 10:30" in html and "stedfortreder: Bjørn Aasen" in html
    assert "ferie" not in html.lower()  # the reason is for operators and the agency's own supervisors
    assert "Kreta" not in html  # event subjects are for operators only
    data = client.get("/directory/api/search?q=aase+soerli").get_json()
    assert data["hits"][0]["name"] == "Åse Sørli"
    assert data["hits"][0]["presence"]["state"] == "absent" and data["hits"][0]["presence"]["detail"] == ""
    assert data["hits"][0]["presence"]["category"] is None
    operator = logged_in(web, "operator1")
    assert "borte (ferie), tilbake" in operator.get("/directory/?q=%C3%85se+S%C3%B8rli").get_data(as_text=True)


def test_given_tenant_filter_then_only_that_agency(client):
    hits = client.get("/directory/api/search?q=r%C3%A5dgiver&tenant=fjordvik").get_json()["hits"]
    assert hits and {h["tenant"] for h in hits} == {"fjordvik"}


def test_given_address_outside_the_networks_then_403_without_data(web):
    for address in ("192.168.1.10", "10.21.0.1", "2001:db8::1", "not-an-ip"):
        resp = client_from(web, address).get("/directory/api/search?q=kari")
        assert resp.status_code == 403, address
        assert "Kari" not in resp.get_data(as_text=True)


def test_given_ipv4_mapped_ipv6_inside_network_then_allowed(web):
    assert client_from(web, "::ffff:10.20.3.4").get("/directory/api/search?q=kari").status_code == 200


def test_given_burst_exceeded_then_429_with_retry_after_and_other_addresses_unaffected(web):
    c = client_from(web, "10.20.9.9")
    statuses = [c.get("/directory/api/search?q=kari").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]   # the test app's limit: 5 searches per 5 seconds
    refused = c.get("/directory/api/search?q=kari")
    assert 1 <= int(refused.headers["Retry-After"]) <= 5 and "Kari" not in refused.get_data(as_text=True)
    assert c.get("/directory/").status_code == 200      # the empty page is no search: not counted
    assert client_from(web, "10.20.9.10").get("/directory/api/search?q=kari").status_code == 200


def test_given_sql_injection_in_query_then_no_error_no_leak(client):
    for q in ("' OR '1'='1", "x'; DROP TABLE dir_persons; --", "%' UNION SELECT password_hash FROM web_users --"):
        resp = client.get("/directory/api/search", query_string={"q": q})
        assert resp.status_code == 200 and resp.get_json()["hits"] == []
        assert "scrypt$" not in resp.get_data(as_text=True)
    assert client.get("/directory/api/search?q=Kari+Nordmann").get_json()["hits"][0]["name"] == "Kari Nordmann"


def test_given_script_in_query_then_escaped_in_page(client):
    html = client.get("/directory/", query_string={"q": "<script>alert(1)</script>"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_given_path_traversal_on_static_then_not_served(client):
    for path in ("/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e/%2e%2e/etc/passwd"):
        assert client.get(path).status_code == 404, path
    assert client.get("/static/directory.css").status_code == 200


def test_given_page_then_security_headers_and_no_external_resources(client):
    resp = client.get("/directory/")
    assert resp.headers["X-Frame-Options"] == "DENY" and "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "http://" not in resp.get_data(as_text=True) and "https://" not in resp.get_data(as_text=True)

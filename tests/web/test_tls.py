"""Issue 11, item 6: `sentral run` serves its web listener over HTTPS with the operator's
certificate (--tls-cert/--tls-key). The real `sentral run` process, a self-signed
certificate made in the test: /login answers over HTTPS to a client that trusts that
certificate only, the login cookie is Secure (even with --insecure-cookies), plain HTTP on
the same port gets no page, a certificate and key that do not belong together stop it
before the engine starts, and plain HTTP off loopback is warned about."""
from __future__ import annotations

import http.client
import ssl

import pytest

from sentral import tls
from tests.dialplan.files import DEMO
from tests.web.certs import self_signed
from tests.web.run_process import RunProcess


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def https_run(tmp_path_factory, certificate):
    cert, key = certificate
    run = RunProcess(tmp_path_factory.mktemp("tls-run"), DEMO, "--tls-cert", str(cert), "--tls-key", str(key),
                     "--insecure-cookies")
    try:
        run.wait_listening()
        yield run
    finally:
        run.stop()


def https_get(port: int, path: str, cafile) -> http.client.HTTPResponse:
    context = ssl.create_default_context(cafile=str(cafile))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    conn.request("GET", path)
    return conn.getresponse()


def test_given_a_certificate_when_sentral_run_starts_then_login_is_served_over_https(https_run, certificate):
    assert https_run.scheme == "https"
    resp = https_get(https_run.port, "/login", certificate[0])
    body = resp.read().decode()
    assert resp.status == 200 and 'name="csrf_token"' in body
    cookie = resp.getheader("Set-Cookie")
    assert cookie.startswith("session=") and "; Secure" in cookie and "HttpOnly" in cookie


def test_plain_http_on_the_https_port_gets_no_page(https_run):
    conn = http.client.HTTPConnection("127.0.0.1", https_run.port, timeout=10)
    with pytest.raises((http.client.HTTPException, OSError)):
        conn.request("GET", "/login")
        resp = conn.getresponse()
        pytest.fail(f"plain HTTP answered {resp.status}")


def test_a_client_that_does_not_trust_the_certificate_is_refused(https_run, tmp_path):
    stranger, _ = self_signed(tmp_path, "stranger")
    with pytest.raises(ssl.SSLCertVerificationError):
        https_get(https_run.port, "/login", stranger)


def test_a_key_of_another_certificate_stops_sentral_run_before_the_engine_starts(tmp_path, certificate):
    _, other_key = self_signed(tmp_path, "other")
    run = RunProcess(tmp_path, DEMO, "--tls-cert", str(certificate[0]), "--tls-key", str(other_key))
    try:
        assert run.proc.wait(timeout=60) == 1
    finally:
        run.stop()
    out = run.output()
    assert "cannot be used together" in out and "engine ready" not in out


def test_a_certificate_without_its_key_is_a_usage_error(tmp_path, certificate):
    run = RunProcess(tmp_path, DEMO, "--tls-cert", str(certificate[0]))
    try:
        assert run.proc.wait(timeout=60) == 2
    finally:
        run.stop()
    assert "needs both --tls-cert and --tls-key" in run.output()


def test_plain_http_is_warned_about_off_loopback_only():
    for host in ("0.0.0.0", "10.20.1.5", "::", "sentral.example"):
        assert "plain HTTP" in tls.plain_http_warning(host, 8081), host
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert tls.plain_http_warning(host, 8081) == "", host


def test_plain_http_on_loopback_starts_without_a_warning(tmp_path):
    run = RunProcess(tmp_path, DEMO)
    try:
        assert run.wait_listening()[0] == "http"
    finally:
        run.stop()
    assert "plain HTTP" not in run.output()

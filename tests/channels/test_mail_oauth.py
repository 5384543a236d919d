"""XOAUTH2 login: msal's client-credentials flow against a stand-in for Entra ID on 127.0.0.1
(fake_entra.py: OpenID discovery and the token endpoint over TLS, the shapes Entra answers
with), and MailboxReader logging in with those tokens to a real dovecot that checks them by
introspection at the same stand-in (conftest.py `dovecot_xoauth2`). msal itself is not mocked."""
from __future__ import annotations

import pytest

from channels.email.inbound import MailboxLoginRefused, MailboxReader
from channels.email.oauth import OAuth2Failed, OAuth2Settings, TokenSource
from tests.channels.conftest import CLIENT_ID, TENANT

SECRET_VAR = "SENTRAL_TEST_M365_SECRET"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def a_source(entra, secret="app-secret", tenant=TENANT, **kw) -> TokenSource:
    settings = OAuth2Settings(tenant, CLIENT_ID, SECRET_VAR, authority=entra.authority.replace(TENANT, tenant))
    return TokenSource(settings, environ={SECRET_VAR: secret}, ca_file=str(entra.ca_file),
                       instance_discovery=False, **kw)


def a_mail(n: int) -> bytes:
    return (f"From: Kari <kari{n}@example.test>\r\nTo: post@agency.test\r\n"
            f"Message-ID: <m{n}@example.test>\r\nSubject: Question {n}\r\n\r\nBody {n}\r\n").encode()


def test_settings_default_to_the_tenants_microsoft_authority_and_exchange_online():
    s = OAuth2Settings("contoso-tenant", "client", "SECRET_VAR")
    assert s.authority_url == "https://login.microsoftonline.com/contoso-tenant"
    assert s.scopes == ("https://outlook.office365.com/.default",)


def test_the_client_credentials_token_is_fetched_once_and_kept_until_shortly_before_expiry(entra, caplog):
    caplog.set_level("INFO", logger="channels.email.oauth")

    def asked_msal() -> int:
        return sum("XOAUTH2: access token" in r.getMessage() for r in caplog.records)
    clock = Clock()
    source = a_source(entra, clock=clock)
    token = source.token()
    assert token == entra.issued[0]
    assert source.token() == token and asked_msal() == 1 and len(entra.token_requests) == 1
    sent = entra.token_requests[0]
    assert sent["grant_type"] == "client_credentials" and sent["client_id"] == CLIENT_ID
    assert sent["client_secret"] == "app-secret"
    assert "https://outlook.office365.com/.default" in sent["scope"].split()

    clock.now += entra.expires_in - 301            # still more than 5 minutes left: ours
    assert source.token() == token and asked_msal() == 1
    clock.now += 2                                 # inside the margin: msal is asked again
    assert source.token() == token and asked_msal() == 2
    # (its cache answers: the wall clock did not move; see the short-lived test below)
    assert len(entra.token_requests) == 1
    assert "app-secret" not in caplog.text and token not in caplog.text


def test_a_short_lived_token_is_renewed_once_inside_the_margin(entra):
    entra.expires_in = 200                          # shorter than the 5-minute margin
    clock = Clock()
    source = a_source(entra, clock=clock)
    first = source.token()
    assert source.token() != first                 # never served from our cache
    assert len(entra.token_requests) == 2          # nor msal's (it also keeps a 5-minute margin)


def test_invalidate_skips_msals_cache_and_asks_the_token_endpoint(entra):
    source = a_source(entra)
    first = source.token()
    source.invalidate(first)
    assert source.token() != first
    assert len(entra.token_requests) == 2


def test_a_wrong_secret_fails_with_entras_error_and_never_shows_the_secret(entra):
    source = a_source(entra, secret="wrong-secret-value")
    with pytest.raises(OAuth2Failed) as err:
        source.token()
    assert err.value.error_id == "mail.oauth2_failed"
    assert err.value.error == "invalid_client"
    assert "AADSTS7000215" in str(err.value)
    assert "wrong-secret-value" not in str(err.value) and "app-secret" not in str(err.value)


def test_an_unknown_tenant_fails_at_discovery(entra):
    with pytest.raises(OAuth2Failed) as err:
        a_source(entra, tenant="no-such-tenant").token()
    assert err.value.error == "invalid_authority" and "AADSTS90002" in str(err.value)
    assert entra.token_requests == []


def test_an_unset_secret_variable_fails_without_asking(entra, monkeypatch):
    monkeypatch.delenv(SECRET_VAR, raising=False)
    source = TokenSource(OAuth2Settings(TENANT, CLIENT_ID, SECRET_VAR, authority=entra.authority),
                         ca_file=str(entra.ca_file), instance_discovery=False)
    with pytest.raises(OAuth2Failed, match=SECRET_VAR) as err:
        source.token()
    assert err.value.error == "missing_secret" and entra.token_requests == []
    monkeypatch.setenv(SECRET_VAR, "app-secret")   # read from the environment by default
    assert source.token() == entra.issued[0]


def test_the_certificate_of_the_authority_is_verified(entra, tmp_path):
    from tests.web.certs import self_signed

    other_ca, _ = self_signed(tmp_path, "other")
    settings = OAuth2Settings(TENANT, CLIENT_ID, SECRET_VAR, authority=entra.authority)
    source = TokenSource(settings, environ={SECRET_VAR: "app-secret"}, ca_file=str(other_ca),
                         instance_discovery=False)
    with pytest.raises(OAuth2Failed, match="SSL|certificate") as err:
        source.token()
    assert err.value.error == "unreachable" and entra.token_requests == []


def test_reader_logs_in_with_xoauth2_and_reads_mail(dovecot_xoauth2, entra):
    uid = dovecot_xoauth2.deliver(a_mail(1))
    source = a_source(entra)
    with MailboxReader(dovecot_xoauth2.host, dovecot_xoauth2.port, dovecot_xoauth2.username,
                       oauth2=source, timeout=10) as reader:
        events = reader.fetch_new()
        assert [e.uid for e in events] == [uid]
        reader.confirm(uid)
    assert entra.introspections == [entra.issued[0]]   # dovecot checked our token
    assert b"\\Seen" in dovecot_xoauth2.flags(uid)


def test_a_refused_token_is_replaced_once_and_the_login_retried(dovecot_xoauth2, entra):
    source = a_source(entra)
    reader = MailboxReader(dovecot_xoauth2.host, dovecot_xoauth2.port, dovecot_xoauth2.username,
                           oauth2=source, timeout=10)
    reader.open().close()
    entra.revoke_all()                              # the cached token is no longer accepted
    with reader:
        assert reader.fetch_new() == []
    assert len(entra.token_requests) == 2
    assert entra.introspections == [entra.issued[0], entra.issued[0], entra.issued[1]]


def test_a_token_refused_twice_raises_login_refused(dovecot_xoauth2, entra):
    entra.mailbox = "someone-else"                  # tokens that do not grant this mailbox
    reader = MailboxReader(dovecot_xoauth2.host, dovecot_xoauth2.port, dovecot_xoauth2.username,
                           oauth2=a_source(entra), timeout=10)
    with pytest.raises(MailboxLoginRefused) as err:
        reader.open()
    assert err.value.error_id == "mailbox_login_refused"
    assert len(entra.token_requests) == 2 and len(entra.introspections) == 2


def test_a_failing_token_endpoint_raises_oauth2_failed_from_open(dovecot_xoauth2, entra):
    reader = MailboxReader(dovecot_xoauth2.host, dovecot_xoauth2.port, dovecot_xoauth2.username,
                           oauth2=a_source(entra, secret="expired"), timeout=10)
    with pytest.raises(OAuth2Failed):
        reader.open()
    assert entra.introspections == []


def test_passwords_still_work_next_to_xoauth2_and_a_wrong_one_is_refused(dovecot_xoauth2):
    d = dovecot_xoauth2
    with MailboxReader(d.host, d.port, d.username, d.password, timeout=10) as reader:
        assert reader.fetch_new() == []
    with pytest.raises(MailboxLoginRefused):
        MailboxReader(d.host, d.port, d.username, "not-the-password", timeout=10).open()


def test_a_password_or_a_token_source_not_both_or_neither(entra):
    with pytest.raises(ValueError):
        MailboxReader("127.0.0.1", 143, "queue")
    with pytest.raises(ValueError):
        MailboxReader("127.0.0.1", 143, "queue", "secret", oauth2=a_source(entra))


def test_a_connection_dropped_during_authenticate_is_connection_lost_not_refused(entra):
    import socket
    import threading

    from channels.email.inbound import MailboxConnectionLost

    listener = socket.create_server(("127.0.0.1", 0))

    def serve():                       # answers CAPABILITY, hangs up at AUTHENTICATE
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"* OK ready\r\n")
            for line in lines:
                tag, command = line.split()[:2]
                if command.upper() != b"CAPABILITY":
                    break
                conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\r\n" + tag + b" OK done\r\n")
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        reader = MailboxReader("127.0.0.1", listener.getsockname()[1], "queue",
                               oauth2=a_source(entra), timeout=10)
        with pytest.raises(MailboxConnectionLost, match="EOF"):
            reader.open()
    finally:
        t.join(timeout=10)
        listener.close()
    assert len(entra.token_requests) == 1          # no second token for a lost connection

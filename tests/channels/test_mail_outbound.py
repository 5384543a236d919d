"""Replies built by channels.email.outbound and sent by channels.email.smtp to a real SMTP
server (aiosmtpd on 127.0.0.1 and a free port): the headers the server received, the
threading round trip through parse + find_case, refusals, STARTTLS + AUTH and failures."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import re
import time

import pytest

from channels.email.outbound import (MAX_REFERENCES, HeaderRefused, ReplyRefused, build_reply,
                                     references_for, reply_subject)
from channels.email.parse import Attachment, MailItem, parse_message
from channels.email.smtp import SendFailed, SmtpConfig, send
from channels.email.threading import find_case_for, normalise_message_id
from tests.helpers import Inbox, free_port, smtp_server

CUSTOMER_MAIL = (
    b"From: =?utf-8?q?Kj=C3=A6rsti_=C3=98deg=C3=A5rd?= <kjersti@kunde.example>\r\n"
    b"To: post@helsedir.example\r\n"
    b"Subject: SV: Re: Faktura =?utf-8?q?m=C3=A5ned?= [Sak #ABC123]\r\n"
    b"Message-ID: <c3@kunde.example>\r\n"
    b"In-Reply-To: <ours-2@helsedir.example>\r\n"
    b"References: <root@kunde.example> <ours-2@helsedir.example>\r\n"
    b"Date: Tue, 04 Mar 2025 10:00:00 +0100\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Hei, fakturaen stemmer ikke.\r\n")


def item(**changes) -> MailItem:
    base = dict(message_id="<m1@kunde.example>", in_reply_to=None, references=(), subject="Hjelp",
                from_name="Kari", from_address="kari@kunde.example", to=("post@helsedir.example",), cc=(),
                date=None, text="")
    base.update(changes)
    return MailItem(**base)


def received(inbox: Inbox, index: int = 0):
    mail_from, rcpt_tos, raw = inbox.messages[index]
    return mail_from, rcpt_tos, email.message_from_bytes(raw, policy=email.policy.default), raw


@pytest.fixture
def smtp():
    with smtp_server() as inbox:
        yield inbox, SmtpConfig(host="127.0.0.1", port=inbox.port, timeout=10)


def test_reply_threads_and_arrives_with_the_headers_a_client_needs(smtp):
    inbox, config = smtp
    original = parse_message(CUSTOMER_MAIL)
    assert not original.automatic and not original.problems
    body = "Hei Kjersti,\n\nvi ser på fakturaen for mars. Beløpet er 1 250 kr.\n\nHilsen\nÅse"
    msg = build_reply("ABC123", original, "post@helsedir.example", "Helsedirektoratet – kundesenter", body,
                      [Attachment("fakturakopi.pdf", "application/pdf", 9, b"%PDF-1.4\n"),
                       ("øvrig.txt", "text/plain", "linje æ\n".encode())],
                      now=dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.timezone.utc))
    sent = send(config, msg)

    assert len(inbox.messages) == 1
    mail_from, rcpt_tos, got, raw = received(inbox)
    assert mail_from == "post@helsedir.example" and rcpt_tos == ["kjersti@kunde.example"]
    assert got["From"].addresses[0].display_name == "Helsedirektoratet – kundesenter"
    assert got["From"].addresses[0].addr_spec == "post@helsedir.example"
    assert got["To"].addresses[0].display_name == "Kjærsti Ødegård"
    assert got["To"].addresses[0].addr_spec == "kjersti@kunde.example"
    assert str(got["Subject"]) == "Re: Faktura måned [Sak #ABC123]"
    assert str(got["In-Reply-To"]) == "<c3@kunde.example>"
    assert str(got["References"]).split() == ["<root@kunde.example>", "<ours-2@helsedir.example>",
                                              "<c3@kunde.example>"]
    assert str(got["Auto-Submitted"]) == "no"
    assert re.fullmatch(r"<[^<>@\s]+@helsedir\.example>", str(got["Message-ID"]))
    assert str(got["Message-ID"]) == sent.message_id and not sent.refused
    assert got["Date"].datetime == dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.timezone.utc)
    assert all(b < 128 for b in raw), "7-bit on the wire"
    text = got.get_body(("plain",))
    assert text.get_content_charset() == "utf-8" and text.get_content().splitlines() == body.splitlines()
    # Attachments are bytes: they arrive unchanged (base64), whatever their type.
    files = {a.get_filename(): (a.get_content_type(), a.get_payload(decode=True)) for a in got.iter_attachments()}
    assert files == {"fakturakopi.pdf": ("application/pdf", b"%PDF-1.4\n"),
                     "øvrig.txt": ("text/plain", "linje æ\n".encode())}

    # The customer answers our reply from a client that keeps only In-Reply-To and drops the
    # tag: our reader finds the case by our Message-ID.
    answer = (f"From: kjersti@kunde.example\r\nTo: post@helsedir.example\r\nSubject: Takk\r\n"
              f"Message-ID: <c4@kunde.example>\r\nIn-Reply-To: {sent.message_id}\r\n\r\nTakk!\r\n").encode()
    known = {normalise_message_id(sent.message_id): "ABC123"}
    match = find_case_for(parse_message(answer), known, cases=set())
    assert match is not None and (match.case_id, match.by) == ("ABC123", "in-reply-to")
    # ...and by the subject tag alone when a client drops the headers.
    ours = parse_message(raw)
    assert find_case_for(ours, {}, cases={"ABC123"}).by == "subject-tag"


def test_references_keep_the_root_and_the_newest_when_trimmed():
    refs = tuple(f"<r{i}@x.example>" for i in range(40))
    got = references_for(item(references=refs, in_reply_to="<r39@x.example>"))
    assert len(got) == MAX_REFERENCES
    assert got[0] == "<r0@x.example>" and got[-1] == "<m1@kunde.example>"
    assert got[1:-1] == list(refs[-(MAX_REFERENCES - 2):])
    # Short chains are untouched; duplicates go.
    assert references_for(item(references=("<a@x>", "<m1@kunde.example>"))) == ["<a@x>", "<m1@kunde.example>"]
    # No References: the parent's In-Reply-To stands for them (RFC 5322 3.6.4).
    assert references_for(item(in_reply_to="<p@x>")) == ["<p@x>", "<m1@kunde.example>"]


def test_an_original_without_message_id_gets_no_in_reply_to():
    msg = build_reply("ABC123", item(message_id=None), "post@helsedir.example", "Post", "Svar")
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert str(msg["Subject"]) == "Re: Hjelp [Sak #ABC123]"
    assert abs(msg["Date"].datetime.timestamp() - time.time()) < 60, "no `now`: the current time"


@pytest.mark.parametrize("subject,expected", [
    ("Hjelp", "Re: Hjelp [Sak #ABC123]"),
    ("RE: Sv: AW: Hjelp", "Re: Hjelp [Sak #ABC123]"),
    ("Re[2]: Hjelp [sak #abc123]", "Re: Hjelp [sak #abc123]"),
    ("VS: Hjelp [Sak #ZZZ999]", "Re: VS: Hjelp [Sak #ZZZ999] [Sak #ABC123]"),
    ("", "Re: [Sak #ABC123]"),
])
def test_subject_has_one_reply_prefix_and_the_tag_once(subject, expected):
    assert reply_subject(subject, "ABC123") == expected


AUTO_REPLY = (b"From: kari@kunde.example\r\nTo: post@helsedir.example\r\nSubject: Borte\r\n"
              b"Message-ID: <auto1@kunde.example>\r\nAuto-Submitted: auto-replied\r\n\r\nJeg er borte.\r\n")
BOUNCE = (b"From: MAILER-DAEMON@kunde.example\r\nTo: post@helsedir.example\r\nSubject: Undeliverable\r\n"
          b"Message-ID: <b1@kunde.example>\r\n\r\nNot delivered.\r\n")


@pytest.mark.parametrize("raw", [AUTO_REPLY, BOUNCE], ids=["auto-reply", "bounce"])
def test_automatic_mail_is_never_answered(raw):
    original = parse_message(raw)
    assert original.automatic
    with pytest.raises(ReplyRefused) as err:
        build_reply("ABC123", original, "post@helsedir.example", "Post", "Svar")
    assert err.value.error_id == "mail.reply_refused"


def test_our_own_mail_and_mail_without_a_sender_are_not_answered():
    with pytest.raises(ReplyRefused):
        build_reply("ABC123", item(from_address="Post@Helsedir.example"), "post@helsedir.example", "Post", "x")
    with pytest.raises(ReplyRefused):
        build_reply("ABC123", item(from_address=""), "post@helsedir.example", "Post", "x")


@pytest.mark.parametrize("case_id,original,sender,sender_name,attachment", [
    ("ABC123", item(), "post@helsedir.example", "Post\r\nBcc: all@evil.example", None),
    ("ABC123", item(), "post@helsedir.example\nBcc: all@evil.example", "Post", None),
    ("ABC123", item(subject="Hjelp\r\nBcc: all@evil.example"), "post@helsedir.example", "Post", None),
    ("ABC123", item(from_name="Kari\nBcc: all@evil.example"), "post@helsedir.example", "Post", None),
    ("ABC123", item(message_id="<m1@x>\r\nBcc: all@evil.example"), "post@helsedir.example", "Post", None),
    ("ABC123", item(references=("<a@x>\nBcc: b@y",)), "post@helsedir.example", "Post", None),
    ("ABC\n123", item(), "post@helsedir.example", "Post", None),
    ("ABC123", item(subject="Hjelp\u2028Bcc: all@evil.example"), "post@helsedir.example", "Post", None),
    ("ABC123", item(), "post@helsedir.example", "Post", ("a.txt\r\nBcc: x@y", "text/plain", b"x")),
    ("ABC123", item(), "post@helsedir.example", "Post", ("a.txt", "text/plain\r\nBcc: x@y", b"x")),
], ids=["sender-name", "sender", "subject", "recipient-name", "message-id", "references", "case-id",
        "unicode-line-separator", "attachment-name", "attachment-type"])
def test_line_breaks_in_header_values_are_refused(smtp, case_id, original, sender, sender_name, attachment):
    inbox, config = smtp
    with pytest.raises(HeaderRefused) as err:
        build_reply(case_id, original, sender, sender_name, "Svar", [attachment] if attachment else ())
    assert err.value.error_id == "mail.header_refused"
    assert inbox.messages == []


def test_the_body_may_hold_line_breaks_and_any_text(smtp):
    inbox, config = smtp
    body = "Linje 1\r\nBcc: not-a-header@evil.example\n\nLinje 3 – ✓ 日本"
    send(config, build_reply("ABC123", item(), "post@helsedir.example", "Post", body))
    _, rcpt_tos, got, _ = received(inbox)
    assert rcpt_tos == ["kari@kunde.example"] and got["Bcc"] is None
    assert got.get_body(("plain",)).get_content().splitlines() == body.splitlines()


# -- the SMTP sender: STARTTLS, AUTH, failures ---------------------------------------------------
@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A private CA and a server certificate for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.timezone.utc)

    def cert(subject, issuer, key, signer, ca):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
             .not_valid_after(now + dt.timedelta(days=2))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), True)
            b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        else:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                False)
            b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False)
        return b.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sentral test CA")])
    ca = cert(ca_name, ca_name, ca_key, ca_key, True)
    leaf = cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name, key, ca_key, False)
    pem = serialization.Encoding.PEM
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "server.pem").write_bytes(leaf.public_bytes(pem))
    (d / "server.key").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    return d


class Guarded(Inbox):
    """An SMTP server's handler that refuses some recipients (450 temporary, 550 permanent)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("full@"):
            return "452 4.2.2 mailbox full"
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def tls_server(tls_files):
    """aiosmtpd requiring STARTTLS, AUTH only after it (user queue / secret)."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((mechanism, auth_data.login))
        ok = (auth_data.login, auth_data.password) == (b"queue", b"secret")
        return AuthResult(success=ok, handled=False)     # handled=False: the server answers 535

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tls_files / "server.pem", tls_files / "server.key")
    inbox = Guarded()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, tls_context=ctx,
                            require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    controller.start()
    try:
        yield inbox, logins
    finally:
        controller.stop()


def reply():
    return build_reply("ABC123", item(), "post@helsedir.example", "Post", "Svar")


def test_starttls_and_login_from_the_environment(tls_server, tls_files):
    inbox, logins = tls_server
    config = SmtpConfig.from_env({"SENTRAL_SMTP_HOST": "127.0.0.1", "SENTRAL_SMTP_PORT": str(inbox.port),
                                  "SENTRAL_SMTP_STARTTLS": "1", "SENTRAL_SMTP_USER": "queue",
                                  "SENTRAL_SMTP_PASSWORD": "secret", "SENTRAL_SMTP_CAFILE": str(tls_files / "ca.pem")})
    assert (config.host, config.starttls, config.user) == ("127.0.0.1", True, "queue")
    sent = send(config, reply())
    assert [login for _, login in logins] == [b"queue"]
    _, rcpt_tos, got, _ = received(inbox)
    assert rcpt_tos == ["kari@kunde.example"] and str(got["Message-ID"]) == sent.message_id


def test_defaults_from_an_empty_environment():
    assert SmtpConfig.from_env({}) == SmtpConfig(host="localhost", port=25, starttls=False, user="", password="",
                                                 cafile="")


def test_a_wrong_password_is_a_permanent_failure(tls_server, tls_files):
    inbox, _ = tls_server
    config = SmtpConfig("127.0.0.1", inbox.port, starttls=True, user="queue", password="wrong",
                        cafile=str(tls_files / "ca.pem"), timeout=10)
    with pytest.raises(SendFailed) as err:
        send(config, reply())
    assert err.value.permanent and "535" in err.value.reason and err.value.error_id == "mail.send_failed"
    assert inbox.messages == []


def test_a_certificate_we_do_not_trust_is_refused(tls_server):
    inbox, logins = tls_server
    config = SmtpConfig("127.0.0.1", inbox.port, starttls=True, user="queue", password="secret", timeout=10)
    with pytest.raises(SendFailed) as err:
        send(config, reply())
    assert "CERTIFICATE_VERIFY_FAILED" in err.value.reason
    assert logins == [] and inbox.messages == []


def test_no_plain_text_login_and_no_silent_fallback_without_starttls(smtp, tls_server):
    tls_inbox, logins = tls_server
    # The TLS server refuses mail before STARTTLS, and we do not send the password in clear.
    with pytest.raises(SendFailed) as err:
        send(SmtpConfig("127.0.0.1", tls_inbox.port, user="queue", password="secret", timeout=10), reply())
    assert err.value.permanent and logins == [] and tls_inbox.messages == []
    # STARTTLS required of a server that does not offer it: refused, nothing sent.
    plain_inbox, _ = smtp
    with pytest.raises(SendFailed) as err:
        send(SmtpConfig("127.0.0.1", plain_inbox.port, starttls=True, timeout=10), reply())
    assert err.value.permanent and "STARTTLS" in err.value.reason.upper()
    assert plain_inbox.messages == []


@pytest.mark.parametrize("to,permanent", [("nobody@kunde.example", True), ("full@kunde.example", False)])
def test_refused_recipients_say_whether_to_try_again(tls_server, tls_files, to, permanent):
    inbox, _ = tls_server
    config = SmtpConfig("127.0.0.1", inbox.port, starttls=True, user="queue", password="secret",
                        cafile=str(tls_files / "ca.pem"), timeout=10)
    with pytest.raises(SendFailed) as err:
        send(config, build_reply("ABC123", item(from_address=to), "post@helsedir.example", "Post", "Svar"))
    assert err.value.permanent is permanent and to in err.value.reason
    assert inbox.messages == []


def test_some_recipients_refused_the_message_still_went(tls_server, tls_files):
    inbox, _ = tls_server
    config = SmtpConfig("127.0.0.1", inbox.port, starttls=True, user="queue", password="secret",
                        cafile=str(tls_files / "ca.pem"), timeout=10)
    msg = reply()
    msg["Cc"] = "nobody@kunde.example"
    sent = send(config, msg)
    assert list(sent.refused) == ["nobody@kunde.example"] and sent.refused["nobody@kunde.example"][0] == 550
    assert received(inbox)[1] == ["kari@kunde.example"]


def test_no_server_is_a_temporary_failure():
    with pytest.raises(SendFailed) as err:
        send(SmtpConfig("127.0.0.1", free_port(), timeout=5), reply())
    assert not err.value.permanent and "ConnectionRefused" in err.value.reason

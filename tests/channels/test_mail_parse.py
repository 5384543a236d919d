"""parse_message: bodies in every charset, HTML fallback, attachment limits, malformed MIME
(never raises) and auto-reply detection. The charset and malformed cases also travel
through a real dovecot (APPEND, then MailboxReader) so the bytes are what IMAP hands over."""
from __future__ import annotations

import base64
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.email.inbound import MailboxReader
from channels.email.parse import html_to_text, parse_message

NORWEGIAN = "Blåbærsyltetøy på Æøå-gata, takk!"
JAPANESE = "お問い合わせありがとうございます。"


def a_text_mail(body: bytes, charset: str, cte: str = "8bit", subject: str = "Hei",
                extra: str = "") -> bytes:
    head = (f"From: =?utf-8?q?Kari_N=C3=B8rdmann?= <Kari@Example.test>\r\nTo: post@agency.test, "
            f"Ola <ola@agency.test>\r\nCc: boss@agency.test\r\nSubject: {subject}\r\n"
            f"Date: Sun, 06 Dec 2026 03:00:00 +0100\r\nMessage-ID: <abc@Example.test>\r\n"
            f"In-Reply-To: <case-1@sentral.test>\r\nReferences: <root@sentral.test>\r\n <case-1@sentral.test>\r\n"
            f"{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n"
            f"Content-Transfer-Encoding: {cte}\r\n\r\n")
    return head.encode("ascii") + body + b"\r\n"


CHARSET_MAILS = {
    "latin-1": (a_text_mail(NORWEGIAN.encode("latin-1"), "iso-8859-1"), NORWEGIAN),
    "utf-8": (a_text_mail(base64.encodebytes(NORWEGIAN.encode("utf-8")), "utf-8", "base64"), NORWEGIAN),
    "iso-2022-jp": (a_text_mail(JAPANESE.encode("iso-2022-jp"), "ISO-2022-JP", "7bit",
                                subject="=?ISO-2022-JP?B?" + base64.b64encode(
                                    JAPANESE.encode("iso-2022-jp")).decode() + "?="), JAPANESE),
}


@pytest.mark.parametrize("name", sorted(CHARSET_MAILS))
def test_given_body_in_a_declared_charset_when_read_from_imap_then_text_is_decoded(dovecot, name):
    raw, expected = CHARSET_MAILS[name]
    uid = dovecot.deliver(raw)
    with MailboxReader(dovecot.host, dovecot.port, dovecot.username, dovecot.password) as reader:
        (event,) = reader.fetch_new()
    assert event.uid == uid
    item = parse_message(event.raw)
    assert item.text == expected
    assert item.problems == ()
    assert item.from_name == "Kari Nørdmann" and item.from_address == "kari@example.test"
    assert item.to == ("post@agency.test", "ola@agency.test") and item.cc == ("boss@agency.test",)
    assert item.message_id == "<abc@Example.test>"
    assert item.in_reply_to == "<case-1@sentral.test>"
    assert item.references == ("<root@sentral.test>", "<case-1@sentral.test>")
    assert item.date == dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.timezone.utc)
    if name == "iso-2022-jp":
        assert item.subject == JAPANESE
    assert item.automatic is False


def test_given_unknown_charset_then_best_effort_text_and_a_problem():
    item = parse_message(a_text_mail(NORWEGIAN.encode("utf-8"), "x-klingon"))
    assert item.text == NORWEGIAN
    assert any("x-klingon" in p for p in item.problems)


def test_given_bytes_invalid_in_declared_charset_then_replaced_not_raised():
    item = parse_message(a_text_mail(b"ok \xff\xfe end", "utf-8"))
    assert item.text.startswith("ok ") and item.text.endswith(" end") and "\ufffd" in item.text
    assert item.problems


def test_given_8bit_body_declared_ascii_then_read_as_utf8():
    item = parse_message(a_text_mail(NORWEGIAN.encode("utf-8"), "us-ascii"))
    assert item.text == NORWEGIAN


def multipart(*parts: bytes, subtype="mixed", boundary="b1", extra="") -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return (f"From: a@example.test\r\nTo: q@agency.test\r\nSubject: parts\r\n{extra}MIME-Version: 1.0\r\n"
            f"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n\r\n").encode() + body + \
        b"--" + boundary.encode() + b"--\r\n"


HTML_PART = (b"Content-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p{color:red}</style>"
             b"<script>alert(1)</script></head><body><p>Hello &amp; welcome</p><p>Line&nbsp;two"
             b"<br>three</p></body></html>")
PLAIN_PART = b"Content-Type: text/plain; charset=utf-8\r\n\r\nPlain version"


def test_given_alternative_parts_then_plain_text_is_preferred():
    item = parse_message(multipart(HTML_PART, PLAIN_PART, subtype="alternative"))
    assert item.text == "Plain version"


def test_given_html_only_then_text_is_the_html_without_markup_scripts_or_styles():
    item = parse_message(multipart(HTML_PART, subtype="alternative"))
    assert item.text == "Hello & welcome\n\nLine two\nthree"
    assert html_to_text("<b>a</b><div>b</div>") == "a\nb"


def an_attachment(name: str, data: bytes, ctype="application/pdf") -> bytes:
    return (f"Content-Type: {ctype}\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n").encode() + base64.encodebytes(data)


def test_given_an_oversize_attachment_then_listed_with_size_but_not_kept(dovecot):
    small, big = b"%PDF small" * 10, bytes(range(256)) * 400        # 100 B and 102,400 B
    raw = multipart(PLAIN_PART, an_attachment("small.pdf", small),
                    an_attachment("scan.tif", big, "image/tiff"))
    dovecot.deliver(raw)
    with MailboxReader(dovecot.host, dovecot.port, dovecot.username, dovecot.password) as reader:
        (event,) = reader.fetch_new()
    item = parse_message(event.raw, max_attachment_bytes=50_000)
    assert item.text == "Plain version"
    kept, dropped = item.attachments
    assert (kept.filename, kept.content_type, kept.size, kept.data) == ("small.pdf", "application/pdf", 100, small)
    assert (dropped.filename, dropped.content_type, dropped.size, dropped.kept) == \
        ("scan.tif", "image/tiff", len(big), False)
    assert any("scan.tif" in p and "not kept" in p for p in item.problems)


def test_given_a_forwarded_message_then_it_is_one_attachment():
    inner = b"From: x@example.test\r\nSubject: inner\r\n\r\ninner body"
    item = parse_message(multipart(PLAIN_PART, b"Content-Type: message/rfc822\r\n\r\n" + inner))
    (att,) = item.attachments
    assert att.content_type == "message/rfc822" and b"inner body" in att.data
    assert item.text == "Plain version"


MALFORMED = {
    "no end boundary": multipart(PLAIN_PART, an_attachment("a.pdf", b"x" * 10))[:-8],
    "boundary missing": b"Content-Type: multipart/mixed\r\nSubject: x\r\n\r\n--zz\r\n\r\nhello\r\n",
    "broken base64": a_text_mail(b"SGVsbG8gd29ybGQ=!!!@@@", "utf-8", "base64"),
    "garbage headers": b"From: <<<@@>>\r\nTo: ,,,;;;\r\nDate: yesterday-ish\r\nMessage-ID: none\r\n"
                       b"Subject: =?bogus?Q?x?=\r\nContent-Type: text/plain; charset=\"\r\n\r\nbody",
    "no headers at all": b"\xff\xfe\x00binary\x00junk\r\n\r\n\r\n",
    "empty": b"",
    "header line without colon": b"Subject: a\r\nthis is not a header\r\n\r\nbody",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_given_malformed_mime_when_read_from_imap_then_an_item_with_problems_not_an_error(dovecot, name):
    raw = MALFORMED[name]
    if raw:                              # IMAP cannot APPEND an empty message
        dovecot.deliver(raw)
        with MailboxReader(dovecot.host, dovecot.port, dovecot.username, dovecot.password) as reader:
            (event,) = reader.fetch_new()
        raw = event.raw
    item = parse_message(raw)
    assert isinstance(item.text, str)
    if name in ("no end boundary", "boundary missing", "broken base64", "garbage headers",
                "header line without colon"):
        assert item.problems, f"{name}: the defect is reported"
    if name == "garbage headers":
        assert item.date is None and item.message_id is None
    if name == "boundary missing":
        assert "hello" in item.text
    if name == "broken base64":
        assert item.text.startswith("Hello world")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_parse_never_raises_on_arbitrary_bytes(raw):
    item = parse_message(raw)
    assert isinstance(item.problems, tuple) and isinstance(item.text, str)


@pytest.mark.parametrize("header, reason", [
    ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
    ("Auto-Submitted: auto-generated; owner-email=x@y", "Auto-Submitted: auto-generated"),
    ("Precedence: bulk", "Precedence: bulk"),
    ("Precedence: junk", "Precedence: junk"),
    ("Precedence: list", "Precedence: list"),
    ("X-Autoreply: yes", "X-Autoreply"),
    ("List-Id: <news.example.test>", "List-Id"),
    ("Return-Path: <>", "null Return-Path"),
])
def test_given_auto_reply_or_bulk_headers_then_flagged_automatic(header, reason):
    item = parse_message(a_text_mail(b"Out of office", "utf-8", extra=header + "\r\n"))
    assert item.automatic is True and item.automatic_reason == reason


def test_given_mail_from_mailer_daemon_then_flagged_automatic():
    raw = b"From: MAILER-DAEMON@mx.example.test\r\nSubject: Undelivered\r\n\r\nbounce"
    item = parse_message(raw)
    assert item.automatic is True and "mailer-daemon" in item.automatic_reason


@pytest.mark.parametrize("header", ["Auto-Submitted: no", "Precedence: first-class", ""])
def test_given_a_person_writing_then_not_automatic(header):
    item = parse_message(a_text_mail(b"Hello", "utf-8", extra=header + "\r\n" if header else ""))
    assert item.automatic is False and item.automatic_reason is None

"""find_case: replies join their case by In-Reply-To / References, else by a subject tag
naming an existing case. Pure, table-driven; plus the import boundary of channels/email/."""
from __future__ import annotations

import ast
import pathlib
import sys

import pytest

from channels.email.parse import parse_message
from channels.email.threading import (CaseMatch, find_case, find_case_for, normalise_message_id,
                                      subject_tags, tag_subject)

KNOWN = {normalise_message_id(k): v for k, v in {
    "<reply-1@sentral.test>": "ABC123",       # our answer in case ABC123
    "<first@customer.test>": "ABC123",        # the customer's first mail in it
    "<reply-9@sentral.test>": "XYZ999",
}.items()}
CASES = {"ABC123", "XYZ999", "OPEN42"}


def case(in_reply_to=None, references=(), subject=""):
    return find_case(in_reply_to=in_reply_to, references=references, subject=subject,
                     known_message_ids=KNOWN, cases=CASES)


@pytest.mark.parametrize("in_reply_to, references, subject, expected", [
    ("<reply-1@sentral.test>", (), "Re: question", CaseMatch("ABC123", "in-reply-to")),
    (" reply-1@SENTRAL.test ", (), "Re: question", CaseMatch("ABC123", "in-reply-to")),
    ("<unknown@elsewhere.test>", ("<first@customer.test>", "<unknown2@x.test>"), "Re: q",
     CaseMatch("ABC123", "references")),
    # the newest known reference wins over an older one
    (None, ("<first@customer.test>", "<reply-9@sentral.test>"), "", CaseMatch("XYZ999", "references")),
    (None, (), "Re: question [Sak #OPEN42]", CaseMatch("OPEN42", "subject-tag")),
    (None, (), "SV: [sak #open42] spørsmål", CaseMatch("OPEN42", "subject-tag")),
    (None, (), "Re: [Sak # OPEN42 ]", CaseMatch("OPEN42", "subject-tag")),
    # headers beat the subject: answering XYZ999's mail under ABC123's subject
    ("<reply-9@sentral.test>", (), "Re: [Sak #ABC123]", CaseMatch("XYZ999", "in-reply-to")),
    # an unknown tag, then a known one
    (None, (), "[Sak #NOPE00] fwd [Sak #ABC123]", CaseMatch("ABC123", "subject-tag")),
    # nothing known: a new case
    ("<unknown@elsewhere.test>", ("<other@x.test>",), "Re: [Sak #NOPE00]", None),
    (None, (), "Question about [Case #ABC123]", None),     # another word than the tenant's
    (None, (), "Sak #ABC123 without brackets", None),
    (None, (), "", None),
])
def test_find_case(in_reply_to, references, subject, expected):
    assert case(in_reply_to, references, subject) == expected


def test_given_a_parsed_reply_then_its_headers_find_the_case():
    raw = (b"From: kari@example.test\r\nSubject: Re: Hei\r\nMessage-ID: <r2@example.test>\r\n"
           b"In-Reply-To: <nobody@x.test>\r\nReferences: <first@customer.test>\r\n\t<nobody@x.test>\r\n\r\nTakk")
    assert find_case_for(parse_message(raw), KNOWN, CASES) == CaseMatch("ABC123", "references")


def test_tag_words_are_per_tenant():
    assert find_case(in_reply_to=None, references=(), subject="Re: [Case #XYZ999]",
                     known_message_ids={}, cases=CASES, tag_words=("Sak", "Case")) == \
        CaseMatch("XYZ999", "subject-tag")


def test_tag_subject_adds_the_tag_once():
    assert tag_subject("Hei", "ABC123") == "Hei [Sak #ABC123]"
    assert tag_subject("Re: Hei [sak #abc123]", "ABC123") == "Re: Hei [sak #abc123]"
    assert subject_tags(tag_subject("Re: Hei", "ABC123")) == ["ABC123"]


def test_normalise_message_id():
    assert normalise_message_id("<A.b@Host.Example>") == "<A.b@host.example>"
    assert normalise_message_id("  ") is None and normalise_message_id(None) is None


def test_email_channel_imports_only_stdlib_its_mail_libraries_and_channels():
    root = pathlib.Path(__file__).resolve().parents[2] / "channels" / "email"
    allowed = {"channels", "imapclient",
               "msal", "requests"}          # oauth.py: msal and the HTTP session it is given
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for name in names:
                top = name.split(".")[0]
                if top not in allowed and top not in sys.stdlib_module_names:
                    offenders.append(f"{path.name}:{node.lineno} imports {top}")
    assert not offenders, offenders

"""The derived, folded search columns of a person or service (pure).

Rules: every column is built from `names.fold`, so a query folded the same way meets
it. `search_text` is padded with a space on both sides so a word-start match is
`LIKE '% tok%'` on every database. `phones_text` holds the digits of every number
(without "+"), space-separated and padded, so a suffix or full number matches by LIKE.
"""
from __future__ import annotations

from engine.directory.model import Person, Service
from engine.directory.names import fold, initials


def _pad(text: str) -> str:
    return f" {text} " if text else " "


def _phones(*numbers: str) -> str:
    digits = [n.lstrip("+") for n in numbers if n]
    return _pad(" ".join(digits))


def person_columns(p: Person, unit_name: str = "") -> dict:
    keywords = " ".join(p.all_keywords)
    local = p.email.split("@", 1)[0] if p.email else ""
    return {
        "name_text": fold(f"{p.given_name} {p.family_name}"),
        "family_first": fold(f"{p.family_name} {p.given_name}"),
        "initials": initials(p.given_name, p.family_name),
        "search_text": _pad(fold(" ".join(
            [p.given_name, p.family_name, p.title, unit_name, p.location, local, keywords]))),
        "phones_text": _phones(p.direct_phone, p.mobile_phone, p.switchboard_phone),
    }


def service_columns(s: Service, unit_name: str = "") -> dict:
    return {
        "name_text": fold(s.name),
        "search_text": _pad(fold(" ".join([s.name, unit_name, s.description, " ".join(s.keywords)]))),
        "phones_text": _phones(s.phone),
    }

"""How search hits are classified and ordered (pure).

Rules, in order (a lower `Rank` is better):
1. EXACT: the folded query is the whole name (either order), or the whole phone number.
2. PREFIX: the name starts with the query ("kari nor" → Kari Nordmann; "nordmann k" →
   family name first), also with the spaces left out ("marielouise" → Marie-Louise
   Hansen), or the query is the initials ("kn", "akb"), or a phone number ends with /
   contains the typed digits.
3. WORD: every query word starts a word somewhere in the person's text (middle names,
   title, unit, location, keywords, e-mail name), also typed without Norwegian letters
   ("lonn" for Lønn: `names.ascii_variants`).
4. FUZZY: the name is similar to the query (typos): the adapter's similarity (an edit
   distance counting a swap of neighbouring letters as one edit) ≥ FUZZY_THRESHOLD.
Within a rank: active before gone, then by the similarity, then by name.
The same rules order hits from PostgreSQL and SQLite; SQL only finds candidates.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable

from engine.directory.model import Person, Presence, Service
from engine.directory.names import ascii_variants

FUZZY_THRESHOLD = 0.6   # of the adapter's similarity (store/directory_fuzzy.py: Damerau-Levenshtein)


class Rank(enum.IntEnum):
    EXACT = 0
    PREFIX = 1
    WORD = 2
    FUZZY = 3


@dataclass(frozen=True)
class SearchHit:
    kind: str                          # "person" or "service"
    rank: Rank
    score: float                       # similarity in [0, 1] (1 for exact)
    unit_name: str = ""
    person: Person | None = None
    service: Service | None = None
    presence: Presence | None = None
    substitute_name: str = ""

    @property
    def tenant(self) -> str:
        return (self.person or self.service).tenant

    @property
    def external_id(self) -> str:
        return (self.person or self.service).external_id

    @property
    def name(self) -> str:
        return self.person.display_name if self.person else self.service.name

    def sort_key(self):
        gone = bool(self.person and self.person.gone_since)
        return (self.rank, gone, -self.score, self.name.lower())


Similarity = Callable[[str, str], float]   # (folded query, folded name) -> [0, 1]


def classify_name(query: str, name_text: str, family_first: str = "", initials: str = "",
                  search_text: str = "", *, similarity: Similarity) -> tuple[Rank, float] | None:
    """Rank of one candidate for a folded query, or None if it does not match.
    `similarity` is the edit-distance measure the adapter brings (the engine stays pure)."""
    if not query:
        return None
    if query in (name_text, family_first):
        return Rank.EXACT, 1.0
    compact = query.replace(" ", "")
    if name_text.startswith(query) or (family_first and family_first.startswith(query)) \
            or (initials and query == initials) \
            or _joined_prefix(compact, name_text):
        return Rank.PREFIX, len(query) / max(len(name_text), 1)
    padded = search_text or f" {name_text} "
    if all(any(f" {v}" in padded for v in ascii_variants(tok)) for tok in query.split()):
        return Rank.WORD, similarity(query, name_text)
    score = similarity(query, name_text)
    if score >= FUZZY_THRESHOLD:
        return Rank.FUZZY, score
    return None


def _joined_prefix(compact: str, name_text: str) -> bool:
    """The query is the name with the spaces between its first words left out
    ("marielouise", "marielouiseha"): it spans at least two whole words, so "anne" is
    not taken for "Ann Eriksen"."""
    words = name_text.split()
    if len(words) < 2 or not name_text.replace(" ", "").startswith(compact):
        return False
    return len(compact) >= len(words[0]) + len(words[1])


def classify_phone(digits: str, phones_text: str) -> tuple[Rank, float] | None:
    if not digits:
        return None
    if f" {digits} " in phones_text:
        return Rank.EXACT, 1.0
    if digits in phones_text:
        return Rank.PREFIX, 0.5
    return None


def hit_dict(hit: SearchHit, public: bool = False) -> dict:
    """The JSON form of a search hit (CLI, web API). `public` leaves out what only
    operators see (operator notes are never here; absence subjects are dropped)."""
    out = {"kind": hit.kind, "tenant": hit.tenant, "id": hit.external_id, "name": hit.name,
           "rank": hit.rank.name.lower(), "score": round(hit.score, 3), "unit": hit.unit_name}
    if hit.person:
        p = hit.person
        out.update(title=p.title, direct_phone=p.direct_phone, mobile_phone=p.mobile_phone,
                   switchboard_phone=p.switchboard_phone, email=p.email, location=p.location,
                   keywords=list(p.all_keywords), substitute=hit.substitute_name,
                   gone_since=p.gone_since.isoformat() if p.gone_since else None)
    else:
        s = hit.service
        out.update(phone=s.phone, email=s.email, opening_hours=s.opening_hours, description=s.description)
    if hit.presence:
        pr = hit.presence
        out["presence"] = {"state": pr.state.value, "category": pr.category.value if pr.category else None,
                           "back_at": pr.back_at.isoformat() if pr.back_at else None,
                           "detail": "" if public else pr.detail}
    return out

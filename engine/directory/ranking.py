"""How search hits are classified and ordered (pure).

Rules, in order (a lower `Rank` is better):
1. EXACT: the folded query is the whole name (either order), or the whole phone number.
2. PREFIX: the name starts with the query ("kari nor" → Kari Nordmann; "nordmann k" →
   family name first), or the query is the initials ("kn"), or a phone number ends
   with / contains the typed digits.
3. WORD: every query word starts a word somewhere in the person's text (middle names,
   title, unit, location, keywords, e-mail name).
4. FUZZY: the name is similar to the query (typos): trigram word similarity ≥ 0.45.
Within a rank: active before gone, then by the similarity, then by name.
The same rules order hits from PostgreSQL and SQLite; SQL only finds candidates.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from engine.directory.model import Person, Presence, Service

FUZZY_THRESHOLD = 0.45


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


def trigrams(text: str) -> set[str]:
    """pg_trgm-style trigrams of folded text: each word padded "  w " ."""
    out: set[str] = set()
    for word in text.split():
        padded = f"  {word} "
        out.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return out


def similarity(a: str, b: str) -> float:
    ta, tb = trigrams(a), trigrams(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def word_similarity(query: str, text: str) -> float:
    """Best similarity of the query against any run of consecutive words of `text`."""
    words = text.split()
    n = max(1, len(query.split()))
    best = similarity(query, text)
    for size in range(max(1, n - 1), n + 2):
        for i in range(0, max(1, len(words) - size + 1)):
            best = max(best, similarity(query, " ".join(words[i:i + size])))
    return best


def classify_name(query: str, name_text: str, family_first: str = "", initials: str = "",
                  search_text: str = "") -> tuple[Rank, float] | None:
    """Rank of one candidate for a folded query, or None if it does not match."""
    if not query:
        return None
    if query in (name_text, family_first):
        return Rank.EXACT, 1.0
    if name_text.startswith(query) or (family_first and family_first.startswith(query)) \
            or (initials and query == initials):
        return Rank.PREFIX, len(query) / max(len(name_text), 1)
    padded = search_text or f" {name_text} "
    if all(f" {tok}" in padded for tok in query.split()):
        return Rank.WORD, word_similarity(query, name_text)
    score = word_similarity(query, name_text)
    if score >= FUZZY_THRESHOLD:
        return Rank.FUZZY, score
    return None


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

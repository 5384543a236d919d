"""Operator search over the directory: candidates from SQL, order from the engine.

Rules:
- The query is folded exactly like the stored columns (`engine.directory.names.fold`).
  Nothing from the query is ever put into SQL text: every value is a bound parameter.
- Phone-looking queries ("22 33 44 55", "+4722334455", "4455") search the E.164 digits.
- A full e-mail address finds its owner first (exact, case-insensitive), then names
  like its local part.
- Otherwise three passes (a name typed as it is spelled is answered by pass 1 alone):
  pass 2 runs when pass 1 found fewer than FEW (5) hits; pass 3 when passes 1-2 found
  fewer than FEW:
  1. name prefix (given-first and family-first) and initials — B-tree range scans in
     byte order (collation "C" on PostgreSQL) that stop after `limit` rows;
  2. every query word starts a word of the search text (`LIKE '% word%'`, served by the
     pg_trgm GIN index on PostgreSQL, a scan on SQLite), each word also in the spellings
     it has when typed without Norwegian letters ("lonn" → "loenn" = Lønn);
  3. fuzzy (names only): each query word is corrected against `dir_words`, the small
     vocabulary of name words, by Damerau-Levenshtein distance (rapidfuzz, in
     `store.directory_fuzzy`; a swap of neighbouring letters is one edit), and a word
     that is two known names run together is split ("marielouise"); the corrected names
     are looked up like pass 1; the engine keeps only names close to the query.
  The same code runs on both databases, so they answer alike.
- Services are searched by the same rules; presence is derived from the absences in
  force at `now` (`engine.directory.presence`).
"""
from __future__ import annotations

import functools
import itertools
import logging
from dataclasses import replace
from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.directory.model import PersonKey
from engine.directory.names import ascii_variants, fold
from store.phones import looks_like_phone, phone_digits_for_search
from engine.directory.presence import presence_at
from engine.directory.ranking import Rank, SearchHit, classify_name, classify_phone
from store.directory import ABSENCES, PERSONS, SERVICES, UNITS, WORDS, absence_from_row, person_from_row, service_from_row
from store.directory_fuzzy import corrections, name_similarity, splits

log = logging.getLogger(__name__)
PRESENCE_HORIZON = timedelta(days=60)
MAX_QUERY = 200
MAX_FUZZY_WORDS, MAX_COMBOS, MAX_WORDS = 4, 12, 8
VARIANTS = 6  # spellings per query word tried by the word pass (`names.ascii_variants`)
FEW = 5  # passes 2 and 3 run only when the name prefixes found fewer hits than this
MAX_EMAIL = 254


def search(conn: sa.Connection, query: str, tenant: str | None = None, limit: int = 20,
           now: datetime | None = None) -> list[SearchHit]:
    query = (query or "")[:MAX_QUERY]
    limit = max(1, min(int(limit), 200))
    pg = conn.dialect.name == "postgresql"
    if looks_like_phone(query):
        digits = phone_digits_for_search(query)
        rows = _phone_rows(conn, digits, tenant, limit)
        ranked = [(classify_phone(digits, r.phones_text), r) for r in rows]
        services = _service_rows(conn, None, digits, tenant, limit)
        sranked = [(classify_phone(digits, r.phones_text), r) for r in services]
    else:
        email = query.strip().lower() if "@" in query and len(query.strip()) <= MAX_EMAIL else ""
        q = fold(email.split("@", 1)[0] if email else query)   # an address: its owner, then names like its local part
        if not q:
            return []
        rows = _name_rows(conn, q, tenant, limit, pg)
        ranked = [(classify_name(q, r.name_text, r.family_first, r.initials, r.search_text,
                                 similarity=name_similarity), r) for r in rows]
        if email:
            owners = _email_rows(conn, email, q, tenant, limit)
            ids = {r.id for r in owners}
            ranked = [((Rank.EXACT, 1.0), r) for r in owners] + [(c, r) for c, r in ranked if r.id not in ids]
        services = _service_rows(conn, q, None, tenant, limit)
        sranked = [(classify_name(q, r.name_text, "", "", r.search_text, similarity=name_similarity), r)
                   for r in services]
    hits = _person_hits(conn, [(c, r) for c, r in ranked if c], now)
    hits += _with_unit_names(conn, [SearchHit("service", c[0], c[1], service=service_from_row(r))
                                    for c, r in sranked if c])
    hits.sort(key=SearchHit.sort_key)
    return hits[:limit]


def _persons():
    return sa.select(PERSONS)


def _with_unit(stmt):
    """The persons `stmt` selects (already filtered, ordered and limited) with their
    unit's name: joined *after* the LIMIT, so the join never defeats an index scan."""
    sub = stmt.subquery()
    joined = sub.outerjoin(UNITS, sa.and_(UNITS.c.tenant == sub.c.tenant, UNITS.c.external_id == sub.c.unit_id))
    return sa.select(sub, UNITS.c.name.label("unit_name")).select_from(joined)


# Statements are built once per shape with bound parameters (building a SELECT with
# subqueries costs SQLAlchemy ~3 ms of CPU; executing a cached one is cheap).
_N, _TENANT = sa.bindparam("n"), sa.bindparam("tenant")


def _bound_scope(stmt, table, scoped: bool):
    return stmt.where(table.c.tenant == _TENANT) if scoped else stmt


@functools.cache
def _phone_stmt(scoped: bool):
    # unordered: a short digit string matches many; the engine ranks what comes back
    stmt = _bound_scope(_persons().where(PERSONS.c.phones_text.like(sa.bindparam("pattern"))), PERSONS, scoped)
    return _with_unit(stmt.limit(_N))


@functools.cache
def _prefix_stmt(initials: bool, scoped: bool):
    q, hi = sa.bindparam("q"), sa.bindparam("q_hi")
    parts = [_bound_scope(_persons().where(col >= q, col < hi), PERSONS, scoped).order_by(col).limit(_N)
             for col in (PERSONS.c.name_text, PERSONS.c.family_first)]
    if initials:
        parts.append(_bound_scope(_persons().where(PERSONS.c.initials == q), PERSONS, scoped).order_by(PERSONS.c.name_text).limit(_N))
    return sa.union_all(*[_with_unit(part) for part in parts])


def _word_conditions(table, words: int):
    """Every query word starts a word of the search text, in one of its spellings."""
    return [sa.or_(*[table.c.search_text.like(sa.bindparam(f"w{i}_{j}")) for j in range(VARIANTS)])
            for i in range(words)]


def _word_params(words: list[str]) -> dict:
    params = {}
    for i, tok in enumerate(words):
        spellings = ascii_variants(tok, VARIANTS)
        spellings += spellings[-1:] * (VARIANTS - len(spellings))   # one statement shape per word count
        params.update({f"w{i}_{j}": f"% {v}%" for j, v in enumerate(spellings)})
    return params


@functools.cache
def _word_stmt(words: int, scoped: bool):
    stmt = _bound_scope(_persons().where(*_word_conditions(PERSONS, words),
                                         PERSONS.c.id.notin_(sa.bindparam("found", expanding=True))), PERSONS, scoped)
    return _with_unit(stmt.limit(_N))  # unordered: the engine ranks the candidates


@functools.cache
def _email_stmt(scoped: bool):
    # the LIKE on the address's first word lets PostgreSQL use the trigram index
    stmt = _bound_scope(_persons().where(PERSONS.c.search_text.like(sa.bindparam("word")),
                                         sa.func.lower(PERSONS.c.email) == sa.bindparam("email")), PERSONS, scoped)
    return _with_unit(stmt.limit(_N))


def _email_rows(conn, email, q, tenant, limit):
    return conn.execute(_email_stmt(bool(tenant)), {"word": f"% {q.split()[0]}%", "email": email,
                                                    "n": limit, "tenant": tenant}).all()


def _phone_rows(conn, digits, tenant, limit):
    if len(digits) < 3:
        return []
    return conn.execute(_phone_stmt(bool(tenant)), {"pattern": f"%{digits}%", "n": limit * 2, "tenant": tenant}).all()


def _name_rows(conn, q, tenant, limit, pg):
    found: dict[int, object] = {}

    def take(stmt, params):
        for r in conn.execute(stmt, params):
            found.setdefault(r.id, r)

    # folded text is [a-z0-9 ] only, so q..q+"~" is exactly the prefix range; the
    # prefix and initials lookups go in one statement (one round trip).
    initials = " " not in q and 2 <= len(q) <= 5
    take(_prefix_stmt(initials, bool(tenant)), {"q": q, "q_hi": q + "~", "n": limit, "tenant": tenant})
    if len(found) < FEW:
        words = q.split()[:MAX_WORDS]
        take(_word_stmt(len(words), bool(tenant)),
             _word_params(words) | {"found": list(found), "n": limit - len(found), "tenant": tenant})
    if len(found) < FEW and len(q) >= 3:
        for r in _fuzzy_rows(conn, q, tenant):
            found.setdefault(r.id, r)
    return list(found.values())


def _fuzzy_rows(conn, q, tenant):
    """Correct each query word against the vocabulary of name words (Damerau-Levenshtein,
    and two names run together split apart), then look up the corrected names (every
    combination, as typed or family-first) by the same ordered prefix ranges as pass 1;
    the engine keeps only names close to the query."""
    tokens = q.split()[:MAX_FUZZY_WORDS]
    vocabulary = [r.word for r in conn.execute(_vocabulary_stmt())]
    known = set(vocabulary)
    alternatives, corrected = [], False
    for tok in tokens:
        options = [tok]
        if len(tok) >= 3:
            options += splits(tok, known) + corrections(tok, vocabulary)
        options = list(dict.fromkeys(options))[:3]
        corrected |= len(options) > 1
        alternatives.append(options)
    if not corrected:
        return []
    combos = [" ".join(c) for c in itertools.islice(itertools.product(*alternatives), MAX_COMBOS)]
    combos += combos[-1:] * (MAX_COMBOS - len(combos))  # one statement shape, compiled once
    params = {f"c{i}": c for i, c in enumerate(combos)} | {f"c{i}_hi": c + "~" for i, c in enumerate(combos)}
    return conn.execute(_combo_stmt(MAX_COMBOS, bool(tenant)), params | {"tenant": tenant}).all()


@functools.cache
def _vocabulary_stmt():
    # the distinct folded name words: a few thousand rows even for a large directory
    return sa.select(WORDS.c.word)


@functools.cache
def _combo_stmt(count: int, scoped: bool):
    parts = [_bound_scope(_persons().where(col >= sa.bindparam(f"c{i}"), col < sa.bindparam(f"c{i}_hi")), PERSONS, scoped)
             .order_by(col).limit(5) for i in range(count) for col in (PERSONS.c.name_text, PERSONS.c.family_first)]
    return sa.union_all(*[_with_unit(part) for part in parts])


@functools.cache
def _service_stmt(words: int, scoped: bool):
    if words == 0:  # a phone number
        conds = [SERVICES.c.phones_text.like(sa.bindparam("pattern"))]
    else:
        conds = _word_conditions(SERVICES, words)
    return _bound_scope(sa.select(SERVICES).where(*conds), SERVICES, scoped).order_by(SERVICES.c.name_text).limit(_N)


def _service_rows(conn, q, digits, tenant, limit):
    if digits is not None:
        if len(digits) < 3:
            return []
        return conn.execute(_service_stmt(0, bool(tenant)),
                            {"pattern": f"%{digits}%", "n": limit, "tenant": tenant}).all()
    words = q.split()[:MAX_WORDS]
    return conn.execute(_service_stmt(len(words), bool(tenant)),
                        _word_params(words) | {"n": limit, "tenant": tenant}).all()


def _person_hits(conn, ranked, now):
    if not ranked:
        return []
    persons = [person_from_row(r) for _, r in ranked]
    absences = _absences_by_person(conn, persons, now) if now else {}
    subs = _substitute_names(conn, persons)
    hits = []
    for (cls, row), p in zip(ranked, persons):
        presence = presence_at(absences.get(p.key, ()), now, gone=p.gone_since is not None) if now else None
        hits.append(SearchHit("person", cls[0], cls[1], person=p, presence=presence,
                              unit_name=row.unit_name or "", substitute_name=subs.get(PersonKey(p.tenant, p.substitute or ""), "")))
    return hits


@functools.cache
def _absence_stmt():
    return sa.select(ABSENCES).where(sa.tuple_(ABSENCES.c.tenant, ABSENCES.c.person_id).in_(sa.bindparam("pairs", expanding=True)),
                              ABSENCES.c.end_at > sa.bindparam("now", type_=ABSENCES.c.end_at.type),
                              ABSENCES.c.start_at < sa.bindparam("horizon", type_=ABSENCES.c.start_at.type))


def _absences_by_person(conn, persons, now):
    out: dict[PersonKey, list] = {}
    pairs = sorted({(p.tenant, p.external_id) for p in persons})
    for r in conn.execute(_absence_stmt(), {"pairs": pairs, "now": now, "horizon": now + PRESENCE_HORIZON}):
        a = absence_from_row(r)
        out.setdefault(a.person_key, []).append(a)
    return out


def _substitute_names(conn, persons):
    wanted = sorted({(p.tenant, p.substitute) for p in persons if p.substitute})
    if not wanted:
        return {}
    stmt = sa.select(PERSONS.c.tenant, PERSONS.c.external_id, PERSONS.c.given_name, PERSONS.c.family_name).where(
        sa.tuple_(PERSONS.c.tenant, PERSONS.c.external_id).in_(wanted))
    return {PersonKey(r.tenant, r.external_id): f"{r.given_name} {r.family_name}".strip()
            for r in conn.execute(stmt)}


def _with_unit_names(conn, hits):
    keys = sorted({(h.tenant, (h.person or h.service).unit_id) for h in hits if (h.person or h.service).unit_id})
    names = {}
    if keys:
        stmt = sa.select(UNITS.c.tenant, UNITS.c.external_id, UNITS.c.name).where(sa.tuple_(UNITS.c.tenant, UNITS.c.external_id).in_(keys))
        names = {(r.tenant, r.external_id): r.name for r in conn.execute(stmt)}
    return [replace(h, unit_name=names.get((h.tenant, (h.person or h.service).unit_id), "")) for h in hits]

"""Operator search over the directory: candidates from SQL, order from the engine.

Rules:
- The query is folded exactly like the stored columns (`engine.directory.names.fold`).
  Nothing from the query is ever put into SQL text: every value is a bound parameter.
- Phone-looking queries ("22 33 44 55", "+4722334455", "4455") search the E.164 digits.
- Otherwise three passes (a name typed as it is spelled is answered by pass 1 alone):
  pass 2 runs when pass 1 found nothing, or fewer than FEW (5) hits for a one-word
  query; pass 3 when passes 1-2 found fewer than FEW:
  1. name prefix (given-first and family-first) and initials — B-tree range scans in
     byte order (collation "C" on PostgreSQL) that stop after `limit` rows;
  2. every query word starts a word of the search text (`LIKE '% word%'`, served by the
     pg_trgm GIN index on PostgreSQL, a scan on SQLite);
  3. fuzzy (names only): each query word is corrected against `dir_words`, the small
     vocabulary of name words (pg_trgm `%` with a GIN index on PostgreSQL, the same
     trigram measure in Python on SQLite), then the corrected names are looked up like
     pass 1; the engine's word similarity keeps only names close to the query.
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
from engine.directory.names import fold
from engine.directory.phones import looks_like_phone, phone_digits_for_search
from engine.directory.presence import presence_at
from engine.directory.ranking import (
    Rank, SearchHit, classify_name, classify_phone, similarity,
)
from store.directory import A, P, S, U, W, absence_from_row, person_from_row, service_from_row

log = logging.getLogger(__name__)
PRESENCE_HORIZON = timedelta(days=60)
MAX_QUERY = 200
MAX_FUZZY_WORDS, MAX_COMBOS, MAX_WORDS = 4, 12, 8
FEW = 5  # passes 2 and 3 run only when the name prefixes found fewer hits than this
WORD_THRESHOLD = 0.3  # trigram similarity of a typed word to a known name word


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
        q = fold(query)
        if not q:
            return []
        rows = _name_rows(conn, q, tenant, limit, pg)
        ranked = [(classify_name(q, r.name_text, r.family_first, r.initials, r.search_text), r) for r in rows]
        services = _service_rows(conn, q, None, tenant, limit)
        sranked = [(classify_name(q, r.name_text, "", "", r.search_text), r) for r in services]
    hits = _person_hits(conn, [(c, r) for c, r in ranked if c], now)
    hits += _with_unit_names(conn, [SearchHit("service", c[0], c[1], service=service_from_row(r))
                                    for c, r in sranked if c])
    hits.sort(key=SearchHit.sort_key)
    return hits[:limit]


def _persons():
    return sa.select(P)


def _with_unit(stmt):
    """The persons `stmt` selects (already filtered, ordered and limited) with their
    unit's name: joined *after* the LIMIT, so the join never defeats an index scan."""
    sub = stmt.subquery()
    joined = sub.outerjoin(U, sa.and_(U.c.tenant == sub.c.tenant, U.c.external_id == sub.c.unit_id))
    return sa.select(sub, U.c.name.label("unit_name")).select_from(joined)


# Statements are built once per shape with bound parameters (building a SELECT with
# subqueries costs SQLAlchemy ~3 ms of CPU; executing a cached one is cheap).
_N, _TENANT = sa.bindparam("n"), sa.bindparam("tenant")


def _bound_scope(stmt, table, scoped: bool):
    return stmt.where(table.c.tenant == _TENANT) if scoped else stmt


@functools.cache
def _phone_stmt(scoped: bool):
    # unordered: a short digit string matches many; the engine ranks what comes back
    stmt = _bound_scope(_persons().where(P.c.phones_text.like(sa.bindparam("pattern"))), P, scoped)
    return _with_unit(stmt.limit(_N))


@functools.cache
def _prefix_stmt(initials: bool, scoped: bool):
    q, hi = sa.bindparam("q"), sa.bindparam("q_hi")
    parts = [_bound_scope(_persons().where(col >= q, col < hi), P, scoped).order_by(col).limit(_N)
             for col in (P.c.name_text, P.c.family_first)]
    if initials:
        parts.append(_bound_scope(_persons().where(P.c.initials == q), P, scoped).order_by(P.c.name_text).limit(_N))
    return sa.union_all(*[_with_unit(part) for part in parts])


@functools.cache
def _word_stmt(words: int, scoped: bool):
    conds = [P.c.search_text.like(sa.bindparam(f"w{i}")) for i in range(words)]
    stmt = _bound_scope(_persons().where(*conds, P.c.id.notin_(sa.bindparam("found", expanding=True))), P, scoped)
    return _with_unit(stmt.limit(_N))  # unordered: the engine ranks the candidates


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
    if not found or (len(found) < FEW and " " not in q):
        words = q.split()[:MAX_WORDS]
        params = {f"w{i}": f"% {tok}%" for i, tok in enumerate(words)}
        take(_word_stmt(len(words), bool(tenant)),
             params | {"found": list(found), "n": limit - len(found), "tenant": tenant})
    if len(found) < FEW and len(q) >= 3:
        for r in _fuzzy_rows(conn, q, tenant, limit, pg):
            found.setdefault(r.id, r)
    return list(found.values())


def _fuzzy_rows(conn, q, tenant, limit, pg):
    """Correct each query word against the vocabulary of name words, then look up the
    corrected names (every combination, as typed or family-first) by the same ordered
    prefix ranges as pass 1; the engine's word similarity keeps only close names."""
    tokens = q.split()[:MAX_FUZZY_WORDS]
    similar = _similar_words(conn, [t for t in tokens if len(t) >= 3], pg)
    alternatives, corrected = [], False
    for tok in tokens:
        corrected |= any(w != tok for w in similar.get(tok, ()))
        alternatives.append(list(dict.fromkeys([tok] + similar.get(tok, [])))[:3])
    if not corrected:
        return []
    combos = [" ".join(c) for c in itertools.islice(itertools.product(*alternatives), MAX_COMBOS)]
    combos += combos[-1:] * (MAX_COMBOS - len(combos))  # one statement shape, compiled once
    params = {f"c{i}": c for i, c in enumerate(combos)} | {f"c{i}_hi": c + "~" for i, c in enumerate(combos)}
    return conn.execute(_combo_stmt(MAX_COMBOS, bool(tenant)), params | {"tenant": tenant}).all()


@functools.cache
def _combo_stmt(count: int, scoped: bool):
    parts = [_bound_scope(_persons().where(col >= sa.bindparam(f"c{i}"), col < sa.bindparam(f"c{i}_hi")), P, scoped)
             .order_by(col).limit(5) for i in range(count) for col in (P.c.name_text, P.c.family_first)]
    return sa.union_all(*[_with_unit(part) for part in parts])


def _similar_words(conn, tokens, pg, count=4) -> dict[str, list[str]]:
    """For each token, the most similar known name words (one round trip)."""
    if not tokens:
        return {}
    out: dict[str, list[str]] = {}
    if pg:  # `%` uses pg_trgm.similarity_threshold, whose default is WORD_THRESHOLD (0.3)
        rows = conn.execute(sa.text(
            "SELECT t.tok, w.word FROM unnest(CAST(:toks AS text[])) AS t(tok) CROSS JOIN LATERAL "
            "(SELECT word FROM dir_words WHERE word % t.tok "
            " ORDER BY similarity(word, t.tok) DESC, word LIMIT :n) AS w"), {"toks": tokens, "n": count})
        for tok, word in rows:
            out.setdefault(tok, []).append(word)
        return out
    words = [r.word for r in conn.execute(sa.select(W.c.word))]
    for tok in tokens:
        scored = sorted((-similarity(tok, w), w) for w in words)
        out[tok] = [w for s, w in scored[:count] if -s >= WORD_THRESHOLD]
    return out


@functools.cache
def _service_stmt(words: int, scoped: bool):
    if words == 0:  # a phone number
        conds = [S.c.phones_text.like(sa.bindparam("pattern"))]
    else:
        conds = [S.c.search_text.like(sa.bindparam(f"w{i}")) for i in range(words)]
    return _bound_scope(sa.select(S).where(*conds), S, scoped).order_by(S.c.name_text).limit(_N)


def _service_rows(conn, q, digits, tenant, limit):
    if digits is not None:
        if len(digits) < 3:
            return []
        return conn.execute(_service_stmt(0, bool(tenant)),
                            {"pattern": f"%{digits}%", "n": limit, "tenant": tenant}).all()
    words = q.split()[:MAX_WORDS]
    params = {f"w{i}": f"% {tok}%" for i, tok in enumerate(words)}
    return conn.execute(_service_stmt(len(words), bool(tenant)), params | {"n": limit, "tenant": tenant}).all()


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
    return sa.select(A).where(sa.tuple_(A.c.tenant, A.c.person_id).in_(sa.bindparam("pairs", expanding=True)),
                              A.c.end_at > sa.bindparam("now", type_=A.c.end_at.type),
                              A.c.start_at < sa.bindparam("horizon", type_=A.c.start_at.type))


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
    stmt = sa.select(P.c.tenant, P.c.external_id, P.c.given_name, P.c.family_name).where(
        sa.tuple_(P.c.tenant, P.c.external_id).in_(wanted))
    return {PersonKey(r.tenant, r.external_id): f"{r.given_name} {r.family_name}".strip()
            for r in conn.execute(stmt)}


def _with_unit_names(conn, hits):
    keys = sorted({(h.tenant, (h.person or h.service).unit_id) for h in hits if (h.person or h.service).unit_id})
    names = {}
    if keys:
        stmt = sa.select(U.c.tenant, U.c.external_id, U.c.name).where(sa.tuple_(U.c.tenant, U.c.external_id).in_(keys))
        names = {(r.tenant, r.external_id): r.name for r in conn.execute(stmt)}
    return [replace(h, unit_name=names.get((h.tenant, (h.person or h.service).unit_id), "")) for h in hits]

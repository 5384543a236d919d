"""Operator search over the directory: candidates from SQL, order from the engine.

Rules:
- The query is folded exactly like the stored columns (`engine.directory.names.fold`).
  Nothing from the query is ever put into SQL text: every value is a bound parameter.
- Phone-looking queries ("22 33 44 55", "+4722334455", "4455") search the E.164 digits.
- Otherwise three passes, each only if the previous ones found fewer than `limit`:
  1. name prefix (given-first and family-first) and initials — B-tree range scans
     (`text_pattern_ops` on PostgreSQL) that stop after `limit` rows;
  2. every query word starts a word of the search text (`LIKE '% word%'`, served by the
     pg_trgm GIN index on PostgreSQL, a scan on SQLite);
  3. fuzzy: pg_trgm word similarity (`<%`, GIN) on PostgreSQL; on SQLite the same
     trigram measure in Python over the tenant's names (demo-sized data).
- Services are searched by the same rules; presence is derived from the absences in
  force at `now` (`engine.directory.presence`).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.directory.model import PersonKey
from engine.directory.names import fold
from engine.directory.phones import looks_like_phone, phone_digits_for_search
from engine.directory.presence import presence_at
from engine.directory.ranking import (
    FUZZY_THRESHOLD, Rank, SearchHit, classify_name, classify_phone, word_similarity,
)
from store.directory import A, P, S, U, absence_from_row, person_from_row, service_from_row

log = logging.getLogger(__name__)
PRESENCE_HORIZON = timedelta(days=60)
MAX_QUERY = 200


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
    hits += [SearchHit("service", c[0], c[1], service=service_from_row(r)) for c, r in sranked if c]
    hits = _with_unit_names(conn, hits)
    hits.sort(key=SearchHit.sort_key)
    return hits[:limit]


def _scope(stmt, table, tenant):
    return stmt.where(table.c.tenant == tenant) if tenant else stmt


def _phone_rows(conn, digits, tenant, limit):
    if len(digits) < 3:
        return []
    stmt = _scope(sa.select(P).where(P.c.phones_text.like(f"%{digits}%")), P, tenant)
    return conn.execute(stmt.order_by(P.c.name_text).limit(limit * 2)).all()


def _name_rows(conn, q, tenant, limit, pg):
    found: dict[int, object] = {}

    def take(stmt):
        for r in conn.execute(stmt):
            found.setdefault(r.id, r)

    for col in (P.c.name_text, P.c.family_first):
        cond = col.like(q + "%") if pg else sa.and_(col >= q, col < q + "~")
        take(_scope(sa.select(P).where(cond), P, tenant).order_by(col).limit(limit))
    if " " not in q and 2 <= len(q) <= 5:
        take(_scope(sa.select(P).where(P.c.initials == q), P, tenant).order_by(P.c.name_text).limit(limit))
    if len(found) < limit:
        conds = [P.c.search_text.like(f"% {tok}%") for tok in q.split()]
        stmt = _scope(sa.select(P).where(*conds), P, tenant)
        if found:
            stmt = stmt.where(P.c.id.notin_(list(found)))
        take(stmt.order_by(P.c.name_text).limit(limit - len(found)))
    if len(found) < limit and len(q) >= 3:
        for r in (_fuzzy_pg(conn, q, tenant, limit) if pg else _fuzzy_python(conn, q, tenant, limit)):
            found.setdefault(r.id, r)
    return list(found.values())


def _fuzzy_pg(conn, q, tenant, limit):
    conn.execute(sa.text("SET LOCAL pg_trgm.word_similarity_threshold = :t"), {"t": FUZZY_THRESHOLD})
    score = sa.func.word_similarity(q, P.c.name_text)
    stmt = _scope(sa.select(P).where(sa.literal(q).op("<%")(P.c.name_text)), P, tenant)
    return conn.execute(stmt.order_by(score.desc(), P.c.name_text).limit(limit)).all()


def _fuzzy_python(conn, q, tenant, limit):
    stmt = _scope(sa.select(P.c.id, P.c.name_text), P, tenant)
    scored = sorted(((word_similarity(q, r.name_text), r.id) for r in conn.execute(stmt)), reverse=True)
    ids = [i for s, i in scored[:limit] if s >= FUZZY_THRESHOLD]
    return conn.execute(sa.select(P).where(P.c.id.in_(ids))).all() if ids else []


def _service_rows(conn, q, digits, tenant, limit):
    if digits is not None:
        if len(digits) < 3:
            return []
        stmt = sa.select(S).where(S.c.phones_text.like(f"%{digits}%"))
    else:
        stmt = sa.select(S).where(*[S.c.search_text.like(f"% {tok}%") for tok in q.split()])
    return conn.execute(_scope(stmt, S, tenant).order_by(S.c.name_text).limit(limit)).all()


def _person_hits(conn, ranked, now):
    if not ranked:
        return []
    persons = [person_from_row(r) for _, r in ranked]
    absences = _absences_by_person(conn, persons, now) if now else {}
    subs = _substitute_names(conn, persons)
    hits = []
    for (cls, _), p in zip(ranked, persons):
        presence = presence_at(absences.get(p.key, ()), now, gone=p.gone_since is not None) if now else None
        hits.append(SearchHit("person", cls[0], cls[1], person=p, presence=presence,
                              substitute_name=subs.get(PersonKey(p.tenant, p.substitute or ""), "")))
    return hits


def _absences_by_person(conn, persons, now):
    out: dict[PersonKey, list] = {}
    by_tenant: dict[str, list[str]] = {}
    for p in persons:
        by_tenant.setdefault(p.tenant, []).append(p.external_id)
    for tenant, ids in by_tenant.items():
        stmt = sa.select(A).where(A.c.tenant == tenant, A.c.person_id.in_(ids), A.c.end_at > now,
                                  A.c.start_at < now + PRESENCE_HORIZON)
        for r in conn.execute(stmt):
            a = absence_from_row(r)
            out.setdefault(a.person_key, []).append(a)
    return out


def _substitute_names(conn, persons):
    wanted = {(p.tenant, p.substitute) for p in persons if p.substitute}
    out = {}
    for tenant, sub in wanted:
        row = conn.execute(sa.select(P.c.given_name, P.c.family_name).where(
            P.c.tenant == tenant, P.c.external_id == sub)).first()
        if row:
            out[PersonKey(tenant, sub)] = f"{row.given_name} {row.family_name}".strip()
    return out


def _with_unit_names(conn, hits):
    keys = {(h.tenant, (h.person or h.service).unit_id) for h in hits if (h.person or h.service).unit_id}
    names = {}
    for tenant in {t for t, _ in keys}:
        ids = [u for t, u in keys if t == tenant]
        for r in conn.execute(sa.select(U.c.external_id, U.c.name).where(U.c.tenant == tenant,
                                                                          U.c.external_id.in_(ids))):
            names[(tenant, r.external_id)] = r.name
    from dataclasses import replace
    return [replace(h, unit_name=names.get((h.tenant, (h.person or h.service).unit_id), "")) for h in hits]

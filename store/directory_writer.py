"""`DirectoryWriter`: the directory operations, on one open transaction (`conn`) or, for
`DirectoryStore` (conn None), each in a transaction of its own (`one_transaction`).

Rules: see store/directory_store.py. Bulk paths (one SELECT of the tenant's rows, then
executemany inserts/updates) keep an import of 14,000 persons to seconds. Comparisons
are on the source fields only, so re-importing the same data changes nothing.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import replace
from datetime import datetime
from typing import Iterable, Mapping, Sequence

import sqlalchemy as sa

from engine.directory.model import (
    LOCAL_PERSON_FIELDS, SOURCE_PERSON_FIELDS, Absence, ChangeSummary, OrgUnit, Person,
    PersonKey, Service, SourceStatus, check_removal,
)
from engine.directory.searchtext import person_columns, service_columns
from store.directory import (
    ABSENCES, PERSONS, SERVICES, SOURCE_STATUS, TENANTS, UNITS, WORDS, absence_from_row,
    absence_values, person_from_row, person_values, service_from_row, unit_from_row,
)

log = logging.getLogger(__name__)
CHUNK = 2000


def _chunks(rows: list, n: int = CHUNK):
    for i in range(0, len(rows), n):
        yield rows[i:i + n]


def one_transaction(method):
    """A public directory operation: on a writer it runs in the writer's transaction; on a
    DirectoryStore (no connection of its own) in a transaction of its own."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        if self.conn is not None:
            return method(self, *args, **kwargs)
        with self.batch() as writer:
            return method(writer, *args, **kwargs)
    return run


class DirectoryWriter:
    def __init__(self, conn: sa.Connection | None, clock):
        self.conn = conn
        self.clock = clock

    # ---- tenants and units ------------------------------------------------------
    @one_transaction
    def ensure_tenant(self, tenant: str, name: str = "") -> None:
        if self.conn.execute(sa.select(TENANTS.c.id).where(TENANTS.c.id == tenant)).first() is None:
            self.conn.execute(TENANTS.insert().values(id=tenant, name=name or tenant))
        elif name:
            self.conn.execute(TENANTS.update().where(TENANTS.c.id == tenant).values(name=name))

    @one_transaction
    def tenants(self) -> list[tuple[str, str]]:
        return [tuple(r) for r in self.conn.execute(sa.select(TENANTS.c.id, TENANTS.c.name).order_by(TENANTS.c.id))]

    @one_transaction
    def units(self, tenant: str) -> list[OrgUnit]:
        rows = self.conn.execute(sa.select(UNITS).where(UNITS.c.tenant == tenant).order_by(UNITS.c.external_id))
        return [unit_from_row(r) for r in rows]

    @one_transaction
    def upsert_units(self, tenant: str, units: Iterable[OrgUnit], source: str,
                     remove_missing: bool = False) -> ChangeSummary:
        """Insert/update units; with `remove_missing`, delete this source's others."""
        self.ensure_tenant(tenant)
        existing = {u.external_id: u for u in self.units(tenant)}
        incoming = {u.external_id: replace(u, tenant=tenant, source=source) for u in units}
        added = [u for k, u in incoming.items() if k not in existing]
        changed = [u for k, u in incoming.items() if k in existing and existing[k] != u]
        if added:
            self.conn.execute(UNITS.insert(), [vars(u) for u in added])
        for u in changed:
            self.conn.execute(UNITS.update().where(UNITS.c.tenant == tenant, UNITS.c.external_id == u.external_id)
                              .values(**vars(u)))
        removed = []
        if remove_missing:
            removed = sorted(k for k, u in existing.items() if u.source == source and k not in incoming)
            if removed:
                self.conn.execute(UNITS.delete().where(UNITS.c.tenant == tenant, UNITS.c.external_id.in_(removed)))
        renamed = {u.external_id for u in changed if existing[u.external_id].name != u.name}
        if renamed:
            self._refresh_person_search(tenant, renamed)
        return ChangeSummary(tuple(u.external_id for u in added), tuple(u.external_id for u in changed),
                             tuple(removed), len(incoming) - len(added) - len(changed))

    def _unit_names(self, tenant: str) -> dict[str, str]:
        rows = self.conn.execute(sa.select(UNITS.c.external_id, UNITS.c.name).where(UNITS.c.tenant == tenant))
        return dict(rows.all())

    def _refresh_person_search(self, tenant: str, unit_ids: set[str]) -> None:
        names = self._unit_names(tenant)
        rows = self.conn.execute(sa.select(PERSONS).where(PERSONS.c.tenant == tenant, PERSONS.c.unit_id.in_(sorted(unit_ids))))
        updates = [{"_id": r.id, **person_columns(person_from_row(r), names.get(r.unit_id, ""))} for r in rows]
        if updates:
            cols = {k: sa.bindparam(k) for k in updates[0] if k != "_id"}
            self.conn.execute(PERSONS.update().where(PERSONS.c.id == sa.bindparam("_id")).values(**cols), updates)

    # ---- persons ------------------------------------------------------------------
    @one_transaction
    def persons(self, tenant: str, include_gone: bool = True) -> list[Person]:
        q = sa.select(PERSONS).where(PERSONS.c.tenant == tenant)
        if not include_gone:
            q = q.where(PERSONS.c.gone_since.is_(None))
        return [person_from_row(r) for r in self.conn.execute(q.order_by(PERSONS.c.family_name, PERSONS.c.given_name))]

    @one_transaction
    def get_person(self, key: PersonKey) -> Person | None:
        row = self.conn.execute(sa.select(PERSONS).where(PERSONS.c.tenant == key.tenant,
                                                   PERSONS.c.external_id == key.external_id)).first()
        return person_from_row(row) if row else None

    @one_transaction
    def person_ids_by_email(self, tenant: str, email: str) -> list[str]:
        q = sa.select(PERSONS.c.external_id).where(PERSONS.c.tenant == tenant, sa.func.lower(PERSONS.c.email) == email.lower())
        return [r[0] for r in self.conn.execute(q)]

    @one_transaction
    def upsert_persons(self, tenant: str, persons: Iterable[Person], source: str) -> ChangeSummary:
        """Insert or update persons from `source`; local-only fields are never touched.
        A person marked gone who reappears is active again."""
        self.ensure_tenant(tenant)
        now = self.clock()
        names = self._unit_names(tenant)
        existing = {}
        for r in self.conn.execute(sa.select(PERSONS).where(PERSONS.c.tenant == tenant)):
            existing[r.external_id] = (r.id, person_from_row(r))
        inserts, updates, added, changed, unchanged = [], [], [], [], 0
        for p in persons:
            if p.tenant != tenant or p.source != source:
                p = replace(p, tenant=tenant, source=source)
            old = existing.get(p.external_id)
            if old is None:
                values = person_values(p, names.get(p.unit_id or "", ""), now)
                inserts.append({**values, "tenant": tenant, "external_id": p.external_id,
                                **{k: (list(getattr(p, k)) if k == "local_keywords" else getattr(p, k))
                                   for k in LOCAL_PERSON_FIELDS}})
                added.append(p.external_id)
            elif _source_differs(old[1], p) or old[1].gone_since is not None or old[1].source != source:
                updates.append({"_id": old[0], **person_values(p, names.get(p.unit_id or "", ""), now)})
                changed.append(p.external_id)
            else:
                unchanged += 1
        for chunk in _chunks(inserts):
            self.conn.execute(PERSONS.insert(), chunk)
        self._add_words([v["name_text"] for v in inserts] + [v["name_text"] for v in updates])
        if updates:
            # local keywords take part in search_text: recompute with the stored locals
            by_id = {row_id: person for row_id, person in existing.values()}
            for u in updates:
                old = by_id[u["_id"]]
                merged = replace(old, **{k: u[k] if k != "keywords" else tuple(u[k]) for k in SOURCE_PERSON_FIELDS})
                u.update(person_columns(merged, names.get(merged.unit_id or "", "")))
            cols = {k: sa.bindparam(k) for k in updates[0] if k != "_id"}
            stmt = PERSONS.update().where(PERSONS.c.id == sa.bindparam("_id")).values(**cols)
            for chunk in _chunks(updates):
                self.conn.execute(stmt, chunk)
        return ChangeSummary(tuple(added), tuple(changed), (), unchanged)

    def _add_words(self, texts: list[str]) -> None:
        """Add name words to the fuzzy-search vocabulary (never removed: it only grows)."""
        words = sorted({w for t in texts for w in t.split() if len(w) >= 2})
        if not words:
            return
        if self.conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(WORDS).on_conflict_do_nothing()
        for chunk in _chunks(words):
            self.conn.execute(stmt, [{"word": w} for w in chunk])

    @one_transaction
    def delete_missing(self, tenant: str, source: str, keep_ids: Iterable[str],
                       now: datetime | None = None, max_share: float | None = None) -> ChangeSummary:
        """Mark gone every active person of `source` in `tenant` whose id is not kept.
        With `max_share`, more than that share of them is refused (MassRemovalRefused,
        nothing changed by this call; the caller's transaction rolls back the rest)."""
        keep = set(keep_ids)
        rows = self.conn.execute(sa.select(PERSONS.c.id, PERSONS.c.external_id).where(
            PERSONS.c.tenant == tenant, PERSONS.c.source == source, PERSONS.c.gone_since.is_(None))).all()
        gone = [r for r in rows if r.external_id not in keep]
        check_removal(tenant, source, len(gone), len(rows), max_share)
        if gone:
            when = now or self.clock()
            for chunk in _chunks([r.id for r in gone]):
                self.conn.execute(PERSONS.update().where(PERSONS.c.id.in_(chunk)).values(gone_since=when))
        return ChangeSummary(removed=tuple(sorted(r.external_id for r in gone)))

    @one_transaction
    def purge_gone(self, before: datetime) -> int:
        """Delete persons gone since before `before` (the retention period is over)."""
        return self.conn.execute(PERSONS.delete().where(PERSONS.c.gone_since < before)).rowcount

    @one_transaction
    def update_local(self, key: PersonKey, **local) -> Person:
        """Change the local-only attributes (web maintenance)."""
        bad = set(local) - set(LOCAL_PERSON_FIELDS)
        if bad:
            raise ValueError(f"not local-only attributes: {sorted(bad)}")
        person = self.get_person(key)
        if person is None:
            raise KeyError(key)
        if "local_keywords" in local:
            local["local_keywords"] = tuple(local["local_keywords"])
        person = replace(person, **local)
        unit = self._unit_names(key.tenant).get(person.unit_id or "", "")
        values = {k: (list(v) if isinstance(v, tuple) else v) for k, v in local.items()}
        self.conn.execute(PERSONS.update().where(PERSONS.c.tenant == key.tenant, PERSONS.c.external_id == key.external_id)
                          .values(**values, **person_columns(person, unit)))
        return person

    # ---- services -----------------------------------------------------------------
    @one_transaction
    def services(self, tenant: str) -> list[Service]:
        rows = self.conn.execute(sa.select(SERVICES).where(SERVICES.c.tenant == tenant).order_by(SERVICES.c.name))
        return [service_from_row(r) for r in rows]

    @one_transaction
    def upsert_services(self, tenant: str, services: Iterable[Service], source: str,
                        remove_missing: bool = False) -> ChangeSummary:
        self.ensure_tenant(tenant)
        names = self._unit_names(tenant)
        existing = {s.external_id: s for s in self.services(tenant)}
        incoming = {s.external_id: replace(s, tenant=tenant, source=source) for s in services}
        added = [s for k, s in incoming.items() if k not in existing]
        changed = [s for k, s in incoming.items() if k in existing and existing[k] != s]

        def values(s):
            v = vars(s) | {"keywords": list(s.keywords)}
            return v | service_columns(s, names.get(s.unit_id or "", ""))
        if added:
            self.conn.execute(SERVICES.insert(), [values(s) for s in added])
        for s in changed:
            self.conn.execute(SERVICES.update().where(SERVICES.c.tenant == tenant, SERVICES.c.external_id == s.external_id)
                              .values(**values(s)))
        removed = []
        if remove_missing:
            removed = sorted(k for k, s in existing.items() if s.source == source and k not in incoming)
            if removed:
                self.conn.execute(SERVICES.delete().where(SERVICES.c.tenant == tenant, SERVICES.c.external_id.in_(removed)))
        return ChangeSummary(tuple(s.external_id for s in added), tuple(s.external_id for s in changed),
                             tuple(removed), len(incoming) - len(added) - len(changed))

    @one_transaction
    def get_service(self, tenant: str, external_id: str) -> Service | None:
        row = self.conn.execute(sa.select(SERVICES).where(SERVICES.c.tenant == tenant,
                                                          SERVICES.c.external_id == external_id)).first()
        return service_from_row(row) if row else None

    @one_transaction
    def delete_service(self, tenant: str, external_id: str) -> bool:
        """Delete one service (web maintenance); False if there was none."""
        return bool(self.conn.execute(SERVICES.delete().where(SERVICES.c.tenant == tenant,
                                                              SERVICES.c.external_id == external_id)).rowcount)

    # ---- absences -----------------------------------------------------------------
    @one_transaction
    def absences(self, key: PersonKey, start: datetime | None = None,
                 end: datetime | None = None, source: str | None = None) -> list[Absence]:
        q = sa.select(ABSENCES).where(ABSENCES.c.tenant == key.tenant, ABSENCES.c.person_id == key.external_id)
        if start is not None:
            q = q.where(ABSENCES.c.end_at > start)
        if end is not None:
            q = q.where(ABSENCES.c.start_at < end)
        if source is not None:
            q = q.where(ABSENCES.c.source == source)
        return [absence_from_row(r) for r in self.conn.execute(q.order_by(ABSENCES.c.start_at))]

    @one_transaction
    def replace_absences(self, key: PersonKey, source: str, absences: Sequence[Absence]) -> int:
        """Make `absences` the complete set from `source` for one person."""
        return self.replace_source_absences(key.tenant, source, {key.external_id: absences})

    @one_transaction
    def replace_source_absences(self, tenant: str, source: str,
                                by_person: Mapping[str, Sequence[Absence]]) -> int:
        """For each person in `by_person`, make the list that person's absences from
        `source` (persons not in the mapping keep theirs). Returns rows written."""
        ids = sorted(by_person)
        for chunk in _chunks(ids):
            self.conn.execute(ABSENCES.delete().where(ABSENCES.c.tenant == tenant, ABSENCES.c.source == source,
                                               ABSENCES.c.person_id.in_(chunk)))
        rows = []
        for pid in ids:
            for a in by_person[pid]:
                if a.end <= a.start:
                    raise ValueError(f"absence ends before it starts: {a!r}")
                rows.append(absence_values(replace(a, tenant=tenant, person_id=pid, source=source)))
        for chunk in _chunks(rows):
            self.conn.execute(ABSENCES.insert(), chunk)
        return len(rows)

    @one_transaction
    def add_absence(self, absence: Absence) -> int:
        """Insert one absence (web registration); returns its row id."""
        if absence.end <= absence.start:
            raise ValueError("an absence must end after it starts")
        return self.conn.execute(ABSENCES.insert().values(**absence_values(absence))).inserted_primary_key[0]

    @one_transaction
    def absence_by_id(self, row_id: int) -> tuple[int, Absence] | None:
        row = self.conn.execute(sa.select(ABSENCES).where(ABSENCES.c.id == row_id)).first()
        return (row.id, absence_from_row(row)) if row else None

    @one_transaction
    def web_absences(self, key: PersonKey) -> list[tuple[int, Absence]]:
        q = sa.select(ABSENCES).where(ABSENCES.c.tenant == key.tenant, ABSENCES.c.person_id == key.external_id,
                               ABSENCES.c.source == "web").order_by(ABSENCES.c.start_at)
        return [(r.id, absence_from_row(r)) for r in self.conn.execute(q)]

    @one_transaction
    def update_absence(self, row_id: int, absence: Absence) -> None:
        if absence.end <= absence.start:
            raise ValueError("an absence must end after it starts")
        self.conn.execute(ABSENCES.update().where(ABSENCES.c.id == row_id).values(**absence_values(absence)))

    @one_transaction
    def delete_absence(self, row_id: int) -> None:
        self.conn.execute(ABSENCES.delete().where(ABSENCES.c.id == row_id))

    # ---- source health ------------------------------------------------------------
    @one_transaction
    def record_source_status(self, tenant: str, source: str, ok: bool, error: str = "",
                             at: datetime | None = None) -> None:
        at = at or self.clock()
        values = {"last_success": at} if ok else {"last_error": error[:2000], "last_error_at": at}
        done = self.conn.execute(SOURCE_STATUS.update().where(SOURCE_STATUS.c.tenant == tenant, SOURCE_STATUS.c.source == source)
                                 .values(**values)).rowcount
        if not done:
            self.conn.execute(SOURCE_STATUS.insert().values(tenant=tenant, source=source, **values))

    @one_transaction
    def source_statuses(self, tenant: str | None = None) -> list[SourceStatus]:
        q = sa.select(SOURCE_STATUS)
        if tenant:
            q = q.where(SOURCE_STATUS.c.tenant == tenant)
        return [SourceStatus(r.tenant, r.source, r.last_success, r.last_error or "", r.last_error_at)
                for r in self.conn.execute(q.order_by(SOURCE_STATUS.c.tenant, SOURCE_STATUS.c.source))]


def _source_differs(old: Person, new: Person) -> bool:
    return any(getattr(old, k) != getattr(new, k) for k in SOURCE_PERSON_FIELDS)

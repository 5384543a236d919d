"""The directory tables and their row <-> domain conversions. The one write/read API for
importers, syncs, the web modules and the CLI is `store.directory_store.DirectoryStore`.

Its rules (keys, source vs local fields, gone persons, transactions) are stated there.
"""
from __future__ import annotations

import logging
from dataclasses import fields
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.directory.model import (
    SOURCE_PERSON_FIELDS, Absence, AbsenceCategory, OrgUnit, Person, Service,
)
from engine.directory.searchtext import person_columns
from store.base import Base, BigId, JSONData, UTCDateTime

log = logging.getLogger(__name__)



# Folded names compare byte by byte (collation "C" on PostgreSQL, SQLite's default), so
# one B-tree both finds a prefix range and returns it in order: LIMIT stops after 20 rows.
BYTE_ORDER_TEXT = sa.String(400).with_variant(sa.String(400, collation="C"), "postgresql")


def _trgm(name: str, column: str) -> sa.Index:
    """A pg_trgm GIN index on PostgreSQL; a plain index of the same name elsewhere
    (SQLite, the demo, searches these columns by LIKE and a Python fuzzy pass)."""
    return sa.Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


class DirTenant(Base):
    __tablename__ = "dir_tenants"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")


class DirUnit(Base):
    __tablename__ = "dir_units"
    tenant: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    parent_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    email: Mapped[str] = mapped_column(sa.String(200), default="")
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    source: Mapped[str] = mapped_column(sa.String(64), default="import")


class DirPerson(Base):
    __tablename__ = "dir_persons"
    __table_args__ = (
        sa.UniqueConstraint("tenant", "external_id"),
        sa.Index("ix_dir_persons_name_text", "name_text"),
        sa.Index("ix_dir_persons_family_first", "family_first"),
        sa.Index("ix_dir_persons_initials", "initials", "name_text"),
        sa.Index("ix_dir_persons_tenant_source", "tenant", "source"),
        *(_trgm(name, col) for name, col in (("ix_dir_persons_search_trgm", "search_text"),
                                             ("ix_dir_persons_phones_trgm", "phones_text"))),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(sa.String(64))
    external_id: Mapped[str] = mapped_column(sa.String(128))
    given_name: Mapped[str] = mapped_column(sa.String(200), default="")
    family_name: Mapped[str] = mapped_column(sa.String(200), default="")
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    unit_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    direct_phone: Mapped[str] = mapped_column(sa.String(32), default="")
    mobile_phone: Mapped[str] = mapped_column(sa.String(32), default="")
    switchboard_phone: Mapped[str] = mapped_column(sa.String(32), default="")
    email: Mapped[str] = mapped_column(sa.String(200), default="")
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    keywords: Mapped[list] = mapped_column(JSONData, default=list)
    substitute_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    source: Mapped[str] = mapped_column(sa.String(64), default="import")
    operator_notes: Mapped[str] = mapped_column(sa.Text, default="")
    local_keywords: Mapped[list] = mapped_column(JSONData, default=list)
    local_substitute_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    gone_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    name_text: Mapped[str] = mapped_column(BYTE_ORDER_TEXT, default="")
    family_first: Mapped[str] = mapped_column(BYTE_ORDER_TEXT, default="")
    initials: Mapped[str] = mapped_column(sa.String(32), default="")
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    phones_text: Mapped[str] = mapped_column(sa.String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DirService(Base):
    __tablename__ = "dir_services"
    __table_args__ = (_trgm("ix_dir_services_search_trgm", "search_text"),)
    tenant: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    unit_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    email: Mapped[str] = mapped_column(sa.String(200), default="")
    opening_hours: Mapped[str] = mapped_column(sa.String(200), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    keywords: Mapped[list] = mapped_column(JSONData, default=list)
    source: Mapped[str] = mapped_column(sa.String(64), default="import")
    name_text: Mapped[str] = mapped_column(sa.String(400), default="")
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    phones_text: Mapped[str] = mapped_column(sa.String(200), default="")


class DirAbsence(Base):
    __tablename__ = "dir_absences"
    __table_args__ = (sa.Index("ix_dir_absences_person", "tenant", "person_id", "end_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(sa.String(64))
    person_id: Mapped[str] = mapped_column(sa.String(128))
    source: Mapped[str] = mapped_column(sa.String(128))
    external_id: Mapped[str] = mapped_column(sa.String(256), default="")
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    category: Mapped[str] = mapped_column(sa.String(32))
    subject: Mapped[str] = mapped_column(sa.String(400), default="")
    private: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    back_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(sa.String(128), default="")


class DirWord(Base):
    """Every distinct folded word of a person's name: the small vocabulary the fuzzy
    pass corrects typos against (a few thousand rows even for millions of persons)."""

    __tablename__ = "dir_words"
    __table_args__ = (_trgm("ix_dir_words_word_trgm", "word"),)
    word: Mapped[str] = mapped_column(sa.String(200), primary_key=True)


class DirSourceStatus(Base):
    __tablename__ = "dir_source_status"
    tenant: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    last_success: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


PERSONS, UNITS, SERVICES, ABSENCES, SOURCE_STATUS, WORDS, TENANTS = (
    c.__table__ for c in (DirPerson, DirUnit, DirService, DirAbsence, DirSourceStatus, DirWord, DirTenant))
_PERSON_FIELDS = [f.name for f in fields(Person)]
_UNIT_FIELDS = [f.name for f in fields(OrgUnit)]
_SERVICE_FIELDS = [f.name for f in fields(Service)]


def person_from_row(row) -> Person:
    m = row._mapping
    values = {k: m[k] for k in _PERSON_FIELDS}
    values["keywords"] = tuple(values["keywords"] or ())
    values["local_keywords"] = tuple(values["local_keywords"] or ())
    return Person(**values)


def unit_from_row(row) -> OrgUnit:
    return OrgUnit(**{k: row._mapping[k] for k in _UNIT_FIELDS})


def service_from_row(row) -> Service:
    values = {k: row._mapping[k] for k in _SERVICE_FIELDS}
    values["keywords"] = tuple(values["keywords"] or ())
    return Service(**values)


def absence_from_row(row) -> Absence:
    m = row._mapping
    return Absence(tenant=m["tenant"], person_id=m["person_id"], start=m["start_at"], end=m["end_at"],
                   category=AbsenceCategory(m["category"]), source=m["source"],
                   external_id=m["external_id"], subject=m["subject"], private=m["private"],
                   back_at=m["back_at"], created_by=m["created_by"])


def absence_values(a: Absence) -> dict:
    return {"tenant": a.tenant, "person_id": a.person_id, "source": a.source,
            "external_id": a.external_id, "start_at": a.start, "end_at": a.end,
            "category": a.category.value, "subject": "" if a.private else a.subject,
            "private": a.private, "back_at": a.back_at, "created_by": a.created_by}


def person_values(p: Person, unit_name: str, now: datetime) -> dict:
    values = {k: getattr(p, k) for k in SOURCE_PERSON_FIELDS}
    values["keywords"] = list(p.keywords)
    values.update(person_columns(p, unit_name), source=p.source, gone_since=None, updated_at=now)
    return values

"""Directory fixtures: a migrated database on SQLite and on real PostgreSQL, builders."""
from __future__ import annotations

import pathlib
from datetime import datetime, timezone

import pytest

from engine.directory.model import Absence, AbsenceCategory, OrgUnit, Person

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "sync" / "examples"
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A migrated, empty database of each kind (PostgreSQL from the pg_url fixture)."""
    from store.migrate import migrate

    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else f"sqlite:///{tmp_path}/dir.db"
    migrate(url)
    return url


@pytest.fixture
def store(db_url):
    from store.database import create_engine
    from store.directory import DirectoryStore

    engine = create_engine(db_url)
    yield DirectoryStore(engine, clock=lambda: NOW)
    engine.dispose()


@pytest.fixture
def demo_store(store):
    """The store with the shipped sample files imported (three agencies)."""
    from sync.importer import import_files

    import_files(store, "*", EXAMPLES / "persons.csv", EXAMPLES / "units.csv")
    return store


def a_person(pid="p1", given="Kari", family="Nordmann", tenant="nav", **kw) -> Person:
    return Person(tenant, pid, given, family, **kw)


def a_unit(uid="u1", name="Lønn", parent=None, tenant="nav") -> OrgUnit:
    return OrgUnit(tenant, uid, name, parent)


def an_absence(pid, start, end, category=AbsenceCategory.VACATION, tenant="nav", **kw) -> Absence:
    return Absence(tenant, pid, start, end, category, **kw)

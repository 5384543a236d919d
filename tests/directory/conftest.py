"""Directory fixtures: a migrated database on SQLite and on real PostgreSQL, builders."""
from __future__ import annotations

import pathlib
from datetime import datetime, timezone

import pytest

from engine.directory.model import Absence, AbsenceCategory, OrgUnit, Person

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "sync" / "examples"
DIRECTORY_TABLES = ("dir_tenants", "dir_units", "dir_persons", "dir_services", "dir_absences",
                    "dir_source_status", "dir_words", "web_user_roles", "web_users")
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory):
    """Migrate once per session: a SQLite file each test copies, and a PostgreSQL
    database each test empties (a migration per test would take seconds)."""
    import uuid

    import sqlalchemy as sa

    from store.migrate import migrate
    from tests.conftest import PG_ADMIN_URL

    sqlite_file = tmp_path_factory.mktemp("dirtemplate") / "template.db"
    migrate(f"sqlite:///{sqlite_file}")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = "sentral_tpl_" + uuid.uuid4().hex[:12]
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    migrate(sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    try:
        yield sqlite_file, name, admin
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, migrated_templates):
    """A fresh migrated, empty database of each kind (real PostgreSQL; dropped afterwards)."""
    import shutil

    import sqlalchemy as sa

    sqlite_file, template, admin = migrated_templates
    if request.param == "sqlite":
        shutil.copy(sqlite_file, tmp_path / "dir.db")
        yield f"sqlite:///{tmp_path}/dir.db"
        return
    # One migrated PostgreSQL database per session, emptied before each test
    # (creating a database per test costs ~1 s each on this machine).
    url = admin.url.set(database=template).render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE " + ", ".join(DIRECTORY_TABLES) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


@pytest.fixture
def store(db_url):
    from store.database import create_engine
    from store.directory_store import DirectoryStore

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

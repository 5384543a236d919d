"""Store fixtures: every store test runs on real PostgreSQL and on SQLite.

`db_url` is an empty database (migration tests). `store` is a migrated, empty one:
a PostgreSQL database migrated once per session and emptied before each test, or a
copy of a migrated SQLite file, so the suite does not create and migrate a database
per test (CREATE DATABASE alone costs ~1 s here).
"""
from __future__ import annotations

import os
import shutil
import uuid

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request, tmp_path):
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path}/db/sentral.db"


def _admin():
    return sa.create_engine(os.environ.get("SENTRAL_TEST_PG_ADMIN_URL", PG_ADMIN_URL), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory):
    """One PostgreSQL database and one SQLite file, migrated once for the session."""
    from store import migrate

    admin = _admin()
    name = "sentral_store_" + uuid.uuid4().hex[:12]
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    sqlite_path = tmp_path_factory.mktemp("store-template") / "sentral.db"
    pg = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        migrate(pg)
        migrate(f"sqlite:///{sqlite_path}")
        yield {"postgresql": pg, "sqlite": sqlite_path}
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_all_tables(url: str) -> None:
    """Test-only reset of the shared PostgreSQL database. The append-only triggers (and
    foreign keys, which are triggers too) are bypassed with session_replication_role
    (superuser only), as a DBA would for a purge."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            tables = [t for (t,) in conn.execute(sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
            conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for table in tables:  # DELETE, not TRUNCATE: far cheaper on a few rows (no new files)
                conn.execute(sa.text(f'DELETE FROM "{table}"'))
    finally:
        engine.dispose()


@pytest.fixture
def empty_pg_url(migrated_databases):
    """The shared migrated PostgreSQL database, emptied (PostgreSQL-only tests)."""
    _empty_all_tables(migrated_databases["postgresql"])
    return migrated_databases["postgresql"]


@pytest.fixture(params=["postgresql", "sqlite"])
def migrated_url(request, tmp_path, migrated_databases):
    """A migrated, empty database: the shared PostgreSQL one emptied, or a fresh SQLite copy."""
    if request.param == "postgresql":
        _empty_all_tables(migrated_databases["postgresql"])
        return migrated_databases["postgresql"]
    path = tmp_path / "db" / "sentral.db"
    path.parent.mkdir()
    shutil.copy(migrated_databases["sqlite"], path)
    return f"sqlite:///{path}"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Argon2id at its production cost takes ~0.1 s per hash here; the tests check the
    behaviour, not the cost (test_users checks the production parameters separately)."""
    from store import passwords

    monkeypatch.setattr(passwords, "N", 2 ** 10)
    monkeypatch.setattr(passwords, "MEMORY_COST", 1024)
    monkeypatch.setattr(passwords, "TIME_COST", 1)


@pytest.fixture
def store(migrated_url):
    from store import Store

    s = Store(migrated_url)
    yield s
    s.close()

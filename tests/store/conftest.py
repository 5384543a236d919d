"""Store fixtures: every store test runs on real PostgreSQL and on SQLite."""
from __future__ import annotations

import pytest


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request, tmp_path):
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path}/db/sentral.db"


@pytest.fixture
def store(db_url):
    from store import Store, migrate

    migrate(db_url)
    s = Store(db_url)
    yield s
    s.close()


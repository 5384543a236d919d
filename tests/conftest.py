"""Fixtures shared by every test tier."""
from __future__ import annotations

import json
import pathlib

import pytest

DATA = pathlib.Path(__file__).parent / "data"
CORPUS = DATA / "esl-corpus"


def corpus_files():
    return sorted(CORPUS.glob("*.jsonl"))


def corpus_messages(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="session")
def corpus():
    return {p.name: corpus_messages(p) for p in corpus_files()}


PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database on the machine's server, dropped afterwards.

    Fails loudly (does not skip) if PostgreSQL is not reachable: scripts/services starts it.
    """
    import os
    import uuid

    import sqlalchemy as sa

    admin_url = os.environ.get("SENTRAL_TEST_PG_ADMIN_URL", PG_ADMIN_URL)
    name = "sentral_t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

"""Migrations: from empty to head on both databases, and the models match the result."""
from __future__ import annotations

import logging

import sqlalchemy as sa

from store import migrate
from store.database import DEFAULT_URL, ENV_VAR, create_engine, resolve_url, safe_url
from store.migrate import current_revision, downgrade, head_revision, schema_differences

CORE_TABLES = {"interactions", "journal", "agent_states", "callback_requests", "web_users",
               "web_user_roles", "audit_log", "alembic_version"}


def test_given_empty_database_when_migrated_then_core_tables_exist_and_match_the_models(db_url):
    assert current_revision(db_url) is None
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        assert CORE_TABLES <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert current_revision(db_url) == head_revision()
    assert schema_differences(db_url) == []
    migrate(db_url)  # a second upgrade is a no-op
    assert current_revision(db_url) == head_revision()


def test_given_migrated_database_when_downgraded_and_upgraded_again_then_same_schema(db_url):
    migrate(db_url)
    downgrade(db_url, "base")
    assert current_revision(db_url) is None
    migrate(db_url)
    assert schema_differences(db_url) == []


def test_first_revision_id_is_0001_core():
    from alembic.script import ScriptDirectory

    from store.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert scripts.get_revision("0001_core").down_revision is None


def test_cli_db_upgrade_creates_sqlite_file_and_parent_dir(tmp_path, capsys):
    from sentral.cli import main

    path = tmp_path / "deep" / "dir" / "sentral.db"
    assert main(["db", "upgrade", "--url", f"sqlite:///{path}"]) == 0
    assert path.exists()
    assert f"revision {head_revision()}" in capsys.readouterr().out
    assert current_revision(f"sqlite:///{path}") == head_revision()
    assert main(["db", "check", "--url", f"sqlite:///{path}"]) == 0


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/x.db")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_url_comes_from_argument_then_environment_then_default(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_url(None) == DEFAULT_URL
    monkeypatch.setenv(ENV_VAR, "postgresql+psycopg2://u:pw@127.0.0.1/x")
    assert resolve_url(None) == "postgresql+psycopg2://u:pw@127.0.0.1/x"
    assert resolve_url("sqlite:///y.db") == "sqlite:///y.db"


def test_password_in_url_is_never_logged(tmp_path, caplog, monkeypatch):
    url = "postgresql+psycopg2://sentral:s3cr3t-pw@127.0.0.1:1/sentral"
    assert "s3cr3t-pw" not in safe_url(url)
    with caplog.at_level(logging.DEBUG):
        create_engine(url).dispose()
        from store import Store

        assert "s3cr3t-pw" not in repr(Store(url))
    assert caplog.records, "the engine creation was logged"
    assert not [r for r in caplog.records if "s3cr3t-pw" in r.getMessage()]


def test_store_can_migrate_on_open_for_the_embedded_demo(tmp_path):
    from store import Store

    s = Store(f"sqlite:///{tmp_path}/demo/sentral.db", migrate=True)
    try:
        assert current_revision(f"sqlite:///{tmp_path}/demo/sentral.db") == head_revision()
        assert s.open_interactions() == []
    finally:
        s.close()


def test_cli_db_check_fails_when_the_schema_drifted_from_the_models(tmp_path, capsys):
    from sentral.cli import main

    url = f"sqlite:///{tmp_path}/drift.db"
    migrate(url)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE journal ADD COLUMN hand_made TEXT")
    finally:
        engine.dispose()
    assert main(["db", "check", "--url", url]) == 1
    assert "hand_made" in capsys.readouterr().out
    assert main(["db", "current", "--url", url]) == 0
    assert head_revision() in capsys.readouterr().out

"""Alembic, driven from code: no alembic.ini is needed at run time.

`migrate(url)` upgrades a database to the newest revision (creating it from empty);
`current_revision(url)` tells where a database stands; `schema_differences(url)`
compares the migrated schema with the models (empty list = they match). The migration
scripts live in store/migrations/versions (see store/README.md to add one).
"""
from __future__ import annotations

import logging
import pathlib

from alembic import command
from alembic.config import Config

from store.database import create_engine, resolve_url, safe_url

log = logging.getLogger(__name__)

MIGRATIONS = pathlib.Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Passed as an attribute, not a main option: configparser would choke on a '%' in a password.
    cfg.attributes["sentral_url"] = resolve_url(url)
    return cfg


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` (default: the newest)."""
    cfg = alembic_config(url)
    log.info("migrating %s to %s", safe_url(cfg.attributes["sentral_url"]), revision)
    command.upgrade(cfg, revision)


def downgrade(url: str | None, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def schema_differences(url: str | None = None) -> list:
    """What autogenerate would change: [] when the models match the migrated schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from store.schema import load_models

    metadata = load_models()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, metadata)
    finally:
        engine.dispose()

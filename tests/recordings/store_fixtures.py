"""The store's fixtures for the recordings tests that need a database (import them by
name into the test module): a migrated PostgreSQL database (emptied) or a fresh SQLite
copy (`migrated_url`, `store`), and an empty PostgreSQL one (`empty_pg_url`)."""
from tests.store.conftest import (  # noqa: F401
    cheap_password_hashing, db_url, empty_pg_url, migrated_databases, migrated_url, store,
)

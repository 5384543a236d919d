"""store: persistence of the runtime (SQLAlchemy 2.x, Alembic), PostgreSQL or SQLite.

Public interface: `migrate(url)` and `Store(url)`; see store/README.md.
"""
from store.migrate import migrate

__all__ = ["migrate"]

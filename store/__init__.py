"""store: persistence of the runtime (SQLAlchemy 2.x, Alembic), PostgreSQL or SQLite.

Public interface: `migrate(url)`, `Store(url)`, the records in `store.records`, and
`store.writer.JournalWriter` (gevent); see store/README.md.
"""
from store.migrate import migrate
from store.records import AgentStateRecord, AuditRecord, CallbackRecord, InteractionRecord, UserRecord
from store.store import Store

__all__ = ["migrate", "Store", "InteractionRecord", "AgentStateRecord", "CallbackRecord",
           "UserRecord", "AuditRecord"]

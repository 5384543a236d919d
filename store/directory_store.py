"""`DirectoryStore`: the one write/read API of the switchboard directory for importers,
syncs, the web modules and the CLI.

Rules:
- Rows are keyed by (tenant, external_id) as the source gives them; a person also has
  a surrogate integer id for absences and search joins.
- `upsert_persons` writes only `SOURCE_PERSON_FIELDS`; the local-only fields
  (`LOCAL_PERSON_FIELDS`) are written only by `update_local`, so no sync can overwrite
  what the agency maintains here.
- `delete_missing` never deletes a person: it sets `gone_since` (kept findable);
  `purge_gone(before)` deletes them after the retention period; it refuses a round that
  would mark more than the allowed share gone (a source that suddenly returns nothing).
- Absences are replaced per (person, source): one source never touches another's.
- Each public call is one transaction (the writer's operations, `one_transaction`);
  `batch()` groups several into one (all-or-nothing). A failing source writes nothing,
  so the last good data stays.
- Derived search columns come from `engine.directory.searchtext` on every write.
"""
from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Iterator

import sqlalchemy as sa

from engine.clock import utcnow
from store.directory_writer import DirectoryWriter


class DirectoryStore(DirectoryWriter):
    """Thread-safe facade over an Engine: every directory operation in its own transaction."""

    def __init__(self, engine: sa.Engine, clock=utcnow):
        super().__init__(None, clock)
        self.engine = engine

    @contextlib.contextmanager
    def batch(self) -> Iterator[DirectoryWriter]:
        with self.engine.begin() as conn:
            yield DirectoryWriter(conn, self.clock)

    def search(self, query: str, tenant: str | None = None, limit: int = 20, now: datetime | None = None):
        from store.directory_search import search
        with self.engine.connect() as conn:
            return search(conn, query, tenant=tenant, limit=limit, now=now or self.clock())

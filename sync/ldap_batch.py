"""One LDAP sync round's outcome, and how it is written to the directory store.

Rules:
- `upserts` are mapped persons; `removed` are keys the source no longer delivers (from a
  full diff, or AD DirSync/Show-Deleted tombstones); `rejected` are entries refused by
  the mapping (their persons keep their last good data: they are neither upserted nor
  marked gone).
- `apply_batch` writes a round in ONE store transaction (`store.batch()`): upserts, then
  removed persons marked gone (not deleted). Nothing is written when the round raised.
- A round that would mark more than the allowed share (default 20 %) of the source's
  persons gone is refused (MassRemovalRefused): a source that suddenly returns nothing
  is a fault, not a purge. The state is not saved, so the next round diffs again.
- The state (change marker, known keys) is handed back by the caller next round only
  after `apply_batch` succeeded.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from engine.directory.model import DEFAULT_MAX_REMOVAL_SHARE, ChangeSummary, Person
from sync.ldap_mapping import LdapEntryRejected

log = logging.getLogger(__name__)


@dataclass
class DirectoryBatch:
    source: str
    full: bool
    upserts: list[Person] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rejected: list[LdapEntryRejected] = field(default_factory=list)
    state: dict = field(default_factory=dict)

    @property
    def summary_line(self) -> str:
        return (f"{self.source}: {'full' if self.full else 'incremental'} round, "
                f"{len(self.upserts)} upserted, {len(self.removed)} removed, "
                f"{len(self.rejected)} rejected")


def apply_batch(store, tenant: str, batch: DirectoryBatch,
                max_removal_share: float | None = DEFAULT_MAX_REMOVAL_SHARE) -> ChangeSummary:
    """Write a batch to a `store.directory_store.DirectoryStore` in one transaction. A round
    that would mark more than `max_removal_share` of the source's persons gone raises
    MassRemovalRefused and writes nothing (None = no limit)."""
    with store.batch() as w:
        w.ensure_tenant(tenant)
        summary = w.upsert_persons(tenant, batch.upserts, source=batch.source)
        if batch.removed:
            removed = set(batch.removed)
            keep = [p.external_id for p in w.persons(tenant, include_gone=False)
                    if p.source == batch.source and p.external_id not in removed]
            summary = summary.merged(w.delete_missing(tenant, batch.source, keep_ids=keep,
                                                      max_share=max_removal_share))
    for rejected in batch.rejected:
        log.warning("%s", rejected)
    return summary

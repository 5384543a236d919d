"""OpenLDAP (and other RFC 4533-style servers) polled by `entryCSN` or `modifyTimestamp`.

Rules:
- ldap3 with `SAFE_SYNC` (pure Python, greenlet-safe) and paged searches.
- The stable key is `entryUUID` (mapping.key); the DN is not an identity.
- Incremental round: `(&(<filter>)(entryCSN>=<highest CSN seen>))`. `>=` re-reads the
  newest entry of the last round (an idempotent upsert) so nothing written in the same
  second is lost. `change_attribute="modifyTimestamp"` for servers without entryCSN.
- A change marker alone cannot see deletes: every `full_every` seconds (and on the first
  round) a full round reads every key and reports the keys no longer delivered as
  removed (the store marks those persons gone). An entry refused by the mapping still
  counts as delivered, so it is not marked gone.
- Connection/search failures raise LdapSourceError naming the source; the caller keeps
  the last good data and state.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlparse

from ldap3 import NONE, SAFE_SYNC, Connection, Server
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from sync.ldap_batch import DirectoryBatch
from sync.ldap_mapping import OPENLDAP, LdapEntryRejected, LdapMapping, entry_key, person_from_entry

log = logging.getLogger(__name__)


class LdapSourceError(RuntimeError):
    error_id = "ldap.source_error"

    def __init__(self, source: str, message: str):
        self.source = source
        super().__init__(f"{source}: {message}")


def connect(url: str, bind_dn: str, password: str, *, source: str, timeout: float = 10.0,
            get_info=NONE) -> Connection:
    parsed = urlparse(url)
    try:
        server = Server(parsed.hostname or "127.0.0.1", port=parsed.port,
                        use_ssl=parsed.scheme == "ldaps", get_info=get_info, connect_timeout=timeout)
        return Connection(server, user=bind_dn or None, password=password or None,
                          client_strategy=SAFE_SYNC, auto_bind=True, read_only=True,
                          receive_timeout=int(timeout))
    except LDAPException as exc:
        raise LdapSourceError(source, f"cannot bind to {url}: {exc.__class__.__name__}: {exc}") from None


def paged_entries(conn: Connection, base: str, search_filter: str, attributes: list[str],
                  page_size: int, source: str, controls=None):
    try:
        for item in conn.extend.standard.paged_search(base, search_filter, attributes=attributes,
                                                      paged_size=page_size, generator=True,
                                                      controls=controls):
            if item.get("type") == "searchResEntry":
                yield item["dn"], item.get("attributes") or {}
    except LDAPException as exc:
        raise LdapSourceError(source, f"search failed: {exc.__class__.__name__}: {exc}") from None


def map_entries(entries, *, tenant: str, source: str, mapping: LdapMapping,
                batch: DirectoryBatch, marker_attr: str = "") -> tuple[set[str], str]:
    """Map entries into `batch`; return (keys delivered, highest change marker)."""
    seen: set[str] = set()
    highest = ""
    for dn, attrs in entries:
        key = entry_key(attrs, mapping)
        if marker_attr:
            marks = attrs.get(marker_attr) or attrs.get(marker_attr.lower()) or []
            for mark in marks if isinstance(marks, list) else [marks]:
                mark = mark.strftime("%Y%m%d%H%M%SZ") if isinstance(mark, datetime) else str(mark)
                highest = max(highest, mark)
        try:
            batch.upserts.append(person_from_entry(dn, attrs, tenant=tenant, source=source,
                                                   mapping=mapping))
        except LdapEntryRejected as exc:
            batch.rejected.append(exc)
        if key:
            seen.add(key)
    return seen, highest


@dataclass
class OpenLdapSource:
    url: str
    base: str
    tenant: str
    bind_dn: str = ""
    password: str = ""
    search_filter: str = "(objectClass=inetOrgPerson)"
    mapping: LdapMapping = OPENLDAP
    change_attribute: str = "entryCSN"
    full_every: float = 6 * 3600.0
    page_size: int = 500
    timeout: float = 10.0
    name: str = ""

    @property
    def source(self) -> str:
        return self.name or f"ldap:{self.url}/{self.base}"

    def sync(self, state: dict | None, now: datetime) -> DirectoryBatch:
        state = dict(state or {})
        last_full = state.get("last_full")
        full = (not state.get("marker") or not last_full
                or (now - datetime.fromisoformat(last_full)).total_seconds() >= self.full_every)
        batch = DirectoryBatch(self.source, full=full)
        attributes = sorted({*self.mapping.attributes, self.change_attribute})
        search_filter = self.search_filter
        if not full:
            search_filter = (f"(&{self.search_filter}({self.change_attribute}>="
                             f"{escape_filter_chars(state['marker'])}))")
        conn = connect(self.url, self.bind_dn, self.password, source=self.source,
                       timeout=self.timeout)
        try:
            entries = paged_entries(conn, self.base, search_filter, attributes, self.page_size,
                                    self.source)
            seen, highest = map_entries(entries, tenant=self.tenant, source=self.source,
                                        mapping=self.mapping, batch=batch,
                                        marker_attr=self.change_attribute)
        finally:
            conn.unbind()
        known = set(state.get("keys", ()))
        if full:
            batch.removed = sorted(known - seen)
            known = seen
            state["last_full"] = now.astimezone(timezone.utc).isoformat()
        else:
            known |= seen
        state["keys"] = sorted(known)
        state["marker"] = max(highest, state.get("marker", ""))
        batch.state = state
        log.info("%s", batch.summary_line)
        return batch

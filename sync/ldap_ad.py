"""Active Directory: changes by DirSync cookie or by `uSNChanged`, key `objectGUID`.

uSNChanged mode (Microsoft, "Polling for Changes Using uSNChanged"):
- USNs are local to one domain controller. Before the search we read from the rootDSE
  `dnsHostName`, `highestCommittedUSN` and `dsServiceName`, and from that NTDS Settings
  object its `invocationId` (it changes when the DC's database is restored).
- Same DC and invocationId as last round → `(&(<filter>)(uSNChanged>=<last USN + 1>))`,
  plus tombstones `(&(isDeleted=TRUE)(uSNChanged>=…))` with the Show Deleted control
  (1.2.840.113556.1.4.417) → removed keys.
- Another DC or another invocationId (failover, restore) → a full round: USNs of two
  DCs cannot be compared.
- After success the state stores dc + invocationId + the highestCommittedUSN read
  BEFORE the search (changes made during the search are then read again, never lost).
DirSync mode (`conn.extend.microsoft.dir_sync`, control 1.2.840.113556.1.4.841):
- The cookie from the last round goes back; each `loop()` returns changed objects
  (only their changed attributes) and deleted ones (`isDeleted`), until `more_results`
  is false. Changed objects are then read in full by `<GUID=…>` so the mapping sees
  every attribute. The cookie is naming-context wide and needs "Replicating Directory
  Changes" (or `object_security=True`). No cookie → full round.
Both: every `full_every` seconds a full round diffs keys like the OpenLDAP source. No
Active Directory exists here: tests replay recorded responses.
"""
from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from ldap3 import BASE, SUBTREE
from ldap3.core.exceptions import LDAPException
from ldap3.protocol.microsoft import show_deleted_control

from sync.ldap_batch import DirectoryBatch
from sync.ldap_mapping import ACTIVE_DIRECTORY, LdapMapping, entry_key
from sync.ldap_openldap import LdapSourceError, connect, map_entries

log = logging.getLogger(__name__)


def _first(attrs: dict, name: str) -> str:
    lowered = {k.lower(): v for k, v in (attrs or {}).items()}
    value = lowered.get(name.lower())
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode() if name.lower() == "invocationid" else value.decode()
    return "" if value is None else str(value)


def _entries(result) -> list[tuple[str, dict]]:
    status, info, response, _request = result
    if not status and info.get("result") not in (0, 4):          # 4 = sizeLimitExceeded
        raise LDAPException(f"{info.get('description')}: {info.get('message')}")
    return [(r["dn"], r.get("attributes") or {}) for r in response or ()
            if r.get("type") == "searchResEntry"]


@dataclass
class ActiveDirectorySource:
    url: str
    base: str
    tenant: str
    bind_dn: str = ""
    password: str = ""
    search_filter: str = "(&(objectCategory=person)(objectClass=user))"
    mapping: LdapMapping = ACTIVE_DIRECTORY
    mode: str = "usn"                 # "usn" or "dirsync"
    full_every: float = 24 * 3600.0
    timeout: float = 10.0
    name: str = ""
    connection_factory: Callable[[], object] | None = None   # tests: recorded responses

    @property
    def source(self) -> str:
        return self.name or f"ad:{self.url}/{self.base}"

    def _connect(self):
        if self.connection_factory is not None:
            return self.connection_factory()
        return connect(self.url, self.bind_dn, self.password, source=self.source,
                       timeout=self.timeout)

    def _search(self, conn, base, search_filter, scope=SUBTREE, attributes=None, controls=None):
        try:
            return _entries(conn.search(base, search_filter, scope, attributes=attributes or [],
                                        controls=controls))
        except LDAPException as exc:
            raise LdapSourceError(self.source, f"search failed: {exc}") from None

    def read_dc(self, conn) -> dict:
        root = self._search(conn, "", "(objectClass=*)", BASE,
                            ["dnsHostName", "highestCommittedUSN", "dsServiceName"])
        attrs = root[0][1] if root else {}
        ntds = _first(attrs, "dsServiceName")
        inv = self._search(conn, ntds, "(objectClass=*)", BASE, ["invocationId"]) if ntds else []
        dc = {"dc": _first(attrs, "dnsHostName"), "usn": int(_first(attrs, "highestCommittedUSN") or 0),
              "invocation_id": _first(inv[0][1], "invocationId") if inv else ""}
        if not dc["dc"] or not dc["invocation_id"]:
            raise LdapSourceError(self.source, "rootDSE lacks dnsHostName/invocationId: not an AD DC?")
        return dc

    def _due_full(self, state: dict, now: datetime) -> bool:
        last = state.get("last_full")
        return not last or (now - datetime.fromisoformat(last)).total_seconds() >= self.full_every

    def sync(self, state: dict | None, now: datetime) -> DirectoryBatch:
        state = dict(state or {})
        conn = self._connect()
        try:
            if self.mode == "dirsync":
                return self._dirsync(conn, state, now)
            return self._usn(conn, state, now)
        finally:
            conn.unbind()

    def _finish(self, batch: DirectoryBatch, state: dict, seen: set[str], now: datetime,
                removed: set[str] = frozenset()) -> DirectoryBatch:
        known = set(state.get("keys", ()))
        if batch.full:
            batch.removed = sorted(known - seen)
            known = seen
            state["last_full"] = now.astimezone(timezone.utc).isoformat()
        else:
            batch.removed = sorted(removed & known)
            known = (known | seen) - removed
        state["keys"] = sorted(known)
        batch.state = state
        log.info("%s", batch.summary_line)
        return batch

    def _usn(self, conn, state: dict, now: datetime) -> DirectoryBatch:
        dc = self.read_dc(conn)                       # BEFORE the search
        same_dc = (state.get("dc"), state.get("invocation_id")) == (dc["dc"], dc["invocation_id"])
        if state.get("dc") and not same_dc:
            log.warning("%s: domain controller changed (%s/%s -> %s/%s): full resync", self.source,
                        state.get("dc"), state.get("invocation_id"), dc["dc"], dc["invocation_id"])
        full = not same_dc or "usn" not in state or self._due_full(state, now)
        batch = DirectoryBatch(self.source, full=full)
        search_filter, removed = self.search_filter, set()
        if not full:
            since = int(state["usn"]) + 1
            search_filter = f"(&{self.search_filter}(uSNChanged>={since}))"
            tombstones = self._search(conn, self.base, f"(&(isDeleted=TRUE)(uSNChanged>={since}))",
                                      attributes=[self.mapping.key],
                                      controls=[show_deleted_control(criticality=True)])
            removed = {entry_key(attrs, self.mapping) for _dn, attrs in tombstones} - {""}
        entries = self._search(conn, self.base, search_filter, attributes=self.mapping.attributes)
        seen, _ = map_entries(entries, tenant=self.tenant, source=self.source,
                              mapping=self.mapping, batch=batch)
        state.update(dc=dc["dc"], invocation_id=dc["invocation_id"], usn=dc["usn"])
        return self._finish(batch, state, seen, now, removed)

    def _dirsync(self, conn, state: dict, now: datetime) -> DirectoryBatch:
        full = not state.get("cookie") or self._due_full(state, now)
        cookie = None if full else base64.b64decode(state["cookie"])
        batch = DirectoryBatch(self.source, full=full)
        try:
            sync = conn.extend.microsoft.dir_sync(self.base, self.search_filter,
                                                  attributes=self.mapping.attributes + ["isDeleted"],
                                                  cookie=cookie)
            changed, removed = [], set()
            while sync.more_results:
                for item in sync.loop():
                    if item.get("type") != "searchResEntry":
                        continue
                    attrs = item.get("attributes") or {}
                    key = entry_key(attrs, self.mapping)
                    if _first(attrs, "isDeleted").upper() == "TRUE":
                        removed.add(key)
                    elif key:
                        changed.append(key)
        except LDAPException as exc:
            raise LdapSourceError(self.source, f"DirSync failed: {exc}") from None
        entries = []
        for key in dict.fromkeys(changed):
            entries += self._search(conn, f"<GUID={key}>", "(objectClass=*)", BASE,
                                    self.mapping.attributes)
        seen, _ = map_entries(entries, tenant=self.tenant, source=self.source,
                              mapping=self.mapping, batch=batch)
        state["cookie"] = base64.b64encode(sync.cookie or b"").decode()
        return self._finish(batch, state, seen, now, removed)

"""Active Directory sync logic against an in-memory AD EMULATOR (no AD can run here).

The emulator answers like ldap3's SAFE_SYNC strategy does: `(status, result, response,
request)` tuples, rootDSE attributes, tombstones with Show Deleted, and the DirSync
response control carrying `more_results` and the cookie. It stands in for recorded
responses; the filters it understands are exactly the ones the source sends.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from pyasn1.codec.ber import decoder

from ldap3.protocol.microsoft import DirSyncControlRequestValue
from sync.ldap_ad import ActiveDirectorySource
from sync.ldap_openldap import LdapSourceError

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
BASE = "OU=Ansatte,DC=hdir,DC=test"
DIRSYNC = "1.2.840.113556.1.4.841"


@dataclass
class AdObject:
    guid: str
    attrs: dict
    usn: int
    deleted: bool = False


@dataclass
class FakeDc:
    name: str = "dc1.hdir.test"
    invocation_id: str = "1f0c6b3e-0000-4000-8000-000000000001"
    usn: int = 1000
    objects: dict = field(default_factory=dict)
    searches: list = field(default_factory=list)

    def write(self, guid: str, **attrs):
        self.usn += 1
        obj = self.objects.get(guid)
        if obj is None:
            self.objects[guid] = AdObject(guid, {"objectGUID": "{%s}" % guid, **attrs}, self.usn)
        else:
            obj.attrs.update(attrs)
            obj.usn = self.usn

    def delete(self, guid: str):
        self.usn += 1
        self.objects[guid].deleted, self.objects[guid].usn = True, self.usn


class FakeConnection:
    """One bound connection to a FakeDc (what ldap3 SAFE_SYNC would hand back)."""

    check_names = False
    strategy = SimpleNamespace(sync=True, thread_safe=True)

    def __init__(self, dc: FakeDc):
        self.dc = dc
        self.extend = SimpleNamespace(microsoft=SimpleNamespace(dir_sync=self._dir_sync))

    def _dir_sync(self, base, search_filter, attributes, cookie):
        from ldap3.extend.microsoft.dirSync import DirSync
        return DirSync(self, base, search_filter, attributes, cookie, False, True, False, True,
                       2147483647, False)

    def unbind(self):
        pass

    @staticmethod
    def _entry(dn, attrs):
        return {"type": "searchResEntry", "dn": dn, "attributes": attrs}

    def search(self, search_base=None, search_filter=None, search_scope=None, attributes=None,
               controls=None, dereference_aliases=None):
        dc = self.dc
        dc.searches.append(search_filter)
        ok = {"result": 0, "description": "success", "message": ""}
        if search_base == "":
            return True, ok, [self._entry("", {"dnsHostName": dc.name,
                                               "highestCommittedUSN": str(dc.usn),
                                               "dsServiceName": f"CN=NTDS Settings,CN={dc.name}"})], None
        if search_base.startswith("CN=NTDS Settings"):
            return True, ok, [self._entry(search_base, {"invocationId": dc.invocation_id})], None
        if search_base.startswith("<GUID="):
            obj = dc.objects[search_base[6:-1]]
            return True, ok, [self._entry(f"CN={obj.guid},{BASE}", obj.attrs)], None
        dirsync = next((c for c in controls or () if str(c["controlType"]) == DIRSYNC), None)
        if dirsync is not None:
            value = bytes(dirsync["controlValue"])
            cookie = bytes(decoder.decode(value, asn1Spec=DirSyncControlRequestValue())[0]["Cookie"])
            since = int(cookie.decode() or 0) + 1
            rows = [self._entry(f"CN={o.guid},{BASE}", {"objectGUID": o.attrs["objectGUID"],
                                                        **({"isDeleted": "TRUE"} if o.deleted else {})})
                    for o in dc.objects.values() if o.usn >= since]
            ok = {**ok, "controls": {DIRSYNC: {"value": {"more_results": False,
                                                          "cookie": str(dc.usn).encode()}}}}
            return True, ok, rows, None
        since = re.search(r"uSNChanged>=(\d+)", search_filter)
        want_deleted = "isDeleted=TRUE" in search_filter
        rows = [self._entry(f"CN={o.guid},{BASE}", o.attrs) for o in dc.objects.values()
                if o.deleted == want_deleted and (not since or o.usn >= int(since.group(1)))]
        return True, ok, rows, None


@pytest.fixture
def dc():
    d = FakeDc()
    d.write("aaaaaaaa-0000-0000-0000-000000000001", givenName="Kari", sn="Nordmann",
            telephoneNumber="22334455", department="Økonomi")
    d.write("aaaaaaaa-0000-0000-0000-000000000002", givenName="Ola", sn="Hansen")
    return d


def source(dc_ref, mode="usn"):
    return ActiveDirectorySource(url="ldaps://dc.hdir.test", base=BASE, tenant="hdir",
                                 mode=mode, name="ad:hdir",
                                 connection_factory=lambda: FakeConnection(dc_ref[0]))


def test_usn_rounds_pick_up_changes_and_tombstones_on_the_same_dc(dc):
    ad = source([dc])
    first = ad.sync(None, NOW)
    assert first.full and {p.given_name for p in first.upserts} == {"Kari", "Ola"}
    assert first.upserts[0].external_id == "aaaaaaaa-0000-0000-0000-000000000001"   # objectGUID
    assert first.upserts[0].direct_phone == "+4722334455"
    assert first.state["usn"] == 1002 and first.state["dc"] == "dc1.hdir.test"

    dc.write("aaaaaaaa-0000-0000-0000-000000000001", title="Controller")
    dc.delete("aaaaaaaa-0000-0000-0000-000000000002")
    second = ad.sync(first.state, NOW + timedelta(minutes=5))
    assert not second.full
    assert [(p.given_name, p.title) for p in second.upserts] == [("Kari", "Controller")]
    assert second.removed == ["aaaaaaaa-0000-0000-0000-000000000002"]
    assert "(uSNChanged>=1003)" in dc.searches[-1] and second.state["usn"] == 1004


def test_highest_usn_is_read_before_the_search_so_concurrent_writes_are_read_again(dc):
    ad = source([dc])
    first = ad.sync(None, NOW)
    real_search = FakeConnection.search

    def search_while_someone_writes(self, *args, **kw):
        result = real_search(self, *args, **kw)
        if "Kari" not in str(dc.objects["aaaaaaaa-0000-0000-0000-000000000001"].attrs.get("title", "")):
            dc.write("aaaaaaaa-0000-0000-0000-000000000001", title="Kari was edited mid-search")
        return result

    FakeConnection.search = search_while_someone_writes
    try:
        second = ad.sync(first.state, NOW + timedelta(minutes=1))
    finally:
        FakeConnection.search = real_search
    third = ad.sync(second.state, NOW + timedelta(minutes=2))
    assert [p.title for p in third.upserts] == ["Kari was edited mid-search"]


def test_another_dc_or_a_restored_dc_forces_a_full_resync(dc):
    ad_ref = [dc]
    ad = source(ad_ref)
    first = ad.sync(None, NOW)
    other = FakeDc(name="dc2.hdir.test", invocation_id="2f0c6b3e-0000-4000-8000-000000000002",
                   usn=50, objects=dc.objects)
    ad_ref[0] = other
    failover = ad.sync(first.state, NOW + timedelta(minutes=5))
    assert failover.full and len(failover.upserts) == 2 and failover.state["dc"] == "dc2.hdir.test"

    other.invocation_id = "3f0c6b3e-0000-4000-8000-000000000003"        # restored from backup
    restored = ad.sync(failover.state, NOW + timedelta(minutes=10))
    assert restored.full and restored.state["invocation_id"].startswith("3f0c")


def test_dirsync_cookie_rounds_read_changed_objects_in_full_and_report_deletions(dc):
    ad = source([dc], mode="dirsync")
    first = ad.sync(None, NOW)
    assert first.full and len(first.upserts) == 2 and first.state["cookie"]

    dc.write("aaaaaaaa-0000-0000-0000-000000000002", title="Rådgiver")
    dc.write("aaaaaaaa-0000-0000-0000-000000000003", givenName="Per", sn="Åsen")
    dc.delete("aaaaaaaa-0000-0000-0000-000000000001")
    second = ad.sync(first.state, NOW + timedelta(minutes=5))
    assert not second.full
    assert sorted((p.given_name, p.title) for p in second.upserts) == [("Ola", "Rådgiver"), ("Per", "")]
    assert second.removed == ["aaaaaaaa-0000-0000-0000-000000000001"]


def test_a_server_that_is_no_domain_controller_is_a_named_error(dc):
    dc.invocation_id = ""
    with pytest.raises(LdapSourceError, match="ad:hdir: rootDSE lacks"):
        source([dc]).sync(None, NOW)

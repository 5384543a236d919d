"""OpenLDAP sync against a real slapd: initial, incremental, delete, hostile entries."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from ldap3 import MODIFY_REPLACE, SYNC, Connection, Server

from engine.directory.model import PersonKey
from sync.ldap_batch import apply_batch
from sync.ldap_mapping import LdapMapping
from sync.ldap_openldap import LdapSourceError, OpenLdapSource

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def admin(slapd):
    conn = Connection(Server("127.0.0.1", port=int(slapd.url.rsplit(":", 1)[1])),
                      user=slapd.bind_dn, password=slapd.password, client_strategy=SYNC,
                      auto_bind=True)
    yield conn
    conn.unbind()


def add_person(admin, base, uid, given, sn, **attrs):
    dn = f"uid={uid},{base}"
    ok = admin.add(dn, ["inetOrgPerson"], {"givenName": given, "sn": sn, "cn": f"{given} {sn}",
                                           **attrs})
    assert ok, admin.result
    return dn


def source_for(slapd, **kw):
    return OpenLdapSource(url=slapd.url, base=slapd.base, tenant="hdir", bind_dn=slapd.bind_dn,
                          password=slapd.password, name="ldap:hdir", page_size=2, **kw)


@pytest.fixture
def directory(tmp_path):
    from store import migrate
    from store.database import create_engine
    from store.directory_store import DirectoryStore
    url = f"sqlite:///{tmp_path / 'dir.db'}"
    migrate(url)
    engine = create_engine(url)
    yield DirectoryStore(engine)
    engine.dispose()


def test_initial_sync_maps_every_person_with_entryuuid_as_key(slapd, admin, directory):
    add_person(admin, slapd.base, "kari", "Kari", "Nordmann", title="Rådgiver",
               telephoneNumber="22 33 44 55", mobile="+47 912 34 567", mail="kari@hdir.no",
               businessCategory=["lønn", "arkiv"], departmentNumber="u-10")
    add_person(admin, slapd.base, "ola", "Ola", "Hansen")
    add_person(admin, slapd.base, "per", "Per", "Åsen")

    batch = source_for(slapd).sync(None, NOW)

    assert batch.full and not batch.rejected and not batch.removed
    by_name = {p.family_name: p for p in batch.upserts}
    assert set(by_name) == {"Nordmann", "Hansen", "Åsen"}
    kari = by_name["Nordmann"]
    assert kari.direct_phone == "+4722334455" and kari.mobile_phone == "+4791234567"
    assert kari.keywords == ("lønn", "arkiv") and kari.unit_id == "u-10"
    assert len(kari.external_id) == 36          # entryUUID, not the DN
    assert batch.state["marker"] and len(batch.state["keys"]) == 3
    summary = apply_batch(directory, "hdir", batch)
    assert len(summary.added) == 3
    assert directory.get_person(PersonKey("hdir", kari.external_id)).title == "Rådgiver"


def test_modified_entry_is_picked_up_incrementally(slapd, admin):
    kari = add_person(admin, slapd.base, "kari", "Kari", "Nordmann", title="Rådgiver")
    add_person(admin, slapd.base, "ola", "Ola", "Hansen")
    add_person(admin, slapd.base, "per", "Per", "Åsen")
    source = source_for(slapd)
    first = source.sync(None, NOW)

    assert admin.modify(kari, {"title": [(MODIFY_REPLACE, ["Seniorrådgiver"])]}), admin.result
    second = source.sync(first.state, NOW + timedelta(minutes=5))

    assert not second.full
    # Kari changed; Per (the newest entry of the first round) is re-read by `>=`; Ola is not.
    assert {p.given_name: p.title for p in second.upserts} == {"Kari": "Seniorrådgiver", "Per": ""}
    assert second.state["marker"] > first.state["marker"]


def test_deleted_entry_is_marked_gone_at_the_next_full_round(slapd, admin, directory):
    add_person(admin, slapd.base, "kari", "Kari", "Nordmann")
    ola = add_person(admin, slapd.base, "ola", "Ola", "Hansen")
    source = source_for(slapd, full_every=3600)
    first = source.sync(None, NOW)
    apply_batch(directory, "hdir", first)
    ola_key = next(p.external_id for p in first.upserts if p.given_name == "Ola")

    assert admin.delete(ola), admin.result
    incremental = source.sync(first.state, NOW + timedelta(minutes=5))
    assert not incremental.full and incremental.removed == []
    full = source.sync(incremental.state, NOW + timedelta(hours=2))

    assert full.full and full.removed == [ola_key]
    apply_batch(directory, "hdir", full, max_removal_share=None)   # 1 of 2: above the mass-removal guard
    gone = directory.get_person(PersonKey("hdir", ola_key))
    assert gone is not None and gone.gone_since is not None      # findable, marked gone
    assert ola_key not in full.state["keys"]


def test_hostile_entries_are_rejected_by_name_and_the_rest_applied(slapd, admin, directory):
    kari = add_person(admin, slapd.base, "kari", "Kari", "Nordmann", title="Rådgiver")
    source = source_for(slapd, full_every=0)
    apply_batch(directory, "hdir", source.sync(None, NOW))
    kari_key = directory.persons("hdir")[0].external_id

    assert admin.modify(kari, {"title": [(MODIFY_REPLACE, ["Sjef\x07\x1b[31m"])]}), admin.result
    add_person(admin, slapd.base, "huge", "Huge", "Value", description="x",
               roomNumber="A" * 1_000_000)
    add_person(admin, slapd.base, "ola", "Ola", "Hansen")
    batch = source.sync(None, NOW + timedelta(minutes=1))

    reasons = {r.dn: str(r) for r in batch.rejected}
    assert set(reasons) == {kari, f"uid=huge,{slapd.base}"}
    assert "ldap:hdir" in reasons[kari] and "title" in reasons[kari] and "control character" in reasons[kari]
    assert "roomNumber" in reasons[f"uid=huge,{slapd.base}"] and "1000000" in reasons[f"uid=huge,{slapd.base}"]
    assert [p.given_name for p in batch.upserts] == ["Ola"]
    assert batch.removed == []                  # a refused entry is still delivered, not gone
    apply_batch(directory, "hdir", batch)
    kept = directory.get_person(PersonKey("hdir", kari_key))
    assert kept.title == "Rådgiver" and kept.gone_since is None   # last good data in force


def test_unreachable_server_is_a_named_error(slapd):
    source = OpenLdapSource(url=slapd.url, base=slapd.base, tenant="hdir", bind_dn=slapd.bind_dn,
                            password="wrong", name="ldap:hdir")
    with pytest.raises(LdapSourceError, match="ldap:hdir: cannot bind"):
        source.sync(None, NOW)


def test_mapping_is_configurable_per_tenant(slapd, admin):
    add_person(admin, slapd.base, "kari", "Kari", "Nordmann", l="Oslo", ou="Økonomi")
    mapping = LdapMapping.from_config({"fields": {"location": "l", "unit_id": "ou"},
                                       "unmap": ["keywords"]})
    batch = source_for(slapd, mapping=mapping).sync(None, NOW)
    assert [(p.location, p.unit_id, p.keywords) for p in batch.upserts] == [("Oslo", "Økonomi", ())]
    with pytest.raises(ValueError, match="operator_notes"):
        LdapMapping.from_config({"fields": {"operator_notes": "description"}})

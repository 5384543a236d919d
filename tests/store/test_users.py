"""Web users: strong salted password hashes, roles per tenant, audit trail."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from store.errors import InvalidRecord, UnknownUser
from store.passwords import hash_password, needs_rehash, verify_password


def test_production_cost_is_at_least_scrypt_n_2_15_r_8(monkeypatch):
    from store import passwords

    monkeypatch.undo()  # the production parameters, not the tests' cheap ones
    encoded = passwords.hash_password("Sommer2026!")
    assert encoded.split("$")[:4] == ["scrypt", str(2 ** 15), "8", "1"]
    assert verify_password("Sommer2026!", encoded)


def test_password_hash_is_salted_scrypt_and_verifies():
    first, second = hash_password("Sommer2026!"), hash_password("Sommer2026!")
    assert first != second and first.startswith("scrypt$") and "Sommer2026!" not in first
    assert verify_password("Sommer2026!", first) and not verify_password("sommer2026!", first)
    assert not verify_password("x", "not-a-hash") and not verify_password("x", "scrypt$1$2$3$@@$@@")
    assert not needs_rehash(first) and needs_rehash(hash_password("x", n=2 ** 11))


def test_given_a_user_then_only_the_right_password_logs_in(store):
    store.create_user("kari", "Sommer2026!", display_name="Kari Nordmann",
                      roles=[("helsedir", "tenant_admin"), ("*", "operator")])
    with store.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM web_users WHERE username = 'kari'")).scalar()
    assert "Sommer2026!" not in stored
    user = store.authenticate("kari", "Sommer2026!")
    assert user.roles == {("helsedir", "tenant_admin"), ("*", "operator")}
    assert user.last_login_at is not None
    assert store.authenticate("kari", "wrong") is None
    assert store.authenticate("nobody", "Sommer2026!") is None


def test_a_deactivated_user_cannot_log_in_and_a_new_password_replaces_the_old(store):
    store.create_user("ola", "first-pass")
    store.set_password("ola", "second-pass")
    assert store.authenticate("ola", "first-pass") is None
    assert store.authenticate("ola", "second-pass") is not None
    store.set_active("ola", False)
    assert store.authenticate("ola", "second-pass") is None


def test_roles_are_validated_and_replaced(store):
    with pytest.raises(InvalidRecord):
        store.create_user("eve", "pw", roles=[("helsedir", "root")])
    assert store.user("eve") is None
    store.create_user("per", "pw", roles=[("nav", "operator")])
    store.set_roles("per", [("nav", "supervisor")])
    assert store.user("per").roles == {("nav", "supervisor")}
    with pytest.raises(UnknownUser):
        store.set_roles("nobody", [])


def test_audit_log_records_who_did_what_to_which_target(store):
    store.audit("kari", "recording.play", "recording", "rec-42", tenant="helsedir", detail={"ip": "127.0.0.1"})
    store.audit("ola", "person.update", "person", "p-1", tenant="nav")
    (entry,) = store.audit_entries(target_kind="recording", target_id="rec-42")
    assert (entry.actor, entry.action, entry.tenant, entry.detail) == ("kari", "recording.play", "helsedir",
                                                                      {"ip": "127.0.0.1"})
    assert [e.actor for e in store.audit_entries()] == ["kari", "ola"]

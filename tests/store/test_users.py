"""Web users: strong salted password hashes, roles per tenant, audit trail."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from store.errors import InvalidRecord, UnknownUser
from store.passwords import hash_password, needs_rehash, verify_password


def test_production_cost_is_argon2id_with_rfc_9106_low_memory_parameters(monkeypatch):
    from store import passwords

    monkeypatch.undo()  # the production parameters, not the tests' cheap ones
    encoded = passwords.hash_password("Sommer2026!")
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password("Sommer2026!", encoded) and not needs_rehash(encoded)


def test_password_hash_is_salted_argon2id_and_verifies():
    first, second = hash_password("Sommer2026!"), hash_password("Sommer2026!")
    assert first != second and first.startswith("$argon2id$") and "Sommer2026!" not in first
    assert verify_password("Sommer2026!", first) and not verify_password("sommer2026!", first)
    assert not verify_password("x", "not-a-hash") and not verify_password("x", "scrypt$1$2$3$@@$@@")
    assert not verify_password("x", "$argon2id$v=19$broken")


def test_an_old_scrypt_hash_still_verifies_and_is_replaced_by_argon2id_at_login(store):
    from store.passwords import scrypt_hash

    old = scrypt_hash("Sommer2026!", n=2 ** 10)
    assert verify_password("Sommer2026!", old) and not verify_password("sommer2026!", old) and needs_rehash(old)
    store.create_user("gammel", "placeholder")
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE web_users SET password_hash = :h WHERE username = 'gammel'"), {"h": old})
    assert store.authenticate("gammel", "wrong") is None
    assert store.authenticate("gammel", "Sommer2026!") is not None
    with store.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM web_users WHERE username = 'gammel'")).scalar()
    assert stored.startswith("$argon2id$") and store.authenticate("gammel", "Sommer2026!") is not None


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

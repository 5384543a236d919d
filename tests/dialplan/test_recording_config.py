"""The `recording` policy in the routing configuration: checked with its place, merged
tenant → queue by engine.recording.policy."""
from __future__ import annotations

from dialplan.loader import load
from dialplan.recording import ROLES
from engine.recording import key_id, policy
from tests.dialplan.files import DEMO, DEMO_ENV, PRODUCTION, problems, write

KEY = "age1gjtn8gq6l2vkgfvsujjkwzru9etqmsdjdjn0dj92vudcnmxu5guqnv4zgh"   # tests/data/acd's test-only key


def test_the_listen_roles_are_the_account_roles():
    from store.accounts import ROLES as ACCOUNT_ROLES
    assert set(ROLES) == set(ACCOUNT_ROLES)


def test_recording_needs_a_notice_and_a_public_key_each_named_at_the_recording_key(tmp_path):
    found, error = problems(tmp_path, "tenants:\n  - {id: t, name: T, recording: {enabled: true}}\n")
    assert found == [(2, 33, "missing-key"), (2, 33, "missing-key")]
    report = error.report()
    assert "no notice prompt" in report
    assert "recordings are encrypted to the agency's public key: sentral recordings keygen --tenant t" in report


def test_a_public_key_that_is_not_an_age_recipient_is_bad_key(tmp_path):
    found, error = problems(tmp_path, "tenants:\n  - id: t\n    name: T\n    recording:\n      enabled: true\n"
                                      "      notice: n.wav\n      public_key: age1notakey\n")
    assert found == [(7, 19, "bad-key")]
    assert "age X25519 recipient" in error.report()


def test_retention_and_roles_are_checked(tmp_path):
    found, _ = problems(tmp_path, "tenants:\n  - id: t\n    name: T\n    recording:\n      retention_days: 0\n"
                                  "      listen_roles: [supervisor, boss]\n")
    assert found == [(5, 23, "out-of-range"), (6, 34, "bad-value")]


def test_a_queue_recording_under_a_tenant_without_a_key_is_an_error(tmp_path):
    found, error = problems(tmp_path, "tenants:\n  - id: t\n    name: T\n    recording: {notice: n.wav}\n"
                                      "    queues:\n      - {id: q, recording: {enabled: true}}\n")
    assert found == [(6, 28, "missing-key")]
    assert "tenant t has no recording public_key" in error.report()


def test_a_queue_overrides_the_tenants_policy_field_by_field(tmp_path):
    d = load(write(tmp_path, f"""\
        tenants:
          - id: t
            name: T
            recording: {{enabled: false, notice: n.wav, public_key: {KEY}, retention_days: 30}}
            queues:
              - {{id: plain}}
              - {{id: recorded, recording: {{enabled: true, listen_roles: [admin]}}}}
              - {{id: long, recording: {{enabled: true, notice: other.wav, retention_days: 365}}}}
        """), {})
    assert not policy(d, "t", "plain").record and policy(d, "t", "plain").notice == ""
    recorded = policy(d, "t", "recorded")
    assert (recorded.record, recorded.notice, recorded.retention_days, recorded.roles) == (True, "n.wav", 30,
                                                                                         frozenset({"admin"}))
    assert (recorded.public_key, recorded.key_id) == (KEY, key_id(KEY))
    long = policy(d, "t", "long")
    assert (long.notice, long.retention_days, long.roles) == ("other.wav", 365, frozenset({"supervisor", "tenant_admin"}))
    assert not policy(d, "nobody", "").record


def test_key_id_is_the_first_16_hex_digits_of_the_recipients_sha256():
    import hashlib
    assert key_id(KEY) == hashlib.sha256(KEY.encode()).hexdigest()[:16] and len(key_id(KEY)) == 16


def test_the_recordings_section_storage_and_identities(tmp_path):
    base = "tenants: [{id: t, name: T}]\n"
    d = load(write(tmp_path, base + "recordings: {dir: /srv/rec, identities: /etc/sentral/keys, storage: s3,"
                                    " s3: {bucket: rec, prefix: p/, endpoint_url: 'http://127.0.0.1:9000', region: eu}}\n"),
             {"SENTRAL_RECORDINGS_IDENTITIES": "/run/keys"})
    assert (d.recordings_dir, d.recordings_identities) == ("/srv/rec", "/run/keys")
    s = d.recordings_storage
    assert (s.kind, s.bucket, s.prefix, s.endpoint_url, s.region) == ("s3", "rec", "p/", "http://127.0.0.1:9000", "eu")
    found, _ = problems(tmp_path, base + "recordings: {storage: s3}\n")
    assert found == [(2, 23, "missing-key")]
    found, _ = problems(tmp_path, base + "recordings: {storage: ftp}\n")
    assert found == [(2, 23, "bad-value")]


def test_the_examples_record_with_a_key_and_the_demo_records_one_queue():
    prod = load(str(PRODUCTION), {**DEMO_ENV, "SENTRAL_DATABASE_PASSWORD": "x"}, require_env=False)
    assert all(policy(prod, t).public_key.startswith("age1") for t in prod.tenants if policy(prod, t).record)
    demo = load(str(DEMO), DEMO_ENV)
    recorded = [q for q in demo.queues if policy(demo, demo.queues[q].tenant, q).record]
    assert recorded == ["nordlys-switchboard"]

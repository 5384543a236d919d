"""`sentral api token|webhook`: a token is printed once and works until revoked, the store
keeps only its hash, refusals in one line, every change audited without secrets."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

from store.store import Store

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent


def sentral(*args, **env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRAL_WEBHOOK")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "sentral.cli", "api", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)


def test_given_a_token_created_when_used_and_revoked_then_it_stops_working(tmp_path):
    url = f"sqlite:///{tmp_path}/a.db"
    Store(url, migrate=True).close()
    out = sentral("token", "create", "--tenant", "helsedir", "--role", "supervisor", "--name", "crm", "--db", url)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("sentral_1_")
    store = Store(url)
    try:
        assert store.token_by_secret(token).role == "supervisor"
        with store.engine.connect() as conn:
            assert token.split("_", 2)[2] not in json.dumps([list(r) for r in conn.exec_driver_sql(
                "select * from api_tokens")], default=str)
        listed = json.loads(sentral("token", "list", "--json", "--db", url).stdout)
        assert [(t["id"], t["tenant"], t["revoked_at"]) for t in listed] == [(1, "helsedir", None)]
        assert sentral("token", "revoke", "1", "--db", url).returncode == 0
        assert store.token_by_secret(token) is None
        bad = sentral("token", "create", "--tenant", "*", "--role", "supervisor", "--name", "x", "--db", url)
        assert bad.returncode == 1 and "admin role only" in bad.stderr and len(bad.stderr.splitlines()) == 1
        assert sentral("token", "revoke", "99", "--db", url).returncode == 1
        actions = [(e.action, e.target_id) for e in store.audit_entries()]
        assert ("api_token.create", "1") in actions and ("api_token.revoke", "1") in actions
        assert token not in json.dumps([e.detail for e in store.audit_entries()])
    finally:
        store.close()


def test_a_webhook_outside_the_allowed_networks_is_refused_and_a_loopback_one_kept(tmp_path):
    url = f"sqlite:///{tmp_path}/w.db"
    Store(url, migrate=True).close()
    out = sentral("webhook", "add", "http://192.0.2.7/hook", "--tenant", "helsedir", "--db", url)
    assert out.returncode == 1 and "outside the allowed webhook networks" in out.stderr
    out = sentral("webhook", "add", "http://127.0.0.1:9/hook", "--tenant", "helsedir", "--events", "agent.state",
                  "--db", url, SENTRAL_WEBHOOK_SECRET="given-secret-0123456789")
    assert out.returncode == 0 and "secret" not in out.stdout
    listed = json.loads(sentral("webhook", "list", "--json", "--db", url).stdout)
    assert listed == [{"id": 1, "url": "http://127.0.0.1:9/hook", "tenant": "helsedir", "events": ["agent.state"],
                       "active": True}]
    assert sentral("webhook", "remove", "1", "--db", url).returncode == 0
    assert json.loads(sentral("webhook", "list", "--json", "--db", url).stdout) == []

"""`sentral users`: a new operator can be created and bound to an agent without code, the
password never on the command line, refusals in one line, every change audited."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def sentral(*args, password=None):
    env = dict(os.environ)
    env.pop("SENTRAL_NEW_PASSWORD", None)
    if password is not None:
        env["SENTRAL_NEW_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "sentral.cli", "users", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)


def test_given_a_new_operator_when_added_and_bound_then_they_log_in_as_that_agent(tmp_path):
    from store.store import Store

    url = f"sqlite:///{tmp_path}/u.db"
    out = sentral("add", "per", "--name", "Per Operatør", "--role", "fjordvik:operator", "--agent", "kari",
                  "--db", url, password="a-long-secret-1")
    assert out.returncode == 0, out.stderr
    assert "bound to agent kari" in out.stdout
    store = Store(url)
    try:
        user = store.authenticate("per", "a-long-secret-1")
        assert user is not None and user.agent == "kari" and ("fjordvik", "operator") in user.roles
        assert store.authenticate("per", "wrong-password") is None
        actions = [(e.actor.startswith("cli:"), e.action, e.target_id) for e in store.audit_entries()]
        assert (True, "user.add", "per") in actions
    finally:
        store.close()
    shown = sentral("show", "per", "--db", url)
    assert "fjordvik:operator" in shown.stdout and "agent kari" in shown.stdout


def test_refusals_are_one_line_and_change_nothing(tmp_path):
    from store.store import Store

    url = f"sqlite:///{tmp_path}/u.db"
    assert sentral("add", "per", "--role", "fjordvik:operator", "--agent", "kari", "--db", url,
                   password="a-long-secret-1").returncode == 0
    cases = [
        (("add", "per", "--db", url), "a-long-secret-2", "exists"),
        (("add", "ola", "--agent", "kari", "--db", url), "a-long-secret-2", "already bound"),
        (("add", "ola", "--role", "fjordvik", "--db", url), "a-long-secret-2", "TENANT:ROLE"),
        (("add", "ola", "--role", "fjordvik:king", "--db", url), "a-long-secret-2", "unknown role"),
        (("add", "ola", "--db", url), "short", "at least 10"),
        (("bind", "nobody", "kari", "--db", url), None, "no web user"),
    ]
    for args, password, words in cases:
        out = sentral(*args, password=password)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert words in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    store = Store(url)
    try:
        assert store.user("ola") is None
        assert store.authenticate("per", "a-long-secret-1") is not None      # the first password stands
    finally:
        store.close()


def test_bind_and_unbind(tmp_path):
    from store.store import Store

    url = f"sqlite:///{tmp_path}/u.db"
    assert sentral("add", "per", "--role", "*:operator", "--db", url, password="a-long-secret-1").returncode == 0
    assert sentral("bind", "per", "ola", "--db", url).returncode == 0
    store = Store(url)
    try:
        assert store.user("per").agent == "ola"
    finally:
        store.close()
    assert sentral("bind", "per", "--none", "--db", url).returncode == 0
    assert sentral("bind", "per", "--db", url).returncode == 2          # neither an agent nor --none
    store = Store(url)
    try:
        assert store.user("per").agent == ""
    finally:
        store.close()


def _sessions(store):
    from datetime import timedelta

    from store.sessions import WebSessions

    return WebSessions(store.engine, store.clock, idle=timedelta(hours=1), absolute=timedelta(hours=12))


def test_given_a_logged_in_user_when_disabled_then_the_session_ends_and_login_is_refused(tmp_path):
    from store.store import Store

    url = f"sqlite:///{tmp_path}/u.db"
    assert sentral("add", "per", "--role", "fjordvik:operator", "--db", url, password="a-long-secret-1").returncode == 0
    store = Store(url)
    try:
        sessions = _sessions(store)
        token = sessions.open(store.user("per"))
        assert sessions.resolve(token) is not None
        out = sentral("disable", "per", "--db", url)
        assert out.returncode == 0, out.stderr
        assert sessions.resolve(token) is None
        assert store.authenticate("per", "a-long-secret-1") is None
        assert sentral("enable", "per", "--db", url).returncode == 0
        assert store.authenticate("per", "a-long-secret-1") is not None
        actions = [(e.actor.startswith("cli:"), e.action) for e in store.audit_entries(target_id="per")]
        assert (True, "user.disable") in actions and (True, "user.enable") in actions
    finally:
        store.close()
    out = sentral("disable", "nobody", "--db", url)
    assert out.returncode == 1 and "no web user" in out.stderr


def test_given_a_user_when_reset_then_only_the_new_password_works_and_sessions_end(tmp_path):
    from store.store import Store

    url = f"sqlite:///{tmp_path}/u.db"
    assert sentral("add", "per", "--db", url, password="a-long-secret-1").returncode == 0
    store = Store(url)
    try:
        token = _sessions(store).open(store.user("per"))
        short = sentral("reset", "per", "--db", url, password="short")
        assert short.returncode == 1 and "at least 10" in short.stderr
        assert sentral("reset", "per", "a-long-secret-2", "--db", url).returncode == 2   # never an argument
        out = sentral("reset", "per", "--db", url, password="a-long-secret-2")
        assert out.returncode == 0, out.stderr
        assert store.authenticate("per", "a-long-secret-1") is None
        assert store.authenticate("per", "a-long-secret-2") is not None
        assert _sessions(store).resolve(token) is None
        assert "user.reset_password" in [e.action for e in store.audit_entries(target_id="per")]
    finally:
        store.close()


def test_list_shows_users_filtered_by_tenant_as_table_and_json(tmp_path):
    import json

    url = f"sqlite:///{tmp_path}/u.db"
    for name, role in (("per", "fjordvik:operator"), ("ada", "nordlys:tenant_admin"), ("root", "*:admin")):
        assert sentral("add", name, "--role", role, "--db", url, password="a-long-secret-1").returncode == 0
    assert sentral("disable", "ada", "--db", url).returncode == 0
    table = sentral("list", "--db", url)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["USER", "NAME", "STATE"]
    assert [line.split()[0] for line in lines[1:]] == ["ada", "per", "root"]
    assert "disabled" in lines[1] and "nordlys:tenant_admin" in lines[1]
    rows = json.loads(sentral("list", "--tenant", "fjordvik", "--json", "--db", url).stdout)
    assert [(r["username"], r["roles"], r["active"]) for r in rows] == [
        ("per", ["fjordvik:operator"], True), ("root", ["*:admin"], True)]

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

"""`sentral agents`: an agent is added as its own override file, checked with the whole
configuration first (nothing left behind on refusal), removed only if the command wrote
it, listed with where it is defined."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

from dialplan.agents import a1_hash
from dialplan.loader import load

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "dialplan" / "examples"
ENV = {"SENTRAL_FREESWITCH_PASSWORD": "x"}


def sentral(*args, password=None, env=None):
    full = dict(os.environ)
    full.pop("SENTRAL_NEW_PASSWORD", None)
    full.update(env or {})
    if password is not None:
        full["SENTRAL_NEW_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "sentral.cli", "agents", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=full, stdin=subprocess.DEVNULL)


def a_deployment(tmp_path) -> pathlib.Path:
    shutil.copy(EXAMPLES / "demo.yaml", tmp_path / "site.yaml")
    shutil.copytree(EXAMPLES / "demo-tenants", tmp_path / "demo-tenants")
    return tmp_path / "site.yaml"


def listing(tmp_path):
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))


def test_given_a_new_agent_when_added_then_the_engine_loads_it_from_its_own_file(tmp_path):
    config = a_deployment(tmp_path)
    main_before = config.read_text()
    out = sentral("add", "per", "--config", str(config), "--extension", "1050", "--name", "Per Hansen",
                  "--queue", "fjordvik-switchboard:2", "--queue", "nordlys-switchboard", password="softphone-pw")
    assert out.returncode == 0, out.stderr
    assert "SIGHUP" in out.stdout
    written = tmp_path / "site.d" / "agent-per.yaml"
    assert written.is_file() and "softphone-pw" not in written.read_text()
    assert config.read_text() == main_before
    agent = load(str(config), env=ENV).agents["per"]
    assert (agent.name, agent.sip_user, dict(agent.queues)) == (
        "Per Hansen", "1050", {"fjordvik-switchboard": 2, "nordlys-switchboard": 1})
    assert agent.password_hash == a1_hash("1050", "127.0.0.1", "softphone-pw")

    rows = json.loads(sentral("list", "--config", str(config), "--json").stdout)
    per = next(r for r in rows if r["id"] == "per")
    assert per["defined_at"] == f"{written}:3" and per["queues"] == {"fjordvik-switchboard": 2, "nordlys-switchboard": 1}
    kari = next(r for r in rows if r["id"] == "kari")
    assert kari["defined_at"].startswith(f"{config}:") and kari["extension"] == "1000"
    table = sentral("list", "--config", str(config)).stdout
    assert "fjordvik-switchboard:2,nordlys-switchboard:1" in table

    out = sentral("remove", "per", "--config", str(config))
    assert out.returncode == 0, out.stderr
    assert not written.exists() and "per" not in load(str(config), env=ENV).agents


def test_password_env_is_stored_as_a_reference_not_a_secret(tmp_path):
    config = a_deployment(tmp_path)
    out = sentral("add", "eva", "--config", str(config), "--extension", "1051", "--password-env", "EVA_SIP_PW")
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "site.d" / "agent-eva.yaml").read_text()
    assert "env: EVA_SIP_PW" in text
    agent = load(str(config), env={**ENV, "EVA_SIP_PW": "from-env-pw"}).agents["eva"]
    assert agent.password_hash == a1_hash("1051", "127.0.0.1", "from-env-pw")


def test_refusals_name_the_places_and_leave_nothing_behind(tmp_path):
    config = a_deployment(tmp_path)
    before = listing(tmp_path)
    cases = [
        (("add", "kari", "--extension", "1050"), "agent 'kari' is defined twice (first at " + str(config)),
        (("add", "per", "--extension", "1000"), "extension '1000' is defined twice"),
        (("add", "per", "--extension", "1050", "--queue", "no-such-queue"), "no-such-queue"),
        (("add", "per", "--extension", "10a"), "extension"),
    ]
    for args, words in cases:
        out = sentral(*args, "--config", str(config), password="softphone-pw")
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert words in out.stderr, out.stderr
        assert listing(tmp_path) == before, args
    dup = sentral("add", "per", "--extension", "1000", "--config", str(config), password="softphone-pw")
    assert str(tmp_path / "site.d" / "agent-per.yaml") + ":" in dup.stderr      # the problem names the target file


def test_remove_refuses_an_agent_of_the_main_file_and_a_file_not_written_by_the_command(tmp_path):
    config = a_deployment(tmp_path)
    out = sentral("remove", "kari", "--config", str(config))
    assert out.returncode == 1 and f"defined at {config}:" in out.stderr
    (tmp_path / "site.d").mkdir()
    hand = tmp_path / "site.d" / "agent-hand.yaml"
    hand.write_text('agents:\n  - {id: hand, extension: "1020"}\n')
    out = sentral("remove", "hand", "--config", str(config))
    assert out.returncode == 1 and "not written by" in out.stderr and hand.exists()
    out = sentral("remove", "ghost", "--config", str(config))
    assert out.returncode == 1 and "no agent 'ghost'" in out.stderr


def test_add_and_remove_are_audited_when_a_database_is_named(tmp_path, pg_url):
    from store.store import Store

    config = a_deployment(tmp_path)
    out = sentral("add", "per", "--config", str(config), "--extension", "1050", "--queue", "fjordvik-switchboard:2",
                  "--db", pg_url, password="softphone-pw")
    assert out.returncode == 0, out.stderr
    assert "audit" not in out.stderr
    out = sentral("remove", "per", "--config", str(config), env={"SENTRAL_DATABASE_URL": pg_url})
    assert out.returncode == 0, out.stderr
    store = Store(pg_url)
    try:
        entries = [e for e in store.audit_entries() if e.target_kind == "agent"]
    finally:
        store.close()
    assert [(e.action, e.target_id, e.tenant) for e in entries] == [
        ("agent.add", "per", "fjordvik"), ("agent.remove", "per", "fjordvik")]
    assert all(e.actor.startswith("cli:") for e in entries)
    assert entries[0].detail["extension"] == "1050" and entries[0].detail["queues"] == {"fjordvik-switchboard": 2}
    assert entries[0].detail["password"] == "a1_hash" and "softphone-pw" not in str(entries[0].detail)
    assert entries[1].detail["file"].endswith("agent-per.yaml")


def test_without_a_database_the_change_stands_and_stderr_says_it_is_not_audited(tmp_path, pg_url):
    import sqlalchemy as sa

    from tests.helpers import free_port

    config = a_deployment(tmp_path)
    out = sentral("add", "per", "--config", str(config), "--extension", "1050", password="softphone-pw",
                  env={"SENTRAL_DATABASE_URL": ""})
    assert out.returncode == 0 and "no database" in out.stderr and "not in the audit log" in out.stderr
    assert (tmp_path / "site.d" / "agent-per.yaml").is_file()
    nobody = sa.engine.make_url(pg_url).set(port=free_port()).render_as_string(hide_password=False)  # no one there
    out = sentral("remove", "per", "--config", str(config), "--db", nobody)
    assert out.returncode == 0 and "cannot be reached" in out.stderr and "not in the audit log" in out.stderr
    assert not (tmp_path / "site.d" / "agent-per.yaml").exists()

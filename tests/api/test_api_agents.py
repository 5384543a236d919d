"""Agents added and removed through the REST API in the app `sentral run` serves, over a
real configuration file: the file is written, the configuration reloaded as on SIGHUP and
the running engine knows the agent at once; only the tenant's own queues; refusals carry
the loader's file:line problems and leave nothing behind; audited; 501 without a file."""
from __future__ import annotations

from dialplan.agents import a1_hash
from tests.api.conftest import api, bearer  # noqa: F401  (fixture)
from tests.config_stack import stack  # noqa: F401  (fixture)

PER = {"id": "per", "extension": "1050", "name": "Per Hansen", "queues": {"fjordvik-switchboard": 2},
       "password": "softphone-pw"}


def token(stack, tenant, role):
    record, secret = stack.store.create_token("t", tenant, role, "test")
    return record, bearer(secret)


def test_given_a_tenant_admin_when_adding_an_agent_then_the_running_engine_has_it_at_once(stack):
    record, headers = token(stack, "fjordvik", "tenant_admin")
    client = stack.app.test_client()
    answer = client.post("/api/v1/tenants/fjordvik/agents", json=PER, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    written = stack.override_dir / "agent-per.yaml"
    assert (body["id"], body["extension"], body["queues"], body["state"]) == (
        "per", "1050", {"fjordvik-switchboard": 2}, "logged_out")
    assert body["defined_at"] == f"{written}:3" and body["removable"] is True
    assert "per" in stack.proc.engine.agents
    assert stack.proc.deployment.agents["per"].password_hash == a1_hash("1050", "127.0.0.1", "softphone-pw")
    assert "softphone-pw" not in written.read_text()
    listed = client.get("/api/v1/tenants/fjordvik/agents", headers=headers).get_json()["agents"]
    assert "per" in {a["id"] for a in listed}
    added = stack.store.audit_entries(target_id="per")
    assert [(e.actor, e.action, e.tenant) for e in added] == [(f"token:{record.id}", "agent.add", "fjordvik")]
    assert "softphone-pw" not in str(added[0].detail)

    answer = client.delete("/api/v1/tenants/fjordvik/agents/per", headers=headers)
    assert answer.status_code == 200 and answer.get_json() == {"removed": "per"}
    assert not written.exists()
    assert "per" not in stack.proc.engine.deployment.agents and "per" not in stack.proc.engine.agents
    assert sorted(e.action for e in stack.store.audit_entries(target_id="per")) == ["agent.add", "agent.remove"]


def test_password_env_is_stored_as_a_reference_and_read_by_the_reload(stack, monkeypatch):
    monkeypatch.setenv("EVA_SIP_PW", "from-env-pw")
    _, headers = token(stack, "*", "admin")
    answer = stack.app.test_client().post("/api/v1/tenants/nordlys/agents", headers=headers, json={
        "id": "eva", "extension": "1051", "queues": {"nordlys-switchboard": 1, "fjordvik-switchboard": 1},
        "password_env": "EVA_SIP_PW"})
    assert answer.status_code == 201, answer.get_json()
    assert "env: EVA_SIP_PW" in (stack.override_dir / "agent-eva.yaml").read_text()
    assert stack.proc.deployment.agents["eva"].password_hash == a1_hash("1051", "127.0.0.1", "from-env-pw")


def test_refusals_leave_nothing_behind_and_the_engine_unchanged(stack):
    _, fjordvik = token(stack, "fjordvik", "tenant_admin")
    _, root = token(stack, "*", "admin")
    client = stack.app.test_client()
    before, agents_before = stack.files(), set(stack.proc.engine.agents)
    cases = [
        (fjordvik, {**PER, "queues": {"nordlys-switchboard": 1}}, 403, "action.denied"),          # B's queue
        (fjordvik, {**PER, "queues": {"fjordvik-switchboard": 1, "nordlys-switchboard": 1}}, 403, "action.denied"),
        (fjordvik, {**PER, "queues": {}}, 403, "action.denied"),                                   # no queue
        (fjordvik, {**PER, "extension": "1000"}, 400, "agents.config_invalid"),                    # kari's
        (fjordvik, {**PER, "id": "kari"}, 400, "agents.config_invalid"),
        (fjordvik, {**PER, "queues": {"no-such-queue": 1}}, 400, "agents.config_invalid"),
        (fjordvik, {**PER, "id": "../escape"}, 400, "agents.invalid"),
        (fjordvik, {**PER, "extension": "10a"}, 400, "agents.invalid"),
        (fjordvik, {**PER, "password": "short"}, 400, "agents.invalid"),
        (fjordvik, {**PER, "queues": ["fjordvik-switchboard"], "skills": "x"}, 400, "agents.invalid"),
    ]
    for headers, body, status, error in cases:
        answer = client.post("/api/v1/tenants/fjordvik/agents", json=body, headers=headers)
        assert (answer.status_code, answer.get_json()["error"]) == (status, error), (body, answer.get_json())
        assert stack.files() == before, body
    dup = client.post("/api/v1/tenants/fjordvik/agents", json={**PER, "extension": "1000"}, headers=fjordvik)
    problems = dup.get_json()["problems"]
    target = stack.override_dir / "agent-per.yaml"
    assert any(p.startswith(f"{target}:") and "extension '1000' is defined twice" in p for p in problems), problems
    assert any(f"{stack.config}:" in p for p in problems), problems        # and the first definition's place
    assert set(stack.proc.engine.agents) == agents_before
    assert stack.store.audit_entries(target_id="per") == []
    # the admin of every tenant adds an agent of two tenants
    answer = client.post("/api/v1/tenants/fjordvik/agents", headers=root,
                         json={**PER, "queues": {"fjordvik-switchboard": 1, "nordlys-switchboard": 1}})
    assert answer.status_code == 201, answer.get_json()
    # ... which fjordvik's admin may not remove; nordlys's does not even see it as theirs to name
    assert client.delete("/api/v1/tenants/fjordvik/agents/per", headers=fjordvik).status_code == 403
    _, vestland = token(stack, "vestland", "tenant_admin")
    assert client.delete("/api/v1/tenants/vestland/agents/per", headers=vestland).status_code == 404
    assert target.exists()


def test_only_files_written_by_the_tool_are_removed(stack):
    _, root = token(stack, "*", "admin")
    client = stack.app.test_client()
    answer = client.delete("/api/v1/tenants/fjordvik/agents/kari", headers=root)
    assert answer.status_code == 409 and f"defined at {stack.config}:" in answer.get_json()["message"]
    assert "kari" in stack.proc.engine.deployment.agents
    assert client.delete("/api/v1/tenants/fjordvik/agents/ghost", headers=root).status_code == 404


def test_without_a_configuration_file_adding_is_501(api):  # noqa: F811
    headers = bearer(api.token("*", "admin"))
    answer = api.client().post("/api/v1/tenants/helsedir/agents", headers=headers,
                               json={"id": "a3000", "extension": "3000", "queues": {"helsedir-main": 1},
                                     "password": "softphone-pw"})
    assert answer.status_code == 501 and answer.get_json()["error"] == "api.agents_in_config"
    assert api.client().delete("/api/v1/tenants/helsedir/agents/a1000", headers=headers).status_code == 501


def test_the_demos_reload_takes_only_the_files_agents_into_the_running_deployment(stack):
    """`sentral demo` (sentral.web.start): the deployment it runs differs from the file (its
    simulator node, scaled timers); an added agent is taken in, the rest kept as it runs."""
    import dataclasses

    from sentral import web
    from sentral.agent_config import ConfigAgents, agents_reload

    proc = stack.proc
    scaled = {qid: dataclasses.replace(q, service_level_seconds=1.5) for qid, q in proc.deployment.queues.items()}
    proc.reload(dataclasses.replace(proc.deployment, queues=scaled))
    files = ConfigAgents(str(stack.config), agents_reload(str(stack.config), proc), env=None)
    app, _ = web.build_app(stack.store, lambda: proc.deployment, lambda: proc.engine, secure_cookies=False,
                           post=web.engine_inbox(proc), message_queue="", agent_files=files)
    _, root = token(stack, "*", "admin")
    answer = app.test_client().post("/api/v1/tenants/fjordvik/agents", json=PER, headers=root)
    assert answer.status_code == 201, answer.get_json()
    assert "per" in proc.engine.agents
    assert {q.service_level_seconds for q in proc.deployment.queues.values()} == {1.5}
    server = web.start(stack.store, proc, host="127.0.0.1", port=0, secure_cookies=False, config_path=str(stack.config))
    try:                                   # what the demo serves is built with the same reload
        assert server.application.extensions["sentral_agents"].files is not None
    finally:
        server.stop(timeout=0)

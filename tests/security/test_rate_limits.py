"""The API's rate limit (SENTRAL_API_LIMIT, here 3 a minute): per token once the token is
verified, per client address otherwise, so nobody can use up an integration's allowance
by sending its (guessable, sequential) token id with a wrong secret."""
from __future__ import annotations

import pytest

from tests.console.supervisor_fixtures import World


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTRAL_API_LIMIT", "3 per minute")
    w = World(tmp_path)
    yield w
    w.close()


def get(world, token: str, address: str = "127.0.0.1"):
    return world.app.test_client().get("/api/v1/tenants/nordlys/queues", headers={"Authorization": f"Bearer {token}"},
                                       environ_base={"REMOTE_ADDR": address})


def test_a_token_is_limited_with_retry_after(world):
    token = world.store.create_token("crm", "nordlys", "operator", "test")[1]
    assert [get(world, token).status_code for _ in range(3)] == [200, 200, 200]
    over = get(world, token)
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
    other = world.store.create_token("wallboard", "nordlys", "operator", "test")[1]
    assert get(world, other).status_code == 200            # its own allowance


def test_wrong_secrets_naming_a_tokens_id_do_not_use_up_its_allowance(world):
    token = world.store.create_token("crm", "nordlys", "operator", "test")[1]
    token_id = token.split("_")[1]
    forged = [get(world, f"sentral_{token_id}_wrong", "10.9.9.9").status_code for _ in range(5)]
    assert forged == [401, 401, 401, 429, 429]              # counted against the sender's address
    assert get(world, token, "10.1.1.1").status_code == 200

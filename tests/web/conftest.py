"""Web fixtures: the Flask app on a migrated SQLite copy with the sample directory and
five users, a clock that tests move, and clients from allowed / foreign addresses."""
from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone

import pytest

from tests.directory.conftest import EXAMPLES

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=timezone.utc)
PASSWORD = "correct horse battery staple"
USERS = {
    "centre": [("*", "admin")],
    "nl-admin": [("nordlys", "tenant_admin")],
    "nl-super": [("nordlys", "supervisor")],
    "operator1": [("*", "operator")],
    "ase.sorli@nordlys.no": [("nordlys", "employee")],
    "bjorn.aasen@nordlys.no": [("nordlys", "employee")],
}


@pytest.fixture(scope="session")
def web_template(tmp_path_factory):
    from store.store import Store
    from store.directory_store import DirectoryStore
    from sync.importer import import_files

    path = tmp_path_factory.mktemp("webtemplate") / "web.db"
    store = Store(f"sqlite:///{path}", migrate=True)
    import_files(DirectoryStore(store.engine), "*", EXAMPLES / "persons.csv", EXAMPLES / "units.csv")
    for name, roles in USERS.items():
        store.create_user(name, PASSWORD, roles=roles)
    store.close()
    return path


class Clock:
    def __init__(self):
        self.now = NOW
        self.mono = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def web(tmp_path, web_template, clock):
    from agent_ui.app import WebConfig, WebServices, create_app
    from store.directory_store import DirectoryStore
    from store.store import Store

    path = tmp_path / "web.db"
    shutil.copy(web_template, path)
    store = Store(f"sqlite:///{path}", clock=clock)
    services = WebServices(directory=DirectoryStore(store.engine, clock=clock), users=store, clock=clock,
                           monotonic=lambda: clock.mono)
    config = WebConfig(secret_key="test-secret", public_networks=("10.20.0.0/16", "127.0.0.0/8"),
                       search_limit="5 per 5 seconds")
    app = create_app(config, services)
    app.testing = True
    yield app
    store.close()


def client_from(app, address="10.20.1.5"):
    client = app.test_client()
    # over HTTPS Flask-WTF wants a same-origin Referer on every POST, as browsers send it
    client.environ_base.update({"REMOTE_ADDR": address, "wsgi.url_scheme": "https",
                                "HTTP_REFERER": "https://localhost/"})
    return client


@pytest.fixture
def client(web):
    return client_from(web)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has a CSRF token"
    return match.group(1)


def login(client, username, password=PASSWORD):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return resp


def logged_in(app, username, address="10.20.1.5"):
    c = client_from(app, address)
    assert login(c, username).status_code == 302
    return c


def token(client) -> str:
    return csrf_of(client.get("/directory/absence/").get_data(as_text=True))

"""`sentral run`'s composition over a real configuration file in a test's directory: the
demo's deployment copied to tmp_path, loaded by the SIGHUP Reloader as `sentral run` does,
an EngineProcess against the simulator on SQLite, and the web app of sentral.web.run_apps
given the file and the reload (sentral.process._reload). For tests/api/test_api_agents.py
and tests/web/test_admin_agents.py."""
from __future__ import annotations

import pathlib
import shutil
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "dialplan" / "examples"
SIM_PASSWORD = "sim-secret"


@dataclass
class Stack:
    config: pathlib.Path
    proc: object
    store: object
    app: object

    @property
    def override_dir(self) -> pathlib.Path:
        return self.config.parent / "site.d"

    def files(self) -> list[str]:
        return sorted(str(p.relative_to(self.config.parent)) for p in self.config.parent.rglob("*")
                      if "var" not in p.parts and not p.name.endswith((".db", ".lock")))


@pytest.fixture
def stack(tmp_path, monkeypatch):
    from dialplan.loader import apply_overrides, load
    from dialplan.reload import Reloader
    from esl.sim.server import Simulator
    from sentral import web
    from sentral.app import EngineProcess
    from sentral.process import _reload, open_store

    shutil.copy(EXAMPLES / "demo.yaml", tmp_path / "site.yaml")
    shutil.copytree(EXAMPLES / "demo-tenants", tmp_path / "demo-tenants")
    config = tmp_path / "site.yaml"
    sim = Simulator(password=SIM_PASSWORD, time_factor=0.02, heartbeat_interval=1.0)
    sim.start()
    monkeypatch.setenv("SENTRAL_FREESWITCH_PASSWORD", SIM_PASSWORD)
    monkeypatch.setenv("SENTRAL_FREESWITCH_PORT", str(sim.port))
    db = f"sqlite:///{tmp_path / 'sentral.db'}"
    reloader = Reloader(lambda: apply_overrides(load(str(config)), database_url=db))
    store = open_store(db)
    proc = EngineProcess(reloader.current, store).start(ready_timeout=10)
    try:
        apps = {name: app for name, _, app in web.run_apps(
            store, proc, reloader.current, web.WebOptions(web=("127.0.0.1", 0), secure_cookies=False),
            config_path=str(config), reload=lambda: _reload(reloader, proc))}
        app = apps["web"]
        app.testing = True
        yield Stack(config, proc, store, app)
    finally:
        proc.stop()
        store.close()
        sim.stop()

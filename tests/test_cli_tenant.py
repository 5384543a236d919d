"""`sentral tenant onboard`: a new agency in one command. The tenant file is checked with
the whole deployment (collisions name both places), the directory files with the import's
checks; then directory, tenant row, audit and the tenant file go in together or not at
all. --dry-run changes nothing (files and database compared before and after)."""
from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import sqlite3
import subprocess
import sys

import pytest

from dialplan.loader import load

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "dialplan" / "examples"
ENV = {"SENTRAL_FREESWITCH_PASSWORD": "x"}

TENANT = """\
# Havbris havn: a harbour authority
id: havbris
name: Havbris havn
numbers:
  - "+4721000900"
direct_dial:
  numbers:
    - {pattern: '^(\\+47)?(219009\\d\\d)$', trunk: fjordvik-pbx, dial: "$2"}
hours:
  mon-fri: "07:00-16:00"
holidays: norway
queues:
  - id: havbris-switchboard
    name: Sentralbord
"""
UNITS = "id;name;phone\nhb;Havbris havn;21 00 09 00\nhb-drift;Drift;\n"
PERSONS = "id;given_name;family_name;unit_id;direct_phone\nhb1;Siri;Havn;hb-drift;21 90 09 01\n"
SERVICES = "id;name;phone;unit_id;keywords\nhb-lonn;Lønn;21 00 09 50;hb;feriepenger\n"


def sentral(*args):
    env = {k: v for k, v in os.environ.items() if k not in ("SENTRAL_DATABASE_URL", "SENTRAL_CONFIG")}
    return subprocess.run([sys.executable, "-m", "sentral.cli", "tenant", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)


@pytest.fixture
def site(tmp_path):
    deploy = tmp_path / "site"
    deploy.mkdir()
    shutil.copy(EXAMPLES / "demo.yaml", deploy / "site.yaml")
    shutil.copytree(EXAMPLES / "demo-tenants", deploy / "demo-tenants")
    new = tmp_path / "new"
    new.mkdir()
    for name, text in (("havbris.yaml", TENANT), ("units.csv", UNITS), ("persons.csv", PERSONS),
                       ("services.csv", SERVICES)):
        (new / name).write_text(text, encoding="utf-8")
    db = tmp_path / "site.db"
    from store.migrate import migrate
    migrate(f"sqlite:///{db}")
    return deploy / "site.yaml", new, f"sqlite:///{db}"


def files(folder: pathlib.Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def database(url: str) -> list[str]:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def onboard(site, *extra, tenant_text=None, persons=None):
    config, new, url = site
    if tenant_text is not None:
        (new / "havbris.yaml").write_text(tenant_text, encoding="utf-8")
    if persons is not None:
        (new / "persons.csv").write_text(persons, encoding="utf-8")
    return sentral("onboard", str(new / "havbris.yaml"), str(new / "persons.csv"), str(new / "units.csv"),
                   str(new / "services.csv"), "--deployment", str(config), "--db", url, *extra)


def test_given_a_new_agency_when_onboarded_then_routing_directory_services_and_audit_are_in_place(site):
    from store.directory_store import DirectoryStore
    from store.store import Store

    config, new, url = site
    out = onboard(site)
    assert out.returncode == 0, out.stderr
    target = config.parent / "demo-tenants" / "havbris.yaml"              # the deployment's include directory
    assert target.read_text() == TENANT
    assert "SIGHUP" in out.stdout and f"copied {new / 'havbris.yaml'} to {target}" in out.stdout
    deployment = load(str(config), env=ENV)
    assert deployment.tenants["havbris"].name == "Havbris havn"
    assert deployment.entry_points["+4721000900"].queue == "havbris-switchboard"
    store = Store(url)
    try:
        directory = DirectoryStore(store.engine)
        assert ("havbris", "Havbris havn") in directory.tenants()
        assert [p.display_name for p in directory.persons("havbris")] == ["Siri Havn"]
        assert [(s.name, s.phone) for s in directory.services("havbris")] == [("Lønn", "+4721000950")]
        [entry] = store.audit_entries(target_id="havbris")
        assert entry.action == "tenant.onboard" and entry.actor.startswith("cli:") and entry.tenant == "havbris"
    finally:
        store.close()


def test_dry_run_prints_what_would_happen_and_changes_no_file_and_no_row(site, tmp_path):
    config, new, url = site
    before_files, before_db = files(tmp_path), database(url)
    out = onboard(site, "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "would copy" in out.stdout and "persons: 1 added" in out.stdout and "services: 1 added" in out.stdout
    assert "dry run: nothing was changed" in out.stdout
    assert files(tmp_path) == before_files
    assert database(url) == before_db


@pytest.mark.parametrize("change, words", [
    (("id: havbris", "id: fjordvik"), "tenant 'fjordvik' is defined twice"),
    (('"+4721000900"', '"+4721000100"'), "number '+4721000100' is defined twice"),
    (("id: havbris-switchboard", "id: fjordvik-switchboard"), "queue 'fjordvik-switchboard' is defined twice"),
    (("219009", "222416"), "222416"),
    (('"+4721000900"', '"1000"'), "extension 1000 is also a main number"),
])
def test_a_collision_with_another_tenant_is_refused_naming_both_places_and_nothing_changes(site, tmp_path,
                                                                                              change, words):
    config, new, url = site
    before_db = database(url)
    text = TENANT.replace(*change)
    assert text != TENANT
    (new / "havbris.yaml").write_text(text, encoding="utf-8")
    before_files = files(tmp_path)
    out = onboard(site)
    assert out.returncode == 1, out.stdout
    assert words in out.stderr, out.stderr
    assert str(new / "havbris.yaml") + ":" in out.stderr                  # the new file's place
    assert ("demo-tenants/" in out.stderr or "site.yaml:" in out.stderr), out.stderr   # and the other one
    assert files(tmp_path) == before_files and database(url) == before_db


def test_invalid_directory_files_leave_no_tenant_file_and_no_rows(site, tmp_path):
    config, new, url = site
    before_db = database(url)
    out = onboard(site, persons=PERSONS + "hb1;Dup;Licate;nounit;\n")
    assert out.returncode == 1
    assert "persons.csv:3: duplicate person id 'hb1'" in out.stderr
    assert not (config.parent / "demo-tenants" / "havbris.yaml").exists()
    assert database(url) == before_db


def test_without_an_include_directory_the_tenant_goes_to_the_override_directory(site, tmp_path):
    from store.directory_store import DirectoryStore
    from store.store import Store

    config, new, url = site
    text = config.read_text().replace("include:\n  - demo-tenants/          # one file per agency\n",
                                      "include:\n  - demo-tenants/*.yaml\n")
    config.write_text(text)
    out = onboard(site)
    assert out.returncode == 0, out.stderr
    assert (config.parent / "site.d" / "tenants" / "havbris.yaml").read_text() == TENANT
    assert (config.parent / "site.d" / "tenant-havbris.yaml").is_file()
    assert "havbris" in load(str(config), env=ENV).tenants
    again = onboard(site)
    assert again.returncode == 1 and "tenant 'havbris' is defined twice" in again.stderr
    store = Store(url)
    try:
        assert len(DirectoryStore(store.engine).persons("havbris")) == 1
    finally:
        store.close()

"""An import or sync round that would mark more than the allowed share of a tenant's
persons gone is refused, nothing written (issue 8, item 7); on SQLite and PostgreSQL."""
from __future__ import annotations

import pathlib
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from engine.directory.model import MassRemovalRefused, Person
from sync.importer import import_files
from sync.ldap_batch import DirectoryBatch, apply_batch
from tests.directory.test_import import write

ROOT = pathlib.Path(__file__).resolve().parents[2]
UNITS = "id;name\nlonn;Lønn\n"
HEADER = "id;given_name;family_name;unit_id\n"
TEN = HEADER + "".join(f"p{i};Kari{i};Nordmann;lonn\n" for i in range(10))


def import_text(store, tmp_path, persons, **kw):
    return import_files(store, "nav", write(tmp_path, "persons.csv", persons), write(tmp_path, "units.csv", UNITS), **kw)


def active(store, tenant="nav"):
    return sorted(p.external_id for p in store.persons(tenant, include_gone=False))


def test_given_a_persons_file_with_only_a_header_when_imported_then_refused_and_nobody_gone(store, tmp_path):
    import_text(store, tmp_path, TEN)
    with pytest.raises(MassRemovalRefused) as refused:
        import_text(store, tmp_path, HEADER)
    assert "10 of 10 persons" in str(refused.value) and refused.value.error_id == "directory.mass_removal_refused"
    assert len(active(store)) == 10


def test_given_removal_within_the_share_then_it_is_applied(store, tmp_path):
    import_text(store, tmp_path, TEN)
    [report] = import_text(store, tmp_path, HEADER + "".join(f"p{i};Kari{i};Nordmann;lonn\n" for i in range(8)))
    assert report.persons.removed == ("p8", "p9")            # 2 of 10 = 20 %: not more than allowed
    assert len(active(store)) == 8


def test_given_more_than_the_share_then_refused_unless_allowed(store, tmp_path):
    import_text(store, tmp_path, TEN)
    seven = HEADER + "".join(f"p{i};Kari{i};Nordmann;lonn\n" for i in range(7))
    with pytest.raises(MassRemovalRefused):
        import_text(store, tmp_path, seven)
    assert len(active(store)) == 10
    import_text(store, tmp_path, seven, max_removal_share=0.5)   # a configured share
    assert len(active(store)) == 7
    import_text(store, tmp_path, HEADER, max_removal_share=None)  # --allow-mass-removal
    assert active(store) == []


def a_person(i):
    return Person("hdir", f"uuid-{i}", f"Ola{i}", "Hansen", source="ldap:hdir")


def test_given_an_ldap_source_that_suddenly_returns_nothing_then_the_round_is_refused(store):
    apply_batch(store, "hdir", DirectoryBatch("ldap:hdir", full=True, upserts=[a_person(i) for i in range(5)]))
    empty = DirectoryBatch("ldap:hdir", full=True, removed=[f"uuid-{i}" for i in range(5)])
    with pytest.raises(MassRemovalRefused):
        apply_batch(store, "hdir", empty)
    assert len(active(store, "hdir")) == 5
    one = DirectoryBatch("ldap:hdir", full=True, removed=["uuid-0"])
    apply_batch(store, "hdir", one)                                # 1 of 5 = 20 %: a normal leaver
    assert len(active(store, "hdir")) == 4
    apply_batch(store, "hdir", DirectoryBatch("ldap:hdir", full=True, removed=[f"uuid-{i}" for i in range(1, 5)]),
                max_removal_share=None)
    assert active(store, "hdir") == []


def test_given_a_sync_job_then_a_refused_round_is_an_error_and_its_state_is_not_kept(store, monkeypatch):
    from sync import sources
    from sync.scheduler import Scheduler

    rounds = iter([DirectoryBatch("ldap:hdir", True, upserts=[a_person(i) for i in range(5)], state={"keys": ["k"]}),
                   DirectoryBatch("ldap:hdir", True, removed=[f"uuid-{i}" for i in range(5)], state={"keys": []})])
    seen_states = []

    class FakeLdap:
        def sync(self, state, now):
            seen_states.append(state)
            return next(rounds)

    monkeypatch.setattr(sources, "build_source", lambda spec: FakeLdap())
    spec = sources.SourceSpec("hdir", "ldap:hdir", "openldap", 300, {"kind": "openldap"})
    scheduler = Scheduler([sources.build_job(spec, store)])
    job = scheduler.jobs[0]
    scheduler.run_once(job)
    status = scheduler.run_once(job)
    assert status.last_error.startswith("MassRemovalRefused: tenant hdir: ldap:hdir would mark 5 of 5")
    assert len(active(store, "hdir")) == 5
    assert seen_states[-1] == {"keys": ["k"]}


def test_given_a_bad_share_in_the_sources_file_then_a_config_error():
    from sync import sources

    spec = sources.SourceSpec("hdir", "ldap:hdir", "openldap", 300, {"max_removal_share": 20})
    with pytest.raises(sources.SourceConfigError, match="between 0 and 1"):
        sources.removal_share(spec)
    assert sources.removal_share(sources.SourceSpec("t", "n", "ad", 1, {"allow_mass_removal": True})) is None


def test_cli_refuses_a_header_only_import_and_allows_it_with_the_flag(tmp_path):
    url = f"sqlite:///{tmp_path}/cli.db"
    persons, units = write(tmp_path, "p.csv", TEN), write(tmp_path, "u.csv", UNITS)
    empty = write(tmp_path, "empty.csv", HEADER)

    def sentral(*args):
        return subprocess.run([sys.executable, "-m", "sentral.cli", "directory", "import", *args, "--tenant", "nav",
                               "--db", url], capture_output=True, text=True, timeout=120, cwd=ROOT)

    assert sentral(str(persons), str(units)).returncode == 0
    out = sentral(str(empty), str(units))
    assert out.returncode == 1 and "import refused" in out.stderr and "--allow-mass-removal" in out.stderr
    assert "Traceback" not in out.stderr
    out = sentral(str(empty), str(units), "--allow-mass-removal")
    assert out.returncode == 0 and "10 marked gone" in out.stdout, out.stderr

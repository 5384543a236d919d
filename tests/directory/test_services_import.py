"""Services ("tjeneste- og nummerinformasjon"), the optional third import file: validated
like the others, applied in the same transaction, guarded against mass removal, and
found by the operator's directory search with their number (SQLite and PostgreSQL)."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from engine.directory.model import MassRemovalRefused
from sync.formats import ImportFileError
from sync.importer import example_services, import_files
from tests.directory.conftest import EXAMPLES
from tests.directory.test_import import write

ROOT = pathlib.Path(__file__).resolve().parents[2]
UNITS = "id;name\nlonn;Lønn og personal\nit;IT\n"
PERSONS = "id;given_name;family_name;unit_id\np1;Kari;Nordmann;lonn\n"
SERVICES_HEADER = "id;name;phone;unit_id;email;keywords;opening_hours;description\n"
FIVE = SERVICES_HEADER + "".join(f"s{i};Tjeneste {i};21 00 00 1{i};it;;;;\n" for i in range(5))


def import_with(store, tmp_path, services, **kw):
    return import_files(store, "nav", write(tmp_path, "persons.csv", PERSONS), write(tmp_path, "units.csv", UNITS),
                        services_path=write(tmp_path, "services.csv", services), **kw)


def test_given_a_services_file_when_imported_then_services_are_stored_with_e164_numbers(store, tmp_path):
    reports = import_with(store, tmp_path, SERVICES_HEADER
                          + "lonn;Lønn;21 00 02 50;lonn;lonn@nav.no;lønnsslipp|feriepenger;Man-fre 09-14;Lønn og trekk\n")
    assert reports[0].services.added == ("lonn",)
    assert "  services: 1 added, 0 changed, 0 removed, 0 unchanged" in reports[0].lines()
    [service] = store.services("nav")
    assert (service.name, service.phone, service.unit_id, service.keywords, service.opening_hours) == (
        "Lønn", "+4721000250", "lonn", ("lønnsslipp", "feriepenger"), "Man-fre 09-14")
    again = import_with(store, tmp_path, SERVICES_HEADER
                        + "lonn;Lønn;21 00 02 50;lonn;lonn@nav.no;lønnsslipp|feriepenger;Man-fre 09-14;Lønn og trekk\n")
    assert again[0].is_empty


def test_bad_service_rows_are_all_reported_with_file_and_line_and_nothing_is_written(store, tmp_path):
    bad = SERVICES_HEADER + "a;A;not a number;lonn;;;;\na;Again;;;;;;\nb;B;;nounit;x y;;;\n"
    with pytest.raises(ImportFileError) as err:
        import_with(store, tmp_path, bad)
    text = str(err.value)
    assert "services.csv:2: phone:" in text and "services.csv:3: duplicate service id 'a'" in text
    assert "services.csv:4: unknown unit_id 'nounit'" in text and "services.csv:4: email 'x y'" in text
    assert store.persons("nav") == [] and store.services("nav") == []
    with pytest.raises(ImportFileError) as err:
        import_with(store, tmp_path, "id;name;color\nx;X;red\n")
    assert "unknown column(s) 'color'" in str(err.value)


def test_given_a_services_file_with_only_a_header_then_refused_and_the_services_stay(store, tmp_path):
    import_with(store, tmp_path, FIVE)
    with pytest.raises(MassRemovalRefused) as refused:
        import_with(store, tmp_path, SERVICES_HEADER)
    assert "5 of 5 services" in str(refused.value)
    assert len(store.services("nav")) == 5
    import_with(store, tmp_path, FIVE.rsplit("s4;", 1)[0])                     # one of five: within 20 %
    assert len(store.services("nav")) == 4
    import_with(store, tmp_path, SERVICES_HEADER, max_removal_share=None)       # --allow-mass-removal
    assert store.services("nav") == []


def test_without_a_services_file_the_stored_services_are_not_touched(store, tmp_path):
    import_with(store, tmp_path, FIVE)
    import_files(store, "nav", write(tmp_path, "persons.csv", PERSONS), write(tmp_path, "units.csv", UNITS))
    assert len(store.services("nav")) == 5


def test_the_shipped_example_imports_for_every_agency_and_search_finds_services(store):
    reports = import_files(store, "*", EXAMPLES / "persons.csv", EXAMPLES / "units.csv", services_path=example_services())
    assert {r.tenant: len(r.services.added) for r in reports} == {"fjordvik": 2, "nordlys": 3, "vestland": 2}
    hits = store.search("lønn", tenant="nordlys")
    service = next(h for h in hits if h.kind == "service")
    assert service.name == "Lønn" and service.service.phone == "+4721000250"
    hits = store.search("passord", tenant="nordlys")                            # by keyword
    assert any(h.kind == "service" and h.name == "Servicedesk" for h in hits)


def test_cli_import_takes_the_services_file_as_optional_third_argument(tmp_path):
    url = f"sqlite:///{tmp_path}/cli.db"
    out = subprocess.run([sys.executable, "-m", "sentral.cli", "directory", "import", str(EXAMPLES / "persons.csv"),
                          str(EXAMPLES / "units.csv"), str(example_services()), "--tenant", "*", "--db", url],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "services: 3 added" in out.stdout
    found = subprocess.run([sys.executable, "-m", "sentral.cli", "directory", "search", "servicedesk", "--tenant",
                            "vestland", "--db", url], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "Servicedesk" in found.stdout and "+4755301060" in found.stdout

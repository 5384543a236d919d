"""Directory import (R17): formats, all-or-nothing, line-numbered errors, dry run, idempotence."""
import json

import pytest

from engine.directory.model import PersonKey
from sync.formats import ImportFileError
from sync.importer import import_files
from tests.directory.conftest import EXAMPLES

UNITS = "id;name;parent_id\nroot;NAV;\nlonn;Lønn;root\narkiv;Arkiv;lonn\n"
PERSONS = ("id;given_name;family_name;title;unit_id;direct_phone;keywords;substitute_id\n"
           "p1;Kari;Nordmann;Rådgiver;lonn;22 33 44 55;lønn|pensjon;p2\n"
           "p2;Ola;Hansen;Arkivar;arkiv;+47 22 33 44 56;;\n")


def write(tmp_path, name, text, encoding="utf-8", bom=False):
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def run(store, tmp_path, persons=PERSONS, units=UNITS, **kw):
    return import_files(store, "fjordvik", write(tmp_path, "persons.csv", persons), write(tmp_path, "units.csv", units), **kw)


def problems(exc_info):
    return [str(p) for p in exc_info.value.problems]


def counts(store):
    return len(store.persons("fjordvik")), len(store.units("fjordvik"))


def test_given_two_files_when_imported_then_directory_with_hierarchy_and_e164(store, tmp_path):
    [report] = run(store, tmp_path)
    assert (len(report.persons.added), len(report.units.added)) == (2, 3)
    units = {u.external_id: u.parent_id for u in store.units("fjordvik")}
    assert units == {"root": None, "lonn": "root", "arkiv": "lonn"}
    kari = store.get_person(PersonKey("fjordvik", "p1"))
    assert (kari.direct_phone, kari.keywords, kari.substitute_id) == ("+4722334455", ("lønn", "pensjon"), "p2")


def test_given_same_files_twice_then_second_import_changes_nothing(store, tmp_path):
    run(store, tmp_path)
    [again] = run(store, tmp_path)
    assert again.is_empty and again.persons.unchanged == 2 and again.units.unchanged == 3
    assert "no changes" in again.lines()[0]


def test_given_dry_run_then_report_says_what_would_change_and_nothing_is_written(store, tmp_path):
    [report] = run(store, tmp_path, dry_run=True)
    assert len(report.persons.added) == 2 and "would be" in report.lines()[0]
    assert any("p1 Kari Nordmann" in line for line in report.lines())
    assert counts(store) == (0, 0)


def test_given_person_left_file_then_marked_gone_not_deleted(store, tmp_path):
    run(store, tmp_path)
    # one of two persons leaving is half the agency: above the mass-removal guard (test_mass_removal.py)
    [report] = run(store, tmp_path, persons=PERSONS.replace("p1;Kari", "p3;Kari").replace(";p2\n", ";\n"),
                   max_removal_share=None)
    assert report.persons.removed == ("p1",) and report.persons.added == ("p3",)
    assert store.get_person(PersonKey("fjordvik", "p1")).gone_since is not None


def test_given_local_attributes_then_reimport_keeps_them(store, tmp_path):
    run(store, tmp_path)
    store.update_local(PersonKey("fjordvik", "p1"), operator_notes="Foretrekker e-post", local_keywords=["budsjett"])
    run(store, tmp_path, persons=PERSONS.replace("Rådgiver", "Seniorrådgiver"))
    kari = store.get_person(PersonKey("fjordvik", "p1"))
    assert (kari.title, kari.operator_notes, kari.local_keywords) == ("Seniorrådgiver", "Foretrekker e-post", ("budsjett",))
    assert [h.name for h in store.search("budsjett")] == ["Kari Nordmann"]


def test_given_comma_delimiter_and_bom_then_accepted(store, tmp_path):
    [report] = run(store, tmp_path, persons=PERSONS.replace(";", ","), units=UNITS.replace(";", ","))
    assert len(report.persons.added) == 2
    path_p = write(tmp_path, "p_bom.csv", PERSONS, bom=True)
    path_u = write(tmp_path, "u_bom.csv", UNITS, bom=True)
    [again] = import_files(store, "fjordvik", path_p, path_u)
    assert again.is_empty


def test_given_json_files_then_same_directory(store, tmp_path):
    units = [{"id": "root", "name": "NAV"}, {"id": "lonn", "name": "Lønn", "parent_id": "root"},
             {"id": "arkiv", "name": "Arkiv", "parent_id": "lonn"}]
    persons = [{"id": "p1", "given_name": "Kari", "family_name": "Nordmann", "title": "Rådgiver", "unit_id": "lonn",
                "direct_phone": "22 33 44 55", "keywords": ["lønn", "pensjon"], "substitute_id": "p2"},
               {"id": "p2", "given_name": "Ola", "family_name": "Hansen", "title": "Arkivar", "unit_id": "arkiv",
                "direct_phone": "+47 22 33 44 56"}]
    import_files(store, "fjordvik", write(tmp_path, "p.json", json.dumps(persons, indent=1)),
                 write(tmp_path, "u.json", json.dumps({"units": units}, indent=1)))
    [csv_report] = run(store, tmp_path)
    assert csv_report.is_empty  # the CSV form of the same data changes nothing


def test_given_json_with_bad_record_then_its_line_is_named(store, tmp_path):
    text = '[\n {"id": "root", "name": "NAV"},\n {"id": "x", "name": {"nested": 1}}\n]\n'
    with pytest.raises(ImportFileError) as exc:
        import_files(store, "fjordvik", write(tmp_path, "p.csv", "id;given_name;family_name\n"), write(tmp_path, "u.json", text))
    assert problems(exc) == [f"{tmp_path}/u.json:3: field 'name': expected a string, got dict"]


@pytest.mark.parametrize("units,persons,expected", [
    (UNITS + "lonn;Lønn igjen;root\n", PERSONS, "units.csv:5: duplicate unit id 'lonn' (first on line 3)"),
    (UNITS, PERSONS + "p1;Kari;Igjen;;;;;\n", "persons.csv:4: duplicate person id 'p1' (first on line 2)"),
    (UNITS + "x;X;nowhere\n", PERSONS, "units.csv:5: unit 'x': unknown parent_id 'nowhere'"),
    (UNITS.replace("root;NAV;", "root;NAV;arkiv"), PERSONS,
     "units.csv:2: cycle in the unit hierarchy: root -> arkiv -> lonn -> root"),
    (UNITS, PERSONS.replace("title", "tittel"), "persons.csv:1: unknown column(s) 'tittel'"),
    (UNITS, PERSONS.replace("id;given_name", "id;fornavn"), "persons.csv:1: unknown column(s) 'fornavn'"),
    (UNITS, PERSONS.replace("p2;Ola;Hansen;Arkivar;arkiv", "p2;Ola;Hansen;Arkivar;nosuch"),
     "persons.csv:3: unknown unit_id 'nosuch' (not in the units file)"),
    (UNITS, PERSONS.replace("22 33 44 55", "22 33 FOO"), "persons.csv:2: direct_phone: not a phone number"),
    (UNITS, PERSONS.replace(";p2\n", ";p9\n"), "persons.csv:2: unknown substitute_id 'p9'"),
    (UNITS, PERSONS + "p4;Bare;To\n", "persons.csv:4: 3 fields, the header has 8"),
    (UNITS, PERSONS.replace("Kari", "Ka\x07ri"), "persons.csv:2: given_name: control character not allowed"),
])
def test_given_bad_files_then_line_numbered_error_and_nothing_written(store, tmp_path, units, persons, expected):
    run(store, tmp_path)
    before = (store.persons("fjordvik"), store.units("fjordvik"))
    with pytest.raises(ImportFileError) as exc:
        run(store, tmp_path, persons=persons, units=units)
    assert exc.value.error_id == "directory.import_invalid"
    assert any(p.startswith(f"{tmp_path}/{expected}") for p in problems(exc)), problems(exc)
    assert (store.persons("fjordvik"), store.units("fjordvik")) == before


def test_given_latin1_file_then_encoding_error_names_line(store, tmp_path):
    path = write(tmp_path, "units.csv", UNITS, encoding="latin-1")
    with pytest.raises(ImportFileError) as exc:
        import_files(store, "fjordvik", write(tmp_path, "persons.csv", PERSONS), path)
    assert problems(exc) == [f"{path}:3: not UTF-8 (byte 0xF8 at column 7); save the file as UTF-8"]
    assert counts(store) == (0, 0)


def test_given_failure_while_writing_then_transaction_rolls_back_everything(store, tmp_path, monkeypatch):
    from store import directory_writer

    def boom(self, *a, **kw):
        raise RuntimeError("disk full")
    monkeypatch.setattr(directory_writer.DirectoryWriter, "delete_missing", boom)
    with pytest.raises(RuntimeError):
        run(store, tmp_path)
    assert counts(store) == (0, 0)


def test_given_sample_files_for_all_tenants_then_three_agencies(store):
    reports = import_files(store, "*", EXAMPLES / "persons.csv", EXAMPLES / "units.csv")
    assert [r.tenant for r in reports] == ["fjordvik", "nordlys", "vestland"]
    assert [t for t, _ in store.tenants()] == ["fjordvik", "nordlys", "vestland"]
    assert all(len(r.persons.added) >= 6 for r in reports)


def test_given_cli_import_and_search_then_exit_codes_and_output(db_url, tmp_path, capsys):
    from sentral.cli import main

    assert main(["directory", "import", str(EXAMPLES / "persons.csv"), str(EXAMPLES / "units.csv"),
                 "--tenant", "*", "--db", db_url, "--dry-run"]) == 0
    assert "would be" in capsys.readouterr().out
    assert main(["directory", "search", "Kari Nordmann", "--db", db_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["directory", "import", str(EXAMPLES / "persons.csv"), str(EXAMPLES / "units.csv"),
                 "--tenant", "*", "--db", db_url]) == 0
    capsys.readouterr()
    assert main(["directory", "search", "Kari Nordmann", "--db", db_url, "--json"]) == 0
    [first, *_] = json.loads(capsys.readouterr().out)
    assert (first["name"], first["rank"], first["presence"]["state"]) == ("Kari Nordmann", "exact", "free")
    bad = write(tmp_path, "bad.csv", "id;name;parent_id\na;A;b\n")
    assert main(["directory", "import", str(EXAMPLES / "persons.csv"), str(bad), "--tenant", "fjordvik", "--db", db_url]) == 1
    assert f"{bad}:2: unit 'a': unknown parent_id 'b'" in capsys.readouterr().err


def test_given_gone_persons_when_purged_after_retention_then_only_old_ones_deleted(store, tmp_path):
    from datetime import timedelta

    from tests.directory.conftest import NOW

    run(store, tmp_path)
    store.delete_missing("fjordvik", "import", keep_ids=["p2"], now=NOW - timedelta(days=100))
    assert store.purge_gone(NOW - timedelta(days=90)) == 1
    assert store.get_person(PersonKey("fjordvik", "p1")) is None
    assert store.get_person(PersonKey("fjordvik", "p2")) is not None

"""What operators type (issue 8, item 18): initials of three names, a double first name
typed as one word, two neighbouring letters swapped, a full e-mail address, and a title
or unit word typed without its Norwegian letters each find the person in the top three.
On SQLite and PostgreSQL (the `store` fixture runs every test on both)."""
from __future__ import annotations

import pytest

from engine.directory.model import OrgUnit, Person
from tests.directory.conftest import NOW

UNITS = [OrgUnit("nav", "root", "NAV"), OrgUnit("nav", "lonn", "Lønn", "root"),
         OrgUnit("nav", "arkiv", "Arkiv og dokumentasjon", "root"), OrgUnit("nav", "hr", "Økonomi", "root")]


def person(pid, given, family, title="", unit="arkiv", email=""):
    return Person("nav", pid, given, family, title, unit, email=email)


CROWD = [
    person("p1", "Anne Karin", "Bøe", "Rådgiver", "lonn", "anne.karin.boe@nav.no"),
    person("p2", "Anne", "Bakke", "Arkivar"),
    person("p3", "Karin", "Berg", "Konsulent"),
    person("p4", "Marie-Louise", "Hansen", "Seniorrådgiver", "hr"),
    person("p5", "Marie Louise", "Dahl", "Førstekonsulent"),
    person("p6", "Marie", "Lund", "Arkivar"),
    person("p7", "Louise", "Marstrand", "Jurist"),
    person("p8", "Ola", "Hansen", "Arkivar", email="ola.hansen@nav.no"),
    person("p9", "Hans", "Olsen", "Konsulent", email="hans.olsen@nav.no"),
    person("p10", "Hanne", "Sande", "Arkivar"),
    person("p11", "Kari", "Nordmann", "Direktør", "hr", "kari.nordmann@nav.no"),
    person("p12", "Kari", "Nordmann", "Konsulent", email="kari.nordmann2@nav.no"),
    person("p13", "Per", "Strøm", "Lønnskonsulent", "hr"),
    person("p14", "Lone", "Nilsen", "Arkivar"),
    person("p15", "Jon", "Lonn", "Vaktmester"),
] + [person(f"x{i}", given, family, "Saksbehandler") for i, (given, family) in enumerate(
    [("Kristin", "Hansen"), ("Knut", "Hansen"), ("Anders", "Hanssen"), ("Hans", "Hansen"), ("Nils", "Hansson"),
     ("Anette", "Kvam"), ("Arne", "Kvalheim"), ("Anne", "Bøe"), ("Karl", "Berge"), ("Marit", "Louis")])]


@pytest.fixture
def crowd(store):
    with store.batch() as w:
        w.ensure_tenant("nav", "NAV")
        w.upsert_units("nav", UNITS, "import")
        w.upsert_persons("nav", CROWD, "import")
    return store


def top3(store, query):
    return [h.external_id for h in store.search(query, now=NOW)[:3]]


def test_given_initials_of_three_names_then_found(crowd):
    assert "p1" in top3(crowd, "AKB")


@pytest.mark.parametrize("typed, expected", [("marielouise", "p4"), ("marielouise", "p5"),
                                             ("marielouise hansen", "p4"), ("MarieLouise Dahl", "p5")])
def test_given_a_double_first_name_typed_as_one_word_then_found(crowd, typed, expected):
    assert expected in top3(crowd, typed)


def test_given_hnasen_then_the_top_three_are_hansens(crowd):
    hits = crowd.search("hnasen", now=NOW)[:3]
    assert [h.person.family_name for h in hits] == ["Hansen"] * 3     # five Hansens: any of them


@pytest.mark.parametrize("typed, expected", [("ola hnasen", "p8"), ("nrodmann", "p11"),
                                             ("kari nordamnn", "p11")])
def test_given_two_neighbouring_letters_swapped_then_found(crowd, typed, expected):
    assert expected in top3(crowd, typed)


def test_given_a_swapped_pair_then_the_closest_name_comes_first(crowd):
    hits = crowd.search("ola hnasen", now=NOW)
    assert hits[0].external_id == "p8"


@pytest.mark.parametrize("typed, expected", [("kari.nordmann@nav.no", "p11"), ("Kari.Nordmann2@NAV.no", "p12"),
                                             ("anne.karin.boe@nav.no", "p1"), ("ola.hansen@nav.no", "p8")])
def test_given_a_full_email_address_then_its_owner_is_first(crowd, typed, expected):
    assert top3(crowd, typed)[:1] == [expected]


@pytest.mark.parametrize("typed, expected", [("lonn", "p1"), ("radgiver", "p1"), ("okonomi", "p11"),
                                             ("lonnskonsulent", "p13"), ("strom", "p13"), ("anne boe", "p1")])
def test_given_a_title_or_unit_word_without_norwegian_letters_then_found(crowd, typed, expected):
    assert expected in top3(crowd, typed) or expected in [h.external_id for h in crowd.search(typed, now=NOW)
                                                          if h.rank.name in ("EXACT", "PREFIX", "WORD")][:3]


def test_given_lonn_then_the_person_named_lonn_and_the_unit_lonn_both_come_up(crowd):
    found = [h.external_id for h in crowd.search("lonn", now=NOW)]
    assert {"p15", "p1"} <= set(found[:3])


def test_given_a_name_typed_as_spelled_then_no_fuzzy_noise_first(crowd):
    hits = crowd.search("hans hansen", now=NOW)
    assert hits[0].name == "Hans Hansen"

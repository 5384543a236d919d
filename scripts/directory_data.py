"""Seeded generator of a realistic Norwegian directory (benchmarks, load tests).

`generate(n, seed)` yields (units, persons) for 24 agencies: Norwegian given and family
names (with æ ø å, hyphenated and double names), titles, units in a 3-level hierarchy,
unique 8-digit phone numbers, keywords. The same seed always gives the same data.
"""
from __future__ import annotations

import random

from engine.directory.model import OrgUnit, Person

GIVEN = ("Kari Ola Anne Per Ingrid Lars Marit Hans Kristin Jan Hilde Bjørn Siri Nils Liv Tor Åse Knut Eva Arne "
         "Solveig Geir Randi Terje Gunn Morten Berit Rune Tone Svein Ingvild Øyvind Marianne Trond Heidi Espen "
         "Camilla Håkon Ragnhild Sindre Ida Jørgen Nora Sigurd Ingeborg Magnus Emma Henrik Sofie Jonas Thea "
         "Mathias Maja Sander Ella Emil Oda Elias Vilde Aksel Synnøve Torbjørn Åsmund Kjersti Eirik Guro Stian "
         "Tuva Jostein Ragnar Astrid Halvor Gro Øystein Bente Ståle Mette Ivar Lene Erlend Torill Audun Hege "
         "Ørjan Signe Kåre Tove Asbjørn Ellinor Ådne Turid Vegard Karoline Sølvi Frode Inger Gaute Dagny").split()
FAMILY = ("Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Johnsen Pettersen "
          "Eriksen Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl Jørgensen Halvorsen Henriksen Lund "
          "Sørensen Jakobsen Moen Gundersen Iversen Strand Solberg Svendsen Eide Knutsen Martinsen Paulsen "
          "Bakken Kristoffersen Mathisen Lie Amundsen Nguyen Rasmussen Ali Lunde Solheim Berge Moe Nygård "
          "Bakke Kristensen Fredriksen Holm Lien Hauge Christensen Andresen Nielsen Knudsen Evensen Sæther "
          "Aas Myhre Hanssen Ahmed Haugland Thomassen Sivertsen Simonsen Danielsen Berntsen Sandvik Rønning "
          "Arnesen Antonsen Næss Vik Haug Ellingsen Thorsen Edvardsen Birkeland Isaksen Gulbrandsen Ruud Aasen "
          "Strøm Myklebust Tangen Ødegård Eliassen Helland Bøe Jenssen Aune Mikkelsen Tveit Brekke Abrahamsen "
          "Madsen Sørli Ækre Økland Våge Åsheim Grønli Løvås Kvåle Fjærli Bråten Tørressen Skaar Ålgård").split()
TITLES = ("Rådgiver Seniorrådgiver Spesialrådgiver Førstekonsulent Konsulent Saksbehandler Seksjonssjef "
          "Avdelingsdirektør Direktør Fagdirektør Jurist Seniorjurist Arkivar Controller Økonom Utvikler "
          "Arkitekt Veileder Teamleder Prosjektleder Kommunikasjonsrådgiver HR-rådgiver Lønnskonsulent "
          "Innkjøper Sekretær Førstesekretær Analytiker Statistiker Overingeniør Ingeniør").split()
UNIT_WORDS = ("Lønn Personal Økonomi Arkiv Juridisk Kommunikasjon IT Drift Utvikling Analyse Innkjøp Regnskap "
              "Veiledning Innkreving Kontroll Tilsyn Beredskap Statistikk Dokumentasjon Sikkerhet Eiendom "
              "Forvaltning Tilskudd Klage Registrering Pensjon Ytelser Helse Miljø Plan").split()
KEYWORDS = ("lønn pensjon reiseregning faktura arkiv postmottak budsjett tilskudd klage innsyn personvern "
            "anskaffelse kontrakt beredskap statistikk regnskap skattekort dagpenger sykepenger "
            "foreldrepenger tilsyn høring forskrift").split()
AGENCIES = [f"etat{i:02d}" for i in range(1, 25)]
PLACES = ("Oslo Bergen Trondheim Stavanger Tromsø Kristiansand Drammen Bodø Hamar Lillehammer Molde Ålesund").split()


def units_for(tenant: str, rng: random.Random, n: int = 30) -> list[OrgUnit]:
    root = OrgUnit(tenant, f"{tenant}-root", tenant.capitalize())
    out = [root]
    for i in range(1, n):
        parent = root.external_id if i < 6 else out[rng.randrange(1, min(len(out), 6))].external_id
        out.append(OrgUnit(tenant, f"{tenant}-u{i}", f"{rng.choice(UNIT_WORDS)} {i}", parent))
    return out


def generate(n: int, seed: int = 4, agencies: list[str] | None = None):
    """(units, persons): n persons spread over the agencies, deterministic for a seed."""
    rng = random.Random(seed)
    agencies = agencies or AGENCIES
    units = {t: units_for(t, rng) for t in agencies}
    phones = rng.sample(range(20_000_000, 99_999_999), n)
    persons = []
    for i in range(n):
        tenant = agencies[i % len(agencies)]
        given = rng.choice(GIVEN)
        if rng.random() < 0.15:
            given += ("-" if rng.random() < 0.5 else " ") + rng.choice(GIVEN)
        family = rng.choice(FAMILY)
        if rng.random() < 0.1:
            family = rng.choice(FAMILY) + "-" + family
        unit = rng.choice(units[tenant]).external_id
        persons.append(Person(
            tenant, f"{tenant}-p{i}", given, family, title=rng.choice(TITLES), unit_id=unit,
            direct_phone=f"+47{phones[i]}", email=f"p{i}@{tenant}.no", location=rng.choice(PLACES),
            keywords=tuple(rng.sample(KEYWORDS, rng.randrange(0, 3))),
        ))
    return units, persons


class Typo(str):
    """A query with one letter missing (a str, tagged for the benchmark's breakdown)."""


def query_kind(q: str) -> str:
    if isinstance(q, Typo):
        return "typo"
    if q[-1].isdigit():
        return "phone"
    return "1-3 chars" if len(q) <= 3 else "4+ chars, as spelled"


def typed_queries(persons: list[Person], count: int, seed: int = 7) -> list[str]:
    """What operators type while searching: prefixes of real names, given + family
    prefix, family name first, a typo, a phone number tail (see `query_kind`)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        p = rng.choice(persons)
        kind = rng.random()
        if kind < 0.3:
            out.append(p.given_name[: rng.randrange(2, len(p.given_name) + 1)])
        elif kind < 0.6:
            out.append(f"{p.given_name} {p.family_name[: rng.randrange(1, len(p.family_name) + 1)]}")
        elif kind < 0.75:
            out.append(p.family_name[: rng.randrange(3, len(p.family_name) + 1)])
        elif kind < 0.9:
            name = f"{p.given_name} {p.family_name}"
            i = rng.randrange(1, len(name) - 1)
            out.append(Typo(name[:i] + name[i + 1:]))  # one letter missing
        else:
            out.append(p.direct_phone[-rng.randrange(4, 9):])
    return out

"""The operator finds a service by name or keyword in the console's directory pane, with
the number to transfer to (through the app `sentral run` serves)."""
from __future__ import annotations

from engine.directory.model import Service
from tests.console.conftest import login, pure  # noqa: F401  (the console's fixture)


def test_given_imported_services_when_the_operator_searches_then_hits_carry_the_number(pure):  # noqa: F811
    app, socketio, engine, inbox, store = pure
    directory = app.extensions["sentral"][1].directory
    directory.upsert_services("helsedir", [
        Service("helsedir", "lonn", "Lønn", phone="+4721000250", keywords=("feriepenger", "skattekort"),
                opening_hours="Man-fre 09:00-14:00", description="Lønn og trekk"),
        Service("helsedir", "sd", "Servicedesk", phone="+4721000260", keywords=("passord",)),
    ], source="import")
    directory.upsert_services("other", [Service("other", "lonn", "Lønn", phone="+4755000000")], source="import")
    client = app.test_client()
    login(client, "kari")
    for query, name, raw, display in (("Lønn", "Lønn", "+4721000250", "21 00 02 50"),
                                      ("lonn", "Lønn", "+4721000250", "21 00 02 50"),
                                      ("feriepenger", "Lønn", "+4721000250", "21 00 02 50"),
                                      ("Servicedesk", "Servicedesk", "+4721000260", "21 00 02 60"),
                                      ("passord", "Servicedesk", "+4721000260", "21 00 02 60")):
        hits = client.get("/console/api/directory", query_string={"q": query}).get_json()["hits"]
        services = [h for h in hits if h["kind"] == "service"]
        assert [(h["name"], h["tenant"]) for h in services] == [(name, "helsedir")], (query, hits)
        assert services[0]["direct"] == {"raw": raw, "display": display}
    lonn = next(h for h in client.get("/console/api/directory?q=lønn").get_json()["hits"] if h["kind"] == "service")
    assert lonn["opening_hours"] == "Man-fre 09:00-14:00" and lonn["title"] == "Lønn og trekk"

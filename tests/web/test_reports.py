"""Issue 12: the report pages in the app `sentral run` serves (sentral.web.run_apps) over a
stored journal: an agency's supervisor sees her agency's figures and nothing of another
agency's; the centre sees all and the agent report; the shape of the day and the waiting
times are drawn; CSV, XLSX and PDF carry the same numbers; bad periods are refused on the
page; the page speaks Norwegian by default and English on request."""
from __future__ import annotations

import csv
import io
import shutil
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from dialplan.loader import load
from engine.effects import Journal
from sentral import web
from tests.dialplan.files import DEMO, DEMO_ENV
from tests.web.conftest import client_from, logged_in

T = datetime(2026, 3, 10, 7, 5, tzinfo=timezone.utc)            # 08:05 in Oslo, the clock's day
PERIOD = "?kind=agency&from=2026-03-10&to=2026-03-10T10:00&interval=1h"


class Proc:
    def __init__(self, deployment):
        self.deployment, self.engine = deployment, None


def a_call(n: int, tenant: str, queue: str, at: datetime, waited: float, answered: bool = True) -> list[Journal]:
    ix = f"call-{tenant}-{n}"
    rows = [("arrived", at, "", {"number": "4791520431"}),
            ("entered_queue", at + timedelta(seconds=8), "", {"agency": tenant, "position": "1"})]
    later = at + timedelta(seconds=8 + waited)
    if answered:
        rows += [("answered", later, "kari", {"waited": f"{waited:.3f}"}),
                 ("talk_ended", later + timedelta(seconds=95), "kari", {"talk": "95.000"}),
                 ("ended", later + timedelta(seconds=95), "kari", {"reason": "caller"})]
    else:
        rows += [("abandoned", later, "", {"waited": f"{waited:.3f}"}), ("ended", later, "", {"reason": "abandoned"})]
    return [Journal(ix, seq, kind, when, tenant, queue, agent, data)
            for seq, (kind, when, agent, data) in enumerate(rows, start=1)]


def the_mornings_calls() -> list[Journal]:
    """nordlys: answered after 12 s, after 45 s, abandoned after 3 s; fjordvik: answered after 5 s."""
    return (a_call(1, "nordlys", "nordlys-switchboard", T, 12.0)
            + a_call(2, "nordlys", "nordlys-switchboard", T + timedelta(minutes=20), 45.0)
            + a_call(3, "nordlys", "nordlys-switchboard", T + timedelta(minutes=30), 3.0, answered=False)
            + a_call(4, "fjordvik", "fjordvik-switchboard", T + timedelta(minutes=40), 5.0))


def web_over_journal(tmp_path, web_template, clock, rows, proc_of=Proc):
    """(web app, store, proc) of `sentral run`'s web listener over a copy of the web
    template database holding `rows`, on the demo's configuration."""
    from store.store import Store

    path = tmp_path / "web.db"
    shutil.copy(web_template, path)
    store = Store(f"sqlite:///{path}", clock=clock)
    store.append_journal(rows)
    deployment = load(str(DEMO), DEMO_ENV)
    proc = proc_of(deployment)
    apps = {name: app for name, _, app in web.run_apps(
        store, proc, deployment, web.WebOptions(web=("127.0.0.1", 0)))}
    return apps["web"], store, proc


@pytest.fixture
def site(tmp_path, web_template, clock):
    app, store, _ = web_over_journal(tmp_path, web_template, clock, the_mornings_calls())
    yield app
    store.close()


def test_an_agencys_supervisor_sees_her_agencys_figures_only(site):
    siri = logged_in(site, "nl-super")
    page = siri.get("/reports/" + PERIOD)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Nordlys" in html and "Fjordvik" not in html
    total = html[html.index('data-testid="report-total"'):]
    cells = [c.split("</th>")[0] for c in total.split("<th>")[1:]]
    assert cells[:4] == ["Sum", "", "3", "0"]                 # interval, agency, calls, direct dial
    assert siri.get("/reports/" + PERIOD + "&tenant=fjordvik").status_code == 404
    assert siri.get("/reports/?kind=agent").status_code == 403
    assert logged_in(site, "operator1").get("/reports/").status_code == 403
    assert client_from(site).get("/reports/").status_code == 302            # to the login page


def test_the_centre_sees_every_agency_the_day_drawn_and_the_agent_report(site):
    centre = logged_in(site, "centre")
    html = centre.get("/reports/?kind=traffic&from=2026-03-10T08:00&to=2026-03-10T10:00&lang=en").get_data(
        as_text=True)
    assert 'data-testid="chart-day"' in html and "<svg" in html and "Service level" in html
    assert html.count("<rect") >= 4                           # bars of the busy intervals, legend
    assert ">Answered<" in html and "Agents needed" in html
    assert centre.get("/reports/?kind=agent&from=2026-03-10").status_code == 200


def test_downloads_carry_the_pages_numbers(site):
    siri = logged_in(site, "nl-super")
    got = siri.get("/reports/download.csv" + PERIOD)
    assert got.status_code == 200 and got.mimetype == "text/csv" and "attachment" in got.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(got.get_data(as_text=True))))
    assert {r["agency"] for r in rows} == {"nordlys", ""}
    total = rows[-1]
    assert (total["calls"], total["answered"], total["abandoned"], total["short_abandoned"]) == ("3", "2", "1", "1")
    assert total["service_level"] == "0.5"                    # 12 s in time, 45 s not; the 3 s abandon is short
    xlsx = siri.get("/reports/download.xlsx" + PERIOD)
    with zipfile.ZipFile(io.BytesIO(xlsx.data)) as book:
        assert "nordlys" in book.read("xl/sharedStrings.xml").decode()
    pdf = siri.get("/reports/download.pdf" + PERIOD)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and len(pdf.data) > 2000
    assert siri.get("/reports/download.doc" + PERIOD).status_code == 404


def test_a_bad_period_is_an_error_on_the_page_and_nothing_else(site):
    siri = logged_in(site, "nl-super")
    page = siri.get("/reports/?kind=agency&from=2026-03-10T12:00&to=2026-03-10T08:00")
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and 'data-testid="report-error"' in html and 'data-testid="report-table"' not in html
    assert siri.get("/reports/download.csv?from=tomorrow").status_code == 400


def test_the_page_is_norwegian_by_default_with_norwegian_numbers(site):
    html = logged_in(site, "nl-super").get("/reports/" + PERIOD).get_data(as_text=True)
    assert "Besvart" in html and "Rapporter" in html
    assert "50,0 %" in html                                   # the total's service level


def test_the_api_gives_an_agencys_report_to_its_supervisors_token_only(site):
    store = site.extensions["sentral_api"].store
    _, secret = store.create_token("billing", "nordlys", "supervisor", created_by="test")
    api = site.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    got = api.get("/api/v1/tenants/nordlys/reports/agency?from=2026-03-10&to=2026-03-10T10:00&interval=1h",
                  headers=auth)
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    total = body["rows"][-1]
    assert (total["interval"], total["calls"], total["answered"], total["service_level"]) == ("total", 3, 2, 0.5)
    assert body["rows"][0]["interval"].startswith("2026-03-10T08:00:00+01:00")
    assert api.get("/api/v1/tenants/fjordvik/reports/agency?from=2026-03-10", headers=auth).status_code == 403
    assert api.get("/api/v1/tenants/nordlys/reports/agent?from=2026-03-10", headers=auth).status_code == 404
    bad = api.get("/api/v1/tenants/nordlys/reports/agency?from=2026-03-10&to=2026-03-09", headers=auth)
    assert bad.status_code == 400 and bad.get_json()["error"] == "report.bad_period"
    spec = api.get("/api/openapi.json").get_json()
    params = spec["paths"]["/v1/tenants/{tenant}/reports/{kind}"]["get"]["parameters"]
    assert {p["name"] for p in params if p["in"] == "query"} == {"from", "to", "interval", "channel"}

"""The directory, absence, maintenance and admin pages share one header: in the page's
language (nb first, English on ?lang=en, kept for the session), with the language links
every other page has; raw category values are not shown; the browser's icon request is
answered without an error."""
from __future__ import annotations

import re

from tests.web.conftest import logged_in

NB = ("Fravær", "Vedlikehold", "Logg ut av Sentral", "Katalog")
EN = ("Absence", "Maintenance", "Log out of Sentral", "Directory")


def header(html: str) -> str:
    return re.search(r"<header>.*?</header>", html, re.S).group(0)


def test_given_english_chosen_then_the_shared_header_is_english_and_stays_so(web):
    c = logged_in(web, "centre")
    for path in ("/directory/?lang=en", "/directory/absence/", "/directory/manage/", "/admin/users/"):
        html = c.get(path).get_data(as_text=True)
        head = header(html)
        assert all(word in head for word in EN), (path, head)
        assert not any(word in head for word in NB), (path, head)
        assert '<html lang="en">' in html


def test_given_norwegian_then_the_header_is_bokmal_with_links_to_both_languages(web):
    c = logged_in(web, "centre")
    html = c.get("/directory/absence/?lang=nb").get_data(as_text=True)
    head = header(html)
    assert all(word in head for word in NB) and '<html lang="nb">' in html
    assert 'data-testid="lang-nb" href="?lang=nb"' in head and 'data-testid="lang-en" href="?lang=en"' in head


def test_the_login_link_of_an_anonymous_visitor_is_translated(web):
    c = web.test_client()
    c.environ_base.update({"REMOTE_ADDR": "10.20.1.5"})
    assert ">Log in</a>" in header(c.get("/directory/?lang=en").get_data(as_text=True))
    assert ">Logg inn</a>" in header(c.get("/directory/?lang=nb").get_data(as_text=True))


def test_the_browsers_icon_request_gets_an_empty_answer_not_a_404(web):
    resp = web.test_client().get("/favicon.ico")
    assert resp.status_code == 204 and resp.get_data() == b""


def test_the_search_page_in_english_with_numbers_the_norwegian_way_and_the_reason_translated(web):
    from datetime import timedelta

    from engine.directory.model import AbsenceCategory, PersonKey
    from tests.directory.conftest import an_absence
    from tests.web.conftest import NOW

    web.extensions["sentral"][1].directory.replace_absences(
        PersonKey("nordlys", "nl1003"), "ical:hd",
        [an_absence("nl1003", NOW - timedelta(hours=1), NOW + timedelta(days=2), AbsenceCategory.SICK,
                    tenant="nordlys")])
    operator = logged_in(web, "operator1")
    html = operator.get("/directory/?q=%C3%85se+S%C3%B8rli&lang=en").get_data(as_text=True)
    assert "away (sick leave), back 2026-03-12 10:30" in html and "substitute: Bjørn Aasen" in html
    assert "<th>Phone</th>" in html and "22 24 16 02" in html and "+4722241602" not in html
    assert not any(word in html for word in ("borte", "tilbake", "stedfortreder", "Søk", "Alle etater"))
    html = operator.get("/directory/?q=%C3%85se+S%C3%B8rli&lang=nb").get_data(as_text=True)
    assert "borte (sykefravær), tilbake 2026-03-12 10:30" in html and "stedfortreder: Bjørn Aasen" in html
    assert "22 24 16 02" in html and "sick" not in html


def test_no_hits_names_the_query_escaped_in_either_language(web):
    c = logged_in(web, "operator1")
    html = c.get("/directory/?q=%3Cb%3Ezz%3C%2Fb%3E&lang=en").get_data(as_text=True)
    assert "No hits for «&lt;b&gt;zz&lt;/b&gt;»." in html and "<b>zz" not in html
    assert "Ingen treff for «zz»." in c.get("/directory/?q=zz&lang=nb").get_data(as_text=True)


def test_the_login_and_absence_pages_in_english(web):
    c = web.test_client()
    c.environ_base.update({"REMOTE_ADDR": "10.20.1.5"})
    html = c.get("/login?lang=en").get_data(as_text=True)
    assert "<h1>Log in</h1>" in html and "Username" in html and "Password" in html and "Passord" not in html
    employee = logged_in(web, "ase.sorli@nordlys.no")
    html = employee.get("/directory/absence/?lang=en").get_data(as_text=True)
    assert "<h1>Absence</h1>" in html and "My absence" in html and "Mitt fravær" not in html
    html = employee.get("/directory/absence/nordlys/nl1003?lang=en").get_data(as_text=True)
    assert "Absence of Åse Sørli" in html and "New absence" in html and ">Sick leave</option>" in html
    assert not any(word in html for word in ("Fravær", "Registrer", "Merknad", ">sick<"))


def test_the_maintenance_pages_in_english(web):
    admin = logged_in(web, "nl-admin")
    html = admin.get("/directory/manage/?lang=en").get_data(as_text=True)
    assert "<h1>Maintenance of the directory</h1>" in html
    html = admin.get("/directory/manage/nordlys/").get_data(as_text=True)   # this app serves no services page
    assert "Find a person" in html and "Tjenester" not in html and "Services and numbers" not in html
    html = admin.get("/directory/manage/nordlys/nl1001").get_data(as_text=True)
    assert "Notes for the switchboard" in html and "Absence of Kari Nordmann" in html
    assert not any(word in html for word in ("Merknader", "Lagre", "Fravær", "kilde"))
    employee = logged_in(web, "ase.sorli@nordlys.no")
    assert "Du har ingen etater å vedlikeholde." in employee.get("/directory/manage/?lang=nb").get_data(as_text=True)


def test_a_refusal_page_is_in_the_pages_language(web):
    employee = logged_in(web, "ase.sorli@nordlys.no")
    html = employee.get("/directory/manage/nordlys/nl1001?lang=nb").get_data(as_text=True)
    assert "403 Ingen tilgang" in html and "Forbidden" not in html
    html = employee.get("/directory/manage/nordlys/nl1001?lang=en").get_data(as_text=True)
    assert "403 Forbidden" in html

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

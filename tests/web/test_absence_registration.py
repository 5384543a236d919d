"""Web absence registration (R20): own absence; supervisors/operators for others;
audited; shown as presence in the search."""
from datetime import timedelta

from engine.directory.model import PersonKey, PresenceState
from tests.web.conftest import NOW, csrf_of, logged_in

MINE = "/directory/absence/nordlys/nl1003"   # Åse Sørli's own page


def services(web):
    return web.extensions["sentral"][1]


def form(c, page, **values):
    token = csrf_of(c.get(page).get_data(as_text=True))
    data = {"start": "2026-03-10T08:00", "end": "2026-03-12T16:00", "category": "vacation", "note": ""}
    return token, data | values


def add(c, page=MINE, **values):
    token, data = form(c, page, **values)
    return c.post(page + "/add", data=data | {"csrf_token": token})


def test_given_employee_when_adding_own_absence_then_stored_in_utc_shown_in_search_and_audited(web):
    c = logged_in(web, "ase.sorli@nordlys.no")
    assert c.get("/directory/absence/").get_data(as_text=True).count(MINE) == 1
    assert add(c).status_code == 302
    [(row_id, a)] = services(web).directory.web_absences(PersonKey("nordlys", "nl1003"))
    assert a.start.isoformat() == "2026-03-10T07:00:00+00:00"  # 08:00 in Oslo (CET) is 07:00 UTC
    assert a.end.isoformat() == "2026-03-12T15:00:00+00:00" and a.created_by == "ase.sorli@nordlys.no"
    hit = services(web).directory.search("Åse Sørli", now=NOW)[0]
    assert hit.presence.state is PresenceState.ABSENT and hit.presence.back_at == a.end
    [entry] = services(web).users.audit_entries(target_id="nordlys/nl1003")
    assert (entry.actor, entry.action) == ("ase.sorli@nordlys.no", "directory.absence.add")
    assert "category" not in entry.detail and "vacation" not in str(entry.detail)  # a reason is never logged


def test_given_employee_when_changing_and_deleting_own_absence_then_done_and_audited(web):
    c = logged_in(web, "ase.sorli@nordlys.no")
    add(c)
    [(row_id, _)] = services(web).directory.web_absences(PersonKey("nordlys", "nl1003"))
    token, data = form(c, MINE, end="2026-03-11T12:00", category="sick")
    assert c.post(f"{MINE}/{row_id}/update", data=data | {"csrf_token": token}).status_code == 302
    [(_, changed)] = services(web).directory.web_absences(PersonKey("nordlys", "nl1003"))
    assert changed.category.value == "sick" and changed.end.isoformat() == "2026-03-11T11:00:00+00:00"
    assert c.post(f"{MINE}/{row_id}/delete", data={"csrf_token": token}).status_code == 302
    assert services(web).directory.web_absences(PersonKey("nordlys", "nl1003")) == []
    actions = [e.action for e in services(web).users.audit_entries(target_id="nordlys/nl1003")]
    assert actions == ["directory.absence.add", "directory.absence.update", "directory.absence.delete"]


def test_given_employee_when_touching_a_colleague_then_403(web):
    c = logged_in(web, "ase.sorli@nordlys.no")
    other = "/directory/absence/nordlys/nl1004"
    assert c.get(other).status_code == 403
    token = csrf_of(c.get(MINE).get_data(as_text=True))
    assert c.post(other + "/add", data={"csrf_token": token, "start": "2026-03-10T08:00",
                                        "end": "2026-03-10T09:00", "category": "sick"}).status_code == 403
    assert services(web).directory.web_absences(PersonKey("nordlys", "nl1004")) == []


def test_given_employee_when_editing_colleagues_absence_through_own_url_then_404(web):
    boss = logged_in(web, "nl-super")
    add(boss, "/directory/absence/nordlys/nl1004")
    [(row_id, _)] = services(web).directory.web_absences(PersonKey("nordlys", "nl1004"))
    c = logged_in(web, "ase.sorli@nordlys.no")
    token = csrf_of(c.get(MINE).get_data(as_text=True))
    assert c.post(f"{MINE}/{row_id}/delete", data={"csrf_token": token}).status_code == 404
    assert len(services(web).directory.web_absences(PersonKey("nordlys", "nl1004"))) == 1


def test_given_supervisor_then_for_others_in_own_agency_only(web):
    c = logged_in(web, "nl-super")
    assert add(c, "/directory/absence/nordlys/nl1004").status_code == 302
    assert c.get("/directory/absence/fjordvik/fj3001").status_code == 403
    assert c.get("/directory/absence/?tenant=fjordvik&q=anne").status_code == 403
    [entry] = services(web).users.audit_entries(target_id="nordlys/nl1004")
    assert entry.actor == "nl-super"


def test_given_operator_of_the_centre_then_any_agency(web):
    c = logged_in(web, "operator1")
    assert add(c, "/directory/absence/fjordvik/fj3002", category="course").status_code == 302
    assert services(web).directory.web_absences(PersonKey("fjordvik", "fj3002"))[0][1].category.value == "course"


def test_given_bad_form_values_then_400_and_nothing_stored(web):
    c = logged_in(web, "ase.sorli@nordlys.no")
    for bad in ({"end": "2026-03-09T08:00"}, {"start": "yesterday"}, {"category": "party"},
                {"end": "2029-03-10T08:00"}):
        assert add(c, **bad).status_code == 400, bad
    assert services(web).directory.web_absences(PersonKey("nordlys", "nl1003")) == []


def test_given_csrf_missing_on_absence_post_then_400(web):
    c = logged_in(web, "ase.sorli@nordlys.no")
    assert c.post(MINE + "/add", data={"start": "2026-03-10T08:00", "end": "2026-03-10T09:00",
                                       "category": "sick"}).status_code == 400


def test_given_calendar_absence_then_shown_read_only(web):
    from engine.directory.model import Absence, AbsenceCategory
    services(web).directory.replace_absences(PersonKey("nordlys", "nl1003"), "caldav:hd", [
        Absence("nordlys", "nl1003", NOW + timedelta(days=1), NOW + timedelta(days=2), AbsenceCategory.COURSE,
                subject="Kurs i arkiv")])
    c = logged_in(web, "ase.sorli@nordlys.no")
    html = c.get(MINE).get_data(as_text=True)
    assert "Kurs i arkiv" in html and "Fra kalender" in html

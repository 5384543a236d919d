"""Issue 11, retrieval (R8) and its bad input: the recordings page in the app `sentral run`
serves (sentral.web.run_apps, CSRF on), over recordings encrypted to each agency's key and
stored where the deployment says. The nordlys supervisor plays (HTTP Range: 206, the exact
plaintext bytes), downloads and searches; fjordvik's supervisor gets 404 for nordlys'
recordings; an operator is refused; an expired login goes to the login page; a changed
file and a missing key are clear errors and never audio; ids that are no uuid are 404;
every search, listen and download is in the append-only access log."""
from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from dialplan.loader import load
from sentral import web
from tests.dialplan.files import DEMO, DEMO_ENV
from tests.web.conftest import PASSWORD, client_from, csrf_of, logged_in
from tests.web.recording_builders import a_recording, a_wav, agency_keys, recording_deployment, stored_path

AT = datetime(2026, 3, 9, 13, 5, tzinfo=timezone.utc)        # 14:05 in Oslo, the day before the clock's NOW


class Proc:
    """What sentral.web reads from an EngineProcess."""

    def __init__(self, deployment):
        self.deployment, self.engine = deployment, None


@pytest.fixture
def site(tmp_path, web_template, clock):
    """(app, store, deployment) of `sentral run`'s web listener with recordings of nordlys and fjordvik."""
    from store.store import Store

    path = tmp_path / "web.db"
    shutil.copy(web_template, path)
    store = Store(f"sqlite:///{path}", clock=clock)
    store.create_user("fv-super", PASSWORD, roles=[("fjordvik", "supervisor")])
    identities = tmp_path / "identities"
    keys = agency_keys(["nordlys", "fjordvik"], identities)
    deployment = recording_deployment(load(str(DEMO), DEMO_ENV), keys, tmp_path / "recordings", identities)
    apps = {name: app for name, _, app in web.run_apps(
        store, Proc(deployment), deployment, web.WebOptions(web=("127.0.0.1", 0)))}
    yield apps["web"], store, deployment
    store.close()


@pytest.fixture
def nordlys(site):
    app, store, deployment = site
    return a_recording(store, deployment, "nordlys", started_at=AT, queue="nordlys-switchboard",
                       caller="+4791520431", agents=("kari", "per"))


def actions(store, recording=None) -> list[tuple[str, str]]:
    return [(e.actor, e.action) for e in store.recording_audit(recording=recording)]


def test_given_a_supervisor_of_the_agency_when_playing_a_range_then_206_with_exactly_those_plaintext_bytes(
        site, nordlys):
    app, store, _ = site
    record, plain = nordlys
    siri = logged_in(app, "nl-super")
    url = f"/recordings/{record.id}/audio"
    resp = siri.get(url, headers={"Range": "bytes=1000-70999"})
    assert resp.status_code == 206 and resp.mimetype == "audio/wav"
    assert resp.headers["Content-Range"] == f"bytes 1000-70999/{len(plain)}"
    assert resp.headers["Accept-Ranges"] == "bytes" and resp.headers["Cache-Control"] == "no-store"
    assert resp.data == plain[1000:71000]
    tail = siri.get(url, headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.data == plain[-500:]
    whole = siri.get(url)
    assert whole.status_code == 200 and whole.data == plain and whole.headers["Content-Length"] == str(len(plain))
    past = siri.get(url, headers={"Range": f"bytes={len(plain)}-"})
    assert past.status_code == 416 and past.headers["Content-Range"] == f"bytes */{len(plain)}"
    assert actions(store, record.id) == [("nl-super", "recording.listen")] * 3


def test_a_download_is_the_whole_plaintext_as_an_attachment_and_audited(site, nordlys):
    app, store, _ = site
    record, plain = nordlys
    resp = logged_in(app, "nl-admin").get(f"/recordings/{record.id}/download")
    assert resp.status_code == 200 and resp.data == plain
    assert resp.headers["Content-Disposition"] == f'attachment; filename="nordlys-20260309-1305-{record.id[:8]}.wav"'
    assert actions(store, record.id) == [("nl-admin", "recording.download")]


def test_the_search_lists_the_agencys_recordings_with_the_number_the_norwegian_way_and_is_audited(site, nordlys):
    app, store, deployment = site
    record, _ = nordlys
    other, _ = a_recording(store, deployment, "fjordvik", started_at=AT, caller="+4722241602")
    siri = logged_in(app, "nl-super")
    page = siri.get("/recordings/", query_string={"caller": "915 20 431", "from": "2026-03-09", "to": "2026-03-09"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'data-recording="{record.id}"' in html and other.id not in html
    assert "915 20 431" in html and f"/recordings/{record.id}/audio" in html
    assert siri.get("/recordings/", query_string={"to": "2026-03-08"}).get_data(as_text=True).count(
        "data-recording=") == 0
    [entry] = [e for e in store.recording_audit(action="recording.search")][:1]
    assert entry.actor == "nl-super" and entry.tenant == "nordlys"
    assert entry.detail["filters"]["caller"] == "91520431" and entry.detail["found"] == 1


@pytest.mark.parametrize("args,message", [
    ({"from": "9.3.2026"}, "dato"), ({"from": "2026-03-10", "to": "2026-03-09"}, "før"),
    ({"caller": "9152x431"}, "siffer"), ({"interaction": "../../etc"}, "gyldig"), ({"from": "0001-01-01"}, "dato"),
])
def test_a_search_that_cannot_be_made_is_400_with_a_message(site, args, message):
    app, _, _ = site
    resp = logged_in(app, "nl-super").get("/recordings/", query_string=args)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)


def test_another_agencys_supervisor_gets_404_for_everything_of_it(site, nordlys):
    app, store, deployment = site
    record, _ = nordlys
    own, plain = a_recording(store, deployment, "fjordvik", started_at=AT)
    fv = logged_in(app, "fv-super")
    for path in ("audio", "download"):
        resp = fv.get(f"/recordings/{record.id}/{path}")
        assert resp.status_code == 404 and resp.mimetype == "text/html", path
    token = csrf_of(fv.get("/recordings/").get_data(as_text=True))
    assert fv.post(f"/recordings/{record.id}/hold", data={"csrf_token": token, "reason": "x"}).status_code == 404
    html = fv.get("/recordings/", query_string={"tenant": "nordlys"}).get_data(as_text=True)
    assert record.id not in html
    assert fv.get(f"/recordings/{own.id}/audio").data == plain               # her own agency's she hears
    assert ("fv-super", "recording.listen") not in actions(store, record.id)


def test_an_operator_or_the_system_admin_without_a_listening_role_is_refused(site, nordlys):
    app, _, _ = site
    record, _ = nordlys
    for user in ("operator1", "centre", "ase.sorli@nordlys.no"):
        c = logged_in(app, user)
        assert c.get("/recordings/").status_code == 403, user
        assert c.get(f"/recordings/{record.id}/audio").status_code == 404, user
        assert "/recordings/" not in c.get("/directory/").get_data(as_text=True), user
    assert 'href="/recordings/"' in logged_in(app, "nl-super").get("/directory/").get_data(as_text=True)


def test_an_expired_login_is_sent_to_the_login_page_and_hears_nothing(site, nordlys, clock):
    app, _, _ = site
    record, _ = nordlys
    siri = logged_in(app, "nl-super")
    assert siri.get(f"/recordings/{record.id}/audio").status_code == 200
    clock.now += timedelta(minutes=31)
    resp = siri.get(f"/recordings/{record.id}/audio")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert client_from(app).get(f"/recordings/{record.id}/download").status_code == 302


@pytest.mark.parametrize("bad", ["..%2F..%2Fetc%2Fpasswd", "..", "not-a-uuid", "nordlys%2F2026%2F03%2Fx.wav.age",
                                 "6F1B2C3D-0000-4000-8000-000000000000", "%00"])
def test_an_id_that_is_no_recording_uuid_is_404(site, nordlys, bad):
    app, _, _ = site
    siri = logged_in(app, "nl-super")
    for path in ("audio", "download"):
        assert siri.get(f"/recordings/{bad}/{path}").status_code == 404


def test_a_changed_file_is_an_error_page_never_audio_and_is_audited(site, nordlys):
    app, store, deployment = site
    record, _ = nordlys
    path = stored_path(deployment, record)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    siri = logged_in(app, "nl-super")
    for headers in ({}, {"Range": "bytes=0-99"}):
        resp = siri.get(f"/recordings/{record.id}/audio", headers=headers)
        assert resp.status_code == 409 and resp.mimetype == "text/html" and b"RIFF" not in resp.data
        assert "integritet" in resp.get_data(as_text=True)
    assert actions(store, record.id) == [("nl-super", "recording.tampered")] * 2


def test_a_cut_off_or_swapped_file_is_refused_too(site, nordlys):
    app, store, deployment = site
    record, _ = nordlys
    other, _ = a_recording(store, deployment, "nordlys", started_at=AT, audio=a_wav(tone=330.0))
    path = stored_path(deployment, record)
    shutil.copy(stored_path(deployment, other), path)          # authenticates, but is not this recording
    siri = logged_in(app, "nl-super")
    assert siri.get(f"/recordings/{record.id}/audio").status_code == 409
    path.write_bytes(path.read_bytes()[:-100])
    assert siri.get(f"/recordings/{record.id}/download").status_code == 409


def test_a_missing_private_key_is_a_clear_error(site, nordlys):
    app, store, deployment = site
    record, _ = nordlys
    for key_file in os.listdir(deployment.recordings_identities):
        if key_file.startswith("nordlys-"):
            os.unlink(os.path.join(deployment.recordings_identities, key_file))
    resp = logged_in(app, "nl-super").get(f"/recordings/{record.id}/audio")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 503 and record.key_id in html and "nøkkel" in html
    assert actions(store, record.id) == [("nl-super", "recording.key_missing")]


def test_a_tenant_admin_sets_and_lifts_a_legal_hold_with_a_reason_a_supervisor_cannot(site, nordlys):
    app, store, _ = site
    record, _ = nordlys
    admin = logged_in(app, "nl-admin")
    token = csrf_of(admin.get("/recordings/").get_data(as_text=True))
    hold = f"/recordings/{record.id}/hold"
    assert admin.post(hold, data={"reason": "Klagesak 2026/14"}).status_code == 400          # no CSRF token
    assert admin.post(hold, data={"csrf_token": token, "reason": "  "}).status_code == 400  # no reason
    assert admin.post(hold, data={"csrf_token": token, "reason": "Klagesak 2026/14"}).status_code == 302
    held = store.recording(record.id)
    assert held.legal_hold and held.hold_reason == "Klagesak 2026/14" and held.hold_by == "nl-admin"
    assert "Klagesak 2026/14" in admin.get("/recordings/").get_data(as_text=True)
    siri = logged_in(app, "nl-super")
    siri_token = csrf_of(siri.get("/recordings/").get_data(as_text=True))
    assert siri.post(f"/recordings/{record.id}/release", data={"csrf_token": siri_token}).status_code == 403
    assert admin.post(f"/recordings/{record.id}/release", data={"csrf_token": token}).status_code == 302
    assert not store.recording(record.id).legal_hold
    assert [a for _, a in actions(store, record.id)] == ["recording.hold", "recording.release"]

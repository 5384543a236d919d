"""Scheduler isolation and status; sources from a YAML file run end to end into the store."""
from __future__ import annotations

import pathlib
from datetime import datetime, timezone

import gevent
import pytest

from engine.directory.model import AbsenceCategory, PersonKey
from sync.scheduler import Job, Scheduler
from sync.sources import SourceConfigError, build_job, load_specs
from tests.helpers import until

DATA = pathlib.Path(__file__).parent / "data"
NOW = datetime(2026, 3, 16, 7, 0, tzinfo=timezone.utc)


def test_one_failing_source_does_not_stop_the_others_and_status_shows_both():
    counts = {"ok": 0, "bad": 0}

    def good(now):
        counts["ok"] += 1
        return f"round {counts['ok']}"

    def bad(now):
        counts["bad"] += 1
        raise ConnectionError("ldap://dc.hdir.test: connection refused")

    recorded = []
    scheduler = Scheduler([Job("hdir", "ical:hdir", 0.01, good), Job("nav", "ldap:nav", 0.01, bad)],
                          status_sink=lambda *a, **kw: recorded.append((a, kw["ok"])))
    scheduler.start()
    try:
        until(lambda: counts["ok"] >= 3 and counts["bad"] >= 3, timeout=5)
    finally:
        scheduler.stop()
    ok, failing = scheduler.status()
    assert ok.healthy and ok.last_success and ok.last_summary.startswith("round") and not ok.last_error
    assert not failing.healthy and failing.last_success is None
    assert failing.last_error == "ConnectionError: ldap://dc.hdir.test: connection refused"
    assert (("nav", "ldap:nav"), False) in recorded and (("hdir", "ical:hdir"), True) in recorded


def test_a_round_still_running_is_not_started_twice():
    started = []
    release = gevent.event.Event()

    def slow(now):
        started.append(now)
        release.wait()

    job = Job("hdir", "slow", 60, slow)
    scheduler = Scheduler([job])
    first = gevent.spawn(scheduler.run_once, job)
    until(lambda: started)
    assert scheduler.run_once(job).running is True and len(started) == 1
    release.set()
    first.join()
    assert scheduler.status()[0].runs == 1


@pytest.fixture
def directory(tmp_path):
    from store import migrate
    from store.database import create_engine
    from store.directory_store import DirectoryStore
    url = f"sqlite:///{tmp_path / 'dir.db'}"
    migrate(url)
    engine = create_engine(url)
    yield DirectoryStore(engine)
    engine.dispose()


def test_calendar_sources_from_yaml_write_absences_and_keep_last_good_data(tmp_path, directory, httpserver):
    httpserver.expect_request("/kari.ics").respond_with_data((DATA / "kari.ics").read_bytes())
    broken = {"body": b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"}
    httpserver.expect_request("/ola.ics").respond_with_handler(
        lambda request: __import__("werkzeug").Response(broken["body"]))
    config = tmp_path / "sources.yaml"
    config.write_text(f"""
state_dir: {tmp_path / 'state'}
tenants:
  hdir:
    timezone: Europe/Oslo
    sources:
      - kind: ical
        name: "ical:hdir"
        interval: 60
        days_ahead: 30
        concurrency: 2
        calendars:
          kari: "{httpserver.url_for('/kari.ics')}"
          ola: "{httpserver.url_for('/ola.ics')}"
""")
    specs, state_dir = load_specs(config)
    job = build_job(specs[0], directory, state_dir)
    scheduler = Scheduler([job], clock=lambda: NOW, status_sink=directory.record_source_status)

    assert scheduler.run_once(job).healthy
    kari = directory.absences(PersonKey("hdir", "kari"))
    assert [a.category for a in kari][:2] == [AbsenceCategory.MEETING, AbsenceCategory.BUSY]
    assert all(a.source == "ical:hdir" for a in kari) and (tmp_path / "state").is_dir()

    broken["body"] = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"          # ola's feed breaks
    status = scheduler.run_once(job)
    assert "ical:hdir: 1 of 2 calendars failed; first: person ola" in status.last_error
    assert "line 2: BEGIN:VEVENT is never closed" in status.last_error
    assert directory.absences(PersonKey("hdir", "kari")) == kari      # kari still there
    health = directory.source_statuses("hdir")[0]
    assert health.last_success == NOW and "person ola" in health.last_error


def test_bad_source_configuration_is_named(tmp_path):
    config = tmp_path / "sources.yaml"
    config.write_text("tenants:\n  hdir:\n    sources:\n      - {kind: exchange2003}\n")
    with pytest.raises(SourceConfigError, match="tenant hdir, source #1: unknown kind 'exchange2003'"):
        load_specs(config)
    config.write_text("tenants:\n  hdir:\n    sources:\n      - {kind: ical, password: x}\n")
    with pytest.raises(SourceConfigError, match=r"unknown keys \['password'\]"):
        load_specs(config)

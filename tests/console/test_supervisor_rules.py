"""The supervisor page's rules below the page: queue alarms (the pure function and its
"since"), the `alarms` key of the routing configuration, and the store's list of
abandoned calls to call back and audit view, on the real PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from agent_ui.alarms import Alarm, AlarmBook, crossed
from dialplan.loader import load
from engine.config import QueueAlarms
from engine.effects import Journal
from store import supervision
from store.records import InteractionRecord
from store.store import Store
from tests.dialplan.files import MINIMAL, problems, write

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)     # 11:00 in Oslo


def a_queue_view(waiting=0, longest=0.0, level=None, queue="nl", tenant="nordlys"):
    return {"queue": queue, "tenant": tenant, "waiting": waiting, "longest_wait": longest, "service_level": level}


# -- alarms --------------------------------------------------------------------------------------

@pytest.mark.parametrize("view,kinds", [
    (a_queue_view(), []),
    (a_queue_view(waiting=2), []),
    (a_queue_view(waiting=3), ["waiting"]),
    (a_queue_view(waiting=4, longest=119.9), ["waiting"]),
    (a_queue_view(waiting=1, longest=120), ["longest_wait"]),
    (a_queue_view(level=0.8), []),
    (a_queue_view(level=0.799), ["service_level"]),
    (a_queue_view(level=None), []),                       # no level yet today: no alarm
    (a_queue_view(waiting=5, longest=600, level=0.1), ["waiting", "longest_wait", "service_level"]),
])
def test_given_thresholds_when_a_queue_crosses_them_then_each_raises_its_alarm(view, kinds):
    thresholds = QueueAlarms(waiting=3, longest_wait=120, service_level=80)
    assert [a.kind for a in crossed(view, thresholds)] == kinds


def test_given_no_thresholds_then_never_an_alarm():
    assert crossed(a_queue_view(waiting=999, longest=9999, level=0.0), QueueAlarms()) == []


def test_the_level_alarm_tells_percent_and_threshold():
    (alarm,) = crossed(a_queue_view(level=0.654), QueueAlarms(service_level=80))
    assert alarm == Alarm("nl", "nordlys", "service_level", 65.4, 80)


def test_since_is_kept_while_up_and_starts_again_after_clearing():
    book = AlarmBook()
    waiting = Alarm("nl", "nordlys", "waiting", 3, 3)
    up, new = book.update([waiting], NOW)
    assert [r.since for r in up] == [NOW] and [r.alarm for r in new] == [waiting]
    later = NOW + timedelta(minutes=2)
    up, new = book.update([waiting], later)
    assert [r.since for r in up] == [NOW] and new == []
    up, new = book.update([], later, queues={"nl"})                # cleared
    assert up == [] and new == []
    again = later + timedelta(seconds=30)
    up, new = book.update([waiting], again)
    assert [r.since for r in up] == [again] and len(new) == 1


def test_a_queue_outside_the_update_keeps_its_since():
    book = AlarmBook()
    fv = Alarm("fv", "fjordvik", "waiting", 9, 1)
    book.update([fv], NOW)
    book.update([], NOW + timedelta(minutes=1), queues={"nl"})    # another viewer's queues only
    up, new = book.update([fv], NOW + timedelta(minutes=2))
    assert [r.since for r in up] == [NOW] and new == []


# -- the routing configuration's `alarms` ------------------------------------------------------------

WITH_ALARMS = MINIMAL.replace("{id: acme-main, name: Main}", "{id: acme-main, name: Main, alarms: %s}")


def test_given_alarms_on_a_queue_then_its_config_has_them_and_defaults_none(tmp_path):
    d = load(write(tmp_path, WITH_ALARMS % "{waiting: 5, longest_wait: 2m, service_level: 80}"), {})
    assert d.queues["acme-main"].alarms == QueueAlarms(waiting=5, longest_wait=120.0, service_level=80.0)
    plain = load(write(tmp_path, MINIMAL, "plain.yaml"), {})
    assert plain.queues["acme-main"].alarms == QueueAlarms()


def test_given_alarms_in_the_queue_defaults_then_every_queue_has_them(tmp_path):
    text = "defaults:\n  queue:\n    alarms: {longest_wait: 90s}\n" + MINIMAL
    assert load(write(tmp_path, text), {}).queues["acme-main"].alarms == QueueAlarms(longest_wait=90.0)


@pytest.mark.parametrize("value,codes", [
    ("{waiting: 0}", ["out-of-range"]),
    ("{service_level: 120}", ["out-of-range"]),
    ("{longest_wait: soon}", ["wrong-type"]),
    ("{waiting: many}", ["wrong-type"]),
    ("{queue_length: 3}", ["unknown-key"]),
])
def test_given_bad_alarms_then_their_lines_are_problems(tmp_path, value, codes):
    found, _ = problems(tmp_path, WITH_ALARMS % value)
    assert [code for _, _, code in found] == codes


# -- the store: abandoned calls to call back -------------------------------------------------------------

@pytest.fixture
def store(pg_url):
    s = Store(pg_url, migrate=True, clock=lambda: NOW)
    yield s
    s.close()


def call(store, ix, number, at, tenant="nordlys", queue="nl", abandoned=True, kinds=(), **data):
    """An interaction of `number` that entered at `at`; abandoned in the queue if asked."""
    rows = [Journal(ix, 1, "entered_queue", at, tenant, queue)]
    if abandoned:
        rows.append(Journal(ix, 2, "abandoned", at + timedelta(seconds=40), tenant, queue,
                            data={"waited": "40.000", "cause": "NORMAL_CLEARING", "stage": "queued"}))
    for seq, kind in enumerate(kinds, start=len(rows) + 1):
        rows.append(Journal(ix, seq, kind, at + timedelta(seconds=50), tenant, queue, data=dict(data)))
    store.write(journal=rows, interactions=[InteractionRecord(ix, tenant, "abandoned" if abandoned else "ended", at,
                                                              queue=queue, caller_number=number,
                                                              caller_name="Per Ringer")])


def listed(store, tenants=("nordlys",)):
    with store.engine.connect() as conn:
        return [r.interaction for r in supervision.abandoned_to_call_back(conn, set(tenants), NOW)]


def test_abandoned_calls_of_today_newest_first_only_the_viewers_agencies(store):
    call(store, "i1", "4791111111", NOW - timedelta(hours=2))
    call(store, "i2", "4792222222", NOW - timedelta(hours=1))
    call(store, "i3", "4793333333", NOW - timedelta(minutes=5), tenant="fjordvik", queue="fv")
    call(store, "i0", "4790000000", NOW - timedelta(days=1))               # yesterday
    call(store, "i4", "4794444444", NOW - timedelta(minutes=30), abandoned=False)   # answered
    assert listed(store) == ["i2", "i1"]
    assert listed(store, ("nordlys", "fjordvik")) == ["i3", "i2", "i1"]
    with store.engine.connect() as conn:
        (row, _) = supervision.abandoned_to_call_back(conn, {"nordlys"}, NOW)
    assert (row.caller_number, row.caller_name, row.queue, row.waited) == ("4792222222", "Per Ringer", "nl", 40.0)


def test_a_call_called_back_or_whose_caller_called_again_is_not_listed(store):
    call(store, "i1", "4791111111", NOW - timedelta(hours=2))
    call(store, "i2", "4792222222", NOW - timedelta(hours=2))
    call(store, "i3", "4793333333", NOW - timedelta(hours=2))
    call(store, "i3b", "4793333333", NOW - timedelta(hours=1))             # abandoned again: only the newest
    call(store, "cb", "", NOW - timedelta(minutes=10), abandoned=False, kinds=("callback_requested",),
         origin="i1")                                                       # a supervisor's callback of i1
    call(store, "i2b", "4792222222", NOW - timedelta(minutes=20), abandoned=False)  # i2's caller called again
    call(store, "i4", "4794444444", NOW - timedelta(minutes=5), tenant="nordlys")
    call(store, "i4f", "4794444444", NOW - timedelta(minutes=1), tenant="fjordvik", queue="fv", abandoned=False)
    assert listed(store) == ["i4", "i3b"]        # i4's caller called another agency: still to call back here


def test_audit_view_shows_supervisor_actions_of_the_viewers_agencies_newest_first(store):
    for minute, (actor, action, target, tenant) in enumerate([
            ("tor", "agent.pause", "anna", "nordlys"), ("siri", "call.listen", "bodil", "fjordvik,nordlys"),
            ("fred", "agent.logout", "carl", "fjordvik"), ("root", "directory.changed", "p1", "nordlys"),
            ("siri", "call.monitor_end", "siri", ""), ("tor", "agent.pause.denied", "bodil", "fjordvik,nordlys")]):
        store.audit(actor, action, "agent", target, tenant=tenant, at=NOW + timedelta(minutes=minute))
    with store.engine.connect() as conn:
        entries = supervision.supervisor_actions(conn, {"nordlys"}, actor="siri")
        other = supervision.supervisor_actions(conn, {"nordlys"}, actor="tor", limit=2)
    assert [(e.actor, e.action) for e in entries] == [("tor", "agent.pause.denied"), ("siri", "call.monitor_end"),
                                                       ("siri", "call.listen"), ("tor", "agent.pause")]
    assert [(e.actor, e.action) for e in other] == [("tor", "agent.pause.denied"), ("siri", "call.listen")]

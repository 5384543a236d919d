"""Written items in the reports (docs/metrics.md "Written items", "Channels"): each decision
on the journal the real engine writes for e-mail and SMS items, counted by reports/figures.py
and by the second implementation (tests/reports/reference.py) alike."""
from __future__ import annotations

from datetime import timedelta

from engine import events as ev
from reports.figures import Limits, count
from reports.live import LiveFigures
from reports.report import build, tabulate, wait_distribution

from tests.engine.test_written import HOUR, desk
from tests.reports.reference import reference_count, without_zeros

LIMITS = Limits(service_level={"sales": 20.0, "mail": 4 * HOUR, "sms": HOUR})
CHANNELS = {"sales": "voice", "mail": "email", "sms": "sms", "other": "email"}


def both(rows, limits=LIMITS):
    """figures.py's figures, checked equal to the reference's."""
    fast, slow = count(rows, limits), reference_count(rows, limits)
    for section in ("queues", "agencies", "agents"):
        assert without_zeros(getattr(fast, section)) == without_zeros(getattr(slow, section)), section
    return fast


def total(table: dict) -> dict:
    out: dict = {}
    for counts in table.values():
        for name, value in counts.items():
            out[name] = max(out.get(name, 0), value) if name == "longest_wait" else out.get(name, 0) + value
    return out


def queue_total(figures, queue: str) -> dict:
    return total({k: v for k, v in figures.queues.items() if k[2] == queue})


def handled_mail():
    s = desk()
    s.login("alice")
    item = s.item_of(s.mail())
    s.advance(2 * HOUR)                               # offered, not accepted in time, offered again...
    s.send(ev.ItemAccept(item.agent, item.id, s.now))
    s.advance(600)
    s.send(ev.ItemClose(item.agent, item.id, "done", s.now))
    return s, item


def test_an_items_arrival_is_no_call_and_its_acceptance_within_hours_is_in_the_service_level():
    s, item = handled_mail()
    figures = both(s.journal)
    assert total(figures.agencies).get("calls", 0) == 0
    mail = queue_total(figures, "mail")
    assert mail["offered"] == 1 and mail["answered"] == 1 and mail["answered_in_sl"] == 1
    assert mail["wait_answered"] == 2 * HOUR * 1000
    assert mail["talk"] == 600_000                    # talk_ended: the handling time
    assert mail.get("rona", 0) >= 1                   # offers not accepted in time
    assert not any(mail.get(n) for n in ("abandoned", "abandoned_after_sl", "short_abandoned", "in_progress"))
    table = build("queue", s.journal, s.now - timedelta(days=1), s.now + timedelta(hours=1), "1d", LIMITS,
                  channels=CHANNELS)
    row = table.rows[0]
    assert (row["queue"], row["channel"], row["service_level"], row["aht"]) == ("mail", "email", 1.0, 600.0)


def test_an_acceptance_after_the_target_is_outside_the_service_level():
    s, _ = handled_mail()
    mail = queue_total(both(s.journal, Limits(service_level={"mail": HOUR})), "mail")
    assert mail["answered"] == 1 and mail.get("answered_in_sl", 0) == 0


def test_a_waiting_item_is_in_progress_and_one_closed_unanswered_never_abandons():
    s = desk()
    item = s.item_of(s.mail())                       # nobody logged in: it waits
    assert queue_total(both(s.journal), "mail") == {"offered": 1, "in_progress": 1}
    s.advance(HOUR)
    s.send(ev.ItemClose("", item.id, "spam", s.now, by="sara"))
    assert queue_total(both(s.journal), "mail") == {"offered": 1}


def test_an_item_given_back_waits_again_and_its_next_acceptance_is_no_second_answer():
    s = desk()
    s.login("alice", "bob")
    item = s.item_of(s.mail())
    first = item.agent
    s.send(ev.ItemAccept(first, item.id, s.now))
    s.advance(60)
    s.send(ev.AgentLogout(first, s.now))
    assert "returned" in s.rows(item.id)
    after_return = queue_total(both(s.journal), "mail")
    assert after_return["answered"] == 1 and after_return["in_progress"] == 1
    second = item.agent or "bob"
    s.send(ev.ItemAccept(second, item.id, s.now))
    s.advance(60)
    s.send(ev.ItemClose(second, item.id, "done", s.now))
    figures = both(s.journal)
    mail = queue_total(figures, "mail")
    assert mail["answered"] == 1 and mail.get("in_progress", 0) == 0
    assert sum(c.get("answered", 0) for c in figures.agents.values()) == 1
    bands = wait_distribution(s.journal, s.now - timedelta(days=1), s.now + timedelta(hours=1))
    assert sum(a for _, a, _ in bands) == 1


def test_a_transferred_item_counts_its_handling_in_the_first_queue_and_is_offered_in_the_second():
    s = desk()
    s.login("alice")
    item = s.item_of(s.mail())
    s.send(ev.ItemAccept("alice", item.id, s.now))
    s.advance(120)
    s.send(ev.ItemTransfer("alice", item.id, "other", s.now))     # another agency's e-mail queue
    figures = both(s.journal)
    mail, other = queue_total(figures, "mail"), queue_total(figures, "other")
    assert (mail["transferred_out"], mail["talk"]) == (1, 120_000)
    assert other["offered"] == 1 and other["transferred_in"] == 1


def test_the_channel_report_splits_an_agency_and_its_channels_add_up_to_the_agency_row():
    s = desk()
    s.login("alice")
    s.call("caller-1")
    s.mail()
    s.mail(queue="sms", channel="sms")
    start, end = s.now - timedelta(days=1), s.now + timedelta(hours=1)
    figures = both(s.journal)
    by_channel = tabulate("channel", figures, start, end, "1d", LIMITS, channels=CHANNELS)
    rows = {r["channel"]: r for r in by_channel.rows}
    assert set(rows) == {"voice", "email", "sms"}
    assert (rows["voice"]["calls"], rows["voice"]["offered"]) == (1, 1)
    assert (rows["email"]["calls"], rows["email"]["offered"], rows["sms"]["offered"]) == (0, 1, 1)
    agency = tabulate("agency", figures, start, end, "1d", LIMITS, channels=CHANNELS).total
    for name in ("calls", "offered", "in_progress", "answered"):
        assert agency[name] == sum(r[name] for r in by_channel.rows)
    email_only = tabulate("agency", figures, start, end, "1d", LIMITS, channel="email", channels=CHANNELS)
    assert (email_only.total["calls"], email_only.total["offered"]) == (0, 1)
    voice_queues = tabulate("queue", figures, start, end, "1d", LIMITS, channel="voice", channels=CHANNELS)
    assert [(r["queue"], r["channel"]) for r in voice_queues.rows] == [("sales", "voice")]
    traffic = tabulate("traffic", figures, start, end, "1d", LIMITS, channel="email", channels=CHANNELS)
    assert traffic.total["offered"] == 1 and all(r["agents_needed"] is None for r in traffic.rows)
    # without a configuration every queue is voice
    assert {r["channel"] for r in tabulate("channel", figures, start, end, "1d", LIMITS).rows} == {"voice"}


def test_an_open_item_stays_in_the_live_figures_across_midnights():
    s = desk()
    clock = {"now": s.now}
    live = LiveFigures(LIMITS, lambda: clock["now"])
    item = s.item_of(s.mail())
    live.add(s.journal)
    s.advance(3 * 24 * HOUR)                          # waits three days, then a supervisor moves it
    s.send(ev.ItemTransfer("", item.id, "other", s.now, by="sara"))
    clock["now"] = s.now
    live.add(s.journal)
    today = live.today("queue", channels=CHANNELS)
    assert [(r["queue"], r["channel"], r["offered"], r["transferred_in"]) for r in today.rows] == [
        ("other", "email", 1, 1)]


def test_the_wallboards_queue_line_of_a_written_queue_counts_its_waiting_items_and_its_target():
    from engine import views

    s = desk()
    s.mail()
    s.advance(1800)
    s.mail()
    line = views.queue(s.engine, "mail")
    assert (line["channel"], line["service_level_target"], line["waiting"]) == ("email", 4 * HOUR, 2)
    assert line["longest_wait"] == 1800.0
    assert views.queue(s.engine, "sales")["channel"] == "voice"

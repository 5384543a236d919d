"""Written items (engine/written.py): capacity, blending with calls, offers, transfers,
closing, threading into an open item, restarts, and the journal the reports read."""
from __future__ import annotations

import itertools
import random

import pytest

from engine import effects as fx
from engine import events as ev
from engine.agents import AgentState
from engine.config import Capacity, Overflow, OverflowKind, Reason, TierRule
from engine.core import Engine
from engine.recovery import recover
from engine.written import ItemState
from tests.engine.builders import T0, Scenario, a_deployment, a_queue, an_agent

HOUR = 3600.0


def _deployment(capacity=None, agents=None, **mail):
    queues = [a_queue("sales"),
              a_queue("mail", channel="email", ring_timeout=60, service_level_seconds=4 * HOUR, **mail),
              a_queue("sms", channel="sms", ring_timeout=60, service_level_seconds=HOUR),
              a_queue("other", tenant="beta", channel="email", ring_timeout=60)]
    cap = capacity or Capacity()
    agents = agents or [an_agent("alice", {"sales": 1, "mail": 1, "sms": 1}, capacity=cap),
                        an_agent("bob", {"sales": 1, "mail": 1, "sms": 1, "other": 1}, capacity=cap)]
    d = a_deployment(queues=queues, agents=agents)
    return d


class Desk(Scenario):
    messages = itertools.count(1)

    def mail(self, case=None, queue="mail", channel="email", **kw) -> str:
        n = next(self.messages)
        message = f"msg-{n}"
        self.send(ev.WrittenArrived(channel, "acme", queue, message, case or f"case-{n}", self.now,
                                    sender=f"person{n}@example.org", **kw))
        return message

    def item_of(self, message: str):
        return self.engine.items[self.engine.filed[message]]

    def offered_to(self, agent: str) -> list[str]:
        return sorted(i.id for i in self.engine.items.values()
                      if i.agent == agent and i.state is ItemState.OFFERED)

    def held_by(self, agent: str) -> list[str]:
        return sorted(self.engine.agents[agent].written)

    def rows(self, item_id: str) -> list[str]:
        return [r.kind for r in self.journal if r.interaction == item_id]


def desk(capacity=None, agents=None, **mail) -> Desk:
    return Desk(_deployment(capacity, agents, **mail))


def test_an_item_is_offered_to_one_agent_and_accepting_makes_it_hers():
    s = desk()
    s.login("alice")
    item = s.item_of(s.mail())
    assert item.state is ItemState.OFFERED and item.agent == "alice"
    s.advance(90)                                   # not accepted in time: back, offered again
    assert s.rows(item.id)[:4] == ["arrived", "entered_queue", "offered", "no_answer"]
    s.send(ev.ItemAccept("alice", item.id, s.now))
    assert item.state is ItemState.OPEN
    answered = [r for r in s.journal if r.interaction == item.id and r.kind == "answered"]
    assert answered and float(answered[0].data["waited"]) == pytest.approx(90.0)   # arrival to acceptance


def test_capacity_counts_units_and_a_freed_unit_takes_the_next_item():
    s = desk(Capacity(written=2, costs={"email": 1.0, "sms": 0.5}))
    s.login("alice")
    mails = [s.item_of(s.mail()) for _ in range(3)]
    assert [m.state for m in mails] == [ItemState.OFFERED, ItemState.OFFERED, ItemState.QUEUED]
    sms = s.item_of(s.mail(queue="sms", channel="sms"))
    assert sms.state is ItemState.QUEUED            # 2 + 0.5 > 2
    s.send(ev.ItemAccept("alice", mails[0].id, s.now))
    s.send(ev.ItemClose("alice", mails[0].id, "done", s.now))
    # the oldest waiting item of her queues is offered next (the mail arrived first)
    assert mails[2].state is ItemState.OFFERED and sms.state is ItemState.QUEUED
    assert s.rows(mails[0].id)[-2:] == ["talk_ended", "ended"]


def test_never_offered_twice_at_once():
    s = desk()
    s.login("alice", "bob")
    items = [s.item_of(s.mail()) for _ in range(5)]
    offered = [r for r in s.journal if r.kind == "offered"]
    assert len(offered) == 5 and len({r.interaction for r in offered}) == 5
    # spread by load: neither carries more than one unit more than the other
    assert abs(len(s.held_by("alice")) - len(s.held_by("bob"))) <= 1
    assert all(i.state is ItemState.OFFERED for i in items)


def test_a_call_interrupts_written_work_by_default():
    s = desk()
    s.login("alice")
    item = s.item_of(s.mail())
    s.send(ev.ItemAccept("alice", item.id, s.now))
    s.call("caller-1")
    assert s.offered_agents() == ["alice"]


def test_no_call_while_more_written_units_are_open_than_the_limit():
    s = desk(Capacity(written=3, calls_up_to=1))
    s.login("alice")
    first, second = s.item_of(s.mail()), s.item_of(s.mail())
    s.call("caller-1")
    assert s.offered_agents() == []                 # 2 units open > 1
    s.send(ev.ItemAccept("alice", first.id, s.now))
    s.send(ev.ItemClose("alice", first.id, "done", s.now))
    assert s.offered_agents() == ["alice"]          # down to 1: the waiting call comes first
    assert second.state is ItemState.OFFERED


def test_no_written_offer_during_a_call_unless_allowed():
    s = desk()
    s.login("alice")
    s.call("caller-1")
    s.answer(s.leg_of("alice"))
    item = s.item_of(s.mail())
    assert item.state is ItemState.QUEUED
    s2 = desk(Capacity(written_during_call=True))
    s2.login("alice")
    s2.call("caller-1")
    s2.answer(s2.leg_of("alice"))
    assert s2.item_of(s2.mail()).state is ItemState.OFFERED


def test_a_waiting_call_is_offered_before_a_written_item_when_an_agent_frees_up():
    s = desk(Capacity(written=1, calls_up_to=0))
    s.login("alice")
    item = s.item_of(s.mail())
    s.send(ev.ItemAccept("alice", item.id, s.now))
    s.call("caller-1")
    waiting = s.item_of(s.mail())
    s.send(ev.ItemClose("alice", item.id, "done", s.now))
    assert s.offered_agents() == ["alice"] and waiting.state is ItemState.QUEUED


def test_reply_transfer_and_close_with_result_codes():
    d = _deployment()
    d = type(d)(**{**d.__dict__, "result_codes": (Reason("done", "Ferdig"),)})
    s = Desk(d)
    s.login("alice", "bob")
    item = s.item_of(s.mail())
    me = item.agent
    s.send(ev.ItemReply(me, item.id, "out-1", s.now))
    refused = [e for e in s.effects if isinstance(e, fx.Notify) and e.topic == "command_refused"]
    assert refused and refused[-1].payload["error_id"] == "item.refused"      # not accepted yet
    s.send(ev.ItemAccept(me, item.id, s.now))
    out = s.send(ev.ItemReply(me, item.id, "out-1", s.now))
    assert [e for e in out if isinstance(e, fx.SendWritten)] == [
        fx.SendWritten(item.id, "out-1", "email", "acme", "mail")]
    assert s.send(ev.ItemReply(me, item.id, "out-1", s.now)) == [] or not any(
        isinstance(e, fx.SendWritten) for e in s.effects[-3:])                   # the same reply once
    s.send(ev.WrittenSent(item.id, "out-1", s.now, external_id="<x@y>", via="email"))
    s.send(ev.ItemReply(me, item.id, "out-2", s.now))
    s.send(ev.WrittenSent(item.id, "out-2", s.now, via="none"))       # a task's answer with no contact
    replied = [dict(r.data) for r in s.journal if r.interaction == item.id and r.kind == "replied"]
    assert replied == [{"message": "out-1", "external_id": "<x@y>", "via": "email"},
                       {"message": "out-2", "external_id": "", "via": "none"}]
    s.send(ev.ItemTransfer(me, item.id, "other", s.now))
    assert item.queue == "other" and item.state is ItemState.OFFERED and item.agent == "bob"
    assert me == "bob" or s.held_by("alice") == []
    s.send(ev.ItemAccept("bob", item.id, s.now))
    s.send(ev.ItemClose("bob", item.id, "nonsense", s.now))
    refused = [e for e in s.effects if isinstance(e, fx.Notify) and e.topic == "command_refused"]
    assert refused[-1].payload["error_id"] == "item.refused" and item.id in s.engine.items
    s.send(ev.ItemClose("bob", item.id, "done", s.now))
    assert item.id not in s.engine.items and s.held_by("bob") == []
    kinds = s.rows(item.id)
    assert kinds.count("entered_queue") == 2 and "transferred" in kinds and "replied" in kinds
    assert kinds[-1] == "ended"
    ended = [r for r in s.journal if r.interaction == item.id][-1]
    assert ended.data["result"] == "done" and ended.data["reason"] == "closed"
    seqs = [r.seq for r in s.journal if r.interaction == item.id]
    assert seqs == list(range(1, len(seqs) + 1))


def test_only_the_holder_may_act_on_an_item():
    s = desk()
    s.login("alice", "bob")
    item = s.item_of(s.mail())
    other = "bob" if item.agent == "alice" else "alice"
    s.send(ev.ItemAccept(other, item.id, s.now))
    refused = [e for e in s.effects if isinstance(e, fx.Notify) and e.topic == "command_refused"]
    assert refused[-1].payload["error_id"] == "item.not_yours" and item.state is ItemState.OFFERED


def test_a_message_of_an_open_case_joins_its_item_and_a_duplicate_is_filed_once():
    s = desk()
    s.login("alice")
    first = s.mail(case="case-A")
    item = s.item_of(first)
    s.send(ev.WrittenArrived("email", "acme", "mail", "reply-1", "case-A", s.now))
    s.send(ev.WrittenArrived("email", "acme", "mail", "reply-1", "case-A", s.now))
    s.send(ev.WrittenArrived("email", "acme", "mail", first, "case-A", s.now))
    assert item.messages == [first, "reply-1"] and len(s.engine.items) == 1
    assert s.rows(item.id).count("message_added") == 1
    s.send(ev.ItemAccept("alice", item.id, s.now))
    s.send(ev.ItemClose("alice", item.id, "done", s.now))
    s.send(ev.WrittenArrived("email", "acme", "mail", "reply-2", "case-A", s.now))
    (new,) = s.engine.items.values()
    assert new.id != item.id and new.case == "case-A"


def test_pause_gives_back_offers_keeps_open_items_and_logout_gives_back_all():
    s = desk()
    s.login("alice")
    a, b = s.item_of(s.mail()), s.item_of(s.mail())
    s.send(ev.ItemAccept("alice", a.id, s.now))
    s.send(ev.AgentPause("alice", "lunch", s.now))
    assert a.state is ItemState.OPEN and b.state is ItemState.QUEUED and s.held_by("alice") == [a.id]
    s.send(ev.AgentLogout("alice", s.now))
    assert a.state is ItemState.QUEUED and a.front and s.held_by("alice") == []
    s.login("bob")
    assert a.agent == "bob"                         # the given-back item is first in line


def test_written_items_wait_for_days_and_overflow_only_to_a_queue():
    s = desk(max_wait=8 * HOUR, overflow=Overflow(OverflowKind.QUEUE, "sms"))
    item = s.item_of(s.mail())
    s.advance(7 * HOUR)
    assert item.queue == "mail"
    s.advance(2 * HOUR)
    assert item.queue == "sms" and "overflowed" in s.rows(item.id)
    s.advance(10 * 24 * HOUR)                       # no agent for ten days: still waiting, never dropped
    assert s.engine.items[item.id].state is ItemState.QUEUED


def test_tiers_widen_with_the_items_wait():
    s = desk(tiers=(TierRule(2, 2 * HOUR),),
             agents=[an_agent("alice", {"mail": 2}), an_agent("bob", {"sales": 1})])
    s.login("alice")
    item = s.item_of(s.mail())
    assert item.state is ItemState.QUEUED
    s.advance(2 * HOUR + 1)
    assert item.agent == "alice"


def test_a_restart_keeps_every_item_its_place_its_holder_and_its_timers():
    s = desk(Capacity(written=2))
    s.login("alice")
    a, b = s.item_of(s.mail()), s.item_of(s.mail())
    s.send(ev.ItemAccept("alice", a.id, s.now))
    waiting = [s.item_of(s.mail()) for _ in range(3)]
    stored_items = {e.payload["id"]: e.payload for e in s.effects
                    if isinstance(e, fx.Notify) and e.topic == "item_changed"}
    agents = {e.payload["agent"]: e.payload for e in s.effects
              if isinstance(e, fx.Notify) and e.topic == "agent_changed"}
    assert all(p["kind"] == "email" for p in stored_items.values())
    s.advance(30)
    counter = itertools.count(100)
    eng, out = recover(s.deployment, {}, agents=agents.values(), interactions=stored_items.values(),
                       at=s.now, rng=random.Random(1), new_id=lambda kind: f"{kind}-{next(counter)}")
    r = Desk(s.deployment, engine=eng, now=s.now)
    r.take(out)
    assert sorted(eng.items) == sorted([a.id, b.id] + [w.id for w in waiting])
    assert sorted(eng.agents["alice"].written) == sorted([a.id, b.id])
    assert eng.items[a.id].state is ItemState.OPEN and eng.items[b.id].state is ItemState.OFFERED
    assert f"itemoffer:{b.id}" in r.timers
    r.advance(40)                                   # b's offer ends 60 s after it was made
    # missed: it waits again, and alice is offered the next waiting item instead
    assert eng.items[b.id].state is ItemState.QUEUED and eng.items[b.id].last_agent == "alice"
    assert eng.items[waiting[0].id].state is ItemState.OFFERED and eng.items[waiting[0].id].agent == "alice"
    assert [row.kind for row in r.journal if row.interaction == b.id][0] == "no_answer"
    first_seq = [row.seq for row in r.journal if row.interaction == b.id][0]
    assert first_seq == stored_items[b.id]["last_seq"] + 1


def test_calls_are_unchanged_for_agents_without_written_work():
    s = desk()
    s.login("alice", "bob")
    s.call("caller-1")
    assert len(s.offered_agents()) == 1
    assert [a.state for a in s.engine.agents.values()].count(AgentState.OFFERED) == 1


def _notices(s, topic):
    return [e.payload for e in s.effects if isinstance(e, fx.Notify) and e.topic == topic]


def test_a_reply_failing_after_the_item_was_closed_is_told_to_its_agent():
    s = desk()
    s.login("alice")
    item = s.item_of(s.mail())
    s.send(ev.ItemAccept("alice", item.id, s.now))
    s.send(ev.ItemReply("alice", item.id, "out-1", s.now))
    s.send(ev.ItemClose("alice", item.id, "done", s.now))              # reply then close at once
    rows = len(s.journal)
    s.send(ev.WrittenSendFailed(item.id, "out-1", "550 no such user", True, s.now))
    (failed,) = _notices(s, "written_send_failed")
    assert failed["agent"] == "alice" and failed["tenant"] == "acme" and failed["permanent"]
    s.send(ev.WrittenSent(item.id, "out-1", s.now, via="email"))
    assert len(s.journal) == rows                                      # nothing after `ended`
    assert not _notices(s, "written_sent")


def test_an_agent_removed_by_a_reload_gives_her_written_items_back():
    s = desk()
    s.login("alice")
    a, b = s.item_of(s.mail()), s.item_of(s.mail())
    s.send(ev.ItemAccept("alice", a.id, s.now))
    d = _deployment(agents=[an_agent("bob", {"sales": 1, "mail": 1, "sms": 1})])
    s.deployment = d
    s.send(ev.ConfigReloaded(d, s.now))
    assert "alice" not in s.engine.agents
    assert a.state is ItemState.QUEUED and a.agent == "" and a.front and "returned" in s.rows(a.id)
    assert b.state is ItemState.QUEUED and b.agent == ""
    s.login("bob")
    assert a.agent == "bob" and b.agent == "bob"


def test_a_transfer_stays_in_its_channel_and_moves_the_case_to_the_new_agency():
    s = desk()
    s.login("alice", "bob")
    item = s.item_of(s.mail())
    me = item.agent
    s.send(ev.ItemAccept(me, item.id, s.now))
    s.send(ev.ItemTransfer(me, item.id, "sms", s.now))
    assert _notices(s, "command_refused")[-1]["error_id"] == "item.refused"
    assert item.queue == "mail" and item.state is ItemState.OPEN and item.agent == me
    s.send(ev.ItemTransfer(me, item.id, "other", s.now))
    assert item.queue == "other" and item.tenant == "beta" and item.agent == "bob"
    s.send(ev.ItemAccept("bob", item.id, s.now))
    s.send(ev.ItemClose("bob", item.id, "done", s.now))
    rows = [r for r in s.journal if r.interaction == item.id]
    assert rows[-1].kind == "ended" and rows[-1].tenant == "beta"
    assert [r.tenant for r in rows if r.kind == "entered_queue"] == ["acme", "beta"]


def test_a_declined_item_does_not_come_straight_back_while_another_waits():
    s = desk(Capacity(written=1))
    s.login("alice")
    a, b = s.item_of(s.mail()), s.item_of(s.mail())
    assert a.agent == "alice" and b.state is ItemState.QUEUED
    s.send(ev.ItemDecline("alice", a.id, s.now))
    assert b.state is ItemState.OFFERED and b.agent == "alice"
    assert a.state is ItemState.QUEUED
    s.send(ev.ItemDecline("alice", b.id, s.now))        # both declined: the older one is hers again
    assert a.agent == "alice" and b.state is ItemState.QUEUED


def test_a_restart_moves_an_item_off_a_removed_queue_or_keeps_the_queue():
    s = desk()
    s.login("alice")
    held = s.item_of(s.mail())
    s.send(ev.ItemAccept("alice", held.id, s.now))
    text = s.item_of(s.mail(queue="sms", channel="sms"))
    stored = {e.payload["id"]: e.payload for e in s.effects
              if isinstance(e, fx.Notify) and e.topic == "item_changed"}
    agents = {e.payload["agent"]: e.payload for e in s.effects
              if isinstance(e, fx.Notify) and e.topic == "agent_changed"}
    # the configuration loses "mail" (another e-mail queue of acme is there) and "sms" (none)
    d = a_deployment(queues=[a_queue("sales"), a_queue("post", channel="email", ring_timeout=60),
                             a_queue("other", tenant="beta", channel="email")],
                     agents=[an_agent("alice", {"sales": 1, "post": 1}), an_agent("bob", {"post": 1})])
    counter = itertools.count(100)
    eng, out = recover(d, {}, agents=agents.values(), interactions=stored.values(), at=s.now,
                       rng=random.Random(1), new_id=lambda kind: f"{kind}-{next(counter)}")
    moved = eng.items[held.id]
    assert moved.queue == "post" and moved.tenant == "acme" and moved.agent in ("alice", "bob")
    rows = [r for r in out if isinstance(r, fx.Journal) and r.interaction == held.id]
    assert [r.kind for r in rows][:2] == ["transferred", "entered_queue"]
    assert rows[0].data["by"] == "configuration" and rows[0].data["to_queue"] == "post"
    assert rows[0].seq == stored[held.id]["last_seq"] + 1
    kept = eng.items[text.id]
    assert kept.queue == "sms" and kept.state is ItemState.OFFERED and kept.agent == "alice"
    assert eng.deployment.queues["sms"].channel == "sms"
    r = Desk(d, engine=eng, now=s.now)
    r.take(out)
    r.advance(90)                                   # her offer ends: it waits in the kept queue
    assert kept.state is ItemState.QUEUED and eng.written.count("sms") == 1


def test_settling_drops_a_gone_items_id_and_tells_her_record():
    from engine import written
    s = desk()
    s.login("alice")
    s.send(ev.AgentLogout("alice", s.now))
    agent = s.engine.agents["alice"]
    agent.written["gone"] = 1.0                     # an item that is no longer in the engine
    written.route_agent(s.engine, agent)
    out = s.engine._flush()
    changed = [e.payload for e in out if isinstance(e, fx.Notify) and e.topic == "agent_changed"]
    assert agent.written == {} and changed and changed[-1]["written_units"] == 0

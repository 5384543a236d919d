"""Camp-on (engine/campon.py): a blind transfer to a busy target waits for it, tries it again
every `campon_retry` s and comes back to the operator after `campon_timeout`; the
switch's race orders, the caller leaving, and an engine restart in every phase."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import effects as fx
from engine import events as ev

from tests.engine.builders import NODE, a_queue, a_tenant
from tests.engine.test_transfer import IX, MOH, ix_state, music_to, refusals, talking, target_leg
from tests.engine.test_recovery import restarted

PROMPT = "sentral/campon.wav"


def camping(retry=15.0, timeout=40.0, prompt="", **kw):
    """alice transfers c1 to SIP user 1001 with camp-on; (scenario, the first try's leg)."""
    s, _ = talking(tenants=[a_tenant(campon_retry=retry, campon_timeout=timeout, campon_prompt=prompt)],
                   queues=[a_queue(wrapup=0)], **kw)
    out = s.send(ev.CallTransfer("alice", "1001", s.now, kind="user", name="Per Hansen", camp_on=True))
    assert refusals(out) == []
    return s, target_leg(s)


def tries(s) -> list[fx.Originate]:
    return [o for o in s.originates() if o.variables.get("cc_transfer")]


def rows(s, kind) -> list[fx.Journal]:
    return [j for j in s.journal if j.interaction == IX and j.kind == kind]


# -- the first busy --------------------------------------------------------------------------
def test_given_camp_on_when_the_target_is_busy_then_the_caller_waits_with_music_and_no_recall():
    s, leg = camping()
    s.advance(1)
    out = s.fail(leg, "USER_BUSY")
    assert ix_state(s) == "camped" and s.state("alice") == "available"      # wrap-up 0: free at once
    assert "recalled" not in s.kinds(IX) and not s.of(fx.Originate, out)
    started = rows(s, "camp_on_started")[0]
    assert started.agent == "alice" and started.data["target"] == "1001" and started.data["cause"] == "USER_BUSY"
    assert started.data["until"] == (s.now + timedelta(seconds=40)).isoformat()
    assert s.timers[f"campon:{IX}"] == s.now + timedelta(seconds=15)
    assert s.timers[f"camponend:{IX}"] == s.now + timedelta(seconds=40)
    assert f"xfer:{IX}" not in s.timers
    assert not s.of(fx.StopPlayback, out)                  # the music goes on, no prompt configured
    tags = [e.variables for e in s.of(fx.SetVariables, out) if e.uuid == "c1"][-1]
    assert (tags["cc_state"], tags["cc_camp_on"], tags["cc_target_uuid"]) == ("camped", "1", "")


def test_given_no_camp_on_when_the_target_is_busy_then_recalled_as_before():
    s, _ = talking(queues=[a_queue(wrapup=0)])
    s.send(ev.CallTransfer("alice", "1001", s.now, kind="user"))
    s.fail(target_leg(s), "USER_BUSY")
    assert s.kinds(IX)[-3:] == ["transfer_failed", "recalled", "offered"]
    assert rows(s, "recalled")[0].data["reason"] == "busy" and not rows(s, "camp_on_started")


@pytest.mark.parametrize("cause,reason", [("NO_ANSWER", "no_answer"), ("CALL_REJECTED", "rejected"),
                                          ("USER_NOT_REGISTERED", "unregistered")])
def test_given_camp_on_when_the_target_fails_otherwise_then_recalled_with_that_reason(cause, reason):
    s, leg = camping()
    s.fail(leg, cause)
    assert rows(s, "recalled")[0].data["reason"] == reason and not rows(s, "camp_on_started")


def test_given_camp_on_and_our_ring_timer_when_the_first_try_is_not_answered_then_recall_no_answer():
    s, leg = camping()
    s.advance(22)
    assert [h for h in s.of(fx.Hangup) if h.uuid == leg] and rows(s, "recalled")[0].data["reason"] == "no_answer"


# -- tries -----------------------------------------------------------------------------------
def test_every_retry_rings_the_target_again_exactly_as_the_first_time():
    s, leg = camping()
    s.fail(leg, "USER_BUSY")
    out = s.advance(15)
    second = s.originates(out)
    assert len(second) == 1 and ix_state(s) == "transferring"
    first = tries(s)[0]
    assert (second[0].sip_user, second[0].caller_id_number, second[0].timeout) == (
        first.sip_user, first.caller_id_number, first.timeout)
    assert second[0].leg_uuid != leg and second[0].variables["cc_caller_uuid"] == "c1"
    assert rows(s, "camp_on_retry")[0].data == {"target": "1001", "attempt": "1", "leg": second[0].leg_uuid}
    assert s.timers[f"xfer:{IX}"] == s.now + timedelta(seconds=22)
    assert [e.variables["cc_target_uuid"] for e in s.of(fx.SetVariables, out) if e.uuid == "c1"][-1] == \
        second[0].leg_uuid                                  # a restart finds the try's leg


def test_a_busy_retry_waits_again_and_the_retries_stop_before_the_end():
    s, leg = camping(retry=15, timeout=40)
    s.fail(leg, "USER_BUSY")
    for attempt in (1, 2):
        s.advance(15)
        s.fail(tries(s)[-1].leg_uuid, "USER_BUSY")
        assert ix_state(s) == "camped" and rows(s, "camp_on_busy")[-1].data["attempt"] == str(attempt)
    assert f"campon:{IX}" not in s.timers                   # a third try would start after the end (45 > 40)
    assert s.engine.calls[IX].deadline == s.engine.calls[IX].camp_until
    s.advance(10)
    assert len(tries(s)) == 3
    assert s.kinds(IX)[-3:] == ["camp_on_timeout", "recalled", "offered"]
    assert rows(s, "recalled")[-1].data["reason"] == "campon_timeout"
    assert rows(s, "camp_on_timeout")[0].data["tries"] == "2"
    assert s.originates()[-1].variables["cc_agent"] == "alice"     # back to the same operator
    assert s.originates()[-1].variables["cc_recall"] == "campon_timeout"
    s.assert_journal_exact()


def test_a_retry_answered_connects_the_caller_as_a_transferred_call():
    s, leg = camping()
    s.fail(leg, "USER_BUSY")
    s.advance(15)
    second = tries(s)[-1].leg_uuid
    out = s.answer(second)
    assert s.of(fx.Bridge, out)[-1] == fx.Bridge(NODE, "c1", second)
    assert s.of(fx.StopPlayback, out) and f"camponend:{IX}" not in s.timers and f"campon:{IX}" not in s.timers
    assert rows(s, "transfer_answered")[0].data["camp_on_tries"] == "1"
    ix = s.engine.calls[IX]
    assert ix.transferred and ix.camp_until is None and ix_state(s) == "connected"
    s.advance(200)                                          # no camp-on timer left to fire
    s.hangup("c1")
    assert s.kinds(IX)[-2:] == ["talk_ended", "ended"] and s.journal[-1].data["reason"] == "transferred"
    s.assert_journal_exact()


def test_a_retry_not_answered_ends_the_camp_on_with_a_no_answer_recall():
    s, leg = camping(timeout=100)
    s.fail(leg, "USER_BUSY")
    s.advance(15)
    s.advance(22)                                           # the try rang its whole time
    assert rows(s, "recalled")[0].data["reason"] == "no_answer"
    assert f"camponend:{IX}" not in s.timers and f"campon:{IX}" not in s.timers
    s.assert_journal_exact()


# -- races: the end against a try -------------------------------------------------------------
def test_the_end_while_a_try_rings_hangs_it_up_and_its_late_answer_changes_nothing():
    s, leg = camping(retry=15, timeout=20)
    s.fail(leg, "USER_BUSY")
    s.advance(15)
    ringing = tries(s)[-1].leg_uuid
    out = s.advance(5)                                      # the end, 5 s into the try
    assert fx.Hangup(NODE, ringing, "ORIGINATOR_CANCEL") in out
    assert s.kinds(IX)[-3:] == ["camp_on_timeout", "recalled", "offered"]
    journal = len(s.journal)
    out = s.answer(ringing)                                 # the target picks up a moment too late
    assert fx.Hangup(NODE, ringing, "ORIGINATOR_CANCEL") in out
    assert not s.of(fx.Bridge, out) and len(s.journal) == journal
    assert ix_state(s) == "offering" and s.engine.calls[IX].recall_reason == "campon_timeout"
    s.fail(ringing, "ORIGINATOR_CANCEL")                    # its job's reply, last
    s.hangup(ringing)
    assert len(s.journal) == journal
    s.assert_journal_exact()


def test_a_busy_reply_of_a_try_after_the_end_changes_nothing():
    s, leg = camping(retry=15, timeout=20)
    s.fail(leg, "USER_BUSY")
    s.advance(20)
    ringing = tries(s)[-1].leg_uuid
    journal = len(s.journal)
    s.fail(ringing, "USER_BUSY")
    assert len(s.journal) == journal and f"campon:{IX}" not in s.timers
    s.assert_journal_exact()


def test_a_stale_retry_timer_after_the_answer_does_nothing():
    s, leg = camping()
    s.fail(leg, "USER_BUSY")
    s.advance(15)
    s.answer(tries(s)[-1].leg_uuid)
    journal, originates = len(s.journal), len(s.originates())
    s.send(ev.TimerFired(f"campon:{IX}", s.now))            # a timer whose cancel crossed its firing
    s.send(ev.TimerFired(f"camponend:{IX}", s.now + timedelta(seconds=100)))
    assert len(s.journal) == journal and len(s.originates()) == originates


def test_busy_reported_twice_for_one_try_camps_once():
    s, leg = camping()
    s.fail(leg, "USER_BUSY")                               # the job's -ERR USER_BUSY
    s.hangup(leg, "USER_BUSY")                              # and the leg's own hang-up
    assert len(rows(s, "camp_on_started")) == 1 and not rows(s, "camp_on_busy")


# -- the caller ---------------------------------------------------------------------------------
def test_the_caller_hanging_up_while_camped_ends_the_call_once():
    s, leg = camping()
    s.fail(leg, "USER_BUSY")
    s.hangup("c1")
    assert s.kinds(IX)[-2:] == ["camp_on_abandoned", "ended"] and s.journal[-1].data["reason"] == "caller_left"
    assert f"campon:{IX}" not in s.timers and f"camponend:{IX}" not in s.timers
    s.advance(200)
    assert not s.engine.calls and len(tries(s)) == 1
    s.assert_journal_exact()


def test_the_caller_hanging_up_while_a_try_rings_cancels_the_try():
    s, leg = camping()
    s.fail(leg, "USER_BUSY")
    s.advance(15)
    ringing = tries(s)[-1].leg_uuid
    out = s.hangup("c1")
    assert fx.Hangup(NODE, ringing, "ORIGINATOR_CANCEL") in out
    assert s.kinds(IX)[-2:] == ["camp_on_abandoned", "ended"]
    s.answer(ringing)                                       # answers anyway: hung up again, nothing else
    assert s.kinds(IX)[-1] == "ended"
    s.assert_journal_exact()


# -- what the caller hears ------------------------------------------------------------------------
def test_the_camp_on_prompt_plays_once_then_music_again():
    s, leg = camping(prompt=PROMPT)
    assert music_to(s, "c1")                                # music since the operator left
    out = s.fail(leg, "USER_BUSY")
    assert s.of(fx.StopPlayback, out) and s.of(fx.Play, out) == [fx.Play(NODE, "c1", PROMPT)]
    s.played("c1", MOH)                                     # the music we stopped reports its end
    assert not music_to(s, "c1", s.effects[-3:])
    out = s.played("c1", PROMPT)
    assert music_to(s, "c1", out) == [fx.Play(NODE, "c1", MOH, loop=True)]
    s.advance(15)
    s.fail(tries(s)[-1].leg_uuid, "USER_BUSY")              # a second busy: no prompt again
    assert [p for p in s.of(fx.Play) if p.prompt == PROMPT] == [fx.Play(NODE, "c1", PROMPT)]


def test_busy_before_the_caller_left_the_operators_bridge_plays_the_prompt_on_its_park():
    s, _ = talking(tenants=[a_tenant(campon_prompt=PROMPT)], queues=[a_queue(wrapup=0)], confirm_hangups=False)
    s.send(ev.CallTransfer("alice", "1001", s.now, kind="user", camp_on=True))
    out = s.fail(target_leg(s), "USER_BUSY")                # faster than the operator's leg's end
    assert not s.of(fx.Play, out)                           # the caller may still be in the old bridge
    out = s.repark("c1")
    assert s.of(fx.Play, out) == [fx.Play(NODE, "c1", PROMPT)]
    out = s.played("c1", PROMPT)
    assert music_to(s, "c1", out) == [fx.Play(NODE, "c1", MOH, loop=True)]


# -- the operator's choice on a busy recall ----------------------------------------------------------
def test_a_busy_recall_answered_by_the_operator_can_be_transferred_again_with_camp_on():
    s, _ = talking(queues=[a_queue(wrapup=0)])
    s.send(ev.CallTransfer("alice", "1001", s.now, kind="user"))
    s.fail(target_leg(s), "USER_BUSY")
    s.talk("c1", "alice")                                   # the recall rings her, she answers
    assert s.engine.calls[IX].recall_reason == "busy"
    out = s.send(ev.CallTransfer("alice", "1001", s.now, kind="user", camp_on=True))
    assert refusals(out) == [] and rows(s, "transfer_started")[-1].data["camp_on"] == "1"
    s.fail(target_leg(s), "USER_BUSY")
    assert ix_state(s) == "camped"
    s.assert_journal_exact()


def test_camp_on_asked_with_a_transfer_to_a_queue_is_a_plain_queue_transfer():
    s, _ = talking(queues=[a_queue("sales", wrapup=0), a_queue("support")])
    out = s.send(ev.CallTransfer("alice", "support", s.now, kind="queue", camp_on=True))
    assert refusals(out) == [] and "transferred" in s.kinds(IX) and not rows(s, "camp_on_started")
    assert not s.engine.calls[IX].camp_on


# -- restart --------------------------------------------------------------------------------------
@pytest.mark.parametrize("with_store", [True, False])
def test_restart_while_camped_keeps_both_times_and_the_next_try_rings(with_store):
    s, leg = camping(retry=15, timeout=40)
    s.fail(leg, "USER_BUSY")
    until = s.engine.calls[IX].camp_until
    s.advance(5)
    s2 = restarted(s, alive={"c1"}, with_store=with_store)
    ix = s2.engine.calls[IX]
    assert ix.state.value == "camped" and ix.camp_until == until and ix.recall_agent == "alice"
    assert s2.timers[f"campon:{IX}"] == until - timedelta(seconds=25)
    assert s2.timers[f"camponend:{IX}"] == until
    assert len(music_to(s2, "c1", s2.effects[len(s.effects):])) == 1
    out = s2.advance(10)
    assert len(s2.originates(out)) == 1 and ix.camp_tries == 1
    if not with_store:
        s2.login("alice")                                   # without the store nobody is logged in
    s2.fail(s2.originates(out)[0].leg_uuid, "USER_BUSY")
    s2.advance(25)
    assert s2.kinds(IX)[-3:-1] == ["camp_on_timeout", "recalled"]
    s2.assert_journal_exact()


def test_restart_after_the_camp_on_ended_recalls_at_once():
    s, leg = camping(retry=15, timeout=40)
    s.fail(leg, "USER_BUSY")
    s.timers.clear()                                        # the engine was away past the end
    s.now += timedelta(seconds=45)
    s2 = restarted(s, alive={"c1"})
    assert s2.kinds(IX)[-3:] == ["camp_on_timeout", "recalled", "offered"]
    assert [j for j in s2.journal if j.kind == "recalled"][-1].data["reason"] == "campon_timeout"
    s2.assert_journal_exact()


def test_restart_after_a_missed_try_rings_it_at_once():
    s, leg = camping(retry=15, timeout=40)
    s.fail(leg, "USER_BUSY")
    s.timers.clear()
    s.now += timedelta(seconds=20)
    s2 = restarted(s, alive={"c1"})
    assert s2.engine.calls[IX].state.value == "transferring" and s2.kinds(IX)[-1] == "camp_on_retry"
    s2.assert_journal_exact()


def test_restart_while_a_try_rings_keeps_it_and_its_leg_gone_counts_as_busy():
    s, leg = camping(retry=15, timeout=60)
    s.fail(leg, "USER_BUSY")
    s.advance(15)
    ringing = tries(s)[-1].leg_uuid
    s2 = restarted(s, alive={"c1", ringing})
    assert s2.engine.calls[IX].state.value == "transferring" and s2.engine.calls[IX].target_leg == ringing
    assert f"camponend:{IX}" in s2.timers and f"xfer:{IX}" in s2.timers
    s3 = restarted(s, alive={"c1"})                         # the try ended while the engine was away
    assert s3.engine.calls[IX].state.value == "camped" and s3.kinds(IX)[-1] == "camp_on_busy"
    assert f"campon:{IX}" in s3.timers
    s3.assert_journal_exact()

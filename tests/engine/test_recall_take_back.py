"""The operator takes a moved call back (engine.recall.take_back, `CallRecall`): while the
target rings, while camped on a busy target, while parked; who may, the refusals, the
races with the target's answer and the caller's hang-up, and an engine restart."""
from __future__ import annotations

from engine import effects as fx
from engine import events as ev
from engine import views

from tests.engine.builders import NODE, a_queue, a_tenant, an_agent
from tests.engine.test_recovery import restarted
from tests.engine.test_transfer import IX, ix_state, notices, refusals, talking, target_leg, transfer


def take_back(s, agent="alice", interaction=IX) -> list:
    return s.send(ev.CallRecall(agent, interaction, s.now))


def rows(s, kind) -> list[fx.Journal]:
    return [j for j in s.journal if j.interaction == IX and j.kind == kind]


# -- the target rings --------------------------------------------------------------------------
def test_given_the_target_rings_when_taken_back_then_its_leg_is_cancelled_and_it_rings_the_operator_alone():
    s, _ = talking(names=("alice", "bob"), queues=[a_queue(wrapup=60)])
    transfer(s)
    leg = target_leg(s)
    s.advance(3)
    assert s.state("alice") == "wrap_up"
    out = take_back(s)
    assert refusals(out) == []
    assert fx.Hangup(NODE, leg, "ORIGINATOR_CANCEL") in out and leg in s.engine.cancelled
    assert s.kinds(IX)[-3:] == ["taken_back", "recalled", "offered"]
    row = rows(s, "taken_back")[0]
    assert (row.agent, row.data["moved"], row.data["target"], row.data["leg"]) == ("alice", "transferring", "1001", leg)
    assert rows(s, "recalled")[0].data["reason"] == "taken_back"
    assert s.offered_agents(out) == ["alice"]                 # bob is available: alice gets it, alone
    assert s.originates(out)[0].variables["cc_recall"] == "taken_back"
    assert f"xfer:{IX}" not in s.timers and f"wrapup:alice" not in s.timers
    assert notices(s, "recall")[-1] == {"agent": "alice", "interaction": IX, "tenant": "acme",
                                        "reason": "taken_back"}
    mine = s.leg_of("alice")
    s.answer(mine)
    s.send(ev.Bridged(NODE, "c1", mine, s.now))
    ix = s.engine.calls[IX]
    assert (ix.state.value, ix.agent, ix.bridged) == ("connected", "alice", True)
    s.hangup("c1")
    s.advance(60)
    s.assert_journal_exact()


def test_the_target_answering_after_the_take_back_is_hung_up_and_bridges_nothing():
    s, agent_leg = talking(confirm_hangups=False)
    transfer(s)
    leg = target_leg(s)
    s.hangup(agent_leg)
    assert refusals(take_back(s)) == []
    rows_before = len(s.journal)
    out = s.answer(leg)                                       # the answer was on its way
    assert out[0] == fx.Hangup(NODE, leg, "ORIGINATOR_CANCEL")
    assert not s.of(fx.Bridge, out) and len(s.journal) == rows_before
    assert ix_state(s) in ("queued", "offering") and not s.engine.calls[IX].transferred
    s.hangup(leg)
    assert leg not in s.engine.cancelled and len(s.journal) == rows_before


def test_the_target_answering_first_keeps_the_call():
    s, _ = talking()
    transfer(s)
    leg = target_leg(s)
    s.answer(leg)
    out = take_back(s)
    assert refusals(out) == ["recall.answered"]
    assert not s.of(fx.Hangup, out) and "taken_back" not in s.kinds(IX)
    ix = s.engine.calls[IX]
    assert ix.state.value == "connected" and ix.transferred and ix.agent_leg == leg


def test_a_take_back_after_the_recall_came_is_refused_and_changes_nothing():
    s, _ = talking()
    transfer(s)
    s.fail(target_leg(s), "NO_ANSWER")
    assert refusals(take_back(s)) == ["recall.not_moved"]
    assert s.kinds(IX).count("recalled") == 1


# -- who may -----------------------------------------------------------------------------------
def test_only_the_operator_who_moved_the_call_takes_it_back():
    queues = [a_queue("sales"), a_queue("other", tenant="beta")]
    agents = [an_agent("alice"), an_agent("bob"), an_agent("carol", queues={"other": 1})]
    s, _ = talking(names=("alice", "bob", "carol"), queues=queues, agents=agents)
    assert refusals(take_back(s)) == ["recall.not_moved"]       # her own call, connected
    assert refusals(take_back(s, "bob")) == ["recall.not_moved"]
    transfer(s)
    leg = target_leg(s)
    assert refusals(take_back(s, "bob")) == ["recall.not_yours"]
    assert refusals(take_back(s, "carol")) == ["recall.not_yours"]
    assert refusals(take_back(s, "alice", "interaction-99")) == ["engine.no_call"]
    assert refusals(take_back(s, "nobody")) == ["engine.unknown_agent"]
    assert ix_state(s) == "transferring" and s.engine.calls[IX].target_leg == leg
    s.answer(leg)
    assert refusals(take_back(s, "carol")) == ["recall.not_yours"]  # another agency: not told it was answered
    assert refusals(take_back(s, "bob")) == ["recall.answered"]


def test_a_call_sent_to_a_queue_is_not_taken_back():
    s, _ = talking(queues=[a_queue("sales"), a_queue("orders")])
    s.send(ev.CallTransfer("alice", "orders", s.now, kind="queue", name="Orders"))
    assert refusals(take_back(s)) == ["recall.not_moved"]


def test_an_operator_on_another_call_or_paused_is_refused_and_the_transfer_goes_on():
    s, _ = talking(names=("alice", "bob"), queues=[a_queue(wrapup=0)])
    s.send(ev.AgentPause("bob", "lunch", s.now))
    transfer(s)
    leg = target_leg(s)
    s.call("c2")
    s.talk("c2", "alice")
    out = take_back(s)
    assert refusals(out) == ["recall.busy"] and not s.of(fx.Hangup, out)
    assert ix_state(s) == "transferring" and f"xfer:{IX}" in s.timers
    s.hangup("c2")
    s.send(ev.AgentPause("alice", "lunch", s.now))
    assert refusals(take_back(s)) == ["recall.busy"]
    s.send(ev.AgentResume("alice", s.now))
    s.register("alice", registered=False)
    assert refusals(take_back(s)) == ["recall.busy"]
    s.register("alice")
    out = take_back(s)
    assert refusals(out) == [] and fx.Hangup(NODE, leg, "ORIGINATOR_CANCEL") in out
    assert s.offered_agents(out) == ["alice"]


def test_a_reject_delay_is_waived_for_the_take_back():
    s, _ = talking(queues=[a_queue(wrapup=0)])
    transfer(s)
    s.call("c2")
    s.send(ev.CallHangup("alice", s.now))                      # she rejects c2: her reject delay starts
    assert s.engine.agents["alice"].ready_at is not None and not s.engine.agents["alice"].routable
    out = take_back(s)
    assert refusals(out) == [] and s.offered_agents(out) == ["alice"]
    assert s.originates(out)[0].variables["cc_caller_uuid"] == "c1"


def test_while_the_operators_moved_leg_is_not_yet_gone_the_take_back_is_refused_not_handed_to_bob():
    s, agent_leg = talking(names=("alice", "bob"), confirm_hangups=False, queues=[a_queue(wrapup=0)])
    transfer(s)
    out = take_back(s)                                         # her old leg is not reported gone yet
    assert refusals(out) == ["recall.busy"] and not s.offered_agents(out) and ix_state(s) == "transferring"
    s.hangup(agent_leg)
    out = take_back(s)
    assert refusals(out) == [] and s.offered_agents(out) == ["alice"]


# -- camp-on and park --------------------------------------------------------------------------
def _camped(s):
    s.send(ev.CallTransfer("alice", "1001", s.now, kind="user", name="Per Hansen", camp_on=True))
    s.fail(target_leg(s), "USER_BUSY")
    assert ix_state(s) == "camped"


def test_camped_on_a_busy_target_when_taken_back_then_no_more_tries():
    s, _ = talking(tenants=[a_tenant(campon_retry=15, campon_timeout=60)], queues=[a_queue(wrapup=0)])
    _camped(s)
    s.advance(5)
    out = take_back(s)
    assert refusals(out) == [] and not s.of(fx.Hangup, out)    # no try rings now
    assert s.kinds(IX)[-3:] == ["taken_back", "recalled", "offered"]
    assert rows(s, "taken_back")[0].data["moved"] == "camped"
    assert not {f"campon:{IX}", f"camponend:{IX}"} & set(s.timers)
    tries = len([o for o in s.originates() if o.variables.get("cc_transfer")])
    s.advance(120)
    assert len([o for o in s.originates() if o.variables.get("cc_transfer")]) == tries
    assert not s.engine.calls[IX].camp_on


def test_a_camp_on_try_ringing_is_cancelled_by_the_take_back():
    s, _ = talking(tenants=[a_tenant(campon_retry=15, campon_timeout=60)], queues=[a_queue(wrapup=0)])
    _camped(s)
    s.advance(15)
    assert ix_state(s) == "transferring"
    leg = target_leg(s)
    out = take_back(s)
    assert fx.Hangup(NODE, leg, "ORIGINATOR_CANCEL") in out and rows(s, "taken_back")[0].data["moved"] == "transferring"
    assert s.offered_agents(out) == ["alice"]
    s.assert_journal_exact()


def test_a_parked_call_taken_back_by_its_operator_rings_them():
    s, _ = talking(names=("alice", "bob"), tenants=[a_tenant(park_timeout=90)], queues=[a_queue(wrapup=0)])
    s.send(ev.CallPark("alice", s.now))
    assert refusals(take_back(s, "bob")) == ["recall.not_yours"]   # bob picks it up instead
    out = take_back(s)
    assert s.kinds(IX)[-3:] == ["taken_back", "recalled", "offered"] and s.offered_agents(out) == ["alice"]
    assert f"park:{IX}" not in s.timers and rows(s, "taken_back")[0].data["moved"] == "parked"
    assert views.parked(s.engine, ["acme"]) == []


# -- the caller ----------------------------------------------------------------------------------
def test_the_caller_hanging_up_after_the_take_back_ends_the_call_once():
    s, _ = talking()
    transfer(s)
    take_back(s)
    mine = s.leg_of("alice")
    out = s.hangup("c1")
    assert fx.Hangup(NODE, mine, "ORIGINATOR_CANCEL") in out or any(h.uuid == mine for h in s.of(fx.Hangup, out))
    assert s.kinds(IX)[-2:] == ["abandoned", "ended"] and not s.engine.calls
    s.assert_journal_exact()


def test_the_caller_gone_before_the_take_back_is_a_plain_refusal():
    s, _ = talking()
    transfer(s)
    s.hangup("c1")
    assert refusals(take_back(s)) == ["engine.no_call"]
    s.assert_journal_exact()


# -- the console's view ----------------------------------------------------------------------------
def test_the_console_shows_the_moved_call_with_take_back_until_it_is_back():
    s, _ = talking(queues=[a_queue(wrapup=0)])
    transfer(s)
    assert s.state("alice") == "available"
    call = views.console(s.engine, "alice")["call"]
    assert (call["id"], call["state"], call["take_back"], call["target"]) == (IX, "transferring", True, "1001")
    assert views.console(s.engine, "alice")["call"]["recall_reason"] == ""
    take_back(s)
    call = views.console(s.engine, "alice")["call"]
    assert (call["state"], call["take_back"], call["recall_reason"]) == ("offering", False, "taken_back")


# -- a restart -------------------------------------------------------------------------------------
def test_after_a_restart_the_operator_still_takes_the_ringing_transfer_back():
    for with_store in (True, False):
        s, _ = talking(queues=[a_queue(wrapup=0)])
        transfer(s)
        leg = target_leg(s)
        s.advance(4)
        s2 = restarted(s, alive={"c1", leg}, with_store=with_store)
        if not with_store:
            s2.login("alice")
        out = take_back(s2)
        assert refusals(out) == [] and fx.Hangup(NODE, leg, "ORIGINATOR_CANCEL") in out
        assert s2.offered_agents(out) == ["alice"]
        s2.assert_journal_exact()


def test_a_restart_while_the_taken_back_call_rings_the_operator_keeps_it_theirs():
    s, _ = talking(names=("alice", "bob"), queues=[a_queue(wrapup=0)])
    transfer(s)
    take_back(s)
    mine = s.leg_of("alice")
    s2 = restarted(s, alive={"c1", mine})
    ix = s2.engine.calls[IX]
    assert (ix.recall_agent, ix.recall_reason) == ("alice", "taken_back")
    s2.answer(mine)
    s2.send(ev.Bridged(NODE, "c1", mine, s2.now))
    assert s2.engine.calls[IX].agent == "alice"
    s2.assert_journal_exact()

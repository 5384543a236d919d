"""Recording a call (engine/call_recording.py): started on the caller's first bridge after
the notice, one file across transfers and recalls, paused from the console, its end
reported; adopted after a restart."""
from __future__ import annotations

from engine import effects as fx
from engine import events as ev
from engine.config import QueueRecording
from engine.recording import key_id

from tests.engine.builders import NODE, Scenario, a_deployment, a_queue, a_tenant, an_agent
from tests.engine.test_recovery import restarted

IX = "interaction-1"
KEY = "age1gjtn8gq6l2vkgfvsujjkwzru9etqmsdjdjn0dj92vudcnmxu5guqnv4zgh"
NOTICE = "recorded.wav"
PATH = "var/recordings/spool/acme/recording-3.wav"      # new_id: interaction-1, leg-2, recording-3


def recorded_tenant(**kw):
    return a_tenant(recording_notice=NOTICE, recording_key=KEY, recording_retention_days=30, **kw)


def a_scenario(names=("alice",), tenant=None, queues=None, **kw) -> Scenario:
    return Scenario(a_deployment(tenants=[tenant or recorded_tenant()], queues=queues,
                                 agents=[an_agent(a, queues={q.id: 1 for q in (queues or [a_queue()])})
                                         for a in names]), **kw)


def heard_notice(s: Scenario, uuid="c1", queue="sales") -> None:
    s.call(uuid, queue=queue)
    s.played(uuid, NOTICE)


def talking(names=("alice",), **kw) -> tuple[Scenario, str]:
    """Caller c1 heard the notice and talks with `names[0]` (answered, bridged)."""
    s = a_scenario(names, **kw)
    s.login(names[0])
    heard_notice(s)
    leg = s.talk("c1", names[0])
    s.login(*names[1:])
    return s, leg


def notices(s: Scenario, topic: str) -> list[dict]:
    return [dict(n.payload) for n in s.of(fx.Notify) if n.topic == topic]


def refusals(out) -> list[str]:
    return [n.payload["error_id"] for n in out if isinstance(n, fx.Notify) and n.topic == "command_refused"]


# -- the start ----------------------------------------------------------------------------------
def test_given_the_notice_heard_when_bridged_then_the_caller_leg_is_recorded_in_stereo_into_the_spool():
    s = a_scenario()
    s.login("alice")
    heard_notice(s)
    assert s.engine.calls[IX].noticed_leg == "c1"
    leg = s.leg_of("alice")
    s.answer(leg)
    assert s.of(fx.StartRecording) == []                       # answered is not bridged yet
    out = s.send(ev.Bridged(NODE, "c1", leg, s.now))
    tags = [e for e in out if isinstance(e, fx.SetVariables) and "cc_recording" in e.variables]
    assert tags == [fx.SetVariables(NODE, "c1", {"cc_recording": "recording-3", "cc_recording_path": PATH})]
    assert s.of(fx.StartRecording, out) == [fx.StartRecording(NODE, "c1", PATH, stereo=True)]
    assert out.index(tags[0]) < out.index(s.of(fx.StartRecording, out)[0])
    started = [j for j in s.journal if j.kind == "recording_started"][0]
    assert started.data == {"recording": "recording-3", "path": PATH} and started.agent == "alice"
    (notice,) = notices(s, "recording_started")
    assert notice == {"id": "recording-3", "interaction": IX, "tenant": "acme", "queue": "sales", "agent": "alice",
                      "caller_number": "4791234567", "node": NODE, "uuid": "c1", "path": PATH,
                      "started_at": s.now.isoformat(), "retention_days": 30, "key_id": key_id(KEY),
                      "public_key": KEY}
    assert s.send(ev.Bridged(NODE, "c1", leg, s.now)) == []   # a duplicated CHANNEL_BRIDGE starts nothing
    s.assert_journal_exact()


def test_without_the_notice_nothing_is_recorded():
    s, _ = talking(tenant=a_tenant(record_calls=False, recording_notice=NOTICE, recording_key=KEY))
    assert s.of(fx.StartRecording) == [] and "notice_played" not in s.kinds()
    assert s.engine.calls[IX].noticed_leg == ""


def test_a_queue_that_records_under_a_tenant_that_does_not_plays_the_notice_and_records():
    tenant = a_tenant(record_calls=False, recording_notice=NOTICE, recording_key=KEY)
    s, _ = talking(tenant=tenant, queues=[a_queue(recording=QueueRecording(enabled=True, retention_days=7))])
    assert "notice_played" in s.kinds() and len(s.of(fx.StartRecording)) == 1
    assert notices(s, "recording_started")[0]["retention_days"] == 7


def test_a_callback_leg_never_heard_the_notice_and_is_not_recorded():
    s = a_scenario(queues=[a_queue(callback_enabled=True, callback_prompt="we-call-you.wav")])
    s.login("alice")
    s.send(ev.AgentPause("alice", "break", s.now))
    heard_notice(s)
    s.press("c1", "1")
    s.played("c1", "we-call-you.wav")
    s.hangup("c1")
    s.send(ev.AgentResume("alice", s.now))
    agent_leg = s.originates()[-1].leg_uuid
    back = s.originates(s.answer(agent_leg))[0].leg_uuid
    s.answer(back)
    s.send(ev.Bridged(NODE, back, agent_leg, s.now))
    assert "callback_connected" in s.kinds(IX) and s.of(fx.StartRecording) == []
    assert notices(s, "recording_started") == []


# -- one file across moves ----------------------------------------------------------------------
def test_a_blind_transfer_to_a_queue_continues_the_same_file_and_adds_the_party():
    queues = [a_queue("sales"), a_queue("support")]
    agents = [an_agent("alice", queues={"sales": 1}), an_agent("bob", queues={"support": 1})]
    s = Scenario(a_deployment(tenants=[recorded_tenant()], queues=queues, agents=agents))
    s.login("alice", "bob")
    heard_notice(s)
    s.talk("c1", "alice")
    s.send(ev.CallTransfer("alice", "support", s.now, kind="queue", name="Support"))
    s.repark("c1")
    s.talk("c1", "bob")
    assert len(s.of(fx.StartRecording)) == 1                     # the media bug stayed on the caller's leg
    assert notices(s, "recording_party") == [{"id": "recording-3", "agent": "bob"}]
    party = [j for j in s.journal if j.kind == "recording_party"]
    assert [(j.agent, j.data["recording"]) for j in party] == [("bob", "recording-3")]
    assert s.engine.calls[IX].recording_agents == ("alice", "bob")
    s.assert_journal_exact()


def test_a_recall_after_an_unanswered_transfer_is_the_same_file_and_its_agent_is_named_once():
    s, _ = talking(names=("alice", "bob"))
    s.send(ev.CallTransfer("alice", "1001", s.now, kind="user", name="Per"))
    s.advance(22)                                                # no answer: recalled to alice
    s.talk("c1", "alice")
    assert len(s.of(fx.StartRecording)) == 1 and s.engine.calls[IX].recording == "recording-3"
    assert notices(s, "recording_party") == []                   # alice is in it already
    s.assert_journal_exact()


# -- pause / resume -----------------------------------------------------------------------------
def test_pause_and_resume_mask_the_file_and_are_journaled_and_shown():
    s, _ = talking()
    out = s.send(ev.RecordingPause("alice", s.now))
    assert s.of(fx.MaskRecording, out) == [fx.MaskRecording(NODE, "c1", PATH, True)]
    assert s.of(fx.MaskRecording, s.send(ev.RecordingPause("alice", s.now))) == []   # already paused
    snapshot = [n.payload for n in s.of(fx.Notify, out) if n.topic == "interaction_changed"][-1]
    assert (snapshot["recording"], snapshot["recording_masked"]) == ("recording-3", True)
    from engine import views
    assert views.console(s.engine, "alice", s.now)["call"]["recording_masked"] is True
    out = s.send(ev.RecordingResume("alice", s.now))
    assert s.of(fx.MaskRecording, out) == [fx.MaskRecording(NODE, "c1", PATH, False)]
    assert [j.kind for j in s.journal if j.kind.startswith("recording_")] == [
        "recording_started", "recording_paused", "recording_resumed"]
    assert all(j.agent == "alice" for j in s.journal if j.kind in ("recording_paused", "recording_resumed"))


def test_pause_without_a_recording_is_refused():
    s, _ = talking(tenant=a_tenant(record_calls=False))
    out = s.send(ev.RecordingPause("alice", s.now))
    assert refusals(out) == ["engine.no_recording"] and s.of(fx.MaskRecording, out) == []
    s2 = a_scenario()
    s2.login("alice")
    assert refusals(s2.send(ev.RecordingResume("alice", s2.now))) == ["engine.no_call"]


# -- the end ------------------------------------------------------------------------------------
def test_record_stop_after_the_hangup_is_journaled_and_notified_for_the_recorder():
    s, _ = talking(queues=[a_queue(wrapup=30)])
    s.hangup("c1")
    out = s.send(ev.RecordingStopped(NODE, "c1", PATH, "success-silence", s.now))
    assert [n.payload for n in s.of(fx.Notify, out) if n.topic == "recording_stopped"] == [
        {"id": "recording-3", "path": PATH, "node": NODE, "ended_at": s.now.isoformat(), "cause": "success-silence"}]
    stopped = [j for j in s.journal if j.kind == "recording_stopped"]
    assert [j.data for j in stopped] == [{"recording": "recording-3", "cause": "success-silence"}]
    s.assert_journal_exact()


def test_record_stop_of_a_forgotten_call_is_still_notified_with_the_id_from_its_path():
    s, _ = talking()
    s.hangup("c1")
    s.advance(60)                                                # wrap-up over: the interaction is gone
    assert IX not in s.engine.calls
    out = s.send(ev.RecordingStopped(NODE, "c1", PATH, "success-silence", s.now))
    assert [n.payload["id"] for n in s.of(fx.Notify, out) if n.topic == "recording_stopped"] == ["recording-3"]


# -- restart --------------------------------------------------------------------------------------
def test_after_a_restart_without_the_store_the_recording_is_adopted_from_the_channel():
    s, leg = talking()
    s2 = restarted(s, alive={"c1", leg}, with_store=False)
    ix = s2.engine.calls[IX]
    assert (ix.recording, ix.recording_path, ix.noticed_leg) == ("recording-3", PATH, "c1")
    assert s2.of(fx.StartRecording, s2.effects[len(s.effects):]) == []     # the running file is kept
    out = s2.send(ev.RecordingPause("alice", s2.now))
    assert s2.of(fx.MaskRecording, out) == [fx.MaskRecording(NODE, "c1", PATH, True)]


def test_after_a_restart_with_the_store_a_caller_gone_meanwhile_is_reported_unseen():
    s, leg = talking()
    s2 = restarted(s, alive=set())
    stopped = [n.payload for n in s2.of(fx.Notify) if n.topic == "recording_stopped"]
    assert [(p["id"], p["path"], p["cause"]) for p in stopped] == [("recording-3", PATH, "unseen")]
    s2.assert_journal_exact()


def test_an_interaction_ending_before_its_record_stop_journals_the_end_of_the_recording_once():
    """Real FreeSWITCH: the caller's CHANNEL_HANGUP ends the interaction (no wrap-up) and
    RECORD_STOP follows a millisecond later, when the interaction is gone."""
    s, _ = talking(queues=[a_queue(wrapup=0)])
    s.hangup("c1")
    assert IX not in s.engine.calls
    kinds = [j.kind for j in s.journal if j.interaction == IX]
    assert kinds[-2:] == ["recording_stopped", "ended"]
    out = s.send(ev.RecordingStopped(NODE, "c1", PATH, "success-silence", s.now))
    assert [n.payload["id"] for n in s.of(fx.Notify, out) if n.topic == "recording_stopped"] == ["recording-3"]
    stopped = [j.data for j in s.journal if j.kind == "recording_stopped"]
    assert stopped == [{"recording": "recording-3", "cause": "call_ended"}]
    s.assert_journal_exact()

"""Recording a call: started on the caller's first bridge, one file for the whole
interaction, paused from the console, its end reported to the recorder.

Rules:
* no recording without the notice: only the caller leg that heard it is recorded
  (`Interaction.noticed_leg`); a callback's new leg, or a caller whose entry queue does
  not record, is never recorded;
* it starts on the caller's first confirmed bridge to an agent when the queue that
  answers records (engine.recording.policy); the file is
  `<recordings_dir>/spool/<tenant>/<id>.wav`, stereo (caller left, agent right), its id
  and path also on the caller's channel (cc_recording, cc_recording_path) so a restarted
  engine finds them (engine.recovery);
* the media bug sits on the caller's leg, so transfers, recalls, consults, conferences
  and barge-in continue in the same file; each further agent bridged to the caller is a
  `recording_party`;
* pause/resume (console) masks the file: silence is written, its length stays the
  call's; refused (NoRecording) when the agent's call is not being recorded; asking for
  the state it is already in does nothing;
* FreeSWITCH reports the file closed (RecordingStopped, or a resync that finds the
  recorded caller leg gone: cause "unseen"): journaled if the interaction is still known,
  and one Notify("recording_stopped") for the recorder, which encrypts it at once; an
  interaction that ends first journals `recording_stopped` (cause "call_ended") before
  its `ended` row, and the later RECORD_STOP only tells the recorder. The engine never
  touches the files.
"""
from __future__ import annotations

import logging
import posixpath

from engine import effects as fx
from engine import events as ev
from engine.errors import NoRecording
from engine.interactions import Interaction
from engine.recording import policy

log = logging.getLogger(__name__)


def bridged(eng, ix: Interaction) -> None:
    """The caller and `ix.agent_leg` are bridged (engine.handlers.confirm_bridge)."""
    if ix.recording:
        if ix.agent and ix.agent not in ix.recording_agents:
            ix.recording_agents += (ix.agent,)
            eng.journal(ix, "recording_party", agent=ix.agent, recording=ix.recording)
            eng.emit(fx.Notify("recording_party", {"id": ix.recording, "agent": ix.agent}))
        return
    if not ix.uuid or ix.uuid != ix.noticed_leg or not ix.agent:
        return
    rules = policy(eng.deployment, ix.tenant, ix.queue)
    if not rules.record:
        return
    rid = eng.new_id("recording")
    path = f"{eng.deployment.recordings_dir.rstrip('/')}/spool/{ix.tenant}/{rid}.wav"
    ix.recording, ix.recording_path, ix.recording_masked = rid, path, False
    ix.recording_agents = (ix.agent,)
    eng.emit(fx.SetVariables(ix.node, ix.uuid, {"cc_recording": rid, "cc_recording_path": path}),
             fx.StartRecording(ix.node, ix.uuid, path, stereo=True))
    eng.journal(ix, "recording_started", agent=ix.agent, recording=rid, path=path)
    eng.emit(fx.Notify("recording_started", {
        "id": rid, "interaction": ix.id, "tenant": ix.tenant, "queue": ix.queue, "agent": ix.agent,
        "caller_number": ix.caller_number, "node": ix.node, "uuid": ix.uuid, "path": path,
        "started_at": eng.now.isoformat(), "retention_days": rules.retention_days,
        "key_id": rules.key_id, "public_key": rules.public_key}))


def pause(eng, e: ev.RecordingPause) -> None:
    _mask(eng, e.agent, True)


def resume(eng, e: ev.RecordingResume) -> None:
    _mask(eng, e.agent, False)


def _mask(eng, aid: str, masked: bool) -> None:
    from engine.control import talking          # engine.control imports the call flow, which imports us
    agent, ix = talking(eng, aid)
    if not ix.recording or not ix.uuid:
        raise NoRecording(agent.id, f"interaction {ix.id} is not being recorded")
    if ix.recording_masked == masked:
        return
    ix.recording_masked = masked
    eng.emit(fx.MaskRecording(ix.node, ix.uuid, ix.recording_path, masked))
    if masked:
        eng.journal(ix, "recording_paused", agent=agent.id, recording=ix.recording)
    else:
        eng.journal(ix, "recording_resumed", agent=agent.id, recording=ix.recording)


def started(eng, e: ev.RecordingStarted) -> None:
    """FreeSWITCH confirms the file is open: nothing to decide (logged for the trace)."""
    log.debug("recording %s started on %s/%s", e.path, e.node, e.uuid)


def stopped(eng, e: ev.RecordingStopped) -> None:
    ix = eng.calls.get(eng.by_leg.get(e.uuid, ""))
    if ix is None or ix.recording_path != e.path:
        ix = next((c for c in eng.calls.values() if c.recording_path == e.path and c.recording), None)
    rid = ix.recording if ix is not None else posixpath.splitext(posixpath.basename(e.path))[0]
    if ix is not None:
        eng.journal(ix, "recording_stopped", recording=rid, cause=e.cause)
        ix.recording, ix.recording_path, ix.recording_masked = "", "", False
    eng.emit(fx.Notify("recording_stopped", {"id": rid, "path": e.path, "node": e.node,
                                             "ended_at": e.at.isoformat(), "cause": e.cause}))


def call_ended(eng, ix: Interaction) -> None:
    """The interaction ends while its file is open: on a real switch the caller's hang-up
    ends the interaction and RECORD_STOP follows ~1 ms later, when the interaction is gone.
    The journal says here that the recording ended with the call; the RECORD_STOP, whenever
    it comes, only tells the recorder (`stopped` finds no interaction)."""
    eng.journal(ix, "recording_stopped", recording=ix.recording, cause="call_ended")
    ix.recording, ix.recording_path, ix.recording_masked = "", "", False


def gone_unseen(eng, ix: Interaction) -> None:
    """A resync found the recorded caller leg gone: the file was closed while we could not see it."""
    if ix.recording:
        stopped(eng, ev.RecordingStopped(ix.node, ix.uuid, ix.recording_path, "unseen", eng.now))


HANDLERS = {
    ev.RecordingStarted: started,
    ev.RecordingStopped: stopped,
    ev.RecordingPause: pause,
    ev.RecordingResume: resume,
}

"""A recorded call on a REAL FreeSWITCH, from the notice to the decrypted file: the switch
writes the stereo WAV into the deployment's spool, the recorder in the engine process
encrypts it to the agency's key, stores it and removes the plaintext; the test opens
the stored file with the private key it generated.

Runs only when SENTRAL_TEST_FREESWITCH=HOST:PORT:PASSWORD names a switch prepared as
tests/freeswitch/README.md says (load.yaml compiled), with SENTRAL_TEST_FREESWITCH_SIP
(trunk) and SENTRAL_TEST_FREESWITCH_REGISTRAR (agents). The switch must run as a user that
may write into the test's temporary directory (the recordings folder is there).

The deployment is load.yaml's with the tenant recording: the notice is a tone (the switch's
sound files may be absent, and a prompt that does not exist never plays), the key the
public key of an x25519 identity made here, `recordings_dir` the test's temporary folder
(absolute: FreeSWITCH writes the plaintext there and the recorder, in this process, reads it).

The story: the caller (sipp caller_stay.xml into 22009000) hears the notice, the operator
(1000) answers; the engine starts the recording on the caller's leg; the operator pauses
it (`uuid_record mask`, which the switch refuses for a file it is not recording) and the
caller hears a 1 s tone, then resumes it and the caller hears a 0.5 s tone (uuid_broadcast
over the bridge: sipp sends no audio, the switch's tones are the only sound); the caller is
hung up. Checked: RECORD_START and RECORD_STOP on the caller's leg for the engine's path
(our own Event Socket observer), no recording command refused, the journal's order, the
stored row (agents, duration, sha256), the decrypted WAV: two channels (the caller's own
audio left: silent; what it hears right: 0.5 s of tone, the masked second written as
silence), 8 kHz or more, as long as the row says; no plaintext left, no channel left,
`verify_journal` clean.

Found on the real switch: RECORD_STOP comes after the caller's CHANNEL_HANGUP (media bugs
close in the hangup state), so the journal's `recording_stopped` row needs the interaction
still open (the operator's wrap-up); the recorder's notice does not.
"""
from __future__ import annotations

import array
import dataclasses
import hashlib
import io
import logging
import os
import wave

import pytest

from tests.freeswitch.lab import Observer
from tests.freeswitch.test_call_control import OPERATOR, TARGET, Lab, _deployment
from tests.helpers import until

NOTICE = "tone_stream://%(300,0,440)"     # plays on any build (no sound files needed)
SAID = "tone_stream://%(500,0,1000)"      # played to the caller while recorded: 0.5 s of 1 kHz
SECRET = "tone_stream://%(1000,0,1000)"   # played to the caller while the recording is paused: 1 s
SLACK = 1.0                               # s: event delivery, the media bug's start after the bridge
LOUD = 1000                               # a sample above this is the tone (silence and the mask write 0)

pytestmark = [
    pytest.mark.freeswitch,
    pytest.mark.slow,
    pytest.mark.skipif(not TARGET, reason="set SENTRAL_TEST_FREESWITCH=HOST:PORT:PASSWORD to run against a real FreeSWITCH"),
]


class RecordObserver(Observer):
    """The lab's observer, also watching the switch's RECORD_START/RECORD_STOP:
    `records` holds (time, event, uuid, Record-File-Path, Record-Completion-Cause)."""

    EVENTS = Observer.EVENTS + " RECORD_START RECORD_STOP PLAYBACK_STOP"

    def __init__(self, *args, **kwargs):
        self.records: list[tuple[float, str, str, str, str]] = []
        super().__init__(*args, **kwargs)

    def _event(self, e: dict) -> None:
        super()._event(e)
        name = e.get("Event-Name")
        if name in ("RECORD_START", "RECORD_STOP", "PLAYBACK_STOP"):
            with self.lock:
                self.records.append((self.now(), name, e.get("Unique-ID", ""), e.get("Record-File-Path") or e.get("Playback-File-Path", ""),
                                     e.get("Record-Completion-Cause", "")))


class RecordingLab(Lab):
    """test_call_control's lab with a recording tenant and the record-watching observer."""

    def __init__(self, host, port, password, tmp_path, public_key: str):
        from tests.freeswitch.lab import EslApi

        self.tmp = tmp_path
        self.api = EslApi(host, port, password)
        assert "FreeSWITCH" in self.api.api("status")
        self.obs = RecordObserver(host, port, password, "22009000", tmp_path / "fs-events.jsonl")
        self.obs.start()
        self.sipps, self.registered, self.notices = [], [], []
        self.proc = self.store = None
        d = _deployment(host, port, password)
        tenants = {k: dataclasses.replace(t, record_calls=True, recording_notice=NOTICE, recording_key=public_key,
                                          recording_retention_days=30)
                   for k, t in d.tenants.items()}
        self.deployment = dataclasses.replace(d, tenants=tenants, recordings_dir=str(tmp_path / "recordings"))

    def hang_up_in_wrap_up(self, caller: str, ixid: str, rid: str) -> None:
        """The caller hangs up; the switch closes the file (RECORD_STOP comes after the caller's
        CHANNEL_HANGUP, FreeSWITCH closes media bugs in the hangup state) while the operator
        wraps up, so the interaction is still open for its `recording_stopped` row
        (engine/call_recording.py); then the operator ends the wrap-up: one `ended`
        (completed), a clean journal, no channel left, no refusal."""
        from engine import events as ev

        self.api.api(f"uuid_kill {caller}")
        until(lambda: self.ix(ixid).state.value == "wrap_up", timeout=10, message="the talk ended")
        until(lambda: self.records(caller, "RECORD_STOP"), timeout=5, message="RECORD_STOP on the caller's leg")
        until(lambda: [n for n in self.notices if n.topic == "recording_stopped" and n.payload["id"] == rid],
              timeout=5, message="the engine tells the recorder the file is closed")
        self.post(ev.WrapUpEnd, agent=self.ix(ixid).agent, result="")
        until(lambda: self.ix(ixid) is None, timeout=10, message="the engine closed the call")
        until(lambda: "ended" in self.kinds(ixid), timeout=10, message="journal: ended")
        assert [r["reason"] for r in self.rows(ixid, "ended")] == ["completed"], self.kinds(ixid)
        assert self.store.verify_journal(ixid) == []
        self.no_channel_left()
        assert not self.refusals(), self.refusals()

    def play_to(self, caller: str, tone: str) -> None:
        """The caller hears `tone` over the bridge (uuid_broadcast: the bridge stays);
        returns when the switch reports the playback done."""
        done = len([r for r in self.records(caller, "PLAYBACK_STOP") if r[3] == tone])
        assert self.api.api(f"uuid_broadcast {caller} {tone} aleg").startswith("+OK")
        until(lambda: len([r for r in self.records(caller, "PLAYBACK_STOP") if r[3] == tone]) > done, timeout=5,
              message=f"{tone} played to the caller")

    def records(self, uuid: str, event: str) -> list[tuple[float, str, str, str, str]]:
        with self.obs.lock:
            return [r for r in self.obs.records if r[2] == uuid and r[1] == event]


@pytest.fixture
def identity():
    from pyrage import x25519

    return x25519.Identity.generate()


@pytest.fixture
def lab(pg_url, tmp_path, identity):
    host, port, password = TARGET.rsplit(":", 2)
    lab = RecordingLab(host, int(port), password, tmp_path, str(identity.to_public()))
    try:
        lab.phones("phones", [OPERATOR], ring_ms=300)
        lab.start_engine(pg_url, OPERATOR)
        yield lab
    finally:
        lab.close()


def _loud_seconds(wav: wave.Wave_read) -> tuple[float, float]:
    """How long each channel (left, right) of a 16-bit stereo WAV holds sound: the number
    of 20 ms blocks with a sample above LOUD, times 20 ms."""
    samples = array.array("h", wav.readframes(wav.getnframes()))
    block = 2 * wav.getframerate() // 50
    loud = [0, 0]
    for start in range(0, len(samples), block):
        chunk = samples[start:start + block]
        for channel in (0, 1):
            if max(map(abs, chunk[channel::2]), default=0) > LOUD:
                loud[channel] += 1
    return loud[0] * 0.02, loud[1] * 0.02


def _refused_recording_commands(caplog) -> list[str]:
    """The executor logs a refused or failed effect with its name (esl/executor.py)."""
    return [r.getMessage() for r in caplog.records
            if r.name == "esl.executor" and r.levelno >= logging.WARNING and "Recording" in r.getMessage()]


def test_a_recorded_call_paused_and_resumed_is_stored_encrypted_and_decrypts_to_a_stereo_wav(lab, identity, caplog):
    from engine import events as ev
    from recordings.crypto import decrypt_stream
    from recordings.storage import storage_for

    caplog.set_level(logging.INFO, logger="esl.executor")
    caller, ixid = lab.call()
    rid = until(lambda: lab.ix(ixid).recording, timeout=5, message="the engine starts the recording")
    path = lab.ix(ixid).recording_path
    assert path == f"{lab.deployment.recordings_dir}/spool/lasttest/{rid}.wav" and os.path.isabs(path)
    until(lambda: lab.records(caller, "RECORD_START"), timeout=5,
          message=lambda: f"RECORD_START on the caller's leg {lab.obs.records} {lab.diagnose(ixid)}")
    assert [r[3] for r in lab.records(caller, "RECORD_START")] == [path]
    assert lab.api.api(f"uuid_getvar {caller} RECORD_STEREO").strip() == "true"
    until(lambda: os.path.exists(path), timeout=5, message="the switch writes the plaintext into the spool")

    lab.human_pace()
    lab.post(ev.RecordingPause, agent=f"a{OPERATOR}")
    until(lambda: "recording_paused" in lab.kinds(ixid), timeout=5, message="journal: recording_paused")
    lab.human_pace()                                           # the operator paused, then the secret is told
    lab.play_to(caller, SECRET)
    lab.post(ev.RecordingResume, agent=f"a{OPERATOR}")
    until(lambda: "recording_resumed" in lab.kinds(ixid), timeout=5, message="journal: recording_resumed")
    lab.human_pace()
    lab.play_to(caller, SAID)
    assert lab.talking(ixid, OPERATOR) and not lab.ix(ixid).recording_masked

    lab.hang_up_in_wrap_up(caller, ixid, rid)
    (stop,) = lab.records(caller, "RECORD_STOP")
    assert stop[3] == path
    assert not _refused_recording_commands(caplog), _refused_recording_commands(caplog)
    kinds = lab.kinds(ixid)
    assert (kinds.index("notice_played") < kinds.index("bridged") < kinds.index("recording_started")
            < kinds.index("recording_paused") < kinds.index("recording_resumed") < kinds.index("recording_stopped")), kinds

    record = until(lambda: (r := lab.store.recording(rid)) is not None and r.status in ("stored", "fault") and r,
                   timeout=20, message="the recorder stores the recording")
    assert record.status == "stored", record.fault
    assert record.interaction == ixid and f"a{OPERATOR}" in record.agents
    assert (record.tenant, record.queue, record.spool_path) == ("lasttest", "lasttest-main", path)
    call = lab.obs.callers[caller]
    call_length = call["hangup"] - call["created"]
    assert 3.0 <= record.duration < call_length + SLACK, (record.duration, call_length)   # 3 paces at least

    # the stored file opens with the identity: the plaintext the switch wrote, stereo
    plain = io.BytesIO()
    with storage_for(lab.deployment).open(record.location) as src:
        digest = decrypt_stream(src, plain, [identity])
    assert (digest.sha256, digest.size) == (record.sha256, record.size)
    assert hashlib.sha256(plain.getvalue()).hexdigest() == record.sha256
    plain.seek(0)
    with wave.open(plain) as w:
        channels, rate, frames, width = w.getnchannels(), w.getframerate(), w.getnframes(), w.getsampwidth()
        assert (channels, width) == (2, 2), "RECORD_STEREO: the caller and the agent on their own channels"
        left, right = _loud_seconds(w)
    assert rate >= 8000, rate
    assert abs(frames / rate - record.duration) < SLACK, (frames / rate, record.duration)
    # the caller's own audio left (sipp sends none), what it hears right: the 0.5 s said
    # while recorded, not the 1 s told while paused (the mask wrote silence)
    assert left == 0 and 0.3 <= right <= 0.8, (left, right)
    assert not os.path.exists(path) and not os.path.exists(path + ".age.part"), "plaintext removed"

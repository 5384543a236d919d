"""The simulated switch: channels, the event bus, the dialplan, SIP users, bridging,
transfers, recordings and the heartbeat. Protocol-free: sessions (session.py) and the
api commands (api.py) call into it; it survives ESL session loss and restarts (channels
live here, not in a connection).

Time rules: simulated durations (prompts, ring and talk scripts, patience) are multiplied
by ``time_factor``; timeouts chosen by the client (originate_timeout) are not.
"""
from __future__ import annotations

import itertools
import logging
import os
import time
import wave
from collections import deque
from typing import Callable, Mapping

import gevent

from esl.sim import apps
from esl.sim.bus import EventBus
from esl.sim.channel import Channel
from esl.sim.dialplan import Dialplan
from esl.sim.races import Races

log = logging.getLogger(__name__)

STARTED = time.time()


class Recorder:
    """uuid_record / record_session: RECORD_START/STOP and a real WAV file of the recorded
    length: two channels when the leg's RECORD_STEREO was true at the start (FreeSWITCH
    reads it once, when the media bug starts), else one. mask/unmask (FreeSWITCH 1.10)
    only apply to a file being recorded; the simulator writes silence either way."""

    RATE = 8000

    def __init__(self, switch: "Switch"):
        self.switch = switch

    def start(self, ch: Channel, path: str) -> None:
        stereo = ch.variables.get("RECORD_STEREO", "").lower() == "true"
        ch.recordings[path] = (time.monotonic(), {"stereo": stereo, "masked": False})
        ch.emit("RECORD_START", {"Record-File-Path": path})

    def mask(self, ch: Channel, path: str, masked: bool) -> bool:
        if path not in ch.recordings:
            return False
        ch.recordings[path][1]["masked"] = masked
        return True

    def stop(self, ch: Channel, path: str) -> bool:
        paths = list(ch.recordings) if path == "all" else [path] if path in ch.recordings else []
        if not paths:
            return False
        for p in paths:
            started, state = ch.recordings.pop(p)
            self.write(p, time.monotonic() - started, channels=2 if state and state["stereo"] else 1)
            ch.emit("RECORD_STOP", {"Record-File-Path": p, "Record-Completion-Cause": "success-silence"})
        return True

    def write(self, path: str, seconds: float, channels: int = 1) -> None:
        real = self.switch.map_path(path)
        try:
            os.makedirs(os.path.dirname(real) or ".", exist_ok=True)
            frames = int(max(seconds, 0.0) * self.RATE)
            with wave.open(real, "wb") as w:
                w.setnchannels(channels)
                w.setsampwidth(2)
                w.setframerate(self.RATE)
                w.writeframes(b"\x00\x00" * channels * frames)
        except OSError as exc:
            log.warning("cannot write recording %s: %s", real, exc)


class Switch:
    def __init__(self, *, dialplan: Dialplan | Mapping | Callable | None = None, time_factor: float = 1.0,
                 prompts: Mapping[str, float] | None = None, default_prompt_seconds: float = 3.0,
                 heartbeat_interval: float = 20.0, recordings_root: str | None = None,
                 hostname: str = "sentral-sim"):
        self.bus = EventBus(hostname=hostname)
        self.channels: dict[str, Channel] = {}
        self.dialplan = dialplan if isinstance(dialplan, Dialplan) else Dialplan(dialplan)
        self.time_factor = time_factor
        self.prompts = dict(prompts or {})
        self.default_prompt_seconds = default_prompt_seconds
        self.recordings_root = recordings_root
        self.recorder = Recorder(self)
        self.global_vars = {"domain": "127.0.0.1", "local_ip_v4": "127.0.0.1", "hostname": hostname}
        self.sessions_since_start = 0
        self._session_ids = itertools.count(1)
        self.heartbeat_interval = heartbeat_interval
        self.hangup_latency = 0.02  # seconds between CHANNEL_HANGUP and the unwinding (as observed)
        self._heartbeat = None
        self.races = Races(self)  # WHEN things happen (timing.py); ideal unless the Simulator says
        from esl.sim.users import Directory
        self.users = Directory(self)

    # ---------------------------------------------------------------- bookkeeping
    def next_session_id(self) -> int:
        self.sessions_since_start += 1
        return next(self._session_ids)

    def add(self, ch: Channel) -> Channel:
        self.channels[ch.uuid] = ch
        return ch

    def forget(self, ch: Channel) -> None:
        self.channels.pop(ch.uuid, None)
        self.races.forget(ch)

    def map_path(self, path: str) -> str:
        if self.recordings_root and os.path.isabs(path):
            return os.path.join(self.recordings_root, path.lstrip("/"))
        return path

    def prompt_seconds(self, path: str) -> float | None:
        """Simulated play time of a prompt; None = plays until broken (music on hold, loops=-1)."""
        if path in self.prompts:
            secs = self.prompts[path]
        elif path.startswith("local_stream://") or "loops=-1" in path:
            return None
        elif path.startswith("tone_stream://"):
            secs = _tone_seconds(path)
        else:
            secs = self.default_prompt_seconds
        return None if secs is None else secs * self.time_factor

    def uptime(self) -> float:
        return time.time() - STARTED

    # ---------------------------------------------------------------- heartbeat
    def start_heartbeat(self) -> None:
        if self._heartbeat is None and self.heartbeat_interval:
            self._heartbeat = gevent.spawn(self._beat)

    def stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.kill(block=False)
            self._heartbeat = None

    def _beat(self) -> None:
        while True:
            gevent.sleep(self.heartbeat_interval)
            up = self.uptime()
            self.bus.fire("HEARTBEAT", [
                ("Event-Info", "System Ready"), ("Up-Time", uptime_text(up)),
                ("Uptime-msec", str(int(up * 1000))), ("Session-Count", str(len(self.channels))),
                ("Max-Sessions", "1000"), ("Session-Per-Sec", "30"), ("Session-Per-Sec-Last", "0"),
                ("Session-Per-Sec-Max", "0"), ("Session-Per-Sec-FiveMin", "0"),
                ("Session-Since-Startup", str(self.sessions_since_start)),
                ("Session-Peak-Max", str(len(self.channels))), ("Session-Peak-FiveMin", "0"),
                ("Idle-CPU", "99.000000")])
            self.bus.fire("RE_SCHEDULE", [
                ("Task-ID", "1"), ("Task-Desc", "heartbeat"), ("Task-Group", "core"),
                ("Task-Runtime", str(int(time.time() + self.heartbeat_interval)))])

    # ---------------------------------------------------------------- routing
    def route(self, ch: Channel, destination: str, *, transfer: bool = False, dialplan: str = "XML") -> bool:
        """Run the dialplan for ``destination`` on ``ch`` (new inbound call or transfer).
        The ``inline`` dialplan (mod_dptools) reads the destination as `app:arg,app:arg`
        and leaves the channel's destination number as it was."""
        if transfer:
            ch.profile["transfer_source"] = f"{int(time.time())}:{ch.uuid}:bl_xfer:{destination}"
            ch.profile["rdnis"] = ch.profile["destination"]
            ch.profile["destination"] = destination
            ch.profile["dialplan"] = dialplan
            ch.times["transfer"] = time.time()
            ch.queue.clear()
        if dialplan == "inline":
            apps_list = _inline(destination)
            ch.profile["destination"], ch.profile["rdnis"] = ch.profile["rdnis"], ""
        else:
            apps_list = self.dialplan.route(destination, ch)
        if ch.state != "CS_ROUTING":
            ch.set_state("CS_ROUTING")
        if apps_list is None:
            ch.hangup("NO_ROUTE_DESTINATION")
            apps.start_runner(ch)
            return False
        ch.set_state("CS_EXECUTE")
        # taken one by one by the runner (apps.run): messages arriving meanwhile run inline
        # in a blocking application, the dialplan's later actions never do
        ch.dialplan_rest = deque((app, arg, "", None, False) for app, arg in apps_list)
        ch.signal.set()
        apps.start_runner(ch)
        return True

    # ---------------------------------------------------------------- bridging
    def join(self, a: Channel, b: Channel) -> None:
        a.bridged, b.bridged = b, a
        a.other_leg, b.other_leg = b, a
        a.bridge_a, b.bridge_a = True, False
        now = time.time()
        a.times["bridged"] = b.times["bridged"] = now
        a.variables["bridge_uuid"] = b.uuid
        b.variables["bridge_uuid"] = a.uuid
        a.variables["signal_bond"] = b.uuid
        b.variables["signal_bond"] = a.uuid

    def bridge(self, a: Channel, b: Channel) -> None:
        """uuid_bridge: both legs leave what they run and enter one bridge (A side reports it)."""
        for ch in (a, b):
            if ch.bridged is not None:
                ch.bridged.wake("unbridge")
                ch.wake("unbridge")
        self.join(a, b)
        now = int(time.time())
        for ch, peer in ((a, b), (b, a)):
            ch.profile["transfer_source"] = f"{now}:{ch.uuid}:uuid_br:{peer.uuid}"
            apps.enqueue(ch, "uuid_bridge", peer.uuid, front=True)
            ch.wake("bridge")

    def unbridge(self, ch: Channel, peer: Channel) -> None:
        if ch.bridged is peer:
            ch.bridged = None
        if peer.bridged is ch:
            peer.bridged = None
            peer.wake("unbridge")

    def transfer(self, ch: Channel, destination: str, dialplan: str = "XML") -> None:
        ch.transfer_to = destination
        ch.transfer_dialplan = dialplan
        ch.wake("transfer")
        apps.start_runner(ch)

    def originate_for_bridge(self, ch: Channel, dialstring: str):
        from esl.sim.originate import place
        return place(self, dialstring, originator=ch)

    # ---------------------------------------------------------------- whole-switch actions
    def hupall(self, cause: str = "MANAGER_REQUEST") -> int:
        chans = list(self.channels.values())
        for ch in chans:
            ch.hangup(cause)
            apps.start_runner(ch)
        return len(chans)

    def reloadxml(self) -> None:
        self.bus.fire("RELOADXML")


def _inline(text: str) -> list[tuple[str, str]]:
    """`app:arg,app2:arg2` (a leading `m:<c>:` picks another separator than `,`)."""
    sep = ","
    if len(text) > 3 and text[0] == "m" and text[1] == ":" and text[3] == ":":
        sep, text = text[2], text[4:]
    out = []
    for item in text.split(sep):
        app, _, arg = item.lstrip(" ").partition(":")
        if app:
            out.append((app, arg))
    return out


def _tone_seconds(path: str) -> float | None:
    """tone_stream://%(on,off,freq);loops=N -> (on+off)*N ms; loops=-1 -> endless."""
    loops = 1
    if "loops=" in path:
        text = path.rsplit("loops=", 1)[1].split(";")[0]
        loops = int(text) if text.lstrip("-").isdigit() else 1
    if loops < 0:
        return None
    try:
        spec = path.split("%(", 1)[1].split(")", 1)[0].split(",")
        per = (int(spec[0]) + int(spec[1])) / 1000.0
    except (IndexError, ValueError):
        per = 1.0
    return per * loops


def uptime_text(seconds: float) -> str:
    s = int(seconds)
    ms = int((seconds - s) * 1000)
    return (f"0 years, {s // 86400} days, {s % 86400 // 3600} hours, {s % 3600 // 60} minutes, "
            f"{s % 60} seconds, {ms} milliseconds, 0 microseconds")

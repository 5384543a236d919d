"""api commands: ``run(switch, "name args") -> body`` with FreeSWITCH's exact reply bodies
(tests/data/esl-corpus/FACTS.md): most end with ``\\n``; ``uuid_exists``, ``uuid_getvar``,
``global_getvar`` and ``sofia_contact`` do not; ``show ... as json`` is compact without a
newline when it has rows and ``{"row_count": 0}\\n`` when empty. Blocking commands
(originate) block only the calling greenlet.
"""
from __future__ import annotations

import json
import re
import time

from esl.sim import apps, eavesdrop
from esl.sim.originate import originate
from esl.sim.api_show import show, sofia, sofia_contact
from esl.sim.switch import uptime_text

VERSION = "FreeSWITCH Version 1.11.3-dev~64bit ( 64bit)"
NO_CHANNEL = "-ERR No such channel!\n"
_DTMF = re.compile(r"[0-9*#A-Da-dwW]+(@[0-9]+)?")


def run(switch, command: str) -> str:
    name, _, arg = command.strip().partition(" ")
    fn = COMMANDS.get(name)
    if fn is None:
        return f"-ERR {name} Command not found!\n"
    return fn(switch, arg.strip())


def _ch(switch, arg: str):
    return switch.channels.get(arg.split()[0]) if arg.split() else None


def status(switch, arg):
    up = switch.uptime()
    return (f"UP {uptime_text(up)}\nFreeSWITCH (Version 1.11.3-dev  64bit) is ready\n"
            f"{switch.sessions_since_start} session(s) since startup\n"
            f"{len(switch.channels)} session(s) - peak {len(switch.channels)}, last 5min 0 \n"
            "0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n1000 session(s) max\n"
            "min idle cpu 0.00/99.00\nCurrent Stack Size/Max 240K/8192K\n")


def version(switch, arg):
    return VERSION + "\n"


def global_getvar(switch, arg):
    if not arg:
        return "".join(f"{k}={v}\n" for k, v in switch.global_vars.items())
    return switch.global_vars.get(arg, "")


def uuid_kill(switch, arg):
    ch = _ch(switch, arg)
    if ch is None:
        return NO_CHANNEL
    parts = arg.split()
    ch.hangup(parts[1] if len(parts) > 1 else "NORMAL_CLEARING")
    apps.start_runner(ch)
    return "+OK\n"


def uuid_exists(switch, arg):
    return "true" if switch.races.exists(_ch(switch, arg)) else "false"


def uuid_setvar(switch, arg):
    parts = arg.split(None, 2)
    ch = _ch(switch, arg)
    if len(parts) < 2:
        return "-USAGE: <uuid> <var> [value]\n"
    if ch is None:
        return NO_CHANNEL
    if len(parts) == 2 or parts[2] in ("", "undef"):
        ch.variables.pop(parts[1], None)
    else:
        ch.variables[parts[1]] = parts[2]
    return "+OK\n"


def uuid_setvar_multi(switch, arg):
    ch = _ch(switch, arg)
    if ch is None:
        return NO_CHANNEL
    for item in arg.split(None, 1)[1].split(";") if len(arg.split(None, 1)) > 1 else []:
        name, _, value = item.partition("=")
        if name:
            ch.variables[name] = value
    return "+OK\n"


def uuid_getvar(switch, arg):
    ch = _ch(switch, arg)
    parts = arg.split()
    if ch is None:
        return NO_CHANNEL
    if len(parts) < 2:
        return "-USAGE: <uuid> <var>\n"
    return ch.variables.get(parts[1], "_undef_")


def uuid_answer(switch, arg):
    """switch_channel.c: answering an outbound leg is a no-op that succeeds (the phone
    rings on); only an inbound leg is answered."""
    ch = _ch(switch, arg)
    if ch is None or ch.hanging:
        return "-ERROR\n"
    if ch.direction == "inbound":
        ch.answer()
    return "+OK\n"


def uuid_phone_event(switch, arg):
    """mod_commands.c: `+OK Success` when the channel exists (mod_sofia sends its phone a
    NOTIFY "Event: talk|hold"), `-ERR Operation failed` when it does not. A ringing SIP
    leg whose phone allows remote control (users' `auto_answer`) answers on `talk`; any
    other phone ignores the NOTIFY and rings on."""
    parts = arg.split()
    if not parts:
        return "-USAGE: <uuid>\n"
    ch = switch.channels.get(parts[0])
    if ch is None or ch.hanging:
        return "-ERR Operation failed\n"
    event = parts[1].lower() if len(parts) > 1 else "talk"
    if event.startswith("talk") and ch.remote_answer and ch.direction == "outbound" \
            and ch.answer_state != "answered":
        ch.answer()
    return "+OK Success\n"


def uuid_bridge(switch, arg):
    parts = arg.split()
    a = switch.channels.get(parts[0]) if parts else None
    b = switch.channels.get(parts[1]) if len(parts) > 1 else None
    if a is None or b is None or a.hanging or b.hanging:
        return "-ERR Invalid uuid\n"
    switch.races.uuid_bridge(a, b)  # ideal timing: switch.bridge at once
    return f"+OK {b.uuid}\n"


def uuid_transfer(switch, arg):
    parts = arg.split()
    ch = _ch(switch, arg)
    if ch is None:
        return NO_CHANNEL
    leg, rest = "", parts[1:]
    if rest and rest[0] in ("-bleg", "-both"):
        leg, rest = rest[0], rest[1:]
    if not rest:
        return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
    dest = rest[0]
    targets = [ch]
    if leg == "-bleg":
        targets = [ch.bridged] if ch.bridged else []
    elif leg == "-both":
        targets = [ch] + ([ch.bridged] if ch.bridged else [])
    if not targets:
        return "-ERR No such channel!\n"
    dialplan = rest[1] if len(rest) > 1 else "XML"
    for t in targets:
        switch.transfer(t, dest, dialplan)
    return "+OK\n"


def uuid_break(switch, arg):
    ch = _ch(switch, arg)
    if ch is None:
        return NO_CHANNEL
    if ch.current_app in ("playback", "endless_playback", "sleep"):
        ch.wake("break_all" if "all" in arg.split()[1:] else "break")
    elif "all" in arg.split()[1:]:
        ch.queue.clear()
    return "+OK\n"


def uuid_broadcast(switch, arg):
    parts = arg.split()
    ch = _ch(switch, arg)
    if ch is None or len(parts) < 2:
        return NO_CHANNEL if ch is None else "-USAGE: <uuid> <path> [aleg|bleg|both]\n"
    path, leg = parts[1], (parts[2] if len(parts) > 2 else "aleg")
    app, _, appargs = path.partition("::")
    targets = {"aleg": [ch], "bleg": [ch.bridged], "both": [ch, ch.bridged]}.get(leg, [ch])
    for t in targets:
        if t is not None:
            app_name, app_arg = (app, appargs) if appargs else ("playback", path)
            apps.enqueue(t, app_name, app_arg, private=broadcast_message(app_name, app_arg))
    return "+OK Message sent\n"


def broadcast_message(app: str, arg: str, loops: str = "") -> tuple:
    """The message uuid_broadcast queues (its headers show in PRIVATE_COMMAND)."""
    headers = [("call-command", "execute"), ("execute-app-name", app), ("execute-app-arg", arg),
               ("event-lock", "true"), ("lead-frames", "5")]
    return "after", headers + ([("loops", loops)] if loops else [])


def uuid_record(switch, arg):
    parts = arg.split()
    ch = _ch(switch, arg)
    if ch is None:
        return NO_CHANNEL
    if len(parts) < 3:
        return "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>]\n"
    if parts[1] == "start":
        switch.recorder.start(ch, parts[2])
        return "+OK Success\n"
    if parts[1] == "stop":
        return "+OK Success\n" if switch.recorder.stop(ch, parts[2]) else "-ERR Cannot stop record session!\n"
    if parts[1] in ("mask", "unmask"):              # mod_commands.c (1.10): only a file being recorded
        if switch.recorder.mask(ch, parts[2], parts[1] == "mask"):
            return "+OK Success\n"
        return f"-ERR Cannot {parts[1]} recording session!\n"
    return "-ERR Invalid action\n"


def uuid_hold(switch, arg):
    """switch_ivr.c: `+OK Success` also for a uuid that does not exist; `-ERR Operation
    failed` for holding a held leg or releasing one not held. The leg's partner hears the
    held leg's `hold_music` (corpus 03: CALLSTATE HELD, CHANNEL_HOLD, the partner's
    playback ~200 ms later)."""
    parts = arg.split()
    if not parts:  # corpus 13: the usage line and the failure, both
        return "-USAGE: [off|toggle] <uuid> [<display>]\n-ERR Operation failed\n"
    mode = parts[0].lower() if parts[0].lower() in ("off", "toggle") else ""
    ch = switch.channels.get(parts[1] if mode and len(parts) > 1 else ("" if mode else parts[0]))
    if ch is None or ch.hanging:
        return "+OK Success\n"
    on = not ch.held if mode == "toggle" else mode != "off"
    if on == ch.held:
        return "-ERR Operation failed\n"
    if on:
        hold(switch, ch)
    else:
        unhold(ch)
    return "+OK Success\n"


def hold(switch, ch) -> None:
    ch.held = True
    ch.times["last_hold"] = time.time()
    if ch.callstate == "UNHELD":
        ch.set_callstate("ACTIVE")
    ch.set_callstate("HELD")
    ch.emit("CHANNEL_HOLD")
    peer = ch.bridged
    if peer is not None:
        music = ch.variables.get("hold_music") or switch.global_vars.get("hold_music", "local_stream://moh")
        peer.hold_music = music
        apps.enqueue(peer, "playback", music, private=broadcast_message("playback", music, "-1"))


def unhold(ch) -> None:
    ch.held = False
    ch.times["hold_accum"] += time.time() - ch.times["last_hold"]
    ch.set_callstate("UNHELD")
    peer = ch.bridged
    if peer is not None and peer.current_app == "playback" and peer.current_app_data == getattr(peer, "hold_music", ""):
        peer.wake("break")
    ch.emit("CHANNEL_UNHOLD")
    ch.set_callstate("ACTIVE")  # once the re-INVITE completes


def uuid_send_dtmf(switch, arg):
    """mod_commands.c: DTMF out to the leg's far end; no event on the switch. A simulated
    far end keeps what it received (``Channel.dtmf_sent``)."""
    parts = arg.split()
    if len(parts) < 2:
        return "-USAGE: <uuid> <dtmf_data>\n"
    ch = switch.channels.get(parts[0])
    if ch is None or ch.hanging:
        return "-ERR Cannot locate session!\n"
    if not _DTMF.fullmatch(parts[1]):  # corpus 13: `x` fails, `1w2` is sent
        return "-ERR Operation failed\n"
    ch.dtmf_sent = getattr(ch, "dtmf_sent", "") + parts[1]
    return f"+OK {ch.uuid} sent DTMF {parts[1]}.\n"


def uuid_recv_dtmf(switch, arg):
    """DTMF queued on the leg as if its phone sent it; FreeSWITCH fires the DTMF event when
    an application dequeues the digit (switch_channel_dequeue_dtmf). A running eavesdrop
    reads it in its own loop, after this reply (corpus 17: eavesdrop.feed); the simulator's
    other applications read at once."""
    parts = arg.split()
    ch = _ch(switch, arg)
    if ch is None or len(parts) < 2:
        return NO_CHANNEL
    if not eavesdrop.feed(ch, parts[1]):
        for digit in parts[1]:
            ch.emit("DTMF", {"DTMF-Digit": digit, "DTMF-Duration": "2000", "DTMF-Source": "APP"})
    return f"+OK {ch.uuid} received DTMF {parts[1]}.\n"


def uuid_dump(switch, arg):
    ch = _ch(switch, arg)
    if not switch.races.exists(ch):
        return NO_CHANNEL
    headers = ch.channel_block() + ch.other_leg_block() + ch.variable_block()
    return "".join(f"{k}: {v}\n" for k, v in headers)


def hupall(switch, arg):
    cause = arg.split()[0] if arg.split() else "MANAGER_REQUEST"
    switch.hupall(cause)
    return f"+OK hangup all channels with cause {cause}\n"


def reloadxml(switch, arg):
    switch.reloadxml()
    return "+OK [Success]\n"


COMMANDS = {
    "status": status, "version": version, "global_getvar": global_getvar,
    "originate": originate, "uuid_kill": uuid_kill, "uuid_exists": uuid_exists,
    "uuid_setvar": uuid_setvar, "uuid_setvar_multi": uuid_setvar_multi, "uuid_getvar": uuid_getvar,
    "uuid_answer": uuid_answer, "uuid_phone_event": uuid_phone_event, "uuid_bridge": uuid_bridge, "uuid_transfer": uuid_transfer,
    "uuid_break": uuid_break, "uuid_broadcast": uuid_broadcast, "uuid_record": uuid_record,
    "uuid_hold": uuid_hold, "uuid_send_dtmf": uuid_send_dtmf, "uuid_recv_dtmf": uuid_recv_dtmf, "uuid_dump": uuid_dump,
    "show": show, "sofia": sofia, "sofia_contact": sofia_contact, "hupall": hupall,
    "reloadxml": reloadxml,
}

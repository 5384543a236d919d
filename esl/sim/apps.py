"""Dialplan applications and the per-channel runner that executes them.

Rules: each channel has one runner greenlet executing its queue of applications in order,
each wrapped in CHANNEL_EXECUTE / CHANNEL_EXECUTE_COMPLETE (with Application-UUID when
the client gave an Event-UUID). The dialplan's actions wait in ``ch.dialplan_rest`` and
are taken one at a time when the queue is empty, so a blocking application never runs
the actions after it inline (after a `bridge` the rest of the dialplan runs when the
bridge ends, as in FreeSWITCH). Blocking applications (park, playback, bridge, eavesdrop,
echo, sleep) wait on the channel's signal; ``park`` and ``bridge`` run messages that
arrive meanwhile (sendmsg, uuid_broadcast) inline, as FreeSWITCH does. When the queue is
empty the dialplan has ended and the channel hangs up (NORMAL_CLEARING); a hangup unwinds
the running application, then the channel tears down (HANGUP_COMPLETE, DESTROY).
"""
from __future__ import annotations

import logging
import re
import time
import uuid as uuidlib

import gevent

from esl.sim.channel import Channel

log = logging.getLogger(__name__)
NONE = "_none_"
# run by the core state machine, not as a dialplan app: CHANNEL_EXECUTE but no _COMPLETE
NO_COMPLETE = frozenset({"uuid_bridge"})


def enqueue(ch: Channel, app: str, arg: str = "", app_uuid: str = "", *, front: bool = False,
            on_done=None, private: bool = False) -> None:
    item = (app, arg, app_uuid, on_done, private)
    if front:
        ch.queue.appendleft(item)
    else:
        ch.queue.append(item)
    ch.signal.set()
    start_runner(ch)


def start_runner(ch: Channel) -> None:
    if getattr(ch, "runner", None) is None and not ch.destroyed:
        ch.runner = gevent.spawn(run, ch)


def run(ch: Channel) -> None:
    try:
        while not ch.hanging:
            if ch.interrupt == "transfer":
                ch.interrupt = ""
                ch.switch.route(ch, ch.transfer_to, transfer=True,
                                dialplan=getattr(ch, "transfer_dialplan", "XML"))
                ch.transfer_dialplan = "XML"
                continue
            if not ch.queue and getattr(ch, "dialplan_rest", None):
                ch.queue.append(ch.dialplan_rest.popleft())  # the dialplan's next action
            if not ch.queue:
                if getattr(ch, "hold_open", False):
                    ch.wait()
                    continue
                ch.hangup("NORMAL_CLEARING")
                break
            execute(ch, *ch.queue.popleft())
        ch.teardown()
    except Exception:
        log.exception("channel %s runner failed", ch.uuid)
        ch.hanging = True
        ch.teardown()


_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def expand(ch: Channel, text: str) -> str:
    """`${name}` -> the channel variable (empty when unset), as FreeSWITCH expands an
    application's data when it runs (the dialplan's `set cc_direct_cause=${originate_disposition}`
    after a failed bridge). Only plain names: no `${func(args)}`, no `$${global}`."""
    return _VARIABLE.sub(lambda m: ch.variables.get(m.group(1), ""), text) if "${" in text else text


def execute(ch: Channel, app: str, arg: str, app_uuid: str, on_done=None, private: bool = False) -> str:
    fn = APPS.get(app)
    arg = expand(ch, arg)
    if app == "uuid_bridge" and not ch.hanging:
        ch.entered_from = ch.state
        for state in ("CS_HIBERNATE", "CS_RESET", "CS_SOFT_EXECUTE"):  # the core takes the leg over
            ch.set_state(state)
        if not ch.switch.races.gate(ch):  # real timing: waits for the bridge to be set up
            return NONE
    elif ch.state not in ("CS_EXECUTE", "CS_SOFT_EXECUTE", "CS_EXCHANGE_MEDIA", "CS_PARK") and not ch.hanging:
        ch.set_state("CS_EXECUTE")
    values = {"Application": app}
    if arg:
        values["Application-Data"] = arg
    if app not in NO_COMPLETE:
        values["Application-UUID"] = app_uuid or str(uuidlib.uuid4())
    prev = ch.current_app, ch.current_app_data
    ch.current_app, ch.current_app_data = app, arg
    ch.variables["current_application"] = app
    if arg:
        ch.variables["current_application_data"] = arg
    ch.emit("CHANNEL_EXECUTE", values)
    if fn is None:
        response = "-ERR invalid application"
    else:
        response = fn(ch, arg) or NONE
    if app not in NO_COMPLETE:
        ch.emit("CHANNEL_EXECUTE_COMPLETE", {**values, "Application-Response": response})
    if private:  # the message that carried this application (sendmsg, uuid_broadcast)
        where, message, body = (*private, "")[:3] if isinstance(private, tuple) else ("after", [], "")
        ch.emit("PRIVATE_COMMAND", lead=message if where == "lead" else (), body=body,
                after_core=message if where == "after" else ())
    ch.current_app, ch.current_app_data = prev
    if on_done:
        on_done(response)
    return response


def _serve(ch: Channel, stop_on: tuple[str, ...], timeout: float | None = None) -> str:
    """Wait, running queued messages inline, until one of ``stop_on`` (or hangup/timeout)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        why = ch.wait(left)
        if why == "hangup" or why == "timeout" or why in stop_on:
            return why
        if why == "msg" and ch.queue:
            execute(ch, *ch.queue.popleft())
            continue
        if ch.interrupt and ch.interrupt == why:
            # break/break_all (nothing to break here) or an interrupt this loop does not act
            # on (e.g. a second uuid_bridge of a leg already bridged): consumed, never spun on
            ch.interrupt = ""


def app_park(ch: Channel, arg: str) -> str:
    if getattr(ch, "parked", False):
        return NONE  # already in a park loop (an outbound socket's): nothing more to do
    ch.parked = True
    ch.emit("CHANNEL_PARK")
    _serve(ch, ("transfer", "bridge"))
    ch.parked = False
    ch.emit("CHANNEL_UNPARK")
    if ch.interrupt == "bridge":
        ch.interrupt = ""
    return NONE


def app_answer(ch: Channel, arg: str) -> str:
    ch.answer()
    return NONE


def app_pre_answer(ch: Channel, arg: str) -> str:
    ch.early_media()
    return NONE


def app_set(ch: Channel, arg: str) -> str:
    name, _, value = arg.partition("=")
    if name:
        if value == "":
            ch.variables.pop(name, None)
        else:
            ch.variables[name] = value
    return NONE


def app_unset(ch: Channel, arg: str) -> str:
    ch.variables.pop(arg, None)
    return NONE


def app_hangup(ch: Channel, arg: str) -> str:
    ch.hangup(arg or "NORMAL_CLEARING")
    return NONE


def app_playback(ch: Channel, arg: str) -> str:
    kind = arg.split("://", 1)[0] if "://" in arg else "file"
    ch.emit("PLAYBACK_START", {"Playback-File-Type": kind, "Playback-File-Path": arg})
    seconds = ch.switch.prompt_seconds(arg)
    deadline = None if seconds is None else time.monotonic() + seconds
    status = "done"
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        why = ch.wait(left)
        if why == "timeout":
            break
        if why in ("hangup", "transfer", "bridge"):
            status = "break"
            break
        if why == "unbridge":
            # played inline in a bridge (uuid_broadcast) whose partner left: the playback
            # ends and the interrupt stays for the bridge loop (returned at once by wait:
            # looping on it would spin without yielding and freeze the whole process)
            status = "break"
            break
        if why in ("break", "break_all"):
            ch.interrupt = ""
            status = "break"
            if why == "break_all":
                ch.queue.clear()
            break
        if why == "msg":
            ch.signal.clear()
            gevent.sleep(min(left or 0.01, 0.01))  # queued messages run after the playback
    ch.emit("PLAYBACK_STOP", {"Playback-File-Type": kind, "Playback-File-Path": arg,
                              "Playback-Status": status})
    return "FILE PLAYED" if status == "done" else "FILE NOT FOUND" if status == "missing" else "PLAYBACK ERROR"


def app_sleep(ch: Channel, arg: str) -> str:
    seconds = (int(arg) if arg.isdigit() else 0) / 1000 * ch.switch.time_factor
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ch.wait(deadline - time.monotonic()) in ("hangup", "transfer"):
            break
    return NONE


def app_wait_hangup(ch: Channel, arg: str) -> str:
    _serve(ch, ("transfer",))
    return NONE


def app_record_session(ch: Channel, arg: str) -> str:
    ch.switch.recorder.start(ch, arg)
    return NONE


def app_transfer(ch: Channel, arg: str) -> str:
    ch.transfer_to = arg.split()[0] if arg.split() else ""
    ch.wake("transfer")
    return NONE


def app_bridge_leg(ch: Channel, arg: str) -> str:
    """The internal bridge loop run on both legs of ``uuid_bridge`` (or ``bridge``)."""
    peer = ch.bridged
    if peer is None:
        return NONE
    if getattr(ch, "bridge_a", False):
        ch.emit("CHANNEL_BRIDGE", {"Bridge-A-Unique-ID": ch.uuid, "Bridge-B-Unique-ID": peer.uuid})
    elif arg:  # the B side of uuid_bridge moves on to exchanging media
        if getattr(ch, "entered_from", "") == "CS_PARK":
            ch.set_state("CS_CONSUME_MEDIA")
        ch.set_state("CS_EXCHANGE_MEDIA")
    why = _serve(ch, ("transfer", "unbridge"))
    if ch.interrupt == "unbridge":
        ch.interrupt = ""
    if getattr(ch, "bridge_a", False):
        ch.emit("CHANNEL_UNBRIDGE", {"Bridge-A-Unique-ID": ch.uuid, "Bridge-B-Unique-ID": peer.uuid})
    ch.switch.unbridge(ch, peer)
    if why == "hangup" or ch.hanging or why == "transfer":
        return NONE
    if ch.variables.get("park_after_bridge") == "true":
        ch.set_state("CS_PARK")
        app_park(ch, "")  # the core parks it: CHANNEL_PARK without an application around it
    elif not ch.queue and not getattr(ch, "dialplan_rest", None):
        ch.hangup("NORMAL_CLEARING")
    return NONE


def app_bridge(ch: Channel, arg: str) -> str:
    """A failed bridge hangs its channel up with the failure's cause unless
    `continue_on_fail` says go on (switch_channel.c switch_channel_handle_cause): a
    loopback leg dialling a busy phone ends USER_BUSY, so its originate does too."""
    result = ch.switch.originate_for_bridge(ch, arg)
    if isinstance(result, str):
        ch.variables["originate_disposition"] = result
        ch.variables["originate_failed_cause"] = result
        go_on = ch.variables.get("continue_on_fail", "")
        if go_on.lower() not in ("true", "yes", "on", "1") and result.lower() not in go_on.lower().split(","):
            ch.hangup(result)
        return NONE
    if ch.answer_state != "answered":
        ch.answer()  # the bridge passes the far end's answer on to the calling leg
    ch.switch.join(ch, result)
    result.runner = gevent.spawn(_b_leg, result)
    response = app_bridge_leg(ch, "")
    if not ch.hanging and ch.variables.get("hangup_after_bridge", "").lower() == "true":
        ch.hangup("NORMAL_CLEARING")  # mod_dptools bridge: the call ends with its bridge, the rest is skipped
    return response


def _b_leg(ch: Channel) -> None:
    """The B leg of the ``bridge`` application: no applications of its own; it ends with
    the bridge (FreeSWITCH hangs it up when the A leg leaves)."""
    if not ch.hanging:
        ch.set_state("CS_EXCHANGE_MEDIA")
    while not ch.hanging and ch.bridged is not None:
        ch.wait()
    if ch.bridged is not None:
        # its far end hung up (a phone's talk is over): the bridge ends for the calling leg
        # too, which goes on with its dialplan (nothing left: it hangs up, and a loopback
        # leg's partner with it) instead of staying bridged to a dead channel
        ch.switch.unbridge(ch, ch.bridged)
    if not ch.hanging:
        ch.hangup("NORMAL_CLEARING")
    ch.teardown()


APPS = {
    "park": app_park, "answer": app_answer, "pre_answer": app_pre_answer, "set": app_set,
    "export": app_set, "unset": app_unset, "hangup": app_hangup, "playback": app_playback,
    "sleep": app_sleep, "echo": app_wait_hangup, "record_session": app_record_session, "transfer": app_transfer,
    "uuid_bridge": app_bridge_leg, "bridge": app_bridge, "endless_playback": app_playback,
}

from esl.sim import conference  # noqa: E402,F401  (registers the conference application)
from esl.sim import eavesdrop  # noqa: E402,F401  (registers eavesdrop and three_way)

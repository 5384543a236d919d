"""``originate``: dial strings, endpoints and the outbound leg's life until answer or failure.

Dial string: ``{a=1,b=2}[c=3]endpoint``, read as FreeSWITCH reads it (fsparse.py: the
api line's words lose their quotes, so only ``\\,`` keeps a comma in a value); both
variable blocks optional; ``origination_uuid``,
``origination_caller_id_number/name``, ``originate_timeout`` are honoured, every other
variable is set on the channel). Endpoints: ``null/<n>`` (answers at once),
``loopback/<dest>[/<context>]`` (an A leg plus a B leg running the dialplan for dest),
``user/<ext>[@domain]`` (simulated SIP users), ``sofia/<profile>/<user>@<host>[:port]``
(scripted endpoints). Failures answer ``-ERR <CAUSE>``: USER_BUSY, CALL_REJECTED,
NO_ANSWER (after originate_timeout, default 60 s), USER_NOT_REGISTERED, SUBSCRIBER_ABSENT,
NORMAL_TEMPORARY_FAILURE (unreachable), NO_ROUTE_DESTINATION, CHAN_NOT_IMPLEMENTED.
The caller of ``place`` blocks (a greenlet) until the leg answers or fails.
"""
from __future__ import annotations

import time
import uuid as uuidlib

import gevent
import gevent.event

from esl.sim import apps, fsparse
from esl.sim.channel import Channel
from esl.sim.users import CAUSE, PHONES, Script


def parse_app(text: str) -> tuple[str, str] | None:
    """``&park()`` / ``&park`` / ``&playback(file)`` -> (app, arg); None if not an app."""
    text = text.strip()
    if not text.startswith("&"):
        return None
    text = text[1:]
    if "(" in text and text.endswith(")"):
        name, _, arg = text.partition("(")
        return name.strip(), arg[:-1]
    name, _, arg = text.partition(" ")
    return name.strip(), arg.strip()


def originate(switch, argument: str) -> str:
    """The api command: returns its body (``+OK <uuid>\\n`` or ``-ERR <CAUSE>\\n``)."""
    parts = fsparse.words(argument.strip())
    if len(parts) < 2 or len(parts) > 7:
        return "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n"
    dialstring, target = parts[0], parts[1]
    app = parse_app(target)
    job = switch.races.new_job()
    try:
        return _originate(switch, dialstring, target, app, job)
    finally:
        switch.races.job_over(job)


def _originate(switch, dialstring: str, target: str, app, job) -> str:
    result = place(switch, dialstring, job=job)
    if isinstance(result, str):
        return f"-ERR {result}\n"
    ch = result
    # FreeSWITCH reports the job a moment after the answer; a uuid_bridge of the leg
    # meanwhile may cancel it (the leg then never runs its application) -- races.py
    cause = switch.races.job_window(ch, job)
    ch.job = None
    if cause is not None:
        return f"-ERR {cause}\n"
    if app is not None and app[0] not in apps.APPS:
        ch.hangup("DESTINATION_OUT_OF_ORDER")
        apps.start_runner(ch)
        return "-ERR DESTINATION_OUT_OF_ORDER\n"
    if app is not None:
        apps.enqueue(ch, app[0], app[1])
    else:
        ch.profile["destination"] = target.split()[0]
        switch.route(ch, target.split()[0])
    return f"+OK {ch.uuid}\n"


def place(switch, dialstring: str, originator: Channel | None = None, job=None):
    """Create the outbound leg and wait for its far end. Returns the Channel or a cause."""
    try:
        variables, endpoint = fsparse.blocks(dialstring)
    except fsparse.BlockError:
        return "INVALID_NUMBER_FORMAT"
    kind, _, rest = endpoint.partition("/")
    timeout = float(variables.get("originate_timeout") or variables.get("leg_timeout") or 60)
    uuid = variables.get("origination_uuid") or str(uuidlib.uuid4())
    cid_num = variables.get("origination_caller_id_number", "0000000000")
    cid_name = variables.get("origination_caller_id_name", "Outbound Call" if not originator else "")
    if originator is not None:
        cid_num = variables.get("origination_caller_id_number", originator.profile["caller_number"])
        cid_name = variables.get("origination_caller_id_name", originator.profile["caller_name"])
    if kind == "null":
        return _leg(switch, uuid, f"null/{rest}", rest, cid_name, cid_num, variables, "mod_null",
                    Script("answer"), timeout, originator, job)
    if kind == "loopback":
        return _loopback(switch, uuid, rest, cid_name, cid_num, variables, timeout, originator)
    if kind == "user":
        ext = rest.split("@")[0]
        user = switch.users.users.get(ext)
        if user is None:
            return "SUBSCRIBER_ABSENT"
        if not user.registered:
            return "USER_NOT_REGISTERED"
        user.calls += 1
        name = f"sofia/internal/{ext}@127.0.0.1:{user.port}"
        variables.setdefault("dialed_user", ext)
        variables.setdefault("dialed_domain", user.domain)
        return _leg(switch, uuid, name, ext, cid_name, cid_num, variables, "mod_sofia",
                    user.script.for_call(variables), timeout, originator, job)
    if kind == "sofia":
        uri = rest.split("/", 1)[1] if "/" in rest else rest
        if rest.startswith("gateway/"):  # a trunk: the outside world is the simulated phones by number
            uri = f"{rest.rsplit('/', 1)[-1]}@{PHONES}"
        script = switch.users.endpoints.get(uri)
        script = script.for_call(variables) if script is not None else None
        if script is not None and script.action == "unregistered":
            return "USER_NOT_REGISTERED"  # no contact to call: no leg at all (corpus 16)
        user_part = uri.split("@")[0]
        if script is None:
            host = uri.split("@", 1)[1] if "@" in uri else ""
            if host in ("127.0.0.1", "127.0.0.1:5060"):
                script = Script("noroute")  # the switch itself: its dialplan has no such number
        return _leg(switch, uuid, f"sofia/{rest}", user_part, cid_name, cid_num, variables,
                    "mod_sofia", script, timeout, originator, job)
    return "CHAN_NOT_IMPLEMENTED"


def _new_outbound(switch, uuid, name, dest, cid_name, cid_num, variables, source, originator, callee=None):
    """``callee``: what FreeSWITCH shows as the callee of a leg originated from the api
    (Caller-Callee-ID-Name "Outbound Call", -Number the destination, or loopback's context)."""
    ch = Channel(switch, uuid, name, "outbound", caller_name=cid_name, caller_number=cid_num,
                 destination=dest, source=source, dialplan="XML" if source == "mod_loopback" or originator is not None else "",
                 variables={k: v for k, v in variables.items()})
    ch.profile["callee_number"] = cid_num
    if originator is None:
        ch.profile["callee_name"], ch.profile["callee_number"] = "Outbound Call", callee or dest
    if originator is not None:
        ch.other_leg = originator
        ch.variables["originator"] = originator.uuid

        def ring_wait(_c, what):  # the bridging A leg follows its B leg's ringing
            if what == "ring" and originator.answer_state == "answered":
                originator.set_callstate("RING_WAIT")
            elif what == "answer" and originator.callstate == "RING_WAIT":
                originator.set_callstate("ACTIVE")
        ch.watchers.append(ring_wait)
    switch.add(ch)
    if source in ("mod_loopback", "mod_null") and "origination_uuid" in variables:
        # loopback and null create their leg first, then rename it to origination_uuid
        # (corpus 01, 03, 11); sofia legs are created with it (corpus 09: no CHANNEL_UUID)
        ch.emit("CHANNEL_UUID", {"Old-Unique-ID": str(uuidlib.uuid4())})
    ch.emit("CHANNEL_OUTGOING")
    ch.set_state("CS_INIT")
    ch.emit("CHANNEL_CREATE")
    ch.emit("CHANNEL_ORIGINATE")
    ch.set_state("CS_ROUTING")
    ch.set_state("CS_CONSUME_MEDIA")
    ch.hold_open = True
    return ch


def _await(ch: Channel, timeout: float, originator: Channel | None = None):
    """Block until ``ch`` is answered (-> ch) or hung up / timed out (-> cause). A bridge's
    originate ends ORIGINATOR_CANCEL when its originator hangs up meanwhile."""
    done = gevent.event.AsyncResult()

    def watch(_c, what):
        if what == "answer" and not done.ready():
            done.set(ch)
        elif what == "hangup" and not done.ready():
            done.set(ch.hangup_cause or "NORMAL_CLEARING")

    def cancel(_o, what):
        if what == "hangup" and not done.ready():
            ch.hangup("ORIGINATOR_CANCEL")

    ch.watchers.append(watch)
    if originator is not None:
        originator.watchers.append(cancel)
    if ch.hanging:  # failed before anyone waited (a loopback whose B leg found no route)
        done.set(ch.hangup_cause or "NORMAL_CLEARING")
    elif ch.answer_state == "answered":
        done.set(ch)
    try:
        result = done.get(timeout=timeout)
    except gevent.Timeout:
        ch.hangup("NO_ANSWER")
        apps.start_runner(ch)
        result = "NO_ANSWER"
    finally:
        if watch in ch.watchers:
            ch.watchers.remove(watch)
        if originator is not None and cancel in originator.watchers:
            originator.watchers.remove(cancel)
    if isinstance(result, str):
        apps.start_runner(ch)
    else:
        ch.hold_open = False
    return result


def _far_end(ch: Channel, script: Script | None) -> None:
    tf = ch.switch.time_factor
    if script is None or script.action == "noroute":  # nothing answers / no route there
        gevent.sleep(0)
        ch.hangup("NORMAL_TEMPORARY_FAILURE" if script is None else "NO_ROUTE_DESTINATION")
        return
    if script.action == "noanswer" or script.ring:
        ch.ring()
    if script.ring:
        gevent.sleep(script.ring * tf)
    if ch.hanging or script.action == "noanswer" and ch.answer_state != "answered":
        return
    if script.action in CAUSE and ch.answer_state != "answered":
        ch.hangup(CAUSE[script.action])
        return
    ch.answer()
    if script.talk is not None:
        gevent.sleep(script.talk * tf)
        ch.hangup("NORMAL_CLEARING")


def _leg(switch, uuid, name, dest, cid_name, cid_num, variables, source, script, timeout, originator,
         job=None):
    ch = _new_outbound(switch, uuid, name, dest, cid_name, cid_num, variables, source, originator)
    ch.job = job
    ch.remote_answer = bool(script is not None and script.auto_answer)
    ch.far_end = gevent.spawn(_far_end, ch, script)
    return _await(ch, timeout, originator)


def _loopback(switch, uuid, rest, cid_name, cid_num, variables, timeout, originator):
    dest = rest.split("/")[0]
    context = rest.split("/")[1] if rest.count("/") >= 1 and rest.split("/")[1] else "default"
    a = _new_outbound(switch, uuid, f"loopback/{dest}-a", dest, cid_name, cid_num, variables,
                      "mod_loopback", originator, callee=context)
    b = Channel(switch, str(uuidlib.uuid4()), f"loopback/{dest}-b", "inbound",
                caller_name=cid_name, caller_number=cid_num, destination=dest, source="mod_loopback")
    b.profile["callee_name"], b.profile["callee_number"] = "Outbound Call", context
    a.variables.update(other_loopback_leg_uuid=b.uuid, loopback_leg="A")
    b.variables.update(other_loopback_leg_uuid=a.uuid, loopback_leg="B")
    switch.add(b)
    b.set_state("CS_INIT")
    b.emit("CHANNEL_CREATE")
    b.set_callstate("RINGING")

    def b_event(_c, what):
        if what == "answer":
            a.answer()
        elif what == "hangup":
            a.hangup(b.hangup_cause)
            apps.start_runner(a)

    def a_event(_c, what):
        if what == "hangup":
            b.hangup(a.hangup_cause)
            apps.start_runner(b)

    b.watchers.append(b_event)
    a.watchers.append(a_event)
    if not switch.route(b, dest):
        gevent.sleep(0)
    return _await(a, timeout)


def now() -> float:
    return time.time()

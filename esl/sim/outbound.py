"""Outbound-socket mode: an inbound call whose dialplan runs ``socket host:port async full``.
The switch dials the client's server; the session answers ``connect`` with the channel's
CHANNEL_DATA block; in async mode the channel is parked (CHANNEL_PARK) while the client
sends ``sendmsg``; the call's life ends the session unless the client asked to ``linger``.
"""
from __future__ import annotations

import uuid as uuidlib

import gevent
from gevent import socket

from esl.sim import apps
from esl.sim.channel import Channel
from esl.sim.session import Session


def app_socket(ch: Channel, arg: str) -> str:
    words = arg.split()
    host, _, port = words[0].partition(":") if words else ("", "", "")
    if host not in ("127.0.0.1", "localhost"):
        return "-ERR refused"
    try:
        sock = socket.create_connection((host, int(port)), timeout=5)
    except (OSError, ValueError):
        ch.hangup("DESTINATION_OUT_OF_ORDER")
        return "_none_"
    sock.settimeout(None)
    sim = ch.switch.simulator
    session = Session(sim, sock, channel=ch, async_mode="async" in words[1:], full="full" in words[1:])
    sim.sessions.add(session)
    ch.socket_session = session
    gevent.spawn(session.serve)
    while not ch.hanging and not session.closed and not ch.queue:
        ch.wait()  # async mode parks once the client starts sending messages
    if session.async_mode and not ch.hanging and not session.closed:
        apps.app_park(ch, "")
    else:
        while not ch.hanging and not session.closed:
            if ch.queue:
                apps.execute(ch, *ch.queue.popleft())
            else:
                ch.wait()
    if not session.linger and not session.closed:
        session.controlled_hangup()
    return "_none_"


apps.APPS["socket"] = app_socket


def socket_call(sim, destination, target, caller_number, async_mode, full, uuid=None) -> Channel:
    sim.switch.simulator = sim
    mode = " ".join(x for x in ("async" if async_mode else "", "full" if full else "") if x)
    dest_apps = [("socket", f"{target[0]}:{target[1]} {mode}".strip())]
    sim.switch.dialplan.table.setdefault(destination, dest_apps)
    return sim.place_call(destination, caller_number, uuid=uuid or str(uuidlib.uuid4()))

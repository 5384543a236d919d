"""Socket.IO push for the wallboard (Flask-SocketIO, async_mode gevent).

A client connects to namespace /wallboard with its login session cookie; the connect
handler refuses anonymous users and users without a wallboard role, and puts the
client in one room per visible tenant set. One broadcaster greenlet emits a fresh
snapshot to each room every `interval` seconds. Engine notices (agent_ui/notices.py)
go as `notice` events to the rooms whose tenants they concern, as they happen.
"""
from __future__ import annotations

import logging

import gevent
from flask import request
from flask_socketio import SocketIO, join_room

from agent_ui import live
from agent_ui.auth import web_user
from agent_ui.notices import tenants_of

log = logging.getLogger(__name__)
NAMESPACE = "/wallboard"


def live_figures(app):
    """Today's figures from the journal (reports/live.LiveFigures) or None: sentral.web's `live_source`."""
    source = app.extensions["sentral"][1].extra.get("live")
    return source() if source is not None else None


def attach(app, engine_source, interval: float = 1.0, notices=None, message_queue: str | None = None,
           channel: str = "sentral-socketio") -> SocketIO:
    """The app's one SocketIO (the console's namespace joins it: agent_ui.console_socket).
    With `message_queue` (a Redis URL) emits reach the clients of every process on it."""
    kwargs = {"message_queue": message_queue, "channel": channel} if message_queue else {}
    socketio = SocketIO(app, async_mode="gevent", **kwargs)  # default: same origin only
    rooms: dict[str, set[str]] = {}     # room (its sorted tenants) -> tenants
    history = live.WaitingHistory()
    members: dict[str, str] = {}        # connected sid -> its room

    @socketio.on("connect", namespace=NAMESPACE)
    def connect(auth=None):
        _, services = app.extensions["sentral"]
        user = web_user()
        engine = engine_source()
        if user is None or not user.active or engine is None:
            return False
        tenants = live.visible_tenants(user, engine.deployment.tenants)
        if not tenants:
            return False
        room = ",".join(sorted(tenants))
        rooms[room] = tenants
        members[request.sid] = room
        join_room(room)
        first = live.snapshot(engine, tenants, services.clock(), live_figures(app))
        first["history"] = history.series(tenants)          # the last ten minutes, drawn at once
        socketio.emit("wallboard", first, to=request.sid, namespace=NAMESPACE)
        return True

    @socketio.on("disconnect", namespace=NAMESPACE)
    def disconnect(*_):
        room = members.pop(request.sid, None)
        if room is not None and room not in members.values():
            rooms.pop(room, None)   # nobody watches these tenants any more: stop computing them

    def broadcast():
        while True:
            gevent.sleep(interval)
            engine = engine_source()
            if engine is None:
                continue
            now = app.extensions["sentral"][1].clock()
            for room, tenants in list(rooms.items()):
                try:
                    socketio.emit("wallboard", live.snapshot(engine, tenants, now, live_figures(app)), to=room,
                                  namespace=NAMESPACE)
                except Exception:
                    log.exception("wallboard push failed")

    def forward(notice):
        engine = engine_source()
        if engine is None:
            return
        concerned = tenants_of(notice, engine.deployment)
        for room, tenants in list(rooms.items()):
            if concerned & tenants:
                socketio.emit("notice", {"topic": notice.topic, **dict(notice.payload)}, to=room,
                              namespace=NAMESPACE)

    def record():
        while True:
            engine = engine_source()
            if engine is not None:
                try:
                    history.sample(engine, app.extensions["sentral"][1].clock())
                except Exception:
                    log.exception("wallboard history sample failed")
            gevent.sleep(history.SAMPLE)

    if notices is not None:
        notices.subscribe(forward)
    socketio.start_background_task(broadcast)
    socketio.start_background_task(record)
    socketio.wallboard_rooms = rooms    # read-only view for health pages and tests
    socketio.wallboard_history = history
    return socketio

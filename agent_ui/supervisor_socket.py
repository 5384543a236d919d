"""The supervisor page's live channel: Socket.IO namespace /supervisor (Flask-SocketIO, gevent).

Audience: logged-in users with supervisor, tenant_admin or admin in some tenant.

Rules:
- Connect is refused (False) without an active login session with such a role, or while
  the engine is not running. A socket joins the room of its visible tenants and locale
  (`view:<tenants>|<locale>`), `phone:<agent>` for the agent it is bound to (its
  softphone: monitoring notices) and `user:<username>` (refusals of its own actions).
- On connect it gets everything at once: `supervisor` (queues, alarms, agents, monitors:
  agent_ui.supervisor_state) and `lists` (abandoned calls to call back, audit log). Then
  `supervisor` every `interval` seconds and at once after an action or a monitoring notice,
  `lists` every `list_interval` seconds and after every action, and an `alarm` event for
  each alarm newly raised in a room's queues.
- Actions arrive as one `action` event `{"name": ..., ...}`: listen / whisper / barge
  `{agent}`, stop, pause `{agent, reason}`, available / logout / wrapup_end `{agent}`,
  callback `{queue, number, origin}`. Each goes through agent_ui.actions as the session's
  user (`Actor.of_user`, roles re-read on every event): the role and tenant check, the
  audit entry and the engine event are its; nothing here decides who may. The ack is
  `{"ok": true}` or `{"ok": false, "error": <id>, "message": <translated>}`.
- Engine notices: monitor_started / monitor_changed / monitor_ended / monitor_failed go as
  `notice` to the supervisor phone's room; `command_refused` goes as `refused` to the room
  of the phone it names (`agent`), of the user who asked (a callback's `by`), and of the user who
  steered that agent in the last STEER_WINDOW seconds (an engine refusal of a forced pause).
- Every RECHECK seconds the connected users are read again: a socket whose user is gone,
  disabled, or sees other tenants than at connect (a role revoked or granted) is
  disconnected, so a revocation stops the live view (caller numbers) within RECHECK
  seconds, not only at the next action. A reconnect gets the new view.
"""
from __future__ import annotations

import logging
import time

import gevent
import gevent.event
from flask import request
from flask_socketio import join_room

from agent_ui import alarms as alarm_rules
from agent_ui import i18n, live, supervisor_state
from agent_ui.actions import ActionError, Actions, Actor
from agent_ui.auth import web_user
from agent_ui.supervisor import phone_of
from store import supervision

log = logging.getLogger(__name__)
NAMESPACE = "/supervisor"
STEER_WINDOW = 10.0
RECHECK = 5.0          # seconds between re-reads of the connected users (disabled, roles changed)
MONITOR_TOPICS = frozenset({"monitor_started", "monitor_changed", "monitor_ended", "monitor_failed"})
STEER = {"pause", "available", "logout", "wrapup_end"}
LISTEN = {"listen", "whisper", "barge"}


def _text(msg: dict, key: str, limit: int = 64) -> str:
    value = msg.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise ActionError("action.invalid", f"bad field {key}")
    return value


def attach(socketio, app, engine_source, post, store, notices=None, *, interval: float = 1.0,
           list_interval: float = 5.0) -> Actions:
    """The /supervisor namespace on `socketio`; returns the Actions it acts through."""
    _, services = app.extensions["sentral"]
    actions = Actions(engine_source, post, store.audit, store.clock)
    sockets: dict[str, dict] = {}            # sid -> {"user", "tenants", "locale", "phone", "room"}
    rooms: dict[str, tuple[set, str]] = {}   # room -> (tenants, locale)
    books: dict[str, alarm_rules.AlarmBook] = {}
    steered: dict[str, tuple[str, float]] = {}   # agent -> (username, monotonic time) of the last steer
    wake = gevent.event.Event()
    lists_due = {"now": True}

    def room_of(tenants: set, locale: str) -> str:
        return f"view:{','.join(sorted(tenants))}|{locale}"

    @socketio.on("connect", namespace=NAMESPACE)
    def connect(auth=None):
        user, engine = web_user(), engine_source()
        if user is None or not user.active or engine is None:
            return False
        tenants = live.visible_tenants(user, engine.deployment.tenants)
        if not tenants:
            return False
        locale = i18n.current()
        room = room_of(tenants, locale)
        phone = phone_of(user, engine)
        sockets[request.sid] = {"user": user.username, "tenants": tenants, "locale": locale, "phone": phone,
                                "room": room}
        rooms[room] = (tenants, locale)
        books.setdefault(room, alarm_rules.AlarmBook())
        join_room(room)
        join_room(f"user:{user.username}")
        if phone:
            join_room(f"phone:{phone}")
        now = services.clock()
        with i18n.in_locale(app, locale):
            first = supervisor_state.state(engine, tenants, now, books[room])
            lists = lists_for(engine, tenants, now)
        first.pop("new_alarms", None)
        socketio.emit("supervisor", first, to=request.sid, namespace=NAMESPACE)
        socketio.emit("lists", lists, to=request.sid, namespace=NAMESPACE)
        return True

    def forget(sid: str) -> None:
        me = sockets.pop(sid, None)
        if me is not None and not any(s["room"] == me["room"] for s in sockets.values()):
            rooms.pop(me["room"], None)
            books.pop(me["room"], None)

    @socketio.on("disconnect", namespace=NAMESPACE)
    def disconnect(*_):
        forget(request.sid)

    def recheck() -> int:
        """Drop every socket whose user is gone, disabled or no longer sees the same
        tenants (roles re-read from the store); returns how many were dropped."""
        engine = engine_source()
        dropped = 0
        for sid, me in list(sockets.items()):
            try:
                user = store.user(me["user"])
            except Exception:
                log.exception("supervisor socket check failed")
                return dropped
            tenants = (live.visible_tenants(user, engine.deployment.tenants)
                       if user is not None and user.active and engine is not None else set())
            if tenants != me["tenants"]:
                forget(sid)
                socketio.server.disconnect(sid, namespace=NAMESPACE)
                dropped += 1
        return dropped

    @socketio.on("action", namespace=NAMESPACE)
    def action(msg):
        me, user = sockets.get(request.sid), web_user()
        if me is None or user is None or not user.active or user.username != me["user"]:
            return refusal("action.denied", me)
        if not isinstance(msg, dict):
            return refusal("action.invalid", me)
        actor = Actor.of_user(user)
        name = msg.get("name")
        try:
            if name in LISTEN:
                actions.monitor(actor, _text(msg, "agent"), name)
            elif name == "stop":
                actions.monitor_end(actor)
            elif name in STEER:
                agent = _text(msg, "agent")
                actions.steer(actor, agent, name, reason=_text(msg, "reason") if name == "pause" else "")
                steered[agent] = (user.username, time.monotonic())
            elif name == "callback":
                actions.callback(actor, _text(msg, "queue"), _text(msg, "number", 32), origin=_text(msg, "origin"))
            elif name == "item_close":
                actions.close_item(actor, _text(msg, "item"), _text(msg, "result"))
            else:
                return refusal("action.invalid", me)
        except ActionError as exc:
            lists_due["now"] = True
            wake.set()
            return refusal(exc.error_id, me)
        lists_due["now"] = True
        wake.set()
        return {"ok": True}

    def refusal(error_id: str, me: dict | None) -> dict:
        with i18n.in_locale(app, me["locale"] if me else i18n.DEFAULT):
            message = supervisor_state.error_label(error_id)
        return {"ok": False, "error": error_id, "message": message}

    def lists_for(engine, tenants: set, now) -> dict:
        with store.engine.connect() as conn:
            abandoned = supervision.abandoned_to_call_back(conn, tenants, now)
            entries = supervision.supervisor_actions(conn, tenants)
        names = {aid: a.name for aid, a in engine.deployment.agents.items()}
        names.update({qid: q.name for qid, q in engine.deployment.queues.items()})
        return {"abandoned": supervisor_state.abandoned(engine, abandoned, now),
                "audit": supervisor_state.audit(entries, names, engine.deployment.pause_reasons,
                                                engine.deployment.result_codes)}

    def locale_of(key: str, value: str) -> str:
        for s in sockets.values():
            if s[key] == value:
                return s["locale"]
        return ""

    def forward(notice):
        payload, topic = notice.payload, notice.topic
        engine = engine_source()
        if engine is None:
            return
        if topic in MONITOR_TOPICS:
            phone = str(payload.get("supervisor", ""))
            locale = locale_of("phone", phone)
            if locale:
                names = {aid: a.name for aid, a in engine.deployment.agents.items()}
                with i18n.in_locale(app, locale):
                    label = supervisor_state.notice_label(topic, payload, names)
                socketio.emit("notice", {"topic": topic, "label": label, "agent": str(payload.get("agent", "")),
                                         "mode": str(payload.get("mode", "")), "cause": str(payload.get("cause", ""))},
                              to=f"phone:{phone}", namespace=NAMESPACE)
            wake.set()
        elif topic == "command_refused":
            who = str(payload.get("agent", ""))
            error_id = str(payload.get("error_id", ""))
            targets = []
            if locale_of("phone", who):
                targets.append((f"phone:{who}", locale_of("phone", who)))
            asker = str(payload.get("by", ""))          # a callback's: the username who asked
            if asker and locale_of("user", asker):
                targets.append((f"user:{asker}", locale_of("user", asker)))
            last = steered.get(who)
            if last is not None and time.monotonic() - last[1] < STEER_WINDOW and locale_of("user", last[0]):
                targets.append((f"user:{last[0]}", locale_of("user", last[0])))
            for room, locale in targets:
                with i18n.in_locale(app, locale):
                    message = supervisor_state.error_label(error_id)
                socketio.emit("refused", {"error": error_id, "message": message, "agent": who}, to=room,
                              namespace=NAMESPACE)

    def push(engine, with_lists: bool) -> None:
        now = services.clock()
        for room, (tenants, locale) in list(rooms.items()):
            try:
                with i18n.in_locale(app, locale):
                    state = supervisor_state.state(engine, tenants, now, books.setdefault(room, alarm_rules.AlarmBook()))
                    lists = lists_for(engine, tenants, now) if with_lists else None
                new = state.pop("new_alarms")
                socketio.emit("supervisor", state, to=room, namespace=NAMESPACE)
                for alarm in new:
                    socketio.emit("alarm", alarm, to=room, namespace=NAMESPACE)
                if lists is not None:
                    socketio.emit("lists", lists, to=room, namespace=NAMESPACE)
            except Exception:
                log.exception("supervisor push failed")

    def pusher():
        last_lists = last_check = 0.0
        while True:
            wake.wait(timeout=interval)
            wake.clear()
            if sockets and time.monotonic() - last_check >= RECHECK:
                last_check = time.monotonic()
                recheck()
            engine = engine_source()
            if engine is None or not rooms:
                continue
            due = lists_due["now"] or time.monotonic() - last_lists >= list_interval
            if due:
                lists_due["now"] = False
                last_lists = time.monotonic()
            push(engine, due)

    if notices is not None:
        notices.subscribe(forward)
    socketio.start_background_task(pusher)
    socketio.supervisor_sockets = sockets     # read-only view for tests and health pages
    socketio.supervisor_recheck = recheck     # the pusher runs it every RECHECK seconds; tests trigger it
    return actions

"""The agent console's live channel: Socket.IO namespace /console (Flask-SocketIO, gevent).

Rules:
- Connect is refused (False) without a login session whose user is active and bound to
  an agent the running engine knows (`store.users.bind_agent`). A connected socket is in
  room `agent:<id>` (every console of that agent) and `parked:<tenant>:<locale>` for each
  tenant the user serves (agent_ui.console_state.served_tenants).
- On connect (a reconnect is a connect) the socket gets its full state at once
  (`console`: console_state.console), in the locale of its page.
- Commands arrive as one `command` event `{"name": ..., ...}` and are posted into the
  engine's inbox with the agent id of the *session*, never one from the client (a field
  `agent` in the message is ignored): an agent cannot act on another agent's call. The
  reply (Socket.IO ack) is `{"ok": true}` or `{"ok": false, "error": <id>, "message":
  <translated>}` for what is refused here (malformed, not bound, engine down); the
  engine's own refusals come back as a `refused` event with the translated message
  (`recording_pause` on a call that is not recorded: `engine.no_recording`).
- Engine notices (agent_ui.notices, with the store snapshots): `agent_changed` /
  `interaction_changed` mark the agents concerned (the agent, a recall's agent) and the
  parked lists of the tenant; one pusher greenlet sends each marked agent's room a fresh
  `console` state, coalescing bursts, so the engine's runtime never waits for a console.
  A tenant's parked list goes to its consoles only when it differs from the list last sent
  to that room: it reaches every console of the tenant, and most call changes leave it as
  it was (sent on every change, 1,000 consoles at 10 calls/s were ~14,000 messages/s of
  the same empty list: BENCHMARKS.md, console). A connecting console gets it in its state.
  `command_refused` goes as `refused` to that agent's room; every other notice naming an
  agent (`recall`, `parked`, `consult_failed`, `agent_paused`...) as `notice` with a
  translated label, but the recorder's (`recording_started`, `recording_party`): those
  only push the state, whose call card says the call is recorded.
- Written items (engine.written): `item_accept` / `item_decline` `{item}`, `item_transfer`
  `{item, queue}`, `item_close` `{item, result}` (a reply is stored first, over HTTP:
  agent_ui.written_console). `item_changed` marks the item's agent and the one who had it
  last; the engine's refusals (item.not_found / item.not_yours / item.refused) come back
  as `refused` like the calls'; `written_send_failed` as a `notice` to the item's agent.
- With a message queue (Redis, SENTRAL_REDIS_URL) every emit reaches the sockets of every
  console process; this process then pushes state for every agent the engine touched,
  not only those connected here.
"""
from __future__ import annotations

import logging
import time

import gevent
import gevent.event
from flask import request
from flask_socketio import join_room

from agent_ui import console_state, i18n
from agent_ui.auth import web_user
from engine import events as ev

log = logging.getLogger(__name__)
NAMESPACE = "/console"
KINDS = ("number", "user", "queue")
RECORDER_TOPICS = ("recording_",)       # the recorder's notices: the card shows "Opptak", no message
_TEXT = 128


class BadCommand(ValueError):
    error_id = "console.bad_command"


def _text(msg: dict, key: str, limit: int = _TEXT, required: bool = True) -> str:
    value = msg.get(key, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise BadCommand(key)
    return value.strip()


def to_event(aid: str, msg, at):
    """The engine event of a console command message, for agent `aid` (the session's)."""
    if not isinstance(msg, dict) or not isinstance(msg.get("name"), str):
        raise BadCommand("name")
    name = msg["name"]
    simple = {"logout": ev.AgentLogout, "resume": ev.AgentResume, "answer": ev.CallAnswer,
              "hangup": ev.CallHangup, "park": ev.CallPark, "consult_swap": ev.ConsultSwap,
              "consult_complete": ev.ConsultComplete, "consult_cancel": ev.ConsultCancel,
              "consult_conference": ev.ConsultConference,
              "recording_pause": ev.RecordingPause, "recording_resume": ev.RecordingResume}
    if name in simple:
        return simple[name](aid, at)
    if name == "login":
        queues = msg.get("queues", [])
        if not isinstance(queues, list) or len(queues) > 64 or not all(isinstance(q, str) and len(q) <= 64
                                                                       for q in queues):
            raise BadCommand("queues")
        return ev.AgentLogin(aid, at, tuple(sorted(set(queues))))
    if name == "pause":
        return ev.AgentPause(aid, _text(msg, "reason", 64), at)
    if name == "wrapup_end":
        return ev.WrapUpEnd(aid, at, result=_text(msg, "result", 64, required=False))
    if name == "hold":
        if not isinstance(msg.get("on"), bool):
            raise BadCommand("on")
        return ev.CallHold(aid, msg["on"], at)
    if name == "digits":
        return ev.CallDigits(aid, _text(msg, "digits", 32), at)
    if name in ("transfer", "consult_start"):
        kind = msg.get("kind", "number")
        if kind not in KINDS:
            raise BadCommand("kind")
        target, label = _text(msg, "target", 64), _text(msg, "label", _TEXT, required=False)
        if name == "consult_start":
            return ev.ConsultStart(aid, target, at, kind=kind, name=label)
        camp_on = msg.get("camp_on", False)
        if not isinstance(camp_on, bool):
            raise BadCommand("camp_on")
        return ev.CallTransfer(aid, target, at, kind=kind, name=label, camp_on=camp_on)
    if name == "pickup":
        return ev.ParkedPickUp(aid, _text(msg, "interaction", 64), at)
    if name == "recall":
        return ev.CallRecall(aid, _text(msg, "interaction", 64), at)
    if name == "item_accept":
        return ev.ItemAccept(aid, _text(msg, "item", 64), at)
    if name == "item_decline":
        return ev.ItemDecline(aid, _text(msg, "item", 64), at)
    if name == "item_transfer":
        return ev.ItemTransfer(aid, _text(msg, "item", 64), _text(msg, "queue", 64), at)
    if name == "item_close":
        return ev.ItemClose(aid, _text(msg, "item", 64), _text(msg, "result", 64, required=False), at)
    raise BadCommand(name)


def attach(socketio, app, engine_source, post, notices=None, *, shared: bool = False) -> None:
    """The /console namespace on `socketio`; `post(event)` is the engine's inbox (None: this
    process only relays pushes, its commands are refused as `console.engine_down`)."""
    _, services = app.extensions["sentral"]
    sockets: dict[str, dict] = {}          # sid -> {"agent", "locale", "tenants"}
    locales: dict[str, str] = {}           # agent -> the locale its consoles last connected with
    dirty: dict[str, None] = {}            # agents whose consoles need a fresh state
    dirty_tenants: dict[str, None] = {}
    last_parked: dict[str, list] = {}      # parked room -> the list last sent to it
    wake = gevent.event.Event()
    stats = {"pushes": 0, "last_push": 0.0}

    def viewer_tenants(user, engine) -> set[str]:
        return console_state.served_tenants(user, engine.deployment.tenants)

    def state_for(engine, aid: str, locale: str, tenants: set[str]) -> dict:
        with i18n.in_locale(app, locale):
            return console_state.console(engine, aid, services.clock(), tenants, locale)

    @socketio.on("connect", namespace=NAMESPACE)
    def connect(auth=None):
        user = web_user()
        engine = engine_source()
        if user is None or not user.active or not user.agent or engine is None or user.agent not in engine.agents:
            return False
        locale = i18n.current()
        tenants = viewer_tenants(user, engine) | {
            engine.deployment.queues[q].tenant for q in engine.agents[user.agent].config.queues
            if q in engine.deployment.queues}
        sockets[request.sid] = {"agent": user.agent, "locale": locale, "tenants": tenants}
        locales[user.agent] = locale
        join_room(f"agent:{user.agent}")
        for tenant in tenants:
            join_room(f"parked:{tenant}:{locale}")
        socketio.emit("console", state_for(engine, user.agent, locale, tenants), to=request.sid, namespace=NAMESPACE)
        return True

    @socketio.on("disconnect", namespace=NAMESPACE)
    def disconnect(*_):
        sockets.pop(request.sid, None)

    @socketio.on("command", namespace=NAMESPACE)
    def command(msg):
        me = sockets.get(request.sid)
        user = web_user()
        if me is None or user is None or user.agent != me["agent"]:
            return _refusal("console.not_bound")
        engine = engine_source()
        if engine is None or post is None:      # no engine here (a relay-only console process)
            return _refusal("console.engine_down")
        try:
            event = to_event(me["agent"], msg, services.clock())
        except BadCommand:
            return _refusal("console.bad_command")
        post(event)
        return {"ok": True}

    @socketio.on("refresh", namespace=NAMESPACE)
    def refresh(*_):
        me = sockets.get(request.sid)
        engine = engine_source()
        if me is None or engine is None:
            return {"ok": False}
        socketio.emit("console", state_for(engine, me["agent"], me["locale"], me["tenants"]), to=request.sid,
                      namespace=NAMESPACE)
        return {"ok": True}

    def _refusal(error_id: str) -> dict:
        return {"ok": False, "error": error_id, "message": i18n.label("error", error_id)}

    def watched(aid: str) -> bool:
        return shared or any(s["agent"] == aid for s in sockets.values())

    def on_notice(notice):
        payload = notice.payload
        topic = notice.topic
        if topic == "agent_changed":
            mark(payload.get("agent", ""))
        elif topic == "interaction_changed":
            mark(payload.get("agent", ""))
            mark(payload.get("recall_agent", ""))
            if payload.get("tenant"):
                dirty_tenants[str(payload["tenant"])] = None
                wake.set()
        elif topic == "item_changed":
            mark(payload.get("agent", ""))
            mark(payload.get("last_agent", ""))
        elif topic == "written_send_failed":
            aid = str(payload.get("agent", ""))
            if aid and watched(aid):
                with i18n.in_locale(app, locales.get(aid, i18n.DEFAULT)):
                    label = _notice_label(topic, payload)
                socketio.emit("notice", {"topic": topic, "label": label, "item": str(payload.get("item", ""))},
                              to=f"agent:{aid}", namespace=NAMESPACE)
            mark(aid)
        elif topic == "command_refused":
            aid = str(payload.get("agent", ""))
            if watched(aid):
                error_id = str(payload.get("error_id", ""))
                with i18n.in_locale(app, locales.get(aid, i18n.DEFAULT)):
                    message = i18n.label("error", error_id)
                socketio.emit("refused", {"error": error_id, "message": message}, to=f"agent:{aid}",
                              namespace=NAMESPACE)
        elif payload.get("agent"):
            aid = str(payload["agent"])
            if watched(aid) and not topic.startswith(RECORDER_TOPICS):
                with i18n.in_locale(app, locales.get(aid, i18n.DEFAULT)):
                    label = _notice_label(topic, payload)
                socketio.emit("notice", {"topic": topic, "label": label}, to=f"agent:{aid}", namespace=NAMESPACE)
            mark(aid)

    def mark(aid) -> None:
        if aid and watched(str(aid)):
            dirty[str(aid)] = None
            wake.set()

    def pusher():
        while True:
            wake.wait()
            wake.clear()
            engine = engine_source()
            if engine is None:
                continue
            agents = list(dirty)
            dirty.clear()
            tenants = list(dirty_tenants)
            dirty_tenants.clear()
            for aid in agents:
                try:
                    push_agent(engine, aid)
                except Exception:
                    log.exception("console push failed")
            for tenant in tenants:
                try:
                    push_parked(engine, tenant)
                except Exception:
                    log.exception("parked list push failed")

    def push_agent(engine, aid: str) -> None:
        if aid not in engine.agents:
            return
        viewers = [s for s in sockets.values() if s["agent"] == aid]
        tenants = set().union(*(s["tenants"] for s in viewers)) if viewers else set()
        locale = locales.get(aid, i18n.DEFAULT)
        state = state_for(engine, aid, locale, tenants)
        state["pushed_at"] = time.time()
        socketio.emit("console", state, to=f"agent:{aid}", namespace=NAMESPACE)
        stats["pushes"] += 1
        stats["last_push"] = time.monotonic()

    def push_parked(engine, tenant: str) -> None:
        for locale in i18n.LOCALES:
            with i18n.in_locale(app, locale):
                items = console_state.parked(engine, {tenant}, services.clock())
            room = f"parked:{tenant}:{locale}"
            if last_parked.get(room) == items:
                continue
            last_parked[room] = items
            socketio.emit("parked", {"tenant": tenant, "calls": items}, to=room, namespace=NAMESPACE)

    if notices is not None:
        notices.subscribe(on_notice, snapshots=True)
    socketio.start_background_task(pusher)
    socketio.console_sockets = sockets      # read-only view for tests and health pages
    socketio.console_stats = stats


def _notice_label(topic: str, payload) -> str:
    from flask_babel import gettext

    if topic == "recall":
        return gettext("The call came back: %(reason)s", reason=i18n.label("recall", str(payload.get("reason", ""))))
    if topic == "parked":
        return gettext("The call is parked.")
    if topic == "consult_failed":
        return gettext("The consultation call failed: %(reason)s",
                       reason=i18n.label("recall", str(payload.get("reason", ""))))
    if topic == "agent_paused":
        return gettext("You were paused: no answer.")
    if topic == "written_send_failed":
        if payload.get("permanent"):
            return gettext("A reply could not be sent: %(error)s", error=str(payload.get("error", "")))
        return gettext("A reply is not sent yet; it is tried again.")
    return gettext("The call changed.")

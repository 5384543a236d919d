"""Presence changes pushed to consoles (Socket.IO namespace /presence).

A logged-in client (operator, supervisor, admin, or an agency's staff) sends
`watch` with the persons it shows (at most MAX_WATCH `{tenant, person_id}`); it receives
`presence_changed` for each of them at once and then whenever what an operator sees
changes (engine.presence.PresenceBoard decides). Changes are found by re-evaluating the
watched persons every `interval` seconds and exactly at the next start/end of one of
their absences (engine.presence.next_change), so an absence that begins at 12:00 flips
at 12:00, not a polling period later. Web registrations win over calendars (R20).
The absence reason (`category`), the event subject (`detail`) and a `label` naming the
reason go only to a viewer who may see them (`agent_ui.auth.may_see_absence_reason`:
operators, the agency's supervisors and admins); an employee watching colleagues gets
state and "back at" only.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import gevent
import gevent.event
from flask import request

from agent_ui.auth import ABSENCE_KEEPERS, has_role, web_user
from engine.directory.model import PersonKey
from engine.presence import PresenceBoard, combine, next_change

log = logging.getLogger(__name__)
NAMESPACE = "/presence"
MAX_WATCH = 200
WEB_SOURCE = "web"


def _may_see(user, tenant: str) -> bool:
    """Least privilege per tenant: a role in that agency, or a centre-wide ("*") role."""
    return any(t in (tenant, "*") for t, _ in user.roles)


def _without_reason(payload: dict) -> dict:
    back = f", back {payload['back_at'][:16]}" if payload.get("back_at") else ""
    return dict(payload, category=None, detail="", label=f"{payload['state']}{back}")


def evaluate(directory, key: PersonKey, now):
    """(presence, next change) of one person from the store's absences."""
    person = directory.get_person(key)
    absences = directory.absences(key, start=now - timedelta(days=1), end=now + timedelta(days=30))
    web = [a for a in absences if a.source == WEB_SOURCE]
    calendar = [a for a in absences if a.source != WEB_SOURCE]
    gone = person is None or person.gone_since is not None
    return combine(calendar, web, now, gone=gone), next_change(absences, now)


def attach(socketio, app, interval: float = 15.0) -> None:
    watchers: dict[str, tuple[list[PersonKey], PresenceBoard]] = {}
    reveal: dict[str, set[PersonKey]] = {}          # sid -> the watched persons whose reasons it may see
    wake = gevent.event.Event()

    def services():
        return app.extensions["sentral"][1]

    @socketio.on("connect", namespace=NAMESPACE)
    def connect(auth=None):
        user = web_user()
        if user is None or not user.active or not user.roles:
            return False
        watchers[request.sid] = ([], PresenceBoard())
        return True

    @socketio.on("disconnect", namespace=NAMESPACE)
    def disconnect(*_):
        watchers.pop(request.sid, None)
        reveal.pop(request.sid, None)

    @socketio.on("watch", namespace=NAMESPACE)
    def watch(items):
        if request.sid not in watchers or not isinstance(items, list):
            return {"ok": False, "error": "expected a list of {tenant, person_id}"}
        user = web_user()
        if user is None or not user.active:
            return {"ok": False, "error": "not logged in"}
        keys, refused = [], 0
        for item in items[:MAX_WATCH]:
            if isinstance(item, dict) and isinstance(item.get("tenant"), str) and isinstance(item.get("person_id"), str):
                key = PersonKey(item["tenant"][:64], item["person_id"][:128])
                if _may_see(user, key.tenant):
                    keys.append(key)
                else:
                    refused += 1
        watchers[request.sid] = (keys, PresenceBoard())
        reveal[request.sid] = {k for k in keys if has_role(user, k.tenant, ABSENCE_KEEPERS)}
        push(request.sid)
        wake.set()
        return {"ok": True, "watching": len(keys), "refused": refused}

    def push(sid: str):
        """Publish what changed for one client; returns the earliest next change."""
        keys, board = watchers.get(sid, ([], None))
        soonest = None
        now = services().clock()
        for key in keys:
            presence, upcoming = evaluate(services().directory, key, now)
            for notify in board.update(key, presence):
                payload = dict(notify.payload)
                if key not in reveal.get(sid, ()):
                    payload = _without_reason(payload)
                socketio.emit("presence_changed", payload, to=sid, namespace=NAMESPACE)
            if upcoming is not None and (soonest is None or upcoming < soonest):
                soonest = upcoming
        return soonest

    def loop():
        while True:
            soonest = None
            for sid in list(watchers):
                try:
                    upcoming = push(sid)
                except Exception:
                    log.exception("presence evaluation failed")
                    continue
                if upcoming is not None and (soonest is None or upcoming < soonest):
                    soonest = upcoming
            delay = interval
            if soonest is not None:
                delay = max(0.05, min(interval, (soonest - services().clock()).total_seconds()))
            wake.wait(delay)
            wake.clear()

    socketio.start_background_task(loop)

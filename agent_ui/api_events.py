"""The API's event stream: engine notices as JSON events per tenant, on Socket.IO namespace
/api/events and to webhooks (agent_ui.api_webhooks).

Audience: the same integrations as the REST API, with the same tokens.

Rules:
- An event is `{"id", "kind", "tenant", "at", "data"}` (docs/api.md lists the kinds); one
  event per tenant a notice concerns (agent_ui.notices.tenants_of): an agent serving two
  agencies' queues shows up in both streams, a call only in its own tenant's.
- Kinds: `interaction.<queued|offered|answered|transferring|parked|camped|callback|
  ended|changed>` from the interaction snapshots (one per change of state or agent, not
  per snapshot), `agent.state` from the agent snapshots (one per change of state, reason
  or call), `monitor.started|changed|ended|failed`, `call.recall`, `call.parked`,
  `call.consult_failed`, `agent.paused_no_answer`, `command.refused`.
- Connect with `auth={"token": "sentral_<id>_<secret>"}`; refused (the connection is
  rejected) without a valid, unrevoked token, and for a `forms` token (it only creates
  tasks: it reads nothing). A token joins its tenant's room (an admin
  "*" token every tenant's). A revoked token's sockets are disconnected within
  REVOKE_CHECK seconds.
- Translation and fan-out never block or raise into the engine's runtime (notices are
  published from it): emits are queued by Flask-SocketIO, webhooks by a bounded queue.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime

import gevent
from flask import request
from flask_socketio import join_room

from agent_ui.notices import tenants_of
from store.tokens import FORMS

log = logging.getLogger(__name__)
NAMESPACE = "/api/events"
EVERY_TENANT = "*"
REVOKE_CHECK = 30.0

INTERACTION_KINDS = {"queued": "queued", "offering": "offered", "connected": "answered",
                     "transferring": "transferring", "parked": "parked", "camped": "camped",
                     "callback": "callback", "callback_offering": "callback", "calling_back": "callback",
                     "ended": "ended", "abandoned": "ended", "overflowed": "ended"}
NOTICE_KINDS = {"monitor_started": "monitor.started", "monitor_changed": "monitor.changed",
                "monitor_ended": "monitor.ended", "monitor_failed": "monitor.failed", "recall": "call.recall",
                "parked": "call.parked", "consult_failed": "call.consult_failed",
                "agent_paused": "agent.paused_no_answer", "command_refused": "command.refused",
                "callback_created": "callback.created"}
KINDS = tuple(sorted({f"interaction.{k}" for k in set(INTERACTION_KINDS.values()) | {"changed"}}
                     | {"agent.state"} | set(NOTICE_KINDS.values())))
INTERACTION_FIELDS = ("queue", "state", "agent", "caller_number", "caller_name", "answered_at", "ended_at",
                      "end_reason", "transferred", "target", "target_kind", "held", "recall_agent")


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


class EventFeed:
    """Subscribed to the notices hub (with snapshots); hands each event to every sink."""

    def __init__(self, deployment_source, clock):
        self.deployment_source, self.clock = deployment_source, clock
        self.sinks: list = []
        self._agents: dict[str, tuple] = {}
        self._calls: dict[str, tuple] = {}

    def __call__(self, notice) -> None:
        for event in self.translate(notice):
            for sink in list(self.sinks):
                try:
                    sink(event)
                except Exception:  # a sink's fault must never reach the engine's runtime
                    log.exception("event sink failed on %s", event["kind"])

    def translate(self, notice) -> list[dict]:
        deployment = self.deployment_source()
        if deployment is None:
            return []
        payload, topic = dict(notice.payload), notice.topic
        if topic == "interaction_changed":
            key = (payload.get("state"), payload.get("agent"), payload.get("transferred"), payload.get("held"))
            ix = str(payload.get("id", ""))
            if self._calls.get(ix) == key:
                return []
            self._calls[ix] = key
            kind = INTERACTION_KINDS.get(str(payload.get("state")), "changed")
            if kind == "ended" or payload.get("ended"):
                self._calls.pop(ix, None)
                kind = "ended"
            data = {"interaction": ix, **{f: payload.get(f) for f in INTERACTION_FIELDS}}
            return self._events(f"interaction.{kind}", {str(payload.get("tenant", ""))} - {""}, data)
        if topic == "agent_changed":
            aid = str(payload.get("agent", ""))
            key = (payload.get("state"), payload.get("reason"), payload.get("interaction"))
            if self._agents.get(aid) == key:
                return []
            self._agents[aid] = key
            data = {f: payload.get(f) for f in ("agent", "state", "reason", "since", "interaction")}
            return self._events("agent.state", tenants_of(notice, deployment), data)
        kind = NOTICE_KINDS.get(topic)
        if kind is None:
            return []
        return self._events(kind, tenants_of(notice, deployment), payload)

    def _events(self, kind: str, tenants, data: dict) -> list[dict]:
        at = self.clock().isoformat()
        return [{"id": uuid.uuid4().hex, "kind": kind, "tenant": t, "at": at, "data": _plain(data)}
                for t in sorted(tenants)]


def attach(socketio, app, store, feed: EventFeed) -> None:
    """Namespace /api/events on the app's SocketIO; events of `feed` go to their tenant's room."""
    tokens: dict[str, int] = {}     # sid -> token id

    @socketio.on("connect", namespace=NAMESPACE)
    def connect(auth=None):
        token = auth.get("token") if isinstance(auth, dict) else None
        record = store.token_by_secret(token) if isinstance(token, str) else None
        if record is None or record.role == FORMS:
            return False
        tokens[request.sid] = record.id
        join_room(f"tenant:{record.tenant}")
        socketio.emit("ready", {"tenant": record.tenant, "role": record.role, "kinds": list(KINDS)},
                      to=request.sid, namespace=NAMESPACE)
        return True

    @socketio.on("disconnect", namespace=NAMESPACE)
    def gone(*_):
        tokens.pop(request.sid, None)

    def emit(event: dict) -> None:
        for room in (f"tenant:{event['tenant']}", f"tenant:{EVERY_TENANT}"):
            socketio.emit("event", event, to=room, namespace=NAMESPACE)

    def recheck() -> int:
        """Disconnect the sockets of revoked (or deleted) tokens; returns how many."""
        if not tokens:
            return 0
        try:
            active = {t.id for t in store.tokens() if t.active}
        except Exception:
            log.exception("API token check failed")
            return 0
        dropped = 0
        for sid, token_id in list(tokens.items()):
            if token_id not in active:
                tokens.pop(sid, None)
                socketio.server.disconnect(sid, namespace=NAMESPACE)
                dropped += 1
        return dropped

    def revoked_watch():
        while True:
            gevent.sleep(REVOKE_CHECK)
            recheck()

    feed.sinks.append(emit)
    socketio.start_background_task(revoked_watch)
    socketio.api_event_sockets = tokens
    socketio.api_events_recheck = recheck     # revoked_watch runs it every REVOKE_CHECK seconds

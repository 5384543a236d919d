"""The console's written items over HTTP: an item's messages, its attachments, a reply,
and the SMS segment count while the agent types (the live list is the console's state,
agent_ui.written_state, pushed over /console).

Rules:
- Login required (401 JSON). The messages and the reply are the agent's own: the user's
  bound agent must hold the item in the running engine (offered or open), else 403
  `item.not_yours` / 404 `item.not_found`. Messages come oldest first from the store
  (`store.written_messages(item=...)`, plus the item's own message ids the runtime has not
  filed yet); e-mail shows sender, subject, date and text; attachments by name and size.
- An attachment is served only to the agent who holds the item or to a supervisor
  (supervisor, tenant_admin, admin) of the message's tenant, only a digest listed on
  that message, read from the AttachmentStore (channels/email/attachments.py) the web
  app was given (`services.extra["attachments"]`: sentral/web.attachment_store, always
  where the mailbox intake keeps them, channels/service.attachments_root:
  SENTRAL_ATTACHMENTS_DIR, else beside the recordings); only an app built without one
  (no deployment, some tests) lists them without links and says why. Each download served
  is audited: `item.attachment_read` on the message, with its tenant and detail
  {digest, via: "holder" | "supervisor"}; a refused one is not.
- A reply (POST JSON with the CSRF header) needs the item open (409 `item.not_open`) and a
  text the channel can carry (400 `item.empty` / `item.too_long`): channels/replies.py
  `queue_reply` stores it queued, then posts ItemReply (the API's item reply does the
  same); the engine's SendWritten hands it to the channel's sender. The text is never logged.
- SMS: `segments` counts the parts the text becomes (channels/replies.sms_parts:
  channels/sms/segments.encode, GSM-7 160/153, else UCS-2 70/67).
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, g, jsonify, request, send_file
from flask_babel import format_datetime, gettext

from agent_ui import i18n, live
from agent_ui.app import config_and_services
from agent_ui.auth import login_required
from channels.replies import ReplyError, ReplyInvalid, queue_reply, sms_parts

log = logging.getLogger(__name__)
bp = Blueprint("written_console", __name__, url_prefix="/console/api/items")


def _engine():
    _, services = config_and_services()
    source = services.extra.get("engine")
    return source() if source else None


def _store():
    _, services = config_and_services()
    return services.users


def _attachments():
    _, services = config_and_services()
    return services.extra.get("attachments")


def _error(error_id: str, status: int):
    return jsonify(ok=False, error=error_id, message=i18n.label("error", error_id)), status


@bp.before_request
def _needs_login():
    if g.get("user") is None:
        return jsonify(error="login required", detail=gettext("Log in to use the console.")), 401
    return None


def _held(item_id: str):
    """(engine, agent id, item) when the user's bound agent holds the item, else an error."""
    engine = _engine()
    user = g.user
    if engine is None:
        return None, _error("console.engine_down", 503)
    aid = user.agent if user.agent and user.agent in engine.agents else ""
    if not aid:
        return None, _error("console.not_bound", 403)
    item = engine.items.get(item_id)
    if item is None or item.ended:
        return None, _error("item.not_found", 404)
    if item.agent != aid:
        return None, _error("item.not_yours", 403)
    return (engine, aid, item), None


def size_label(size) -> str:
    try:
        size = int(size)
    except (TypeError, ValueError):
        return ""
    if size >= 1024 * 1024:
        return i18n.number(size / (1024 * 1024), 1) + " MB"
    if size >= 1024:
        return i18n.number(size / 1024, 1) + " kB"
    return i18n.number(size) + " B"


def attachment_part(a: dict, url: str) -> dict:
    name = str(a.get("name") or a.get("filename") or "")
    digest = str(a.get("digest") or "")
    return {"name": name or gettext("(no name)"), "size": size_label(a.get("size")),
            "url": f"{url}/{digest}" if url and digest else ""}


def message_part(rec, item, links: bool) -> dict:
    url = f"/console/api/items/{item.id}/attachments/{rec.id}" if links else ""
    sender = rec.sender if rec.direction == "in" else (rec.author or rec.sender)
    return {"id": rec.id, "direction": rec.direction,
            "direction_label": gettext("Received") if rec.direction == "in" else gettext("Reply"),
            "sender": rec.sender if rec.direction == "in" else sender, "sender_name": rec.sender_name,
            "recipients": list(rec.recipients), "subject": rec.subject,
            "date": format_datetime(rec.created_at, "short") if rec.created_at else "",
            "text": rec.body, "status": rec.status,
            "status_label": {"queued": gettext("Queued"), "sending": gettext("Sending"), "sent": gettext("Sent"),
                             "failed": gettext("Not sent")}.get(rec.status, "") if rec.direction == "out" else "",
            "attachments": [attachment_part(a, url) for a in rec.attachments or () if isinstance(a, dict)]}


def messages_of(store, item) -> list:
    records = {r.id: r for r in store.written_messages(item=item.id)}
    for mid in item.messages:                  # filed by the engine, not yet stored with the item
        if mid not in records and (rec := store.written_message(mid)) is not None:
            records[mid] = rec
    return sorted(records.values(), key=lambda r: (r.created_at, r.id))


@bp.get("/<item_id>")
@login_required
def item_messages(item_id: str):
    held, error = _held(item_id)
    if error:
        return error
    _, _, item = held
    links = _attachments() is not None
    rows = [message_part(r, item, links) for r in messages_of(_store(), item)]
    note = "" if links or not any(m["attachments"] for m in rows) else \
        gettext("Attachments cannot be opened here yet: no attachment folder is configured.")
    return jsonify(ok=True, item=item.id, messages=rows, attachments_note=note)


@bp.get("/<item_id>/attachments/<message_id>/<digest>")
@login_required
def attachment(item_id: str, message_id: str, digest: str):
    files = _attachments()
    engine = _engine()
    if files is None or engine is None:
        abort(404)
    rec = _store().written_message(message_id)
    if rec is None:
        abort(404)
    item = engine.items.get(item_id)
    belongs = rec.item == item_id or (item is not None and message_id in item.messages)
    user = g.user
    holder = item is not None and bool(user.agent) and item.agent == user.agent
    supervisor = rec.tenant in live.visible_tenants(user, engine.deployment.tenants)
    if not belongs or not (holder or supervisor):
        abort(403)
    listed = next((a for a in rec.attachments or () if isinstance(a, dict) and a.get("digest") == digest), None)
    if listed is None:
        abort(404)
    from channels.email.attachments import AttachmentError

    try:
        stream = files.open(digest)
    except AttachmentError:
        abort(404)
    name = str(listed.get("name") or listed.get("filename") or "vedlegg")
    kind = str(listed.get("content_type") or listed.get("type") or "application/octet-stream")
    try:
        _store().audit(user.username, "item.attachment_read", "message", message_id, tenant=rec.tenant,
                       detail={"digest": digest, "via": "holder" if holder else "supervisor"})
    except Exception:
        stream.close()
        raise
    return send_file(stream, mimetype=kind, as_attachment=True, download_name=name, max_age=0)


@bp.post("/<item_id>/reply")
@login_required
def reply(item_id: str):
    held, error = _held(item_id)
    if error:
        return error
    engine, aid, item = held
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    _, services = config_and_services()
    post = services.extra.get("post")
    if post is None:
        return _error("console.engine_down", 503)
    try:
        record = queue_reply(services.users, post, engine.deployment, item, aid, text, services.clock())
    except ReplyError as exc:
        return _error(exc.error_id, 400 if isinstance(exc, ReplyInvalid) else 409)
    return jsonify(ok=True, message=record.id, info=gettext("Reply queued for sending."))


@bp.post("/segments")
@login_required
def segments():
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or len(text) > 50_000:
        return _error("console.bad_command", 400)
    found = sms_parts(text)
    if found is None:
        return jsonify(ok=True, segments=None, label=i18n.label("error", "item.too_long"))
    parts, encoding = found
    label = gettext("%(n)s SMS (%(coding)s, %(chars)s characters)", n=i18n.number(parts),
                    coding="GSM-7" if encoding == "gsm7" else "UCS-2", chars=i18n.number(len(text)))
    return jsonify(ok=True, segments=parts, encoding=encoding, label=label)

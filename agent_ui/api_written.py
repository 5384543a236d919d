"""The API's written channels: web-form tasks in, the tenant's open written items and
their messages out, agents' item commands, and the SMS HTTP gateway's inbound webhook.

Rules:
- `POST /v1/tenants/{tenant}/tasks` (a web site's form): a token of that tenant with the
  `forms` role (it may do nothing else) or a working role. The queue must be a task queue
  (`channel: task`) of the tenant: unknown, or another tenant's, 404 `task.unknown_queue`;
  another channel's 400 `task.not_task_queue`. The form is stored as one inbound message
  (channel task; sender the contact's e-mail, else phone; body the text, then the fields
  as `name: value` lines) in a new case, and the engine hears of it (channels.filing).
  `Idempotency-Key` (or, without it, the body's `reference`) is the message's channel id:
  the same key again answers the first task (`duplicate: true`), makes nothing and opens
  no case; with another queue, text or contact it is 409 `task.idempotency_conflict`.
  Bad fields are 400 with a `task.*` error id. Its own rate limit per token on top of the
  API's (`SENTRAL_TASK_LIMIT`, default 60/minute): a form on a public site is an easy
  target.
- `GET /v1/tenants/{tenant}/items` lists the engine's open written items of the tenant
  (working role, as the calls); `GET .../items/{item_id}/messages` their texts
  (steering role, audited: agent_ui.item_actions).
- `POST /v1/agents/{agent_id}/items/{item_id}/{accept|decline|reply|transfer|close}`:
  agent_ui.item_actions (202 as the other agent commands; a reply also names its stored
  message).
- `POST /v1/sms/inbound` takes no token: the gateway signs the raw body (X-Signature,
  channels/sms/http_gateway.py) with the secret in the environment variable that
  `sms.webhook_secret_env` names. A bad or missing signature is 401 `sms.bad_signature`
  (missing: before anything else) and nothing is read further; no HTTP gateway configured 501 `sms.not_configured`, its
  secret not set 503 `sms.no_secret`. A message is filed by channels.intake.file_sms
  (once per gateway message id: a redelivery answers 200 `duplicate: true`; a number not
  configured is filed to the first number's queue, `unknown_number: true` and a warning in
  the log; no sms queue at all 503 `sms.no_queue`, so the gateway delivers it again); a
  delivery report is acknowledged and logged (the outbound sender will handle them).
"""
from __future__ import annotations

import hashlib
import logging
import os
import re

from flask import request

from agent_ui.actions import WORKING
from agent_ui.api import ApiError, actor, body, checked_id, ctx, route
from agent_ui.api_spec import STR, array, obj, ref
from agent_ui.item_actions import COMMANDS, ItemActions, item_tenants, new_message_id
from channels.filing import file_inbound
from store.tokens import FORMS
from store.written import MessageRecord

log = logging.getLogger(__name__)

TASK_ROLES = WORKING | {FORMS}
DEFAULT_TASK_LIMIT = "60 per minute"
MAX_TEXT = 20_000
MAX_SUBJECT = 200
MAX_FIELDS = 50
MAX_FIELD_NAME = 64
MAX_FIELD_VALUE = 2_000
MAX_KEY = 200
EMAIL = re.compile(r"[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
PHONE = re.compile(r"\+?[0-9][0-9 ()-]{2,31}")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ERRORS = (400, 401, 403, 404, 409, 429, 503)

TASK_EXAMPLE = {"queue": "helsedir-forms", "subject": "Søknad om parkeringstillatelse",
                "text": "Jeg søker om parkeringstillatelse for bevegelseshemmede.",
                "contact": {"name": "Kari Nordmann", "email": "kari@example.no", "phone": "+4791234567"},
                "reference": "form-2024-000123", "fields": {"fødselsår": "1957", "kommune": "Fjordvik"}}


def _items() -> ItemActions:
    return ItemActions(ctx().actions, ctx().store)


def _denied(why: str):
    raise ApiError(403, "action.denied", why)


# -- web-form tasks -------------------------------------------------------------------------
def _string(data: dict, key: str, error: str, limit: int, required: bool = True) -> str:
    value = data.get(key, "")
    if value is None and not required:
        value = ""
    if not isinstance(value, str) or len(value) > limit or CONTROL.search(value) or (required and not value.strip()):
        need = "1" if required else "0"
        raise ApiError(400, error, f"{key} is a text of {need} to {limit} characters")
    return value.strip()


def _contact(data: dict) -> dict:
    contact = data.get("contact")
    if not isinstance(contact, dict) or set(contact) - {"name", "email", "phone"}:
        raise ApiError(400, "task.bad_contact", "contact is an object {name, email, phone}")
    name = _string(contact, "name", "task.bad_contact", 256, required=False)
    email = _string(contact, "email", "task.bad_email", 320, required=False)
    phone = _string(contact, "phone", "task.bad_phone", 32, required=False)
    if email and not EMAIL.fullmatch(email):
        raise ApiError(400, "task.bad_email", "contact.email is not an e-mail address")
    if phone:
        if not PHONE.fullmatch(phone):
            raise ApiError(400, "task.bad_phone", "contact.phone is digits, optionally after +")
        phone = ("+" if phone.startswith("+") else "") + re.sub(r"\D", "", phone)
    if not email and not phone:
        raise ApiError(400, "task.no_contact", "contact needs an e-mail address or a phone number to answer")
    return {"name": name, "email": email, "phone": phone}


def _fields(data: dict) -> dict:
    fields = data.get("fields", {})
    if fields is None:
        return {}
    if not isinstance(fields, dict):
        raise ApiError(400, "task.bad_fields", "fields is an object of texts")
    if len(fields) > MAX_FIELDS:
        raise ApiError(400, "task.too_many_fields", f"at most {MAX_FIELDS} fields")
    out = {}
    for name, value in fields.items():
        if not isinstance(value, str) or not name.strip() or len(name) > MAX_FIELD_NAME or CONTROL.search(name) \
                or "\n" in name or "\r" in name or len(value) > MAX_FIELD_VALUE or CONTROL.search(value):
            raise ApiError(400, "task.bad_fields",
                           f"a field is a name of 1 to {MAX_FIELD_NAME} characters (one line) and a text of "
                           f"up to {MAX_FIELD_VALUE}")
        out[name.strip()] = " ".join(value.split())       # one line each: "name: value"
    return out


def _idempotency_key(data: dict) -> str:
    header = request.headers.get("Idempotency-Key")
    reference = _string(data, "reference", "task.bad_reference", MAX_KEY, required=False)
    if header is None:
        return reference
    key = header.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ApiError(400, "task.bad_idempotency_key", f"Idempotency-Key is 1 to {MAX_KEY} printable characters")
    return key


def task_body(text: str, fields: dict) -> str:
    lines = [f"{name}: {value}" for name, value in fields.items()]
    return text + ("\n\n" + "\n".join(lines) if lines else "")


def task_message_id(tenant: str, key: str) -> str:
    """The message id of a form with an idempotency key (the same key, the same id: a
    repeated post finds the first without opening a case); a new one without a key."""
    if not key:
        return new_message_id()
    return "task-" + hashlib.sha256(f"{tenant}\x00{key}".encode()).hexdigest()[:32]


@route("POST", "/v1/tenants/<tenant>/tasks", "File a web form as a task in a task queue", "tasks",
       ref("TaskFiled"), ok=202, errors=ERRORS, name="tenant_task_create",
       body=obj({"queue": STR, "subject": STR, "text": STR,
                 "contact": obj({"name": STR, "email": STR, "phone": STR}),
                 "reference": STR, "fields": {"type": "object", "additionalProperties": STR, "maxProperties": 50}},
                ("queue", "subject", "text", "contact"), example=TASK_EXAMPLE),
       headers=(("Idempotency-Key", "The form's id at the site (else `reference`): the same key again files "
                                    "nothing and answers the first task", False),),
       description="For a web site's forms (a token with the `forms` role, or a working role, in the tenant). "
                   f"`text` up to {MAX_TEXT} characters, `fields` up to {MAX_FIELDS} (name: text), the contact "
                   "needs an e-mail address or a phone number. 202 with the case and message ids; "
                   "`duplicate: true` when the Idempotency-Key was filed before.")
def tenant_task_create(tenant):
    deployment = ctx().deployment()
    if not actor().may(TASK_ROLES, {tenant}, deployment.tenants):
        _denied("the token may not file tasks in this tenant")
    data = body()
    queue_id = data.get("queue")
    if not isinstance(queue_id, str):
        raise ApiError(400, "task.bad_queue", "queue is a queue id")
    checked_id(queue_id, "queue")
    queue = deployment.queues.get(queue_id)
    if queue is None or queue.tenant != tenant:
        raise ApiError(404, "task.unknown_queue", f"no queue {queue_id!r} in {tenant}")
    if queue.channel != "task":
        raise ApiError(400, "task.not_task_queue", f"queue {queue_id!r} is not a task queue")
    subject = _string(data, "subject", "task.bad_subject", MAX_SUBJECT)
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "task.bad_text", "text is a non-empty text")
    if len(text) > MAX_TEXT:
        raise ApiError(400, "task.text_too_long", f"text has at most {MAX_TEXT} characters")
    contact, fields, key = _contact(data), _fields(data), _idempotency_key(data)
    reference = _string(data, "reference", "task.bad_reference", MAX_KEY, required=False)
    sender = contact["email"] or contact["phone"]
    message = task_body(text.strip(), fields)
    store, post = ctx().store, ctx().actions.post
    if post is None:
        raise ApiError(503, "action.engine_down", "the engine is not running")
    message_id = task_message_id(tenant, key)
    first = store.written_message(message_id) if key else None
    if first is None:
        now = store.clock()
        case = store.new_case(tenant, "task", contact=sender, subject=subject)
        record = MessageRecord(id=message_id, tenant=tenant, channel="task", direction="in", case=case,
                               created_at=now, queue=queue.id, external_id=key, sender=sender,
                               sender_name=contact["name"], subject=subject, body=message,
                               headers={"contact": contact, "reference": reference, "fields": fields})
        filed_id, created = file_inbound(store, post, record, now)
        if created:
            return {"ok": True, "case": case, "message": filed_id, "duplicate": False}, 202
        first = store.written_message(filed_id)       # a concurrent post of the same key won
    if (first.queue, first.body, first.sender) != (queue.id, message, sender):
        raise ApiError(409, "task.idempotency_conflict",
                       "this Idempotency-Key was filed before with another queue, text or contact")
    return {"ok": True, "case": first.case, "message": first.id, "duplicate": True}, 202


# -- the tenant's written items ---------------------------------------------------------------
def _when(value) -> str | None:
    return value.isoformat() if value else None


def item_view(item, now) -> dict:
    return {"id": item.id, "channel": item.channel, "tenant": item.tenant, "queue": item.queue, "case": item.case,
            "state": item.state.value, "sender": item.sender, "sender_name": item.sender_name,
            "subject": item.subject, "arrived_at": _when(item.arrived_at),
            "waited": round(item.waited(now), 3), "agent": item.agent, "offered_at": _when(item.offered_at),
            "accepted_at": _when(item.accepted_at), "messages": len(item.messages), "replies": item.replies,
            "automatic": item.automatic}


@route("GET", "/v1/tenants/<tenant>/items", "The tenant's open written items (e-mail, SMS, tasks)", "state",
       obj({"items": array(ref("Item"))}, ("items",)), errors=(401, 403, 429, 503),
       description="Live from the engine: waiting, offered and open items of the tenant's written queues "
                   "(also one transferred in from another tenant), oldest first. Their texts: "
                   "GET .../items/{item_id}/messages.")
def tenant_items(tenant):
    engine = ctx().engine_source()
    if engine is None:
        raise ApiError(503, "action.engine_down", "the engine is not running")
    if not actor().may(WORKING, {tenant}, engine.deployment.tenants):
        _denied("the token has no operator role in this tenant")
    now = ctx().store.clock()
    items = [it for it in list(engine.items.values())
             if not it.ended and tenant in item_tenants(engine.deployment, it)]
    return {"items": [item_view(it, now) for it in sorted(items, key=lambda it: (it.arrived_at, it.id))]}


def message_view(m: MessageRecord) -> dict:
    return {"id": m.id, "direction": m.direction, "channel": m.channel, "case": m.case, "queue": m.queue,
            "created_at": _when(m.created_at), "sender": m.sender, "sender_name": m.sender_name,
            "recipients": list(m.recipients), "subject": m.subject, "body": m.body, "status": m.status,
            "author": m.author, "sent_at": _when(m.sent_at), "automatic": m.automatic,
            "attachments": [attachment_view(a) for a in m.attachments or () if isinstance(a, dict)]}


def attachment_view(a: dict) -> dict:
    """A stored attachment entry (channels/intake.py: digest, name, type, size) as the API
    shows it: name, content_type (the stored `type`), size."""
    view = {"name": a.get("name"), "content_type": a.get("type") or a.get("content_type"),
            "size": a.get("size")}
    return {k: v for k, v in view.items() if v is not None}


@route("GET", "/v1/tenants/<tenant>/items/<item_id>/messages", "The messages of a written item (audited)",
       "written", obj({"item": STR, "messages": array(ref("Message"))}, ("item", "messages")),
       errors=(401, 403, 404, 429, 503),
       description="Supervisor, tenant_admin or admin of the tenant; every read is in the audit log "
                   "(`item.messages_read`). An item still open or closed (then from the store).")
def tenant_item_messages(tenant, item_id):
    deployment = ctx().deployment()
    records = _items().messages(actor(), tenant, item_id, deployment, ctx().engine_source())
    return {"item": item_id, "messages": [message_view(m) for m in records]}


# -- agents' item commands ---------------------------------------------------------------------
ITEM_BODIES = {
    "accept": ("Accept the written item offered to the agent", None),
    "decline": ("Decline the offered item (back to its place in the queue)", None),
    "reply": ("Reply: the text is stored (queued) and the channel sends it",
              obj({"text": STR}, ("text",), example={"text": "Takk for henvendelsen. Vi ringer deg i morgen."})),
    "transfer": ("Send the item to another written queue (another tenant's too)",
                 obj({"queue": STR}, ("queue",), example={"queue": "helsedir-forms"})),
    "close": ("Close the item with a result code", obj({"result": STR}, ("result",), example={"result": "solved"})),
}
assert set(ITEM_BODIES) == set(COMMANDS)


def _item_view(command: str):
    def view(agent_id, item_id):
        data = body()
        text, queue, result = data.get("text", ""), data.get("queue", ""), data.get("result", "")
        if command == "transfer":
            checked_id(queue, "queue")
        if command == "close" and not isinstance(result, str):
            raise ApiError(400, "api.bad_body", "result is a string")
        event, message = _items().as_agent(actor(), agent_id, item_id, command, text=text, queue=queue,
                                           result=result)
        answer = {"ok": True, "event": type(event).__name__}
        if message:
            answer["message"] = message
        return answer, 202
    view.__name__ = f"agent_item_{command}"
    return view


for _command, (_summary, _schema) in ITEM_BODIES.items():
    route("POST", f"/v1/agents/<agent_id>/items/<item_id>/{_command}", _summary, "agent",
          ref("ItemAccepted"), body=_schema, ok=202, errors=(400, 401, 403, 404, 409, 429, 503),
          name=f"agent_item_{_command}")(_item_view(_command))


# -- the SMS HTTP gateway's webhook --------------------------------------------------------------
@route("POST", "/v1/sms/inbound", "The SMS HTTP gateway's webhook (signed, no token)", "sms",
       ref("SmsFiled"), public=True, scheme="smsSignature", errors=(400, 401, 429, 501, 503),
       body=obj({"type": {"type": "string", "enum": ["message", "status"]}, "id": STR, "from": STR, "to": STR,
                 "text": STR, "reference": STR, "status": STR, "error": STR}, ("type", "id"),
                example={"type": "message", "id": "gw-81723", "from": "+4791234567", "to": "+4722334455",
                         "text": "Hei, når er legevakten åpen?"}),
       headers=(("X-Signature", "sha256=<hex HMAC-SHA256 of the raw body with the webhook secret>", True),),
       description="The gateway's inbound SMS and delivery reports (channels/sms/http_gateway.py's wire "
                   "contract). Signed with the secret in the environment variable named by the "
                   "configuration's `sms.webhook_secret_env`; a bad signature is 401 and nothing is stored. "
                   "A message is filed into the sms queue of its destination number once per gateway id "
                   "(`duplicate: true` for a redelivery); a number not configured goes to the first "
                   "configured number's queue (`unknown_number: true`, a problem noted on the message); "
                   "no sms queue at all is 503 `sms.no_queue` (the gateway delivers again later).")
def sms_inbound():
    from channels.sms.errors import BadSignature, MalformedWebhook
    from channels.sms.http_gateway import SIGNATURE_HEADER, WebhookReceiver
    from channels.sms.items import DeliveryReceipt

    if not request.headers.get(SIGNATURE_HEADER):
        raise ApiError(401, "sms.bad_signature", "send X-Signature: sha256=<HMAC of the body>")
    deployment = ctx().deployment()
    gateway = getattr(deployment, "sms", None)
    if gateway is None or gateway.kind != "http" or not gateway.webhook_secret_env:
        raise ApiError(501, "sms.not_configured", "no SMS HTTP gateway in this deployment")
    secret = os.environ.get(gateway.webhook_secret_env, "")
    if not secret:
        log.error("SMS webhook refused: $%s (sms.webhook_secret_env) is not set", gateway.webhook_secret_env)
        raise ApiError(503, "sms.no_secret", "the webhook secret is not set on this server")
    raw = request.get_data(cache=True)
    try:
        got = WebhookReceiver(secret.encode()).receive({SIGNATURE_HEADER: request.headers.get(SIGNATURE_HEADER, "")},
                                                       raw)
    except BadSignature:
        raise ApiError(401, "sms.bad_signature", "the X-Signature header does not sign this body") from None
    except MalformedWebhook as exc:
        raise ApiError(400, "sms.malformed_webhook", str(exc)) from None
    if isinstance(got, DeliveryReceipt):
        log.info("SMS delivery report %s (%s): %s", got.gateway_message_id, got.reference, got.state.value)
        return {"ok": True, "kind": "status"}, 200
    if ctx().actions.post is None:
        raise ApiError(503, "action.engine_down", "the engine is not running")
    from channels import intake
    store = ctx().store
    try:
        filed = intake.file_sms(store, ctx().actions.post, deployment, sender=got.sender, to=got.recipient,
                                text=got.text, gateway_id=got.gateway_message_id, at=store.clock())
    except intake.NoSmsQueue as exc:
        log.error("SMS %s not filed: %s", got.gateway_message_id, exc)
        raise ApiError(503, "sms.no_queue", "no sms queue is configured; deliver again later") from None
    if filed.unknown_number:
        log.warning("SMS %s to %s, a number not in sms.numbers: filed to queue %s",
                    got.gateway_message_id, got.recipient, filed.queue)
    return {"ok": True, "kind": "message", "message": filed.message, "duplicate": not filed.created,
            "unknown_number": filed.unknown_number}, 200


def init_limits(limiter, bearer_key) -> None:
    """Tasks' own limit per token, on top of the API's."""
    from agent_ui.api import bp
    limiter.limit(os.environ.get("SENTRAL_TASK_LIMIT") or DEFAULT_TASK_LIMIT, key_func=bearer_key, scope="api-tasks",
                  exempt_when=lambda: request.endpoint != "api.tenant_task_create")(bp)


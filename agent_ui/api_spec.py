"""The REST API's routes as data, and the OpenAPI 3.1 document built from them (apispec).

Rules:
- A route exists only through `Routes.add` (agent_ui.api's `route` decorator): the Flask
  rule and its OpenAPI operation come from the same record, so a route cannot be served
  without being documented (tests/api checks the document against the app's url_map).
- Every route but the document itself and the SMS gateway's webhook (signed with an HMAC
  instead: `security: smsSignature`) needs a bearer token (`security: bearer`) and
  lists the error responses it can give: 401 (no, bad or revoked token), 403 (a role too
  low, another tenant's object), 400 (malformed), 404 (unknown id), 429 (rate limit),
  503 (engine not running); each an `Error` object `{"error": <stable id>, "message"}`.
- Request bodies are JSON objects; each schema has an `example` (what the docs and the
  test matrix send).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from apispec import APISpec

VERSION = "1.0.0"
ERROR_TEXT = {400: "Malformed request or bad field", 401: "No, malformed, unknown or revoked token",
              403: "The token's role or tenant does not allow this", 404: "Unknown id",
              409: "Conflict with existing data", 429: "Rate limit of this token exceeded",
              501: "Not available in this deployment", 503: "The engine is not running"}
DEFAULT_ERRORS = (400, 401, 403, 404, 429, 503)


def obj(properties: dict | None = None, required: tuple = (), example: dict | None = None, **extra) -> dict:
    out = {"type": "object", "properties": properties or {}, **extra}
    if required:
        out["required"] = list(required)
    if example is not None:
        out["example"] = example
    return out


STR = {"type": "string"}
NUM = {"type": "number"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
TIME = {"type": ["string", "null"], "format": "date-time"}
OPT_STR = {"type": ["string", "null"]}


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS = {
    "Error": obj({"error": STR, "message": STR}, ("error", "message")),
    "Accepted": obj({"ok": BOOL, "event": STR}, ("ok", "event"),
                    description="The command was checked and posted into the engine's inbox; its effect "
                                "arrives on the event stream (a refusal by the engine as `command.refused`)."),
    "Queue": obj({"queue": STR, "tenant": STR, "name": STR, "waiting": INT, "ringing": INT, "callbacks": INT,
                  "longest_wait": NUM, "available": INT, "logged_in": INT, "answered": INT, "abandoned": INT,
                  "service_level": {"type": ["number", "null"]}, "average_handle_time": {"type": ["number", "null"]}}),
    "CallSummary": obj({"id": STR, "state": STR, "tenant": STR, "queue": STR, "caller_number": STR,
                        "caller_name": STR, "answered_at": TIME, "held": BOOL, "transferred": BOOL,
                        "other_tenant": BOOL},
                       description="`{\"other_tenant\": true}` alone when the agent is on another tenant's call"),
    "Agent": obj({"id": STR, "name": STR, "extension": STR, "queues": array(STR), "state": STR, "reason": STR,
                  "since": TIME, "seconds_in_state": NUM, "registered": BOOL, "calls_answered": INT,
                  "call": {"oneOf": [ref("CallSummary"), {"type": "null"}]}}),
    "Call": obj({"id": STR, "tenant": STR, "queue": STR, "state": STR, "caller": STR, "agent": STR,
                 "waited": NUM}),
    "Monitor": obj({"supervisor": STR, "agent": STR, "mode": STR, "interaction": STR, "since": OPT_STR}),
    "User": obj({"username": STR, "display_name": STR, "active": BOOL, "agent": STR,
                 "roles": array(obj({"tenant": STR, "role": STR}))}),
    "NewUser": obj({"user": ref("User"), "password": STR}, ("user", "password"),
                   description="`password` is shown once; the user should change it."),
    "TaskFiled": obj({"ok": BOOL, "case": STR, "message": STR, "duplicate": BOOL}, ("ok", "case", "message", "duplicate"),
                      description="The form is stored as message `message` of case `case` and is in the engine's "
                                  "inbox; `duplicate`: its Idempotency-Key was filed before (nothing new made)."),
    "Item": obj({"id": STR, "channel": {"type": "string", "enum": ["email", "sms", "task"]}, "tenant": STR,
                 "queue": STR, "case": STR, "state": {"type": "string", "enum": ["queued", "offered", "open"]},
                 "sender": STR, "sender_name": STR, "subject": STR, "arrived_at": TIME, "waited": NUM, "agent": STR,
                 "offered_at": TIME, "accepted_at": TIME, "messages": INT, "replies": INT, "automatic": BOOL},
                example={"id": "ix-17", "channel": "task", "tenant": "helsedir", "queue": "helsedir-forms",
                         "case": "K7QM2X", "state": "open", "sender": "kari@example.no",
                         "sender_name": "Kari Nordmann", "subject": "Søknad om parkeringstillatelse",
                         "arrived_at": "2024-05-02T08:15:00+00:00", "waited": 95.0, "agent": "a1000",
                         "offered_at": "2024-05-02T08:16:30+00:00", "accepted_at": "2024-05-02T08:16:35+00:00",
                         "messages": 1, "replies": 0, "automatic": False}),
    "Message": obj({"id": STR, "direction": {"type": "string", "enum": ["in", "out"]}, "channel": STR, "case": STR,
                    "queue": STR, "created_at": TIME, "sender": STR, "sender_name": STR, "recipients": array(STR),
                    "subject": STR, "body": STR,
                    "status": {"type": "string", "enum": ["received", "queued", "sending", "sent", "failed"]},
                    "author": STR, "sent_at": TIME, "automatic": BOOL,
                    "attachments": array(obj({"name": STR, "content_type": STR, "size": INT}))}),
    "ItemAccepted": obj({"ok": BOOL, "event": STR, "message": STR}, ("ok", "event"),
                        description="The item command is in the engine's inbox (its outcome on the event stream); "
                                    "a reply also names its stored message (status queued until sent)."),
    "SmsFiled": obj({"ok": BOOL, "kind": {"type": "string", "enum": ["message", "status"]}, "message": STR,
                     "duplicate": BOOL, "unknown_number": BOOL}, ("ok", "kind")),
    "Event": obj({"id": STR, "kind": STR, "tenant": STR, "at": STR, "data": {"type": "object"}},
                 ("id", "kind", "tenant", "at", "data"),
                 description="One event of the stream (Socket.IO /api/events, event name `event`) and of "
                             "webhooks (the POST body). See docs/api.md for the kinds and their data."),
}


@dataclass(frozen=True)
class Route:
    method: str                     # GET, POST, PUT, DELETE
    rule: str                       # Flask rule under /api, e.g. "/v1/agents/<agent_id>/login"
    endpoint: str
    summary: str
    tag: str
    response: dict                  # schema of the success body
    body: dict | None = None        # schema of the JSON request body (with an example)
    ok: int = 200
    public: bool = False            # no token needed (the document itself)
    errors: tuple = DEFAULT_ERRORS
    description: str = ""
    query: tuple = ()               # (name, description, required) of its query parameters
    headers: tuple = ()             # (name, description, required) of its request headers
    scheme: str = ""                # a public route's own security scheme (e.g. smsSignature), else none

    @property
    def path(self) -> str:
        """The OpenAPI path (relative to /api): `<agent_id>` -> `{agent_id}`."""
        return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", self.rule)

    @property
    def parameters(self) -> list[str]:
        return re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", self.rule)


@dataclass
class Routes:
    items: list[Route] = field(default_factory=list)

    def add(self, route: Route) -> Route:
        if any(r.method == route.method and r.rule == route.rule for r in self.items):
            raise ValueError(f"route {route.method} {route.rule} defined twice")
        self.items.append(route)
        return route


def document(routes: Routes) -> dict:
    """The OpenAPI document of `routes` (server URL /api)."""
    spec = APISpec(title="Sentral REST API", version=VERSION, openapi_version="3.1.0",
                   info={"description": "Queues, agents and calls of the token's tenant; agent and supervisor "
                                        "actions; user administration. Bearer tokens from `sentral api token "
                                        "create`. Events: Socket.IO namespace /api/events and webhooks "
                                        "(docs/api.md)."},
                   servers=[{"url": "/api"}])
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "description": "sentral_<id>_<secret>"})
    spec.components.security_scheme("smsSignature", {
        "type": "apiKey", "in": "header", "name": "X-Signature",
        "description": "sha256=<hex HMAC-SHA256 of the raw body with the SMS gateway's webhook secret>"})
    by_path: dict[str, dict] = {}
    for r in routes.items:
        operation: dict = {
            "operationId": r.endpoint, "summary": r.summary, "tags": [r.tag],
            "responses": {str(r.ok): {"description": "OK", "content": {"application/json": {"schema": r.response}}}},
        }
        if r.description:
            operation["description"] = r.description
        operation["security"] = ([{r.scheme: []}] if r.scheme else []) if r.public else [{"bearer": []}]
        codes = set(r.errors) if r.scheme else set() if r.public else \
            set(r.errors) | {401, 429} | ({400} if r.parameters or r.query else set())
        for code in sorted(codes):
            operation["responses"][str(code)] = {
                "description": ERROR_TEXT[code], "content": {"application/json": {"schema": ref("Error")}}}
        if r.body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": r.body}}}
        if r.parameters:
            operation["parameters"] = [{"name": p, "in": "path", "required": True,
                                        "schema": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$"}}
                                       for p in r.parameters]
        if r.query:
            operation.setdefault("parameters", []).extend(
                {"name": name, "in": "query", "required": required, "description": text, "schema": {"type": "string"}}
                for name, text, required in r.query)
        if r.headers:
            operation.setdefault("parameters", []).extend(
                {"name": name, "in": "header", "required": required, "description": text, "schema": {"type": "string"}}
                for name, text, required in r.headers)
        by_path.setdefault(r.path, {})[r.method.lower()] = operation
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()

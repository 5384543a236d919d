"""The API's actions: acting as an agent (the console's commands) and a supervisor's
(steer, monitor, callback), each through agent_ui.actions.

Rules:
- Agent commands are the console's message format (agent_ui.console_socket.to_event):
  the path names the agent, the body only the command's fields; `Actions.as_agent`
  checks the token (a working role in every tenant the agent serves).
- Ids in bodies (transfer/consult targets, interactions, phones) are checked here like
  path ids: a number target is digits (optionally after +, with * #), a user or queue
  target an id; nothing else goes into the engine.
- 202 Accepted `{"ok": true, "event": <engine event class>}`: the command is posted; the
  engine's answer (a state change, or `command.refused`) comes on the event stream
  (recording pause/resume of a call that is not recorded: `engine.no_recording`).
"""
from __future__ import annotations

import re

from agent_ui.api import ApiError, actor, body, checked_id, ctx, route
from agent_ui.api_spec import BOOL, STR, obj, ref

NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
ACCEPTED = ref("Accepted")
KIND = {"type": "string", "enum": ["number", "user", "queue"]}


def _accepted(event):
    return {"ok": True, "event": type(event).__name__}, 202


def _target(data: dict) -> None:
    kind, target = data.get("kind", "number"), data.get("target")
    if kind == "number":
        if not isinstance(target, str) or not NUMBER.fullmatch(target):
            raise ApiError(400, "api.bad_target", "a number target is 1-32 digits (optionally after +)")
    else:
        checked_id(target, "target")


# name -> (path, summary, message name, body schema, check)
AGENT_COMMANDS = {
    "login": ("login", "Log the agent in to its queues (empty list: all of them)", "login",
              obj({"queues": {"type": "array", "items": STR}}, example={"queues": []}), None),
    "logout": ("logout", "Log the agent out", "logout", None, None),
    "available": ("available", "Make the agent available (end a pause)", "resume", None, None),
    "pause": ("pause", "Pause the agent with a reason", "pause",
              obj({"reason": STR}, ("reason",), example={"reason": "lunch"}), None),
    "answer": ("answer", "Answer the offered call (a phone that answers remotely)", "answer", None, None),
    "hangup": ("hangup", "Hang up the agent's call", "hangup", None, None),
    "hold": ("hold", "Hold (on) or resume (off) the call", "hold", obj({"on": BOOL}, ("on",), example={"on": True}),
             None),
    "transfer": ("transfer", "Blind transfer to a number, user or queue", "transfer",
                 obj({"target": STR, "kind": KIND, "name": STR, "camp_on": BOOL}, ("target",),
                     example={"target": "1001", "kind": "number"}), _target),
    "park": ("park", "Park the call", "park", None, None),
    "pickup": ("pickup", "Pick up a parked call of the agent's tenants", "pickup",
               obj({"interaction": STR}, ("interaction",), example={"interaction": "ix-1"}),
               lambda d: checked_id(d.get("interaction"), "interaction")),
    "recall": ("recall", "Take back a call the agent transferred (still ringing), parked or camped", "recall",
               obj({"interaction": STR}, ("interaction",), example={"interaction": "ix-1"}),
               lambda d: checked_id(d.get("interaction"), "interaction")),
    "consult": ("consult", "Start a consultation call", "consult_start",
                obj({"target": STR, "kind": KIND, "name": STR}, ("target",),
                    example={"target": "1001", "kind": "number"}), _target),
    "consult_swap": ("consult/swap", "Swap between caller and consulted party", "consult_swap", None, None),
    "consult_complete": ("consult/complete", "Complete the consultation (transfer)", "consult_complete", None, None),
    "consult_cancel": ("consult/cancel", "Cancel the consultation", "consult_cancel", None, None),
    "consult_conference": ("consult/conference", "Join caller and consulted party", "consult_conference", None,
                           None),
    "recording_pause": ("recording/pause", "Pause the recording of the agent's call (the switch writes silence)",
                        "recording_pause", None, None),
    "recording_resume": ("recording/resume", "Resume the recording of the agent's call", "recording_resume",
                         None, None),
    "wrapup": ("wrapup", "End the wrap-up with a result code", "wrapup_end",
               obj({"result": STR}, example={"result": "solved"}), None),
}


def _agent_view(name: str, message_name: str, check):
    def view(agent_id):
        data = body()
        if check is not None:
            check(data)
        message = {**{k: v for k, v in data.items() if k != "name"}, "name": message_name}
        if message_name in ("transfer", "consult_start") and "name" in data:
            message["label"] = data["name"]
        return _accepted(ctx().actions.as_agent(actor(), agent_id, message))
    view.__name__ = f"agent_{name}"
    return view


for _name, (_path, _summary, _message, _schema, _check) in AGENT_COMMANDS.items():
    route("POST", f"/v1/agents/<agent_id>/{_path}", _summary, "agent", ACCEPTED, body=_schema, ok=202,
          name=f"agent_{_name}")(_agent_view(_name, _message, _check))


# -- supervisor ------------------------------------------------------------------------
@route("POST", "/v1/agents/<agent_id>/state", "Steer an agent: pause, available, logout, wrapup_end", "supervisor",
       ACCEPTED, ok=202, body=obj({"state": {"type": "string", "enum": ["pause", "available", "logout", "wrapup_end"]},
                                   "reason": STR}, ("state",), example={"state": "pause", "reason": "meeting"}))
def agent_state(agent_id):
    data = body()
    state, reason = data.get("state"), data.get("reason", "")
    if not isinstance(state, str) or not isinstance(reason, str) or len(reason) > 64:
        raise ApiError(400, "api.bad_body", "state and reason are strings")
    return _accepted(ctx().actions.steer(actor(), agent_id, state, reason))


@route("POST", "/v1/agents/<agent_id>/monitor", "Listen to, whisper to or barge into the agent's call",
       "supervisor", ACCEPTED, ok=202,
       body=obj({"mode": {"type": "string", "enum": ["listen", "whisper", "barge"]}, "phone": STR}, ("mode", "phone"),
                example={"mode": "listen", "phone": "a1001"},
                description="`phone`: the agent id whose softphone the supervisor listens on"))
def agent_monitor(agent_id):
    data = body()
    mode, phone = data.get("mode"), data.get("phone", "")
    if not isinstance(mode, str):
        raise ApiError(400, "api.bad_body", "mode is a string")
    checked_id(phone, "phone")
    return _accepted(ctx().actions.monitor(actor(), agent_id, mode, phone))


@route("DELETE", "/v1/monitors/<phone>", "Stop listening on this phone (an agent id)", "supervisor",
       ACCEPTED, ok=202)
def monitor_end(phone):
    return _accepted(ctx().actions.monitor_end(actor(), phone))


@route("POST", "/v1/queues/<queue_id>/callbacks", "Call a number back through the queue", "supervisor",
       ACCEPTED, ok=202, body=obj({"number": STR, "origin": STR}, ("number",),
                                  example={"number": "4722241600", "origin": ""}))
def queue_callback(queue_id):
    data = body()
    number, origin = data.get("number"), data.get("origin", "")
    if not isinstance(number, str) or not isinstance(origin, str):
        raise ApiError(400, "api.bad_body", "number and origin are strings")
    if origin:
        checked_id(origin, "origin")
    return _accepted(ctx().actions.callback(actor(), queue_id, number, origin))


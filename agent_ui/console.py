"""The operator and agent console: the page, its directory search and message taking.

Rules:
- Login required everywhere here (302 to /login for a page, 401 JSON under /console/api/).
  The page needs a console role (operator, supervisor, admin, tenant_admin) or a binding
  to an agent; only a user bound to an agent the engine knows gets the call controls
  (store.users.bind_agent); the live part is agent_ui.console_socket.
- The directory pane searches the tenants the user serves (console_state.served_tenants
  plus the tenants of the bound agent's queues) with the same search as everyone
  (`DirectoryStore.search`), and adds what operators need: operator notes, the
  substitute with their numbers and presence, the absence reason and back-at time,
  every label translated; numbers formatted the Norwegian way next to the raw E.164 one
  the transfer dials. For a user bound to an agent the same search also lists transfer
  targets of the running deployment, after the people and services: queues of every agency (a shared switchboard
  sends callers to another agency's queue; each labelled with its agency), and the
  operators (agents) of the tenants the user serves, with their extension and state
  (kinds "queue" and "user": the engine's transfer kinds).
- Message taking (POST JSON with the CSRF header): the recipient is the person's e-mail
  from the directory (never an address from the browser), the sender the agency's
  `message_from`, sent by SMTP (agent_ui.mail); sent -> MessageTaken posted to the
  engine (journal) and an audit entry; not sent -> 502 with the reason, an audit entry,
  and the browser keeps the text. The message text is never logged or journaled.
- The page is server-rendered and translated (Flask-Babel); the one script and style
  sheet are static files (CSP default-src 'self'): the JS gets its texts from a JSON
  data block, and puts every value into the page with textContent only.
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, g, jsonify, render_template, request
from flask_babel import gettext, lazy_gettext as _l

from agent_ui import console_state, i18n
from agent_ui.app import config_and_services
from agent_ui.auth import ABSENCE_KEEPERS, has_role, login_required
from engine import events as ev
from engine import views
from engine.directory.model import PersonKey

log = logging.getLogger(__name__)
bp = Blueprint("console", __name__, url_prefix="/console")
MAX_MESSAGE = 4000


def _engine():
    _, services = config_and_services()
    source = services.extra.get("engine")
    return source() if source else None


def _post(event) -> bool:
    _, services = config_and_services()
    post = services.extra.get("post")
    if post is None:
        return False
    post(event)
    return True


def _agent(user, engine):
    """The user's bound agent id if the running engine knows it, else ''."""
    if user is None or not user.agent or engine is None or user.agent not in engine.agents:
        return ""
    return user.agent


def _tenants(user, engine) -> set[str]:
    if engine is None:
        return set()
    tenants = console_state.served_tenants(user, engine.deployment.tenants)
    aid = _agent(user, engine)
    if aid:
        tenants |= {engine.deployment.queues[q].tenant for q in engine.agents[aid].config.queues
                    if q in engine.deployment.queues}
    return tenants


def _allowed(user, engine) -> bool:
    return bool(user) and (bool(_agent(user, engine)) or bool(console_state.served_tenants(
        user, engine.deployment.tenants if engine else {})))


@bp.before_request
def _api_needs_login():
    if request.path.startswith("/console/api/") and g.get("user") is None:
        return jsonify(error="login required", detail=gettext("Log in to use the console.")), 401
    return None


@bp.get("/")
@login_required
def page():
    engine = _engine()
    if engine is None:
        abort(503, gettext("The engine is not running."))
    user = g.user
    if not _allowed(user, engine):
        abort(403, gettext("The console needs an operator role or a login bound to an agent."))
    aid = _agent(user, engine)
    agent = engine.agents[aid].config if aid else None
    from agent_ui import written_state

    return render_template("console/console.html", agent=agent, texts=js_texts(),
                           locale=i18n.current(), shortcuts=SHORTCUTS + WRITTEN_SHORTCUTS,
                           written=bool(aid) and written_state.has_written(engine, aid))


def js_texts() -> dict:
    """Every text the script shows, translated for this page."""
    return {k: str(v) for k, v in {
        "connecting": gettext("Connecting…"), "online": gettext("Connected"), "offline": gettext("Disconnected"),
        "no_call": gettext("No call"), "recall": gettext("Recall"), "waited": gettext("Waited"),
        "greeting": gettext("Say"), "previous": gettext("Earlier today"), "none": gettext("None"),
        "search_empty": gettext("No one found."), "direct": gettext("Direct"), "mobile": gettext("Mobile"),
        "switchboard": gettext("Switchboard"), "substitute": gettext("Substitute"), "back_at": gettext("Back"),
        "notes": gettext("Operator notes"), "services": gettext("Responsibilities"), "unit": gettext("Unit"),
        "absent_warning": gettext("%(name)s is not available. Transfer anyway, or offer the substitute?"),
        "transfer_to": gettext("Transfer to"), "blind": gettext("Blind transfer"), "consult": gettext("Consult"),
        "message": gettext("Take a message"), "sent": gettext("Message sent."),
        "not_sent": gettext("The message was NOT sent; your text is kept."), "seconds_left": gettext("s left"),
        "forced": gettext("Wrap-up ended by a supervisor."), "held": gettext("On hold"),
        "parked_none": gettext("No parked calls."), "pickup": gettext("Pick up"), "refused": gettext("Refused"),
        "no_email": gettext("No e-mail address: a message cannot be sent."),
        "choose_queue": gettext("Choose at least one queue."),
        "choose_result_code": gettext("Choose a result code."),
        "camp_on_button": gettext("Wait for %(name)s (camp on)"),
        "take_back": gettext("Take back"), "queue_target": gettext("Queue"),
        "user_target": gettext("Operator"), "transfer_here": gettext("Transfer here"),
        "moved_transferring": gettext("Transferred to %(name)s: ringing"),
        "moved_camped": gettext("Waiting for %(name)s (busy)"),
        "moved_parked": gettext("Parked"),
        "recording_pause": gettext("Pause recording"), "recording_resume": gettext("Resume recording"),
        "take": gettext("Take"), "decline": gettext("Decline"), "left": gettext("%(s)s s left"),
        "no_template": gettext("No template"), "reply_sent": gettext("Reply queued for sending."),
        "reply_failed": gettext("The reply was NOT stored; your text is kept."),
        "choose_target": gettext("Choose a queue."), "from": gettext("From"), "to": gettext("To"),
        "no_messages": gettext("No messages."), "attachment": gettext("Attachment"),
    }.items()}


SHORTCUTS = (("/ F2", _l("Search the directory")), ("↑ ↓", _l("Move in the results")),
             ("Enter", _l("Transfer choices for the selected person")), ("t", _l("Blind transfer")),
             ("k", _l("Consult (announced transfer)")), ("m", _l("Take a message")), ("p", _l("Park the call")),
             ("Esc", _l("Back")), ("F4", _l("Answer")), ("F6", _l("Hold / resume")), ("F8", _l("Hang up")),
             ("F9", _l("Take back the call you transferred or parked")),
             ("Alt+O", _l("Pause / resume the recording (card numbers, health details)")))
WRITTEN_SHORTCUTS = (("Alt+S", _l("Written items: go to the list (↑ ↓ choose, Enter open)")),
                     ("Alt+A", _l("Take the offered written item")), ("Alt+X", _l("Decline the offered written item")),
                     ("Alt+R", _l("Write the reply")), ("Alt+T", _l("Choose a reply template")),
                     ("Ctrl+Enter", _l("Send the reply")), ("Alt+V", _l("Transfer the item to another queue")),
                     ("Alt+L", _l("Close the item with a result code")))


@bp.get("/api/directory")
@login_required
def directory():
    engine = _engine()
    user = g.user
    if engine is None or not _allowed(user, engine):
        abort(403)
    _, services = config_and_services()
    q = request.args.get("q", "")[:200]
    tenants = _tenants(user, engine)
    if not q.strip() or not tenants:
        return jsonify(query=q, hits=[])
    only = request.args.get("tenant") or None
    if only is not None and only not in tenants:
        abort(403)
    now = services.clock()
    hits = services.directory.search(q, tenant=only, limit=40, now=now)
    names = dict(services.directory.tenants())
    out = [hit_json(h, names, user, now) for h in hits if h.tenant in tenants][:25]
    aid = _agent(user, engine)
    targets = transfer_targets(engine, q, tenants, only, exclude=aid) if aid else []
    return jsonify(query=q, hits=out + targets)


TARGETS_EACH = 8


def transfer_targets(engine, q: str, tenants: set[str], only: str | None, exclude: str = "") -> list[dict]:
    """Queues (of every agency) and operators (of the viewer's tenants) whose name, id,
    agency or extension contains every word of `q`; at most TARGETS_EACH of each kind."""
    words = q.casefold().split()
    dep = engine.deployment

    def agency(tenant: str) -> str:
        cfg = dep.tenants.get(tenant)
        return cfg.name if cfg else tenant

    def matches(*fields) -> bool:
        text = " ".join(f for f in fields if f).casefold()
        return bool(words) and all(w in text for w in words)

    queues = [{"kind": "queue", "id": qid, "target": qid, "tenant": cfg.tenant, "tenant_name": agency(cfg.tenant),
               "name": cfg.name, "title": gettext("Queue"), "presence": None}
              for qid, cfg in sorted(dep.queues.items())
              if (only is None or cfg.tenant == only) and matches(cfg.name, qid, agency(cfg.tenant))]
    users = []
    for aid, agent in sorted(engine.agents.items()):
        served = {dep.queues[qid].tenant for qid in agent.config.queues if qid in dep.queues}
        if aid == exclude or not served & tenants or (only is not None and only not in served):
            continue
        names = ", ".join(sorted(agency(t) for t in served))
        if matches(agent.config.name, aid, agent.config.sip_user, names):
            shown = "no_phone" if agent.state.value == "available" and not agent.registered else agent.state.value
            users.append({"kind": "user", "id": aid, "target": agent.config.sip_user, "tenant": min(served),
                          "tenant_name": names, "name": agent.config.name,
                          "title": gettext("Operator, extension %(extension)s", extension=agent.config.sip_user),
                          "presence": {"state": shown, "label": i18n.label("agent_state", shown), "reason": "",
                                       "back_at": "", "available": agent.routable}})
    return queues[:TARGETS_EACH] + users[:TARGETS_EACH]


def _number(raw: str) -> dict | None:
    return {"raw": raw, "display": console_state.phone(raw)} if raw else None


def _presence(presence, reveal: bool) -> dict | None:
    if presence is None:
        return None
    state = presence.state.value
    category = presence.category.value if presence.category and reveal else ""
    return {"state": state, "label": i18n.label("presence", state),
            "reason": i18n.label("absence", category) if category else "",
            "back_at": i18n.clock(presence.back_at) if presence.back_at else "",
            "available": state == "free"}


def hit_json(hit, tenant_names: dict, user, now) -> dict:
    reveal = has_role(user, hit.tenant, ABSENCE_KEEPERS)
    out = {"kind": hit.kind, "tenant": hit.tenant, "tenant_name": tenant_names.get(hit.tenant, hit.tenant),
           "id": hit.external_id, "name": hit.name, "unit": hit.unit_name,
           "presence": _presence(hit.presence, reveal)}
    if hit.person is not None:
        p = hit.person
        out.update(title=p.title, direct=_number(p.direct_phone), mobile=_number(p.mobile_phone),
                   switchboard=_number(p.switchboard_phone), email=p.email, location=p.location,
                   services=list(p.all_keywords), notes=p.operator_notes if reveal else "",
                   substitute=_substitute(hit, reveal, now))
    else:
        s = hit.service
        out.update(title=s.description, direct=_number(s.phone), mobile=None, switchboard=None, email=s.email,
                   services=[], notes="", substitute=None, opening_hours=s.opening_hours)
    return out


def _substitute(hit, reveal: bool, now) -> dict | None:
    sid = hit.person.substitute if hit.person else None
    if not sid:
        return None
    from agent_ui.presence_push import evaluate

    _, services = config_and_services()
    key = PersonKey(hit.tenant, sid)
    person = services.directory.get_person(key)
    if person is None:
        return {"id": sid, "name": hit.substitute_name, "direct": None, "mobile": None, "presence": None}
    presence, _ = evaluate(services.directory, key, now)
    return {"id": sid, "name": person.display_name, "direct": _number(person.direct_phone),
            "mobile": _number(person.mobile_phone), "presence": _presence(presence, reveal)}


@bp.get("/api/contacts")
@login_required
def contacts():
    """The caller of the agent's current call: their earlier contacts today."""
    engine = _engine()
    aid = _agent(g.user, engine)
    if not aid:
        abort(403)
    ix = views.current_call(engine, aid)
    if ix is None:
        return jsonify(contacts=[])
    config, services = config_and_services()
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(config.timezone)
    midnight = datetime.combine(services.clock().astimezone(tz).date(), time(0), tzinfo=tz)
    rows = [r for r in services.users.contacts_since(ix.caller_number, midnight) if r.id != ix.id]
    names = {t: cfg.name for t, cfg in engine.deployment.tenants.items()}
    return jsonify(contacts=[{"at": i18n.clock(r.entered_at), "tenant_name": names.get(r.tenant, r.tenant),
                              "queue": engine.deployment.queues[r.queue].name if r.queue in engine.deployment.queues
                              else r.queue, "answered": r.answered_at is not None,
                              "outcome": i18n.label("call_state", r.state)} for r in rows])


@bp.post("/api/message")
@login_required
def message():
    from agent_ui import mail

    engine = _engine()
    user = g.user
    aid = _agent(user, engine)
    if not aid:
        return jsonify(ok=False, error="console.not_bound", message=i18n.label("error", "console.not_bound")), 403
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _bad()
    tenant, person_id, text = body.get("tenant"), body.get("person"), body.get("text")
    if not all(isinstance(v, str) and v for v in (tenant, person_id, text)) or len(text) > MAX_MESSAGE:
        return _bad()
    if tenant not in _tenants(user, engine):
        abort(403)
    _, services = config_and_services()
    person = services.directory.get_person(PersonKey(tenant, person_id))
    if person is None or not person.email:
        return jsonify(ok=False, error="console.no_email", message=gettext("No e-mail address: a message cannot be sent.")), 422
    agency = engine.deployment.tenants.get(tenant)
    ix = views.current_call(engine, aid)
    caller = (body.get("caller") or "")[:200] if isinstance(body.get("caller"), str) else ""
    subject = gettext("Message for %(name)s", name=person.display_name)
    content = "\n".join([text, "", "—", gettext("Caller: %(caller)s", caller=caller or "-"),
                         gettext("Taken by %(name)s at the switchboard", name=user.display_name or user.username)])
    delivered, error_id = True, ""
    try:
        msg = mail.build(agency.message_from if agency else "", agency.name if agency else "", person.email,
                         subject, content)
        mail.send(mail.SmtpConfig.from_env(), msg)
    except mail.MailFailed as exc:
        delivered, error_id = False, exc.error_id
        log.warning("message for a person of %s not sent: %s", tenant, exc.error_id)
    services.users.audit(user.username, "message.sent" if delivered else "message.failed", "person", person_id,
                         tenant=tenant, detail={"agent": aid, "interaction": ix.id if ix else "",
                                                "error": error_id})
    if not delivered:
        return jsonify(ok=False, error=error_id, message=gettext("The message was NOT sent; your text is kept.")), 502
    if ix is not None:
        _post(ev.MessageTaken(aid, ix.id, person.email, person.display_name, services.clock(), delivered=True))
    return jsonify(ok=True, message=gettext("Message sent."))


def _bad():
    return jsonify(ok=False, error="console.bad_command", message=i18n.label("error", "console.bad_command")), 400


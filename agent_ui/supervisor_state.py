"""What the supervisor page shows, computed from the engine's read-only views and the store.

Rules:
- Pure over the engine object passed in (views only read; called from the web process's
  greenlets); called inside an app context with the viewer's locale
  (agent_ui.i18n.in_locale): every label, number and time is formatted here, once.
- A viewer sees the tenants where they hold supervisor, tenant_admin or admin
  (agent_ui.live.visible_tenants; "*" = every tenant): those tenants' queues, the agents
  serving any of those queues, and a call's caller, agency and queue only when the call
  is of one of those tenants (an agent serving two agencies may be on the other's call:
  then only "on a call for another agency" is shown).
- `steerable` / `listenable` on an agent are hints for the buttons (the agent serves only
  tenants the viewer supervises; the agent's call is of such a tenant); the decision is
  agent_ui.actions', which checks again and audits.
- Written queues (e-mail, SMS, tasks) are not in the calls' queue table: `written` is
  their backlog (agent_ui.written_state.backlog), whose waiting items a supervisor may
  close (agent_ui.actions.close_item, audited).
- Monitoring: engine.monitor.active (who listens to whom, in which mode), of the calls of
  the viewer's tenants only; the engine without monitoring support shows none.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext, lazy_gettext as _l

from agent_ui import alarms as alarm_rules
from agent_ui import console_state, i18n
from engine import views

MODES = {"listen": _l("Listening"), "whisper": _l("Whispering"), "barge": _l("Barging in")}
ALARM_KINDS = {"waiting": _l("Callers waiting"), "longest_wait": _l("Longest wait"),
               "service_level": _l("Service level")}
ACTIONS = {
    "agent.pause": _l("Put on pause"), "agent.available": _l("Made available"), "agent.logout": _l("Logged out"),
    "agent.wrapup_end": _l("Ended the wrap-up"), "call.listen": _l("Listened"), "call.whisper": _l("Whispered"),
    "call.barge": _l("Barged in"), "call.monitor_end": _l("Stopped listening"), "call.callback": _l("Called back"),
    "agent.command": _l("Acted as the agent"), "item.close": _l("Closed a waiting written item"),
}
ERRORS = {
    "action.denied": _l("You may not do that for this agent or agency."),
    "action.invalid": _l("Unknown or malformed action."),
    "action.bad_command": _l("Unknown or malformed action."),
    "action.bad_state": _l("Unknown or malformed action."),
    "action.bad_reason": _l("Unknown pause reason."),
    "action.bad_mode": _l("Unknown or malformed action."),
    "action.no_phone": _l("Your login is not bound to an agent with a phone to listen from."),
    "action.unknown_phone": _l("Unknown phone to listen from."),
    "action.unknown_agent": _l("Unknown agent."),
    "action.no_call": _l("The agent is not on a call."),
    "action.unknown_queue": _l("Unknown queue."),
    "action.bad_number": _l("The number must be digits, optionally after a +."),
    "action.engine_down": _l("The engine is not running."),
    "action.unknown_item": _l("That written item is closed or gone."),
    "action.item_not_waiting": _l("Only a waiting item can be closed here."),
    "action.bad_result": _l("Choose a result code."),
    "monitor.no_phone": _l("Your phone is not an agent of the routing configuration."),
    "monitor.self": _l("You cannot listen to your own call."),
    "monitor.mode": _l("Unknown or malformed action."),
    "monitor.busy": _l("Your phone is busy: stop listening first."),
    "monitor.no_call": _l("The agent is not on a call that can be listened to."),
    "monitor.none": _l("You are not listening to anyone."),
    "callback.unknown_queue": _l("Unknown queue."),
    "callback.invalid_number": _l("The number cannot be dialled."),
    "callback.no_node": _l("No switch is up to call back from."),
}


def error_label(error_id: str) -> str:
    text = ERRORS.get(error_id)
    return str(text) if text is not None else i18n.label("error", error_id)


def mode_label(mode: str) -> str:
    return str(MODES.get(mode, mode))


def notice_label(topic: str, payload, names: dict) -> str:
    agent = names.get(str(payload.get("agent", "")), str(payload.get("agent", "")))
    mode = mode_label(str(payload.get("mode", "")))
    if topic == "monitor_started":
        return gettext("%(mode)s: %(agent)s", mode=mode, agent=agent)
    if topic == "monitor_changed":
        return gettext("Changed to %(mode)s: %(agent)s", mode=mode.lower(), agent=agent)
    if topic == "monitor_ended":
        return gettext("Stopped listening to %(agent)s.", agent=agent)
    if topic == "monitor_failed":
        return gettext("Your phone did not answer: not listening to %(agent)s.", agent=agent)
    return gettext("The call changed.")


def percent(level: float | None) -> str:
    return "–" if level is None else i18n.number(100 * level) + " %"


def queues(eng, tenants: set[str], now: datetime, book: alarm_rules.AlarmBook | None = None):
    """(queue rows, alarms up, alarms new) of these tenants."""
    rows, found = [], []
    names = {t: c.name for t, c in eng.deployment.tenants.items()}
    written = {qid for qid, q in eng.deployment.queues.items() if q.written}     # their own table
    visible = set()
    for q in views.queues(eng, now):
        if q["tenant"] not in tenants or q["queue"] in written:
            continue
        config = eng.deployment.queues.get(q["queue"])
        crossed = alarm_rules.crossed(q, config.alarms) if config is not None else []
        found += crossed
        visible.add(q["queue"])
        rows.append({"id": q["queue"], "name": q["name"], "tenant": q["tenant"],
                     "tenant_name": names.get(q["tenant"], q["tenant"]),
                     "waiting": i18n.number(q["waiting"]), "longest_wait": i18n.duration(q["longest_wait"]),
                     "available": i18n.number(q["available"]), "logged_in": i18n.number(q["logged_in"]),
                     "answered": i18n.number(q["answered"]), "abandoned": i18n.number(q["abandoned"]),
                     "service_level": percent(q["service_level"]),
                     "alarm": sorted({a.kind for a in crossed})})
    book = book if book is not None else alarm_rules.AlarmBook()
    up, new = book.update(found, now, visible)
    return rows, [alarm_row(eng, r, names) for r in up], [alarm_row(eng, r, names) for r in new]


def alarm_row(eng, raised: alarm_rules.Raised, names: dict) -> dict:
    a = raised.alarm
    queue = eng.deployment.queues.get(a.queue)
    if a.kind == "longest_wait":
        value, threshold = i18n.duration(a.value), i18n.duration(a.threshold)
    elif a.kind == "service_level":
        value, threshold = i18n.number(a.value) + " %", i18n.number(a.threshold) + " %"
    else:
        value, threshold = i18n.number(a.value), i18n.number(a.threshold)
    return {"queue": a.queue, "queue_name": queue.name if queue else a.queue, "tenant": a.tenant,
            "tenant_name": names.get(a.tenant, a.tenant), "kind": a.kind, "kind_label": str(ALARM_KINDS[a.kind]),
            "value": value, "threshold": threshold, "since": i18n.clock(raised.since),
            "since_iso": raised.since.isoformat()}


def monitors(eng, tenants: set[str] | None = None) -> list[dict]:
    """The running monitors (of calls of `tenants`, if given: another agency's supervisor
    listening is that agency's business)."""
    from engine import monitor
    active = getattr(monitor, "active", None)
    found = list(active(eng)) if active is not None and hasattr(eng, "monitors") else []
    if tenants is None:
        return found
    calls = getattr(eng, "calls", {})
    return [m for m in found if getattr(calls.get(m.get("interaction")), "tenant", None) in tenants]


def agents(eng, tenants: set[str], now: datetime) -> list[dict]:
    queue_tenant = {qid: q.tenant for qid, q in eng.deployment.queues.items()}
    listening = monitors(eng, tenants)
    names = {aid: a.config.name for aid, a in eng.agents.items()}
    out = []
    for aid, agent in sorted(eng.agents.items(), key=lambda kv: (kv[1].config.name, kv[0])):
        served = {queue_tenant[q] for q in agent.config.queues if q in queue_tenant}
        if not served & tenants:
            continue
        view = views.console(eng, aid, now)
        part = console_state.agent_part(view, eng, now)
        since = agent.since
        seconds = (now - since).total_seconds() if since and since.year > 1970 else 0.0
        row = {"id": aid, "name": part["name"], "extension": part["extension"], "state": part["state"],
               "state_label": part["state_label"], "reason_label": part["reason_label"],
               "in_state": i18n.duration(seconds), "since": part["since"],
               "tenants": sorted(served), "steerable": served <= tenants, "call": None, "listenable": False,
               "monitored_by": [{"phone": m["supervisor"], "name": names.get(m["supervisor"], m["supervisor"]),
                                 "mode": m["mode"], "mode_label": mode_label(m["mode"])}
                                for m in listening if m["agent"] == aid]}
        call = view["call"]
        if call is not None and call["own"]:
            if call["tenant"] in tenants:
                answered = datetime.fromisoformat(call["answered_at"]) if call["answered_at"] else None
                row["call"] = {"id": call["id"], "caller": console_state.phone(call["caller_number"]),
                               "caller_name": call["caller_name"], "tenant_name": call["tenant_name"],
                               "queue_name": call["queue_name"], "held": call["held"],
                               "talk": i18n.duration((now - answered).total_seconds()) if answered else "",
                               "state_label": i18n.label("call_state", call["state"])}
                row["listenable"] = agent.state.value == "on_call"
            else:
                row["call"] = {"other": True, "label": gettext("On a call for another agency")}
        out.append(row)
    return out


def state(eng, tenants: set[str], now: datetime, book: alarm_rules.AlarmBook | None = None) -> dict:
    """The live part of the page for a viewer of `tenants` (pushed every second)."""
    from agent_ui import written_state

    rows, up, new = queues(eng, tenants, now, book)
    return {"at": now.isoformat(), "clock": i18n.clock(now), "queues": rows, "alarms": up, "new_alarms": new,
            "written": written_state.backlog(eng, tenants, now),
            "agents": agents(eng, tenants, now),
            "monitors": [{"phone": m["supervisor"], "agent": m["agent"], "mode": m["mode"],
                          "mode_label": mode_label(m["mode"]), "answered": m.get("answered", True)}
                         for m in monitors(eng, tenants)]}


def abandoned(eng, rows, now: datetime) -> list[dict]:
    """store.supervision.Abandoned rows for the page."""
    tenants = {t: c.name for t, c in eng.deployment.tenants.items()}
    out = []
    for r in rows:
        queue = eng.deployment.queues.get(r.queue)
        out.append({"interaction": r.interaction, "tenant_name": tenants.get(r.tenant, r.tenant), "queue": r.queue,
                    "queue_name": queue.name if queue else r.queue, "at": i18n.clock(r.at),
                    "number": r.caller_number, "caller": console_state.phone(r.caller_number),
                    "caller_name": r.caller_name, "waited": i18n.duration(r.waited)})
    return out


def audit(entries, names: dict, pause_reasons=(), result_codes=()) -> list[dict]:
    """store.supervision.supervisor_actions entries for the page (read-only); a pause's
    reason by its configured name in the page's language, not its id."""
    english = i18n.current() == "en"
    reasons = {r.id: (r.en or r.nb) if english else r.nb for r in pause_reasons}
    codes = {r.id: (r.en or r.nb) if english else r.nb for r in result_codes}
    out = []
    for e in entries:
        detail = dict(e.detail or {})
        action = e.action[:-len(".denied")] if e.action.endswith(".denied") else e.action
        what = str(ACTIONS.get(action, action))
        if e.action.endswith(".denied"):
            what = gettext("%(what)s: refused", what=what)
        extra = detail.get("number") or detail.get("reason") or ""
        if action == "item.close":
            extra = codes.get(extra, extra)
        if action == "agent.pause":
            extra = reasons.get(extra, extra)
        out.append({"at": i18n.clock(e.at), "day": e.at.date().isoformat(), "actor": e.actor, "action": e.action,
                    "what": what, "whom": names.get(e.target_id, e.target_id), "target": e.target_id,
                    "detail": console_state.phone(str(extra)) if detail.get("number") else str(extra)})
    return out

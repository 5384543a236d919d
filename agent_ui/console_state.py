"""What one agent's console shows, computed from the engine's read-only state.

Rules:
- Pure over the engine object passed in (views only read; called from the web
  process's greenlets, never changing engine state); called inside an app context with
  the viewer's locale (agent_ui.i18n.in_locale), because every label, number and time in
  it is formatted here, once, for that locale: the browser only places text.
- Category values travel with their translated label (`state` + `state_label`); the JS
  shows the labels only.
- Caller numbers are formatted the Norwegian way with phonenumbers (`22 24 16 00`; mobile
  numbers `915 20 431`, grouped 3-2-3 here because the library groups them 2-2-2-2;
  other countries in international form); the raw number stays beside it for dialling.
- The parked calls of the tenants this user serves (operator/supervisor/admin roles; "*"
  = every tenant), and today's counts of the agent's queues (the engine's figures, which
  the statistics rebuild from the journal at start-up).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from agent_ui import i18n
from engine import views
from engine.agents import AgentState
from engine.interactions import CallState

CONSOLE_ROLES = frozenset({"operator", "supervisor", "admin", "tenant_admin"})
_ACTIVE_CALL = (AgentState.OFFERED, AgentState.ON_CALL, AgentState.WRAP_UP)


def phone(number: str) -> str:
    """A caller number for people: Norwegian national grouping, others international."""
    import phonenumbers

    raw = (number or "").strip()
    if not raw:
        return ""
    candidate = raw
    if raw.startswith("00"):
        candidate = "+" + raw[2:]
    elif raw.startswith("47") and len(raw) == 10 and raw.isdigit():
        candidate = "+" + raw
    try:
        parsed = phonenumbers.parse(candidate, "NO")
    except phonenumbers.NumberParseException:
        return raw
    if not phonenumbers.is_possible_number(parsed):
        return raw
    if parsed.country_code == 47:
        national = str(parsed.national_number)
        # Norwegian usage groups mobile numbers 3-2-3 (915 20 431) and the others 2-2-2-2
        # (22 24 16 00); libphonenumber's metadata groups both 2-2-2-2.
        if len(national) == 8 and phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE:
            return f"{national[:3]} {national[3:5]} {national[5:]}"
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def served_tenants(user, all_tenants) -> set[str]:
    tenants: set[str] = set()
    for tenant, role in getattr(user, "roles", ()):
        if role in CONSOLE_ROLES:
            tenants |= set(all_tenants) if tenant == "*" else {tenant}
    return tenants & set(all_tenants)


def reasons(items, locale: str) -> list[dict]:
    return [{"id": r.id, "label": (r.en or r.nb) if locale == "en" else r.nb} for r in items]


def agent_part(eng, aid: str, now: datetime) -> dict:
    agent = eng.agents[aid]
    view = views.agent(eng, aid)
    state = view.get("state", agent.state.value)
    shown = views.UNREGISTERED if state == "available" and not agent.registered else state
    chosen = tuple(getattr(agent, "active_queues", ()) or ())
    queues = []
    for qid in sorted(agent.config.queues):
        q = eng.deployment.queues.get(qid)
        if q is None:
            continue
        tenant = eng.deployment.tenants.get(q.tenant)
        queues.append({"id": qid, "name": q.name, "tenant": q.tenant, "tenant_name": tenant.name if tenant else q.tenant,
                       "chosen": not chosen or qid in chosen})
    out = {"id": aid, "name": agent.config.name, "extension": agent.config.sip_user, "state": shown,
           "state_label": i18n.label("agent_state", shown), "reason": agent.reason,
           "reason_label": _pause_label(eng, agent.reason), "registered": agent.registered,
           "since": i18n.clock(agent.since) if agent.since.year > 1970 else "",
           "calls_answered": i18n.number(agent.calls_answered), "queues": queues,
           "pending": list(agent.pending) if agent.pending else [], "wrapup": None}
    if agent.state is AgentState.WRAP_UP:
        ix = eng.calls.get(agent.interaction)
        q = eng.deployment.queues.get(ix.queue) if ix else None
        seconds = q.wrapup if q else 0.0
        ends = agent.since + timedelta(seconds=seconds)
        out["wrapup"] = {"seconds": seconds, "left": max(0.0, (ends - now).total_seconds()),
                         "ends_at": ends.isoformat(), "ends_label": i18n.clock(ends)}
    return out


def _pause_label(eng, reason: str) -> str:
    if not reason:
        return ""
    for r in eng.deployment.pause_reasons:
        if r.id == reason:
            return (r.en or r.nb) if i18n.current() == "en" else r.nb
    return i18n.label("absence", "other") if reason != "no answer" else str(i18n.gettext("No answer"))


def call_part(eng, ix, now: datetime, aid: str) -> dict:
    tenant = eng.deployment.tenants.get(ix.tenant)
    queue = eng.deployment.queues.get(ix.queue)
    recall = bool(ix.recall_agent == aid and ix.recall_reason)
    return {
        "id": ix.id, "state": ix.state.value, "state_label": i18n.label("call_state", ix.state.value),
        "tenant": ix.tenant, "tenant_name": tenant.name if tenant else ix.tenant,
        "greeting": tenant.greeting if tenant else "",
        "queue": ix.queue, "queue_name": queue.name if queue else ix.queue,
        "caller_number": ix.caller_number, "caller_display": phone(ix.caller_number),
        "caller_name": ix.caller_name,
        "waited": i18n.duration(ix.waited(now)), "waited_seconds": ix.waited(now),
        "answered_at": i18n.clock(ix.answered_at),
        "held": bool(ix.held), "talking_to": ix.talking_to,
        "talking_to_label": i18n.label("talking_to", ix.talking_to),
        "consulting": bool(ix.consult_leg), "target": ix.target, "target_name": ix.target_name,
        "recall": recall, "recall_reason": ix.recall_reason if recall else "",
        "recall_label": i18n.label("recall", ix.recall_reason) if recall else "",
        "recalls": ix.recalls,
    }


def current_call(eng, aid: str):
    """The agent's own interaction, else a recall on its way back to them."""
    agent = eng.agents[aid]
    if agent.interaction and agent.state in _ACTIVE_CALL and agent.interaction in eng.calls:
        return eng.calls[agent.interaction]
    for ix in eng.calls.values():
        if ix.recall_agent == aid and ix.state in (CallState.QUEUED, CallState.OFFERING, CallState.TRANSFERRING,
                                                   CallState.PARKED) and ix.recall_reason:
            return ix
    return None


def parked(eng, tenants: set[str], now: datetime) -> list[dict]:
    out = []
    for ix in sorted(eng.calls.values(), key=lambda c: c.arrived_at):
        if ix.state is CallState.PARKED and ix.tenant in tenants:
            tenant = eng.deployment.tenants.get(ix.tenant)
            out.append({"id": ix.id, "tenant": ix.tenant, "tenant_name": tenant.name if tenant else ix.tenant,
                        "caller_display": phone(ix.caller_number), "caller_name": ix.caller_name,
                        "by": ix.recall_agent, "waited": i18n.duration(ix.waited(now)),
                        "until": i18n.clock(ix.deadline)})
    return out


def counts(eng, aid: str, now: datetime) -> dict:
    agent = eng.agents[aid]
    mine = [q for q in views.queues(eng, now) if q["queue"] in agent.config.queues]
    answered = sum(q["answered"] for q in mine)
    abandoned = sum(q["abandoned"] for q in mine)
    levels = [q["service_level"] for q in mine if q["service_level"] is not None]
    return {"answered": i18n.number(answered), "abandoned": i18n.number(abandoned),
            "service_level": (i18n.number(100 * sum(levels) / len(levels)) + " %") if levels else "–",
            "waiting": i18n.number(sum(q["waiting"] for q in mine)),
            "mine": i18n.number(agent.calls_answered)}


def console(eng, aid: str, now: datetime, tenants: set[str], locale: str) -> dict:
    """The whole console state of agent `aid` for a viewer serving `tenants`."""
    ix = current_call(eng, aid)
    return {
        "agent": agent_part(eng, aid, now),
        "call": call_part(eng, ix, now, aid) if ix is not None else None,
        "parked": parked(eng, tenants, now),
        "counts": counts(eng, aid, now),
        "pause_reasons": reasons(eng.deployment.pause_reasons, locale),
        "result_codes": reasons(eng.deployment.result_codes, locale),
        "at": now.isoformat(),
    }

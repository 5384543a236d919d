"""What one agent's console shows, computed from the engine's read-only state.

Rules:
- Pure over the engine object passed in (views only read; called from the web
  process's greenlets, never changing engine state); called inside an app context with
  the viewer's locale (agent_ui.i18n.in_locale), because every label, number and time in
  it is formatted here, once, for that locale: the browser only places text.
- Category values travel with their translated label (`state` + `state_label`); the JS
  shows the labels only. A recorded call carries `recording_label` ("Opptak", or "Opptak
  pauset" while the agent has paused it), empty when the call is not recorded.
- Caller numbers are formatted the Norwegian way with phonenumbers (`22 24 16 00`; mobile
  numbers `915 20 431`, grouped 3-2-3 here because the library groups them 2-2-2-2;
  other countries in international form); the raw number stays beside it for dialling.
- The parked calls of the tenants this user serves (operator/supervisor/admin roles; "*"
  = every tenant), and today's counts of the agent's queues (the engine's figures, which
  the statistics rebuild from the journal at start-up); the calls' counts leave the
  written queues out (their items are in the written panel).
"""
from __future__ import annotations

from datetime import datetime

from agent_ui import i18n
from engine import views

CONSOLE_ROLES = frozenset({"operator", "supervisor", "admin", "tenant_admin"})


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


def agent_part(view: dict, eng, now: datetime) -> dict:
    """The engine's agent view (engine.views.console) with its labels for this locale."""
    state = view["state"]
    shown = views.UNREGISTERED if state == "available" and not view["registered"] else state
    since = datetime.fromisoformat(view["since"]) if view["since"] else None
    out = {"id": view["agent"], "name": view["name"], "extension": view["extension"], "state": shown,
           "state_label": i18n.label("agent_state", shown), "reason": view["reason"],
           "reason_label": _pause_label(eng, view["reason"]), "registered": view["registered"],
           "since": i18n.clock(since) if since and since.year > 1970 else "",
           "calls_answered": i18n.number(view["calls_answered"]), "queues": view["configured"],
           "pending": [view["pending"]] if view["pending"] else [], "wrapup": None}
    if state == "wrap_up" and view["wrapup_until"]:    # also when the call went on elsewhere or ended
        ends = datetime.fromisoformat(view["wrapup_until"])
        out["wrapup"] = {"seconds": view["wrapup_seconds"], "left": max(0.0, (ends - now).total_seconds()),
                         "ends_at": ends.isoformat(), "ends_label": i18n.clock(ends)}
    return out


def _pause_label(eng, reason: str) -> str:
    if not reason:
        return ""
    for r in eng.deployment.pause_reasons:
        if r.id == reason:
            return (r.en or r.nb) if i18n.current() == "en" else r.nb
    return i18n.label("absence", "other") if reason != "no answer" else str(i18n.gettext("No answer"))


def call_part(call: dict, now: datetime) -> dict:
    """The engine's call view with its labels and the caller's number for people."""
    answered = datetime.fromisoformat(call["answered_at"]) if call["answered_at"] else None
    recall = bool(call["recall_reason"])
    return dict(
        call, state_label=i18n.label("call_state", call["state"]), caller_display=phone(call["caller_number"]),
        waited=i18n.duration(call["waited"]), waited_seconds=call["waited"], answered_at=i18n.clock(answered),
        talking_to_label=i18n.label("talking_to", call["talking_to"]), recall=recall,
        recall_label=i18n.label("recall", call["recall_reason"]) if recall else "",
        recording_label=i18n.label("recording", recording_state(call)))


def recording_state(call: dict) -> str:
    """"on" while the call is recorded, "paused" while the agent masks it (the switch writes
    silence), "" when it is not recorded."""
    if not call["recording"]:
        return ""
    return "paused" if call["recording_masked"] else "on"


def parked(eng, tenants: set[str], now: datetime) -> list[dict]:
    return [dict(row, caller_display=phone(row["caller_number"]),
                 waited=i18n.duration(row["waited"]),
                 until=i18n.clock(datetime.fromisoformat(row["until"])) if row["until"] else "")
            for row in views.parked(eng, tenants, now)]


def counts(eng, aid: str, now: datetime) -> dict:
    agent = eng.agents[aid]
    written = {qid for qid, q in eng.deployment.queues.items() if q.written}
    mine = [q for q in views.queues(eng, now) if q["queue"] in agent.config.queues and q["queue"] not in written]
    answered = sum(q["answered"] for q in mine)
    abandoned = sum(q["abandoned"] for q in mine)
    levels = [q["service_level"] for q in mine if q["service_level"] is not None]
    return {"answered": i18n.number(answered), "abandoned": i18n.number(abandoned),
            "service_level": (i18n.number(100 * sum(levels) / len(levels)) + " %") if levels else "–",
            "waiting": i18n.number(sum(q["waiting"] for q in mine)),
            "mine": i18n.number(agent.calls_answered)}


def console(eng, aid: str, now: datetime, tenants: set[str], locale: str) -> dict:
    """The whole console state of agent `aid` for a viewer serving `tenants`; `written`:
    the written items she holds (agent_ui.written_state)."""
    from agent_ui import written_state

    view = views.console(eng, aid, now)
    return {
        "agent": agent_part(view, eng, now),
        "call": call_part(view["call"], now) if view["call"] is not None else None,
        "parked": parked(eng, tenants, now),
        "counts": counts(eng, aid, now),
        "pause_reasons": reasons(eng.deployment.pause_reasons, locale),
        "result_codes": reasons(eng.deployment.result_codes, locale),
        "written": written_state.console(eng, aid, now),
        "at": now.isoformat(),
    }
